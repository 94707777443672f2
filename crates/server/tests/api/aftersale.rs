//! Query, refund, refund status and close over HTTP.

use std::time::Duration;

use vmp_protocol::Params;
use vmp_protocol::notify::{TradeStatus, TradeType, verify_notification};
use vmp_server::merchant::MerchantStatus;

use crate::helpers::{TestApp, assert_signed, spawn_app, vmp_now};
use crate::receiver::{Behaviour, Receiver};

const QUERY: &str = "/VMP/Servlet/QRcodeTradeQuery.do";

impl TestApp {
    /// Places an order (service/wallet as given) and pays it in the sandbox.
    pub async fn paid_order(
        &self,
        out: &str,
        amount: &str,
        service: &str,
        pay_type: &str,
        wallet: &str,
        scene: &str,
    ) -> String {
        let mut p = self.seed_request(out);
        p.set("transaction_amount", amount)
            .set("service", service)
            .set("payType", pay_type)
            .set("wallet", wallet)
            .set("pay_scene", scene);
        self.sign(&mut p);
        let a = self.post(&p).await;
        assert_eq!(a.get("return_status"), Some("00"), "{}", a.to_json());
        let eft = a.get("eft_trade_no").unwrap().to_owned();
        let resp = self
            .client
            .post(format!("{}/sandbox/orders/{eft}/pay", self.base))
            .json(&serde_json::json!({"outcome":"success"}))
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(v["trade_status"], "TRADE_SUCCESS");
        eft
    }

    pub async fn paid_alipay(&self, out: &str, amount: &str) -> String {
        self.paid_order(out, amount, "service.alipay.wap.PreOrder", "Alipay", "ALIPAYHK", "WAP").await
    }
}

pub fn refund_fields<'a>(out: &'a str, out_refund_no: &'a str, amount: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("service", "service.alipay.wap.Refund"),
        ("out_trade_no", out),
        ("out_refund_no", out_refund_no),
        ("return_amount", amount),
        ("payType", "Alipay"),
        ("buyerType", "others"),
        ("wallet", "ALIPAYHK"),
        ("reason", "customer returned the goods"),
    ]
}

#[tokio::test]
async fn place_pay_query_partial_refund_query_refund_full_refund_and_query_closed() {
    let app = spawn_app().await;
    let eft = app.paid_alipay("LIFE1", "1.00").await;

    let q = app.call(QUERY, &[("querytype", "OUT_TRADE"), ("out_trade_no", "LIFE1")]).await;
    assert_eq!(q.get("return_status"), Some("00"), "{}", q.to_json());
    assert_signed(&q, &app.secret);
    assert_eq!(q.get("trade_status"), Some("TRADE_SUCCESS"));
    assert_eq!(q.get("trade_type"), Some("SALE"));
    assert_eq!(q.get("transaction_amount"), Some("1.00"));
    assert_eq!(q.get("currency"), Some("HKD"));
    assert_eq!(q.get("eft_trade_no"), Some(eft.as_str()));
    assert!(q.get("trade_time").unwrap().len() == 19, "yyyy-MM-dd HH:mm:ss");

    let r1 = app.jsapi(&refund_fields("LIFE1", "R1", "0.30")).await;
    assert_eq!(r1.get("return_status"), Some("00"), "{}", r1.to_json());
    assert_signed(&r1, &app.secret);
    assert_eq!(r1.get("trade_status"), Some("TRADE_REFUND"));
    assert_eq!(r1.get("out_refund_no"), Some("R1"));
    assert_eq!(r1.get("return_amount"), Some("0.30"));
    assert_eq!(r1.get("total_fee"), Some("1.00"));

    let qr = app.call(QUERY, &[("querytype", "OUT_TRADE"), ("eft_trade_no", &eft), ("refund_no", "R1")]).await;
    assert_eq!(qr.get("trade_type"), Some("REFUND"), "{}", qr.to_json());
    assert_eq!(qr.get("trade_status"), Some("TRADE_REFUND"));
    assert_eq!(qr.get("transaction_amount"), Some("0.30"));
    assert_eq!(qr.get("original_amount"), Some("1.00"));
    assert_eq!(qr.get("refund_no"), Some("R1"));

    let rs = app
        .jsapi(&[
            ("service", "service.unified.RefundStatusQuery"),
            ("querytype", "OUT_TRADE"),
            ("out_trade_no", "LIFE1"),
            ("refund_no", "R1"),
        ])
        .await;
    assert_eq!(rs.get("refund_status"), Some("SUCCESS"), "{}", rs.to_json());

    let q =
        app.jsapi(&[("service", "service.common.Query"), ("querytype", "OUT_TRADE"), ("out_trade_no", "LIFE1")]).await;
    assert_eq!(q.get("trade_status"), Some("TRADE_REFUND"), "{}", q.to_json());

    let r2 = app.jsapi(&refund_fields("LIFE1", "R2", "0.70")).await;
    assert_eq!(r2.get("trade_status"), Some("TRADE_CLOSED"), "{}", r2.to_json());

    let q = app.call(QUERY, &[("querytype", "OUT_TRADE"), ("out_trade_no", "LIFE1")]).await;
    assert_eq!(q.get("trade_status"), Some("TRADE_CLOSED"), "{}", q.to_json());
    assert_eq!(app.state.store().refunds_total(&eft).await.unwrap(), 100);
}

#[tokio::test]
async fn twenty_concurrent_refunds_never_exceed_the_order_amount() {
    let app = std::sync::Arc::new(spawn_app().await);
    let eft = app.paid_alipay("CONC1", "10.00").await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let app = std::sync::Arc::clone(&app);
        tasks.push(tokio::spawn(async move {
            let no = format!("CR{i}");
            app.jsapi(&refund_fields("CONC1", &no, "0.70")).await
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap().get("return_status").unwrap().to_owned());
    }
    let ok = codes.iter().filter(|c| *c == "00").count();
    let over = codes.iter().filter(|c| *c == "18").count();
    assert_eq!((ok, over), (14, 6), "{codes:?}");
    assert_eq!(app.state.store().refunds_total(&eft).await.unwrap(), 14 * 70);
    let order = app.state.store().order_by_eft_trade_no(&eft).await.unwrap().unwrap();
    assert_eq!(order.refunded_minor, 14 * 70);
    assert_eq!(order.state, "TRADE_REFUND");
}

/// RSM, eftPay's own support tool, refunds exactly like this: `total_fee`
/// is the refund amount, `buyerType` is `other`, `wallet` is `ALIPAYHK`
/// whatever the order's Alipay wallet was, and `lang`/`pay_scene` ride
/// along. Live eftPay answered `00` to refunds of 0.01, 0.01 and 0.08 of
/// one 0.10 order sent that way.
#[tokio::test]
async fn refunds_as_real_clients_send_them_are_accepted_and_only_the_running_total_counts() {
    let app = spawn_app().await;
    let eft = app.paid_order("RSM1", "0.10", "service.alipay.web.PreOrder", "Alipay", "ALIPAYCN", "WEB").await;
    for (no, amount, status) in
        [("R1", "0.01", "TRADE_REFUND"), ("R2", "0.01", "TRADE_REFUND"), ("R3", "0.08", "TRADE_CLOSED")]
    {
        let a = app
            .jsapi(&[
                ("service", "service.alipay.web.Refund"),
                ("eft_trade_no", &eft),
                ("out_trade_no", "RSM1"),
                ("out_refund_no", no),
                ("return_amount", amount),
                ("total_fee", amount),
                ("payType", "Alipay"),
                ("wallet", "ALIPAYHK"),
                ("buyerType", "other"),
                ("pay_scene", "WEB"),
                ("lang", "en"),
                ("reason", "Refund"),
            ])
            .await;
        assert_eq!(a.get("return_status"), Some("00"), "{no}: {}", a.to_json());
        assert_eq!(a.get("trade_status"), Some(status), "{no}");
        assert_eq!(a.get("total_fee"), Some(amount), "{no}: total_fee is echoed as sent");
        assert_signed(&a, &app.secret);
    }
    // A fourth refund would exceed the order: 18, whatever total_fee says.
    let over = app
        .jsapi(&[
            ("service", "service.alipay.web.Refund"),
            ("eft_trade_no", &eft),
            ("out_refund_no", "R4"),
            ("return_amount", "0.01"),
            ("total_fee", "0.10"),
        ])
        .await;
    assert_eq!(over.get("return_status"), Some("15"), "fully refunded orders are closed: {}", over.to_json());
    assert_eq!(app.state.store().refunds_total(&eft).await.unwrap(), 10);
}

/// Without `wallet` the order's is used; with `total_fee` = the order
/// amount (Tornado's jsapi client, CardTrain) the answer echoes it too.
#[tokio::test]
async fn a_refund_without_wallet_and_with_the_order_amount_as_total_fee_is_accepted() {
    let app = spawn_app().await;
    app.paid_order("NOW1", "5.40", "service.wechat.web.PreOrder", "WeChat", "WECHATCN", "WEB").await;
    let a = app
        .jsapi(&[
            ("service", "service.wechat.web.Refund"),
            ("out_trade_no", "NOW1"),
            ("out_refund_no", "NOW1-R"),
            ("return_amount", "1"),
            ("total_fee", "5.40"),
        ])
        .await;
    assert_eq!(a.get("return_status"), Some("00"), "{}", a.to_json());
    assert_eq!((a.get("total_fee"), a.get("wallet")), (Some("5.40"), Some("WECHATCN")));
    // Sent with the other WeChat wallet: same family, accepted.
    let b = app
        .jsapi(&[
            ("service", "service.wechat.web.Refund"),
            ("out_trade_no", "NOW1"),
            ("out_refund_no", "NOW1-R2"),
            ("return_amount", "1"),
            ("wallet", "WECHATHK"),
        ])
        .await;
    assert_eq!(b.get("return_status"), Some("00"), "{}", b.to_json());
}

#[tokio::test]
async fn every_refusal_has_its_code_and_changes_nothing() {
    let app = spawn_app().await;
    let eft = app.paid_alipay("ERR1", "1.00").await;
    let mut pending = app.seed_request("PEND1");
    pending.set("transaction_amount", "1.00");
    app.sign(&mut pending);
    assert_eq!(app.post(&pending).await.get("return_status"), Some("00"));
    app.add_merchant("OTHER2", "other-secret", MerchantStatus::Active).await;
    assert_eq!(app.jsapi(&refund_fields("ERR1", "OK1", "0.10")).await.get("return_status"), Some("00"));

    let with = |changes: &[(&'static str, &'static str)]| {
        let mut f = refund_fields("ERR1", "E1", "0.20");
        for (k, v) in changes {
            f.retain(|(fk, _)| fk != k);
            if !v.is_empty() {
                f.push((k, v));
            }
        }
        f
    };
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "query unknown order",
            vec![("querytype", "OUT_TRADE"), ("out_trade_no", "NOPE"), ("service", "service.common.Query")],
            "05",
        ),
        (
            "query unknown refund",
            vec![
                ("querytype", "OUT_TRADE"),
                ("out_trade_no", "ERR1"),
                ("refund_no", "NOPE"),
                ("service", "service.common.Query"),
            ],
            "05",
        ),
        ("query without querytype", vec![("out_trade_no", "ERR1"), ("service", "service.common.Query")], "-13"),
        ("query without order reference", vec![("querytype", "OUT_TRADE"), ("service", "service.common.Query")], "-13"),
        (
            "refund status unknown refund",
            vec![
                ("service", "service.unified.RefundStatusQuery"),
                ("querytype", "OUT_TRADE"),
                ("out_trade_no", "ERR1"),
                ("refund_no", "NOPE"),
            ],
            "05",
        ),
        ("refund of an unknown order", with(&[("out_trade_no", "NOPE")]), "31"),
        ("refund of a pending order", with(&[("out_trade_no", "PEND1")]), "16"),
        ("refund over the amount", with(&[("return_amount", "0.91")]), "18"),
        ("refund amount zero", with(&[("return_amount", "0")]), "09"),
        ("refund amount malformed", with(&[("return_amount", "1.234")]), "-13"),
        ("refund without out_refund_no", with(&[("out_refund_no", "")]), "-13"),
        ("refund reusing out_refund_no differently", with(&[("out_refund_no", "OK1")]), "14"),
        ("refund with a wallet of another family", with(&[("wallet", "WECHATHK")]), "-16"),
        ("refund with an unknown wallet", with(&[("wallet", "ALIPAY")]), "-16"),
        (
            "refund service of another wallet",
            with(&[("service", "service.wechat.web.Refund"), ("wallet", "WECHATHK")]),
            "-16",
        ),
        ("refund with another payType", with(&[("payType", "WeChat")]), "20"),
        ("refund with a malformed total_fee", with(&[("total_fee", "2.001")]), "-13"),
        ("close a paid order", vec![("service", "service.alipay.wap.Close"), ("out_trade_no", "ERR1")], "54"),
        ("close an unknown order", vec![("service", "service.alipay.wap.Close"), ("out_trade_no", "NOPE")], "05"),
        (
            "close with the wrong service",
            vec![("service", "service.payme.web.Close"), ("out_trade_no", "PEND1")],
            "-16",
        ),
        ("unknown service", vec![("service", "service.alipay.wap.Refundz"), ("out_trade_no", "ERR1")], "-13"),
    ];
    for (what, fields, code) in cases {
        let a = app.jsapi(&fields).await;
        assert_eq!(a.get("return_status"), Some(code), "{what}: {}", a.to_json());
        assert!(!a.get("return_char").unwrap_or_default().is_empty(), "{what}");
        if !code.starts_with('-') {
            assert_signed(&a, &app.secret);
        }
    }
    // Another merchant cannot see or refund this merchant's order.
    let mut p = Params::new()
        .with("user_confirm_key", "OTHER2")
        .with("querytype", "OUT_TRADE")
        .with("eft_trade_no", &eft)
        .with("time", vmp_now());
    vmp_protocol::sign::sign_in_place("other-secret", &mut p);
    let a = Params::from_json(
        &app.client.post(format!("{}{QUERY}", app.base)).body(p.to_json()).send().await.unwrap().bytes().await.unwrap(),
    )
    .unwrap();
    assert_eq!(a.get("return_status"), Some("05"));

    // Nothing changed: only the one good refund exists, the pending order is still pending.
    assert_eq!(app.state.store().refunds_total(&eft).await.unwrap(), 10);
    assert_eq!(app.state.store().order_by_out_trade_no(&app.key, "PEND1").await.unwrap().unwrap().state, "PENDING");
    // An identical refund re-submission replays.
    let again = app.jsapi(&refund_fields("ERR1", "OK1", "0.10")).await;
    assert_eq!(again.get("return_status"), Some("00"), "{}", again.to_json());
    assert_eq!(app.state.store().refunds_total(&eft).await.unwrap(), 10);
}

#[tokio::test]
async fn a_fully_refunded_order_refuses_more_refunds_with_15() {
    let app = spawn_app().await;
    app.paid_alipay("FULL1", "2.00").await;
    assert_eq!(app.jsapi(&refund_fields("FULL1", "F1", "2.00")).await.get("trade_status"), Some("TRADE_CLOSED"));
    assert_eq!(app.jsapi(&refund_fields("FULL1", "F2", "0.01")).await.get("return_status"), Some("15"));
}

#[tokio::test]
async fn closing_an_unpaid_order_stops_any_later_payment() {
    let app = spawn_app().await;
    let a = app.post(&app.seed_request("CLOSE1")).await;
    let eft = a.get("eft_trade_no").unwrap();
    let c =
        app.jsapi(&[("service", "service.alipay.wap.Close"), ("out_trade_no", "CLOSE1"), ("wallet", "ALIPAYHK")]).await;
    assert_eq!(c.get("return_status"), Some("00"), "{}", c.to_json());
    assert_eq!(c.get("trade_status"), Some("TRADE_CLOSED"));
    assert_signed(&c, &app.secret);
    let v: serde_json::Value = app
        .client
        .post(format!("{}/sandbox/orders/{eft}/pay", app.base))
        .json(&serde_json::json!({"outcome":"success"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["trade_status"], "TRADE_CLOSED");
    let again = app.jsapi(&[("service", "service.common.Close"), ("eft_trade_no", eft)]).await;
    assert_eq!(again.get("return_status"), Some("00"), "closing twice is idempotent");
    let q = app.call(QUERY, &[("querytype", "OUT_TRADE"), ("out_trade_no", "CLOSE1")]).await;
    assert_eq!(q.get("trade_status"), Some("TRADE_CLOSED"));
}

#[tokio::test]
async fn queries_report_pending_orders_as_processing_and_expired_ones_as_closed() {
    // A sweeper that never runs by itself: the test steps it.
    let app = crate::helpers::spawn_app_with(|s| s.sweeper.interval = Duration::from_secs(3600)).await;
    let mut p = app.seed_request("QEXP1");
    p.set("active_time", "60");
    app.sign(&mut p);
    app.post(&p).await;
    let q = app.call(QUERY, &[("querytype", "OUT_TRADE"), ("out_trade_no", "QEXP1")]).await;
    assert_eq!(q.get("trade_status"), Some("TRADE_PROCESSING"));
    app.state.clock().advance(61).unwrap();
    let q = app.call(QUERY, &[("querytype", "OUT_TRADE"), ("out_trade_no", "QEXP1")]).await;
    assert_eq!(q.get("trade_status"), Some("TRADE_CLOSED"), "{}", q.to_json());
    // The query only reports it; the sweeper closes it durably.
    let stored = || async { app.state.store().order_by_out_trade_no(&app.key, "QEXP1").await.unwrap().unwrap().state };
    assert_eq!(stored().await, "PENDING", "a query writes nothing");
    app.sweep().await;
    assert_eq!(stored().await, "TRADE_CLOSED");
    let q = app.call(QUERY, &[("querytype", "OUT_TRADE"), ("out_trade_no", "QEXP1")]).await;
    assert_eq!(q.get("trade_status"), Some("TRADE_CLOSED"), "{}", q.to_json());
}

#[tokio::test]
async fn apply_refund_answers_apply_success_then_completes_with_a_signed_notification() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    app.paid_order("WX1", "3.00", "service.wechat.web.MobileH5", "WeChat", "WECHATHK", "WEB").await;
    let r = app
        .jsapi(&[
            ("service", "service.wechat.web.ApplyRefund"),
            ("out_trade_no", "WX1"),
            ("out_refund_no", "AR1"),
            ("return_amount", "1.00"),
            ("wallet", "WECHATHK"),
            ("notify_url", &receiver.url),
        ])
        .await;
    assert_eq!(r.get("return_status"), Some("00"), "{}", r.to_json());
    assert_eq!(r.get("trade_status"), Some("APPLY_SUCCESS"));
    assert_eq!(refund_status_of(&app, "WX1", "AR1").await.as_deref(), Some("PROCESSING"));
    app.client
        .post(format!("{}/sandbox/clock/advance", app.base))
        .json(&serde_json::json!({"seconds": 5}))
        .send()
        .await
        .unwrap();
    app.sweep().await;
    assert_eq!(refund_status_of(&app, "WX1", "AR1").await.as_deref(), Some("SUCCESS"));
    receiver.wait_for_calls(1).await;
    let n = verify_notification(&receiver.bodies().await[0], &app.secret, app.state.clock().now()).unwrap();
    assert_eq!(n.trade_type, TradeType::Refund);
    assert_eq!(n.trade_status, TradeStatus::TradeRefund);
    assert_eq!(n.total_fee, "1.00");
    assert_eq!(crate::receiver::params(&receiver.bodies().await[0]).get("out_refund_no"), Some("AR1"));
}

#[tokio::test]
async fn every_wallet_can_be_refunded_by_its_service_and_by_service_common_refund() {
    let app = spawn_app().await;
    let mut n = 0;
    for s in vmp_protocol::Service::web_sales().map(vmp_protocol::Service::spec) {
        for wallet in s.wallets {
            n += 1;
            let out = format!("W{n}");
            let pay_type = s.pay_type().map_or("", |p| p.as_str());
            app.paid_order(&out, "2.00", s.label(), pay_type, wallet.as_str(), s.pay_scenes[0].as_str()).await;
            let own = vmp_protocol::Service::refund_for_wallet(*wallet, false).unwrap();
            let a = app
                .jsapi(&[
                    ("service", own.label()),
                    ("out_trade_no", &out),
                    ("out_refund_no", &format!("{out}-a")),
                    ("return_amount", "1.00"),
                    ("wallet", wallet.as_str()),
                ])
                .await;
            assert_eq!(a.get("return_status"), Some("00"), "{own} {wallet}: {}", a.to_json());
            let b = app
                .jsapi(&[
                    ("service", "service.common.Refund"),
                    ("out_trade_no", &out),
                    ("out_refund_no", &format!("{out}-b")),
                    ("return_amount", "1.00"),
                ])
                .await;
            assert_eq!(b.get("trade_status"), Some("TRADE_CLOSED"), "{wallet}: {}", b.to_json());
        }
    }
}

async fn refund_status_of(app: &TestApp, out: &str, refund_no: &str) -> Option<String> {
    app.jsapi(&[
        ("service", "service.unified.RefundStatusQuery"),
        ("querytype", "OUT_TRADE"),
        ("out_trade_no", out),
        ("refund_no", refund_no),
    ])
    .await
    .get("refund_status")
    .map(str::to_owned)
}
