//! `vmp serve`'s operational surface as a real process: `/readyz`, the
//! Prometheus metrics listener, and JSON logs.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

mod support;

use std::process::{Command, Stdio};

use support::{Gateway, VMP, order_json};

async fn get(url: &str) -> (u16, String) {
    let resp = reqwest::get(url).await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn post(base: &str, body: String) -> String {
    let resp =
        reqwest::Client::new().post(format!("{base}/VMP/Servlet/JSAPIService.do")).body(body).send().await.unwrap();
    resp.text().await.unwrap()
}

/// The value of the sample whose line starts with `series` (name and labels).
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_by_endpoint_service_and_status_with_bounded_labels() {
    // Arrange
    let cwd = tempfile::tempdir().unwrap();
    let served = Gateway::start(cwd.path(), &["--metrics-listen", "127.0.0.1:0"], "warn", Stdio::null());
    let metrics_url = served
        .stdout
        .lock()
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("metrics on ").map(str::to_owned))
        .expect("the metrics address is printed");
    let (key, secret) = (served.key.clone().unwrap(), served.secret.clone().unwrap());

    // Act
    let placed = post(&served.base, order_json(&key, &secret, "M1", "0.02", &[])).await;
    assert!(placed.contains("\"return_status\":\"00\""), "{placed}");
    let unknown = order_json(&key, &secret, "M2", "0.02", &[("service", "service.x.y.Z")]);
    post(&served.base, unknown).await;
    for n in 0..3 {
        let junk = order_json(&key, &secret, &format!("J{n}"), "0.02", &[("service", &format!("junk-{n}"))]);
        post(&served.base, junk).await;
    }
    post(&served.base, "not json".into()).await;
    assert_eq!(get(&format!("{}/readyz", served.base)).await.0, 200);
    let (status, metrics) = get(&metrics_url).await;

    // Assert
    assert_eq!(status, 200);
    let series = |s: &str| sample(&metrics, s);
    assert_eq!(
        series(r#"vmp_requests_total{endpoint="jsapi",service="service.alipay.wap.PreOrder",return_status="00"}"#),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        series(r#"vmp_requests_total{endpoint="jsapi",service="other",return_status="-13"}"#),
        Some(4.0),
        "names outside the catalogue share one label: {metrics}"
    );
    assert_eq!(series(r#"vmp_requests_total{endpoint="jsapi",service="none",return_status="-13"}"#), Some(1.0));
    assert_eq!(series(r#"vmp_requests_total{endpoint="readyz",service="none",return_status="none"}"#), Some(1.0));
    assert!(!metrics.contains("junk-"), "client text never becomes a label");
    assert!(series(r#"vmp_request_duration_seconds_count{endpoint="jsapi"}"#).unwrap() >= 6.0);
    assert!(series("vmp_store_commit_batch_size_count").unwrap() >= 1.0);
    assert!(series("vmp_store_commit_duration_seconds_count").unwrap() >= 1.0);
    assert!(series("vmp_http_connections_open").is_some(), "{metrics}");
    assert_eq!(series("vmp_notifications_owed"), Some(0.0));
    assert_eq!(series("vmp_notifications_oldest_owed_age_seconds"), Some(0.0));
}

#[tokio::test]
async fn without_metrics_listen_there_is_no_metrics_listener() {
    let cwd = tempfile::tempdir().unwrap();
    let served = Gateway::start(cwd.path(), &[], "warn", Stdio::null());
    assert!(!served.stdout.lock().unwrap().contains("metrics on"));
    // The gateway itself serves no metrics.
    assert_eq!(get(&format!("{}/metrics", served.base)).await.0, 404);
}

#[tokio::test]
async fn readyz_answers_ready_and_healthz_stays_plain_ok() {
    let cwd = tempfile::tempdir().unwrap();
    let served = Gateway::start(cwd.path(), &[], "warn", Stdio::null());
    assert_eq!(get(&format!("{}/healthz", served.base)).await, (200, "ok".to_owned()));
    let (status, body) = get(&format!("{}/readyz", served.base)).await;
    assert_eq!(status, 200);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn vmp_log_format_json_writes_one_json_object_per_line() {
    // Arrange
    let cwd = tempfile::tempdir().unwrap();
    let log = cwd.path().join("stderr.log");
    // `start_command` clears VMP_LOG_FORMAT from the inherited environment;
    // a wrapper shell sets it for the gateway alone.
    let mut command = Command::new("sh");
    command.arg("-c").arg("VMP_LOG_FORMAT=json exec \"$0\" \"$@\"").arg(VMP).args(["serve", "--listen", "127.0.0.1:0"]);
    let mut served = Gateway::start_command(command, cwd.path(), "info", std::fs::File::create(&log).unwrap().into());

    // Act
    let (status, _) = get(&format!("{}/healthz", served.base)).await;
    served.signal("-TERM");
    assert!(served.wait_exit(std::time::Duration::from_secs(20)).success());

    // Assert
    assert_eq!(status, 200);
    let logged = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = logged.lines().collect();
    assert!(lines.len() >= 3, "{logged}");
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
    }
    assert!(!logged.contains(served.secret.as_deref().unwrap()), "the secret is never logged");
}

#[tokio::test]
async fn a_gateway_whose_stderr_is_closed_keeps_serving() {
    // Arrange: stderr is a pipe nobody reads (`vmp serve 2>&1 | head` after
    // head exits). Logging at info writes a line for each request.
    let cwd = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let served = Gateway::start(cwd.path(), &[], "info", Stdio::from(writer));
    let (key, secret) = (served.key.clone().unwrap(), served.secret.clone().unwrap());

    // Act: a refused request and an order, each logged.
    let refused = post(&served.base, "not json".into()).await;
    let placed = post(&served.base, order_json(&key, &secret, "CLOSED1", "0.02", &[])).await;

    // Assert: answered, and still up.
    assert!(refused.contains("\"return_status\":\"-13\""), "{refused}");
    assert!(placed.contains("\"return_status\":\"00\""), "{placed}");
    assert_eq!(get(&format!("{}/readyz", served.base)).await.0, 200);
}
