//! The developer console over HTTP: the JSON admin API, the request log
//! and its signature hint, order timelines, notification actions, access
//! (admin token, loopback, CSRF) and the OpenAPI document.

use std::time::Duration;

use serde_json::{Value, json};
use vmp_protocol::sign::{EmptyValues, lower_hex, signing_string};
use vmp_protocol::{Params, sign};
use vmp_server::Mode;
use vmp_server::merchant::MerchantStatus;

use crate::helpers::{TestApp, spawn_app, spawn_app_with, vmp_now};
use crate::receiver::{Behaviour, Receiver};

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let resp = app.client.get(format!("{}/admin/api{path}", app.base)).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let resp = app.client.post(format!("{}/admin/api{path}", app.base)).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Places an order (Alipay WAP); returns its eft_trade_no.
async fn place(app: &TestApp, out_trade_no: &str, notify: Option<&str>) -> String {
    let answer = crate::lifecycle::place(app, out_trade_no, "0.02", notify).await;
    answer.get("eft_trade_no").unwrap().to_owned()
}

fn error_of(v: &Value) -> &str {
    v["error"].as_str().unwrap_or_default()
}

async fn sandbox_pay(app: &TestApp, eft: &str) {
    let (status, v) = post(app, &format!("/orders/{eft}/settle"), json!({ "outcome": "success" })).await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test]
async fn a_wrongly_signed_request_is_logged_with_the_string_signed_and_both_signs() {
    let app = spawn_app().await;
    let mut p = app.seed_request("SIGNED-WRONG");
    p.remove("sign");
    // The classic mistake: the secret after the string instead of before it.
    let canonical = signing_string(&p, EmptyValues::Skip);
    let wrong = lower_hex(&sha2_digest(&format!("{canonical}{}", app.secret)));
    p.set("sign", &wrong);
    let answer = app.post(&p).await;
    assert_eq!(answer.get("return_status"), Some("10"));

    let (status, page) = get(&app, "/requests?status=10").await;
    assert_eq!(status, 200, "{page}");
    let listed = &page["requests"][0];
    assert_eq!(listed["return_status"], "10");
    assert_eq!(listed["out_trade_no"], "SIGNED-WRONG");
    assert!(listed["reason"].as_str().unwrap().contains("sign does not match"), "{listed}");
    assert!(listed["latency_us"].as_i64().unwrap() > 0);
    let id = listed["id"].as_i64().unwrap();

    let (status, detail) = get(&app, &format!("/requests/{id}")).await;
    assert_eq!(status, 200);
    let hint = &detail["sign_hint"];
    assert_eq!(hint["signed"], format!("<secret>{canonical}"));
    assert_eq!(hint["expected"], sign::sign(&app.secret, &p));
    assert_eq!(hint["received"], wrong);
    assert!(hint["mistake"].as_str().unwrap().contains("appended"), "{hint}");
    assert_eq!(detail["answer"].as_str().map(|a| a.contains("\"10\"")), Some(true));
    assert!(!detail.to_string().contains(&app.secret), "the secret is never shown");
}

fn sha2_digest(text: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).into()
}

#[tokio::test]
async fn neither_a_merchant_secret_nor_a_card_number_sent_in_a_request_or_on_the_pay_page_is_stored() {
    let app = spawn_app().await;
    let visa = "4111111111111111";
    let mastercard = "5555 5555 5555 4444";
    // A refused request carrying the secret and two card numbers.
    let mut p = app.seed_request("LEAKY");
    p.set("note", format!("my secret is {}", app.secret));
    p.set("card_number", visa);
    p.set("subject", format!("card {mastercard}"));
    p.set("sign", "0".repeat(64));
    assert_eq!(app.post(&p).await.get("return_status"), Some("10"));
    // And a card payment on the MPGS page.
    let mut order = Params::from_json(
        br#"{"service":"service.mpgs.web.PreOrder","payType":"Mpgs","wallet":"MPGS","pay_scene":"WEB",
        "transaction_amount":"8.00","subject":"card page","buyerType":"others","out_trade_no":"CARDPAGE"}"#,
    )
    .unwrap();
    order.set("user_confirm_key", &app.key).set("time", vmp_now());
    app.sign(&mut order);
    let placed = app.post(&order).await;
    let link = url::Url::parse(placed.get("pay_apptrade").unwrap()).unwrap();
    let q: std::collections::HashMap<String, String> = link.query_pairs().into_owned().collect();
    let resp = app
        .client
        .post(format!("{}{}", app.base, link.path()))
        .form(&[
            ("userkey", q["userkey"].as_str()),
            ("outTradeNo", q["outTradeNo"].as_str()),
            ("sign", q["sign"].as_str()),
            ("outcome", "success"),
            ("card_number", visa),
            ("card_expiry", "12/30"),
            ("card_cvc", "123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    // Everything the console keeps, as the admin API shows it.
    let (_, page) = get(&app, "/requests?limit=200").await;
    let mut kept = page.to_string();
    for r in page["requests"].as_array().unwrap() {
        if let Some(id) = r["id"].as_i64() {
            kept.push_str(&get(&app, &format!("/requests/{id}")).await.1.to_string());
        }
    }
    let eft = placed.get("eft_trade_no").unwrap();
    let (_, detail) = get(&app, &format!("/orders/{eft}")).await;
    kept.push_str(&detail.to_string());
    assert!(kept.contains("buyer_action"), "the card payment is in the timeline: {detail}");
    assert!(kept.contains("<secret>") && kept.contains("<masked>") && kept.contains("<card ****4444>"), "{kept}");
    for leak in [app.secret.as_str(), visa, "5555555555554444", mastercard, "123\""] {
        assert!(!kept.contains(leak), "{leak} was kept: {kept}");
    }
    // And on disk (SQLite): not in the database or its WAL.
    if std::env::var("VMP_TEST_DATABASE_URL").is_err() {
        app.state.store().flush_journal().await.unwrap();
        for file in ["openvmp.db", "openvmp.db-wal"] {
            let bytes = std::fs::read(app.data_dir.join(file)).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(visa) && !text.contains("5555555555554444"), "a card number is in {file}");
        }
    }
}

#[tokio::test]
async fn accepted_orders_are_in_the_request_log_from_their_order_and_filters_pick_them_out() {
    let app = spawn_app().await;
    let first = place(&app, "LOG-A", None).await;
    let second = place(&app, "LOG-B", None).await;
    let mut bad = app.seed_request("LOG-C");
    bad.set("wallet", "WECHATHK");
    app.sign(&mut bad);
    assert_eq!(app.post(&bad).await.get("return_status"), Some("-16"));

    let (status, page) = get(&app, "/requests").await;
    assert_eq!(status, 200);
    let list = page["requests"].as_array().unwrap();
    assert_eq!(list.len(), 3, "{page}");
    let refused = list.iter().find(|r| r["return_status"] == "-16").unwrap();
    assert!(refused["id"].as_i64().is_some());
    assert!(refused["reason"].as_str().unwrap().contains("wallet"), "{refused}");
    for eft in [&first, &second] {
        let r = list.iter().find(|r| r["eft_trade_no"] == eft.as_str()).unwrap();
        assert_eq!(r["return_status"], "00");
        assert!(r["id"].is_null(), "an accepted order's record is its order");
        assert!(r["latency_us"].as_i64().unwrap() > 0, "recent latency is known: {r}");
    }
    for (filter, expected) in [
        ("status=00", 2),
        ("status=refused", 1),
        ("status=-16", 1),
        ("status=10", 0),
        ("merchant=NOBODY", 0),
        ("endpoint=QRcodeTradeQuery.do", 0),
        ("service=service.alipay.wap.PreOrder", 3),
        ("service=service.wechat.web.PreOrder", 0),
    ] {
        let (status, page) = get(&app, &format!("/requests?{filter}")).await;
        assert_eq!(status, 200, "{filter}: {page}");
        assert_eq!(page["requests"].as_array().unwrap().len(), expected, "{filter}: {page}");
    }
    // Pages of one, newest first, no repeats.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..5 {
        let (_, page) = get(&app, &format!("/requests?limit=1{cursor}")).await;
        for r in page["requests"].as_array().unwrap() {
            seen.push(r["at_ms"].as_i64().unwrap());
        }
        match page["next"].as_str() {
            Some(n) => cursor = format!("&cursor={n}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] >= w[1]), "newest first: {seen:?}");
}

#[tokio::test]
async fn following_the_request_log_gives_what_came_after_the_cursor_in_order() {
    let app = spawn_app().await;
    place(&app, "BEFORE", None).await;
    let (_, page) = get(&app, "/requests?limit=1").await;
    let follow = page["follow"].as_str().unwrap().to_owned();
    let (_, nothing) = get(&app, &format!("/requests?after={follow}")).await;
    assert_eq!(nothing["requests"].as_array().unwrap().len(), 0, "{nothing}");
    place(&app, "AFTER-1", None).await;
    let mut bad = app.seed_request("AFTER-2");
    bad.set("sign", "1".repeat(64));
    app.post(&bad).await;
    let (_, news) = get(&app, &format!("/requests?after={follow}")).await;
    let mut outs: Vec<&str> =
        news["requests"].as_array().unwrap().iter().map(|r| r["out_trade_no"].as_str().unwrap()).collect();
    // The test clock is frozen: both happened at the same millisecond.
    outs.sort_unstable();
    assert_eq!(outs, ["AFTER-1", "AFTER-2"], "{news}");
    let next = news["follow"].as_str().unwrap();
    let (_, again) = get(&app, &format!("/requests?after={next}")).await;
    assert_eq!(again["requests"].as_array().unwrap().len(), 0, "nothing is repeated: {again}");
}

#[tokio::test]
async fn the_order_list_filters_searches_and_pages_without_repeating_an_order() {
    let app = spawn_app().await;
    let mut efts = Vec::new();
    for i in 1..=7 {
        efts.push(place(&app, &format!("PAGE{i}"), None).await);
    }
    sandbox_pay(&app, &efts[0]).await;
    sandbox_pay(&app, &efts[1]).await;
    let (status, _) = post(&app, &format!("/orders/{}/settle", efts[2]), json!({ "outcome": "fail" })).await;
    assert_eq!(status, 200);

    let mut listed = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let (status, page) = get(&app, &format!("/orders?limit=3{cursor}")).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        listed
            .extend(page["orders"].as_array().unwrap().iter().map(|o| o["eft_trade_no"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(n) => cursor = format!("&cursor={n}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut newest_first = efts.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);

    let today = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8)).date();
    let day = |d: time::Date| format!("{}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    let tomorrow = today.next_day().unwrap();
    let yesterday = today.previous_day().unwrap();
    let cases = [
        ("state=TRADE_SUCCESS".to_owned(), 2),
        ("state=TRADE_FAIL".to_owned(), 1),
        ("state=PENDING".to_owned(), 4),
        ("state=TRADE_PROCESSING".to_owned(), 4),
        ("state=TRADE_CLOSED".to_owned(), 0),
        ("service=service.alipay.wap.PreOrder".to_owned(), 7),
        ("service=service.wechat.web.PreOrder".to_owned(), 0),
        (format!("merchant={}", app.key), 7),
        ("merchant=NOBODY".to_owned(), 0),
        ("q=PAGE3".to_owned(), 1),
        (format!("q={}", efts[4]), 1),
        ("q=NO-SUCH-ORDER".to_owned(), 0),
        (format!("from={}", day(today)), 7),
        (format!("from={}", day(tomorrow)), 0),
        (format!("to={}", day(yesterday)), 0),
        (format!("from={}&to={}&state=TRADE_SUCCESS", day(yesterday), day(today)), 2),
    ];
    for (filter, expected) in cases {
        let (status, page) = get(&app, &format!("/orders?{filter}")).await;
        assert_eq!(status, 200, "{filter}: {page}");
        assert_eq!(page["orders"].as_array().unwrap().len(), expected, "{filter}: {page}");
    }
}

#[tokio::test]
async fn bad_console_and_admin_input_is_refused_with_a_message_naming_the_field() {
    let app = spawn_app().await;
    let eft = place(&app, "BADINPUT", None).await;
    let gets = [
        ("/orders?state=PAID", 400, "state"),
        ("/orders?merchant=has%20space", 400, "merchant"),
        ("/orders?from=2026-13-01", 400, "from"),
        ("/orders?from=2026-01-02&to=2026-01-01", 400, "from"),
        ("/orders?limit=0", 400, "limit"),
        ("/orders?limit=abc", 400, "limit"),
        ("/orders?cursor=zzz", 400, "cursor"),
        ("/orders?service=service.nope", 400, "service"),
        ("/orders/12a", 400, "eft_trade_no"),
        ("/orders/123", 404, "no order"),
        ("/requests?status=99", 400, "status"),
        ("/requests?endpoint=X.do", 400, "endpoint"),
        ("/requests?after=bad", 400, "cursor"),
        ("/requests/abc", 400, "id"),
        ("/requests/999999", 404, "no request"),
        ("/notifications?status=sent", 400, "status"),
        ("/notifications/0", 400, "id"),
        ("/notifications/999", 404, "no notification"),
    ];
    for (path, status, names) in gets {
        let (got, body) = get(&app, path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(error_of(&body).contains(names), "{path}: {body}");
    }
    let posts = [
        (format!("/orders/{eft}/settle"), json!({ "outcome": "maybe" }), 400, "outcome"),
        ("/sandbox/clock".to_owned(), json!({ "seconds": 0 }), 400, "seconds"),
        ("/merchants".to_owned(), json!({ "key": "bad key" }), 400, "key"),
        ("/merchants".to_owned(), json!({ "unknown": 1 }), 400, "body"),
        (format!("/merchants/{}/status", app.key), json!({ "status": "gone" }), 400, "status"),
        ("/merchants/NOBODY/secret".to_owned(), json!({}), 404, "no merchant"),
        ("/notifications/test".to_owned(), json!({ "merchant": app.key, "url": "ftp://x" }), 400, "url"),
        (
            "/notifications/test".to_owned(),
            json!({ "merchant": app.key, "url": "http://127.0.0.1:9/", "trade_status": "TRADE_PROCESSING" }),
            400,
            "trade_status",
        ),
    ];
    for (path, body, status, names) in posts {
        let (got, answer) = post(&app, &path, body).await;
        assert_eq!(got, status, "{path}: {answer}");
        assert!(error_of(&answer).contains(names), "{path}: {answer}");
    }
    let resp = app
        .client
        .post(format!("{}/admin/api/notifications/1/deliver", app.base))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 415, "a form or text body is not the API's");
    assert_eq!(app.order_count().await, 1, "nothing was changed");
}

#[tokio::test]
async fn an_orders_timeline_shows_its_request_page_view_settlement_and_each_attempt_with_the_body_sent() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::FailThenAck(1), &app.secret).await;
    let mut p = app.seed_request("TIMELINE");
    p.set("notify_url", &receiver.url);
    app.sign(&mut p);
    let placed = app.post(&p).await;
    let eft = placed.get("eft_trade_no").unwrap().to_owned();
    let page = app.client.get(placed.get("pay_apptrade").unwrap()).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    sandbox_pay(&app, &eft).await;
    receiver.wait_for_calls(1).await;
    wait_for(&app, &eft, |d| d["notifications"][0]["attempts"] == 1).await;
    let (status, _) = post(&app, "/sandbox/clock", json!({ "seconds": 20 })).await;
    assert_eq!(status, 200);
    receiver.wait_for_calls(2).await;
    let detail = wait_for(&app, &eft, |d| d["notifications"][0]["status"] == "delivered").await;

    let kinds: Vec<&str> = detail["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for kind in ["request", "page_view", "console_action", "settled", "notification_queued", "notification_attempt"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| **k == "notification_attempt").count(), 2);
    let at = |kind: &str| kinds.iter().position(|k| *k == kind).unwrap();
    assert!(at("request") < at("settled") && at("settled") < at("notification_queued"), "in order: {kinds:?}");
    let request = &detail["timeline"][0];
    assert_eq!(request["kind"], "request");
    assert!(request["sent"].as_str().unwrap().contains("TIMELINE"));
    assert!(request["answer"].as_str().unwrap().contains(&eft));
    let attempts = detail["notifications"][0]["attempt_log"].as_array().unwrap();
    assert_eq!(attempts[0]["http_status"], 500);
    assert_eq!(attempts[0]["outcome"], "rejected");
    assert_eq!(attempts[0]["answer_excerpt"], "try later");
    assert_eq!(attempts[1]["outcome"], "delivered");
    let bodies = receiver.bodies().await;
    for (attempt, sent) in attempts.iter().zip(&bodies) {
        assert_eq!(attempt["body"].as_str().unwrap().as_bytes(), sent.as_ref(), "the exact body sent");
        assert!(attempt["latency_ms"].as_i64().is_some());
    }
}

/// Polls the order's detail (bounded) until `done` holds.
async fn wait_for(app: &TestApp, eft: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..400 {
        let (_, d) = get(app, &format!("/orders/{eft}")).await;
        if done(&d) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("order {eft} never reached the expected state: {}", get(app, &format!("/orders/{eft}")).await.1);
}

#[tokio::test]
async fn deliver_now_and_resend_reach_the_merchant_and_refuse_the_wrong_state() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::FailThenAck(1), &app.secret).await;
    let eft = place(&app, "RESEND", Some(&receiver.url)).await;
    sandbox_pay(&app, &eft).await;
    receiver.wait_for_calls(1).await;
    let d = wait_for(&app, &eft, |d| d["notifications"][0]["attempts"] == 1).await;
    let id = d["notifications"][0]["id"].as_i64().unwrap();
    assert_eq!(d["notifications"][0]["status"], "owed");

    let (status, v) = post(&app, &format!("/notifications/{id}/resend"), json!({})).await;
    assert_eq!((status, error_of(&v).contains("still owed")), (409, true), "{v}");
    let (status, v) = post(&app, &format!("/notifications/{id}/deliver"), json!({})).await;
    assert_eq!(status, 200, "{v}");
    receiver.wait_for_calls(2).await;
    wait_for(&app, &eft, |d| d["notifications"][0]["status"] == "delivered").await;

    let (status, v) = post(&app, &format!("/notifications/{id}/deliver"), json!({})).await;
    assert_eq!((status, error_of(&v).contains("not owed")), (409, true), "{v}");
    let (status, resent) = post(&app, &format!("/notifications/{id}/resend"), json!({})).await;
    assert_eq!(status, 200, "{resent}");
    let new_id = resent["id"].as_i64().unwrap();
    assert_ne!(new_id, id);
    receiver.wait_for_calls(3).await;
    let d = wait_for(&app, &eft, |d| {
        d["notifications"].as_array().is_some_and(|n| n.len() == 2 && n[1]["status"] == "delivered")
    })
    .await;
    assert_eq!(d["notifications"][1]["attempt_log"][0]["outcome"], "delivered");
    let bodies = receiver.bodies().await;
    let third = crate::receiver::params(&bodies[2]);
    assert_eq!(third.get("eft_trade_no"), Some(eft.as_str()));
    assert_eq!(sign::verify(&app.secret, &third), Ok(()), "a resend is signed afresh");

    let (_, owed) = get(&app, "/notifications?status=owed").await;
    assert_eq!(owed["notifications"].as_array().unwrap().len(), 0);
    let (_, delivered) = get(&app, "/notifications?status=delivered").await;
    assert_eq!(delivered["notifications"].as_array().unwrap().len(), 2);
    let (_, failed) = get(&app, &format!("/notifications?status=failed&merchant={}", app.key)).await;
    assert_eq!(failed["notifications"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_test_notification_is_signed_sent_and_what_the_url_answered_reported() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    let (status, r) = post(
        &app,
        "/notifications/test",
        json!({ "merchant": app.key, "url": receiver.url, "trade_status": "TRADE_FAIL" }),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!((r["http_status"].as_u64(), r["acknowledged"].as_bool()), (Some(200), Some(true)), "{r}");
    let bodies = receiver.bodies().await;
    let got = vmp_protocol::notify::verify_notification(&bodies[0], &app.secret, time::OffsetDateTime::now_utc())
        .expect("a test notification verifies with the merchant's secret");
    assert_eq!(got.trade_status, vmp_protocol::TradeStatus::TradeFail);
    assert!(got.out_trade_no.starts_with("TEST"));
    assert_eq!(r["body"].as_str().unwrap().as_bytes(), bodies[0].as_ref());

    let prod = spawn_app_with(|s| s.mode = Mode::Production).await;
    prod.add_merchant("OVPROD000001", "prod-secret-123456", MerchantStatus::Active).await;
    let resp = prod
        .client
        .post(format!("{}/admin/api/notifications/test", prod.base))
        .bearer_auth(&prod.admin_token)
        .json(&json!({ "merchant": "OVPROD000001", "url": receiver.url }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let v: Value = resp.json().await.unwrap();
    assert!(error_of(&v).contains("refused in production"), "{v}");
    assert_eq!(receiver.calls(), 1, "nothing was sent to a loopback address from production");
}

#[tokio::test]
async fn the_admin_token_is_needed_off_loopback_and_in_production_and_a_wrong_one_changes_nothing() {
    let app = spawn_app().await;
    assert!(app.admin_token.starts_with("vmpadm_"), "the first start generates a token");
    let url = format!("{}/admin/api/merchants", app.base);
    let merchants_before = app.state.store().list_merchants().await.unwrap().len();
    // Same machine, but the browser asked for another host name (DNS rebinding).
    let cases: [(Option<&str>, Option<&str>, u16, &str); 4] = [
        (Some("gateway.example"), None, 401, "admin token required"),
        (Some("gateway.example"), Some("vmpadm_wrong"), 401, "refused"),
        (None, Some("vmpadm_wrong"), 401, "refused"),
        (Some("gateway.example"), Some(app.admin_token.as_str()), 200, ""),
    ];
    for (host, token, status, says) in cases {
        for method in ["GET", "POST"] {
            let mut req = if method == "GET" {
                app.client.get(&url)
            } else {
                app.client.post(&url).json(&json!({ "name": "intruder" }))
            };
            if let Some(h) = host {
                req = req.header("host", h);
            }
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status().as_u16(), status, "{method} {host:?} {token:?}");
            let v: Value = resp.json().await.unwrap();
            assert!(error_of(&v).contains(says), "{method} {host:?}: {v}");
        }
    }
    let merchants_after = app.state.store().list_merchants().await.unwrap().len();
    assert_eq!(merchants_after, merchants_before + 1, "only the request with the token added one");
    let resp = app.client.post(&url).header("sec-fetch-site", "cross-site").json(&json!({})).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 403, "a cross-site browser request");

    let prod = spawn_app_with(|s| s.mode = Mode::Production).await;
    let resp = prod.client.get(format!("{}/admin/api/orders", prod.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401, "production: always the token, loopback too");
    let resp =
        prod.client.get(format!("{}/admin/api/orders", prod.base)).bearer_auth(&prod.admin_token).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = no_redirects.get(format!("{}/console/orders", prod.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(resp.headers()["location"], "/console/login");
}

#[tokio::test]
async fn a_token_file_replaces_the_generated_token_and_nothing_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "a-long-enough-admin-token-0001\n").unwrap();
    let app = spawn_app_with(|s| {
        s.mode = Mode::Production;
        s.admin_token_file = Some(file.clone());
    })
    .await;
    assert_eq!(app.admin_token, "", "no token is generated when a file gives one");
    let get =
        |token: &'static str| app.client.get(format!("{}/admin/api/merchants", app.base)).bearer_auth(token).send();
    assert_eq!(get("a-long-enough-admin-token-0001").await.unwrap().status().as_u16(), 200);
    assert_eq!(get("a-long-enough-admin-token-0002").await.unwrap().status().as_u16(), 401);
}

#[tokio::test]
async fn the_openapi_document_is_valid_json_naming_every_route() {
    let app = spawn_app().await;
    let (status, doc) = get(&app, "/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let routes = [
        ("get", "/admin/api/orders"),
        ("get", "/admin/api/orders/{eft_trade_no}"),
        ("post", "/admin/api/orders/{eft_trade_no}/settle"),
        ("get", "/admin/api/requests"),
        ("get", "/admin/api/requests/{id}"),
        ("get", "/admin/api/notifications"),
        ("get", "/admin/api/notifications/{id}"),
        ("post", "/admin/api/notifications/{id}/deliver"),
        ("post", "/admin/api/notifications/{id}/resend"),
        ("post", "/admin/api/notifications/test"),
        ("post", "/admin/api/check-handler"),
        ("get", "/admin/api/sandbox/clock"),
        ("post", "/admin/api/sandbox/clock"),
        ("get", "/admin/api/merchants"),
        ("post", "/admin/api/merchants"),
        ("post", "/admin/api/merchants/{key}/status"),
        ("post", "/admin/api/merchants/{key}/secret"),
        ("post", "/admin/api/merchants/{key}/reset"),
        ("get", "/admin/api/merchants/{key}/faults"),
        ("post", "/admin/api/merchants/{key}/faults"),
        ("delete", "/admin/api/merchants/{key}/faults"),
        ("delete", "/admin/api/merchants/{key}/faults/{id}"),
        ("get", "/admin/api/openapi.json"),
    ];
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in routes {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is in the document");
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, routes.len(), "and nothing else: {:?}", paths.keys().collect::<Vec<_>>());
    for schema in ["OrderPage", "OrderDetail", "RequestDetail", "SignHintView", "NotificationView", "AttemptView"] {
        assert!(doc["components"]["schemas"].get(schema).is_some(), "{schema} is described");
    }
    // Every documented GET without parameters answers with JSON.
    for (method, path) in routes {
        if method == "get" && !path.contains('{') {
            let resp = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 200, "{path}");
            assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "{path}");
        }
    }
}

/// The `value` of the first `<input name="csrf">` of a page.
fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("the page has a form with a csrf token");
    html[at + 19..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn console_forms_need_their_sessions_csrf_token_and_say_why_when_refused() {
    let app = spawn_app().await;
    let page = app.client.get(format!("{}/console/merchants", app.base)).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let headers = page.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let cookie = headers["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    assert!(headers["set-cookie"].to_str().unwrap().contains("HttpOnly"));
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script"), "no script on console pages");
    let csrf = csrf_of(&html);
    let other = app.client.get(format!("{}/console/merchants", app.base)).send().await.unwrap();
    let other_cookie = other.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();

    let before = app.state.store().list_merchants().await.unwrap().len();
    let attempts = [
        (cookie.as_str(), None, "missing csrf"),
        (cookie.as_str(), Some("0123456789abcdef0123456789abcdef"), "forged csrf"),
        (other_cookie.as_str(), Some(csrf.as_str()), "another session's csrf"),
    ];
    for (cookie, token, what) in attempts {
        let mut form = vec![("name", "csrf victim")];
        if let Some(t) = token {
            form.push(("csrf", t));
        }
        let resp = app
            .client
            .post(format!("{}/console/merchants", app.base))
            .header("cookie", cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 403, "{what}");
        assert!(resp.text().await.unwrap().contains("CSRF token"), "{what}: says why");
    }
    assert_eq!(app.state.store().list_merchants().await.unwrap().len(), before, "nothing was changed");

    let resp = app
        .client
        .post(format!("{}/console/merchants", app.base))
        .header("cookie", &cookie)
        .form(&[("name", "Shop"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let shown = resp.text().await.unwrap();
    let secret = shown.split(r#"id="new-secret">"#).nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert_eq!(secret.len(), 32, "the new secret is shown once");
    let list =
        app.client.get(format!("{}/console/merchants", app.base)).header("cookie", &cookie).send().await.unwrap();
    assert!(!list.text().await.unwrap().contains(&secret), "and never again");
    let (_, api_list) = get(&app, "/merchants").await;
    assert!(!api_list.to_string().contains(&secret));
}

#[tokio::test]
async fn the_request_log_is_off_in_production_unless_enabled_and_pruned_after_its_retention() {
    async fn refused(app: &TestApp) {
        let mut p = Params::new()
            .with("service", "service.alipay.wap.PreOrder")
            .with("user_confirm_key", "OVPROD000001")
            .with("time", vmp_now());
        p.set("sign", "2".repeat(64));
        assert_eq!(app.post(&p).await.get("return_status"), Some("10"));
    }
    async fn logged(app: &TestApp) -> usize {
        let resp =
            app.client.get(format!("{}/admin/api/requests", app.base)).bearer_auth(&app.admin_token).send().await;
        let v: Value = resp.unwrap().json().await.unwrap();
        v["requests"].as_array().unwrap().len()
    }
    let off = spawn_app_with(|s| s.mode = Mode::Production).await;
    off.add_merchant("OVPROD000001", "prod-secret-123456", MerchantStatus::Active).await;
    refused(&off).await;
    assert_eq!(logged(&off).await, 0, "production: off by default");

    let on = spawn_app_with(|s| {
        s.mode = Mode::Production;
        s.request_log_days = Some(1);
    })
    .await;
    on.add_merchant("OVPROD000001", "prod-secret-123456", MerchantStatus::Active).await;
    refused(&on).await;
    assert_eq!(logged(&on).await, 1, "production with --request-log-days 1");

    let sandbox = spawn_app_with(|s| s.request_log_days = Some(1)).await;
    let mut p = sandbox.seed_request("PRUNED");
    p.set("sign", "3".repeat(64));
    sandbox.post(&p).await;
    let (_, page) = get(&sandbox, "/requests").await;
    let id = page["requests"][0]["id"].as_i64().unwrap_or_else(|| panic!("the refused request is logged: {page}"));
    assert_eq!(sandbox.sweep().await.journal_pruned, 0, "not a day old yet");
    let (status, _) = post(&sandbox, "/sandbox/clock", json!({ "seconds": 25 * 3600 })).await;
    assert_eq!(status, 200);
    assert!(sandbox.sweep().await.journal_pruned >= 1, "a day later the sweeper prunes it");
    let (status, _) = get(&sandbox, &format!("/requests/{id}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn merchants_are_added_disabled_enabled_and_given_a_new_secret_shown_once() {
    let app = spawn_app_with(|s| s.merchant_cache_ttl = Duration::ZERO).await;
    let (status, created) = post(&app, "/merchants", json!({ "name": "Shop", "key": "OVSHOP000001" })).await;
    assert_eq!(status, 200, "{created}");
    let old_secret = created["secret"].as_str().unwrap().to_owned();
    let order = |secret: String, out: &'static str| {
        let mut p = app.seed_request(out);
        p.set("user_confirm_key", "OVSHOP000001");
        sign::sign_in_place(&secret, &mut p);
        p
    };
    assert_eq!(app.post(&order(old_secret.clone(), "M1")).await.get("return_status"), Some("00"));
    let (status, _) = post(&app, "/merchants", json!({ "key": "OVSHOP000001" })).await;
    assert_eq!(status, 409, "a key in use");

    let (status, _) = post(&app, "/merchants/OVSHOP000001/status", json!({ "status": "disabled" })).await;
    assert_eq!(status, 200);
    assert_eq!(app.post(&order(old_secret.clone(), "M2")).await.get("return_status"), Some("22"));
    let (status, _) = post(&app, "/merchants/OVSHOP000001/status", json!({ "status": "active" })).await;
    assert_eq!(status, 200);

    let (status, renewed) = post(&app, "/merchants/OVSHOP000001/secret", json!({})).await;
    assert_eq!(status, 200);
    let new_secret = renewed["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, old_secret);
    assert_eq!(app.post(&order(old_secret.clone(), "M3")).await.get("return_status"), Some("10"));
    assert_eq!(app.post(&order(new_secret.clone(), "M4")).await.get("return_status"), Some("00"));
    let (_, list) = get(&app, "/merchants").await;
    let text = list.to_string();
    assert!(text.contains("OVSHOP000001") && !text.contains(&old_secret) && !text.contains(&new_secret));
}

#[tokio::test]
async fn sandbox_controls_settle_move_the_clock_and_reset_a_merchant_but_not_in_production() {
    let app = spawn_app().await;
    let eft = place(&app, "CONTROL", None).await;
    let mut bad = app.seed_request("CONTROL-BAD");
    bad.set("sign", "4".repeat(64));
    app.post(&bad).await;
    let (status, o) = post(&app, &format!("/orders/{eft}/settle"), json!({ "outcome": "success" })).await;
    assert_eq!((status, o["trade_status"].as_str()), (200, Some("TRADE_SUCCESS")), "{o}");
    let (status, again) = post(&app, &format!("/orders/{eft}/settle"), json!({ "outcome": "fail" })).await;
    assert_eq!(status, 409, "{again}");
    assert!(error_of(&again).contains("final already"));

    let (status, done) = post(&app, &format!("/merchants/{}/reset", app.key), json!({})).await;
    assert_eq!(status, 200, "{done}");
    assert!(done["message"].as_str().unwrap().contains("1 orders"), "{done}");
    let (_, orders) = get(&app, "/orders").await;
    assert_eq!(orders["orders"].as_array().unwrap().len(), 0);
    let (_, requests) = get(&app, &format!("/requests?merchant={}", app.key)).await;
    assert_eq!(requests["requests"].as_array().unwrap().len(), 0, "{requests}");
    assert_eq!(place(&app, "CONTROL", None).await.len(), 23, "the out_trade_no can be used again");

    let (_, before) = get(&app, "/sandbox/clock").await;
    let (status, after) = post(&app, "/sandbox/clock", json!({ "seconds": 3600 })).await;
    assert_eq!(status, 200);
    assert_eq!(after["offset_seconds"], 3600);
    assert_ne!(before["now"], after["now"]);

    let prod = spawn_app_with(|s| s.mode = Mode::Production).await;
    let resp = prod
        .client
        .post(format!("{}/admin/api/sandbox/clock", prod.base))
        .bearer_auth(&prod.admin_token)
        .json(&json!({ "seconds": 60 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 409);
    let v: Value = resp.json().await.unwrap();
    assert!(error_of(&v).contains("production"), "{v}");
}

#[tokio::test]
async fn fault_rules_are_set_through_the_admin_api_and_the_console_and_injections_are_in_the_request_log() {
    let app = spawn_app().await;
    let key = app.key.clone();
    place(&app, "FAULT-1", None).await;
    let query = [("querytype", "OUT_TRADE"), ("out_trade_no", "FAULT-1")];
    const QUERY: &str = "/VMP/Servlet/QRcodeTradeQuery.do";

    // A bad rule changes nothing and names the field.
    let (status, v) = post(&app, &format!("/merchants/{key}/faults"), json!({ "operation": "nope" })).await;
    assert_eq!(status, 400, "{v}");
    assert!(error_of(&v).contains("operation"), "{v}");
    let (status, v) =
        post(&app, "/merchants/NOBODY1/faults", json!({ "operation": "query", "return_status": "51" })).await;
    assert_eq!(status, 404, "{v}");

    // Act: the next query answers 51, the one after that is late.
    let (status, rule) =
        post(&app, &format!("/merchants/{key}/faults"), json!({ "operation": "query", "return_status": "51" })).await;
    assert_eq!(status, 200, "{rule}");
    assert_eq!(rule["rule"]["return_status"], "51");
    assert_eq!(rule["remaining"], 1);
    let (_, listed) = get(&app, &format!("/merchants/{key}/faults")).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(app.call(QUERY, &query).await.get("return_status"), Some("51"));
    assert_eq!(app.call(QUERY, &query).await.get("return_status"), Some("00"), "used up");
    let (status, _) =
        post(&app, &format!("/merchants/{key}/faults"), json!({ "operation": "query", "delay_ms": 20 })).await;
    assert_eq!(status, 200);
    assert_eq!(app.call(QUERY, &query).await.get("return_status"), Some("00"));

    // Assert: both injections are marked in the request log.
    let (_, page) = get(&app, "/requests").await;
    let reasons: Vec<&str> = page["requests"].as_array().unwrap().iter().filter_map(|r| r["reason"].as_str()).collect();
    assert!(reasons.iter().any(|r| r.contains("injected") && r.contains("51")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with("[injected: ") && r.contains("20")), "{reasons:?}");

    // The console's form adds one (CSRF-checked) and its list shows it; delete clears.
    let page = app.client.get(format!("{}/console/sandbox", app.base)).send().await.unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let csrf = csrf_of(&page.text().await.unwrap());
    let console_post = |form: Vec<(&'static str, String)>| {
        app.client.post(format!("{}/console/sandbox/faults", app.base)).header("cookie", &cookie).form(&form).send()
    };
    let form = vec![
        ("csrf", csrf.clone()),
        ("merchant", key.clone()),
        ("operation", String::new()),
        ("notification", "duplicate".into()),
        ("count", "2".into()),
    ];
    let added = console_post(form).await.unwrap();
    assert_eq!(added.status().as_u16(), 200);
    assert!(added.text().await.unwrap().contains("Fault rule added"));
    let html = app
        .client
        .get(format!("{}/console/sandbox", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"id="faults""#) && html.contains("duplicate"), "the rule is listed");
    let refused =
        console_post(vec![("csrf", csrf.clone()), ("merchant", key.clone()), ("count", "two".into())]).await.unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    assert!(refused.text().await.unwrap().contains("count"), "the message names the field");
    let resp = app.client.delete(format!("{}/admin/api/merchants/{key}/faults", app.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (_, listed) = get(&app, &format!("/merchants/{key}/faults")).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "{listed}");
}

#[tokio::test]
async fn the_handler_check_grades_a_handler_that_acks_forgeries_through_the_api_and_the_console() {
    let app = spawn_app().await;
    let key = app.key.clone();
    // A handler that answers `success` to everything, forged or not.
    let receiver = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    let url = receiver.url.clone();

    let (status, report) = post(&app, "/check-handler", json!({ "merchant": key, "url": url, "timeout": "5" })).await;
    assert_eq!(status, 200, "{report}");
    let cases = report["cases"].as_array().unwrap();
    let case = |name: &str| cases.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("{name}: {report}"));
    assert_eq!(case("valid")["passed"], true, "a valid notification acked is right");
    assert!(report["failed"].as_u64().unwrap() >= 1, "acking forgeries fails: {report}");
    assert!(cases.iter().any(|c| c["name"].as_str().unwrap().starts_with("tampered") && c["passed"] == false));

    for (body, field) in [
        (json!({ "merchant": key, "url": "ftp://x" }), "url"),
        (json!({ "merchant": key, "url": url, "timeout": "99" }), "timeout"),
        (json!({ "url": url }), "merchant"),
    ] {
        let (status, v) = post(&app, "/check-handler", body).await;
        assert_eq!(status, 400, "{v}");
        assert!(error_of(&v).starts_with(field), "{v}");
    }

    // The console runs the same check from a form.
    let page = app.client.get(format!("{}/console/check-handler", app.base)).send().await.unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let csrf = csrf_of(&page.text().await.unwrap());
    let form = [("csrf", csrf.as_str()), ("merchant", key.as_str()), ("url", url.as_str()), ("timeout", "5")];
    let resp = app
        .client
        .post(format!("{}/console/check-handler", app.base))
        .header("cookie", &cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains(r#"id="check-summary""#) && html.contains("FAIL") && html.contains("PASS"), "{html}");

    let prod = spawn_app_with(|s| s.mode = Mode::Production).await;
    let resp = app_post_with_token(&prod, "/check-handler", json!({ "merchant": "OVPROD000001", "url": url })).await;
    assert_eq!(resp, 409, "a sandbox tool");
}

async fn app_post_with_token(app: &TestApp, path: &str, body: Value) -> u16 {
    let resp = app
        .client
        .post(format!("{}/admin/api{path}", app.base))
        .bearer_auth(&app.admin_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    resp.status().as_u16()
}

#[tokio::test]
async fn the_order_list_offers_the_sales_of_every_served_scene_as_filters() {
    let app = spawn_app().await;
    let html = app.client.get(format!("{}/console/orders", app.base)).send().await.unwrap().text().await.unwrap();
    for service in [
        "service.alipay.wap.PreOrder",
        "service.wechat.qrcode.PreOrder",
        "service.wechat.jsapi.PreOrder",
        "AppTradePay.do",
        "service.united.wap.PreOrder",
    ] {
        assert!(html.contains(&format!("<option>{service}</option>")), "{service} is offered");
    }
    assert!(!html.contains("<option>service.mpgs.token.ApplePay</option>"), "a planned service is not");
}
