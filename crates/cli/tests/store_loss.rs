//! The SQLite store's files removed or replaced under a running `vmp serve`,
//! and a data directory that lost its store: never `00` for what would be
//! gone at the next start, and never a silent fresh start.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{Gateway, VMP, order_json};
use vmp_protocol::Params;

const LOST_LOG: &str = "the store's database file was";

fn serve(data: &Path, log: &Path, extra: &[&str]) -> Gateway {
    let mut args = vec!["--data-dir", data.to_str().unwrap()];
    args.extend_from_slice(extra);
    Gateway::start(data.parent().unwrap(), &args, "info", Stdio::from(std::fs::File::create(log).unwrap()))
}

async fn place(gateway: &Gateway, out_trade_no: &str) -> Params {
    let (key, secret) = (gateway.key.as_deref().unwrap(), gateway.secret.as_deref().unwrap());
    let body = reqwest::Client::new()
        .post(format!("{}/VMP/Servlet/JSAPIService.do", gateway.base))
        .body(order_json(key, secret, out_trade_no, "0.02", &[]))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    Params::from_json(&body).unwrap()
}

async fn readyz(gateway: &Gateway) -> (u16, serde_json::Value) {
    let resp = reqwest::get(format!("{}/readyz", gateway.base)).await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn remove_database_files(data: &Path) {
    for name in ["openvmp.db", "openvmp.db-wal", "openvmp.db-shm"] {
        std::fs::remove_file(data.join(name)).unwrap();
    }
}

#[tokio::test]
async fn removing_the_database_under_a_running_gateway_stops_every_00_fails_readiness_and_is_logged_once() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = (dir.path().join("data"), dir.path().join("gateway.log"));
    let mut gateway = serve(&data, &log, &[]);
    assert_eq!(place(&gateway, "BEFORE").await.get("return_status"), Some("00"));

    // Act
    remove_database_files(&data);
    let mut answers = Vec::new();
    for n in 0..5 {
        answers.push(place(&gateway, &format!("AFTER{n}")).await);
    }
    let (status, body) = readyz(&gateway).await;

    // Assert: refused, not ready, logged once, and no file created again.
    for a in &answers {
        assert_eq!(a.get("return_status"), Some("-1"), "{}", a.to_json());
    }
    assert_eq!((status, body["reason"].as_str()), (503, Some("store file removed or replaced")));
    gateway.signal("-TERM");
    gateway.wait_exit(Duration::from_secs(10));
    let log = std::fs::read_to_string(&log).unwrap();
    assert_eq!(log.matches(LOST_LOG).count(), 1, "{log}");
    assert!(log.contains("was removed"), "{log}");
    assert!(!log.contains("request failed in the store"), "not logged per request: {log}");
    assert!(!data.join("openvmp.db").exists(), "no empty database was created in its place");
}

#[tokio::test]
async fn a_database_file_replaced_under_a_running_gateway_is_noticed_too() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = (dir.path().join("data"), dir.path().join("gateway.log"));
    let gateway = serve(&data, &log, &[]);
    assert_eq!(place(&gateway, "BEFORE").await.get("return_status"), Some("00"));

    // Act: another file is renamed over it (a restore done the wrong way).
    std::fs::copy(data.join("openvmp.db"), dir.path().join("copy.db")).unwrap();
    std::fs::rename(dir.path().join("copy.db"), data.join("openvmp.db")).unwrap();
    let after = place(&gateway, "AFTER").await;

    // Assert
    assert_eq!(after.get("return_status"), Some("-1"), "{}", after.to_json());
    assert_eq!(readyz(&gateway).await.0, 503);
    drop(gateway);
    assert!(std::fs::read_to_string(&log).unwrap().contains("was replaced by another file"));
}

#[tokio::test]
async fn a_data_directory_that_lost_its_database_refuses_to_start_unless_init() {
    // Arrange: a store that served an order, then lost its files.
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = (dir.path().join("data"), dir.path().join("gateway.log"));
    let first = serve(&data, &log, &[]);
    let first_key = first.key.clone().unwrap();
    assert_eq!(place(&first, "KEPT").await.get("return_status"), Some("00"));
    drop(first);
    remove_database_files(&data);

    // Act
    let refused = Command::new(VMP)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()])
        // Errors only: the sandbox's no-master-key warning is not the point.
        .env("VMP_LOG", "error")
        .env_remove("VMP_DATA_DIR")
        .env_remove("VMP_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();

    // Assert: one clear line, nothing created.
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("openvmp.db is missing") && lines[0].contains("--init"), "{stderr}");
    assert!(!data.join("openvmp.db").exists());

    // Act: the operator asks for an empty store.
    let fresh = serve(&data, &log, &["--init"]);

    // Assert: a new, empty store with a new sandbox merchant.
    assert!(fresh.key.as_deref().is_some_and(|k| k != first_key), "a new sandbox merchant is created and shown");
    assert_eq!(place(&fresh, "NEW").await.get("return_status"), Some("00"));
}

#[test]
fn a_fresh_directory_starts_without_init_and_is_marked_as_holding_a_store() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    // Act
    let gateway = serve(&data, &dir.path().join("gateway.log"), &[]);

    // Assert
    assert!(gateway.key.is_some(), "first start: the sandbox merchant is created");
    let marker = std::fs::read_to_string(data.join(vmp_server::store::STORE_MARKER)).unwrap();
    assert!(marker.contains("--init"), "{marker}");
}
