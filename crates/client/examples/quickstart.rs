//! The SDK's first lines: place an order, pay it in the sandbox, query it,
//! refund part of it. README "The Rust SDK" shows this file as it is, and
//! scripts/readme-check checks that the two are the same text and runs it
//! against a fresh gateway (`VMP_BASE_URL`, `VMP_KEY`, `VMP_SECRET`).
use vmp_client::sandbox::{Outcome, Sandbox, SandboxOrder};
use vmp_client::{Amount, Client, PlaceOrder, Query, Refund, SecretString, Service, Wallet};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base_url = std::env::var("VMP_BASE_URL")?;
    let key = std::env::var("VMP_KEY")?;
    let secret = SecretString::from(std::env::var("VMP_SECRET")?);
    let client = Client::new(&base_url, &key, secret)?;

    let order = PlaceOrder::builder(Service::AlipayWap)
        .wallet(Wallet::AlipayHk)
        .out_trade_no("SDK-1")
        .amount(Amount::from_minor(1050)?) // HKD 10.50, in minor units
        .subject("Two coffees")
        .build()?; // judged by the gateway's own rules before anything is sent
    let placed = client.place_order(&order).await?; // typed, its signature verified
    println!("send the buyer to {}", placed.pay_apptrade);

    // In the sandbox, the buyer pays without a browser:
    Sandbox::new(&base_url)?.pay(&SandboxOrder::out_trade_no(&key, "SDK-1"), Outcome::Success).await?;

    let status = client.query(&Query::sale(&placed)).await?.trade_status;
    println!("trade_status: {status}");
    let refund = Refund::builder(&placed).out_refund_no("SDK-R1").amount(Amount::from_minor(250)?).build()?;
    println!("refund: {}", client.refund(&refund).await?.trade_status);
    Ok(())
}
