//! Crash safety, graceful shutdown and secret hygiene, with the real `vmp`
//! binary: SIGKILL and SIGTERM during load, then the store is inspected.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

use std::collections::{HashMap, HashSet};
mod support;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::routing;
use support::{Gateway, VMP, order_json};
use vmp_protocol::{Params, format_time, sign};

const RETRIES: &[&str] = &[
    "--notify-retry-schedule",
    "1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s",
    "--notify-timeout",
    "3",
];

fn serve(dir: &Path, log: &str, stderr: Stdio) -> Gateway {
    let mut args = vec!["--data-dir", dir.to_str().expect("utf-8 path")];
    args.extend_from_slice(RETRIES);
    Gateway::start(dir.parent().expect("parent"), &args, log, stderr)
}

fn order_body(key: &str, secret: &str, out: &str, notify_url: &str) -> String {
    order_json(key, secret, out, "3.00", &[("notify_url", notify_url)])
}

/// Places an order and pays it through the sandbox API; returns its eft_trade_no.
async fn place_and_pay(client: &reqwest::Client, base: &str, body: String) -> String {
    let resp = client.post(format!("{base}/VMP/Servlet/JSAPIService.do")).body(body).send().await.unwrap();
    let a = Params::from_json(&resp.bytes().await.unwrap()).unwrap();
    let eft = a.get("eft_trade_no").unwrap().to_owned();
    let pay = client.post(format!("{base}/sandbox/orders/{eft}/pay")).json(&serde_json::json!({"outcome": "success"}));
    pay.send().await.unwrap();
    eft
}

/// A merchant endpoint that records acknowledged notifications, after an optional delay.
async fn receiver(delay: Duration) -> (String, Arc<Mutex<HashSet<String>>>, Arc<AtomicBool>) {
    let seen: Arc<Mutex<HashSet<String>>> = Arc::default();
    let started: Arc<AtomicBool> = Arc::default();
    let (seen_in, started_in) = (Arc::clone(&seen), Arc::clone(&started));
    let app = Router::new().route(
        "/notify",
        routing::post(move |body: Bytes| {
            let (seen, started) = (Arc::clone(&seen_in), Arc::clone(&started_in));
            async move {
                started.store(true, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                if let Ok(p) = Params::from_json(&body)
                    && let Some(eft) = p.get("eft_trade_no")
                {
                    seen.lock().unwrap().insert(eft.to_owned());
                }
                "success"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen, started)
}

/// Places and settles orders from `workers` tasks until the server stops
/// answering. Returns (out_trade_no → eft_trade_no) of every `00` answer,
/// and every out_trade_no that was sent.
async fn load(
    base: &str,
    key: &str,
    secret: &str,
    notify: &str,
    workers: usize,
) -> (HashMap<String, String>, HashSet<String>) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let answered: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let sent: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (client, answered, sent) = (client.clone(), Arc::clone(&answered), Arc::clone(&sent));
        let (base, key, secret, notify) = (base.to_owned(), key.to_owned(), secret.to_owned(), notify.to_owned());
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let out = format!("W{w}N{i}");
                sent.lock().unwrap().insert(out.clone());
                let body = order_body(&key, &secret, &out, &notify);
                let Ok(resp) = client.post(format!("{base}/VMP/Servlet/JSAPIService.do")).body(body).send().await
                else {
                    break;
                };
                let Ok(bytes) = resp.bytes().await else { break };
                let answer = Params::from_json(&bytes).expect("every answer that arrives is complete JSON");
                assert_eq!(answer.get("return_status"), Some("00"), "{}", answer.to_json());
                let eft = answer.get("eft_trade_no").unwrap().to_owned();
                answered.lock().unwrap().insert(out, eft.clone());
                let pay = client
                    .post(format!("{base}/sandbox/orders/{eft}/pay"))
                    .json(&serde_json::json!({"outcome": "success"}))
                    .send()
                    .await;
                if pay.is_err() {
                    break;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    let sent = sent.lock().unwrap().clone();
    (answered, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_load_loses_no_answered_order_and_no_owed_notification() {
    let dir = tempfile::tempdir().unwrap();
    let (notify, seen, _) = receiver(Duration::ZERO).await;
    let mut server = serve(dir.path(), "warn", Stdio::null());
    let (key, secret) = (server.key.clone().unwrap(), server.secret.clone().unwrap());
    let pid = server.child.id();

    // Kill the gateway with SIGKILL while 16 clients place and settle orders.
    let killer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap().success());
    });
    let (answered, sent) = load(&server.base, &key, &secret, &notify, 16).await;
    killer.await.unwrap();
    server.wait_exit(Duration::from_secs(10));
    assert!(answered.len() > 50, "the load ran before the kill ({} orders)", answered.len());

    // Restart on the same data directory.
    let restarted = serve(dir.path(), "warn", Stdio::null());
    assert!(restarted.key.is_none(), "no new sandbox merchant after a crash");
    let (store, _) = vmp_server::store::open(dir.path(), None, 1).await.unwrap();
    let mut stored = HashMap::new();
    for out in &sent {
        if let Some(o) = store.order_by_out_trade_no(&key, out).await.unwrap() {
            stored.insert(out.clone(), o);
        }
    }
    for (out, eft) in &answered {
        let o = stored.get(out).unwrap_or_else(|| panic!("order {out} was answered 00 but is not in the store"));
        assert_eq!(&o.eft_trade_no, eft, "{out}: same eft_trade_no after restart");
    }
    let unanswered = stored.len() - answered.len();
    assert!(unanswered <= 16, "{unanswered} stored orders never answered: at most one in flight per client");
    assert_eq!(
        store.count_orders().await.unwrap() as usize,
        stored.len(),
        "no order outside those sent, none duplicated"
    );

    // Every owed notification is delivered after the restart.
    let owed: HashSet<String> =
        stored.values().filter(|o| o.state == "TRADE_SUCCESS").map(|o| o.eft_trade_no.as_str().to_owned()).collect();
    assert!(!owed.is_empty());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let missing = owed.iter().filter(|e| !seen.lock().unwrap().contains(*e)).count();
        if missing == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{missing} of {} owed notifications never arrived", owed.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    store.close().await.unwrap();
    drop(restarted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_during_load_finishes_in_flight_work_commits_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let (slow_notify, slow_seen, slow_started) = receiver(Duration::from_millis(1500)).await;
    let (notify, _, _) = receiver(Duration::ZERO).await;
    let mut server = serve(dir.path(), "warn", Stdio::null());
    let (key, secret) = (server.key.clone().unwrap(), server.secret.clone().unwrap());
    let client = reqwest::Client::new();

    // One notification is in flight to a slow merchant when SIGTERM arrives.
    let body = order_body(&key, &secret, "SLOW1", &slow_notify);
    let slow_eft = place_and_pay(&client, &server.base, body).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !slow_started.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the slow delivery never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let pid = server.child.id();
    let terminator = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
    });
    let (answered, _) = load(&server.base, &key, &secret, &notify, 8).await;
    terminator.await.unwrap();
    let status = server.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "SIGTERM exits 0, got {status}");
    assert!(server.stdout.lock().unwrap().contains("stopped"), "clean shutdown message");

    // Everything answered is committed; the in-flight delivery finished.
    assert!(slow_seen.lock().unwrap().contains(&slow_eft), "the delivery in flight completed before exit");
    let (store, _) = vmp_server::store::open(dir.path(), None, 1).await.unwrap();
    for (out, eft) in &answered {
        let o = store.order_by_out_trade_no(&key, out).await.unwrap().unwrap_or_else(|| panic!("{out} lost"));
        assert_eq!(&o.eft_trade_no, eft);
    }
    let n = store.notifications_for_order(&slow_eft).await.unwrap().remove(0);
    assert_eq!(n.status, "delivered", "the attempt in flight was recorded before exit");
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_ever_appears_in_the_logs_of_a_full_run() {
    let dir = tempfile::tempdir().unwrap();
    let (notify, seen, _) = receiver(Duration::ZERO).await;
    let log_path = dir.path().join("gateway.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    // Secrets encrypted at rest: the master keys must not leak either.
    let key_file = dir.path().join("master.keys");
    let (master_a, master_b) = (support::new_master_key(), support::new_master_key());
    std::fs::write(&key_file, format!("{master_a}\n")).unwrap();
    let data = dir.path().join("data");
    let mut args = vec!["--data-dir", data.to_str().unwrap(), "--master-key-file", key_file.to_str().unwrap()];
    args.extend_from_slice(RETRIES);
    let mut server = Gateway::start(dir.path(), &args, "trace", Stdio::from(log_file));
    let (key, secret) = (server.key.clone().unwrap(), server.secret.clone().unwrap());
    let extra_secret = "S3cr3t-Extra-Merchant-Value";
    let admin = |args: &[&str]| {
        let out = Command::new(VMP)
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .arg("--master-key-file")
            .arg(&key_file)
            .env("VMP_LOG", "trace")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        out
    };
    let out = admin(&["merchant", "add", "--user-confirm-key", "EXTRA1", "--secret", extra_secret]);
    let mut admin_logs = String::from_utf8_lossy(&out.stderr).into_owned();
    // A rotated secret, and the master key rotated while the gateway runs.
    let rotated = admin(&["merchant", "rotate-secret", "EXTRA1", "--overlap", "1h"]);
    admin_logs.push_str(&String::from_utf8_lossy(&rotated.stderr));
    let rotated_stdout = String::from_utf8_lossy(&rotated.stdout).into_owned();
    let rotated_secret = rotated_stdout.lines().find_map(|l| l.strip_prefix("secret:")).unwrap().trim().to_owned();
    std::fs::write(&key_file, format!("{master_a}\n{master_b}\n")).unwrap();
    let rekeyed = admin(&["admin", "rotate-master-key"]);
    admin_logs.push_str(&String::from_utf8_lossy(&rekeyed.stderr));
    admin_logs.push_str(&String::from_utf8_lossy(&rekeyed.stdout));

    // A full run: orders, a bad signature, payment, notification, refund, query.
    let client = reqwest::Client::new();
    let jsapi = format!("{}/VMP/Servlet/JSAPIService.do", server.base);
    // Past the merchant cache: the gateway reloads its keys for version 2.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for (k, s) in [(key.as_str(), secret.as_str()), ("EXTRA1", rotated_secret.as_str())] {
        place_and_pay(&client, &server.base, order_body(k, s, &format!("LOG-{k}"), &notify)).await;
        let mut refund = Params::new()
            .with("service", "service.alipay.wap.Refund")
            .with("user_confirm_key", k)
            .with("out_trade_no", format!("LOG-{k}"))
            .with("out_refund_no", "R1")
            .with("return_amount", "1.00")
            .with("wallet", "ALIPAYHK")
            .with("time", format_time(time::OffsetDateTime::now_utc()));
        sign::sign_in_place(s, &mut refund);
        client.post(&jsapi).body(refund.to_json()).send().await.unwrap();
    }
    let forged = order_body(&key, "not-the-secret", "FORGED", &notify);
    client.post(&jsapi).body(forged).send().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "notifications never arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let keys = vmp_server::vault::KeySource::File(key_file.clone());
    let (store, _) = vmp_server::store::open_with(&data, None, 1, keys, false).await.unwrap();
    let link_key = store.secret_setting_or_init("pay_link_key", String::new().into()).await.unwrap();
    let link_key = secrecy::ExposeSecret::expose_secret(&link_key).to_owned();
    store.close().await.unwrap();
    server.signal("-TERM");
    server.wait_exit(Duration::from_secs(20));

    let mut logs = String::new();
    std::fs::File::open(&log_path).unwrap().read_to_string(&mut logs).unwrap();
    assert!(logs.len() > 1000, "trace logging produced output ({} bytes)", logs.len());
    for (what, value) in [
        ("sandbox merchant secret", secret.as_str()),
        ("added merchant secret", extra_secret),
        ("pay-link key", link_key.as_str()),
        ("rotated secret", rotated_secret.as_str()),
        ("first master key", master_a.as_str()),
        ("second master key", master_b.as_str()),
    ] {
        assert!(!value.is_empty());
        assert!(!logs.contains(value), "the {what} appears in the gateway logs");
        assert!(!admin_logs.contains(value), "the {what} appears in the admin command's logs");
    }
    // The console shows the sandbox merchant's secret exactly once: the banner.
    assert_eq!(server.stdout.lock().unwrap().matches(secret.as_str()).count(), 1);
    // And `rotate-secret` shows the new secret exactly once.
    assert_eq!(rotated_stdout.matches(rotated_secret.as_str()).count(), 1);
    assert!(logs.contains("reloaded the master keys"), "the gateway followed the master key rotation");
}
