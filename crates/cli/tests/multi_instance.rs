//! Scale-out on PostgreSQL: three real `vmp serve` processes on one
//! database, hit at once with identical and conflicting orders and refunds,
//! one instance killed with SIGKILL midway. Nothing may be duplicated,
//! over-refunded or left undelivered.
//!
//! Needs `VMP_TEST_DATABASE_URL=postgres://…` (CI starts a throwaway
//! cluster with `scripts/test-postgres start`). Without it the test says so
//! and fails, unless `VMP_SKIP_POSTGRES=1`.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

use std::collections::{HashMap, HashSet};
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::Gateway;
use vmp_protocol::Params;

const KEY: &str = "SCALE1";
const SECRET: &str = "scale-out-secret";

fn base_url() -> Option<String> {
    match std::env::var("VMP_TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var("VMP_SKIP_POSTGRES").as_deref() == Ok("1") => {
            eprintln!("SKIPPED: VMP_SKIP_POSTGRES=1, the PostgreSQL scale-out test did not run");
            None
        }
        _ => panic!("set VMP_TEST_DATABASE_URL=postgres://… (scripts/test-postgres start) or VMP_SKIP_POSTGRES=1"),
    }
}

fn serve(db: &str, dir: &std::path::Path) -> Gateway {
    let retries = "1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s";
    let args = ["--database-url", db, "--notify-retry-schedule", retries, "--notify-timeout", "1"];
    Gateway::start(dir, &args, "warn", Stdio::null())
}

fn signed(fields: &[(&str, &str)]) -> String {
    support::signed(KEY, SECRET, fields)
}

async fn post(client: &reqwest::Client, url: String, body: String) -> Option<Params> {
    let resp = client.post(url).body(body).send().await.ok()?;
    Params::from_json(&resp.bytes().await.ok()?).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_on_one_database_never_duplicate_over_refund_or_lose_a_notification() {
    let Some(base) = base_url() else { return };
    let db = support::fresh_database(&base, "vmp_scale");
    let dir = tempfile::tempdir().unwrap();
    support::add_pg_merchant(&db, KEY, SECRET);

    // A merchant endpoint that records every notification.
    let (notify_url, seen) = support::notification_receiver(SECRET).await;

    let mut instances: Vec<Gateway> = (0..3).map(|_| serve(&db, dir.path())).collect();
    let bases: Vec<String> = instances.iter().map(|g| g.base.clone()).collect();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    const ORDERS: usize = 30;

    // Place: each order sent identically to all three instances at once,
    // plus a conflicting variant; exactly one order per out_trade_no.
    let mut tasks = Vec::new();
    for i in 0..ORDERS {
        let out_trade_no = format!("S{i}");
        let order = |subject: &str| {
            signed(&[
                ("service", "service.alipay.wap.PreOrder"),
                ("transaction_amount", "10.00"),
                ("out_trade_no", &out_trade_no),
                ("payType", "Alipay"),
                ("buyerType", "others"),
                ("wallet", "ALIPAYHK"),
                ("subject", subject),
                ("pay_scene", "WAP"),
                ("notify_url", &notify_url),
            ])
        };
        for (n, b) in bases.iter().enumerate() {
            let (c, url, body) = (client.clone(), format!("{b}/VMP/Servlet/JSAPIService.do"), order("same"));
            tasks.push(tokio::spawn(async move { (i, true, post(&c, url, body).await) }));
            if n == i % 3 {
                let (c, url, body) = (client.clone(), format!("{b}/VMP/Servlet/JSAPIService.do"), order("conflicting"));
                tasks.push(tokio::spawn(async move { (i, false, post(&c, url, body).await) }));
            }
        }
    }
    let mut eft_of: HashMap<usize, HashSet<String>> = HashMap::new();
    for t in tasks {
        let (i, _same, answer) = t.await.unwrap();
        let answer = answer.expect("every instance answers while all are up");
        match answer.get("return_status") {
            Some("00") => {
                eft_of.entry(i).or_default().insert(answer.get("eft_trade_no").unwrap().to_owned());
            }
            Some("03") => {}
            other => panic!("unexpected answer {other:?}: {}", answer.to_json()),
        }
    }
    assert_eq!(eft_of.len(), ORDERS);
    for (i, efts) in &eft_of {
        assert_eq!(efts.len(), 1, "order {i}: every accepted answer names the same eft_trade_no");
    }

    // Settle every order twice, at two different instances; kill the third
    // instance in the middle of it.
    let mut tasks = Vec::new();
    for (i, efts) in &eft_of {
        let eft = efts.iter().next().unwrap().clone();
        for k in 0..2 {
            let url = format!("{}/sandbox/orders/{eft}/pay", bases[(i + k) % 3]);
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                client
                    .post(url)
                    .json(&serde_json::json!({"outcome": "success"}))
                    .send()
                    .await
                    .ok()
                    .map(|r| r.status().as_u16())
            }));
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut killed = instances.remove(2);
    killed.signal("-KILL");
    killed.wait_exit(Duration::from_secs(10));
    for t in tasks {
        let _ = t.await.unwrap();
    }
    let live = &bases[..2];
    // Any order the dead instance never got to settle is settled by a live one.
    for efts in eft_of.values() {
        let eft = efts.iter().next().unwrap();
        let r = client
            .post(format!("{}/sandbox/orders/{eft}/pay", live[0]))
            .json(&serde_json::json!({"outcome": "success"}))
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["trade_status"], "TRADE_SUCCESS", "{v}");
    }

    // Refunds: three different 4.00 refunds per order at once on the two live
    // instances, each also re-submitted identically: two fit, one gets 18.
    let mut tasks = Vec::new();
    for i in 0..ORDERS {
        for r in 0..3 {
            let body = signed(&[
                ("service", "service.alipay.wap.Refund"),
                ("out_trade_no", &format!("S{i}")),
                ("out_refund_no", &format!("S{i}-R{r}")),
                ("return_amount", "4.00"),
                ("wallet", "ALIPAYHK"),
            ]);
            for b in live {
                let (client, url, body) = (client.clone(), format!("{b}/VMP/Servlet/JSAPIService.do"), body.clone());
                tasks.push(tokio::spawn(async move { (i, post(&client, url, body).await) }));
            }
        }
    }
    let mut refunded: HashMap<usize, HashSet<String>> = HashMap::new();
    for t in tasks {
        let (i, answer) = t.await.unwrap();
        let answer = answer.unwrap();
        match answer.get("return_status") {
            Some("00") => {
                refunded.entry(i).or_default().insert(answer.get("out_refund_no").unwrap().to_owned());
            }
            Some("18") => {}
            other => panic!("unexpected refund answer {other:?}: {}", answer.to_json()),
        }
    }

    // Check the database itself.
    let (store, _) = vmp_server::store::open(dir.path(), Some(&db), 1).await.unwrap();
    assert_eq!(store.count_orders().await.unwrap(), ORDERS as i64, "no duplicate orders");
    for i in 0..ORDERS {
        assert_eq!(refunded.get(&i).map_or(0, HashSet::len), 2, "order S{i}: exactly two refunds fit");
        let order = store.order_by_out_trade_no(KEY, &format!("S{i}")).await.unwrap().unwrap();
        let total = store.refunds_total(order.eft_trade_no.as_str()).await.unwrap();
        assert_eq!(total, 800, "order S{i}: refunds add up to 8.00");
        assert_eq!(order.refunded_minor, 800);
        assert_eq!(order.state, "TRADE_REFUND");
    }

    // Every owed notification is delivered at least once, even those the
    // killed instance had leased.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut pending = 0;
        for efts in eft_of.values() {
            let eft = efts.iter().next().unwrap();
            for n in store.notifications_for_order(eft).await.unwrap() {
                if n.status != "delivered" {
                    pending += 1;
                }
            }
        }
        let received = seen.lock().unwrap().len();
        if pending == 0 && received == ORDERS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} notifications still pending, {received}/{ORDERS} orders notified"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for efts in eft_of.values() {
        let eft = efts.iter().next().unwrap();
        assert_eq!(
            store.notifications_for_order(eft).await.unwrap().len(),
            1,
            "one notification owed per settled order"
        );
    }
    store.close().await.unwrap();
    drop(instances);
}
