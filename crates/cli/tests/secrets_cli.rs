//! Secrets at rest and secret rotation with the real `vmp` binary: master
//! key rotation under load, `vmp merchant rotate-secret|promote-secret|
//! reset-secret`, and their refusals.
//!
//! With `VMP_TEST_DATABASE_URL` set, the gateways run on a fresh PostgreSQL
//! database (two instances in the rotation test); otherwise on SQLite.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{Gateway, VMP, new_master_key as new_key, order_json};
use vmp_protocol::Params;

/// Where the store is: `--data-dir DIR` or `--database-url URL` (a fresh
/// PostgreSQL database when the test cluster is configured).
fn store_args(dir: &Path, name: &str) -> Vec<String> {
    match std::env::var("VMP_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let db = format!("vmp_secrets_{name}_{}", std::process::id());
            for sql in [format!("DROP DATABASE IF EXISTS \"{db}\""), format!("CREATE DATABASE \"{db}\"")] {
                assert!(Command::new("psql").arg(&base).args(["-qAtc", &sql]).status().unwrap().success());
            }
            let mut url = url::Url::parse(&base).unwrap();
            url.set_path(&format!("/{db}"));
            vec!["--database-url".into(), url.to_string()]
        }
        _ => vec!["--data-dir".into(), dir.join("data").display().to_string()],
    }
}

fn on_postgres(store: &[String]) -> bool {
    store[0] == "--database-url"
}

/// Runs a `vmp` command to completion (at most 60 s).
fn vmp(args: &[&str], store: &[String], extra_env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(VMP);
    cmd.args(args).args(store).env_remove("VMP_MASTER_KEY").env_remove("VMP_MASTER_KEY_FILE");
    cmd.env_remove("VMP_DATA_DIR").env_remove("VMP_DATABASE_URL");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("vmp {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The error output is exactly one `error: …` line.
fn assert_one_line_error(out: &Output, contains: &str) {
    assert!(!out.status.success(), "should fail: {out:?}");
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.starts_with("error: ") && stderr.contains(contains), "{stderr:?} should contain {contains:?}");
}

fn serve(cwd: &Path, store: &[String], key_file: &Path) -> Gateway {
    let mut args: Vec<&str> = store.iter().map(String::as_str).collect();
    args.extend(["--master-key-file", key_file.to_str().unwrap()]);
    Gateway::start(cwd, &args, "warn", Stdio::null())
}

async fn post(client: &reqwest::Client, base: &str, body: String) -> Params {
    let resp = client.post(format!("{base}/VMP/Servlet/JSAPIService.do")).body(body).send().await.unwrap();
    Params::from_json(&resp.bytes().await.unwrap()).unwrap()
}

/// The `return_status` of an Alipay order signed with `secret`, retried
/// (bounded) until it is `want`: the gateways read merchants through a
/// one-second cache.
async fn eventually(base: &str, key: &str, secret: &str, out: &str, want: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    for n in 0.. {
        let answer = post(&client, base, order_json(key, secret, &format!("{out}-{n}"), "1.00", &[])).await;
        if answer.get("return_status") == Some(want) {
            if want == "00" {
                vmp_protocol::sign::verify(secret, &answer).unwrap();
            }
            return;
        }
        assert!(Instant::now() < deadline, "{out}: still {}", answer.to_json());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn master_key_rotation_under_load_loses_nothing_and_the_old_key_is_then_refused() {
    // Arrange: gateways with key A in their key file, orders flowing.
    let dir = tempfile::tempdir().unwrap();
    let store = store_args(dir.path(), "rekey");
    let key_file: PathBuf = dir.path().join("master.keys");
    let (key_a, key_b) = (new_key(), new_key());
    std::fs::write(&key_file, format!("{key_a}\n")).unwrap();
    let mut first = serve(dir.path(), &store, &key_file);
    let (key, secret) = (first.key.clone().unwrap(), first.secret.clone().unwrap());
    let mut gateways = vec![first.base.clone()];
    let second = on_postgres(&store).then(|| serve(dir.path(), &store, &key_file));
    gateways.extend(second.as_ref().map(|g| g.base.clone()));

    let answers: Arc<Mutex<Vec<(String, Params, Instant)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (answers, stop, key, secret) = (Arc::clone(&answers), Arc::clone(&stop), key.clone(), secret.clone());
        let base = gateways[w % gateways.len()].clone();
        workers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < deadline {
                let out = format!("RK{w}-{n}");
                let answer = post(&client, &base, order_json(&key, &secret, &out, "2.00", &[])).await;
                answers.lock().unwrap().push((out, answer, Instant::now()));
                n += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Act: key B joins the key file, then the rotation runs while orders flow.
    std::fs::write(&key_file, format!("{key_a}\n{key_b}\n")).unwrap();
    let started = Instant::now();
    let args = ["admin", "rotate-master-key", "--master-key-file", key_file.to_str().unwrap()];
    let (args_owned, store_owned) = (args.map(str::to_owned), store.clone());
    let rotated = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args_owned.iter().map(String::as_str).collect();
        vmp(&args, &store_owned, &[])
    })
    .await
    .unwrap();
    let ended = Instant::now();
    // Past the merchant cache: every gateway reads the merchant sealed under B.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }

    // Assert: the rotation ran, every request verified and was answered 00.
    assert!(rotated.status.success(), "{}", text(&rotated.stderr));
    assert!(text(&rotated.stdout).contains("master key version 2"), "{}", text(&rotated.stdout));
    let answers = answers.lock().unwrap().clone();
    let during = answers.iter().filter(|(_, _, at)| *at > started && *at < ended).count();
    let after = answers.iter().filter(|(_, _, at)| *at > ended + Duration::from_millis(1200)).count();
    assert!(during > 0 && after > 0, "orders during the rotation: {during}, after it: {after}");
    for (out, answer, _) in &answers {
        assert_eq!(answer.get("return_status"), Some("00"), "{out}: {}", answer.to_json());
        vmp_protocol::sign::verify(&secret, answer).unwrap();
    }
    // Every accepted order is stored, with its eft_trade_no.
    let keys = vmp_server::vault::KeySource::File(key_file.clone());
    let (data, url) = match on_postgres(&store) {
        true => (dir.path().join("unused"), Some(store[1].as_str())),
        false => (PathBuf::from(&store[1]), None),
    };
    let (opened, _) = vmp_server::store::open_with(&data, url, 1, keys, false).await.unwrap();
    for (out, answer, _) in &answers {
        let stored = opened.order_by_out_trade_no(&key, out).await.unwrap().unwrap_or_else(|| panic!("{out} lost"));
        assert_eq!(Some(stored.eft_trade_no.as_str()), answer.get("eft_trade_no"));
    }
    assert_eq!(opened.count_orders().await.unwrap(), i64::try_from(answers.len()).unwrap());
    opened.close().await.unwrap();

    // Key A alone no longer opens the store; key B alone does.
    first.signal("-TERM");
    first.wait_exit(Duration::from_secs(20));
    drop(second);
    std::fs::write(&key_file, format!("{key_a}\n")).unwrap();
    let refused = vmp(&["merchant", "list", "--master-key-file", key_file.to_str().unwrap()], &store, &[]);
    assert_one_line_error(&refused, "the master key does not match this store");
    std::fs::write(&key_file, format!("{key_b}\n")).unwrap();
    let restarted = serve(dir.path(), &store, &key_file);
    eventually(&restarted.base, &key, &secret, "AFTER", "00").await;
}

/// Arguments after `merchant`, extra environment, what the one error line says.
type BadCase<'a> = (Vec<&'a str>, &'a [(&'a str, &'a str)], &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_promote_and_reset_secret_from_the_command_line_and_refuse_bad_input_in_one_line() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let store = store_args(dir.path(), "cli");
    let key_file = dir.path().join("master.keys");
    std::fs::write(&key_file, format!("{}\n", new_key())).unwrap();
    let gw = serve(dir.path(), &store, &key_file);
    let (key, old) = (gw.key.clone().unwrap(), gw.secret.clone().unwrap());
    let kf = key_file.to_str().unwrap();
    let merchant = |args: &[&str]| vmp(&[&["merchant"][..], args, &["--master-key-file", kf]].concat(), &store, &[]);

    // Bad input: one line each, nothing changed.
    let other_key_file = dir.path().join("other.keys");
    std::fs::write(&other_key_file, format!("{}\n", new_key())).unwrap();
    let bad_key_file = dir.path().join("bad.keys");
    std::fs::write(&bad_key_file, "c2hvcnQ=\n").unwrap();
    let cases: [BadCase<'_>; 7] = [
        (vec!["rotate-secret", key.as_str(), "--overlap", "31d", "--master-key-file", kf], &[], "invalid --overlap"),
        (vec!["rotate-secret", key.as_str(), "--overlap", "10", "--master-key-file", kf], &[], "from 1m to 30d"),
        (vec!["rotate-secret", "NOSUCH", "--master-key-file", kf], &[], "no merchant with user_confirm_key NOSUCH"),
        (vec!["promote-secret", key.as_str(), "--master-key-file", kf], &[], "no secret rotation in progress"),
        (
            vec!["reset-secret", key.as_str(), "--master-key-file", other_key_file.to_str().unwrap()],
            &[],
            "does not match this store",
        ),
        (vec!["reset-secret", key.as_str(), "--master-key-file", bad_key_file.to_str().unwrap()], &[], "is 5 bytes"),
        (vec!["reset-secret", key.as_str(), "--master-key-file", kf], &[("VMP_MASTER_KEY", "x")], "not both"),
    ];
    for (args, env, says) in cases {
        let out = vmp(&[&["merchant"][..], &args].concat(), &store, env);
        assert_one_line_error(&out, says);
        assert!(!text(&out.stdout).contains("secret:"), "{args:?} printed a secret");
    }
    let no_key = vmp(&["merchant", "list"], &store, &[]);
    assert_one_line_error(&no_key, "give its master key");
    eventually(&gw.base, &key, &old, "UNCHANGED", "00").await;

    // Act: rotate with an overlap.
    let rotated = merchant(&["rotate-secret", &key, "--overlap", "1h"]);
    assert!(rotated.status.success(), "{}", text(&rotated.stderr));
    let stdout = text(&rotated.stdout);
    let new = stdout.lines().find_map(|l| l.strip_prefix("secret:")).unwrap().trim().to_owned();
    assert_eq!(stdout.matches(&new).count(), 1, "the new secret is printed once");

    // Assert: both verify; promote once; reset stops the old one.
    eventually(&gw.base, &key, &new, "NEW", "00").await;
    eventually(&gw.base, &key, &old, "OLD", "00").await;
    assert!(merchant(&["promote-secret", &key]).status.success());
    assert_one_line_error(&merchant(&["promote-secret", &key]), "no secret rotation in progress");
    let reset = merchant(&["reset-secret", &key]);
    assert!(reset.status.success(), "{}", text(&reset.stderr));
    let newest = text(&reset.stdout).lines().find_map(|l| l.strip_prefix("secret:")).unwrap().trim().to_owned();
    eventually(&gw.base, &key, &newest, "NEWEST", "00").await;
    eventually(&gw.base, &key, &old, "OLD-GONE", "10").await;
    eventually(&gw.base, &key, &new, "NEW-GONE", "10").await;
}
