//! The qrcode and cashier scenes through the SDK, against the real gateway
//! on 127.0.0.1:0: a till that shows a QR code and polls until the buyer
//! has paid, every qrcode operation and its refusals, a cashier sale.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use tokio::sync::oneshot;
use vmp_client::{
    Amount, CashierOrder, ClientError, QrcodeCancel, QrcodeClose, QrcodeOrder, QrcodeOrderPlaced, QrcodeQuery,
    QrcodeRefund, Query, Refund, ReturnStatus, Service, TradeStatus, Wallet,
};

mod support;
use support::Gateway;

/// How long the till waits for the buyer before giving up (the test fails).
const TILL_DEADLINE: Duration = Duration::from_secs(30);

fn amount(minor: i64) -> Amount {
    Amount::from_minor(minor).unwrap()
}

fn api_code<T: std::fmt::Debug>(result: Result<T, ClientError>) -> ReturnStatus {
    match result {
        Err(ClientError::Api { code: Some(code), .. }) => code,
        other => panic!("expected an Api error, got {other:?}"),
    }
}

/// A merchant endpoint on 127.0.0.1:0 that keeps every body POSTed to it.
async fn notify_sink() -> (String, Arc<Mutex<Vec<Bytes>>>) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&bodies);
    let app = Router::new().route(
        "/eft/notify",
        post(move |body: Bytes| async move {
            kept.lock().unwrap().push(body);
            "success"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/eft/notify", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, bodies)
}

impl Gateway {
    /// The buyer scans and pays (the sandbox API stands in for the wallet).
    async fn scan_and_pay(&self, placed: &QrcodeOrderPlaced) {
        let paid =
            self.sandbox(&format!("/sandbox/orders/{}/pay", placed.eftpay_trade_no), r#"{"outcome":"success"}"#).await;
        assert_eq!(paid.get("trade_status"), Some("TRADE_SUCCESS"), "{}", paid.to_json());
    }
}

fn sale(out_trade_no: &str, minor: i64) -> QrcodeOrder {
    QrcodeOrder::builder(Service::WechatQrcode)
        .wallet(Wallet::WechatHk)
        .out_trade_no(out_trade_no)
        .amount(amount(minor))
        .subject("Two lunches")
        .tid("TILL3")
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_till_shows_the_qr_code_polls_each_second_until_the_buyer_pays_then_refunds() {
    let gw = Gateway::start().await;
    let client = gw.client();
    let (notify_url, notified) = notify_sink().await;
    let order = QrcodeOrder::builder(Service::WechatQrcode)
        .wallet(Wallet::WechatHk)
        .out_trade_no("TILL3-000123")
        .amount(amount(4200))
        .subject("Two lunches")
        .tid("TILL3")
        .notify_url(&notify_url)
        .build()
        .unwrap();

    // The till places the sale and shows its QR code.
    let placed = client.place_qrcode_order(&order).await.unwrap();
    assert!(placed.qr_code.starts_with(&format!("{}/VMP/qrcode/scan?", gw.base_url)), "{}", placed.qr_code);
    assert_eq!(placed.tid.as_deref(), Some("TILL3"));

    // The buyer pays once the till has seen the order unpaid.
    let (first_poll, seen) = oneshot::channel::<()>();
    let buyer = {
        let placed = placed.clone();
        let gw_url = gw.base_url.clone();
        let http = gw.http.clone();
        tokio::spawn(async move {
            seen.await.unwrap();
            let resp = http
                .post(format!("{gw_url}/sandbox/orders/{}/pay", placed.eftpay_trade_no))
                .header("content-type", "application/json")
                .body(r#"{"outcome":"success"}"#)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
        })
    };

    // The till polls the query once a second until the order is final.
    let query = QrcodeQuery::new(Service::WechatQrcodeQuery, &placed).unwrap().wallet(Wallet::WechatHk);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut first_poll = Some(first_poll);
    let mut polls = 0;
    let deadline = tokio::time::Instant::now() + TILL_DEADLINE;
    let paid = loop {
        tick.tick().await;
        assert!(tokio::time::Instant::now() < deadline, "the buyer never paid");
        polls += 1;
        let answer = client.qrcode_query(&query).await.unwrap();
        match answer.trade_status {
            TradeStatus::TradeProcessing => {
                if let Some(tx) = first_poll.take() {
                    tx.send(()).unwrap();
                }
            }
            _ => break answer,
        }
    };
    buyer.await.unwrap();
    assert!(polls >= 2, "the till saw the order unpaid first");
    assert_eq!(paid.trade_status, TradeStatus::TradeSuccess);
    assert_eq!((paid.wallet.as_deref(), paid.tid.as_deref()), (Some("WECHATHK"), Some("TILL3")));
    assert!(paid.buyer_id.is_some());

    // The notification verifies with the SDK.
    let mut body = None;
    for _ in 0..400 {
        body = notified.lock().unwrap().first().cloned();
        if body.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let n = client.verify_qrcode_notification(&body.expect("notified")).unwrap();
    assert!(n.is_paid_sale());
    assert_eq!(
        (n.out_trade_no.as_str(), n.payment_type.as_str(), n.total_fee.as_str()),
        ("TILL3-000123", "WECHATHK", "42.00")
    );

    // A returned lunch: refunded in part, then the rest reversed.
    let refund = QrcodeRefund::new(Service::WechatQrcodeRefund, &placed, "TILL3-R1", amount(2100)).unwrap();
    let r = client.qrcode_refund(&refund).await.unwrap();
    assert_eq!((&r.trade_status, r.refund_no.as_str()), (&TradeStatus::TradeRefund, "TILL3-R1"));
    assert_eq!(client.qrcode_refund(&refund).await.unwrap(), r, "a retry is answered again, refunds nothing more");
    let cancelled = client.qrcode_cancel(&QrcodeCancel::new(&placed).wallet(Wallet::WechatHk)).await.unwrap();
    assert_eq!(cancelled.trade_status, TradeStatus::TradeClosed);
    let after = client.qrcode_query(&query).await.unwrap();
    assert_eq!(after.refund_amount.map(|a| a.value()), Some(amount(4200)));
}

#[tokio::test]
async fn every_qrcode_operation_answers_its_typed_answer_or_its_code() {
    let gw = Gateway::start().await;
    let client = gw.client();

    // Close an unpaid sale; a paid one is 54.
    let unpaid = client.place_qrcode_order(&sale("OPS1", 100)).await.unwrap();
    let close = QrcodeClose::new(Service::WechatQrcodeClose, &unpaid).unwrap();
    assert_eq!(client.qrcode_close(&close).await.unwrap().trade_status, TradeStatus::TradeClosed);
    assert_eq!(api_code(client.qrcode_cancel(&QrcodeCancel::new(&unpaid)).await), ReturnStatus::AlreadyPaidOrClosed);
    let pending = client.place_qrcode_order(&sale("OPS2", 100)).await.unwrap();
    assert_eq!(api_code(client.qrcode_cancel(&QrcodeCancel::new(&pending)).await), ReturnStatus::NotPaid);
    let paid = client.place_qrcode_order(&sale("OPS3", 100)).await.unwrap();
    gw.scan_and_pay(&paid).await;
    let close = QrcodeClose::new(Service::WechatQrcodeClose, &paid).unwrap();
    assert_eq!(api_code(client.qrcode_close(&close).await), ReturnStatus::CloseFailedPaid);

    // Refunds: over the amount 18, a wallet of another family -16.
    let over = QrcodeRefund::new(Service::WechatQrcodeRefund, &paid, "OPS3-R1", amount(101)).unwrap();
    assert_eq!(api_code(client.qrcode_refund(&over).await), ReturnStatus::RefundExceedsAmount);
    let alipay = QrcodeQuery::new(Service::AlipayQrcodeQuery, &paid).unwrap();
    assert_eq!(api_code(client.qrcode_query(&alipay).await), ReturnStatus::WalletRestricted);
    let full = QrcodeRefund::new(Service::WechatQrcodeRefund, &paid, "OPS3-R2", amount(100)).unwrap();
    assert_eq!(client.qrcode_refund(&full).await.unwrap().trade_status, TradeStatus::TradeClosed);
    let by_refund = QrcodeQuery::new(Service::WechatQrcodeQuery, &paid).unwrap().refund("OPS3-R2").unwrap();
    let q = client.qrcode_query(&by_refund).await.unwrap();
    assert_eq!((q.refund_no.as_deref(), q.transaction_amount.value()), (Some("OPS3-R2"), amount(100)));

    // The same out_trade_no for another sale: 03; the web query reads it too.
    assert_eq!(api_code(client.place_qrcode_order(&sale("OPS3", 200)).await), ReturnStatus::DuplicateOrder);
    let web = client.query(&Query::sale(paid.order())).await.unwrap();
    assert_eq!(web.trade_status, TradeStatus::TradeClosed);
}

#[tokio::test]
async fn a_cashier_sale_answers_the_cashier_link_and_its_refunds_name_the_wallet_the_buyer_chose() {
    let gw = Gateway::start().await;
    let client = gw.client();
    let order =
        CashierOrder::builder().out_trade_no("CASH-SDK").amount(amount(990)).subject("Gift card").build().unwrap();
    let placed = client.place_cashier_order(&order).await.unwrap();
    assert!(placed.pay_apptrade.contains("/VMP/wap/payPage?"), "{}", placed.pay_apptrade);
    assert_eq!((placed.wallet.as_deref(), placed.pay_type.as_deref()), (None, None));
    let paid = gw
        .sandbox(&format!("/sandbox/orders/{}/pay", placed.eft_trade_no), r#"{"outcome":"success","wallet":"PAYME"}"#)
        .await;
    assert_eq!(paid.get("trade_status"), Some("TRADE_SUCCESS"));
    let q = client.query(&Query::sale(&placed)).await.unwrap();
    assert_eq!(q.known_wallet(), Some(Wallet::Payme));
    let refund = Refund::builder(&placed)
        .service(Service::UnitedWapRefund)
        .out_refund_no("CASH-SDK-R")
        .amount(amount(990))
        .build()
        .unwrap();
    let r = client.refund(&refund).await.unwrap();
    assert_eq!((r.trade_status, r.wallet.as_deref()), (TradeStatus::TradeClosed, Some("PAYME")));
}
