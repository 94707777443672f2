//! The qrcode scene over HTTP: every sale service placed, its scan link
//! opened, paid through the sandbox API, queried, refunded, closed,
//! cancelled and notified (docs/protocol.md "The qrcode scene").

use time::OffsetDateTime;
use vmp_protocol::catalogue::{Notify, Operation, Scene};
use vmp_protocol::notify::{TradeStatus, verify_qrcode_notification};
use vmp_protocol::{Params, Service, Wallet};

use crate::helpers::{ENDPOINT, TestApp, assert_signed, spawn_app, spawn_app_with};
use crate::receiver::{Behaviour, Receiver};

const CANCEL: &str = "/VMP/Servlet/QRcodeTradeCancel.do";

/// The sale as an Odoo point-of-sale module sends it, for `service`/`wallet`.
fn sale<'a>(service: &'a str, pay_type: &'a str, wallet: &'a str, out: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("service", service),
        ("transaction_amount", "12.30"),
        ("out_trade_no", out),
        ("paytype", pay_type),
        ("buyertype", "others"),
        ("subject", "POS Transaction"),
        ("payment_type", wallet),
        ("tid", "T0001"),
    ]
}

/// The qrcode service of `op` for `wallet`'s orders (the scene's own rows).
fn service_for(op: Operation, wallet: Wallet) -> Option<Service> {
    Service::ALL.iter().copied().find(|s| {
        let spec = s.spec();
        spec.scene == Scene::Qrcode && spec.op == op && spec.is_ready() && spec.wallets.contains(&wallet)
    })
}

impl TestApp {
    /// Places an Alipay qrcode sale of `amount` and pays it in the sandbox.
    async fn paid_qrcode(&self, out: &str, amount: &str) -> String {
        let mut fields = sale("service.alipay.qrcode.PreOrder", "Alipay", "ALIPAYHK", out);
        fields[1] = ("transaction_amount", amount);
        let a = self.jsapi(&fields).await;
        assert_eq!(a.get("return_status"), Some("00"), "{}", a.to_json());
        let eft = a.get("eftpay_trade_no").unwrap().to_owned();
        let (status, paid) = self.sandbox_pay_with(&eft, serde_json::json!({"outcome": "success"})).await;
        assert_eq!((status, paid["trade_status"].as_str()), (200, Some("TRADE_SUCCESS")));
        eft
    }
}

#[tokio::test]
async fn every_qrcode_sale_is_answered_with_a_scan_link_paid_queried_and_notified_as_its_wallet_is() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    let mut notified = 0;
    let mut n = 0;
    for service in Service::qrcode_sales() {
        let spec = service.spec();
        for wallet in spec.wallets {
            n += 1;
            let out = format!("QR{n}");
            let pay_type = spec.pay_type().unwrap().as_str();
            let mut fields = sale(service.label(), pay_type, wallet.as_str(), &out);
            fields.push(("notify_url", &receiver.url));

            // Place: the answer Odoo reads, signed.
            let a = app.jsapi(&fields).await;
            assert_eq!(a.get("return_status"), Some("00"), "{service} {wallet}: {}", a.to_json());
            assert_signed(&a, &app.secret);
            for (k, want) in [
                ("user_confirm_key", app.key.as_str()),
                ("out_trade_no", out.as_str()),
                ("paytype", pay_type),
                ("payment_type", wallet.as_str()),
                ("transaction_amount", "12.30"),
                ("tid", "T0001"),
            ] {
                assert_eq!(a.get(k), Some(want), "{service} {wallet}: {k}");
            }
            assert!(!a.contains("pay_apptrade") && !a.contains("payType"), "the qrcode scene's names only");
            let eft = a.get("eftpay_trade_no").unwrap().to_owned();
            let qr_code = a.get("qr_code").unwrap();
            assert!(qr_code.starts_with(&format!("{}/VMP/qrcode/scan?userkey=", app.base)), "{qr_code}");

            // The scan link opens the wallet's stand-in page.
            let page = app.client.get(qr_code).send().await.unwrap();
            assert_eq!(page.status().as_u16(), 200);
            let html = page.text().await.unwrap();
            assert!(html.contains("-scan\""), "{service}: a scan page, got {html}");
            assert!(html.contains("HKD 12.30") && html.contains("id=\"pay\""));

            // Pay; query through the wallet's own query service.
            let (status, paid) = app.sandbox_pay_with(&eft, serde_json::json!({"outcome": "success"})).await;
            assert_eq!((status, paid["trade_status"].as_str()), (200, Some("TRADE_SUCCESS")), "{service}");
            let query = service_for(Operation::Query, *wallet).unwrap_or(Service::CommonQuery);
            // (e-CNY has no query service of its own: the web scene's query.)
            let eft_name = if query == Service::CommonQuery { "eft_trade_no" } else { "eftpay_trade_no" };
            let q = app.jsapi(&[("service", query.label()), ("querytype", "OUT_TRADE"), (eft_name, &eft)]).await;
            assert_eq!(q.get("return_status"), Some("00"), "{query}: {}", q.to_json());
            if query != Service::CommonQuery {
                assert_eq!(q.get("trade_status"), Some("TRADE_SUCCESS"));
                assert_eq!(q.get("payment_type"), Some(wallet.as_str()));
                assert_eq!(q.get("paytype"), Some(pay_type));
                assert_eq!(q.get("tid"), Some("T0001"));
                assert!(q.get("buyer_id").is_some_and(|b| !b.is_empty()), "paid: the buyer is named");
            }

            // Notified as the catalogue says (PayMe and FPS never).
            let rows = app.state.store().notifications_for_order(&eft).await.unwrap();
            match spec.notify {
                Notify::Never => assert!(rows.is_empty(), "{service} must not notify"),
                _ => {
                    assert_eq!(rows.len(), 1, "{service}");
                    notified += 1;
                }
            }

            // Each of the sale's refund services refunds a part; the
            // cancel reverses the rest.
            for (i, refund) in spec.refunds.iter().enumerate() {
                let refund_no = format!("{out}-R{i}");
                let r = app
                    .jsapi(&[
                        ("service", refund.label()),
                        ("eftpay_trade_no", &eft),
                        ("refund_no", &refund_no),
                        ("transaction_amount", "0.10"),
                        ("payment_type", wallet.as_str()),
                    ])
                    .await;
                assert_eq!(r.get("trade_status"), Some("TRADE_REFUND"), "{refund}: {}", r.to_json());
            }
            let c = app.call(CANCEL, &[("out_trade_no", &out), ("paytype", pay_type)]).await;
            assert_eq!(c.get("trade_status"), Some("TRADE_CLOSED"), "cancel of {service}: {}", c.to_json());

            // Each of its close services closes an unpaid sale.
            for close in spec.closes.iter().filter(|c| c.spec().op == Operation::Close) {
                let unpaid = format!("{out}-C");
                let a = app.jsapi(&sale(service.label(), pay_type, wallet.as_str(), &unpaid)).await;
                assert_eq!(a.get("return_status"), Some("00"), "{}", a.to_json());
                let c = app.jsapi(&[("service", close.label()), ("out_trade_no", &unpaid)]).await;
                assert_eq!(c.get("trade_status"), Some("TRADE_CLOSED"), "{close}: {}", c.to_json());
            }
        }
    }
    assert!(n >= 12, "{n} sales");

    // Every notification verifies as the qrcode scene's, names its wallet
    // and carries the wallet's extras.
    receiver.wait_for_calls(notified).await;
    let now = OffsetDateTime::now_utc();
    for body in receiver.bodies().await {
        let p = Params::from_json(&body).unwrap();
        assert!(!p.contains("notify_type") && !p.contains("eft_trade_no"), "{}", p.to_json());
        let n = verify_qrcode_notification(&body, &app.secret, now).expect("the notification verifies");
        assert_eq!(n.trade_status, TradeStatus::TradeSuccess);
        assert_eq!(
            (n.subject.as_str(), n.total_fee.as_str(), n.tid.as_deref()),
            ("POS Transaction", "12.30", Some("T0001"))
        );
        assert!(n.buyer_id.is_some());
        let extra = |k: &str| n.extras.iter().any(|(name, _)| name == k);
        match n.payment_type.as_str() {
            "GBPAY" => assert!(extra("rate") && extra("actual_total_fee_type"), "{:?}", n.extras),
            "UNIONPAY" => assert!(extra("payment_amount") && extra("uplan_discount"), "{:?}", n.extras),
            _ => assert!(n.extras.is_empty(), "{:?}", n.extras),
        }
    }
}

#[tokio::test]
async fn a_relative_notify_url_is_accepted_and_recorded_as_undeliverable() {
    let app = spawn_app().await;
    let mut fields = sale("service.wechat.qrcode.PreOrder", "WeChat", "WECHATCN", "ODOO1");
    fields.push(("notify_url", "/eft/payment/notify"));
    let a = app.jsapi(&fields).await;
    assert_eq!(a.get("return_status"), Some("00"), "{}", a.to_json());
    let eft = a.get("eftpay_trade_no").unwrap().to_owned();
    app.sandbox_pay_with(&eft, serde_json::json!({"outcome": "success"})).await;

    // One attempt, recorded as undeliverable, never retried.
    let mut row = None;
    for _ in 0..400 {
        let rows = app.state.store().notifications_for_order(&eft).await.unwrap();
        if rows.first().is_some_and(|r| r.attempts > 0) {
            row = rows.into_iter().next();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let row = row.expect("the notification was attempted");
    assert_eq!((row.status.as_str(), row.attempts), ("failed", 1));
    let attempts = app.state.store().attempts_for_notification(row.id).await.unwrap();
    assert!(attempts[0].excerpt.contains("not an absolute URL"), "{:?}", attempts[0]);
}

#[tokio::test]
async fn refunds_add_up_to_the_order_and_a_fully_refunded_order_is_closed() {
    let app = spawn_app().await;
    let eft = app.paid_qrcode("QRR1", "0.17").await;
    let refund = |refund_no: &'static str, amount: &'static str| {
        vec![
            ("service", "service.unionpay.qrcode.csb.Refund"),
            ("out_trade_no", "QRR1"),
            ("refund_no", refund_no),
            ("transaction_amount", amount),
        ]
    };
    // A UnionPay refund service takes no Alipay order.
    assert_eq!(app.jsapi(&refund("R0", "0.10")).await.get("return_status"), Some("-16"));

    let alipay = |mut f: Vec<(&'static str, &'static str)>| {
        f[0] = ("service", "service.alipay.qrcode.Refund");
        f.extend([("paytype", "Alipay"), ("payment_type", "ALIPAYCN"), ("buyertype", "android")]);
        f
    };
    let r1 = app.jsapi(&alipay(refund("R1", "0.10"))).await;
    assert_eq!(r1.get("return_status"), Some("00"), "{}", r1.to_json());
    assert_signed(&r1, &app.secret);
    assert_eq!(r1.get("trade_status"), Some("TRADE_REFUND"));
    assert_eq!((r1.get("refund_no"), r1.get("transaction_amount")), (Some("R1"), Some("0.10")));
    assert_eq!((r1.get("eftpay_trade_no"), r1.get("buyertype")), (Some(eft.as_str()), Some("android")));
    assert_eq!(r1.get("payment_type"), Some("ALIPAYHK"), "the order's wallet");
    // The same refund again is replayed; another with its number is 14.
    assert_eq!(app.jsapi(&alipay(refund("R1", "0.10"))).await.get("trade_status"), Some("TRADE_REFUND"));
    assert_eq!(app.jsapi(&alipay(refund("R1", "0.07"))).await.get("return_status"), Some("14"));
    assert_eq!(app.jsapi(&alipay(refund("R2", "0.08"))).await.get("return_status"), Some("18"), "over");
    // By the gateway's number, under either name.
    let mut by_eft = alipay(refund("R2", "0.07"));
    by_eft[1] = ("eft_trade_no", &eft);
    let r2 = app.jsapi(&by_eft).await;
    assert_eq!(r2.get("trade_status"), Some("TRADE_CLOSED"), "{}", r2.to_json());
    assert_eq!(app.jsapi(&alipay(refund("R3", "0.07"))).await.get("return_status"), Some("15"), "closed");

    let q = app
        .jsapi(&[
            ("service", "service.alipay.qrcode.Query"),
            ("querytype", "OUT_TRADE"),
            ("out_trade_no", "QRR1"),
            ("refund_no", "R1"),
        ])
        .await;
    assert_eq!(q.get("trade_type"), Some("REFUND"), "{}", q.to_json());
    assert_eq!((q.get("transaction_amount"), q.get("original_amount")), (Some("0.10"), Some("0.17")));
    let q = app
        .jsapi(&[("service", "service.alipay.qrcode.Query"), ("querytype", "OUT_TRADE"), ("out_trade_no", "QRR1")])
        .await;
    assert_eq!((q.get("trade_status"), q.get("refund_amount")), (Some("TRADE_CLOSED"), Some("0.17")));
}

#[tokio::test]
async fn close_closes_an_unpaid_order_twice_over_and_refuses_a_paid_one() {
    let app = spawn_app().await;
    let a = app.jsapi(&sale("service.wechat.qrcode.PreOrder", "WeChat", "WECHATHK", "QRC1")).await;
    let eft = a.get("eftpay_trade_no").unwrap().to_owned();
    let close = [("service", "service.wechat.qrcode.Close"), ("out_trade_no", "QRC1"), ("payment_type", "WECHATHK")];
    for _ in 0..2 {
        let c = app.jsapi(&close).await;
        assert_eq!(c.get("return_status"), Some("00"), "{}", c.to_json());
        assert_signed(&c, &app.secret);
        assert_eq!((c.get("trade_status"), c.get("eftpay_trade_no")), (Some("TRADE_CLOSED"), Some(eft.as_str())));
    }
    let (status, v) = app.sandbox_pay_with(&eft, serde_json::json!({"outcome": "success"})).await;
    assert_eq!((status, v["result"].as_str()), (409, Some("already_final")), "a closed code cannot be paid");

    app.paid_qrcode("QRC2", "1.00").await;
    let c = app.jsapi(&[("service", "service.alipay.qrcode.Close"), ("out_trade_no", "QRC2")]).await;
    assert_eq!((c.get("return_status"), c.get("return_char")), (Some("54"), Some("关闭失败，交易已付款")));
}

#[tokio::test]
async fn cancel_reverses_a_paid_order_in_full_and_answers_as_eftpay_does_otherwise() {
    let app = spawn_app().await;
    // Unpaid: 16 ("awaiting payment"); the state is what is checked.
    app.jsapi(&sale("service.alipay.qrcode.PreOrder", "Alipay", "ALIPAYHK", "QRX1")).await;
    let cancel = |out: &'static str, pay_type: &'static str, wallet: &'static str| {
        vec![("out_trade_no", out), ("paytype", pay_type), ("payment_type", wallet), ("buyertype", "android")]
    };
    let c = app.call(CANCEL, &cancel("QRX1", "Alipay", "ALIPAYHK")).await;
    assert_eq!((c.get("return_status"), c.get("return_char")), (Some("16"), Some("退款/撤销失败，交易待付款")));

    // Paid and partly refunded: the rest is reversed and the order closed.
    let eft = app.paid_qrcode("QRX2", "5.00").await;
    let r = app
        .jsapi(&[
            ("service", "service.alipay.qrcode.Refund"),
            ("out_trade_no", "QRX2"),
            ("refund_no", "QRX2-R1"),
            ("transaction_amount", "1.00"),
        ])
        .await;
    assert_eq!(r.get("return_status"), Some("00"), "{}", r.to_json());
    let wrong = app.call(CANCEL, &cancel("QRX2", "WeChat", "WECHATHK")).await;
    assert_eq!(wrong.get("return_status"), Some("-16"), "another family, on a paid order: {}", wrong.to_json());
    let c = app.call(CANCEL, &cancel("QRX2", "Alipay", "ALIPAYHK")).await;
    assert_eq!(c.get("return_status"), Some("00"), "{}", c.to_json());
    assert_signed(&c, &app.secret);
    assert_eq!((c.get("trade_status"), c.get("eftpay_trade_no")), (Some("TRADE_CLOSED"), Some(eft.as_str())));
    let q = app
        .jsapi(&[("service", "service.alipay.qrcode.Query"), ("querytype", "OUT_TRADE"), ("out_trade_no", "QRX2")])
        .await;
    assert_eq!((q.get("trade_status"), q.get("refund_amount")), (Some("TRADE_CLOSED"), Some("5.00")));
    assert_eq!(app.state.store().refunds_total(&eft).await.unwrap(), 500, "one refund row reverses the rest");

    // Again: 15, although it names WeChat for an Alipay order (state first).
    let again = app.call(CANCEL, &cancel("QRX2", "WeChat", "WECHATHK")).await;
    assert_eq!((again.get("return_status"), again.get("return_char")), (Some("15"), Some("退款/撤销失败，交易已关闭")));
    // No order named: -13 naming out_trade_no; an unknown one: 31.
    let none = app.call(CANCEL, &[("paytype", "Alipay"), ("payment_type", "ALIPAYHK")]).await;
    assert_eq!(
        (none.get("return_status"), none.get("return_char")),
        (Some("-13"), Some("参数错误:请检查请求接口参数: out_trade_no"))
    );
    assert_eq!(app.call(CANCEL, &cancel("NOSUCH", "Alipay", "ALIPAYHK")).await.get("return_status"), Some("31"));
    // A refund of the cancelled order is 15.
    let r = app
        .jsapi(&[
            ("service", "service.alipay.qrcode.Refund"),
            ("out_trade_no", "QRX2"),
            ("refund_no", "QRX2-R2"),
            ("transaction_amount", "0.01"),
        ])
        .await;
    assert_eq!(r.get("return_status"), Some("15"));
}

#[tokio::test]
async fn the_new_interface_alipay_plus_rows_behave_as_the_alipay_qrcode_rows() {
    let app = spawn_app().await;
    let a = app.jsapi(&sale("service.alipayplus.qrcode.PreOrder", "Alipay", "ALIPAYHK", "PLUS1")).await;
    assert_eq!(a.get("return_status"), Some("00"), "{}", a.to_json());
    let scan = app.client.get(a.get("qr_code").unwrap()).send().await.unwrap().text().await.unwrap();
    assert!(scan.contains("data-page-kind=\"alipay-scan\""));
    let both = app.jsapi(&sale("service.alipayplus.qrcode.PreOrder", "Alipay", "ALIPAYBOTH", "PLUS2")).await;
    assert_eq!(both.get("return_status"), Some("-16"), "the new interface lists ALIPAYCN and ALIPAYHK only");
    let eft = a.get("eftpay_trade_no").unwrap().to_owned();
    app.sandbox_pay_with(&eft, serde_json::json!({"outcome": "success"})).await;
    let q = app
        .jsapi(&[("service", "service.alipayplus.qrcode.Query"), ("querytype", "OUT_TRADE"), ("out_trade_no", "PLUS1")])
        .await;
    assert_eq!(q.get("trade_status"), Some("TRADE_SUCCESS"), "{}", q.to_json());
    let r = app
        .jsapi(&[
            ("service", "service.alipayplus.qrcode.Refund"),
            ("out_trade_no", "PLUS1"),
            ("refund_no", "PLUS1-R"),
            ("transaction_amount", "12.30"),
        ])
        .await;
    assert_eq!(r.get("trade_status"), Some("TRADE_CLOSED"), "{}", r.to_json());
    let c = app.jsapi(&[("service", "service.alipayplus.qrcode.Close"), ("out_trade_no", "PLUS1")]).await;
    assert_eq!(c.get("return_status"), Some("54"));
}

#[tokio::test]
async fn magic_amounts_decide_the_scan_pages_outcome_and_44_gives_no_qr_code() {
    let app = spawn_app().await;
    let mut fields = sale("service.payme.qrcode.PreOrder", "PAYME", "PAYME", "MAGIC44");
    fields[1] = ("transaction_amount", "1.44");
    let a = app.jsapi(&fields).await;
    assert_eq!((a.get("return_status"), a.get("return_char")), (Some("24"), Some("二维码获取通信异常")));
    assert_eq!(app.order_count().await, 0, "nothing stored");
    for (i, (amount, state)) in
        [("0.81", "TRADE_SUCCESS"), ("0.77", "TRADE_FAIL"), ("0.80", "TRADE_CLOSED")].into_iter().enumerate()
    {
        let out = format!("MAGIC{i}");
        let mut fields = sale("service.payme.qrcode.PreOrder", "PAYME", "PAYME", &out);
        fields[1] = ("transaction_amount", amount);
        let a = app.jsapi(&fields).await;
        let eft = a.get("eftpay_trade_no").unwrap().to_owned();
        let (_, v) = app.sandbox_pay_with(&eft, serde_json::json!({"outcome": "success"})).await;
        assert_eq!(v["trade_status"], state, "{amount}");
    }
}

#[tokio::test]
async fn the_web_scenes_camel_case_names_are_refused_naming_the_qrcode_scenes_own_and_nothing_is_stored() {
    let app = spawn_app().await;
    let base = sale("service.wechat.qrcode.PreOrder", "WeChat", "WECHATHK", "CAMEL1");
    for (lower, camel) in [("paytype", "payType"), ("payment_type", "wallet"), ("buyertype", "buyerType")] {
        let fields: Vec<(&str, &str)> = base.iter().map(|(k, v)| (if *k == lower { camel } else { *k }, *v)).collect();
        let a = app.jsapi(&fields).await;
        assert_eq!(a.get("return_status"), Some("-13"), "{camel}: {}", a.to_json());
        assert_eq!(a.get("return_char"), Some(format!("参数错误:请检查请求接口参数: {lower}").as_str()));
    }
    assert_eq!(app.order_count().await, 0);
}

/// Each field's bad value gets the scene's code naming it, and nothing is
/// stored (the sale), refunded (the refund) or changed (close, cancel).
#[tokio::test]
async fn every_bad_field_of_every_operation_gets_its_code_and_changes_nothing() {
    let app = spawn_app().await;
    let paid = app.paid_qrcode("BAD-PAID", "1.00").await;
    app.jsapi(&sale("service.alipay.qrcode.PreOrder", "Alipay", "ALIPAYHK", "BAD-PENDING")).await;
    type Case = (&'static str, &'static str, Vec<(&'static str, &'static str)>, &'static str, &'static str);
    let s = |f: &[(&'static str, &'static str)]| f.to_vec();
    let good_sale = sale("service.alipay.qrcode.PreOrder", "Alipay", "ALIPAYHK", "BAD-NEW");
    let with = |field: &'static str, value: &'static str| -> Vec<(&'static str, &'static str)> {
        let mut f: Vec<_> = good_sale.iter().copied().filter(|(k, _)| *k != field).collect();
        if !value.is_empty() {
            f.push((field, value));
        }
        f
    };
    let cases: Vec<Case> = vec![
        ("sale", ENDPOINT, with("transaction_amount", ""), "-13", "transaction_amount"),
        ("sale", ENDPOINT, with("transaction_amount", "1.234"), "-13", "transaction_amount"),
        ("sale", ENDPOINT, with("transaction_amount", "0"), "09", ""),
        ("sale", ENDPOINT, with("out_trade_no", ""), "-13", "out_trade_no"),
        ("sale", ENDPOINT, with("out_trade_no", "has space"), "-13", "out_trade_no"),
        ("sale", ENDPOINT, with("paytype", ""), "-13", "paytype"),
        ("sale", ENDPOINT, with("paytype", "WeChat"), "20", "Alipay"),
        ("sale", ENDPOINT, with("payment_type", ""), "-13", "payment_type"),
        ("sale", ENDPOINT, with("payment_type", "WECHATHK"), "-16", "ALIPAYCN/ALIPAYHK/ALIPAYBOTH"),
        ("sale", ENDPOINT, with("subject", ""), "-13", "subject"),
        ("sale", ENDPOINT, with("buyertype", "androids"), "-13", "buyertype"),
        ("sale", ENDPOINT, with("tid", "123456789012345678901"), "-13", "tid"),
        ("sale", ENDPOINT, with("notify_url", "ftp://shop.example/n"), "-13", "notify_url"),
        ("sale", ENDPOINT, with("notify_url", "//shop.example/n"), "-13", "notify_url"),
        ("sale", ENDPOINT, with("fee_type", "USD"), "-24", "USD"),
        ("sale", ENDPOINT, with("active_time", "10"), "-13", "active_time"),
        (
            "refund",
            ENDPOINT,
            s(&[("service", "service.alipay.qrcode.Refund"), ("out_trade_no", "BAD-PAID"), ("refund_no", "B1")]),
            "-13",
            "transaction_amount",
        ),
        (
            "refund",
            ENDPOINT,
            s(&[
                ("service", "service.alipay.qrcode.Refund"),
                ("out_trade_no", "BAD-PAID"),
                ("transaction_amount", "0.10"),
            ]),
            "-13",
            "refund_no",
        ),
        (
            "refund",
            ENDPOINT,
            s(&[
                ("service", "service.alipay.qrcode.Refund"),
                ("out_trade_no", "BAD-PAID"),
                ("refund_no", "B2"),
                ("return_amount", "0.10"),
            ]),
            "-13",
            "transaction_amount",
        ),
        (
            "refund",
            ENDPOINT,
            s(&[
                ("service", "service.alipay.qrcode.Refund"),
                ("out_trade_no", "BAD-PAID"),
                ("refund_no", "B3"),
                ("transaction_amount", "0.10"),
                ("payment_type", "WECHATHK"),
            ]),
            "-16",
            "",
        ),
        (
            "refund",
            ENDPOINT,
            s(&[
                ("service", "service.alipay.qrcode.Refund"),
                ("out_trade_no", "BAD-PAID"),
                ("refund_no", "B4"),
                ("transaction_amount", "0.10"),
                ("paytype", "WeChat"),
            ]),
            "20",
            "Alipay",
        ),
        (
            "refund",
            ENDPOINT,
            s(&[
                ("service", "service.alipay.qrcode.Refund"),
                ("out_trade_no", "BAD-PENDING"),
                ("refund_no", "B5"),
                ("transaction_amount", "0.10"),
            ]),
            "16",
            "",
        ),
        (
            "refund",
            ENDPOINT,
            s(&[
                ("service", "service.alipay.qrcode.Refund"),
                ("out_trade_no", "NOSUCH"),
                ("refund_no", "B6"),
                ("transaction_amount", "0.10"),
            ]),
            "31",
            "",
        ),
        (
            "query",
            ENDPOINT,
            s(&[("service", "service.alipay.qrcode.Query"), ("out_trade_no", "BAD-PAID")]),
            "-13",
            "querytype",
        ),
        (
            "query",
            ENDPOINT,
            s(&[("service", "service.alipay.qrcode.Query"), ("querytype", "OUT_TRADE")]),
            "-13",
            "out_trade_no",
        ),
        (
            "query",
            ENDPOINT,
            s(&[("service", "service.alipay.qrcode.Query"), ("querytype", "OUT_TRADE"), ("eftpay_trade_no", "12 3")]),
            "-13",
            "eftpay_trade_no",
        ),
        (
            "query",
            ENDPOINT,
            s(&[("service", "service.wechat.qrcode.Query"), ("querytype", "OUT_TRADE"), ("out_trade_no", "BAD-PAID")]),
            "-16",
            "",
        ),
        (
            "query",
            ENDPOINT,
            s(&[("service", "service.alipay.qrcode.Query"), ("querytype", "OUT_TRADE"), ("out_trade_no", "NOSUCH")]),
            "05",
            "",
        ),
        (
            "close",
            ENDPOINT,
            s(&[("service", "service.alipay.qrcode.Close"), ("out_trade_no", "BAD-PENDING"), ("payment_type", "FPS")]),
            "-16",
            "",
        ),
        (
            "close",
            ENDPOINT,
            s(&[("service", "service.alipay.qrcode.Close"), ("out_trade_no", "BAD-PENDING"), ("wallet", "ALIPAYHK")]),
            "-13",
            "payment_type",
        ),
        ("cancel", CANCEL, s(&[("out_trade_no", "BAD-PAID"), ("paytype", "Nope")]), "20", ""),
        ("cancel", CANCEL, s(&[("out_trade_no", "BAD-PAID"), ("payType", "Alipay")]), "-13", "paytype"),
    ];
    for (op, path, fields, code, named) in cases {
        let a = app.call(path, &fields).await;
        assert_eq!(a.get("return_status"), Some(code), "{op} {fields:?}: {}", a.to_json());
        assert!(
            a.get("return_char").unwrap_or_default().contains(named),
            "{op} {fields:?} names {named}: {}",
            a.to_json()
        );
    }
    let store = app.state.store();
    assert_eq!(app.order_count().await, 2, "no sale was stored");
    assert_eq!(store.refunds_total(&paid).await.unwrap(), 0, "nothing was refunded");
    let pending = store.order_by_out_trade_no(&app.key, "BAD-PENDING").await.unwrap().unwrap();
    assert_eq!(pending.state.as_str(), "PENDING", "nothing was closed");
}

#[tokio::test]
async fn production_refuses_a_private_notify_url_but_takes_a_relative_one() {
    let mut app = spawn_app_with(|s| s.mode = vmp_server::Mode::Production).await;
    app.add_merchant("QRPROD", "prod-secret", vmp_server::merchant::MerchantStatus::Active).await;
    (app.key, app.secret) = ("QRPROD".into(), "prod-secret".into());
    let mut fields = sale("service.alipay.qrcode.PreOrder", "Alipay", "ALIPAYHK", "PROD1");
    fields.push(("notify_url", "http://127.0.0.1/n"));
    let a = app.jsapi(&fields).await;
    assert_eq!(
        (a.get("return_status"), a.get("return_char")),
        (Some("-13"), Some("参数错误:请检查请求接口参数: notify_url"))
    );
    fields.pop();
    fields.push(("notify_url", "/eft/payment/notify"));
    assert_eq!(app.jsapi(&fields).await.get("return_status"), Some("00"));
}

#[tokio::test]
async fn an_identical_resubmission_gets_the_first_answer_and_another_sale_with_its_number_03() {
    let app = spawn_app().await;
    let fields = sale("service.atome.v1.qrcode.PreOrder", "ATOME", "ATOME", "AGAIN1");
    let first = app.jsapi(&fields).await;
    let again = app.jsapi(&fields).await;
    assert_eq!(again.get("return_status"), Some("00"), "{}", again.to_json());
    for k in ["eftpay_trade_no", "qr_code", "out_trade_no"] {
        assert_eq!(again.get(k), first.get(k), "{k}");
    }
    let mut other = fields.clone();
    other[1] = ("transaction_amount", "99.00");
    assert_eq!(app.jsapi(&other).await.get("return_status"), Some("03"));
    // A web sale may not take its number either.
    let mut web = app.seed_request("AGAIN1");
    app.sign(&mut web);
    assert_eq!(app.post(&web).await.get("return_status"), Some("03"));
    assert_eq!(app.order_count().await, 1);
}
