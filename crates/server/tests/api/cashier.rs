//! The cashier scene over HTTP: `service.united.wap.PreOrder` placed with
//! no wallet, the buyer's choice on the hosted page (or through the sandbox
//! API), queries and notifications naming the wallet chosen, refunds
//! through `service.united.wap.Refund` and `service.common.Refund`
//! (docs/protocol.md "The cashier scene").

use time::OffsetDateTime;
use vmp_protocol::Service;
use vmp_protocol::notify::{TradeStatus, verify_notification};

use crate::helpers::{TestApp, assert_signed, spawn_app};
use crate::receiver::{Behaviour, Receiver};

const QUERY: &str = "/VMP/Servlet/QRcodeTradeQuery.do";

/// RSM's cashier sale.
fn cashier_sale(out: &str) -> Vec<(&str, &str)> {
    vec![
        ("service", "service.united.wap.PreOrder"),
        ("active_time", "1800"),
        ("body", "Testing"),
        ("buyerType", "android"),
        ("fee_type", "HKD"),
        ("lang", "en"),
        ("out_trade_no", out),
        ("pay_scene", "WAP"),
        ("subject", "Testing"),
        ("tid", "123456"),
        ("transaction_amount", "0.17"),
    ]
}

impl TestApp {
    async fn cashier_order(&self, out: &str, notify_url: Option<&str>) -> vmp_protocol::Params {
        let mut fields = cashier_sale(out);
        if let Some(url) = notify_url {
            fields.push(("notify_url", url));
        }
        let a = self.jsapi(&fields).await;
        assert_eq!(a.get("return_status"), Some("00"), "{}", a.to_json());
        a
    }

    async fn query_out(&self, out: &str) -> vmp_protocol::Params {
        self.call(QUERY, &[("querytype", "OUT_TRADE"), ("out_trade_no", out)]).await
    }
}

#[tokio::test]
async fn a_cashier_order_waits_for_the_buyers_wallet_then_pays_notifies_and_answers_with_it() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    let a = app.cashier_order("CASH1", Some(&receiver.url)).await;
    assert_signed(&a, &app.secret);
    assert_eq!(
        (a.get("transaction_amount"), a.get("buyerType"), a.get("tid")),
        (Some("0.17"), Some("android"), Some("123456"))
    );
    assert_eq!((a.get("payType"), a.get("wallet")), (None, None), "no wallet named yet");
    let eft = a.get("eft_trade_no").unwrap().to_owned();

    // The hosted cashier lists every wallet it offers.
    let link = a.get("pay_apptrade").unwrap();
    let html = app.client.get(link).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("data-page-kind=\"cashier\""), "{html}");
    for w in Service::cashier_wallets() {
        assert!(html.contains(&format!("id=\"wallet-{w}\"")), "{w} offered");
    }
    let q = app.query_out("CASH1").await;
    assert_eq!(q.get("trade_status"), Some("TRADE_PROCESSING"), "{}", q.to_json());
    assert!(!q.contains("wallet") && !q.contains("payType"));

    // Paying needs the buyer's wallet first.
    let (status, v) = app.sandbox_pay_with(&eft, serde_json::json!({"outcome": "success"})).await;
    assert_eq!(status, 409, "{v}");
    let (status, v) =
        app.sandbox_pay_with(&eft, serde_json::json!({"outcome": "success", "wallet": "ALIPAYBOTH"})).await;
    assert_eq!(status, 400, "not a cashier wallet: {v}");
    let (status, v) = app.sandbox_pay_with(&eft, serde_json::json!({"outcome": "success", "wallet": "WECHATHK"})).await;
    assert_eq!((status, v["trade_status"].as_str()), (200, Some("TRADE_SUCCESS")), "{v}");

    let q = app.query_out("CASH1").await;
    assert_eq!(
        (q.get("trade_status"), q.get("wallet"), q.get("payType")),
        (Some("TRADE_SUCCESS"), Some("WECHATHK"), Some("WeChat"))
    );
    receiver.wait_for_calls(1).await;
    let n = verify_notification(&receiver.bodies().await[0], &app.secret, OffsetDateTime::now_utc()).unwrap();
    assert_eq!(
        (n.trade_status, n.wallet.as_str(), n.out_trade_no.as_str()),
        (TradeStatus::TradeSuccess, "WECHATHK", "CASH1")
    );
    assert_eq!(n.tid.as_deref(), Some("123456"));
}

#[tokio::test]
async fn choosing_on_the_cashier_page_records_the_wallet_once_and_continues_on_its_page() {
    let app = spawn_app().await;
    let a = app.cashier_order("CASH2", None).await;
    let link = url::Url::parse(a.get("pay_apptrade").unwrap()).unwrap();
    let q: std::collections::HashMap<String, String> = link.query_pairs().into_owned().collect();
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let choose = |wallet: &'static str, sign: String| {
        let form = [
            ("userkey", q["userkey"].clone()),
            ("outTradeNo", q["outTradeNo"].clone()),
            ("sign", sign),
            ("wallet", wallet.into()),
        ];
        no_redirects.post(format!("{}/VMP/wap/cashier", app.base)).form(&form).send()
    };
    // A forged token changes nothing.
    assert_eq!(choose("MPGS", "0".repeat(64)).await.unwrap().status().as_u16(), 404);
    let resp = choose("MPGS", q["sign"].clone()).await.unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/VMP/wap/payPage?userkey="), "{location}");
    let page = app.client.get(format!("{}{location}", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("data-page-kind=\"mpgs\""), "the wallet's own page: {page}");
    // The first choice stays.
    assert_eq!(choose("ALIPAYHK", q["sign"].clone()).await.unwrap().status().as_u16(), 303);
    let order = app.state.store().order_by_out_trade_no(&app.key, "CASH2").await.unwrap().unwrap();
    assert_eq!((order.wallet_str(), order.pay_type_str()), ("MPGS", "Mpgs"));
    assert_eq!(choose("NOPE", q["sign"].clone()).await.unwrap().status().as_u16(), 400);

    // A qrcode or web order has no cashier.
    let web = app.post(&app.seed_request("WEB1")).await;
    let web_link = url::Url::parse(web.get("pay_apptrade").unwrap()).unwrap();
    let wq: std::collections::HashMap<String, String> = web_link.query_pairs().into_owned().collect();
    let form = [
        ("userkey", wq["userkey"].clone()),
        ("outTradeNo", wq["outTradeNo"].clone()),
        ("sign", wq["sign"].clone()),
        ("wallet", "MPGS".into()),
    ];
    let resp = no_redirects.post(format!("{}/VMP/wap/cashier", app.base)).form(&form).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

#[tokio::test]
async fn cashier_orders_refund_through_the_cashiers_refund_and_service_common_refund() {
    let app = spawn_app().await;
    let a = app.cashier_order("CASH3", None).await;
    let eft = a.get("eft_trade_no").unwrap().to_owned();
    let (status, _) = app.sandbox_pay_with(&eft, serde_json::json!({"outcome": "success", "wallet": "ALIPAYHK"})).await;
    assert_eq!(status, 200);
    // RSM's cashier refund: no payType, wallet or total_fee.
    let refund = |service: &'static str, no: &'static str, amount: &'static str| {
        vec![
            ("service", service),
            ("buyerType", "other"),
            ("out_refund_no", no),
            ("out_trade_no", "CASH3"),
            ("pay_scene", "WAP"),
            ("reason", "Refund"),
            ("return_amount", amount),
        ]
    };
    let r = app.jsapi(&refund("service.united.wap.Refund", "CR1", "0.10")).await;
    assert_eq!(r.get("return_status"), Some("00"), "{}", r.to_json());
    assert_signed(&r, &app.secret);
    assert_eq!(
        (r.get("trade_status"), r.get("wallet"), r.get("payType")),
        (Some("TRADE_REFUND"), Some("ALIPAYHK"), Some("Alipay"))
    );
    let r = app.jsapi(&refund("service.common.Refund", "CR2", "0.07")).await;
    assert_eq!(r.get("trade_status"), Some("TRADE_CLOSED"), "{}", r.to_json());
    assert_eq!(app.jsapi(&refund("service.united.wap.Refund", "CR3", "0.01")).await.get("return_status"), Some("15"));
    let mut by_eft = refund("service.united.wap.Refund", "CR4", "0.01");
    by_eft[3] = ("eft_trade_no", &eft);
    assert_eq!(app.jsapi(&by_eft).await.get("return_status"), Some("15"), "eft_trade_no names it too");
    // A wallet-specific refund takes it by the family chosen.
    let wechat = [
        ("service", "service.wechat.web.Refund"),
        ("out_trade_no", "CASH3"),
        ("out_refund_no", "CR5"),
        ("return_amount", "0.01"),
    ];
    assert_eq!(app.jsapi(&wechat).await.get("return_status"), Some("-16"));
}

#[tokio::test]
async fn an_unchosen_cashier_order_is_cancelled_closed_or_expires_and_its_notification_names_no_wallet() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    // The buyer cancels on the cashier page.
    let a = app.cashier_order("CASH4", None).await;
    let link = url::Url::parse(a.get("pay_apptrade").unwrap()).unwrap();
    let mut form: Vec<(String, String)> = link.query_pairs().into_owned().collect();
    form.push(("outcome".into(), "success".into()));
    let resp = app.client.post(format!("{}/VMP/wap/payPage", app.base)).form(&form).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400, "no paying before a wallet is chosen");
    form.last_mut().unwrap().1 = "cancel".into();
    let resp = app.client.post(format!("{}/VMP/wap/payPage", app.base)).form(&form).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(app.query_out("CASH4").await.get("trade_status"), Some("TRADE_CLOSED"));

    // The merchant closes one.
    app.cashier_order("CASH5", None).await;
    let c = app.jsapi(&[("service", "service.common.Close"), ("out_trade_no", "CASH5")]).await;
    assert_eq!(c.get("trade_status"), Some("TRADE_CLOSED"), "{}", c.to_json());

    // One expires: notified, with no wallet to name.
    let mut fields = cashier_sale("CASH6");
    fields.retain(|(k, _)| *k != "active_time");
    fields.extend([("active_time", "60"), ("notify_url", receiver.url.as_str())]);
    assert_eq!(app.jsapi(&fields).await.get("return_status"), Some("00"));
    let resp = app
        .client
        .post(format!("{}/sandbox/clock/advance", app.base))
        .json(&serde_json::json!({"seconds": 61}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    app.sweep().await;
    receiver.wait_for_calls(1).await;
    let body = &receiver.bodies().await[0];
    let n = verify_notification(body, &app.secret, app.state.clock().now()).expect("verifies without a wallet");
    assert_eq!((n.trade_status, n.wallet.as_str()), (TradeStatus::TradeClosed, ""));
}

#[tokio::test]
async fn every_bad_cashier_field_gets_its_code_and_nothing_is_stored() {
    let app = spawn_app().await;
    let cases: [(&str, Option<&str>, &str, &str); 9] = [
        ("transaction_amount", None, "-13", "transaction_amount"),
        ("transaction_amount", Some("0.00"), "09", ""),
        ("out_trade_no", Some("with space"), "-13", "out_trade_no"),
        ("buyerType", None, "-13", "buyerType"),
        ("subject", None, "-13", "subject"),
        ("pay_scene", Some("WEB"), "02", "WAP"),
        ("fee_type", Some("MOP"), "-24", "MOP"),
        ("return_url", Some("https://shop.example/r?order=1"), "-13", "return_url"),
        ("notify_url", Some("/relative/only/for/qrcode"), "-13", "notify_url"),
    ];
    for (field, value, code, named) in cases {
        let mut fields: Vec<(&str, &str)> = cashier_sale("BADC").into_iter().filter(|(k, _)| *k != field).collect();
        if let Some(v) = value {
            fields.push((field, v));
        }
        let a = app.jsapi(&fields).await;
        assert_eq!(a.get("return_status"), Some(code), "{field}: {}", a.to_json());
        assert!(a.get("return_char").unwrap().contains(named), "{field}: {}", a.to_json());
    }
    assert_eq!(app.order_count().await, 0);
}
