//! The developer console in chromium: the order list and search, an
//! order's notification attempts and a resend the merchant then gets, the
//! signature hint of a wrongly signed request, a form with a forged CSRF
//! token, the production login refusing a wrong token; a screenshot of
//! every console page (`docs/screenshots/console-*.png`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vmp_protocol::sign;

use crate::cdp::{Chromium, WAIT};
use crate::gateway::{Gateway, Merchant, Order};
use crate::{assert_self_contained, save_png};

const DESKTOP: (u32, u32) = (1280, 900);

/// Where screenshots go: docs/screenshots with `VMP_UPDATE_SCREENSHOTS=1`,
/// else a temporary directory (they are still taken and checked).
fn shots() -> (PathBuf, Option<tempfile::TempDir>) {
    if std::env::var("VMP_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        (PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots"), None)
    } else {
        let tmp = tempfile::tempdir().unwrap();
        (tmp.path().to_path_buf(), Some(tmp))
    }
}

/// Opens a console page and checks it is self-contained.
fn open(browser: &mut Chromium, gw: &Gateway, path: &str, page: &str) {
    browser.take_events();
    browser.goto(&format!("{}{path}", gw.base));
    assert_eq!(browser.eval("document.body.dataset.page"), Value::String(page.into()), "{path}");
    assert_self_contained(browser, &gw.base, path);
}

fn count(browser: &mut Chromium, selector: &str) -> u64 {
    browser.eval(&format!("document.querySelectorAll({}).length", json!(selector))).as_u64().unwrap_or(0)
}

/// Reloads `path` until `selector` matches at least `n` elements (the
/// notifier records an attempt just after the merchant got it).
fn reload_until(browser: &mut Chromium, url: &str, selector: &str, n: u64) {
    let deadline = Instant::now() + WAIT;
    loop {
        browser.goto(url);
        if count(browser, selector) >= n {
            return;
        }
        assert!(Instant::now() < deadline, "{selector} never reached {n} on {url}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn sandbox_pay(gw: &Gateway, eft: &str) {
    let resp = reqwest::Client::new()
        .post(format!("{}/sandbox/orders/{eft}/pay", gw.base))
        .json(&json!({ "outcome": "success" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_lists_searches_shows_an_orders_attempts_and_a_resend_reaches_the_merchant() {
    let Some(mut browser) = Chromium::launch() else { return };
    let (dir, _tmp) = shots();
    browser.set_viewport(DESKTOP.0, DESKTOP.1, false);
    let gw = Gateway::spawn().await;
    let merchant = Merchant::start().await;
    for (i, service, pay_type, wallet, scene) in [
        (1, "service.wechat.web.PreOrder", "WeChat", "WECHATHK", "WEB"),
        (2, "service.mpgs.web.PreOrder", "Mpgs", "MPGS", "WEB"),
        (3, "service.payme.web.PreOrder", "PAYME", "PAYME", "WEB"),
    ] {
        let out = format!("CONSOLE-{i}");
        gw.place(&Order::new(service, pay_type, wallet, scene, &out)).await;
    }
    let mut order = Order::new("service.alipay.wap.PreOrder", "Alipay", "ALIPAYHK", "WAP", "CONSOLE-NOTIFY");
    order.notify_url = Some(&merchant.notify_url);
    order.amount = "12.30";
    let answer = gw.post(&gw.request(&order)).await;
    let eft = answer.get("eft_trade_no").unwrap().to_owned();
    sandbox_pay(&gw, &eft).await;
    merchant.notifications(1).await;

    open(&mut browser, &gw, "/console/orders", "orders");
    assert_eq!(count(&mut browser, "#orders tbody tr"), 4);
    let shot = browser.screenshot();
    save_png(&dir, "console-orders", &shot, DESKTOP.0);

    assert_eq!(browser.type_into("#q", "CONSOLE-NOTIFY"), "CONSOLE-NOTIFY");
    browser.navigating("the search", |b| b.click("#apply"));
    assert_eq!(count(&mut browser, "#orders tbody tr"), 1, "the search finds one order");
    assert_eq!(browser.eval("document.querySelector('#orders tbody tr').dataset.eft"), Value::String(eft.clone()));
    browser.navigating("the order", |b| b.click("#orders tbody tr a"));
    let order_url = format!("{}/console/orders/{eft}", gw.base);
    reload_until(&mut browser, &order_url, ".attempt", 1);
    assert_eq!(browser.text("#trade-status").as_deref(), Some("TRADE_SUCCESS"));
    assert_eq!(browser.text(".attempt .http").as_deref(), Some("200"));
    for kind in ["request", "settled", "notification_attempt"] {
        assert!(count(&mut browser, &format!("#timeline li[data-kind={kind}]")) >= 1, "{kind} in the timeline");
    }
    assert_self_contained(&mut browser, &gw.base, "order");
    let shot = browser.screenshot();
    save_png(&dir, "console-order", &shot, DESKTOP.0);

    browser.navigating("the resend", |b| b.click(".resend"));
    assert_eq!(browser.text("#title").as_deref(), Some("Resent"));
    let got = merchant.notifications(2).await;
    let again = vmp_protocol::notify::verify_notification(&got[1].body, &gw.secret, time::OffsetDateTime::now_utc())
        .expect("the resent notification verifies");
    assert_eq!(again.eft_trade_no, eft);

    open(&mut browser, &gw, "/console/notifications", "notifications");
    assert_eq!(count(&mut browser, "#notifications tbody tr"), 2);
    let shot = browser.screenshot();
    save_png(&dir, "console-notifications", &shot, DESKTOP.0);
    open(&mut browser, &gw, "/console/sandbox", "sandbox");
    let shot = browser.screenshot();
    save_png(&dir, "console-sandbox", &shot, DESKTOP.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrongly_signed_request_shows_the_string_signed_and_both_signs_in_the_console() {
    let Some(mut browser) = Chromium::launch() else { return };
    let (dir, _tmp) = shots();
    browser.set_viewport(DESKTOP.0, DESKTOP.1, false);
    let gw = Gateway::spawn().await;
    gw.place(&Order::new("service.alipay.wap.PreOrder", "Alipay", "ALIPAYHK", "WAP", "FINE-1")).await;
    let mut p = gw.request(&Order::new("service.alipay.wap.PreOrder", "Alipay", "ALIPAYHK", "WAP", "WRONG-SIGN"));
    let expected = sign::sign(&gw.secret, &p);
    // Signed by a client that forgot to sort the keys.
    let unsorted: String = p
        .iter()
        .filter(|(k, v)| *k != "sign" && !v.is_empty())
        .map(|(k, v)| format!("{k}={}", v.as_str()))
        .collect::<Vec<_>>()
        .join("&");
    let wrong = {
        use sha2::Digest;
        sign::lower_hex(&sha2::Sha256::digest(format!("{}{unsorted}", gw.secret).as_bytes()).into())
    };
    p.set("sign", &wrong);
    assert_eq!(gw.post(&p).await.get("return_status"), Some("10"));

    // The request log is written after the answer, with the store's group
    // commits: under load the console may list it a moment later.
    reload_until(&mut browser, &format!("{}/console/requests", gw.base), "#requests tbody tr", 2);
    open(&mut browser, &gw, "/console/requests", "requests");
    assert_eq!(count(&mut browser, "#requests tbody tr"), 2, "the accepted order and the refused request");
    let shot = browser.screenshot();
    save_png(&dir, "console-requests", &shot, DESKTOP.0);
    browser.navigating("the refused request", |b| b.click("#requests tr[data-status='10'] a"));
    assert_eq!(browser.text("#return-status").as_deref(), Some("10"));
    let signed = browser.text("#signed").unwrap();
    assert!(signed.starts_with("<secret>active_time=") || signed.starts_with("<secret>body="), "{signed}");
    assert!(!signed.contains(&gw.secret), "the secret is never shown");
    assert_eq!(browser.text("#expected").as_deref(), Some(expected.as_str()));
    assert_eq!(browser.text("#received").as_deref(), Some(wrong.as_str()));
    assert!(browser.text("#mistake").unwrap().contains("sort the keys"), "the likely mistake is named");
    assert_self_contained(&mut browser, &gw.base, "request");
    let shot = browser.screenshot();
    save_png(&dir, "console-request-sign-hint", &shot, DESKTOP.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_form_with_a_forged_csrf_token_changes_nothing_and_says_why() {
    let Some(mut browser) = Chromium::launch() else { return };
    let (dir, _tmp) = shots();
    browser.set_viewport(DESKTOP.0, DESKTOP.1, false);
    let gw = Gateway::spawn().await;
    open(&mut browser, &gw, "/console/merchants", "merchants");
    assert_eq!(count(&mut browser, "#merchants tbody tr"), 1);
    let shot = browser.screenshot();
    save_png(&dir, "console-merchants", &shot, DESKTOP.0);

    browser.eval("document.querySelector('#add-merchant input[name=csrf]').value = 'forged-by-another-site'");
    browser.navigating("the forged form", |b| b.click("#add"));
    assert_eq!(browser.text("#title").as_deref(), Some("Refused"));
    assert!(browser.text("#message").unwrap().contains("CSRF token"), "it says why");
    open(&mut browser, &gw, "/console/merchants", "merchants");
    assert_eq!(count(&mut browser, "#merchants tbody tr"), 1, "nothing was added");

    // The same form, unaltered, works and shows the secret once.
    browser.navigating("the real form", |b| b.click("#add"));
    assert_eq!(count(&mut browser, "#merchants tbody tr"), 2);
    let secret = browser.text("#new-secret").unwrap();
    assert_eq!(secret.len(), 32);
    open(&mut browser, &gw, "/console/merchants", "merchants");
    let page = browser.eval("document.body.innerText").as_str().unwrap().to_owned();
    assert!(!page.contains(&secret), "the secret is never shown again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_production_the_console_asks_for_the_admin_token_and_refuses_a_wrong_one() {
    let Some(mut browser) = Chromium::launch() else { return };
    let (dir, _tmp) = shots();
    browser.set_viewport(DESKTOP.0, DESKTOP.1, false);
    let gw = Gateway::spawn_with(|s| s.mode = vmp_server::Mode::Production).await;
    browser.goto(&format!("{}/console/orders", gw.base));
    assert_eq!(browser.eval("location.pathname"), Value::String("/console/login".into()), "sent to sign in");
    assert_self_contained(&mut browser, &gw.base, "login");
    let shot = browser.screenshot();
    save_png(&dir, "console-login", &shot, DESKTOP.0);

    browser.type_into("#token", "vmpadm_not_the_token");
    browser.navigating("a wrong token", |b| b.click("#sign-in"));
    assert!(browser.text("#error").unwrap().contains("admin token refused"), "it says why");
    browser.goto(&format!("{}/console/orders", gw.base));
    assert_eq!(browser.eval("location.pathname"), Value::String("/console/login".into()), "still signed out");

    browser.type_into("#token", &gw.admin_token);
    browser.navigating("the right token", |b| b.click("#sign-in"));
    assert_eq!(browser.eval("document.body.dataset.page"), Value::String("orders".into()));
    assert_eq!(browser.text(".mode").as_deref(), Some("production"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_rule_is_added_from_the_sandbox_page_and_the_handler_check_grades_a_handler() {
    let Some(mut browser) = Chromium::launch() else { return };
    let (dir, _tmp) = shots();
    browser.set_viewport(DESKTOP.0, DESKTOP.1, false);
    let gw = Gateway::spawn().await;
    let merchant = Merchant::start().await;

    // A rule from the form: the next two refunds answer 51.
    open(&mut browser, &gw, "/console/sandbox", "sandbox");
    assert!(browser.text("#no-faults").is_some(), "no rules yet");
    browser.eval(
        "document.querySelector('#fault-operation').value = 'refund'; \
         document.querySelector('#fault-status').value = '51'; \
         document.querySelector('#fault-count').value = '2'; true",
    );
    browser.navigating("adding the rule", |b| b.click("#add-fault-button"));
    assert_eq!(browser.text("#title").as_deref(), Some("Fault rule added"));
    open(&mut browser, &gw, "/console/sandbox", "sandbox");
    assert_eq!(count(&mut browser, "#faults tbody tr"), 1);
    assert!(browser.text("#faults tbody tr").unwrap_or_default().contains("51"), "the rule in words");
    let shot = browser.screenshot();
    save_png(&dir, "console-sandbox-faults", &shot, DESKTOP.0);

    // The handler check against a merchant's handler.
    open(&mut browser, &gw, "/console/check-handler", "check-handler");
    browser.eval(&format!("document.querySelector('#check-url').value = {}; true", json!(merchant.notify_url)));
    browser.navigating("the check", |b| b.click("#check"));
    let summary = browser.text("#check-summary").unwrap_or_default();
    assert!(summary.contains("passed") && summary.contains("failed"), "{summary}");
    assert!(count(&mut browser, "#check-cases tbody tr") >= 10, "every case is listed");
    assert_self_contained(&mut browser, &gw.base, "check-handler");
    // A long page: half size keeps the file small.
    let shot = browser.screenshot_scaled(0.5);
    save_png(&dir, "console-check-handler", &shot, DESKTOP.0 / 2);
}
