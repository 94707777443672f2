//! `vmp serve` and `vmp merchant …` as real processes.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{Gateway, VMP, order_json};
use vmp_protocol::{Params, sign};

/// Starts `vmp serve` on a free port in `cwd` and reads its banner.
fn serve(cwd: &Path, extra: &[&str]) -> Gateway {
    Gateway::start(cwd, extra, "info", Stdio::null())
}

/// Places SHOP1 orders until one is answered `want` (bounded: 5 s).
async fn eventually(base: &str, prefix: &str, want: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    for n in 0.. {
        let a = place(base, "SHOP1", "shop-secret-1", &format!("{prefix}{n}")).await;
        let code = a.get("return_status").unwrap_or_default().to_owned();
        if code == want || std::time::Instant::now() > deadline {
            return code;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    unreachable!()
}

fn vmp(cwd: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(VMP).args(args).current_dir(cwd).env_remove("VMP_DATA_DIR").output().expect("vmp runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn place(base: &str, key: &str, secret: &str, out_trade_no: &str) -> Params {
    let body = reqwest::Client::new()
        .post(format!("{base}/VMP/Servlet/JSAPIService.do"))
        .body(order_json(key, secret, out_trade_no, "0.02", &[]))
        .send()
        .await
        .expect("gateway reachable")
        .bytes()
        .await
        .expect("body");
    Params::from_json(&body).expect("JSON answer")
}

#[test]
fn version_prints_the_crate_version() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();

    // Act
    let (ok, stdout, stderr) = vmp(dir.path(), &["--version"]);

    // Assert
    assert!(ok, "{stderr}");
    assert_eq!(stdout, format!("vmp {}\n", env!("CARGO_PKG_VERSION")));
}

#[tokio::test]
async fn serve_with_no_configuration_creates_data_dir_and_a_sandbox_merchant_that_can_order() {
    let cwd = tempfile::tempdir().unwrap();
    let mut served = serve(cwd.path(), &[]);
    assert!(cwd.path().join("vmp-data").is_dir(), "./vmp-data is created");
    let key = served.key.clone().expect("sandbox merchant key printed");
    let secret = served.secret.clone().expect("sandbox merchant secret printed");

    let answer = place(&served.base, &key, &secret, "CLI1").await;
    assert_eq!(answer.get("return_status"), Some("00"), "{}", answer.to_json());
    assert_eq!(sign::verify(&secret, &answer), Ok(()));

    served.signal("-TERM");
    assert!(served.wait_exit(Duration::from_secs(20)).success(), "SIGTERM exits 0");

    // A second start reuses the store and creates no new merchant.
    let again = serve(cwd.path(), &[]);
    assert!(again.key.is_none() && again.secret.is_none());
    let replay = place(&again.base, &key, &secret, "CLI1").await;
    assert_eq!(replay.get("eft_trade_no"), answer.get("eft_trade_no"));

    let (ok, listed, _) = vmp(cwd.path(), &["merchant", "list"]);
    assert!(ok);
    assert!(listed.contains(&key) && listed.contains("active"), "{listed}");
    assert!(!listed.contains(&secret), "list never shows secrets");
}

#[tokio::test]
async fn merchant_add_disable_and_enable_take_effect_on_a_running_gateway() {
    let cwd = tempfile::tempdir().unwrap();
    let data = cwd.path().join("store");
    let data = data.to_str().unwrap();
    let served = serve(cwd.path(), &["--data-dir", data]);

    let (ok, out, err) = vmp(
        cwd.path(),
        &[
            "merchant",
            "add",
            "--data-dir",
            data,
            "--user-confirm-key",
            "SHOP1",
            "--secret",
            "shop-secret-1",
            "--name",
            "Shop",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("SHOP1") && out.contains("shop-secret-1"), "add prints key and secret once: {out}");
    assert_eq!(place(&served.base, "SHOP1", "shop-secret-1", "M1").await.get("return_status"), Some("00"));

    let (ok, _, err) = vmp(cwd.path(), &["merchant", "add", "--data-dir", data, "--user-confirm-key", "SHOP1"]);
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "one-line error: {err}");
    assert!(err.contains("already exists"), "{err}");

    let (ok, _, err) = vmp(cwd.path(), &["merchant", "disable", "SHOP1", "--data-dir", data]);
    assert!(ok, "{err}");
    // The gateway reuses a merchant read from the store for at most 1 s.
    let disabled_at = std::time::Instant::now();
    let code = eventually(&served.base, "D", "22").await;
    assert!(disabled_at.elapsed() < Duration::from_millis(2500), "disable applied within the cache lifetime");
    assert_eq!(code, "22");

    let (ok, _, _) = vmp(cwd.path(), &["merchant", "enable", "SHOP1", "--data-dir", data]);
    assert!(ok);
    assert_eq!(eventually(&served.base, "E", "00").await, "00");

    let (ok, out, _) = vmp(cwd.path(), &["merchant", "add", "--data-dir", data]);
    assert!(ok);
    let generated = out.lines().find_map(|l| l.strip_prefix("user_confirm_key:")).unwrap().trim().to_owned();
    assert!(generated.len() <= 12);

    for bad in [
        vec!["merchant", "disable", "NOPE", "--data-dir", data],
        vec!["merchant", "add", "--data-dir", data, "--user-confirm-key", "THIRTEENCHARS"],
        vec!["merchant", "add", "--data-dir", data, "--secret", "has space"],
    ] {
        let (ok, _, err) = vmp(cwd.path(), &bad);
        assert!(!ok, "{bad:?} must fail");
        assert!(err.starts_with("error: ") && err.trim().lines().count() == 1, "{bad:?}: {err}");
        assert!(!err.contains("panicked") && !err.contains("backtrace"));
    }
}
