//! `vmp check-handler` as a real process against notify handlers served
//! here on 127.0.0.1: a correct one (the SDK's axum extractor) passes every
//! case; one that acks forgeries, one that fails duplicates and one that is
//! too slow fail the cases they should, and the exit code says so.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

mod support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;
use vmp_client::SecretString;
use vmp_client::axum::{Ack, NotificationReceiver, VerifiedNotification};

use support::run_vmp;

const KEY: &str = "CHK1";
const SECRET: &str = "handler-secret-1234";

/// Serves `app` on 127.0.0.1:0 and returns its `/notify` URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/notify")
}

/// The correct handler: the SDK verifies, the handler acks.
fn correct() -> Router {
    async fn notify(n: VerifiedNotification) -> Ack {
        n.ack()
    }
    let receiver = NotificationReceiver::new(SecretString::from(SECRET));
    Router::new().route("/notify", post(notify)).with_state(receiver)
}

/// Acks whatever arrives, verified or not.
fn acks_forgeries() -> Router {
    Router::new().route("/notify", post(|| async { "success" }))
}

/// Verifies, but answers 500 to a notification it has seen before.
fn fails_duplicates() -> Router {
    async fn notify(State(state): State<Remembering>, n: VerifiedNotification) -> Result<Ack, StatusCode> {
        let key = (n.notification.out_trade_no.clone(), n.notification.trade_type.to_string());
        if state.seen.lock().unwrap().insert(key) { Ok(n.ack()) } else { Err(StatusCode::INTERNAL_SERVER_ERROR) }
    }
    let receiver = NotificationReceiver::new(SecretString::from(SECRET));
    Router::new().route("/notify", post(notify)).with_state(Remembering { receiver, seen: Arc::default() })
}

/// The receiver, and which (order, trade type) notifications were seen.
#[derive(Clone)]
struct Remembering {
    receiver: NotificationReceiver,
    seen: Arc<Mutex<HashSet<(String, String)>>>,
}

impl axum::extract::FromRef<Remembering> for NotificationReceiver {
    fn from_ref(state: &Remembering) -> Self {
        state.receiver.clone()
    }
}

/// Acks correctly, after 1.5 seconds.
fn too_slow() -> Router {
    async fn notify(n: VerifiedNotification) -> Ack {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        n.ack()
    }
    let receiver = NotificationReceiver::new(SecretString::from(SECRET));
    Router::new().route("/notify", post(notify)).with_state(receiver)
}

/// Runs `vmp check-handler URL --json` and returns the exit status and the report.
async fn check(url: String, extra: &[&str]) -> (bool, Value) {
    let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
    let out = tokio::task::spawn_blocking(move || {
        let mut args = vec!["check-handler", url.as_str(), "--key", KEY, "--secret", SECRET, "--json"];
        args.extend(extra.iter().map(String::as_str));
        run_vmp(&args, &[])
    })
    .await
    .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON report ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.success(), report)
}

fn failed_cases(report: &Value) -> Vec<String> {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handler_built_on_the_sdk_passes_every_case() {
    let url = serve(correct()).await;

    let (ok, report) = check(url, &[]).await;

    assert!(ok, "{report:#}");
    assert_eq!(failed_cases(&report), Vec::<String>::new());
    assert_eq!(report["failed"], 0);
    assert!(report["cases"].as_array().unwrap().len() >= 20, "{report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handler_that_acks_forgeries_fails_every_forged_and_stale_case() {
    let url = serve(acks_forgeries()).await;

    let (ok, report) = check(url, &[]).await;

    assert!(!ok, "the exit code says a case failed");
    let failed = failed_cases(&report);
    for name in [
        "tampered:total_fee",
        "tampered:trade_status",
        "tampered:added_field",
        "sign:missing",
        "sign:wrong",
        "time:stale",
        "time:future",
    ] {
        assert!(failed.iter().any(|f| f == name), "{name} should fail: {failed:?}");
    }
    for name in ["valid", "duplicate", "refund_after_sale", "refund_before_sale"] {
        assert!(!failed.iter().any(|f| f == name), "{name} should pass: {failed:?}");
    }
    let forged = report["cases"].as_array().unwrap().iter().find(|c| c["name"] == "sign:wrong").unwrap();
    let problem = forged["steps"][0]["problem"].as_str().unwrap();
    assert!(problem.contains("acknowledged a notification that does not verify"), "{problem}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handler_that_fails_duplicates_fails_the_duplicate_and_retry_cases() {
    let url = serve(fails_duplicates()).await;

    let (ok, report) = check(url, &[]).await;

    assert!(!ok);
    let mut failed = failed_cases(&report);
    failed.sort();
    assert_eq!(failed, ["duplicate", "refund_before_sale"], "{report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handler_slower_than_the_timeout_fails_and_the_text_report_says_why() {
    let url = serve(too_slow()).await;

    let (ok, report) = check(url.clone(), &["--timeout", "1"]).await;
    let text = tokio::task::spawn_blocking(move || {
        run_vmp(&["check-handler", &url, "--key", KEY, "--secret", SECRET, "--timeout", "1"], &[])
    })
    .await
    .unwrap();

    assert!(!ok);
    assert!(failed_cases(&report).iter().any(|f| f == "valid"), "{report:#}");
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("FAIL valid") && stdout.contains("no answer within 1000 ms"), "{stdout}");
    assert!(!text.status.success());
    assert!(String::from_utf8_lossy(&text.stderr).contains("cases failed"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_checker_refuses_a_url_that_is_not_http() {
    let out = tokio::task::spawn_blocking(|| {
        run_vmp(&["check-handler", "ftp://127.0.0.1/notify", "--key", KEY, "--secret", SECRET], &[])
    })
    .await
    .unwrap();
    let line = support::error_line(&out);
    assert!(line.contains("http(s)"), "{line}");
}
