//! Sandbox fault rules and the `X-VMP-Sandbox-Fault` header over HTTP:
//! every answer fault and notification fault, the rule API's refusals, and
//! production mode.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::Mutex;
use vmp_protocol::Params;
use vmp_protocol::notify::{TradeType, verify_notification};
use vmp_server::Mode;

use crate::aftersale::refund_fields;
use crate::helpers::{ENDPOINT, TestApp, assert_signed, spawn_app, spawn_app_with};
use crate::lifecycle::{advance, place, sandbox_pay};
use crate::receiver::{Behaviour, Receiver};

impl TestApp {
    /// `POST /sandbox/merchants/{key}/faults` with `rule`: (status, body).
    async fn add_fault(&self, rule: Value) -> (u16, Value) {
        let resp = self
            .client
            .post(format!("{}/sandbox/merchants/{}/faults", self.base, self.key))
            .body(rule.to_string())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    async fn added(&self, rule: Value) -> i64 {
        let (status, body) = self.add_fault(rule.clone()).await;
        assert_eq!(status, 201, "{rule}: {body}");
        body["id"].as_i64().unwrap()
    }

    async fn list_faults(&self) -> Vec<Value> {
        let resp =
            self.client.get(format!("{}/sandbox/merchants/{}/faults", self.base, self.key)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let v: Value = resp.json().await.unwrap();
        v["faults"].as_array().unwrap().clone()
    }

    /// A signed Place an Order (the seed request) with an extra header.
    async fn place_with_header(&self, out: &str, header: &str) -> Params {
        let resp = self
            .client
            .post(format!("{}{ENDPOINT}", self.base))
            .header("X-VMP-Sandbox-Fault", header)
            .body(self.seed_request(out).to_json())
            .send()
            .await
            .unwrap();
        Params::from_json(&resp.bytes().await.unwrap()).unwrap()
    }

    async fn stored(&self, out: &str) -> bool {
        self.state.store().order_by_out_trade_no(&self.key, out).await.unwrap().is_some()
    }

    /// Places an order with a `notify_url` and pays it.
    async fn paid_with_notify(&self, out: &str, notify_url: &str) -> String {
        let eft = place(self, out, "0.02", Some(notify_url)).await.get("eft_trade_no").unwrap().to_owned();
        sandbox_pay(self, &eft, "success").await;
        eft
    }

    /// The order's first notification, once `pred` holds (bounded poll).
    async fn notification_when(
        &self,
        eft: &str,
        what: &str,
        pred: impl Fn(&vmp_server::store::Notification) -> bool,
    ) -> vmp_server::store::Notification {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let rows = self.state.store().notifications_for_order(eft).await.unwrap();
            if let Some(row) = rows.first().filter(|r| pred(r)) {
                return row.clone();
            }
            assert!(Instant::now() < deadline, "notification of {eft} never {what}: {rows:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn excerpts(&self, id: i64) -> Vec<String> {
        self.state.store().attempts_for_notification(id).await.unwrap().into_iter().map(|a| a.excerpt).collect()
    }
}

// ---- answer faults ----

#[tokio::test]
async fn a_refund_rule_answers_51_signed_and_refunds_nothing_then_the_next_refund_goes_through() {
    // Arrange
    let app = spawn_app().await;
    let eft = app.paid_alipay("F-REF1", "1.00").await;
    let id = app.added(json!({"operation": "refund", "return_status": "51"})).await;

    // Act
    let faulted = app.jsapi(&refund_fields("F-REF1", "R1", "0.40")).await;
    let retried = app.jsapi(&refund_fields("F-REF1", "R1", "0.40")).await;

    // Assert
    assert_eq!(faulted.get("return_status"), Some("51"), "{}", faulted.to_json());
    assert_eq!(faulted.get("return_char"), Some("退款失败：ILLEGAL_ARGUMENT"));
    assert_signed(&faulted, &app.secret);
    assert_eq!(retried.get("return_status"), Some("00"), "the rule fired once: {}", retried.to_json());
    assert_eq!(app.state.store().refunds_total(&eft).await.unwrap(), 40, "the faulted refund refunded nothing");
    assert!(app.list_faults().await.iter().all(|r| r["id"] != id), "a used-up rule is gone");
}

#[tokio::test]
async fn a_negative_code_is_answered_unsigned_and_nothing_is_stored() {
    let app = spawn_app().await;
    app.added(json!({"operation": "any", "return_status": "-1", "count": 2})).await;

    let first = app.post(&app.seed_request("F-NEG1")).await;
    assert_eq!(app.list_faults().await[0]["remaining"], 1, "counted down");
    let second = app.post(&app.seed_request("F-NEG2")).await;
    let third = app.post(&app.seed_request("F-NEG3")).await;

    for a in [&first, &second] {
        assert_eq!(a.get("return_status"), Some("-1"), "{}", a.to_json());
        assert_eq!(a.get("return_char"), Some("系统异常"));
        assert!(!a.contains("sign") && !a.contains("time"), "negative codes are unsigned: {}", a.to_json());
    }
    assert_eq!(third.get("return_status"), Some("00"), "{}", third.to_json());
    assert!(!app.stored("F-NEG1").await && !app.stored("F-NEG2").await && app.stored("F-NEG3").await);
}

#[tokio::test]
async fn a_rule_for_one_operation_leaves_the_others_alone_and_a_custom_text_is_answered() {
    let app = spawn_app().await;
    app.added(json!({"operation": "query", "return_status": "05", "return_char": "TRADE_NOT_EXIST", "percent": 100}))
        .await;

    let placed = app.post(&app.seed_request("F-OP1")).await;
    let q1 =
        app.call("/VMP/Servlet/QRcodeTradeQuery.do", &[("querytype", "OUT_TRADE"), ("out_trade_no", "F-OP1")]).await;
    let q2 =
        app.call("/VMP/Servlet/QRcodeTradeQuery.do", &[("querytype", "OUT_TRADE"), ("out_trade_no", "F-OP1")]).await;
    let cleared = app
        .client
        .delete(format!("{}/sandbox/merchants/{}/faults", app.base, app.key))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let q3 =
        app.call("/VMP/Servlet/QRcodeTradeQuery.do", &[("querytype", "OUT_TRADE"), ("out_trade_no", "F-OP1")]).await;

    assert_eq!(placed.get("return_status"), Some("00"), "a sale is not a query: {}", placed.to_json());
    for q in [&q1, &q2] {
        assert_eq!(q.get("return_status"), Some("05"), "100% fires every time: {}", q.to_json());
        assert_eq!(q.get("return_char"), Some("TRADE_NOT_EXIST"));
        assert_signed(q, &app.secret);
    }
    assert_eq!(cleared["cleared"], 1);
    assert_eq!(q3.get("return_status"), Some("00"), "{}", q3.to_json());
}

#[tokio::test]
async fn another_merchants_rule_does_not_fire() {
    let app = spawn_app().await;
    app.add_merchant("OTHER1", "other-secret", vmp_server::merchant::MerchantStatus::Active).await;
    let resp = app
        .client
        .post(format!("{}/sandbox/merchants/OTHER1/faults", app.base))
        .body(r#"{"operation":"any","return_status":"-1","percent":100}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);

    let a = app.post(&app.seed_request("F-OTHER1")).await;

    assert_eq!(a.get("return_status"), Some("00"), "{}", a.to_json());
}

#[tokio::test]
async fn a_delay_rule_answers_late_but_carries_the_request_out() {
    let app = spawn_app().await;
    app.added(json!({"operation": "sale", "delay_ms": 400})).await;

    let started = Instant::now();
    let a = app.post(&app.seed_request("F-DELAY1")).await;
    let took = started.elapsed();

    assert_eq!(a.get("return_status"), Some("00"), "{}", a.to_json());
    assert!(took >= Duration::from_millis(400), "answered after {took:?}");
    assert!(app.stored("F-DELAY1").await, "a delayed answer still stores the order");
}

#[tokio::test]
async fn the_header_injects_a_fault_into_its_own_request_only() {
    let app = spawn_app().await;

    let faulted = app.place_with_header("F-HDR1", "return_status=51").await;
    let late = Instant::now();
    let delayed = app.place_with_header("F-HDR2", "delay_ms=300").await;
    let late = late.elapsed();
    let plain = app.post(&app.seed_request("F-HDR3")).await;

    assert_eq!(faulted.get("return_status"), Some("51"), "{}", faulted.to_json());
    assert_signed(&faulted, &app.secret);
    assert!(!app.stored("F-HDR1").await, "nothing stored");
    assert_eq!(delayed.get("return_status"), Some("00"));
    assert!(late >= Duration::from_millis(300), "{late:?}");
    assert_eq!(plain.get("return_status"), Some("00"));
}

#[tokio::test]
async fn a_malformed_header_is_refused_naming_it_and_nothing_is_stored() {
    let app = spawn_app().await;
    for (i, header) in ["return_status=77", "return_status=00", "status=51", "delay_ms=0", "return_status=51;", ""]
        .into_iter()
        .enumerate()
    {
        let out = format!("F-BADHDR{i}");
        let a = app.place_with_header(&out, header).await;
        assert_eq!(a.get("return_status"), Some("-13"), "{header:?}: {}", a.to_json());
        assert_eq!(a.get("return_char"), Some("参数错误:请检查请求接口参数: X-VMP-Sandbox-Fault"), "{header:?}");
        assert!(!app.stored(&out).await, "{header:?}");
    }
}

#[tokio::test]
async fn production_ignores_the_header_and_has_no_fault_routes() {
    let app = spawn_app_with(|s| s.mode = Mode::Production).await;
    app.add_merchant("PROD1", "prod-secret", vmp_server::merchant::MerchantStatus::Active).await;
    let mut p = app.seed_request("F-PROD1");
    p.set("user_confirm_key", "PROD1");
    vmp_protocol::sign::sign_in_place("prod-secret", &mut p);

    let resp = app
        .client
        .post(format!("{}{ENDPOINT}", app.base))
        .header("X-VMP-Sandbox-Fault", "return_status=51")
        .body(p.to_json())
        .send()
        .await
        .unwrap();
    let a = Params::from_json(&resp.bytes().await.unwrap()).unwrap();

    assert_eq!(a.get("return_status"), Some("00"), "a production gateway never injects: {}", a.to_json());
    let url = format!("{}/sandbox/merchants/PROD1/faults", app.base);
    let rule = r#"{"operation":"any","return_status":"-1"}"#;
    for resp in [
        app.client.get(&url).send().await.unwrap(),
        app.client.post(&url).body(rule).send().await.unwrap(),
        app.client.delete(&url).send().await.unwrap(),
        app.client.delete(format!("{url}/1")).send().await.unwrap(),
    ] {
        assert_eq!(resp.status().as_u16(), 404);
    }
}

#[tokio::test]
async fn bad_rules_are_refused_with_a_message_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        (json!({"operation": "refunds", "return_status": "51"}), 400, "operation"),
        (json!({"operation": "refund", "return_status": "77"}), 400, "return_status"),
        (json!({"operation": "refund", "return_status": "00"}), 400, "return_status"),
        (json!({"operation": "refund"}), 400, "delay_ms"),
        (json!({"operation": "refund", "return_status": "51", "percent": 150}), 400, "percent"),
        (json!({"operation": "refund", "return_status": "51", "count": 0}), 400, "count"),
        (json!({"notification": "explode"}), 400, "notification"),
        (json!({"notification": "delay"}), 400, "delay_ms"),
        (json!({"operation": "refund", "return_status": "51", "extra": 1}), 400, "extra"),
        (json!([1, 2]), 400, "object"),
    ];
    for (rule, status, names) in cases {
        let (got, body) = app.add_fault(rule.clone()).await;
        assert_eq!(got, status, "{rule}: {body}");
        let message = body["error"].as_str().unwrap_or_default();
        assert!(message.contains(names), "{rule}: {message}");
    }
    assert!(app.list_faults().await.is_empty(), "nothing refused was stored");

    let resp = app
        .client
        .post(format!("{}/sandbox/merchants/NOSUCH/faults", app.base))
        .body(r#"{"operation":"any","return_status":"-1"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404, "unknown merchant");
    let resp =
        app.client.delete(format!("{}/sandbox/merchants/{}/faults/999", app.base, app.key)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404, "unknown rule");
}

#[tokio::test]
async fn rules_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let app = crate::helpers::spawn_in(dir.path().to_path_buf()).await;
    let (key, secret) = (app.key.clone(), app.secret.clone());
    app.added(json!({"operation": "any", "return_status": "-1", "count": 3})).await;
    app.stop().await;

    let mut app = crate::helpers::spawn_in(dir.path().to_path_buf()).await;
    (app.key, app.secret) = (key, secret);
    let a = app.post(&app.seed_request("F-RESTART1")).await;

    assert_eq!(a.get("return_status"), Some("-1"), "{}", a.to_json());
    assert_eq!(app.list_faults().await[0]["remaining"], 2);
}

// ---- notification faults ----

#[tokio::test]
async fn a_drop_rule_drops_the_first_attempts_which_are_retried_on_the_schedule() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    app.added(json!({"notification": "drop", "count": 2})).await;

    let eft = app.paid_with_notify("F-DROP1", &receiver.url).await;
    let row = app.notification_when(&eft, "had its first attempt", |r| r.attempts >= 1).await;
    assert_eq!(receiver.calls(), 0, "the first attempt was dropped");
    advance(&app, 15).await;
    app.notification_when(&eft, "had its second attempt", |r| r.attempts >= 2).await;
    assert_eq!(receiver.calls(), 0, "the second attempt was dropped");
    advance(&app, 15).await;
    receiver.wait_for_calls(1).await;
    app.notification_when(&eft, "was delivered", |r| r.delivered_at.is_some()).await;

    let excerpts = app.excerpts(row.id).await;
    assert_eq!(excerpts.len(), 3, "{excerpts:?}");
    assert!(excerpts[..2].iter().all(|e| e.contains("injected: rule") && e.contains("drop")), "{excerpts:?}");
    assert!(!excerpts[2].contains("injected"), "{excerpts:?}");
}

#[tokio::test]
async fn a_duplicate_rule_posts_the_notification_twice() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    app.added(json!({"notification": "duplicate"})).await;

    let eft = app.paid_with_notify("F-DUP1", &receiver.url).await;
    receiver.wait_for_calls(2).await;
    let row = app.notification_when(&eft, "was delivered", |r| r.delivered_at.is_some()).await;

    let bodies = receiver.bodies().await;
    let (a, b) = (crate::receiver::params(&bodies[0]), crate::receiver::params(&bodies[1]));
    assert_eq!(a.get("out_trade_no"), Some("F-DUP1"));
    assert_eq!(a.get("out_trade_no"), b.get("out_trade_no"));
    assert_eq!(row.attempts, 1, "one attempt, sent twice");
    let excerpts = app.excerpts(row.id).await;
    assert!(excerpts[0].contains("duplicate") && excerpts[0].contains("second:"), "{excerpts:?}");
}

#[tokio::test]
async fn a_delay_rule_holds_the_first_attempt_back_on_the_gateway_clock() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    app.added(json!({"notification": "delay", "delay_ms": 5000})).await;
    let paid_at = app.state.clock().now().unix_timestamp();

    let eft = app.paid_with_notify("F-LATE1", &receiver.url).await;
    let held = app.notification_when(&eft, "was held back", |r| r.next_attempt_at >= paid_at + 5).await;
    assert_eq!((held.attempts, receiver.calls()), (0, 0), "held, not attempted");
    advance(&app, 5).await;
    receiver.wait_for_calls(1).await;

    let row = app.notification_when(&eft, "was delivered", |r| r.delivered_at.is_some()).await;
    assert_eq!(row.attempts, 1, "the delay counted no attempt");
}

/// A merchant endpoint that verifies like a correct handler: acks what
/// verifies, `400` with a `false` ack otherwise; records every body.
async fn verifying_receiver(secret: &str, clock: vmp_server::Clock) -> (String, Arc<Mutex<Vec<(Bytes, bool)>>>) {
    type Seen = Arc<Mutex<Vec<(Bytes, bool)>>>;
    async fn handle(
        State((secret, clock, seen)): State<(String, vmp_server::Clock, Seen)>,
        body: Bytes,
    ) -> (StatusCode, String) {
        let ok = verify_notification(&body, &secret, clock.now()).is_ok();
        seen.lock().await.push((body, ok));
        let ack = vmp_protocol::notify::ack(&secret, ok, clock.now()).to_json();
        (if ok { StatusCode::OK } else { StatusCode::BAD_REQUEST }, ack)
    }
    let seen: Seen = Arc::default();
    let app = Router::new().route("/notify", post(handle)).with_state((secret.to_owned(), clock, Arc::clone(&seen)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/notify"), seen)
}

#[tokio::test]
async fn a_bad_sign_rule_forges_the_attempt_and_the_genuine_retry_is_acked() {
    let app = spawn_app().await;
    let (url, seen) = verifying_receiver(&app.secret, app.state.clock().clone()).await;
    app.added(json!({"notification": "bad_sign"})).await;

    let eft = app.paid_with_notify("F-SIGN1", &url).await;
    let row = app.notification_when(&eft, "had its first attempt", |r| r.attempts >= 1).await;
    advance(&app, 15).await;
    app.notification_when(&eft, "was delivered", |r| r.delivered_at.is_some()).await;

    let seen = seen.lock().await.clone();
    assert_eq!(seen.iter().map(|(_, ok)| *ok).collect::<Vec<_>>(), [false, true], "forged, then genuine");
    assert_eq!(crate::receiver::params(&seen[0].0).get("out_trade_no"), Some("F-SIGN1"));
    let excerpts = app.excerpts(row.id).await;
    assert!(excerpts[0].contains("bad_sign"), "{excerpts:?}");
}

#[tokio::test]
async fn a_reorder_rule_delivers_the_refund_before_its_sale() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    app.added(json!({"notification": "reorder"})).await;
    // A WeChat order (apply-refunds are notified), paid: its sale notification is held.
    let mut p = app.seed_request("F-ORDER1");
    p.remove("return_url");
    p.set("service", "service.wechat.web.MobileH5")
        .set("payType", "WeChat")
        .set("wallet", "WECHATHK")
        .set("pay_scene", "WEB")
        .set("notify_url", &receiver.url);
    app.sign(&mut p);
    let eft = app.post(&p).await.get("eft_trade_no").unwrap().to_owned();
    app.client
        .post(format!("{}/sandbox/orders/{eft}/pay", app.base))
        .body(r#"{"outcome":"success"}"#)
        .send()
        .await
        .unwrap();
    let paid_at = app.state.clock().now().unix_timestamp();
    app.notification_when(&eft, "was held back", |r| r.next_attempt_at > paid_at).await;
    assert_eq!(receiver.calls(), 0);

    let r = app
        .jsapi(&[
            ("service", "service.wechat.web.ApplyRefund"),
            ("out_trade_no", "F-ORDER1"),
            ("out_refund_no", "F-ORDER1-R"),
            ("return_amount", "0.01"),
            ("wallet", "WECHATHK"),
        ])
        .await;
    assert_eq!(r.get("return_status"), Some("00"), "{}", r.to_json());
    advance(&app, 5).await;
    app.sweep().await;
    receiver.wait_for_calls(1).await;
    // The held sale is looked at again each second of gateway time.
    advance(&app, 1).await;
    receiver.wait_for_calls(2).await;

    let types: Vec<TradeType> = receiver
        .bodies()
        .await
        .iter()
        .map(|b| verify_notification(b, &app.secret, app.state.clock().now()).unwrap().trade_type)
        .collect();
    assert_eq!(types, [TradeType::Refund, TradeType::Sale]);
}

// ---- the sandbox API for CI ----

#[tokio::test]
async fn settling_a_final_or_expired_order_answers_409_with_its_state() {
    let app = spawn_app().await;
    let a = app.post(&app.seed_request("F-409A")).await;
    let eft = a.get("eft_trade_no").unwrap().to_owned();
    let pay = |path: String, outcome: &'static str| {
        // No Content-Type: the body is read as JSON anyway.
        app.client.post(format!("{}{path}", app.base)).body(format!(r#"{{"outcome":"{outcome}"}}"#)).send()
    };

    let first = pay(format!("/sandbox/orders/{eft}/pay"), "cancel").await.unwrap();
    let again = pay(format!("/sandbox/merchants/{}/orders/F-409A/pay", app.key), "success").await.unwrap();

    assert_eq!(first.status().as_u16(), 200);
    assert_eq!(first.json::<Value>().await.unwrap()["trade_status"], "TRADE_CLOSED", "cancel closes the order");
    assert_eq!(again.status().as_u16(), 409);
    let v: Value = again.json().await.unwrap();
    assert_eq!((v["result"].as_str(), v["trade_status"].as_str()), (Some("already_final"), Some("TRADE_CLOSED")));
    assert!(v["error"].as_str().unwrap().contains("already final"), "{v}");

    let b = app.post(&app.seed_request("F-409B")).await;
    assert_eq!(b.get("return_status"), Some("00"));
    advance(&app, 1801).await;
    let expired = pay(format!("/sandbox/merchants/{}/orders/F-409B/pay", app.key), "success").await.unwrap();
    assert_eq!(expired.status().as_u16(), 409);
    let v: Value = expired.json().await.unwrap();
    // Expired, or already closed by the sweeper the clock move woke.
    assert!(matches!(v["result"].as_str(), Some("expired" | "already_final")), "{v}");
    assert_eq!(v["trade_status"], "TRADE_CLOSED", "{v}");

    let unknown = pay(format!("/sandbox/merchants/{}/orders/NOSUCH/pay", app.key), "success").await.unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
}

#[tokio::test]
async fn a_sandbox_merchant_gets_its_fixed_credentials_at_every_start() {
    let dir = tempfile::tempdir().unwrap();
    let fixed = |secret: &str| vmp_server::SandboxMerchant::parse(&format!("CI1:{secret}")).unwrap();
    let first = fixed("first-secret");
    let mut app = crate::helpers::spawn_in_with(dir.path().to_path_buf(), |s| s.sandbox_merchant = Some(first)).await;
    assert!(app.key.is_empty(), "no random merchant is made when fixed credentials are given");
    (app.key, app.secret) = ("CI1".into(), "first-secret".into());
    assert_eq!(app.post(&app.seed_request("F-CI1")).await.get("return_status"), Some("00"));
    app.stop().await;

    let second = fixed("second-secret");
    let mut app = crate::helpers::spawn_in_with(dir.path().to_path_buf(), |s| s.sandbox_merchant = Some(second)).await;
    (app.key, app.secret) = ("CI1".into(), "first-secret".into());
    // Both starts may fall in one second of the tests' frozen clock: move on
    // so this start's eft_trade_no differ from the first's.
    app.state.clock().advance(1).unwrap();
    let stale = app.post(&app.seed_request("F-CI2")).await;
    app.secret = "second-secret".into();
    let fresh = app.post(&app.seed_request("F-CI2")).await;

    assert_eq!(stale.get("return_status"), Some("10"), "the old secret no longer signs: {}", stale.to_json());
    assert_eq!(fresh.get("return_status"), Some("00"), "{}", fresh.to_json());
}

#[tokio::test]
async fn fixed_credentials_are_refused_in_production() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = vmp_server::Settings::new(dir.path());
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.mode = Mode::Production;
    settings.database_url = crate::helpers::postgres_for(dir.path()).await.map(secrecy::SecretString::from);
    settings.sandbox_merchant = Some(vmp_server::SandboxMerchant::parse("CI1:fixed-secret").unwrap());

    let err = vmp_server::Application::build(settings).await.err().expect("refused");

    assert!(format!("{err:#}").contains("sandbox mode only"), "{err:#}");
}

#[tokio::test]
async fn a_start_that_cannot_bind_creates_no_merchant() {
    let dir = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut settings = vmp_server::Settings::new(dir.path());
    settings.listen = busy.local_addr().unwrap();
    let database_url = crate::helpers::postgres_for(dir.path()).await;
    settings.database_url = database_url.clone().map(secrecy::SecretString::from);

    assert!(vmp_server::Application::build(settings).await.is_err(), "the address is taken");

    let (store, _) = vmp_server::store::open(dir.path(), database_url.as_deref(), 1).await.unwrap();
    let merchants = store.list_merchants().await.unwrap();
    store.close().await.unwrap();
    assert!(merchants.is_empty(), "a merchant nobody saw the secret of: {merchants:?}");
}
