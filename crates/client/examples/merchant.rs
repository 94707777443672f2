//! A complete merchant integration: place an order, print the pay link, run
//! a small receiver that verifies notifications (JSON to `notify_url`) and
//! `return_url` form posts and answers the signed ack, then follow the order
//! with queries: once it is paid, refund part of it and query the refund;
//! if it ends unpaid, close it.
//!
//! Against the local OpenVMP gateway of the README's walk-through (`vmp
//! serve`, which prints the sandbox merchant's `user_confirm_key` and secret
//! on its first start), with the same three variables set:
//!
//! ```text
//! export VMP_BASE_URL=http://127.0.0.1:8080 VMP_KEY=<user_confirm_key> VMP_SECRET=<secret>
//! cargo run -p vmp-client --features axum --example merchant
//! ```
//!
//! (No gateway running yet? `vmp serve` in another terminal starts one; to
//! keep it apart from another gateway, give it `--listen 127.0.0.1:8081
//! --data-dir /tmp/vmp-demo` and set `VMP_BASE_URL` to match.)
//!
//! The example prints the pay link on its first line; open it in a browser
//! and pay (or, without a browser, settle it from another terminal:
//! `vmp sandbox pay --out-trade-no <out_trade_no>`, the number in the link).
//! Notifications and return posts are printed as they arrive, and so are
//! the query and refund results. Stop it with Ctrl-C. `VMP_NOTIFY_PORT` picks the receiver's port (default: any
//! free one on 127.0.0.1).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::post;
use vmp_client::axum::{Ack, DeliveryKind, NotificationReceiver, VerifiedNotification};
use vmp_client::{
    Amount, BuyerType, Client, ClientError, CloseOrder, OrderPlaced, PlaceOrder, Query, Refund, RefundStatusQuery,
    SecretString, Service, TradeStatus, Wallet,
};

/// How often, and for how long, the example asks whether the order is paid.
const POLL_EVERY: Duration = Duration::from_secs(3);
const POLL_FOR: Duration = Duration::from_secs(600);

/// Runs the receiver's handler: by now the signature and the time window
/// are verified, so the fields can be trusted.
async fn on_delivery(n: VerifiedNotification) -> Ack {
    let t = &n.notification;
    let via = match n.kind {
        DeliveryKind::Notify => "notification",
        DeliveryKind::ReturnForm => "return_url post",
    };
    println!(
        "verified {via}: out_trade_no={} eft_trade_no={} trade_status={} total_fee={} {}",
        t.out_trade_no, t.eft_trade_no, t.trade_status, t.total_fee, t.currency
    );
    if t.is_paid_sale() {
        // A real shop marks the order paid here, idempotently (the same
        // notification can arrive more than once), and only then acks.
        println!("order {} is paid", t.out_trade_no);
    }
    n.ack()
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name} (see the header of examples/merchant.rs)"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base_url = std::env::var("VMP_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let key = env("VMP_KEY")?;
    let secret = SecretString::from(env("VMP_SECRET")?);
    let port: u16 = match std::env::var("VMP_NOTIFY_PORT") {
        Ok(p) => p.parse()?,
        Err(_) => 0,
    };

    // 1. The receiver, first, so its address can go into the order.
    let receiver = NotificationReceiver::new(secret.clone());
    let app = Router::new()
        .route("/vmp/notify", post(on_delivery))
        .route("/vmp/return", post(on_delivery))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let receiver_addr = listener.local_addr()?;

    // 2. The order. Amounts are minor units: 1050 is HKD 10.50.
    let client = Client::new(&base_url, key, secret)?.with_timeout(Duration::from_secs(10));
    let out_trade_no = format!("DEMO{}", SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis());
    let order = PlaceOrder::builder(Service::AlipayWap)
        .wallet(Wallet::AlipayHk)
        .out_trade_no(&out_trade_no)
        .amount(Amount::from_minor(1050)?)
        .subject("OpenVMP demo order")
        .buyer_type(BuyerType::others())
        .body("1 x demo item")
        .notify_url(format!("http://{receiver_addr}/vmp/notify"))
        .return_url(format!("http://{receiver_addr}/vmp/return"))
        .build()?;

    let placed = match client.place_order(&order).await {
        Ok(placed) => placed,
        Err(e @ ClientError::Api { .. }) => {
            return Err(format!("{e} (is VMP_SECRET the secret of VMP_KEY?)").into());
        }
        Err(e) => return Err(e.into()),
    };
    println!("{}", placed.pay_apptrade);
    println!("out_trade_no: {}", placed.out_trade_no);
    println!("eft_trade_no: {}", placed.eft_trade_no);
    println!("waiting for notifications on http://{receiver_addr}/vmp/notify (Ctrl-C to stop)");

    // 3. Receive in the background until Ctrl-C.
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    });

    // 4. Follow the order: a notification can be late or lost, a query
    //    always tells the current state.
    if let Some(status) = wait_until_final(&client, &placed).await? {
        after_the_sale(&client, &placed, status).await?;
    }
    server.await??;
    Ok(())
}

/// Queries the order until it leaves `TRADE_PROCESSING`; `None` on Ctrl-C
/// or after [`POLL_FOR`].
async fn wait_until_final(client: &Client, placed: &OrderPlaced) -> Result<Option<TradeStatus>, ClientError> {
    let started = std::time::Instant::now();
    while started.elapsed() < POLL_FOR {
        let sale = client.query(&Query::sale(placed.order())).await?;
        if sale.trade_status != TradeStatus::TradeProcessing {
            println!("query: {} is {}", sale.out_trade_no, sale.trade_status);
            return Ok(Some(sale.trade_status));
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(None),
            () = tokio::time::sleep(POLL_EVERY) => {}
        }
    }
    println!("query: still unpaid after {}s; stopped asking", POLL_FOR.as_secs());
    Ok(None)
}

/// A paid order: refund HKD 2.50 of it and look at the refund. An order
/// that ended unpaid: close it, so a late payment cannot happen.
async fn after_the_sale(
    client: &Client,
    placed: &OrderPlaced,
    status: TradeStatus,
) -> Result<(), Box<dyn std::error::Error>> {
    if !status.is_paid() {
        let closed = client.close_order(&CloseOrder::new(placed.order()).wallet(Wallet::AlipayHk)).await?;
        println!("close: {} is {}", closed.out_trade_no, closed.trade_status);
        return Ok(());
    }
    // `out_refund_no` names the refund: re-sending it after a timeout is
    // answered like the first time and refunds nothing more.
    let refund_no = format!("{}-R1", placed.out_trade_no);
    let refund = Refund::builder(placed)
        .out_refund_no(&refund_no)
        .amount(Amount::from_minor(250)?)
        .wallet(Wallet::AlipayHk)
        .reason("demo: one item returned")
        .build()?;
    let refunded = client.refund(&refund).await?;
    println!(
        "refund: {} of {} -> {}",
        refunded.return_amount.map(|a| a.into_string()).unwrap_or_default(),
        refunded.out_trade_no,
        refunded.trade_status
    );
    let q = client.query(&Query::refund(placed, &refund_no)?).await?;
    println!("query refund: {} {} ({})", q.transaction_amount, q.trade_status, q.out_trade_no);
    let s = client.refund_status(&RefundStatusQuery::new(placed, &refund_no)?).await?;
    println!("refund status: {}", s.refund_status);
    let sale = client.query(&Query::sale(placed)).await?;
    println!(
        "query: {} is {}, refunded so far {}",
        sale.out_trade_no,
        sale.trade_status,
        sale.refund_amount.map(|a| a.into_string()).unwrap_or_default()
    );
    Ok(())
}
