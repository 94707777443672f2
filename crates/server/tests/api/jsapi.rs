//! The jsapi scene over HTTP (docs/protocol.md "The jsapi scene"): every
//! sale service placed, paid, notified, queried, refunded and closed; the
//! notification only for paid sales; apply-refunds; bad input; and the
//! sandbox's bridge page, which refuses a tampered payPackage.

use vmp_protocol::Params;
use vmp_protocol::notify::TradeStatus;
use vmp_protocol::notify_jsapi::verify_jsapi_notification;

use crate::helpers::{ENDPOINT, TestApp, assert_signed, spawn_app};
use crate::lifecycle::{advance, sandbox_pay};
use crate::receiver::{Behaviour, Receiver};

pub(crate) const QUERY: &str = "/VMP/Servlet/QRcodeTradeQuery.do";
pub(crate) const COMMON_QUERY: &str = "/VMP/Servlet/CommonTradeQuery.do";

/// The fields §9.5's real handler reads from every notification.
const READ_UNCONDITIONALLY: [&str; 7] =
    ["out_trade_no", "total_fee", "transaction_id", "paytype", "eftpay_trade_no", "gmt_payment", "rate"];

/// One jsapi sale: (service, paytype, payment_type, scene_type, buyer field).
type Sale = (&'static str, &'static str, &'static str, &'static str, Option<&'static str>);

const SALES: [Sale; 5] = [
    ("service.wechat.jsapi.PreOrder", "WeChat", "WECHATHK", "APPLETS", Some("sub_openid")),
    ("service.wechat.jsapi.PreOrder", "WeChat", "WECHATCN", "PUBLIC", Some("openid")),
    ("service.wechat.jsapi.PreOrder", "WeChat", "WECHATHK", "H5", None),
    ("service.alipay.jsapi.PreOrder", "Alipay", "ALIPAYHK", "APPLETS", Some("sub_openid")),
    ("service.alipayplus.jsapi.PreOrder", "Alipay", "ALIPAYCN", "APPLETS", Some("sub_openid")),
];

/// The Tornado mini-program shop's sale (amount as Python float text).
fn tornado(out: &str) -> Vec<(&'static str, String)> {
    [
        ("service", "service.wechat.jsapi.PreOrder"),
        ("paytype", "WeChat"),
        ("sub_openid", "oAbC-miniprogram-openid"),
        ("transaction_amount", "12.5"),
        ("out_trade_no", out),
        ("payment_type", "WECHATHK"),
        ("scene_type", "APPLETS"),
        ("fee_type", "HKD"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

fn with<'a>(mut fields: Vec<(&'a str, String)>, changes: &[(&'a str, &str)]) -> Vec<(&'a str, String)> {
    for (k, v) in changes {
        fields.retain(|(f, _)| f != k);
        fields.push((k, (*v).to_owned()));
    }
    fields
}

fn without<'a>(mut fields: Vec<(&'a str, String)>, name: &str) -> Vec<(&'a str, String)> {
    fields.retain(|(f, _)| *f != name);
    fields
}

impl TestApp {
    /// Signs and posts owned fields to `path`.
    pub(crate) async fn call_owned(&self, path: &str, fields: &[(&str, String)]) -> Params {
        let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.call(path, &borrowed).await
    }

    /// Places a jsapi sale and checks it was accepted.
    pub(crate) async fn jsapi_sale(&self, fields: &[(&str, String)]) -> Params {
        let a = self.call_owned(ENDPOINT, fields).await;
        assert_eq!(a.get("return_status"), Some("00"), "{}", a.to_json());
        a
    }
}

/// `refund_status` of refund `no` of order `out` (RefundStatusQuery).
pub(crate) async fn refund_status(app: &TestApp, out: &str, no: &str) -> String {
    let fields = [
        ("service", "service.unified.RefundStatusQuery"),
        ("querytype", "OUT_TRADE"),
        ("out_trade_no", out),
        ("refund_no", no),
    ];
    app.call(ENDPOINT, &fields).await.get("refund_status").unwrap_or_default().to_owned()
}

/// The sandbox wallet page's URL for `package`, its keys as the query.
pub(crate) fn wallet_url(app: &TestApp, path: &str, package: &Params) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(package.iter().map(|(k, v)| (k, v.as_str())))
        .finish();
    format!("{}{path}?{query}", app.base)
}

/// POSTs `package` and `outcome` to a sandbox wallet page.
pub(crate) async fn wallet_action(app: &TestApp, path: &str, package: &Params, outcome: &str) -> (u16, String) {
    let mut form: Vec<(String, String)> = package.iter().map(|(k, v)| (k.to_owned(), v.as_str().to_owned())).collect();
    form.push(("outcome".into(), outcome.into()));
    let resp = app.client.post(format!("{}{path}", app.base)).form(&form).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn every_jsapi_sale_is_placed_paid_notified_queried_refunded_and_closed() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::FailThenAck(0), &app.secret).await;
    for (i, (service, paytype, wallet, scene, buyer)) in SALES.into_iter().enumerate() {
        let out = format!("JS{i}");
        let mut fields = with(
            tornado(&out),
            &[
                ("service", service),
                ("paytype", paytype),
                ("payment_type", wallet),
                ("scene_type", scene),
                ("notify_url", &receiver.url),
                ("subject", "Order for two"),
                ("tid", "T-1"),
                ("father_user_key", "P0001"),
            ],
        );
        fields = without(fields, "sub_openid");
        if let Some(b) = buyer {
            fields.push((b, format!("o-{scene}-buyer")));
        }

        // Placed: the answer carries the wallet's payPackage, signed with the rest.
        let a = app.jsapi_sale(&fields).await;
        assert_signed(&a, &app.secret);
        let keys: Vec<&str> = a.keys().collect();
        let mut want = vec!["return_status", "return_char", "user_confirm_key", "out_trade_no", "eftpay_trade_no"];
        want.extend(["paytype", "payment_type", "scene_type"]);
        want.extend(buyer);
        want.extend(["payPackage", "time", "sign"]);
        assert_eq!(keys, want, "{service} {scene}");
        let package = a.object("payPackage").expect("payPackage is a JSON object");
        let kind = if paytype == "WeChat" { "paySign" } else { "tradeNO" };
        assert!(package.contains(kind), "{service}: {}", package.to_json());
        assert_eq!(
            (a.get("paytype"), a.get("payment_type"), a.get("scene_type")),
            (Some(paytype), Some(wallet), Some(scene))
        );
        let eft = a.get("eftpay_trade_no").unwrap().to_owned();

        // Paid: one notification of the jsapi set, which the SDK verifies.
        assert_eq!(sandbox_pay(&app, &eft, "success").await["trade_status"], "TRADE_SUCCESS");
        receiver.wait_for_calls(i + 1).await;
        let body = receiver.bodies().await[i].clone();
        let n = verify_jsapi_notification(&body, &app.secret, time::OffsetDateTime::now_utc()).expect("verifies");
        assert!(n.is_paid_sale(), "{service}");
        assert_eq!(
            (n.out_trade_no.as_str(), n.total_fee.as_str(), n.eftpay_trade_no.as_str()),
            (out.as_str(), "12.5", eft.as_str())
        );
        assert_eq!((n.pay_type.as_str(), n.wallet.as_str(), n.scene_type.as_str()), (paytype, wallet, scene));
        assert_eq!(n.rate.as_deref(), Some("1"));
        let raw = Params::from_json(&body).unwrap();
        for key in READ_UNCONDITIONALLY {
            assert!(raw.get(key).is_some(), "{service} {scene}: the notification lacks {key}");
        }
        assert!(!raw.contains("notify_type") && !raw.contains("wallet"), "the jsapi set: {}", raw.to_json());
        if let Some(b) = buyer {
            assert_eq!(raw.get(b), Some(format!("o-{scene}-buyer").as_str()));
        }

        // Queried as jsapi clients send it, and through the new interface.
        let q = app
            .call(
                QUERY,
                &[("querytype", "OUT_TRADE"), ("out_trade_no", &out), ("paytype", paytype), ("payment_type", wallet)],
            )
            .await;
        assert_eq!(q.get("trade_status"), Some("TRADE_SUCCESS"), "{}", q.to_json());
        assert_eq!(q.get("eftpay_trade_no"), Some(eft.as_str()));
        assert_signed(&q, &app.secret);
        let q = app
            .call(COMMON_QUERY, &[("querytype", "OUT_TRADE"), ("eftpay_trade_no", &eft), ("buyertype", "others")])
            .await;
        assert_eq!(
            (q.get("return_status"), q.get("out_trade_no")),
            (Some("00"), Some(out.as_str())),
            "{}",
            q.to_json()
        );

        // Refunded in part (Tornado: total_fee is the order's amount).
        let refund_service = service.replace("PreOrder", "Refund");
        let r = app
            .call(
                ENDPOINT,
                &[
                    ("service", &refund_service),
                    ("out_trade_no", &out),
                    ("refund_no", &format!("B{i}")),
                    ("transaction_amount", "5.0"),
                    ("total_fee", "12.5"),
                    ("paytype", paytype),
                    ("payment_type", wallet),
                    ("refund_desc", "one returned"),
                ],
            )
            .await;
        assert_eq!(r.get("return_status"), Some("00"), "{}", r.to_json());
        assert_signed(&r, &app.secret);
        assert_eq!((r.get("trade_status"), r.get("refund_no")), (Some("TRADE_REFUND"), Some(format!("B{i}").as_str())));
        assert_eq!((r.get("transaction_amount"), r.get("total_fee")), (Some("5.0"), Some("12.5")));
        assert_eq!(r.get("eftpay_trade_no"), Some(eft.as_str()));
        let qr = app
            .call(QUERY, &[("querytype", "OUT_TRADE"), ("out_trade_no", &out), ("refund_no", &format!("B{i}"))])
            .await;
        assert_eq!((qr.get("trade_type"), qr.get("extra_trade_no")), (Some("REFUND"), Some(format!("B{i}").as_str())));

        // An unpaid one is closed (service.common.Close takes every order).
        let unpaid = format!("JSC{i}");
        app.jsapi_sale(&with(fields.clone(), &[("out_trade_no", &unpaid)])).await;
        let c = app.call(ENDPOINT, &[("service", "service.common.Close"), ("out_trade_no", &unpaid)]).await;
        assert_eq!(c.get("trade_status"), Some("TRADE_CLOSED"), "{}", c.to_json());
    }
    assert_eq!(receiver.calls(), SALES.len(), "one notification per paid sale, none for the closed ones");
}

#[tokio::test]
async fn a_jsapi_sale_is_notified_only_when_paid() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::FailThenAck(0), &app.secret).await;
    let sale = |out: &str| with(tornado(out), &[("notify_url", &receiver.url), ("active_time", "600")]);
    let failed = app.jsapi_sale(&sale("NF1")).await.get("eftpay_trade_no").unwrap().to_owned();
    let expired = app.jsapi_sale(&sale("NF2")).await.get("eftpay_trade_no").unwrap().to_owned();
    let paid = app.jsapi_sale(&sale("NF3")).await.get("eftpay_trade_no").unwrap().to_owned();
    // A web sale failing is notified: the contrast.
    let mut web = app.seed_request("NF4");
    web.set("notify_url", &receiver.url);
    app.sign(&mut web);
    let web = app.post(&web).await.get("eft_trade_no").unwrap().to_owned();

    assert_eq!(sandbox_pay(&app, &failed, "fail").await["trade_status"], "TRADE_FAIL");
    assert_eq!(sandbox_pay(&app, &web, "fail").await["trade_status"], "TRADE_FAIL");
    assert_eq!(sandbox_pay(&app, &paid, "success").await["trade_status"], "TRADE_SUCCESS");
    advance(&app, 601).await;
    app.sweep().await;

    let store = app.state.store();
    assert_eq!(store.order_by_eft_trade_no(&expired).await.unwrap().unwrap().state.as_str(), "TRADE_CLOSED");
    for (eft, owed) in [(&failed, 0), (&expired, 0), (&paid, 1), (&web, 1)] {
        assert_eq!(store.notifications_for_order(eft).await.unwrap().len(), owed, "{eft}");
    }
    receiver.wait_for_calls(2).await;
}

#[tokio::test]
async fn jsapi_apply_refunds_complete_later_and_notify_only_their_own_notify_url() {
    let app = spawn_app().await;
    let sale_receiver = Receiver::start(Behaviour::FailThenAck(0), &app.secret).await;
    let refund_receiver = Receiver::start(Behaviour::FailThenAck(0), &app.secret).await;
    let eft = app
        .jsapi_sale(&with(tornado("AR1"), &[("notify_url", &sale_receiver.url)]))
        .await
        .get("eftpay_trade_no")
        .unwrap()
        .to_owned();
    sandbox_pay(&app, &eft, "success").await;
    sale_receiver.wait_for_calls(1).await;
    let apply = |no: &'static str, amount: &'static str, notify: Option<&str>| {
        let mut f = vec![
            ("service", "service.wechat.jsapi.ApplyRefund".to_owned()),
            ("out_trade_no", "AR1".to_owned()),
            ("refund_no", no.to_owned()),
            ("transaction_amount", amount.to_owned()),
            ("total_fee", "12.5".to_owned()),
            ("paytype", "WeChat".to_owned()),
            ("payment_type", "WECHATHK".to_owned()),
        ];
        if let Some(url) = notify {
            f.push(("notify_url", url.to_owned()));
        }
        f
    };

    let r1 = app.call_owned(ENDPOINT, &apply("AR1-1", "2.5", None)).await;
    let r2 = app.call_owned(ENDPOINT, &apply("AR1-2", "10", Some(&refund_receiver.url))).await;
    assert_eq!((r1.get("trade_status"), r2.get("trade_status")), (Some("APPLY_SUCCESS"), Some("APPLY_SUCCESS")));
    assert_eq!(refund_status(&app, "AR1", "AR1-1").await, "PROCESSING");
    advance(&app, 5).await;
    app.sweep().await;
    assert_eq!(refund_status(&app, "AR1", "AR1-1").await, "SUCCESS");
    assert_eq!(refund_status(&app, "AR1", "AR1-2").await, "SUCCESS");

    // The sale's handler would book any verified notification as paid: the
    // refund without a notify_url of its own tells nobody.
    refund_receiver.wait_for_calls(1).await;
    assert_eq!(sale_receiver.calls(), 1, "only the sale reached the sale's notify_url");
    let body = refund_receiver.bodies().await[0].clone();
    let n = verify_jsapi_notification(&body, &app.secret, time::OffsetDateTime::now_utc()).unwrap();
    assert!(!n.is_paid_sale());
    assert_eq!(n.trade_status, TradeStatus::TradeClosed, "2.5 + 10 is the whole 12.5");
    let refund = n.refund.expect("a refund notice");
    assert_eq!(
        (refund.refund_no.as_str(), refund.original_amount.as_str(), n.total_fee.as_str()),
        ("AR1-2", "12.5", "10")
    );
}

#[tokio::test]
async fn a_jsapi_resubmission_replays_its_pay_package_and_a_different_one_is_03() {
    let app = spawn_app().await;
    let first = app.jsapi_sale(&tornado("RP1")).await;
    let again = app.jsapi_sale(&tornado("RP1")).await;
    assert_eq!(first.get("payPackage"), again.get("payPackage"));
    assert_eq!(first.get("eftpay_trade_no"), again.get("eftpay_trade_no"));
    let other = app.call_owned(ENDPOINT, &with(tornado("RP1"), &[("transaction_amount", "13")])).await;
    assert_eq!(other.get("return_status"), Some("03"), "{}", other.to_json());
    assert_eq!(app.order_count().await, 1);
}

#[tokio::test]
async fn every_bad_jsapi_field_gets_a_code_naming_it_and_nothing_is_stored() {
    let app = spawn_app().await;
    let long_detail = format!(r#"{{"goods_detail":"{}"}}"#, "x".repeat(6000));
    let (long_openid, long_out, long_tid, long_tag) = ("o".repeat(129), "9".repeat(29), "1".repeat(21), "t".repeat(33));
    let cases: Vec<(&str, Option<&str>, &str, &str)> = vec![
        ("paytype", None, "-13", "paytype"),
        ("paytype", Some("Alipay"), "20", "WeChat"),
        ("payment_type", None, "-13", "payment_type"),
        ("payment_type", Some("ALIPAYHK"), "-16", "WECHATCN/WECHATHK"),
        ("payment_type", Some("wechathk"), "-16", "WECHATCN/WECHATHK"),
        ("scene_type", None, "-13", "scene_type"),
        ("scene_type", Some("MINIAPP"), "-13", "scene_type"),
        ("sub_openid", None, "-13", "sub_openid"),
        ("sub_openid", Some("o id with spaces"), "-13", "sub_openid"),
        ("openid", Some(&long_openid), "-13", "openid"),
        ("transaction_amount", None, "-13", "transaction_amount"),
        ("transaction_amount", Some("12.505"), "-13", "transaction_amount"),
        ("transaction_amount", Some("0.0"), "09", "Amount"),
        ("out_trade_no", None, "-13", "out_trade_no"),
        ("out_trade_no", Some(&long_out), "-13", "out_trade_no"),
        ("fee_type", Some("USD"), "-24", "USD"),
        ("subject", Some("a\u{1b}[2Jb"), "-13", "subject"),
        ("tid", Some(&long_tid), "-13", "tid"),
        ("buyertype", Some("androids"), "-13", "buyertype"),
        ("notify_url", Some("javascript:alert(1)"), "-13", "notify_url"),
        ("return_url", Some("https://shop.example/back?o=1"), "-13", "return_url"),
        ("active_time", Some("59"), "-13", "active_time"),
        ("receipt", Some("yes"), "-13", "receipt"),
        ("goods_tag", Some(&long_tag), "-13", "goods_tag"),
        ("detail", Some("<goods/>"), "-13", "detail"),
        ("detail", Some(&long_detail), "-13", "detail"),
        ("scene_info", Some("[]"), "-13", "scene_info"),
    ];
    for (field, value, code, named) in cases {
        let fields = match value {
            Some(v) => with(tornado("BAD1"), &[(field, v)]),
            None => without(tornado("BAD1"), field),
        };
        let a = app.call_owned(ENDPOINT, &fields).await;
        assert_eq!(a.get("return_status"), Some(code), "{field}={value:?}: {}", a.to_json());
        assert!(a.get("return_char").unwrap_or_default().contains(named), "{field}: {}", a.to_json());
    }
    // A wallet's magic amount that gives no payment: 24.
    let a = app.call_owned(ENDPOINT, &with(tornado("BAD2"), &[("transaction_amount", "1.44")])).await;
    assert_eq!(a.get("return_status"), Some("24"));
    // PUBLIC names its buyer by openid, not sub_openid; Alipay has no PUBLIC.
    let a = app.call_owned(ENDPOINT, &with(tornado("BAD3"), &[("scene_type", "PUBLIC")])).await;
    assert!(
        a.get("return_char").unwrap_or_default().ends_with("openid") && !a.get("return_char").unwrap().contains("sub_")
    );
    let alipay = with(
        tornado("BAD4"),
        &[
            ("service", "service.alipay.jsapi.PreOrder"),
            ("paytype", "Alipay"),
            ("payment_type", "ALIPAYHK"),
            ("scene_type", "PUBLIC"),
            ("openid", "o1"),
        ],
    );
    assert_eq!(app.call_owned(ENDPOINT, &alipay).await.get("return_status"), Some("-13"));
    assert_eq!(app.order_count().await, 0, "no refused sale was stored");
}

#[tokio::test]
async fn bad_jsapi_refunds_get_their_code_and_refund_nothing() {
    let app = spawn_app().await;
    let eft = app.jsapi_sale(&tornado("BR1")).await.get("eftpay_trade_no").unwrap().to_owned();
    sandbox_pay(&app, &eft, "success").await;
    let refund = vec![
        ("service", "service.wechat.jsapi.Refund".to_owned()),
        ("out_trade_no", "BR1".to_owned()),
        ("refund_no", "BR1-1".to_owned()),
        ("transaction_amount", "5".to_owned()),
        ("total_fee", "12.5".to_owned()),
        ("paytype", "WeChat".to_owned()),
        ("payment_type", "WECHATHK".to_owned()),
    ];
    let long_desc = "r".repeat(257);
    let cases: Vec<(&str, Option<&str>, &str)> = vec![
        ("refund_no", None, "-13"),
        ("refund_no", Some("has space"), "-13"),
        ("transaction_amount", None, "-13"),
        ("transaction_amount", Some("12.51"), "18"),
        ("transaction_amount", Some("0"), "09"),
        ("total_fee", None, "-13"),
        ("total_fee", Some("12.5.0"), "-13"),
        ("paytype", None, "-13"),
        ("paytype", Some("Alipay"), "20"),
        ("payment_type", None, "-13"),
        ("payment_type", Some("ALIPAYHK"), "-16"),
        ("refund_desc", Some(&long_desc), "-13"),
        ("notify_url", Some("ftp://x.example/"), "-13"),
        ("out_trade_no", Some("NOPE"), "31"),
        ("service", Some("service.alipay.jsapi.Refund"), "-16"),
    ];
    for (field, value, code) in cases {
        let fields = match value {
            Some(v) => with(refund.clone(), &[(field, v)]),
            None => without(refund.clone(), field),
        };
        let a = app.call_owned(ENDPOINT, &fields).await;
        assert_eq!(a.get("return_status"), Some(code), "{field}={value:?}: {}", a.to_json());
    }
    assert_eq!(app.state.store().refunds_total(&eft).await.unwrap(), 0, "nothing was refunded");
    // RSM's batch refund: camelCase payType, total_fee = the refund amount.
    let rsm = with(without(refund, "paytype"), &[("payType", "WeChat"), ("total_fee", "5")]);
    let a = app.call_owned(ENDPOINT, &rsm).await;
    assert_eq!((a.get("return_status"), a.get("total_fee")), (Some("00"), Some("5")), "{}", a.to_json());
}

#[tokio::test]
async fn the_bridge_page_pays_a_verified_pay_package_and_refuses_a_tampered_one() {
    let app = spawn_app().await;
    let bridge = "/sandbox/jsapi/bridge";
    let a = app.jsapi_sale(&with(tornado("BRIDGE1"), &[("subject", "<b>Tea</b>")])).await;
    let package = a.object("payPackage").unwrap();

    // Shown as the wallet would show it.
    let page = app.client.get(wallet_url(&app, bridge, &package)).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"data-page-kind="wechat-jsapi""#) && html.contains("HKD 12.50"), "{html}");
    assert!(html.contains("&lt;b&gt;Tea&lt;/b&gt;") && !html.contains("<b>Tea"), "escaped");

    // Any changed key is refused there, shown or acted on, and pays nothing.
    for key in ["appId", "timeStamp", "nonceStr", "package", "signType", "paySign"] {
        let mut tampered = package.clone();
        let value = tampered.get(key).unwrap().to_owned();
        tampered.set(key, format!("{value}0"));
        let resp = app.client.get(wallet_url(&app, bridge, &tampered)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{key}");
        let html = resp.text().await.unwrap();
        assert!(html.contains("wallet-refused") && html.contains("signature does not verify"), "{key}: {html}");
        let (status, _) = wallet_action(&app, bridge, &tampered, "success").await;
        assert_eq!(status, 400, "{key}");
    }
    let q = app.call(QUERY, &[("querytype", "OUT_TRADE"), ("out_trade_no", "BRIDGE1")]).await;
    assert_eq!(q.get("trade_status"), Some("TRADE_PROCESSING"));

    // Paying with the package as issued: what wx.requestPayment hands back.
    let (status, html) = wallet_action(&app, bridge, &package, "success").await;
    assert_eq!(status, 200);
    assert!(html.contains("requestPayment:ok") && html.contains("TRADE_SUCCESS"), "{html}");
    let q = app.call(QUERY, &[("querytype", "OUT_TRADE"), ("out_trade_no", "BRIDGE1")]).await;
    assert_eq!(q.get("trade_status"), Some("TRADE_SUCCESS"));

    // Alipay's tradeNO ends in check digits; an official account's cancel.
    let alipay = with(
        tornado("BRIDGE2"),
        &[("service", "service.alipay.jsapi.PreOrder"), ("paytype", "Alipay"), ("payment_type", "ALIPAYHK")],
    );
    let alipay = app.jsapi_sale(&alipay).await.object("payPackage").unwrap();
    let trade_no = alipay.get("tradeNO").unwrap().to_owned();
    let last = if trade_no.ends_with('0') { "1" } else { "0" };
    let forged = Params::new().with("tradeNO", format!("{}{last}", &trade_no[..trade_no.len() - 1]));
    assert_eq!(app.client.get(wallet_url(&app, bridge, &forged)).send().await.unwrap().status().as_u16(), 400);
    let (_, html) = wallet_action(&app, bridge, &alipay, "fail").await;
    assert!(html.contains(">4000<") && html.contains("TRADE_FAIL"), "{html}");
    let public = with(tornado("BRIDGE3"), &[("scene_type", "PUBLIC"), ("openid", "oPublic")]);
    let public = app.jsapi_sale(&public).await.object("payPackage").unwrap();
    let (_, html) = wallet_action(&app, bridge, &public, "cancel").await;
    assert!(html.contains("get_brand_wcpay_request:cancel") && html.contains("TRADE_CLOSED"), "{html}");

    // Not a package, or an app's package: refused.
    let resp = app.client.get(format!("{}{bridge}?appId=wx1", app.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}
