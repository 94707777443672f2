//! `vmp order create` for the qrcode and cashier scenes, and `vmp listen`'s
//! handling of the qrcode scene's notification.
//!
//! A qrcode sale prints its `qr_code` on the first line, then the QR code
//! itself in the terminal (Unicode half blocks, light modules on a dark
//! terminal), then the verified answer. A cashier sale prints its
//! `pay_apptrade` (the hosted cashier) like any other sale.

use anyhow::{anyhow, bail};
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;
use time::OffsetDateTime;
use vmp_client::notify::{QrcodeNotification, verify_qrcode_notification};
use vmp_client::{
    CashierOrder, OrderPlaced, Params, PayScene, QrcodeOrder, QrcodeOrderPlaced, QrcodeRequest, Request, RequestError,
};

use crate::order_cmd::{CreateArgs, generated_out_trade_no, one_line};

/// Refuses the flags of Place an Order that `scene` has no field for.
fn refuse(scene: &str, flags: &[(&str, bool)]) -> anyhow::Result<()> {
    match flags.iter().find(|(_, given)| *given) {
        Some((flag, _)) => bail!("--{flag} is not a field of the {scene} scene"),
        None => Ok(()),
    }
}

/// `vmp order create --service service.*.qrcode.PreOrder …`.
pub async fn create_qrcode(args: CreateArgs) -> anyhow::Result<()> {
    refuse(
        "qrcode",
        &[
            ("body", args.body.is_some()),
            ("pay-scene", args.pay_scene.is_some()),
            ("return-url", args.return_url.is_some()),
            ("scheme", args.scheme.is_some()),
            ("package-name", args.package_name.is_some()),
            ("app-link", args.app_link.is_some()),
        ],
    )?;
    let client = args.gateway.client()?;
    let mut order = QrcodeOrder::builder(args.service)
        .out_trade_no(args.out_trade_no.unwrap_or_else(generated_out_trade_no))
        .amount(args.amount)
        .currency(args.currency)
        .subject(args.subject)
        .buyer_type(args.buyer_type);
    if let Some(w) = args.wallet {
        order = order.wallet(w);
    }
    if let Some(v) = args.tid {
        order = order.tid(v);
    }
    if let Some(v) = args.notify_url {
        order = order.notify_url(v);
    }
    if let Some(v) = args.active_time {
        order = order.active_time(v);
    }
    let order = order.build().map_err(|e| match e {
        RequestError::Missing("payment_type") => {
            let names: Vec<&str> = args.service.spec().wallets.iter().map(|w| w.as_str()).collect();
            anyhow!("{} takes several wallets: choose one with --wallet ({})", args.service, names.join(", "))
        }
        e => anyhow!("invalid request: {e}"),
    })?;
    let answer = client.send(&Request::Qrcode(QrcodeRequest::PlaceOrder(order.clone()))).await.map_err(one_line)?;
    let placed = QrcodeOrderPlaced::for_request(&answer, &order, client.user_confirm_key())
        .map_err(|e| anyhow!("could not read the gateway's answer: {e}"))?;
    println!("{}", placed.qr_code);
    print!("{}", terminal_qr(&placed.qr_code)?);
    print_answer(&answer, "qr_code");
    Ok(())
}

/// `vmp order create --service service.united.wap.PreOrder …`.
pub async fn create_cashier(args: CreateArgs) -> anyhow::Result<()> {
    if args.wallet.is_some() {
        bail!("the cashier's buyer picks the wallet: leave out --wallet");
    }
    if args.pay_scene.is_some_and(|s| s != PayScene::Wap) {
        bail!("the cashier's pay_scene is WAP");
    }
    refuse(
        "cashier",
        &[
            ("scheme", args.scheme.is_some()),
            ("package-name", args.package_name.is_some()),
            ("app-link", args.app_link.is_some()),
        ],
    )?;
    let client = args.gateway.client()?;
    let mut order = CashierOrder::builder()
        .out_trade_no(args.out_trade_no.unwrap_or_else(generated_out_trade_no))
        .amount(args.amount)
        .currency(args.currency)
        .subject(args.subject)
        .buyer_type(args.buyer_type);
    if let Some(v) = args.body {
        order = order.body(v);
    }
    if let Some(v) = args.tid {
        order = order.tid(v);
    }
    if let Some(v) = args.notify_url {
        order = order.notify_url(v);
    }
    if let Some(v) = args.return_url {
        order = order.return_url(v);
    }
    if let Some(v) = args.active_time {
        order = order.active_time(v);
    }
    let order = order.build().map_err(|e| anyhow!("invalid request: {e}"))?;
    let answer = client.send(&Request::Cashier(order.clone())).await.map_err(one_line)?;
    let placed = OrderPlaced::for_cashier(&answer, &order, client.user_confirm_key())
        .map_err(|e| anyhow!("could not read the gateway's answer: {e}"))?;
    println!("{}", placed.pay_apptrade);
    print_answer(&answer, "pay_apptrade");
    Ok(())
}

/// The answer as `key: value` lines, without `sign`, `shown` and empties.
fn print_answer(answer: &Params, shown: &str) {
    for (k, v) in answer.iter() {
        if k == shown || k == "sign" || v.is_empty() {
            continue;
        }
        println!("{k}: {}", v.as_str());
    }
}

/// `content` as a QR code in Unicode half blocks, two modules per
/// character cell vertically, light modules drawn (for dark terminals).
pub fn terminal_qr(content: &str) -> anyhow::Result<String> {
    let code = QrCode::new(content.as_bytes()).map_err(|e| anyhow!("the qr_code does not fit a QR code: {e}"))?;
    let mut text = code.render::<Dense1x2>().dark_color(Dense1x2::Light).light_color(Dense1x2::Dark).build();
    text.push('\n');
    Ok(text)
}

/// Whether a notification body is the qrcode scene's (no `notify_type`,
/// a `payment_type`).
pub fn is_qrcode_notification(body: &[u8]) -> bool {
    Params::from_json(body).is_ok_and(|p| !p.contains("notify_type") && p.contains("payment_type"))
}

/// Verifies a qrcode notification; prints it as `vmp listen` prints every
/// delivery.
pub fn verify_and_print_qrcode(
    at: &str,
    path: &str,
    body: &[u8],
    secret: &str,
    now: OffsetDateTime,
) -> Result<QrcodeNotification, vmp_client::NotificationError> {
    let verified = verify_qrcode_notification(body, secret, now);
    match &verified {
        Ok(n) => {
            let verdict = if n.is_paid_sale() { "PAID" } else { "not paid" };
            println!(
                "[{at}] POST {path}: qrcode notification (JSON), signature valid, {} -> {verdict}",
                n.trade_status
            );
            let params = n.to_params();
            let width = params.keys().map(str::len).max().unwrap_or(0);
            for (k, v) in params.iter() {
                println!("    {k:<width$}  {}", v.as_str());
            }
        }
        Err(e) => println!("[{at}] POST {path}: qrcode notification (JSON): REJECTED: {e}"),
    }
    verified
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_terminal_qr_code_is_half_blocks_two_modules_a_cell() {
        let text = terminal_qr("http://127.0.0.1:8080/VMP/qrcode/scan?userkey=K&outTradeNo=O&sign=s").unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let code = QrCode::new(b"http://127.0.0.1:8080/VMP/qrcode/scan?userkey=K&outTradeNo=O&sign=s").unwrap();
        let modules = code.width() + 8; // with the quiet zone
        assert_eq!(lines.len(), modules.div_ceil(2), "two rows of modules per line");
        assert!(lines.iter().all(|l| l.chars().count() == modules));
        assert!(text.chars().all(|c| matches!(c, ' ' | '█' | '▀' | '▄' | '\n')), "{text}");
    }

    #[test]
    fn only_a_body_without_notify_type_and_with_payment_type_is_the_qrcode_scenes() {
        assert!(is_qrcode_notification(br#"{"payment_type":"WECHATHK","trade_type":"SALE"}"#));
        assert!(!is_qrcode_notification(br#"{"notify_type":"trade_status_sync","payment_type":"X"}"#));
        assert!(!is_qrcode_notification(br#"{"wallet":"ALIPAYHK"}"#));
        assert!(!is_qrcode_notification(b"not json"));
    }
}
