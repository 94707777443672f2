//! `vmp orders`, `vmp notifications` and `vmp requests tail` as real
//! processes against a real `vmp serve`, with `vmp listen` as the merchant.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

mod support;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Gateway, VMP, order_json, spawn, wait_for};

fn vmp(args: &[&str]) -> Command {
    let mut c = Command::new(VMP);
    for name in ["VMP_BASE_URL", "VMP_ADMIN_TOKEN", "VMP_ADMIN_TOKEN_FILE", "VMP_SECRET", "VMP_KEY"] {
        c.env_remove(name);
    }
    c.args(args);
    c
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn post_order(base: &str, body: String) -> Value {
    let resp =
        reqwest::Client::new().post(format!("{base}/VMP/Servlet/JSAPIService.do")).body(body).send().await.unwrap();
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vmp_orders_notifications_and_requests_tail_work_against_a_running_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(dir.path(), &["--data-dir", "data"], "warn", Stdio::null());
    let (key, secret) = (gw.key.clone().unwrap(), gw.secret.clone().unwrap());
    let base = gw.base.clone();
    let (_listen, listened) = spawn(&mut vmp(&["listen", "--port", "0", "--secret", &secret]));
    let line = wait_for(&listened, "listening on", |l| l.starts_with("listening on "));
    let notify_url = format!("{}/notify", line.trim_start_matches("listening on ").trim());

    // Follow the request log before anything happens.
    let (_tail, tailed) = spawn(&mut vmp(&["requests", "tail", "--base-url", &base, "--interval-ms", "100"]));
    wait_for(&tailed, "the tail's start", |l| l.starts_with("following the request log"));

    let placed =
        post_order(&base, order_json(&key, &secret, "CLI-ORDER", "3.20", &[("notify_url", &notify_url)])).await;
    assert_eq!(placed["return_status"], "00", "{placed}");
    let eft = placed["eft_trade_no"].as_str().unwrap().to_owned();
    let forged = order_json(&key, "not-the-secret", "CLI-FORGED", "1.00", &[]);
    assert_eq!(post_order(&base, forged).await["return_status"], "10");
    let accepted = wait_for(&tailed, "the accepted order", |l| l.contains("CLI-ORDER"));
    assert!(accepted.contains(" 00 ") && accepted.contains("JSAPIService.do"), "{accepted}");
    let refused = wait_for(&tailed, "the refused request", |l| l.contains("CLI-FORGED"));
    assert!(refused.contains(" 10 ") && refused.contains("sign does not match"), "{refused}");

    // Paid: the notification reaches vmp listen.
    let resp = reqwest::Client::new()
        .post(format!("{base}/sandbox/orders/{eft}/pay"))
        .json(&serde_json::json!({ "outcome": "success" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    wait_for(&listened, "the notification", |l| l.contains("signature valid"));

    let list = run(&mut vmp(&["orders", "list", "--base-url", &base]));
    assert!(list.status.success(), "{}", stderr(&list));
    assert!(stdout(&list).contains(&eft) && stdout(&list).contains("CLI-ORDER"), "{}", stdout(&list));
    let paid = run(&mut vmp(&["orders", "list", "--base-url", &base, "--state", "TRADE_SUCCESS", "--json"]));
    let page: Value = serde_json::from_slice(&paid.stdout).unwrap();
    assert_eq!(page["orders"].as_array().unwrap().len(), 1);
    assert_eq!(page["orders"][0]["eft_trade_no"], eft.as_str());
    let none = run(&mut vmp(&["orders", "list", "--base-url", &base, "--search", "NO-SUCH"]));
    assert!(none.status.success() && stdout(&none).contains("no orders match"), "{}", stdout(&none));
    let bad = run(&mut vmp(&["orders", "list", "--base-url", &base, "--state", "PAID"]));
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("state") && stderr(&bad).contains("HTTP 400"), "{}", stderr(&bad));

    // The notifier records the attempt just after vmp listen answered it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let shown = loop {
        let show = run(&mut vmp(&["orders", "show", &eft, "--base-url", &base]));
        assert!(show.status.success(), "{}", stderr(&show));
        if stdout(&show).contains("notification_attempt") || Instant::now() > deadline {
            break stdout(&show);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(shown.contains("notification_attempt") && shown.contains("HTTP 200"), "{shown}");

    let delivered = run(&mut vmp(&["notifications", "list", "--base-url", &base, "--status", "delivered", "--json"]));
    let page: Value = serde_json::from_slice(&delivered.stdout).unwrap();
    let id = page["notifications"][0]["id"].as_i64().unwrap().to_string();
    let resent = run(&mut vmp(&["notifications", "resend", &id, "--base-url", &base]));
    assert!(resent.status.success(), "{}", stderr(&resent));
    assert!(stdout(&resent).starts_with(&format!("resent #{id} as notification #")), "{}", stdout(&resent));
    wait_for(&listened, "the resent notification", |l| l.contains("signature valid"));
    let again = run(&mut vmp(&["notifications", "deliver", &id, "--base-url", &base]));
    assert!(!again.status.success(), "a delivered notification is not owed");
    assert!(stderr(&again).contains("not owed") && stderr(&again).contains("HTTP 409"), "{}", stderr(&again));
    let table = run(&mut vmp(&["notifications", "list", "--base-url", &base]));
    assert_eq!(stdout(&table).lines().filter(|l| l.contains(&eft)).count(), 2, "{}", stdout(&table));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_production_the_commands_need_the_admin_token_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("admin-token");
    std::fs::write(&token_file, "cli-test-admin-token-0001\n").unwrap();
    let token_path = token_file.to_str().unwrap().to_owned();
    let key_file = support::master_key_file(dir.path());
    let gw = Gateway::start(
        dir.path(),
        &[
            "--data-dir",
            "data",
            "--mode",
            "production",
            "--admin-token-file",
            &token_path,
            "--master-key-file",
            key_file.to_str().unwrap(),
        ],
        "warn",
        Stdio::null(),
    );
    assert!(!gw.stdout.lock().unwrap().contains("admin token"), "a token from a file is never printed");
    let base = gw.base.clone();

    let without = run(&mut vmp(&["orders", "list", "--base-url", &base]));
    assert!(!without.status.success());
    assert!(
        stderr(&without).contains("admin token required") && stderr(&without).contains("HTTP 401"),
        "{}",
        stderr(&without)
    );
    let wrong =
        run(vmp(&["notifications", "list", "--base-url", &base]).env("VMP_ADMIN_TOKEN", "cli-test-admin-token-0002"));
    assert!(!wrong.status.success());
    assert!(stderr(&wrong).contains("refused"), "{}", stderr(&wrong));
    let right = run(&mut vmp(&["orders", "list", "--base-url", &base, "--admin-token-file", &token_path]));
    assert!(right.status.success(), "{}", stderr(&right));
    assert!(stdout(&right).contains("no orders match"));
    let env =
        run(vmp(&["notifications", "list", "--base-url", &base]).env("VMP_ADMIN_TOKEN", "cli-test-admin-token-0001"));
    assert!(env.status.success(), "{}", stderr(&env));
}
