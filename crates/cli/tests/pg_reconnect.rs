//! PostgreSQL lost under load, with a real `vmp serve`: the writer's
//! backend is terminated (`pg_terminate_backend`), then the whole cluster is
//! stopped and started again, while clients place, settle and refund orders
//! and retry whatever was not accepted. Nothing answered `00` may be
//! missing, nothing may be applied twice, and the gateway must take writes
//! again within 5 s of the database's return, without a restart.
//!
//! Needs the throwaway cluster of `scripts/test` (`VMP_TEST_DATABASE_URL`
//! and `VMP_TEST_PGDATA`, from `scripts/test-postgres start`): the test
//! stops and starts it with `pg_ctl` (as the `postgres` user when run as
//! root). Without them it says so and passes. It leaves the cluster running
//! however it ends; `scripts/test` stops and removes it afterwards.
//!
//! The restart hits every database of the cluster. `cargo test` runs one
//! test binary at a time, and this binary holds this one test, so no other
//! test is using the cluster meanwhile; a runner that runs several binaries
//! at once (`cargo nextest`) must run this one on its own.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

mod support;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::Gateway;
use vmp_protocol::Params;

const KEY: &str = "RECONNECT1";
const SECRET: &str = "reconnect-secret";

/// The cluster to stop and start, or `None` (and why) when there is none.
fn cluster() -> Option<(String, PathBuf)> {
    if std::env::var("VMP_SKIP_POSTGRES").as_deref() == Ok("1") {
        eprintln!("SKIPPED: VMP_SKIP_POSTGRES=1, the PostgreSQL reconnect test did not run");
        return None;
    }
    let url = std::env::var("VMP_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty());
    let pgdata = std::env::var("VMP_TEST_PGDATA").ok().filter(|d| !d.is_empty());
    match (url, pgdata) {
        (Some(url), Some(dir)) => Some((url, PathBuf::from(dir))),
        _ => {
            eprintln!(
                "SKIPPED: the PostgreSQL reconnect test needs VMP_TEST_DATABASE_URL and VMP_TEST_PGDATA \
                 (a cluster it may stop and start: scripts/test, or export $(scripts/test-postgres start))"
            );
            None
        }
    }
}

/// Runs `pg_ctl -D PGDATA ARGS` (as `postgres` when root, as initdb needs).
fn pg_ctl(pgdata: &Path, args: &str) {
    let mut bins: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL under /usr/lib/postgresql")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin/pg_ctl")))
        .filter(|p| p.exists())
        .collect();
    bins.sort_by_key(|p| p.parent().and_then(Path::parent).and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok()));
    let pg_ctl = bins.last().expect("pg_ctl");
    let line = format!("{} -D {} {args}", pg_ctl.display(), pgdata.display());
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let mut command = if root { Command::new("su") } else { Command::new("sh") };
    if root {
        command.args(["postgres", "-c", &line]);
    } else {
        command.args(["-c", &line]);
    }
    let out = command.stdin(Stdio::null()).output().expect("pg_ctl runs");
    assert!(out.status.success(), "pg_ctl {args}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Stops the cluster; starts it again when dropped if the test did not,
/// so a failing test does not leave it down for the tests after it.
struct Stopped<'a>(&'a Path, bool);

impl<'a> Stopped<'a> {
    fn stop(pgdata: &'a Path) -> Self {
        pg_ctl(pgdata, "-m fast -w -t 60 stop");
        Self(pgdata, true)
    }

    fn start(mut self) {
        start_cluster(self.0);
        self.1 = false;
    }
}

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        if self.1 {
            start_cluster(self.0);
        }
    }
}

fn start_cluster(pgdata: &Path) {
    // Its settings (port, socket directory) are in the data directory.
    pg_ctl(pgdata, &format!("-l {}/server.log -w -t 60 start", pgdata.display()));
}

fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql").arg(url).args(["-qAtc", sql]).output().expect("psql runs");
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn signed(fields: &[(&str, &str)]) -> String {
    support::signed(KEY, SECRET, fields)
}

/// What the clients saw.
#[derive(Default)]
struct Seen {
    /// out_trade_no → eft_trade_no of every `00` answer (all must agree).
    accepted: Mutex<HashMap<String, HashSet<String>>>,
    /// Orders placed, settled and refunded (each accepted once in the end).
    chains_done: AtomicUsize,
    /// Answers that were not accepted (`-1`, 503, no answer).
    refused: AtomicUsize,
    /// Any other answer: a bug.
    unexpected: Mutex<Vec<String>>,
}

/// One client: place, settle and refund its own orders, one after the
/// other, each step retried until accepted, until `stop`.
async fn client(base: String, worker: usize, notify_url: String, stop: Arc<AtomicBool>, seen: Arc<Seen>) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().unwrap();
    let jsapi = format!("{base}/VMP/Servlet/JSAPIService.do");
    let deadline = |what: &str| {
        let started = Instant::now();
        let what = what.to_owned();
        move || assert!(started.elapsed() < Duration::from_secs(60), "{what} was never accepted")
    };
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        i += 1;
        let out = format!("W{worker}-{i}");
        let check = deadline(&out);
        let eft = loop {
            let body = signed(&[
                ("service", "service.alipay.wap.PreOrder"),
                ("transaction_amount", "3.00"),
                ("out_trade_no", &out),
                ("payType", "Alipay"),
                ("buyerType", "others"),
                ("wallet", "ALIPAYHK"),
                ("subject", "reconnect"),
                ("pay_scene", "WAP"),
                ("notify_url", &notify_url),
            ]);
            let answer = post(&http, &jsapi, body).await;
            match answer.as_ref().and_then(|a| a.get("return_status")) {
                Some("00") => {
                    let eft = answer.as_ref().and_then(|a| a.get("eft_trade_no")).unwrap().to_owned();
                    seen.accepted.lock().unwrap().entry(out.clone()).or_default().insert(eft.clone());
                    break eft;
                }
                Some("-1") | None => seen.refused.fetch_add(1, Ordering::SeqCst),
                Some(_) => {
                    seen.unexpected.lock().unwrap().push(answer.unwrap().to_json());
                    return;
                }
            };
            retry_pause(&check).await;
        };
        loop {
            let pay = http
                .post(format!("{base}/sandbox/orders/{eft}/pay"))
                .json(&serde_json::json!({"outcome": "success"}))
                .send()
                .await;
            let body: Option<serde_json::Value> = match pay {
                Ok(r) if r.status().is_success() => r.json().await.ok(),
                _ => None,
            };
            match body {
                Some(v) if v["trade_status"] == "TRADE_SUCCESS" => break,
                Some(v) => {
                    seen.unexpected.lock().unwrap().push(v.to_string());
                    return;
                }
                None => seen.refused.fetch_add(1, Ordering::SeqCst),
            };
            retry_pause(&check).await;
        }
        loop {
            let body = signed(&[
                ("service", "service.alipay.wap.Refund"),
                ("out_trade_no", &out),
                ("out_refund_no", &format!("{out}-R")),
                ("return_amount", "0.01"),
                ("wallet", "ALIPAYHK"),
            ]);
            let answer = post(&http, &jsapi, body).await;
            match answer.as_ref().and_then(|a| a.get("return_status")) {
                Some("00") => break,
                Some("-1") | None => seen.refused.fetch_add(1, Ordering::SeqCst),
                Some(_) => {
                    seen.unexpected.lock().unwrap().push(answer.unwrap().to_json());
                    return;
                }
            };
            retry_pause(&check).await;
        }
        seen.chains_done.fetch_add(1, Ordering::SeqCst);
    }
}

/// A client's pause before sending a refused request again.
async fn retry_pause(check_deadline: &impl Fn()) {
    check_deadline();
    tokio::time::sleep(Duration::from_millis(20)).await;
}

async fn post(http: &reqwest::Client, url: &str, body: String) -> Option<Params> {
    let resp = http.post(url).body(body).send().await.ok()?;
    Params::from_json(&resp.bytes().await.ok()?).ok()
}

/// Waits (up to `within`) until `done()` holds.
async fn until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn readyz(http: &reqwest::Client, base: &str) -> (u16, String) {
    match http.get(format!("{base}/readyz")).send().await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orders_settlements_and_refunds_survive_a_terminated_writer_and_a_database_restart() {
    let Some((base_url, pgdata)) = cluster() else { return };
    let db = support::fresh_database(&base_url, "vmp_reconnect");
    support::add_pg_merchant(&db, KEY, SECRET);

    let (notify_url, notified) = support::notification_receiver(SECRET).await;
    let dir = tempfile::tempdir().unwrap();
    let stderr = dir.path().join("gateway.log");
    let retries = "1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s";
    let mut gateway = Gateway::start(
        dir.path(),
        &["--database-url", &db, "--notify-retry-schedule", retries, "--notify-timeout", "2"],
        "info",
        Stdio::from(std::fs::File::create(&stderr).unwrap()),
    );
    let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Seen::default());
    let clients: Vec<_> = (0..3)
        .map(|w| {
            let (base, url, stop, seen) = (gateway.base.clone(), notify_url.clone(), stop.clone(), seen.clone());
            tokio::spawn(client(base, w, url, stop, seen))
        })
        .collect();
    let done = || seen.chains_done.load(Ordering::SeqCst);
    until("the first orders", Duration::from_secs(30), || done() >= 20).await;

    // 1. The writer's backend is terminated mid-load.
    let dbname = db.rsplit('/').next().unwrap();
    let killed = psql(
        &base_url,
        &format!(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = 'openvmp-writer' AND datname = '{dbname}') t"
        ),
    );
    assert_eq!(killed, "1", "the writer's backend was found and terminated");
    let at = done();
    until("service after the terminated backend", Duration::from_secs(10), || done() >= at + 20).await;

    // 2. The database goes down: requests are refused (never 00), /readyz fails.
    let down = Stopped::stop(&pgdata);
    let refused_before = seen.refused.load(Ordering::SeqCst);
    until("refusals while down", Duration::from_secs(20), || {
        seen.refused.load(Ordering::SeqCst) >= refused_before + 10
    })
    .await;
    let probe = post(
        &http,
        &format!("{}/VMP/Servlet/JSAPIService.do", gateway.base),
        support::order_json(KEY, SECRET, "WHILE-DOWN", "1.00", &[]),
    )
    .await
    .expect("the gateway answers while the database is down");
    assert_eq!(probe.get("return_status"), Some("-1"), "{}", probe.to_json());
    let started = Instant::now();
    loop {
        let (status, body) = readyz(&http, &gateway.base).await;
        if status == 503 {
            assert!(body.contains("store unreachable"), "{body}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "/readyz still {status} {body} with the database down");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // 3. It comes back: writes succeed again within 5 s, without a restart.
    down.start();
    let up = Instant::now();
    let jsapi = format!("{}/VMP/Servlet/JSAPIService.do", gateway.base);
    let after = loop {
        let answer = post(&http, &jsapi, support::order_json(KEY, SECRET, "AFTER-UP", "1.00", &[])).await;
        if let Some(a) = answer.filter(|a| a.get("return_status") == Some("00")) {
            break a;
        }
        assert!(up.elapsed() < Duration::from_secs(5), "writes did not resume within 5 s of the database's return");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let resumed_in = up.elapsed();
    let at = done();
    until("service after the restart", Duration::from_secs(20), || done() >= at + 20).await;
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.unwrap();
    }
    let unexpected = seen.unexpected.lock().unwrap().clone();
    assert!(unexpected.is_empty(), "unexpected answers: {unexpected:?}");
    let started = Instant::now();
    while readyz(&http, &gateway.base).await.0 != 200 {
        assert!(started.elapsed() < Duration::from_secs(5), "/readyz did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Nothing lost, nothing twice.
    let accepted = seen.accepted.lock().unwrap().clone();
    let (store, _) = vmp_server::store::open(dir.path(), Some(&db), 1).await.unwrap();
    assert_eq!(
        store.count_orders().await.unwrap(),
        accepted.len() as i64 + 1,
        "every order answered 00 (the clients' and AFTER-UP) is stored once, and no other (WHILE-DOWN is not)"
    );
    let after_up = store.order_by_out_trade_no(KEY, "AFTER-UP").await.unwrap().unwrap();
    assert_eq!(after.get("eft_trade_no"), Some(after_up.eft_trade_no.as_str()));
    for (out, efts) in &accepted {
        assert_eq!(efts.len(), 1, "{out}: every 00 named the same eft_trade_no");
        let eft = efts.iter().next().unwrap();
        let order = store.order_by_out_trade_no(KEY, out).await.unwrap().unwrap_or_else(|| panic!("{out} stored"));
        assert_eq!(order.eft_trade_no.as_str(), eft);
        // Clients finish every chain they start: each order was settled and refunded.
        assert_eq!(order.state.as_str(), "TRADE_REFUND", "{out}");
        assert_eq!(order.refunded_minor, 1, "{out}: refunded once");
        assert_eq!(store.refunds_total(eft).await.unwrap(), 1, "{out}: one refund row");
        assert_eq!(store.notifications_for_order(eft).await.unwrap().len(), 1, "{out}: settled once");
    }

    // Every owed notification is delivered, outage or not.
    let paid: HashSet<String> = {
        let mut paid = HashSet::new();
        for efts in accepted.values() {
            let eft = efts.iter().next().unwrap();
            if !store.notifications_for_order(eft).await.unwrap().is_empty() {
                paid.insert(eft.clone());
            }
        }
        paid
    };
    until("every notification delivered", Duration::from_secs(60), || {
        let n = notified.lock().unwrap();
        paid.iter().all(|e| n.contains_key(e))
    })
    .await;
    store.close().await.unwrap();

    // The gateway still stops cleanly; it logged the outage, not every request.
    gateway.signal("-TERM");
    assert!(gateway.wait_exit(Duration::from_secs(30)).success());
    let log = std::fs::read_to_string(&stderr).unwrap();
    assert!(log.contains("store writer lost its PostgreSQL connection"), "{log}");
    assert!(log.contains("store writer reconnected"), "{log}");
    eprintln!(
        "{} orders; {} refusals during the outages; writes resumed {resumed_in:?} after the restart",
        accepted.len(),
        seen.refused.load(Ordering::SeqCst)
    );
}
