//! Real-browser end-to-end tests: Debian's headless chromium, driven over
//! the DevTools protocol, pays on the hosted checkout pages and lands on the
//! merchant's `return_url`; one test screenshots every page kind. The
//! developer console's tests are in `browser/console.rs`.
//!
//! Needs `/usr/bin/chromium` (`apt-get install chromium`); without it the
//! tests fail, unless `VMP_SKIP_BROWSER=1`. `VMP_UPDATE_SCREENSHOTS=1`
//! rewrites `docs/screenshots/*.png`.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

#[path = "browser/cdp.rs"]
mod cdp;
#[path = "browser/console.rs"]
mod console;
#[path = "browser/gateway.rs"]
mod gateway;

use std::path::PathBuf;

use serde_json::{Value, json};
use time::OffsetDateTime;
use vmp_protocol::notify::{TradeStatus, verify_notification, verify_qrcode_notification, verify_return_form};
use vmp_protocol::{Params, Service};

use crate::cdp::Chromium;
use crate::gateway::{Gateway, Merchant, Order};

/// Waits until the browser shows the merchant's page at `return_url`.
fn wait_for_merchant_page(browser: &mut Chromium, return_url: &str) {
    browser.wait_until(
        &format!(
            "location.href === {} && document.readyState === 'complete' \
             && document.body.dataset.pageKind === 'merchant'",
            json!(return_url)
        ),
        "the browser to land on return_url",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_an_alipay_order_in_chromium_posts_a_verified_success_to_return_url_and_notifies() {
    let Some(mut browser) = Chromium::launch() else { return };
    let gw = Gateway::spawn().await;
    let merchant = Merchant::start().await;
    let mut order = Order::new("service.alipay.wap.PreOrder", "Alipay", "ALIPAYHK", "WAP", "BROWSER1");
    order.amount = "12.30";
    order.return_url = Some(&merchant.return_url);
    order.notify_url = Some(&merchant.notify_url);
    let link = gw.place(&order).await;

    browser.goto(&link);
    assert_eq!(browser.page_kind().as_deref(), Some("alipay"));
    assert_eq!(browser.text("#amount").as_deref(), Some("HKD 12.30"));
    browser.click("#pay");
    wait_for_merchant_page(&mut browser, &merchant.return_url);

    let back = merchant.returned().await;
    assert!(
        back.content_type.starts_with("application/x-www-form-urlencoded"),
        "return_url gets a form POST, got {:?}",
        back.content_type
    );
    let now = OffsetDateTime::now_utc();
    let returned = verify_return_form(&back.body, &gw.secret, now).expect("the return_url payload verifies");
    assert_eq!(returned.trade_status, TradeStatus::TradeSuccess);
    assert_eq!(returned.out_trade_no, "BROWSER1");
    assert_eq!(returned.total_fee, "12.30");
    assert_eq!(returned.wallet, "ALIPAYHK");

    let note = merchant.notification().await;
    assert!(note.content_type.starts_with("application/json"), "notify_url gets JSON, got {:?}", note.content_type);
    let notified = verify_notification(&note.body, &gw.secret, now).expect("the notification verifies");
    assert_eq!(notified.trade_status, TradeStatus::TradeSuccess);
    assert_eq!(notified.eft_trade_no, returned.eft_trade_no, "both tell about the same order");
    assert_eq!(notified.out_trade_no, "BROWSER1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_the_visa_test_card_on_the_mpgs_page_returns_to_the_merchant_with_card_scheme_visa() {
    let Some(mut browser) = Chromium::launch() else { return };
    let gw = Gateway::spawn().await;
    let merchant = Merchant::start().await;
    let mut order = Order::new("service.mpgs.web.PreOrder", "Mpgs", "MPGS", "WEB", "BROWSER2");
    order.return_url = Some(&merchant.return_url);
    let link = gw.place(&order).await;

    browser.goto(&link);
    assert_eq!(browser.page_kind().as_deref(), Some("mpgs"));
    assert_eq!(browser.type_into("#card_number", "4111111111111111"), "4111111111111111");
    assert_eq!(browser.type_into("#card_expiry", "12/30"), "12/30");
    assert_eq!(browser.type_into("#card_cvc", "123"), "123");
    browser.click("#pay");
    wait_for_merchant_page(&mut browser, &merchant.return_url);

    let back = merchant.returned().await;
    let returned =
        verify_return_form(&back.body, &gw.secret, OffsetDateTime::now_utc()).expect("the return_url payload verifies");
    assert_eq!(returned.trade_status, TradeStatus::TradeSuccess);
    assert_eq!(returned.card_scheme.as_deref(), Some("VISA"));
    assert_eq!(returned.out_trade_no, "BROWSER2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payme_web_page_shows_an_svg_qr_code_and_simulating_failure_returns_trade_fail() {
    let Some(mut browser) = Chromium::launch() else { return };
    let gw = Gateway::spawn().await;
    let merchant = Merchant::start().await;
    let mut order = Order::new("service.payme.web.PreOrder", "PAYME", "PAYME", "WEB", "BROWSER3");
    order.return_url = Some(&merchant.return_url);
    let link = gw.place(&order).await;

    browser.goto(&link);
    assert_eq!(browser.page_kind().as_deref(), Some("payme-qr"));
    // The QR code is an inline <svg>, drawn at a scannable size.
    let size = browser.eval(
        "(() => { const s = document.querySelector('#qr svg'); if (!s) return null; \
         const r = s.getBoundingClientRect(); return [r.width, r.height]; })()",
    );
    let (w, h) = (size[0].as_f64().unwrap_or(0.0), size[1].as_f64().unwrap_or(0.0));
    assert!(w >= 150.0 && h >= 150.0, "the QR code is shown, got {size}");
    // It has a text alternative, and its link is there as text to open.
    let named = browser.eval(
        "(() => { const s = document.querySelector('#qr svg'); \
         return [s.getAttribute('role'), s.getAttribute('aria-label')]; })()",
    );
    assert_eq!(named, json!(["img", "QR code to pay with the PayMe app"]));
    let link_text = browser.text("#pay-link").unwrap();
    assert_eq!(browser.eval("document.querySelector('#pay-link').href"), json!(link_text));
    assert!(link_text.contains("/payPage?userkey="), "{link_text}");
    browser.click("#fail");
    wait_for_merchant_page(&mut browser, &merchant.return_url);

    let back = merchant.returned().await;
    let returned =
        verify_return_form(&back.body, &gw.secret, OffsetDateTime::now_utc()).expect("the return_url payload verifies");
    assert_eq!(returned.trade_status, TradeStatus::TradeFail);
    assert_eq!(returned.out_trade_no, "BROWSER3");
}

#[test]
fn a_missing_chromium_fails_the_tests_with_an_apt_get_hint() {
    let outcome = std::panic::catch_unwind(|| Chromium::launch_at("/nonexistent/chromium").is_none());
    if std::env::var("VMP_SKIP_BROWSER").as_deref() == Ok("1") {
        assert!(matches!(outcome, Ok(true)), "VMP_SKIP_BROWSER=1 skips instead");
        return;
    }
    let message = outcome.expect_err("a missing browser must fail, not pass silently");
    let text = message.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.contains("apt-get install chromium"), "{text}");
}

/// Every checkout look: (kind, service, payType, wallet, pay_scene, desktop viewport).
/// (screenshot, page kind, service, payType, wallet, pay_scene, desktop).
type Kind = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, bool);

const KINDS: [Kind; 20] = [
    ("alipay", "alipay", "service.alipay.wap.PreOrder", "Alipay", "ALIPAYHK", "WAP", false),
    ("wechat-h5", "wechat-h5", "service.wechat.web.MobileH5", "WeChat", "WECHATHK", "WEB", false),
    ("wechat-oauth", "wechat-oauth", "service.wechat.oauth2.Authorize", "WeChat", "WECHATHK", "WXWEB", false),
    ("icbc", "icbc", "service.icbc.wap.PreOrder", "ICBC", "ICBCWAP", "WEB", false),
    ("unionpay", "unionpay", "service.unionpay.online.web.PreOrder", "UnionPay", "UNIONPAY", "ONLINE_WEB", true),
    ("octopus", "octopus", "service.oct.online.PreOrder", "OCT", "OCT", "WEB", false),
    ("mpgs", "mpgs", "service.mpgs.web.PreOrder", "Mpgs", "MPGS", "WEB", true),
    ("amex", "amex", "service.ae.web.PreOrder", "AE", "AE", "WEB", true),
    ("payme-qr", "payme-qr", "service.payme.web.PreOrder", "PAYME", "PAYME", "WEB", true),
    ("payme-app", "payme-app", "service.payme.web.PreOrder", "PAYME", "PAYME", "APP", false),
    ("bocpay-h5", "bocpay-h5", "service.bocvmp.upi.wap.PreOrder", "BOCVMP", "BOCVMPUPI", "H5", false),
    ("bocpay-app", "bocpay-app", "service.bocvmp.upi.wap.PreOrder", "BOCVMP", "BOCVMPUPI", "APP", false),
    ("alipay-qr", "alipay-qr", "service.alipay.web.PreOrder", "Alipay", "ALIPAYHK", "WEB", true),
    ("wechat-qr", "wechat-qr", "service.wechat.web.PreOrder", "WeChat", "WECHATHK", "WEB", true),
    ("wechat-web-wap", "wechat-h5", "service.wechat.web.PreOrder", "WeChat", "WECHATHK", "WAP", false),
    ("unionpay-web", "unionpay", "service.unionpay.web.PreOrder", "UnionPay", "UNIONPAY", "WEB", true),
    ("jetco", "jetco", "service.jetco.wap.PreOrder", "Jetco", "JETCOHK", "WAP", false),
    ("bocpayupi-app", "bocpay-app", "service.bocpayupi.wap.PreOrder", "BOCVMP", "BOCPAYUPI", "APP", false),
    ("bocpayupi-h5", "bocpay-h5", "service.bocpayupi.wap.PreOrder", "BOCVMP", "BOCPAYUPI", "H5", false),
    ("alipayplus-web", "alipay-qr", "service.alipayplus.web.PreOrder", "Alipay", "ALIPAYHK", "WEB", true),
];

const PHONE: (u32, u32) = (420, 800);
const DESKTOP: (u32, u32) = (1024, 800);

/// Asserts the loaded page fetched nothing but from the gateway, nothing
/// failed, and no script threw.
fn assert_self_contained(browser: &mut Chromium, base: &str, kind: &str) {
    let origin = format!("{base}/");
    let resources = browser.eval("performance.getEntriesByType('resource').map(e => e.name)");
    for r in resources.as_array().unwrap() {
        let r = r.as_str().unwrap();
        assert!(r.starts_with(&origin) || r.starts_with("data:"), "{kind} loads {r}, not from the gateway");
    }
    for e in browser.take_events() {
        let (method, params) = (e["method"].as_str().unwrap_or_default(), &e["params"]);
        match method {
            "Network.requestWillBeSent" => {
                // A data: URL (chromium's own form-control icons) fetches nothing.
                let url = params["request"]["url"].as_str().unwrap_or_default();
                assert!(
                    url.starts_with(&origin) || url.starts_with("data:"),
                    "{kind} requests {url}, not from the gateway"
                );
            }
            "Network.loadingFailed" => panic!("{kind}: a resource failed to load: {params}"),
            "Network.responseReceived" => {
                // Chromium asks for /favicon.ico by itself; the pages link no icon.
                let url = params["response"]["url"].as_str().unwrap_or_default();
                let status = params["response"]["status"].as_u64().unwrap_or(0);
                assert!(status < 400 || url == format!("{base}/favicon.ico"), "{kind}: {url} answered {status}");
            }
            "Runtime.exceptionThrown" => panic!("{kind}: a script threw: {params}"),
            _ => {}
        }
    }
}

/// Where screenshots go: `docs/screenshots` with `VMP_UPDATE_SCREENSHOTS=1`,
/// else a temporary directory (returned too, so it lives as long as needed).
fn screenshots_dir() -> (PathBuf, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = if std::env::var("VMP_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots")
    } else {
        tmp.path().to_path_buf()
    };
    std::fs::create_dir_all(&dir).unwrap();
    (dir, tmp)
}

/// Saves a screenshot after checking it is a real PNG of the expected width.
fn save_png(dir: &std::path::Path, name: &str, png: &[u8], width: u32) -> PathBuf {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}: not a PNG");
    assert!(png.len() > 2048, "{name}: only {} bytes, the page looks empty", png.len());
    let ihdr_width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(ihdr_width, width, "{name}: screenshot width");
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_kind_renders_in_chromium_self_contained_and_gets_a_screenshot() {
    // The table covers exactly the catalogue's (service, pay_scene) pairs.
    let mut pairs: Vec<(&str, &str)> = Service::web_sales()
        .map(Service::spec)
        .flat_map(|s| s.pay_scenes.iter().map(|scene| (s.label(), scene.as_str())))
        .collect();
    let mut ours: Vec<(&str, &str)> = KINDS.iter().map(|k| (k.2, k.5)).collect();
    pairs.sort_unstable();
    ours.sort_unstable();
    assert_eq!(ours, pairs, "one screenshot per (service, pay_scene)");

    let Some(mut browser) = Chromium::launch() else { return };
    let (dir, _tmp) = screenshots_dir();
    let gw = Gateway::spawn().await;

    for (i, (shot, kind, service, pay_type, wallet, scene, desktop)) in KINDS.into_iter().enumerate() {
        let out = format!("DEMO{:04}", i + 1);
        let link = gw.place(&Order::new(service, pay_type, wallet, scene, &out)).await;
        let (w, h) = if desktop { DESKTOP } else { PHONE };
        browser.set_viewport(w, h, !desktop);
        browser.take_events();
        browser.goto(&link);
        assert_eq!(browser.page_kind().as_deref(), Some(kind), "{service} {scene}");
        assert_eq!(browser.text("#amount").as_deref(), Some("HKD 88.00"), "{kind}");
        for button in ["#pay", "#fail", "#cancel"] {
            let shown = browser.eval(&format!(
                "(() => {{ const b = document.querySelector('{button}'); \
                 return !!b && b.getBoundingClientRect().height > 0; }})()"
            ));
            assert_eq!(shown, Value::Bool(true), "{kind} shows {button}");
        }
        assert_self_contained(&mut browser, &gw.base, kind);
        let png = browser.screenshot();
        let path = save_png(&dir, shot, &png, w);
        eprintln!("{shot}: {} ({} bytes)", path.display(), png.len());
    }

    // The result page: paid, no return_url.
    let link = gw.place(&Order::new("service.alipay.wap.PreOrder", "Alipay", "ALIPAYHK", "WAP", "DEMO-RESULT")).await;
    browser.set_viewport(PHONE.0, PHONE.1, true);
    browser.goto(&link);
    browser.navigating("the result page", |b| b.click("#pay"));
    assert_eq!(browser.page_kind().as_deref(), Some("result"));
    assert_eq!(browser.text("#order-status").as_deref(), Some("Payment successful"), "the state in words");
    assert_eq!(browser.eval("document.querySelector('#order-status').dataset.state"), json!("TRADE_SUCCESS"));
    assert_self_contained(&mut browser, &gw.base, "result");
    let png = browser.screenshot();
    save_png(&dir, "result", &png, PHONE.0);
}

// ---- the cashier and qrcode scenes (issue #19) ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cashier_lists_its_wallets_and_the_buyer_pays_on_the_chosen_wallets_page() {
    let Some(mut browser) = Chromium::launch() else { return };
    let (dir, _tmp) = screenshots_dir();
    let gw = Gateway::spawn().await;
    let merchant = Merchant::start().await;
    let sale = Params::new()
        .with("service", "service.united.wap.PreOrder")
        .with("out_trade_no", "CASHIER1")
        .with("transaction_amount", "88.00")
        .with("subject", "OpenVMP demo order")
        .with("buyerType", "android")
        .with("pay_scene", "WAP")
        .with("return_url", &merchant.return_url)
        .with("notify_url", &merchant.notify_url);
    let link = gw.send(sale).await.get("pay_apptrade").unwrap().to_owned();

    browser.set_viewport(PHONE.0, PHONE.1, true);
    browser.take_events();
    browser.goto(&link);
    assert_eq!(browser.page_kind().as_deref(), Some("cashier"));
    assert_eq!(browser.text("#amount").as_deref(), Some("HKD 88.00"));
    for w in Service::cashier_wallets() {
        let shown = browser.eval(&format!(
            "(() => {{ const b = document.querySelector('#wallet-{w}'); return !!b && b.getBoundingClientRect().height > 0; }})()"
        ));
        assert_eq!(shown, Value::Bool(true), "the cashier offers {w}");
    }
    assert_self_contained(&mut browser, &gw.base, "cashier");
    save_png(&dir, "cashier", &browser.screenshot(), PHONE.0);

    // The buyer picks WeChat Pay HK with the keyboard (Tab through the
    // wallets, Enter) and lands on its page, then pays with Tab and Space.
    let passed = browser.tab_to("wallet-WECHATHK", 20);
    let wallets: Vec<String> = Service::cashier_wallets().into_iter().map(|w| format!("wallet-{w}")).collect();
    assert_eq!(passed, wallets[..passed.len()], "Tab walks the wallets in order");
    assert_focus_visible(&mut browser);
    browser.navigating("the wallet's page", |b| b.press("Enter", false));
    assert_eq!(browser.page_kind().as_deref(), Some("wechat-h5"));
    browser.tab_to("pay", 5);
    browser.press(" ", false);
    wait_for_merchant_page(&mut browser, &merchant.return_url);

    let now = OffsetDateTime::now_utc();
    let back = merchant.returned().await;
    let returned = verify_return_form(&back.body, &gw.secret, now).expect("the return_url payload verifies");
    assert_eq!((returned.trade_status, returned.wallet.as_str()), (TradeStatus::TradeSuccess, "WECHATHK"));
    let note = merchant.notification().await;
    let notified = verify_notification(&note.body, &gw.secret, now).expect("the notification verifies");
    assert_eq!((notified.out_trade_no.as_str(), notified.wallet.as_str()), ("CASHIER1", "WECHATHK"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qrcode_sales_scan_page_pays_on_a_phone_and_the_merchant_gets_the_qrcode_scenes_notification() {
    let Some(mut browser) = Chromium::launch() else { return };
    let (dir, _tmp) = screenshots_dir();
    let gw = Gateway::spawn().await;
    let merchant = Merchant::start().await;
    let sale = Params::new()
        .with("service", "service.wechat.qrcode.PreOrder")
        .with("out_trade_no", "QRSCAN1")
        .with("transaction_amount", "88.00")
        .with("paytype", "WeChat")
        .with("payment_type", "WECHATHK")
        .with("buyertype", "others")
        .with("subject", "OpenVMP demo order")
        .with("tid", "TILL1")
        .with("notify_url", &merchant.notify_url);
    let qr_code = gw.send(sale).await.get("qr_code").unwrap().to_owned();
    assert!(qr_code.starts_with(&gw.base), "the sandbox's code opens this gateway: {qr_code}");

    browser.set_viewport(PHONE.0, PHONE.1, true);
    browser.take_events();
    browser.goto(&qr_code);
    assert_eq!(browser.page_kind().as_deref(), Some("wechat-scan"));
    assert_eq!(browser.text("#amount").as_deref(), Some("HKD 88.00"));
    assert_self_contained(&mut browser, &gw.base, "wechat-scan");
    save_png(&dir, "qrcode-scan-wechat", &browser.screenshot(), PHONE.0);

    browser.navigating("the result page", |b| b.click("#pay"));
    assert_eq!(browser.page_kind().as_deref(), Some("result"));
    assert_eq!(browser.text("#order-status").as_deref(), Some("Payment successful"));
    let note = merchant.notification().await;
    let n = verify_qrcode_notification(&note.body, &gw.secret, OffsetDateTime::now_utc()).expect("verifies");
    assert!(n.is_paid_sale());
    assert_eq!(
        (n.out_trade_no.as_str(), n.payment_type.as_str(), n.tid.as_deref()),
        ("QRSCAN1", "WECHATHK", Some("TILL1"))
    );
}

// ---- the pages for every buyer (issue #24) ----

/// The focused element shows a focus ring (`:focus-visible`, 3px solid).
fn assert_focus_visible(browser: &mut Chromium) {
    let ring = browser.eval(
        "(() => { const s = getComputedStyle(document.activeElement); \
         return [s.outlineStyle, s.outlineWidth]; })()",
    );
    assert_eq!(ring, json!(["solid", "3px"]), "focus on #{} is visible", browser.focused());
}

/// The families chromium drew `selector`'s text with, and how many glyphs each.
fn fonts_of(browser: &mut Chromium, selector: &str) -> Vec<(String, u64)> {
    browser.call("DOM.enable", json!({}));
    browser.call("CSS.enable", json!({}));
    let root = browser.call("DOM.getDocument", json!({}))["root"]["nodeId"].clone();
    let node = browser.call("DOM.querySelector", json!({ "nodeId": root, "selector": selector }))["nodeId"].clone();
    let fonts = browser.call("CSS.getPlatformFontsForNode", json!({ "nodeId": node }));
    fonts["fonts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["familyName"].as_str().unwrap().to_owned(), f["glyphCount"].as_u64().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyboard_only_buyer_fixes_a_card_error_in_traditional_chinese_and_pays_with_enter() {
    let Some(mut browser) = Chromium::launch() else { return };
    let (dir, _tmp) = screenshots_dir();
    let gw = Gateway::spawn().await;
    let merchant = Merchant::start().await;
    let mut order = Order::new("service.mpgs.web.PreOrder", "Mpgs", "MPGS", "WEB", "KEYBOARD1");
    order.return_url = Some(&merchant.return_url);
    order.lang = Some("hk");
    let link = gw.place(&order).await;

    browser.set_viewport(PHONE.0, PHONE.1, true);
    browser.goto(&link);
    assert_eq!(browser.page_kind().as_deref(), Some("mpgs"));
    assert_eq!(browser.eval("document.documentElement.lang"), json!("zh-HK"));
    assert_eq!(browser.eval("document.querySelectorAll('h1').length"), json!(1));
    assert_eq!(browser.text("#intro").as_deref(), Some("請確認付款（沙盒）。"));
    // The labels name the fields (what a screen reader announces).
    let labels = browser.eval(
        "['card_number', 'card_expiry', 'card_cvc'].map(id => document.getElementById(id).labels[0].textContent)",
    );
    assert_eq!(labels, json!(["卡號", "有效期 (MM/YY)", "安全碼"]));

    // Tab from the top reaches the card fields first, then the buttons.
    let passed = browser.tab_to("cancel", 10);
    assert_eq!(passed, ["card_number", "card_expiry", "card_cvc", "pay", "fail", "cancel"]);
    assert_focus_visible(&mut browser);

    // A security code too short: Enter submits, the page comes back with the
    // error next to the code, the expiry kept, the number retyped.
    browser.press("Tab", true);
    browser.press("Tab", true);
    browser.press("Tab", true);
    browser.press("Tab", true);
    browser.press("Tab", true);
    assert_eq!(browser.focused(), "card_number");
    browser.type_keys("4111111111111111");
    browser.press("Tab", false);
    browser.type_keys("12/30");
    browser.press("Tab", false);
    browser.type_keys("12");
    browser.navigating("the card form again", |b| b.press("Enter", false));
    assert_eq!(browser.page_kind().as_deref(), Some("mpgs"));
    assert_eq!(browser.text("#error").as_deref(), Some("安全碼無效。"));
    let state = browser.eval(
        "(() => { const f = id => document.getElementById(id); \
         return [f('card_number').value, f('card_expiry').value, f('card_cvc').value, \
                 f('card_cvc').getAttribute('aria-invalid'), f('card_cvc').getAttribute('aria-describedby'), \
                 document.activeElement.id]; })()",
    );
    assert_eq!(state, json!(["", "12/30", "", "true", "error", "card_cvc"]), "expiry kept, focus on the wrong field");
    save_png(&dir, "mpgs-card-error-hk", &browser.screenshot(), PHONE.0);

    // The buyer types the code, goes back for the number, and pays with Enter.
    browser.type_keys("123");
    browser.press("Tab", true);
    browser.press("Tab", true);
    assert_eq!(browser.focused(), "card_number");
    browser.type_keys("4111 1111 1111 1111");
    browser.press("Enter", false);
    wait_for_merchant_page(&mut browser, &merchant.return_url);
    let back = merchant.returned().await;
    let returned =
        verify_return_form(&back.body, &gw.secret, OffsetDateTime::now_utc()).expect("the return_url payload verifies");
    assert_eq!((returned.trade_status, returned.card_scheme.as_deref()), (TradeStatus::TradeSuccess, Some("VISA")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simplified_chinese_octopus_page_draws_chinese_glyphs_and_its_result_in_words() {
    let Some(mut browser) = Chromium::launch() else { return };
    let (dir, _tmp) = screenshots_dir();
    let gw = Gateway::spawn().await;
    let mut order = Order::new("service.oct.online.PreOrder", "OCT", "OCT", "WEB", "CHINESE1");
    order.lang = Some("cn");
    let link = gw.place(&order).await;

    browser.set_viewport(PHONE.0, PHONE.1, true);
    browser.goto(&link);
    assert_eq!(browser.page_kind().as_deref(), Some("octopus"));
    assert_eq!(browser.eval("document.documentElement.lang"), json!("zh-CN"));
    assert_eq!(browser.text("h1").as_deref(), Some("八达通"));
    assert_eq!(browser.text("#intro").as_deref(), Some("使用八达通支付（沙箱）。"));
    // Every glyph of the intro comes from a font with Chinese glyphs (the
    // tests install fonts-wqy-zenhei), none from a fallback drawing boxes.
    let cjk_families = std::process::Command::new("fc-list").args([":lang=zh", "family"]).output().unwrap().stdout;
    let cjk_families = String::from_utf8_lossy(&cjk_families).to_string();
    let fonts = fonts_of(&mut browser, "#intro");
    let chinese: u64 = fonts.iter().filter(|(f, _)| cjk_families.contains(f.as_str())).map(|(_, n)| n).sum();
    assert!(chinese >= 9, "the intro's 9 Chinese characters are drawn with a Chinese font: {fonts:?}");
    save_png(&dir, "octopus-cn", &browser.screenshot(), PHONE.0);

    browser.navigating("the result page", |b| b.click("#pay"));
    assert_eq!(browser.page_kind().as_deref(), Some("result"));
    assert_eq!(browser.text("#order-status").as_deref(), Some("支付成功"));
    assert_eq!(browser.eval("document.querySelector('#order-status').dataset.state"), json!("TRADE_SUCCESS"));
    save_png(&dir, "result-cn", &browser.screenshot(), PHONE.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_link_gets_a_styled_page_in_the_browsers_language() {
    let Some(mut browser) = Chromium::launch() else { return };
    let gw = Gateway::spawn().await;
    browser.call("Network.setExtraHTTPHeaders", json!({ "headers": { "Accept-Language": "zh-HK,zh;q=0.9" } }));
    browser.goto(&format!("{}/VMP/wap/payPage?userkey=NOPE&outTradeNo=X&sign=0", gw.base));
    assert_eq!(browser.page_kind().as_deref(), Some("invalid-link"));
    assert_eq!(browser.eval("document.documentElement.lang"), json!("zh-HK"));
    assert_eq!(browser.text("h1").as_deref(), Some("付款連結無效"));
    let header = browser.eval("getComputedStyle(document.querySelector('header')).backgroundColor");
    assert_eq!(header, json!("rgb(60, 64, 67)"), "the gateway's look, not an unstyled page");
}
