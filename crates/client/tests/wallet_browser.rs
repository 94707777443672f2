//! A WeChat mini-program shop's checkout end to end, as the shop runs it
//! with the SDK: place a jsapi order, hand its payPackage to the wallet (the
//! sandbox's bridge page, in Debian's headless chromium), pay, verify the
//! notification the gateway POSTs, query. A payPackage changed on the page
//! is refused there. One more test screenshots the bridge and app pages
//! (`VMP_UPDATE_SCREENSHOTS=1` rewrites `docs/screenshots/*.png`).
//!
//! Needs `/usr/bin/chromium`, like the gateway's browser tests; without it
//! the tests fail, unless `VMP_SKIP_BROWSER=1`.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

#[allow(dead_code)]
#[path = "../../server/tests/browser/cdp.rs"]
mod cdp;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use vmp_client::{Amount, AppOrder, JsapiOrder, PayPackage, Query, SceneType, Service, TradeRef, TradeStatus, Wallet};

use crate::cdp::{Chromium, WAIT};
use crate::support::Gateway;

mod support;

const BRIDGE: &str = "/sandbox/jsapi/bridge";
const APP_PAGE: &str = "/sandbox/app/pay";

/// The shop's notify handler: keeps each body, acknowledges with the SDK's
/// signed ack.
#[derive(Clone)]
struct Shop {
    secret: String,
    bodies: Arc<Mutex<Vec<Bytes>>>,
}

async fn notified(State(shop): State<Shop>, body: Bytes) -> String {
    shop.bodies.lock().unwrap().push(body);
    vmp_client::ack(&shop.secret, true, time::OffsetDateTime::now_utc()).to_json()
}

impl Shop {
    /// Starts the shop's notify endpoint; returns it and its URL.
    async fn start(secret: &str) -> (Self, String) {
        let shop = Self { secret: secret.to_owned(), bodies: Arc::default() };
        let app = Router::new().route("/eft/notify", post(notified)).with_state(shop.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/eft/notify", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (shop, url)
    }

    /// Waits (at most [`WAIT`]) for the first notification.
    async fn first_notification(&self) -> Bytes {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(b) = self.bodies.lock().unwrap().first() {
                return b.clone();
            }
            assert!(Instant::now() < deadline, "no notification within {WAIT:?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

fn mini_program_order(out: &str, notify_url: &str) -> JsapiOrder {
    JsapiOrder::builder(Service::WechatJsapi)
        .wallet(Wallet::WechatHk)
        .scene_type(SceneType::Applets)
        .sub_openid("oAbC-miniprogram-openid")
        .out_trade_no(out)
        .amount(Amount::parse("12.50").unwrap())
        .subject("Two lattes")
        .notify_url(notify_url)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mini_program_pays_through_the_bridge_and_the_shop_verifies_the_notification_and_queries() {
    let Some(mut browser) = Chromium::launch() else { return };
    let gw = Gateway::start().await;
    let (shop, notify_url) = Shop::start(&gw.secret).await;

    // The shop's server places the order and gives its page the payPackage.
    let order = mini_program_order("MP-1", &notify_url);
    let placed = gw.client.place_jsapi_order(&order).await.unwrap();
    assert_eq!(placed.sub_openid.as_deref(), Some("oAbC-miniprogram-openid"));
    let PayPackage::WechatJsapi(package) = &placed.pay_package else { panic!("{:?}", placed.pay_package) };
    assert!(package.package.starts_with("prepay_id=") && !package.pay_sign.is_empty());
    let url = gw.wallet_url(BRIDGE, &placed.pay_package);

    // The wallet shows the order; a package changed on the page is refused there.
    browser.goto(&url);
    assert_eq!(browser.page_kind().as_deref(), Some("wechat-jsapi"));
    assert_eq!(browser.text("#amount").as_deref(), Some("HKD 12.50"));
    assert_eq!(browser.text("#subject").as_deref(), Some("Two lattes"));
    browser.eval("document.querySelector('input[name=timeStamp]').value = '1'");
    browser.navigating("the refusal", |b| b.click("#pay"));
    assert_eq!(browser.page_kind().as_deref(), Some("wallet-refused"));
    assert!(browser.text("#error").unwrap_or_default().contains("signature does not verify"));
    let unpaid = gw.client.query(&Query::sale(TradeRef::out_trade_no("MP-1").unwrap())).await.unwrap();
    assert_eq!(unpaid.trade_status, TradeStatus::TradeProcessing, "nothing was paid");

    // The buyer pays with the package as issued.
    browser.goto(&url);
    browser.navigating("the result", |b| b.click("#pay"));
    assert_eq!(browser.text("#wallet-result").as_deref(), Some("requestPayment:ok"));

    // The shop's notify handler verifies with the SDK, then the shop queries.
    let body = shop.first_notification().await;
    let n = gw.client.verify_jsapi_notification(&body).expect("the notification verifies");
    assert!(n.is_paid_sale());
    assert_eq!((n.out_trade_no.as_str(), n.total_fee.as_str()), ("MP-1", "12.50"));
    assert_eq!(n.eftpay_trade_no, placed.eftpay_trade_no.as_str());
    assert_eq!(n.sub_openid.as_deref(), Some("oAbC-miniprogram-openid"));
    let paid = gw.client.query(&Query::sale(TradeRef::out_trade_no("MP-1").unwrap())).await.unwrap();
    assert_eq!(paid.trade_status, TradeStatus::TradeSuccess);
    assert_eq!(paid.eftpay_trade_no.as_deref(), Some(placed.eftpay_trade_no.as_str()));
}

/// Saves a screenshot after checking it is a real PNG of the expected width.
fn save_png(dir: &std::path::Path, name: &str, png: &[u8], width: u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}: not a PNG");
    assert!(png.len() > 2048, "{name}: only {} bytes, the page looks empty", png.len());
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), width, "{name}: screenshot width");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_and_app_pages_render_in_chromium_and_get_a_screenshot() {
    let Some(mut browser) = Chromium::launch() else { return };
    let update = std::env::var("VMP_UPDATE_SCREENSHOTS").as_deref() == Ok("1");
    let tmp = tempfile::tempdir().unwrap();
    let dir = if update {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots")
    } else {
        tmp.path().to_path_buf()
    };
    let gw = Gateway::start().await;
    let amount = Amount::parse("88.00").unwrap();
    let wechat = gw.client.place_jsapi_order(&mini_program_order("SHOT-1", "https://shop.example/n")).await.unwrap();
    let alipay = JsapiOrder::builder(Service::AlipayJsapi)
        .wallet(Wallet::AlipayHk)
        .scene_type(SceneType::Applets)
        .sub_openid("2088102146225135")
        .out_trade_no("SHOT-2")
        .amount(amount)
        .subject("OpenVMP demo order")
        .build()
        .unwrap();
    let alipay = gw.client.place_jsapi_order(&alipay).await.unwrap();
    let app = |wallet, out| {
        AppOrder::builder(Service::AppPay)
            .wallet(wallet)
            .out_trade_no(out)
            .amount(amount)
            .subject("OpenVMP demo order")
            .build_app()
            .unwrap()
    };
    let wechat_app = gw.client.place_app_order(&app(Wallet::WechatHk, "SHOT-3")).await.unwrap();
    let alipay_app = gw.client.place_app_order(&app(Wallet::AlipayCn, "SHOT-4")).await.unwrap();

    browser.set_viewport(420, 800, true);
    for (shot, path, package, kind) in [
        ("jsapi-bridge-wechat", BRIDGE, &wechat.pay_package, "wechat-jsapi"),
        ("jsapi-bridge-alipay", BRIDGE, &alipay.pay_package, "alipay-jsapi"),
        ("app-wechat", APP_PAGE, &wechat_app.pay_package, "wechat-app"),
        ("app-alipay", APP_PAGE, &alipay_app.pay_package, "alipay-app"),
    ] {
        browser.goto(&gw.wallet_url(path, package));
        assert_eq!(browser.page_kind().as_deref(), Some(kind), "{shot}");
        for button in ["#pay", "#fail", "#cancel"] {
            let shown = browser.eval(&format!(
                "(() => {{ const b = document.querySelector('{button}'); \
                 return !!b && b.getBoundingClientRect().height > 0; }})()"
            ));
            assert_eq!(shown, serde_json::Value::Bool(true), "{shot} shows {button}");
        }
        save_png(&dir, shot, &browser.screenshot(), 420);
    }
    // And the answer a wallet gives its merchant's code, after paying.
    browser.navigating("the result", |b| b.click("#pay"));
    assert_eq!(browser.text("#wallet-result").as_deref(), Some("9000"));
    save_png(&dir, "wallet-result", &browser.screenshot(), 420);
}
