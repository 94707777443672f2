//! Losing PostgreSQL under a running gateway (PostgreSQL runs of the suite
//! only; on SQLite these tests say so and pass).
//!
//! The gateway reaches the database through a TCP proxy of the test
//! ([`PgProxy`]), which can cut every connection and refuse new ones (the
//! database "goes away"), or cut the gateway off right after it sent the
//! COMMIT of one particular write, so that the write commits but the
//! gateway never learns it (the outcome-unknown case).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, watch};

use crate::aftersale::refund_fields;
use crate::helpers::{TestApp, postgres_for, spawn_app, spawn_in_with};

/// The simple-protocol message sqlx sends to commit: `Q`, length 11, `COMMIT\0`.
const COMMIT: &[u8] = b"Q\0\0\0\x0bCOMMIT\0";

/// A TCP proxy in front of the test's PostgreSQL.
struct PgProxy {
    port: u16,
    shared: Arc<ProxyShared>,
}

struct ProxyShared {
    upstream: String,
    up: AtomicBool,
    /// Every pipe ends when this moves (the database "goes away").
    cut_all: watch::Sender<u64>,
    /// When set: the next COMMIT sent on a connection after these bytes
    /// (a value of the write, e.g. its out_trade_no) reaches the server,
    /// and the gateway's side of that connection is closed at once.
    cut_commit_after: Mutex<Option<Vec<u8>>>,
    /// Set when such a cut happened (and the server answered the COMMIT).
    committed_unseen: AtomicBool,
    /// When set: a connection is cut at once when the client sends these bytes.
    cut_when_sent: Mutex<Option<Vec<u8>>>,
    /// Connections closed at once because the database was "away".
    refused: AtomicUsize,
}

impl PgProxy {
    async fn start(database_url: &str) -> Self {
        let url = url::Url::parse(database_url).unwrap();
        let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(ProxyShared {
            upstream,
            up: AtomicBool::new(true),
            cut_all: watch::Sender::new(0),
            cut_commit_after: Mutex::new(None),
            committed_unseen: AtomicBool::new(false),
            cut_when_sent: Mutex::new(None),
            refused: AtomicUsize::new(0),
        });
        let accepting = Arc::clone(&shared);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !accepting.up.load(Ordering::SeqCst) {
                    accepting.refused.fetch_add(1, Ordering::SeqCst);
                    continue; // dropped: connection closed at once
                }
                let shared = Arc::clone(&accepting);
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&shared.upstream).await {
                        pipe(client, server, &shared).await;
                    }
                });
            }
        });
        Self { port, shared }
    }

    /// `database_url` with the proxy as its host.
    fn url(&self, database_url: &str) -> String {
        let mut url = url::Url::parse(database_url).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(self.port)).unwrap();
        url.to_string()
    }

    /// The database goes away (`false`: every connection is cut, new ones
    /// are closed at once) or comes back.
    fn set_up(&self, up: bool) {
        self.shared.up.store(up, Ordering::SeqCst);
        if !up {
            self.shared.cut_all.send_modify(|n| *n += 1);
        }
    }

    async fn cut_commit_after(&self, marker: &str) {
        self.shared.committed_unseen.store(false, Ordering::SeqCst);
        *self.shared.cut_commit_after.lock().await = Some(marker.as_bytes().to_vec());
    }

    fn committed_unseen(&self) -> bool {
        self.shared.committed_unseen.load(Ordering::SeqCst)
    }

    /// The next connection that sends `marker` is cut before it reaches the server.
    async fn cut_when_sent(&self, marker: &str) {
        *self.shared.cut_when_sent.lock().await = Some(marker.as_bytes().to_vec());
    }

    /// Whether that cut has happened.
    async fn cut_done(&self) -> bool {
        self.shared.cut_when_sent.lock().await.is_none()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn pipe(mut client: TcpStream, mut server: TcpStream, shared: &ProxyShared) {
    let mut cut_all = shared.cut_all.subscribe();
    let (mut from_client, mut to_client) = client.split();
    let (mut from_server, mut to_server) = server.split();
    let (mut cbuf, mut sbuf) = (vec![0u8; 65536], vec![0u8; 65536]);
    let mut marker_seen = false;
    loop {
        tokio::select! {
            n = from_client.read(&mut cbuf) => {
                let Ok(n) = n else { return };
                if n == 0 { return }
                let data = &cbuf[..n];
                {
                    let mut armed = shared.cut_when_sent.lock().await;
                    if armed.as_ref().is_some_and(|marker| find(data, marker).is_some()) {
                        *armed = None;
                        return;
                    }
                }
                let mut cut_here = false;
                {
                    let mut armed = shared.cut_commit_after.lock().await;
                    if let Some(marker) = armed.as_ref() {
                        let from = match find(data, marker) {
                            Some(at) => { marker_seen = true; at }
                            None => 0,
                        };
                        if marker_seen && find(&data[from..], COMMIT).is_some() {
                            *armed = None;
                            cut_here = true;
                        }
                    }
                }
                if to_server.write_all(data).await.is_err() { return }
                if cut_here {
                    // The server runs the COMMIT and answers it; the answer
                    // is kept from the gateway, whose connection is then
                    // closed: it cannot know the write committed.
                    let mut seen = Vec::new();
                    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
                    while find(&seen, b"COMMIT\0").is_none() {
                        match tokio::time::timeout_at(deadline, from_server.read(&mut sbuf)).await {
                            Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&sbuf[..n]),
                            _ => return,
                        }
                    }
                    shared.committed_unseen.store(true, Ordering::SeqCst);
                    return;
                }
            }
            n = from_server.read(&mut sbuf) => {
                let Ok(n) = n else { return };
                if n == 0 || to_client.write_all(&sbuf[..n]).await.is_err() { return }
            }
            _ = cut_all.changed() => return,
        }
    }
}

/// A data directory and a fresh PostgreSQL database; `None` (saying so) on
/// SQLite runs of the suite.
async fn fresh_database() -> Option<(tempfile::TempDir, String)> {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = postgres_for(dir.path()).await else {
        eprintln!("SKIPPED: PostgreSQL only (set VMP_TEST_DATABASE_URL)");
        return None;
    };
    Some((dir, url))
}

/// A gateway on a fresh PostgreSQL database reached through a proxy.
async fn gateway_behind_proxy() -> Option<(TestApp, PgProxy, String, tempfile::TempDir)> {
    let (dir, direct) = fresh_database().await?;
    let proxy = PgProxy::start(&direct).await;
    let through = proxy.url(&direct);
    let app = spawn_in_with(dir.path().to_path_buf(), |s| {
        s.database_url = Some(through.into());
        // The merchant is read from the store at each request.
        s.merchant_cache_ttl = Duration::ZERO;
    })
    .await;
    Some((app, proxy, direct, dir))
}

async fn place(app: &TestApp, out: &str) -> vmp_protocol::Params {
    let mut p = app.seed_request(out);
    p.set("notify_url", "http://127.0.0.1:9/notify");
    app.sign(&mut p);
    app.post(&p).await
}

async fn readyz(app: &TestApp) -> (u16, serde_json::Value) {
    let resp = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn while_the_database_is_unreachable_requests_get_minus_1_and_readyz_503_and_writes_resume_within_5_s() {
    let Some((app, proxy, _direct, _dir)) = gateway_behind_proxy().await else { return };
    assert_eq!(place(&app, "UP1").await.get("return_status"), Some("00"));

    // Act: the database goes away.
    proxy.set_up(false);
    let started = Instant::now();
    let refused = place(&app, "DOWN1").await;
    let answered_in = started.elapsed();
    let (status, body) = readyz(&app).await;

    // Assert: refused promptly, not ready, nothing stored.
    assert_eq!(refused.get("return_status"), Some("-1"), "{}", refused.to_json());
    assert!(answered_in < Duration::from_secs(5), "answered after {answered_in:?}");
    assert_eq!(status, 503);
    assert_eq!(body["reason"], "store unreachable", "{body}");

    // Act: it comes back; the same request is retried until accepted.
    proxy.set_up(true);
    let back = Instant::now();
    let accepted = loop {
        let a = place(&app, "DOWN1").await;
        if a.get("return_status") == Some("00") {
            break a;
        }
        assert!(back.elapsed() < Duration::from_secs(5), "writes did not resume within 5 s: {}", a.to_json());
    };

    // Assert: writes resumed, without a restart, and each order is stored once.
    assert!(back.elapsed() < Duration::from_secs(5));
    let stored = app.state.store().order_by_out_trade_no(&app.key, "DOWN1").await.unwrap().unwrap();
    assert_eq!(Some(stored.eft_trade_no.as_str()), accepted.get("eft_trade_no"));
    assert_eq!(app.order_count().await, 2);
    tokio::time::sleep(vmp_server::readiness::FRESH_FOR).await; // let the 503 verdict age out
    assert_eq!(readyz(&app).await.0, 200);
}

#[tokio::test]
async fn a_write_whose_commit_answer_is_lost_is_answered_minus_1_and_its_retry_is_not_applied_twice() {
    let Some((app, proxy, _direct, _dir)) = gateway_behind_proxy().await else { return };
    let store = app.state.store();

    // An order: its COMMIT reaches the database, the answer does not.
    proxy.cut_commit_after("LOSTCOMMIT1").await;
    let first = place(&app, "LOSTCOMMIT1").await;
    assert_eq!(first.get("return_status"), Some("-1"), "{}", first.to_json());
    assert!(proxy.committed_unseen(), "the proxy cut the connection after the server committed");
    let stored = store.order_by_out_trade_no(&app.key, "LOSTCOMMIT1").await.unwrap().expect("it did commit");
    // The merchant retries: the stored order's answer, once.
    let retry = place(&app, "LOSTCOMMIT1").await;
    assert_eq!(retry.get("return_status"), Some("00"), "{}", retry.to_json());
    assert_eq!(retry.get("eft_trade_no"), Some(stored.eft_trade_no.as_str()));
    assert_eq!(app.order_count().await, 1);

    // A settlement (with the notification it owes).
    let eft = stored.eft_trade_no.as_str().to_owned();
    let pay = |app: &TestApp| {
        let url = format!("{}/sandbox/orders/{eft}/pay", app.base);
        let req = app.client.post(url).json(&serde_json::json!({"outcome": "success"}));
        async move { req.send().await.unwrap() }
    };
    proxy.cut_commit_after(&eft).await;
    assert_eq!(pay(&app).await.status().as_u16(), 503);
    assert!(proxy.committed_unseen());
    let again: serde_json::Value = pay(&app).await.json().await.unwrap();
    assert_eq!(
        (again["result"].as_str(), again["trade_status"].as_str()),
        (Some("already_final"), Some("TRADE_SUCCESS"))
    );
    assert_eq!(store.notifications_for_order(&eft).await.unwrap().len(), 1, "one notification owed, not two");

    // A refund.
    proxy.cut_commit_after("LOSTREFUND1").await;
    let refund = app.jsapi(&refund_fields("LOSTCOMMIT1", "LOSTREFUND1", "0.01")).await;
    assert_eq!(refund.get("return_status"), Some("-1"), "{}", refund.to_json());
    assert!(proxy.committed_unseen());
    let retry = app.jsapi(&refund_fields("LOSTCOMMIT1", "LOSTREFUND1", "0.01")).await;
    assert_eq!(retry.get("return_status"), Some("00"), "{}", retry.to_json());
    assert_eq!(store.refunds_total(&eft).await.unwrap(), 1, "refunded once");
    let order = store.order_by_eft_trade_no(&eft).await.unwrap().unwrap();
    assert_eq!(order.refunded_minor, 1);
}

#[tokio::test]
async fn the_writer_reconnects_after_its_backend_is_terminated_and_the_next_order_is_accepted() {
    let app = spawn_app().await;
    let Some(url) = postgres_for(&app.data_dir).await else {
        eprintln!("SKIPPED: PostgreSQL only (set VMP_TEST_DATABASE_URL)");
        return;
    };
    assert_eq!(place(&app, "KILL0").await.get("return_status"), Some("00"));
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let writer_pid = "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()";
    let before: Vec<i32> = sqlx::query_scalar(writer_pid)
        .bind(vmp_server::store::WRITER_APPLICATION_NAME)
        .fetch_all(&mut admin)
        .await
        .unwrap();
    assert_eq!(before.len(), 1, "one writer connection");

    // Act
    let killed: bool =
        sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(before[0]).fetch_one(&mut admin).await.unwrap();
    let after_kill = place(&app, "KILL1").await;

    // Assert: the idle connection's loss is noticed at BEGIN, before any
    // write ran, so the order goes through on a new connection at once.
    assert!(killed);
    assert_eq!(after_kill.get("return_status"), Some("00"), "{}", after_kill.to_json());
    let after: Vec<i32> = sqlx::query_scalar(writer_pid)
        .bind(vmp_server::store::WRITER_APPLICATION_NAME)
        .fetch_all(&mut admin)
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    assert_ne!(after[0], before[0], "a new backend");
    assert_eq!(app.order_count().await, 2);
}

#[tokio::test]
async fn opening_the_store_waits_for_a_database_that_is_not_up_yet() {
    let Some((dir, direct)) = fresh_database().await else { return };
    let proxy = PgProxy::start(&direct).await;
    proxy.set_up(false);

    // Act: a gateway starts while its database is away, which comes back
    // after refusing a few connections.
    let url = proxy.url(&direct);
    let path = dir.path().to_path_buf();
    let opening = tokio::spawn(async move { vmp_server::store::open(&path, Some(&url), 1).await });
    let started = Instant::now();
    while proxy.shared.refused.load(Ordering::SeqCst) < 3 {
        assert!(started.elapsed() < Duration::from_secs(20), "no connection attempts");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    proxy.set_up(true);

    // Assert: it opened, migrated, and writes.
    let (store, _) = opening.await.unwrap().expect("the store opens once the database is up");
    assert_eq!(store.count_orders().await.unwrap(), 0);
    store.probe_write(1).await.unwrap();
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_migrator_that_loses_its_connection_while_holding_the_advisory_lock_starts_over() {
    let Some((dir, direct)) = fresh_database().await else { return };
    let proxy = PgProxy::start(&direct).await;
    // The first statement after taking the lock is cut: the session, and
    // with it the advisory lock, is gone mid-migration.
    proxy.cut_when_sent("_sqlx_migrations").await;

    // Act
    let opened = vmp_server::store::open(dir.path(), Some(&proxy.url(&direct)), 1).await;

    // Assert
    assert!(proxy.cut_done().await, "the migrator's connection was cut");
    let (store, _) = opened.expect("the store opens on a second attempt");
    store.probe_write(1).await.unwrap();
    store.close().await.unwrap();
    // No session holds the migrator's lock any more: a second start migrates at once.
    let (again, _) =
        tokio::time::timeout(Duration::from_secs(10), vmp_server::store::open(dir.path(), Some(&direct), 1))
            .await
            .expect("no advisory lock left behind")
            .unwrap();
    again.close().await.unwrap();
}
