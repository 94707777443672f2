//! `vmp bench` smoke test: the real binary against a real `vmp serve`.
//! Checks the correctness parts of the report only (every order accepted
//! and stored once, every notification acknowledged), never speed.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const VMP: &str = env!("CARGO_BIN_EXE_vmp");

/// Kills the child when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Gateway {
    proc: Running,
    base: String,
    key: String,
    secret: String,
}

/// Starts `vmp serve` on 127.0.0.1 (free port) with its store in `data`.
fn serve(data: &Path) -> Gateway {
    let mut child = Command::new(VMP)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()])
        .env("VMP_LOG", "warn")
        .env_remove("VMP_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("vmp serve starts");
    let stdout = child.stdout.take().unwrap();
    let proc = Running(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut base, mut key) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "vmp serve printed no banner within 60 s");
        let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) else { continue };
        if let Some(addr) = line.split("listening on ").nth(1) {
            base = Some(addr.trim().to_owned());
        } else if let Some(k) = line.trim().strip_prefix("user_confirm_key:") {
            key = Some(k.trim().to_owned());
        } else if let Some(s) = line.trim().strip_prefix("secret:") {
            return Gateway { proc, base: base.unwrap(), key: key.unwrap(), secret: s.trim().to_owned() };
        }
    }
}

/// Runs `vmp bench` with a bounded wait; the child is killed if it overruns.
fn bench(args: &[&str]) -> Output {
    let mut child = Command::new(VMP)
        .arg("bench")
        .args(args)
        .env_remove("VMP_KEY")
        .env_remove("VMP_SECRET")
        .env_remove("VMP_BASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vmp bench starts");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let mut proc = Running(child);
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        out.read_to_end(&mut s).unwrap();
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        err.read_to_end(&mut s).unwrap();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(240);
    let status = loop {
        if let Some(status) = proc.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "vmp bench did not finish within 240 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    Output { status, stdout: reader.join().unwrap(), stderr: err_reader.join().unwrap() }
}

fn n(v: &Value, path: &str) -> u64 {
    v.pointer(path).and_then(Value::as_u64).unwrap_or_else(|| panic!("{path} missing in {v:#}"))
}

#[test]
fn bench_2000_orders_and_200_notifications_all_accepted_stored_once_and_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gw = serve(&data);
    let pid = gw.proc.0.id().to_string();
    let out = bench(&[
        "--base-url",
        &gw.base,
        "--data-dir",
        data.to_str().unwrap(),
        "--count",
        "2000",
        "--concurrency",
        "16",
        "--notifications",
        "200",
        "--notify-wait",
        "60",
        "--gateway-pid",
        &pid,
        "--json",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "bench failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_str(&stdout).expect("JSON report");

    assert_eq!(r["ok"], true, "{r:#}");
    assert_eq!(r["merchant_created"], true);
    // The no-op ceiling ran with the same generator.
    assert_eq!(n(&r, "/ceiling/requests"), 2000);
    assert_eq!(n(&r, "/ceiling/answers/HTTP 200"), 2000);
    // Every order accepted, none lost or doubled.
    assert_eq!(n(&r, "/orders/requests"), 2000);
    assert_eq!(n(&r, "/orders/transport_errors"), 0);
    assert_eq!(r["orders"]["answers"].as_object().unwrap().len(), 1, "only 00 answers: {:#}", r["orders"]["answers"]);
    assert_eq!(n(&r, "/orders/answers/00"), 2000);
    assert_eq!(n(&r, "/check/accepted"), 2000);
    assert_eq!(n(&r, "/check/distinct_eft_trade_no"), 2000);
    assert_eq!(n(&r, "/check/store_after") - n(&r, "/check/store_before"), 2000);
    assert_eq!(n(&r, "/check/sample_found"), n(&r, "/check/sample_queried"));
    assert!(n(&r, "/check/sample_queried") > 0);
    assert_eq!(r["check"]["problems"].as_array().unwrap().len(), 0);
    // The ceiling brackets the order phase; the ratio is taken against the mean.
    assert_eq!(n(&r, "/ceiling_after/requests"), 2000);
    assert_eq!(n(&r, "/ceiling_after/answers/HTTP 200"), 2000);
    let per_s = |p: &str| r.pointer(p).and_then(Value::as_f64).unwrap();
    let mean = f64::midpoint(per_s("/ceiling/per_s"), per_s("/ceiling_after/per_s"));
    assert!((per_s("/ceiling_per_s") - mean).abs() < 1e-6 * mean, "{r:#}");
    assert!((per_s("/ratio") - per_s("/orders/per_s") / mean).abs() < 1e-9, "{r:#}");
    assert!(n(&r, "/memory/before_kib") > 0 && n(&r, "/memory/after_kib") > 0);
    // CPU per request is measured for both processes (--gateway-pid given);
    // 2,000 orders take the gateway well over one 10 ms clock tick.
    let cpu = |path: &str| r.pointer(path).and_then(Value::as_f64).unwrap_or_else(|| panic!("{path} in {r:#}"));
    assert!(cpu("/orders/cpu/gateway_us") > 0.0);
    assert!(cpu("/orders/cpu/generator_us") >= 0.0 && cpu("/ceiling/cpu/gateway_us") >= 0.0);
    // The CPU bound is (gateway + generator per /healthz, mean of both ceilings) / (the same per order).
    let round_trip =
        |phase: &str| cpu(&format!("/{phase}/cpu/gateway_us")) + cpu(&format!("/{phase}/cpu/generator_us"));
    let bound = f64::midpoint(round_trip("ceiling"), round_trip("ceiling_after")) / round_trip("orders");
    assert!((cpu("/cpu_ratio") - bound).abs() < 1e-9, "{r:#}");
    // The machine's CPU shares of every phase (Linux /proc/stat) add up to 100 %.
    for phase in ["ceiling", "orders", "ceiling_after"] {
        let share = |what: &str| cpu(&format!("/{phase}/machine_cpu/{what}_pct"));
        let shares = [share("busy"), share("idle"), share("iowait"), share("steal")];
        assert!(shares.iter().all(|s| (0.0..=100.0).contains(s)), "{phase}: {shares:?}");
        assert!((shares.iter().sum::<f64>() - 100.0).abs() < 1e-6, "{phase}: {shares:?}");
        assert!(share("busy") > 0.0, "{phase}: the bench itself keeps the machine busy");
    }
    // Every notification acknowledged, each correctly signed and paid.
    assert_eq!(n(&r, "/notifications/place/answers/00"), 200);
    assert_eq!(n(&r, "/notifications/settle/answers/settled"), 200);
    assert_eq!(n(&r, "/notifications/expected"), 200);
    assert_eq!(n(&r, "/notifications/acknowledged"), 200);
    assert_eq!(r["notifications"]["complete"], true);
    assert_eq!(n(&r, "/notifications/rejected"), 0);
    assert_eq!(n(&r, "/notifications/unexpected"), 0);
    assert_eq!(n(&r, "/notifications/not_paid"), 0);
}

#[test]
fn bench_self_check_fails_when_the_counted_store_did_not_receive_the_orders() {
    // Orders go to gateway A but are counted in gateway B's store: the
    // count check must see them as missing and fail with a one-line error.
    let dir = tempfile::tempdir().unwrap();
    let (data_a, data_b) = (dir.path().join("a"), dir.path().join("b"));
    let a = serve(&data_a);
    let b = serve(&data_b);
    drop(b);
    let out = bench(&[
        "--base-url",
        &a.base,
        "--key",
        &a.key,
        "--secret",
        &a.secret,
        "--data-dir",
        data_b.to_str().unwrap(),
        "--count",
        "200",
        "--concurrency",
        "4",
        "--no-ceiling",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the check must fail: {stdout}");
    assert!(stdout.contains("00 × 200"), "{stdout}");
    assert!(stdout.contains("missing orders"), "{stdout}");
    assert_eq!(stderr.trim().lines().count(), 1, "one-line error: {stderr}");
    assert!(stderr.contains("self-check failed"), "{stderr}");

    // Orders signed with a wrong secret are all refused: a throughput of
    // refusals is no order benchmark, so the run fails.
    let wrong: String = a.secret.chars().rev().collect();
    assert_ne!(wrong, a.secret);
    let out = bench(&[
        "--base-url",
        &a.base,
        "--key",
        &a.key,
        "--secret",
        &wrong,
        "--count",
        "50",
        "--concurrency",
        "2",
        "--no-ceiling",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "refused orders must fail the run: {stdout}");
    assert!(stdout.contains("problem: valid orders were not accepted"), "{stdout}");
    assert!(stdout.contains("problem: no order was accepted"), "{stdout}");
    assert!(stderr.contains("self-check failed"), "{stderr}");

    // Without a merchant or a store, the command refuses in one line.
    let out = bench(&["--base-url", &a.base, "--count", "10"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--key"), "{stderr}");
}
