//! The app scene and the "new interface" over HTTP (docs/protocol.md "The
//! app scene", "The new interface"): `AppTradePay.do` and
//! `CommonAppTradePay.do` answered with the SDK's payPackage, paid on the
//! sandbox's app page, notified, queried, refunded (apply-refunds for
//! WeChat Pay only), the wallets' `active_time` defaults, bad input, and the
//! alipayplus aliases answering as their normal counterparts.

use vmp_protocol::Params;
use vmp_protocol::notify::verify_notification;

use crate::helpers::{ENDPOINT, TestApp, assert_signed, spawn_app, spawn_app_with};
use crate::jsapi::{COMMON_QUERY, QUERY, refund_status, wallet_action, wallet_url};
use crate::lifecycle::{advance, sandbox_pay};
use crate::receiver::{Behaviour, Receiver};

const APP_PAY: &str = "/VMP/Servlet/AppTradePay.do";
const COMMON_APP_PAY: &str = "/VMP/Servlet/CommonAppTradePay.do";
const APP_PAGE: &str = "/sandbox/app/pay";

/// RSM's app sale, as it sends it.
fn rsm(out: &str, pay_type: &str, wallet: &str) -> Vec<(&'static str, String)> {
    [
        ("body", "Testing"),
        ("buyerType", "android"),
        ("fee_type", "HKD"),
        ("out_trade_no", out),
        ("payType", pay_type),
        ("pay_scene", "APP"),
        ("subject", "Testing"),
        ("tid", "123456"),
        ("transaction_amount", "0.10"),
        ("wallet", wallet),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

fn set(mut fields: Vec<(&'static str, String)>, name: &'static str, value: &str) -> Vec<(&'static str, String)> {
    fields.retain(|(k, _)| *k != name);
    fields.push((name, value.to_owned()));
    fields
}

impl TestApp {
    async fn app_sale(&self, path: &str, fields: &[(&str, String)]) -> Params {
        let a = self.call_owned(path, fields).await;
        assert_eq!(a.get("return_status"), Some("00"), "{}", a.to_json());
        a
    }
}

#[tokio::test]
async fn app_sales_answer_the_sdks_package_pay_on_the_app_page_and_notify_the_web_set_plus_rate() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::FailThenAck(0), &app.secret).await;
    let sales = [
        (APP_PAY, "WeChat", "WECHATHK", "prepayid", "errCode 0"),
        (APP_PAY, "Alipay", "ALIPAYCN", "orderStr", "9000"),
        (COMMON_APP_PAY, "WeChat", "WECHATCN", "prepayid", "errCode 0"),
        (COMMON_APP_PAY, "Alipay", "ALIPAYHK", "orderStr", "9000"),
    ];
    for (i, (path, pay_type, wallet, key, result)) in sales.into_iter().enumerate() {
        let out = format!("APP{i}");
        let a = app.app_sale(path, &set(rsm(&out, pay_type, wallet), "notify_url", &receiver.url)).await;
        assert_signed(&a, &app.secret);
        let keys: Vec<&str> = a.keys().collect();
        assert_eq!(
            keys,
            [
                "return_status",
                "return_char",
                "eft_trade_no",
                "out_trade_no",
                "payType",
                "wallet",
                "transaction_amount",
                "user_confirm_key",
                "payPackage",
                "time",
                "sign"
            ],
            "{path} {wallet}"
        );
        let package = a.object("payPackage").unwrap();
        assert!(package.contains(key), "{path} {wallet}: {}", package.to_json());
        let eft = a.get("eft_trade_no").unwrap().to_owned();

        // The app page stands in for the wallet's SDK.
        let page = app.client.get(wallet_url(&app, APP_PAGE, &package)).send().await.unwrap();
        assert_eq!(page.status().as_u16(), 200);
        assert!(page.text().await.unwrap().contains("HKD 0.10"));
        let (status, html) = wallet_action(&app, APP_PAGE, &package, "success").await;
        assert_eq!(status, 200);
        assert!(html.contains(result) && html.contains("TRADE_SUCCESS"), "{wallet}: {html}");

        // The web set plus rate, which the SDK's notification check verifies.
        receiver.wait_for_calls(i + 1).await;
        let body = receiver.bodies().await[i].clone();
        let n = verify_notification(&body, &app.secret, time::OffsetDateTime::now_utc()).expect("verifies");
        assert!(n.is_paid_sale());
        assert_eq!((n.eft_trade_no.as_str(), n.wallet.as_str(), n.total_fee.as_str()), (eft.as_str(), wallet, "0.10"));
        assert_eq!(Params::from_json(&body).unwrap().get("rate"), Some("1"));

        for query in [QUERY, COMMON_QUERY] {
            let q = app.call(query, &[("querytype", "OUT_TRADE"), ("out_trade_no", &out)]).await;
            assert_eq!(q.get("trade_status"), Some("TRADE_SUCCESS"), "{query}: {}", q.to_json());
            assert_signed(&q, &app.secret);
        }
        // Refunds without eft_trade_no, payType or wallet, as RSM sends them.
        for (refund_path, no, amount, status) in [
            ("/VMP/Servlet/AppTradeRefund.do", "R1", "0.04", "TRADE_REFUND"),
            ("/VMP/Servlet/CommonAppTradeRefund.do", "R2", "0.06", "TRADE_CLOSED"),
        ] {
            let no = format!("{out}-{no}");
            let r = app
                .call(
                    refund_path,
                    &[
                        ("buyerType", "other"),
                        ("out_refund_no", &no),
                        ("out_trade_no", &out),
                        ("reason", "Refund"),
                        ("return_amount", amount),
                    ],
                )
                .await;
            assert_eq!(r.get("trade_status"), Some(status), "{refund_path}: {}", r.to_json());
            assert_signed(&r, &app.secret);
        }
    }
    // The app page refuses a jsapi package, and a tampered one.
    let jsapi = app
        .call(
            ENDPOINT,
            &[
                ("service", "service.wechat.jsapi.PreOrder"),
                ("paytype", "WeChat"),
                ("payment_type", "WECHATHK"),
                ("scene_type", "H5"),
                ("transaction_amount", "1"),
                ("out_trade_no", "APP-JS"),
            ],
        )
        .await;
    let jsapi = jsapi.object("payPackage").unwrap();
    assert_eq!(app.client.get(wallet_url(&app, APP_PAGE, &jsapi)).send().await.unwrap().status().as_u16(), 400);
    let mut app_package =
        app.app_sale(APP_PAY, &rsm("APP-T", "WeChat", "WECHATHK")).await.object("payPackage").unwrap();
    app_package.set("partnerid", "1900000109");
    let (status, html) = wallet_action(&app, APP_PAGE, &app_package, "success").await;
    assert!(status == 400 && html.contains("signature does not verify"), "{html}");
}

#[tokio::test]
async fn app_apply_refunds_are_wechat_pays_and_a_plain_refund_for_alipay() {
    let app = spawn_app().await;
    for (out, pay_type, wallet, answered, at_once) in [
        ("APR1", "WeChat", "WECHATHK", "APPLY_SUCCESS", "PROCESSING"),
        ("APR2", "Alipay", "ALIPAYHK", "TRADE_REFUND", "SUCCESS"),
    ] {
        let eft = app.app_sale(APP_PAY, &rsm(out, pay_type, wallet)).await.get("eft_trade_no").unwrap().to_owned();
        sandbox_pay(&app, &eft, "success").await;
        let r = app
            .call(
                "/VMP/Servlet/AppTradeApplyRefund.do",
                &[("out_trade_no", out), ("out_refund_no", out), ("return_amount", "0.05")],
            )
            .await;
        assert_eq!(r.get("trade_status"), Some(answered), "{wallet}: {}", r.to_json());
        assert_eq!(refund_status(&app, out, out).await, at_once, "{wallet}");
    }
    advance(&app, 5).await;
    app.sweep().await;
    assert_eq!(refund_status(&app, "APR1", "APR1").await, "SUCCESS");
}

#[tokio::test]
async fn an_app_order_lives_900_seconds_on_wechat_pay_and_1800_on_alipay_unless_told() {
    let app = spawn_app().await;
    app.app_sale(APP_PAY, &rsm("AT1", "WeChat", "WECHATHK")).await;
    app.app_sale(APP_PAY, &rsm("AT2", "Alipay", "ALIPAYHK")).await;
    app.app_sale(APP_PAY, &set(rsm("AT3", "Alipay", "ALIPAYHK"), "active_time", "600")).await;
    let state = |out: &'static str| {
        let app = &app;
        async move {
            let q = app.call(QUERY, &[("querytype", "OUT_TRADE"), ("out_trade_no", out)]).await;
            q.get("trade_status").unwrap_or_default().to_owned()
        }
    };
    advance(&app, 601).await;
    assert_eq!((state("AT1").await, state("AT3").await), ("TRADE_PROCESSING".into(), "TRADE_CLOSED".into()));
    advance(&app, 300).await;
    assert_eq!((state("AT1").await, state("AT2").await), ("TRADE_CLOSED".into(), "TRADE_PROCESSING".into()));
    // 1800 seconds in all (a request's `time` stays within the gateway's 30 minutes).
    advance(&app, 899).await;
    assert_eq!(state("AT2").await, "TRADE_CLOSED");
}

#[tokio::test]
async fn every_bad_app_field_gets_a_code_naming_it_and_nothing_is_stored() {
    let app = spawn_app().await;
    let long_subject = "s".repeat(257);
    let cases: Vec<(&'static str, Option<&str>, &str, &str)> = vec![
        ("payType", None, "-13", "payType"),
        ("payType", Some("UnionPay"), "20", "Alipay/WeChat"),
        ("wallet", None, "-13", "wallet"),
        ("wallet", Some("ALIPAYHK"), "-16", "WECHATCN/WECHATHK"),
        ("wallet", Some("UNIONPAY"), "-16", "ALIPAYCN"),
        ("pay_scene", Some("WEB"), "02", "APP"),
        ("active_time", Some("30"), "-13", "active_time"),
        ("transaction_amount", Some("0.101"), "-13", "transaction_amount"),
        ("transaction_amount", Some("0"), "09", "Amount"),
        ("out_trade_no", None, "-13", "out_trade_no"),
        ("subject", Some(&long_subject), "-13", "subject"),
        ("buyerType", Some("a\u{7}b"), "-13", "buyerType"),
        ("fee_type", Some("MOP"), "-24", "MOP"),
        ("notify_url", Some("http://"), "-13", "notify_url"),
    ];
    for (field, value, code, named) in cases {
        let mut fields = rsm("BADAPP", "WeChat", "WECHATHK");
        fields.retain(|(k, _)| *k != field);
        if let Some(v) = value {
            fields.push((field, v.to_owned()));
        }
        let a = app.call_owned(APP_PAY, &fields).await;
        assert_eq!(a.get("return_status"), Some(code), "{field}={value:?}: {}", a.to_json());
        assert!(a.get("return_char").unwrap_or_default().contains(named), "{field}: {}", a.to_json());
    }
    let alipay = set(rsm("BADAPP2", "Alipay", "ALIPAYCN"), "active_time", "90");
    let a = app.call_owned(COMMON_APP_PAY, &alipay).await;
    assert_eq!(a.get("return_char"), Some("参数错误:请检查请求接口参数: active_time"), "Alipay: multiples of 60");
    assert_eq!(app.order_count().await, 0);
}

#[tokio::test]
async fn the_alipayplus_web_aliases_answer_as_their_normal_counterparts() {
    let app = spawn_app().await;
    let mut answers = Vec::new();
    for (out, sale, refund) in [
        ("PLUS1", "service.alipay.web.PreOrder", "service.alipay.web.Refund"),
        ("PLUS2", "service.alipayplus.web.PreOrder", "service.alipayplus.web.Refund"),
    ] {
        let mut p = app.seed_request(out);
        p.set("service", sale).set("pay_scene", "WEB").set("father_user_key", "PARENT0001");
        app.sign(&mut p);
        let placed = app.post(&p).await;
        assert_eq!(placed.get("return_status"), Some("00"), "{}", placed.to_json());
        // The same page: a desktop Alipay QR code.
        let page = app.client.get(placed.get("pay_apptrade").unwrap()).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(r#"data-page-kind="alipay-qr""#), "{sale}: {page}");
        sandbox_pay(&app, placed.get("eft_trade_no").unwrap(), "success").await;
        let refunded = app
            .call(
                ENDPOINT,
                &[
                    ("service", refund),
                    ("out_trade_no", out),
                    ("out_refund_no", &format!("{out}-R")),
                    ("return_amount", "0.01"),
                    ("father_user_key", "PARENT0001"),
                ],
            )
            .await;
        assert_eq!(refunded.get("return_status"), Some("00"), "{}", refunded.to_json());
        answers.push((placed, refunded));
    }
    let keys = |p: &Params| p.keys().map(str::to_owned).collect::<Vec<_>>();
    let (normal, plus) = (&answers[0], &answers[1]);
    assert_eq!(keys(&normal.0), keys(&plus.0), "same sale answer");
    assert_eq!(keys(&normal.1), keys(&plus.1), "same refund answer");
    assert_eq!(normal.1.get("trade_status"), plus.1.get("trade_status"));
}

#[tokio::test]
async fn the_wallet_pages_are_sandbox_only() {
    let app = spawn_app_with(|s| s.mode = vmp_server::Mode::Production).await;
    for path in [APP_PAGE, "/sandbox/jsapi/bridge"] {
        let resp = app.client.get(format!("{}{path}?tradeNO=1", app.base)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{path}");
        let resp = app.client.post(format!("{}{path}", app.base)).form(&[("outcome", "success")]).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{path}");
    }
}
