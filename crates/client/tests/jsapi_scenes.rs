//! The jsapi and app scenes through the SDK, against the real gateway
//! spawned in-process on 127.0.0.1:0: typed sales with their payPackage,
//! the jsapi refund, app refunds and the "new interface" query, the jsapi
//! notification's verification, and refusals before anything is sent.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

mod support;

use time::OffsetDateTime;
use vmp_client::{
    Amount, AppOrder, JsapiOrder, JsapiRefund, NotificationError, PayPackage, Query, Refund, RequestError,
    ReturnStatus, SceneType, Service, TradeRef, TradeStatus, Wallet,
};
use vmp_protocol::notify_jsapi::JsapiNotification;

use crate::support::Gateway;

fn amount(text: &str) -> Amount {
    Amount::parse(text).unwrap()
}

fn public_order(out: &str) -> JsapiOrder {
    JsapiOrder::builder(Service::WechatJsapi)
        .wallet(Wallet::WechatCn)
        .scene_type(SceneType::Public)
        .openid("oPublic-account-openid")
        .out_trade_no(out)
        .amount(amount("100.0"))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_jsapi_sale_is_placed_refunded_in_the_lowercase_family_and_queried_through_the_new_interface() {
    let gw = Gateway::start().await;
    let placed = gw.client.place_jsapi_order(&public_order("SDK-JS1")).await.unwrap();
    assert_eq!((placed.scene_type.as_str(), placed.openid.as_deref()), ("PUBLIC", Some("oPublic-account-openid")));
    assert!(matches!(placed.pay_package, PayPackage::WechatJsapi(_)));
    // Placing it again replays the same package.
    let again = gw.client.place_jsapi_order(&public_order("SDK-JS1")).await.unwrap();
    assert_eq!(again, placed);
    gw.pay(placed.eftpay_trade_no.as_str()).await;

    let order = TradeRef::Eft(placed.eftpay_trade_no.clone());
    let refund = JsapiRefund::builder(Service::WechatJsapiRefund, order.clone())
        .refund_no("SDK-JS1-R1")
        .amount(amount("40"))
        .total_fee(amount("100"))
        .wallet(Wallet::WechatCn)
        .refund_desc("partial")
        .build()
        .unwrap();
    let r = gw.client.jsapi_refund(&refund).await.unwrap();
    assert_eq!((r.trade_status, r.transaction_amount.as_str()), (TradeStatus::TradeRefund, "40.00"));
    assert_eq!(r.wallet.as_deref(), Some("WECHATCN"));

    let q = gw.client.query(&Query::refund(order.clone(), "SDK-JS1-R1").unwrap().via(Service::CommonTradeQuery)).await;
    let q = q.unwrap();
    assert_eq!((q.extra_trade_no.as_deref(), q.trade_status), (Some("SDK-JS1-R1"), TradeStatus::TradeRefund));
    // Over the amount left: the gateway's refusal, typed.
    let over = JsapiRefund::builder(Service::WechatJsapiRefund, order)
        .refund_no("SDK-JS1-R2")
        .amount(amount("60.01"))
        .total_fee(amount("100"))
        .wallet(Wallet::WechatCn)
        .build()
        .unwrap();
    let err = gw.client.jsapi_refund(&over).await.unwrap_err();
    assert_eq!(err.api_code(), Some(ReturnStatus::RefundExceedsAmount), "{err}");
}

#[tokio::test]
async fn app_sales_get_the_sdks_package_and_refund_through_the_app_servlets() {
    let gw = Gateway::start().await;
    for (service, wallet, out) in
        [(Service::AppPay, Wallet::WechatHk, "SDK-APP1"), (Service::CommonAppPay, Wallet::AlipayCn, "SDK-APP2")]
    {
        let order =
            AppOrder::builder(service).wallet(wallet).out_trade_no(out).amount(amount("0.10")).subject("s").build_app();
        let placed = gw.client.place_app_order(&order.unwrap()).await.unwrap();
        let want_wechat = wallet == Wallet::WechatHk;
        assert_eq!(matches!(placed.pay_package, PayPackage::WechatApp(_)), want_wechat, "{service}");
        assert_eq!(matches!(placed.pay_package, PayPackage::AlipayApp(_)), !want_wechat, "{service}");
        gw.pay(placed.eft_trade_no.as_str()).await;
        let refund_service = if service == Service::AppPay { Service::AppRefund } else { Service::CommonAppRefund };
        let refund =
            Refund::builder(&placed).service(refund_service).out_refund_no(format!("{out}-R")).amount(amount("0.10"));
        let r = gw.client.refund(&refund.build().unwrap()).await.unwrap();
        assert_eq!(r.trade_status, TradeStatus::TradeClosed, "{service}");
    }
}

#[tokio::test]
async fn the_sdk_refuses_before_sending_what_the_gateway_would_refuse() {
    let cases: [(Result<JsapiOrder, RequestError>, &str); 3] = [
        (
            JsapiOrder::builder(Service::WechatJsapi)
                .wallet(Wallet::WechatHk)
                .scene_type(SceneType::Applets)
                .out_trade_no("X")
                .amount(amount("1"))
                .build(),
            "sub_openid",
        ),
        (JsapiOrder::builder(Service::AlipayJsapi).scene_type(SceneType::H5).build(), "transaction_amount"),
        (JsapiOrder::builder(Service::AppPay).build(), "service"),
    ];
    for (built, field) in cases {
        assert_eq!(built.unwrap_err().field(), field);
    }
    let err = AppOrder::builder(Service::AppPay)
        .wallet(Wallet::AlipayHk)
        .out_trade_no("X")
        .amount(amount("1"))
        .subject("s")
        .active_time(90)
        .build_app()
        .unwrap_err();
    assert_eq!(err.field(), "active_time", "Alipay: multiples of 60");
    let err = vmp_client::PlaceOrder::builder(Service::WechatJsapi).build().unwrap_err();
    assert!(matches!(err, RequestError::WrongRequest { .. }), "{err}");
}

#[tokio::test]
async fn the_client_verifies_a_jsapi_notification_and_refuses_a_tampered_or_stale_one() {
    let gw = Gateway::start().await;
    let n = JsapiNotification {
        pay_type: "WeChat".into(),
        user_confirm_key: gw.client.user_confirm_key().into(),
        transaction_id: "4200000001".into(),
        out_trade_no: "T1".into(),
        subject: None,
        total_fee: "12.5".into(),
        amount: amount("12.5"),
        currency: "HKD".into(),
        trade_status: TradeStatus::TradeSuccess,
        gmt_payment: "2026-01-01 12:01:02".into(),
        wallet: "WECHATHK".into(),
        scene_type: "APPLETS".into(),
        tid: None,
        fee_type: Some("HKD".into()),
        rate: Some("1".into()),
        eftpay_trade_no: "0126".into(),
        openid: None,
        sub_openid: Some("o1".into()),
        refund: None,
        time: vmp_protocol::VmpTime::parse(&vmp_protocol::format_time(OffsetDateTime::now_utc())).unwrap(),
    };
    let body = n.to_signed_params(&gw.secret).to_json();
    assert_eq!(gw.client.verify_jsapi_notification(body.as_bytes()), Ok(n.clone()));
    let tampered = body.replace("12.5", "0.01");
    assert!(matches!(
        gw.client.verify_jsapi_notification(tampered.as_bytes()),
        Err(NotificationError::BadSignature(_))
    ));
    let mut stale = n;
    stale.time = vmp_protocol::VmpTime::from_datetime(OffsetDateTime::now_utc() - time::Duration::hours(1));
    let body = stale.to_signed_params(&gw.secret).to_json();
    assert!(matches!(gw.client.verify_jsapi_notification(body.as_bytes()), Err(NotificationError::Stale { .. })));
}
