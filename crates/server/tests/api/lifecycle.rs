//! The payment lifecycle: sandbox outcomes, expiry, notifications with
//! retries, return_url, hosted checkout pages.

use std::time::Duration;

use vmp_protocol::notify::{TradeStatus, verify_notification, verify_return_form};
use vmp_protocol::{Params, Service};
use vmp_server::Mode;

use crate::helpers::{TestApp, spawn_app, spawn_app_with, spawn_in_with};
use crate::receiver::{Behaviour, Receiver, params};

/// Places the seed order (without `return_url`) at `amount`; the answer.
pub(crate) async fn place(app: &TestApp, out_trade_no: &str, amount: &str, notify: Option<&str>) -> Params {
    let mut p = app.seed_request(out_trade_no);
    p.set("transaction_amount", amount);
    p.remove("return_url");
    if let Some(url) = notify {
        p.set("notify_url", url);
    }
    app.sign(&mut p);
    let a = app.post(&p).await;
    assert_eq!(a.get("return_status"), Some("00"), "{}", a.to_json());
    a
}

async fn sandbox_pay(app: &TestApp, eft: &str, outcome: &str) -> serde_json::Value {
    let resp = app
        .client
        .post(format!("{}/sandbox/orders/{eft}/pay", app.base))
        .json(&serde_json::json!({ "outcome": outcome }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

async fn advance(app: &TestApp, seconds: i64) {
    let resp = app
        .client
        .post(format!("{}/sandbox/clock/advance", app.base))
        .json(&serde_json::json!({ "seconds": seconds }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

async fn state_of(app: &TestApp, out_trade_no: &str) -> String {
    app.state.store().order_by_out_trade_no(&app.key, out_trade_no).await.unwrap().unwrap().state.as_str().to_owned()
}

/// Waits (bounded) until the order's first notification has `n` recorded attempts.
async fn wait_attempts(app: &TestApp, eft: &str, n: i64) -> vmp_server::store::Notification {
    for _ in 0..400 {
        let rows = app.state.store().notifications_for_order(eft).await.unwrap();
        if let Some(row) = rows.first()
            && row.attempts >= n
        {
            return row.clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("notification of {eft} never reached {n} attempts");
}

#[tokio::test]
async fn paying_in_the_sandbox_notifies_the_merchant_with_a_signed_message() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    let placed = place(&app, "PAY1", "12.30", Some(&receiver.url)).await;
    let eft = placed.get("eft_trade_no").unwrap();

    let paid = sandbox_pay(&app, eft, "success").await;
    assert_eq!(paid["trade_status"], "TRADE_SUCCESS");
    assert_eq!(paid["result"], "settled");

    receiver.wait_for_calls(1).await;
    let body = &receiver.bodies().await[0];
    let n = verify_notification(body, &app.secret, time::OffsetDateTime::now_utc()).expect("notification verifies");
    assert_eq!(n.trade_status, TradeStatus::TradeSuccess);
    assert_eq!(n.out_trade_no, "PAY1");
    assert_eq!(n.eft_trade_no, eft);
    assert_eq!(n.total_fee, "12.30");
    assert_eq!(n.currency, "HKD");
    assert_eq!(n.wallet, "ALIPAYHK");
    assert_eq!(params(body).get("notify_type"), Some("trade_status_sync"));
    let row = wait_attempts(&app, eft, 1).await;
    assert_eq!(row.status, "delivered");

    // Paying again changes nothing and owes nothing.
    let again = sandbox_pay(&app, eft, "fail").await;
    assert_eq!(again["result"], "already_final");
    assert_eq!(again["trade_status"], "TRADE_SUCCESS");
    assert_eq!(app.state.store().notifications_for_order(eft).await.unwrap().len(), 1);
}

#[tokio::test]
async fn payme_magic_amounts_give_their_documented_outcomes() {
    let app = spawn_app().await;
    let cases = [
        ("0.81", "TRADE_SUCCESS", "settled"),
        ("0.80", "TRADE_CLOSED", "settled"),
        ("0.77", "TRADE_FAIL", "settled"),
        ("0.45", "PENDING", "server_error_no_state"),
    ];
    for (i, (amount, state, result)) in cases.into_iter().enumerate() {
        let mut p = app.seed_request(&format!("MAGIC{i}"));
        p.set("service", "service.payme.web.PreOrder")
            .set("payType", "PAYME")
            .set("wallet", "PAYME")
            .set("pay_scene", "WEB")
            .set("transaction_amount", amount);
        app.sign(&mut p);
        let a = app.post(&p).await;
        assert_eq!(a.get("return_status"), Some("00"), "{amount}: {}", a.to_json());
        let paid = sandbox_pay(&app, a.get("eft_trade_no").unwrap(), "success").await;
        assert_eq!(paid["result"], result, "{amount}");
        assert_eq!(paid["trade_status"], state, "{amount}");
    }

    // .44: server error, no payment QR code: refused, nothing stored.
    let mut p = app.seed_request("MAGIC44");
    p.set("service", "service.payme.web.PreOrder")
        .set("payType", "PAYME")
        .set("wallet", "PAYME")
        .set("pay_scene", "WEB")
        .set("transaction_amount", "0.44");
    app.sign(&mut p);
    let a = app.post(&p).await;
    assert_eq!(a.get("return_status"), Some("24"), "{}", a.to_json());
    assert_eq!(a.get("return_char"), Some("二维码获取通信异常"), "eftPay's text for a failed QR code fetch");
    assert!(app.state.store().order_by_out_trade_no(&app.key, "MAGIC44").await.unwrap().is_none());

    // .45 never gets a state from the wallet; it closes when it expires.
    advance(&app, 1801).await;
    app.sweep().await;
    assert_eq!(state_of(&app, "MAGIC3").await, "TRADE_CLOSED", "the .45 order expires into TRADE_CLOSED");
}

#[tokio::test]
async fn a_failing_receiver_gets_exactly_the_scheduled_attempts_then_delivery() {
    // Arrange: fail 3 times, then acknowledge.
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::FailThenAck(3), &app.secret).await;
    let placed = place(&app, "RETRY1", "5.00", Some(&receiver.url)).await;
    let eft = placed.get("eft_trade_no").unwrap().to_owned();

    // Act: pay, then move the sandbox clock along the schedule (15s, 15s, 30s).
    sandbox_pay(&app, &eft, "success").await;
    let first = wait_attempts(&app, &eft, 1).await;
    assert_eq!(first.status, "pending");
    for (n, delay) in [(2, 15), (3, 15), (4, 30)] {
        // One second short of the delay: nothing may be sent.
        advance(&app, delay - 1).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.calls(), n - 1, "attempt {n} came early");
        advance(&app, 1).await;
        wait_attempts(&app, &eft, n as i64).await;
    }

    // Assert
    let row = app.state.store().notifications_for_order(&eft).await.unwrap().remove(0);
    assert_eq!(row.status, "delivered");
    assert_eq!(row.attempts, 4);
    assert_eq!(receiver.calls(), 4);
    let attempts = app.state.store().attempts_for_notification(row.id).await.unwrap();
    let t0 = attempts[0].attempted_at;
    let offsets: Vec<_> = attempts.iter().map(|a| a.attempted_at - t0).collect();
    assert_eq!(offsets, [0, 15, 30, 60]);
    let outcomes: Vec<_> = attempts.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, ["rejected", "rejected", "rejected", "delivered"]);
    assert_eq!(attempts[0].http_status, Some(500));
    assert_eq!(attempts[0].excerpt, "try later");
    // Every attempt is freshly signed and verifies.
    for body in receiver.bodies().await {
        verify_notification(&body, &app.secret, app.state.clock().now()).expect("each attempt verifies");
    }
}

#[tokio::test]
async fn a_restart_between_attempts_loses_no_notification() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_in_with(dir.path().to_path_buf(), |_| {}).await;
    let (key, secret) = (app.key.clone(), app.secret.clone());
    let receiver = Receiver::start(Behaviour::FailThenAck(1), &secret).await;
    let placed = place(&app, "RESTART1", "7.00", Some(&receiver.url)).await;
    let eft = placed.get("eft_trade_no").unwrap().to_owned();
    sandbox_pay(&app, &eft, "success").await;
    wait_attempts(&app, &eft, 1).await;
    app.stop().await;

    let mut again = spawn_in_with(dir.path().to_path_buf(), |_| {}).await;
    again.key = key;
    again.secret = secret;
    let row = again.state.store().notifications_for_order(&eft).await.unwrap().remove(0);
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1), "the retry survived the restart");
    advance(&again, 15).await;
    let row = wait_attempts(&again, &eft, 2).await;
    assert_eq!(row.status, "delivered");
    assert_eq!(receiver.calls(), 2);
    again.stop().await;
}

#[tokio::test]
async fn a_hanging_merchant_does_not_block_other_deliveries() {
    let app = spawn_app_with(|s| s.notifier.timeout = Duration::from_secs(2)).await;
    let hanging = Receiver::start(Behaviour::Hang, &app.secret).await;
    let good = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    let slow = place(&app, "HANG1", "1.00", Some(&hanging.url)).await;
    sandbox_pay(&app, slow.get("eft_trade_no").unwrap(), "success").await;
    hanging.wait_for_calls(1).await;
    let fast = place(&app, "FAST1", "1.00", Some(&good.url)).await;
    let started = std::time::Instant::now();
    sandbox_pay(&app, fast.get("eft_trade_no").unwrap(), "success").await;
    good.wait_for_calls(1).await;
    assert!(started.elapsed() < Duration::from_millis(1500), "delivery waited for the hanging merchant");
    let row = wait_attempts(&app, slow.get("eft_trade_no").unwrap(), 1).await;
    assert_eq!(row.status, "pending", "a timeout is retried");
    let attempts = app.state.store().attempts_for_notification(row.id).await.unwrap();
    assert_eq!(attempts[0].outcome, "error");
    assert_eq!(attempts[0].excerpt, "timeout");
}

#[tokio::test]
async fn racing_outcomes_give_one_final_state_and_one_notification() {
    let app = std::sync::Arc::new(spawn_app().await);
    let receiver = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    let placed = place(&app, "RACE2", "3.00", Some(&receiver.url)).await;
    let eft = placed.get("eft_trade_no").unwrap().to_owned();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (app, eft) = (std::sync::Arc::clone(&app), eft.clone());
        tasks.push(tokio::spawn(
            async move { sandbox_pay(&app, &eft, if i % 2 == 0 { "success" } else { "fail" }).await },
        ));
    }
    let mut settled = 0;
    let mut finals = std::collections::HashSet::new();
    for t in tasks {
        let v = t.await.unwrap();
        if v["result"] == "settled" {
            settled += 1;
        }
        finals.insert(v["trade_status"].as_str().unwrap().to_owned());
    }
    assert_eq!(settled, 1, "exactly one action settles the order");
    assert_eq!(finals.len(), 1, "everyone sees the same final state: {finals:?}");
    assert_eq!(app.state.store().notifications_for_order(&eft).await.unwrap().len(), 1);
}

#[tokio::test]
async fn unpaid_orders_expire_after_active_time_and_notify_trade_closed() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    let mut p = app.seed_request("EXPIRE1");
    p.set("active_time", "120").set("notify_url", &receiver.url);
    app.sign(&mut p);
    let a = app.post(&p).await;
    let eft = a.get("eft_trade_no").unwrap();
    advance(&app, 119).await;
    assert_eq!(app.sweep().await.expired, 0);
    assert_eq!(state_of(&app, "EXPIRE1").await, "PENDING");
    advance(&app, 1).await;
    app.sweep().await;
    assert_eq!(state_of(&app, "EXPIRE1").await, "TRADE_CLOSED");
    receiver.wait_for_calls(1).await;
    let n = verify_notification(&receiver.bodies().await[0], &app.secret, app.state.clock().now()).unwrap();
    assert_eq!(n.trade_status, TradeStatus::TradeClosed);
    // Paying after expiry is refused.
    let paid = sandbox_pay(&app, eft, "success").await;
    assert_eq!(paid["trade_status"], "TRADE_CLOSED");
}

#[tokio::test]
async fn every_checkout_page_kind_renders_and_its_form_pays_back_to_return_url() {
    let app = spawn_app().await;
    let ret = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    let return_url = ret.url.replace("/notify", "/return");
    let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    let mut n = 0;
    for s in Service::web_sales().map(Service::spec) {
        for scene in s.pay_scenes {
            n += 1;
            let out = format!("KIND{n}");
            let mut p = app.seed_request(&out);
            p.set("service", s.label())
                .set("payType", s.pay_type().map_or("", |p| p.as_str()))
                .set("wallet", s.wallets[0].as_str())
                .set("pay_scene", scene.as_str())
                .set("return_url", &return_url)
                .set("transaction_amount", "8.88");
            if s.lang {
                p.set("lang", "hk");
            }
            app.sign(&mut p);
            let a = app.post(&p).await;
            let link = a.get("pay_apptrade").unwrap().to_owned();
            let html = app.client.get(&link).send().await.unwrap().text().await.unwrap();
            let kind = html.split("data-page-kind=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
            assert!(html.contains("HKD 8.88"), "{kind}");
            assert!(
                html.contains("id=\"pay\"") && html.contains("id=\"fail\"") && html.contains("id=\"cancel\""),
                "{kind}"
            );
            if matches!(kind.as_str(), "payme-qr" | "alipay-qr" | "wechat-qr") {
                assert!(html.contains("<svg"), "{kind}: the desktop scene shows a QR code");
            }
            if s.lang {
                assert!(html.contains("lang=\"zh-HK\""), "{kind} honours lang");
            }
            kinds.insert(kind.clone());

            let query: Vec<(String, String)> = url::Url::parse(&link).unwrap().query_pairs().into_owned().collect();
            let mut form = query.clone();
            form.push(("outcome".into(), "success".into()));
            if kind == "mpgs" {
                form.extend([
                    ("card_number".into(), "4111 1111 1111 1111".into()),
                    ("card_expiry".into(), "12/30".into()),
                    ("card_cvc".into(), "123".into()),
                ]);
            }
            if kind == "amex" {
                form.extend([
                    ("card_number".into(), "378282246310005".into()),
                    ("card_expiry".into(), "12/30".into()),
                    ("card_cvc".into(), "1234".into()),
                ]);
            }
            let resp = no_redirect.post(format!("{}/VMP/wap/payPage", app.base)).form(&form).send().await.unwrap();
            let body = resp.text().await.unwrap();
            assert!(body.contains("data-page-kind=\"return\""), "{kind}: {body}");
            assert!(body.contains(&format!("action=\"{return_url}\"")), "{kind}");
            // The form's fields are the signed trade_status_sync payload.
            let fields: Vec<(String, String)> = body
                .split("<input type=\"hidden\" name=\"")
                .skip(1)
                .map(|f| {
                    let (name, rest) = f.split_once("\" value=\"").unwrap();
                    (
                        name.to_owned(),
                        rest.split('"')
                            .next()
                            .unwrap()
                            .replace("&amp;", "&")
                            .replace("&#39;", "'")
                            .replace("&quot;", "\""),
                    )
                })
                .collect();
            let encoded = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
            let n = verify_return_form(encoded.as_bytes(), &app.secret, app.state.clock().now())
                .expect("return payload verifies");
            assert_eq!(n.trade_status, TradeStatus::TradeSuccess, "{kind}");
            if kind == "mpgs" {
                assert_eq!(n.card_scheme.as_deref(), Some("VISA"));
            }
        }
    }
    assert_eq!(kinds.len(), 15, "{kinds:?}");
}

#[tokio::test]
async fn sandbox_routes_and_buyer_actions_are_404_in_production() {
    let app = spawn_app_with(|s| s.mode = Mode::Production).await;
    for (path, body) in
        [("/sandbox/orders/1/pay", r#"{"outcome":"success"}"#), ("/sandbox/clock/advance", r#"{"seconds":5}"#)]
    {
        let resp = app
            .client
            .post(format!("{}{path}", app.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{path}");
    }
    let resp =
        app.client.post(format!("{}/VMP/wap/payPage", app.base)).form(&[("outcome", "success")]).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

#[tokio::test]
async fn sandbox_api_refuses_bad_requests_clearly() {
    let app = spawn_app().await;
    let cases = [
        ("/sandbox/orders/NOPE/pay", r#"{"outcome":"success"}"#, 404),
        ("/sandbox/orders/NOPE/pay", r#"{"outcome":"maybe"}"#, 400),
        ("/sandbox/orders/NOPE/pay", "not json", 400),
        ("/sandbox/clock/advance", r#"{"seconds":0}"#, 400),
        ("/sandbox/clock/advance", r#"{"seconds":-5}"#, 400),
        ("/sandbox/clock/advance", r#"{"seconds":"x"}"#, 400),
    ];
    for (path, body, status) in cases {
        let resp = app
            .client
            .post(format!("{}{path}", app.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), status, "{path} {body}");
        let v: serde_json::Value = resp.json().await.unwrap();
        assert!(v["error"].is_string(), "{path} {body}: {v}");
    }
}

#[tokio::test]
async fn sandbox_clock_stops_at_ten_years_ahead_and_keeps_working() {
    use vmp_server::clock::MAX_OFFSET_SECONDS;
    let app = spawn_app().await;
    let advance = |seconds: i64| {
        app.client
            .post(format!("{}/sandbox/clock/advance", app.base))
            .header("content-type", "application/json")
            .body(format!(r#"{{"seconds":{seconds}}}"#))
            .send()
    };
    let max_step = 31 * 24 * 3600;
    let mut moved = 0_i64;
    loop {
        let resp = advance(max_step).await.unwrap();
        if resp.status().as_u16() != 200 {
            assert_eq!(resp.status().as_u16(), 409);
            let v: serde_json::Value = resp.json().await.unwrap();
            let message = v["error"].as_str().unwrap_or_default();
            assert!(message.contains(&format!("already {moved} s ahead")), "{v}");
            break;
        }
        moved += max_step;
        assert!(moved <= MAX_OFFSET_SECONDS, "the clock ran past its limit");
    }
    assert!(moved > MAX_OFFSET_SECONDS - max_step, "refused too early, at {moved} s");
    // The refused move changed nothing and the gateway still tells the time.
    let resp = app.client.get(format!("{}/sandbox/clock", app.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v: serde_json::Value = resp.json().await.unwrap();
    let now = v["now"].as_str().unwrap_or_default().to_owned();
    assert_eq!(now.len(), 14, "{v}");
    let year: i32 = now[..4].parse().unwrap();
    let this_year = time::OffsetDateTime::now_utc().year();
    assert!((this_year + 9..=this_year + 11).contains(&year), "{now}");
    // Up to the limit exactly, and not a second more.
    assert_eq!(advance(MAX_OFFSET_SECONDS - moved).await.unwrap().status().as_u16(), 200);
    assert_eq!(advance(1).await.unwrap().status().as_u16(), 409);
}

#[tokio::test]
async fn paying_while_the_order_expires_gives_one_final_state_and_one_notification() {
    let app = std::sync::Arc::new(spawn_app().await);
    let receiver = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    let mut p = app.seed_request("EXPRACE1");
    p.set("active_time", "60").set("notify_url", &receiver.url);
    app.sign(&mut p);
    let eft = app.post(&p).await.get("eft_trade_no").unwrap().to_owned();
    advance(&app, 59).await;

    // The clock crosses the expiry while ten buyers press "pay".
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (app, eft) = (std::sync::Arc::clone(&app), eft.clone());
        tasks.push(tokio::spawn(async move { sandbox_pay(&app, &eft, "success").await }));
    }
    advance(&app, 1).await;
    let mut finals = std::collections::HashSet::new();
    for t in tasks {
        finals.insert(t.await.unwrap()["trade_status"].as_str().unwrap().to_owned());
    }
    let stored = app.state.store().order_by_eft_trade_no(&eft).await.unwrap().unwrap().state.as_str().to_owned();
    assert!(stored == "TRADE_SUCCESS" || stored == "TRADE_CLOSED", "{stored}");
    assert_eq!(finals, std::collections::HashSet::from([stored.clone()]), "every answer reports the one final state");
    receiver.wait_for_calls(1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.state.store().notifications_for_order(&eft).await.unwrap().len(), 1);
    assert_eq!(receiver.calls(), 1);
}

#[tokio::test]
async fn an_unreadable_stored_notification_is_recorded_and_given_up_not_leased_forever() {
    use vmp_server::domain::{Delivery, EftTradeNo, OrderState};
    use vmp_server::store::{NewNotification, Transition};
    // Arrange: a settled order whose outbox row cannot be parsed (a damaged
    // database; nothing the gateway writes looks like this).
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    let mut p = app.seed_request("BADROW1");
    app.sign(&mut p);
    let eft = app.post(&p).await.get("eft_trade_no").unwrap().to_owned();
    let now = app.state.clock().now().unix_timestamp();
    let settlement = Transition {
        eft_trade_no: EftTradeNo::parse(&eft).unwrap(),
        state: OrderState::Paid,
        at: now,
        transaction_id: "T-BADROW1".into(),
        card_scheme: None,
        notification: Some(NewNotification {
            url: receiver.url.clone(),
            trade_status: OrderState::Paid,
            payload: "{not json".into(),
            due_at: now,
            delivery: Delivery::Retried,
        }),
    };
    app.state.store().settle(settlement).await.unwrap();

    // Act
    app.state.wake_notifier();

    // Assert: one attempt says why, the row is failed, nothing was sent.
    let mut row = None;
    for _ in 0..400 {
        let rows = app.state.store().notifications_for_order(&eft).await.unwrap();
        if rows.first().is_some_and(|r| r.attempts >= 1) {
            row = rows.into_iter().next();
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let row = row.expect("the unreadable row was recorded as an attempt");
    assert_eq!(row.status, "failed");
    let attempts = app.state.store().attempts_for_notification(row.id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, "error");
    assert!(attempts[0].excerpt.starts_with("stored payload unreadable"), "{:?}", attempts[0]);
    assert!(receiver.bodies().await.is_empty());
}

#[tokio::test]
async fn each_sale_is_notified_as_its_catalogue_row_says_never_once_or_retried() {
    // Arrange: a merchant that always fails, three services, three policies.
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::FailThenAck(1000), &app.secret).await;
    let cases = [
        ("NOTIFY-OCT", "service.oct.online.PreOrder", "OCT", "OCT", "WEB"),
        ("NOTIFY-UP", "service.unionpay.online.web.PreOrder", "UnionPay", "UNIONPAY", "ONLINE_WEB"),
        ("NOTIFY-ALI", "service.alipay.wap.PreOrder", "Alipay", "ALIPAYHK", "WAP"),
    ];
    let mut eft = Vec::new();
    for (out, service, pay_type, wallet, scene) in cases {
        let mut p = app.seed_request(out);
        p.set("service", service)
            .set("payType", pay_type)
            .set("wallet", wallet)
            .set("pay_scene", scene)
            .set("notify_url", &receiver.url);
        p.remove("return_url");
        app.sign(&mut p);
        let a = app.post(&p).await;
        assert_eq!(a.get("return_status"), Some("00"), "{service}: {}", a.to_json());
        let e = a.get("eft_trade_no").unwrap().to_owned();
        // Act
        assert_eq!(sandbox_pay(&app, &e, "success").await["result"], "settled", "{service}");
        eft.push(e);
    }

    // Assert: Octopus owes nothing; UnionPay online one attempt, then
    // failed; Alipay a pending retry.
    let once = wait_attempts(&app, &eft[1], 1).await;
    assert_eq!((once.status.as_str(), once.attempts), ("failed", 1), "UnionPay online is notified once");
    let retried = wait_attempts(&app, &eft[2], 1).await;
    assert_eq!(retried.status, "pending", "Alipay is retried");
    assert!(app.state.store().notifications_for_order(&eft[0]).await.unwrap().is_empty(), "Octopus is never notified");
    assert_eq!(receiver.calls(), 2);
}
