//! The merchant-side commands as real processes: `vmp order create` against
//! a real `vmp serve`, `vmp sign` / `vmp verify`, and `vmp listen`.
//! Every process is killed when its test ends; only 127.0.0.1 is used.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

mod support;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use support::{Killed, spawn, wait_for};
use time::OffsetDateTime;
use vmp_protocol::notify::{TradeNotification, TradeStatus, TradeType, is_ack_success};
use vmp_protocol::{Amount, Params, VmpTime, sign};

const VMP: &str = env!("CARGO_BIN_EXE_vmp");

/// Environment variables that would change what the commands do.
const VMP_ENV: [&str; 6] = ["VMP_BASE_URL", "VMP_KEY", "VMP_SECRET", "VMP_DATA_DIR", "VMP_LISTEN", "VMP_LOG"];

fn vmp() -> Command {
    let mut c = Command::new(VMP);
    for name in VMP_ENV {
        c.env_remove(name);
    }
    c.env("RUST_BACKTRACE", "1");
    c
}

struct Gateway {
    _proc: Killed,
    base_url: String,
    key: String,
    secret: String,
}

/// `vmp serve` on a free port with a fresh data directory.
fn serve(data_dir: &Path) -> Gateway {
    let (proc, rx) = spawn(vmp().args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(data_dir));
    let line = wait_for(&rx, "listening on", |l| l.contains("listening on "));
    let base_url = line.split("listening on ").nth(1).unwrap().trim().to_owned();
    let line = wait_for(&rx, "user_confirm_key", |l| l.trim().starts_with("user_confirm_key:"));
    let key = line.split(':').nth(1).unwrap().trim().to_owned();
    let line = wait_for(&rx, "secret", |l| l.trim().starts_with("secret:"));
    let secret = line.split(':').nth(1).unwrap().trim().to_owned();
    Gateway { _proc: proc, base_url, key, secret }
}

/// Runs a short `vmp` command to completion (at most 60 s), feeding `stdin`.
fn run(cmd: &mut Command, stdin: &str) -> Output {
    let mut child = Killed(cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap());
    // Written then dropped, so the command sees end of input.
    child.0.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.0.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.0.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "vmp did not finish within 60 s");
        std::thread::sleep(Duration::from_millis(20));
    };
    Output { status, stdout: stdout.join().unwrap(), stderr: stderr.join().unwrap() }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The error output is exactly one `error: …` line, without a panic.
fn assert_one_line_error(out: &Output, contains: &str) -> String {
    assert!(!out.status.success(), "should fail: {out:?}");
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr:?}");
    assert!(lines[0].starts_with("error: "), "{stderr:?}");
    assert!(lines[0].contains(contains), "{stderr:?} should contain {contains:?}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr:?}");
    stderr
}

fn order_create(gw_base: &str, key: &str, secret: &str, extra: &[&str]) -> Output {
    let mut cmd = vmp();
    cmd.args(["order", "create", "--base-url", gw_base, "--key", key, "--secret", secret])
        .args(["--amount", "10.50", "--subject", "CLI test"])
        .args(extra);
    if !extra.contains(&"--service") {
        cmd.args(["--service", "service.alipay.wap.PreOrder", "--wallet", "ALIPAYHK"]);
    }
    run(&mut cmd, "")
}

#[test]
fn order_create_prints_the_pay_link_first_then_the_answer() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let gw = serve(dir.path());

    // Act
    let out = order_create(&gw.base_url, &gw.key, &gw.secret, &["--out-trade-no", "CLI0001", "--tid", "T9"]);

    // Assert
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    let link = lines.next().unwrap();
    assert!(link.starts_with(&format!("{}/VMP/", gw.base_url)), "{stdout}");
    assert!(link.contains("CLI0001") && !link.contains(' '), "{link}");
    let rest: Vec<&str> = lines.collect();
    for want in
        ["return_status: 00", "out_trade_no: CLI0001", "payType: Alipay", "transaction_amount: 10.50", "tid: T9"]
    {
        assert!(rest.contains(&want), "{want} in {stdout}");
    }
    assert!(rest.iter().any(|l| l.starts_with("eft_trade_no: ")), "{stdout}");
    assert!(!rest.iter().any(|l| l.starts_with("sign:")), "{stdout}");
}

#[test]
fn order_create_takes_credentials_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let gw = serve(dir.path());
    let out = run(
        vmp()
            .env("VMP_BASE_URL", &gw.base_url)
            .env("VMP_KEY", &gw.key)
            .env("VMP_SECRET", &gw.secret)
            .args(["order", "create", "--service", "service.oct.online.PreOrder", "--amount", "1"])
            .args(["--subject", "env test", "--lang", "en"]),
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).lines().next().unwrap().starts_with("http://127.0.0.1:"));
}

#[test]
fn order_create_with_a_wrong_secret_fails_with_one_line_naming_code_10() {
    let dir = tempfile::tempdir().unwrap();
    let gw = serve(dir.path());
    let out = order_create(&gw.base_url, &gw.key, "definitely-wrong", &[]);
    let stderr = assert_one_line_error(&out, "return_status 10");
    assert!(stderr.contains("secret"), "{stderr}");
    assert!(!stderr.contains("definitely-wrong"), "the secret is never printed: {stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn order_create_against_an_unreachable_gateway_fails_with_one_line() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = order_create(&format!("http://127.0.0.1:{port}"), "KEY1", "s", &[]);
    assert_one_line_error(&out, &format!("127.0.0.1:{port}"));
}

#[test]
fn order_create_refuses_bad_input_in_one_line() {
    // Nothing listens there: these must fail before any request.
    let base = "http://127.0.0.1:9";
    // (`lang` is accepted on every service and ignored where the page has
    // no language choice, as live eftPay does: no refusal to test.)
    let cases: [(&[&str], &str); 3] = [
        (&["--service", "service.payme.web.PreOrder", "--wallet", "WECHATHK"], "wallet WECHATHK is not supported"),
        (&["--return-url", "https://m.example/r?x=1"], "return_url"),
        (&["--pay-scene", "WEB"], "pay_scene WEB"),
    ];
    for (extra, want) in cases {
        let out = order_create(base, "KEY1", "s", extra);
        assert_one_line_error(&out, want);
    }
    let out = run(
        vmp().args(["order", "create", "--base-url", base, "--secret", "s"]).args([
            "--service",
            "service.oct.online.PreOrder",
            "--amount",
            "1",
            "--subject",
            "x",
        ]),
        "",
    );
    assert_one_line_error(&out, "--key or set VMP_KEY");
    let out = run(
        vmp().args(["order", "create", "--base-url", base, "--key", "K"]).args([
            "--service",
            "service.oct.online.PreOrder",
            "--amount",
            "1",
            "--subject",
            "x",
        ]),
        "",
    );
    assert_one_line_error(&out, "--secret or set VMP_SECRET");
    let out = run(
        vmp().args(["order", "create", "--base-url", base, "--key", "K", "--secret", "s"]).args([
            "--service",
            "service.alipay.wap.PreOrder",
            "--amount",
            "1",
            "--subject",
            "x",
        ]),
        "",
    );
    assert_one_line_error(&out, "choose one with --wallet");
}

#[test]
fn sign_then_verify_round_trips_and_a_tampered_message_exits_1() {
    // Arrange: the notification signature vector of crates/protocol/src/sign.rs.
    let message = r#"{"notify_type":"trade_status_sync","user_confirm_key":"12345678","trade_no":"T1","transaction_id":"T1","out_trade_no":"20240101120000","eft_trade_no":"E123","eftpay_trade_no":"E123","total_fee":"0.10","currency":"HKD","trade_status":"TRADE_SUCCESS","gmt_payment":"2024-01-01 12:01:02","wallet":"ALIPAYHK","trade_type":"SALE","time":"20240101120103"}"#;

    // Act
    let signed = run(vmp().args(["sign", "--secret", "testsignkey1234"]), message);

    // Assert
    assert!(signed.status.success(), "{}", text(&signed.stderr));
    let signed_json = text(&signed.stdout).trim().to_owned();
    let p = Params::from_json(signed_json.as_bytes()).unwrap();
    assert_eq!(p.get("sign"), Some("14d3fa5f71be09584a7acc9b40f6c599823e0272e39610d186cb27965da1a05a"));

    let ok = run(vmp().args(["verify"]).env("VMP_SECRET", "testsignkey1234"), &signed_json);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout).lines().count(), 1);
    assert!(text(&ok.stdout).starts_with("valid"), "{}", text(&ok.stdout));

    let tampered = signed_json.replace("0.10", "0.01");
    let bad = run(vmp().args(["verify", "--secret", "testsignkey1234"]), &tampered);
    assert_eq!(bad.status.code(), Some(1));
    assert_one_line_error(&bad, "invalid: sign does not match");

    let wrong_secret = run(vmp().args(["verify", "--secret", "other"]), &signed_json);
    assert_eq!(wrong_secret.status.code(), Some(1));

    let garbage = run(vmp().args(["verify", "--secret", "x"]), "not json");
    assert_eq!(garbage.status.code(), Some(1));
    assert_one_line_error(&garbage, "not a VMP message");

    let no_secret = run(vmp().args(["sign"]), message);
    assert_one_line_error(&no_secret, "--secret or set VMP_SECRET");
}

#[test]
fn sign_can_stamp_the_time_and_verify_can_check_it() {
    let signed = run(vmp().args(["sign", "--secret", "k", "--stamp-time"]), r#"{"a":"1","time":"20000101000000"}"#);
    assert!(signed.status.success(), "{}", text(&signed.stderr));
    let json = text(&signed.stdout);
    let p = Params::from_json(json.trim().as_bytes()).unwrap();
    assert_ne!(p.get("time"), Some("20000101000000"));
    let fresh = run(vmp().args(["verify", "--secret", "k", "--check-time"]), &json);
    assert!(fresh.status.success(), "{}", text(&fresh.stderr));

    let old = run(vmp().args(["sign", "--secret", "k"]), r#"{"a":"1","time":"20000101000000"}"#);
    let stale = run(vmp().args(["verify", "--secret", "k", "--check-time"]), &text(&old.stdout));
    assert_eq!(stale.status.code(), Some(1));
    assert_one_line_error(&stale, "30 minutes");
}

fn notification(now: OffsetDateTime) -> TradeNotification {
    TradeNotification {
        user_confirm_key: "KEY1".into(),
        trade_no: "T1".into(),
        transaction_id: "T1".into(),
        out_trade_no: "LISTEN1".into(),
        eft_trade_no: "0100000000000001".into(),
        eftpay_trade_no: "0100000000000001".into(),
        total_fee: "10.50".into(),
        amount: Amount::from_minor(1050).unwrap(),
        currency: "HKD".into(),
        trade_status: TradeStatus::TradeSuccess,
        gmt_payment: "2024-01-01 12:00:00".into(),
        wallet: "ALIPAYHK".into(),
        tid: None,
        trade_type: TradeType::Sale,
        card_scheme: None,
        time: VmpTime::from_datetime(now),
    }
}

/// `vmp listen --port 0 --secret SECRET`: the process, its stdout lines and its base URL.
fn listen(secret: &str) -> (Killed, Receiver<String>, String) {
    let (proc, rx) = spawn(vmp().args(["listen", "--port", "0", "--secret", secret]));
    let line = wait_for(&rx, "listening on", |l| l.starts_with("listening on "));
    let base = line.trim_start_matches("listening on ").trim().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    (proc, rx, base)
}

/// The signed parameters as `application/x-www-form-urlencoded` text (a
/// return_url form body, or an app_link query string).
fn form_encoded(params: &Params) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(k, v)| (k, v.as_str())))
        .finish()
}

/// An answer that is the buyer's HTML page: returns its text.
async fn html_page(resp: reqwest::Response) -> String {
    let content_type = resp.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let body = resp.text().await.unwrap();
    assert!(body.starts_with("<!doctype html>"), "{body}");
    assert!(!body.contains("\"return_code\""), "a page, not the JSON ack: {body}");
    body
}

#[tokio::test]
async fn listen_acknowledges_a_verified_notification_and_answers_a_tampered_one_with_a_negative_ack() {
    // Arrange
    let secret = "listen-secret";
    let (_proc, rx, base) = listen(secret);
    let http = reqwest::Client::new();
    let signed = notification(OffsetDateTime::now_utc()).to_signed_params(secret);

    // Act: a notification, as the gateway sends it.
    let resp = http
        .post(format!("{base}/notify"))
        .header("content-type", "application/json")
        .body(signed.to_json())
        .send()
        .await
        .unwrap();

    // Assert: the signed success ack, and the fields printed.
    assert_eq!(resp.status(), 200);
    let ack = resp.bytes().await.unwrap();
    assert!(is_ack_success(&ack, Some(secret)), "{ack:?}");
    let ack = Params::from_json(&ack).unwrap();
    assert_eq!(ack.get("return_code"), Some("success"));
    assert_eq!(sign::verify(secret, &ack), Ok(()));
    let printed = wait_for(&rx, "the verdict", |l| l.contains("POST /notify"));
    assert!(
        printed.contains("notification") && printed.contains("signature valid") && printed.contains("PAID"),
        "{printed}"
    );
    wait_for(&rx, "the fields", |l| l.contains("out_trade_no") && l.contains("LISTEN1"));

    // Act: a tampered notification (the gateway sends no content type at all).
    let tampered = signed.clone().with("total_fee", "0.01").to_json();
    let resp = http.post(format!("{base}/notify")).body(tampered).send().await.unwrap();

    // Assert: refused with the signed negative ack, and reported.
    assert_eq!(resp.status(), 400);
    let nack = resp.bytes().await.unwrap();
    assert!(!is_ack_success(&nack, Some(secret)), "{nack:?}");
    let nack = Params::from_json(&nack).unwrap();
    assert_eq!(nack.get("return_code"), Some("false"));
    assert_eq!(sign::verify(secret, &nack), Ok(()));
    let printed = wait_for(&rx, "the rejection", |l| l.contains("REJECTED"));
    assert!(printed.contains("notification") && printed.contains("signature"), "{printed}");
    wait_for(&rx, "the negative ack", |l| l.contains("false ack"));
}

#[tokio::test]
async fn listen_answers_a_return_url_form_with_a_readable_page_that_says_whether_it_verified() {
    // Arrange
    let secret = "listen-secret";
    let (_proc, rx, base) = listen(secret);
    let http = reqwest::Client::new();
    let mut paid = notification(OffsetDateTime::now_utc());
    paid.out_trade_no = "SHOP<1>&\"2\"".into();
    let signed = paid.to_signed_params(secret);

    // Act: the form the buyer's browser posts to return_url.
    let resp = http
        .post(format!("{base}/return"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_encoded(&signed))
        .send()
        .await
        .unwrap();

    // Assert: a page with the status in words, the order number (escaped),
    // the amount and the verdict; the terminal shows the verified fields.
    assert_eq!(resp.status(), 200);
    let page = html_page(resp).await;
    assert!(page.contains("Signature verified"), "{page}");
    assert!(page.contains("data-verified=\"yes\""), "{page}");
    assert!(page.contains("<h1>Paid</h1>"), "{page}");
    assert!(page.contains("SHOP&lt;1&gt;&amp;&quot;2&quot;") && !page.contains("SHOP<1>"), "{page}");
    assert!(page.contains("HKD 10.50"), "{page}");
    assert!(page.contains("return_url form"), "{page}");
    let printed = wait_for(&rx, "the form verdict", |l| l.contains("POST /return"));
    assert!(printed.contains("form") && printed.contains("signature valid") && printed.contains("PAID"), "{printed}");

    // Act: the same form with the amount changed after signing.
    let tampered = signed.clone().with("total_fee", "0.01");
    let resp = http
        .post(format!("{base}/return"))
        .header("content-type", "application/x-www-form-urlencoded; charset=UTF-8")
        .body(form_encoded(&tampered))
        .send()
        .await
        .unwrap();

    // Assert: the page says it did not verify and marks what it shows.
    assert_eq!(resp.status(), 400);
    let page = html_page(resp).await;
    assert!(page.contains("did not verify") && page.contains("data-verified=\"no\""), "{page}");
    assert!(page.contains("unverified") && page.contains("0.01"), "{page}");
    assert!(!page.contains("Signature verified"), "{page}");
    let printed = wait_for(&rx, "the form rejection", |l| l.contains("REJECTED"));
    assert!(printed.contains("POST /return") && printed.contains("form"), "{printed}");
}

#[tokio::test]
async fn listen_answers_a_bocpay_app_link_get_with_the_signed_query_with_the_result_page() {
    // Arrange: a closed (unpaid) BOCPay order, returned through app_link.
    let secret = "listen-secret";
    let (_proc, rx, base) = listen(secret);
    let http = reqwest::Client::new();
    let mut closed = notification(OffsetDateTime::now_utc());
    closed.wallet = "BOCVMPUPI".into();
    closed.trade_status = TradeStatus::TradeClosed;
    let signed = closed.to_signed_params(secret);

    // Act: what the pay page redirects the app to.
    let resp = http.get(format!("{base}/app?{}", form_encoded(&signed))).send().await.unwrap();

    // Assert
    assert_eq!(resp.status(), 200);
    let page = html_page(resp).await;
    assert!(page.contains("Signature verified") && page.contains("data-verified=\"yes\""), "{page}");
    assert!(page.contains("Closed") && page.contains("not paid"), "{page}");
    assert!(page.contains("LISTEN1") && page.contains("HKD 10.50"), "{page}");
    assert!(page.contains("app_link"), "{page}");
    let printed = wait_for(&rx, "the app_link verdict", |l| l.contains("GET /app"));
    assert!(printed.contains("app_link") && printed.contains("signature valid"), "{printed}");
    assert!(printed.contains("TRADE_CLOSED") && printed.contains("not paid"), "{printed}");

    // Act: the status changed in the query after signing.
    let tampered = signed.clone().with("trade_status", "TRADE_SUCCESS");
    let resp = http.get(format!("{base}/app?{}", form_encoded(&tampered))).send().await.unwrap();

    // Assert
    assert_eq!(resp.status(), 400);
    let page = html_page(resp).await;
    assert!(page.contains("did not verify") && page.contains("data-verified=\"no\""), "{page}");
    assert!(!page.contains("Signature verified"), "{page}");
    let printed = wait_for(&rx, "the app_link rejection", |l| l.contains("REJECTED"));
    assert!(printed.contains("GET /app") && printed.contains("app_link"), "{printed}");

    // A GET without parameters is not a return: a help page, not an error.
    let resp = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(html_page(resp).await.contains("Nothing to verify"));
}

/// `vmp order <sub>` against `gw` with its credentials.
fn order_cmd(gw: &Gateway, sub: &str, extra: &[&str]) -> Output {
    let mut cmd = vmp();
    cmd.args(["order", sub, "--base-url", &gw.base_url, "--key", &gw.key, "--secret", &gw.secret]).args(extra);
    run(&mut cmd, "")
}

/// The `key: value` lines of a successful command.
fn answer_lines(out: &Output) -> Vec<String> {
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert!(lines.iter().all(|l| l.contains(": ")), "key: value lines only: {stdout}");
    assert!(!lines.iter().any(|l| l.starts_with("sign:")), "{stdout}");
    lines
}

fn assert_has(lines: &[String], want: &[&str]) {
    for w in want {
        assert!(lines.iter().any(|l| l == w), "{w:?} in {lines:#?}");
    }
}

/// Pays an order through the sandbox API, as a merchant's CI would.
async fn sandbox_pay(gw: &Gateway, eft_trade_no: &str) {
    let resp = reqwest::Client::new()
        .post(format!("{}/sandbox/orders/{eft_trade_no}/pay", gw.base_url))
        .header("content-type", "application/json")
        .body(r#"{"outcome":"success"}"#)
        .timeout(Duration::from_secs(15))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["trade_status"], "TRADE_SUCCESS", "{v}");
}

#[tokio::test]
async fn order_query_refund_refund_status_and_close_drive_a_real_gateway() {
    // Arrange: an order of HKD 10.50, unpaid.
    let dir = tempfile::tempdir().unwrap();
    let gw = serve(dir.path());
    let created = order_create(&gw.base_url, &gw.key, &gw.secret, &["--out-trade-no", "AS1"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let eft = text(&created.stdout).lines().find_map(|l| l.strip_prefix("eft_trade_no: ").map(str::to_owned)).unwrap();

    // Unpaid: the query says so, a refund is refused with 16.
    let q = answer_lines(&order_cmd(&gw, "query", &["--out-trade-no", "AS1"]));
    assert_has(&q, &["return_status: 00", "trade_status: TRADE_PROCESSING", "out_trade_no: AS1"]);
    let refused = order_cmd(
        &gw,
        "refund",
        &["--out-trade-no", "AS1", "--wallet", "ALIPAYHK", "--out-refund-no", "AS1-R0", "--return-amount", "1"],
    );
    assert_one_line_error(&refused, "return_status 16");

    // Paid.
    sandbox_pay(&gw, &eft).await;
    let q = answer_lines(&order_cmd(&gw, "query", &["--eft-trade-no", &eft]));
    assert_has(&q, &["trade_status: TRADE_SUCCESS", "trade_type: SALE", "transaction_amount: 10.50", "currency: HKD"]);

    // A partial refund through the wallet's service, queried and followed.
    let r = answer_lines(&order_cmd(
        &gw,
        "refund",
        &["--out-trade-no", "AS1", "--wallet", "ALIPAYHK", "--out-refund-no", "AS1-R1", "--return-amount", "3.00"],
    ));
    assert_has(&r, &["trade_status: TRADE_REFUND", "out_refund_no: AS1-R1", "return_amount: 3.00", "total_fee: 10.50"]);
    let qr = answer_lines(&order_cmd(&gw, "query", &["--out-trade-no", "AS1", "--refund-no", "AS1-R1", "--common"]));
    assert_has(&qr, &["trade_type: REFUND", "transaction_amount: 3.00", "original_amount: 10.50"]);
    let rs = answer_lines(&order_cmd(&gw, "refund-status", &["--eft-trade-no", &eft, "--refund-no", "AS1-R1"]));
    assert_has(&rs, &["refund_status: SUCCESS", "refund_no: AS1-R1"]);

    // Over the amount left: 18. A paid order cannot be closed: 54.
    let over = order_cmd(
        &gw,
        "refund",
        &["--eft-trade-no", &eft, "--out-refund-no", "AS1-R2", "--amount", "7.51", "--reason", "too much"],
    );
    assert_one_line_error(&over, "return_status 18");
    let close_paid = order_cmd(&gw, "close", &["--out-trade-no", "AS1", "--wallet", "ALIPAYHK"]);
    assert_one_line_error(&close_paid, "return_status 54");

    // The rest, through service.common.Refund: the order ends closed.
    let r = answer_lines(&order_cmd(
        &gw,
        "refund",
        &["--out-trade-no", "AS1", "--out-refund-no", "AS1-R3", "--return-amount", "7.50", "--total-fee", "10.50"],
    ));
    assert_has(&r, &["trade_status: TRADE_CLOSED"]);
    let q = answer_lines(&order_cmd(&gw, "query", &["--out-trade-no", "AS1"]));
    assert_has(&q, &["trade_status: TRADE_CLOSED", "refund_amount: 10.50"]);

    // An unpaid order closes.
    let created = order_create(&gw.base_url, &gw.key, &gw.secret, &["--out-trade-no", "AS2"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let c = answer_lines(&order_cmd(&gw, "close", &["--out-trade-no", "AS2", "--wallet", "ALIPAYHK"]));
    assert_has(&c, &["trade_status: TRADE_CLOSED", "out_trade_no: AS2"]);

    // An order that does not exist.
    assert_one_line_error(&order_cmd(&gw, "query", &["--out-trade-no", "NOPE"]), "return_status 05");
    assert_one_line_error(
        &order_cmd(&gw, "refund", &["--out-trade-no", "NOPE", "--out-refund-no", "N1", "--amount", "1"]),
        "return_status 31",
    );
}

#[test]
fn after_sale_commands_refuse_bad_input_in_one_line() {
    // Nothing listens there: these must fail before any request.
    let base = "http://127.0.0.1:9";
    let refund = ["--out-trade-no", "A1", "--out-refund-no", "R1", "--amount", "1"];
    let long_refund_no = "R".repeat(29);
    let cases: [(&str, Vec<&str>, &str); 5] = [
        (
            "refund",
            [&refund[..], &["--wallet", "OCT", "--service", "service.alipay.wap.Refund"]].concat(),
            "wallet OCT is not supported by service.alipay.wap.Refund",
        ),
        ("refund", [&refund[..], &["--wallet", "OCT", "--notify-url", "not a url"]].concat(), "notify_url"),
        ("query", vec!["--out-trade-no", "has space"], "out_trade_no"),
        ("refund-status", vec!["--out-trade-no", "A1", "--refund-no", &long_refund_no], "refund_no"),
        (
            "close",
            vec!["--out-trade-no", "A1", "--wallet", "OCT", "--service", "service.payme.web.Close"],
            "wallet OCT",
        ),
    ];
    for (sub, extra, want) in cases {
        let out =
            run(vmp().args(["order", sub, "--base-url", base, "--key", "KEY1", "--secret", "s"]).args(&extra), "");
        assert_one_line_error(&out, want);
    }
    let out = run(vmp().args(["order", "query", "--base-url", base, "--secret", "s", "--out-trade-no", "A1"]), "");
    assert_one_line_error(&out, "--key or set VMP_KEY");
}

// ---- the qrcode and cashier scenes (issue #19) ----

#[test]
fn order_create_of_a_qrcode_sale_prints_its_content_then_the_qr_code_in_half_blocks_then_the_answer() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let gw = serve(dir.path());

    // Act
    let out = order_create(
        &gw.base_url,
        &gw.key,
        &gw.secret,
        &[
            "--service",
            "service.wechat.qrcode.PreOrder",
            "--wallet",
            "WECHATHK",
            "--tid",
            "TILL1",
            "--out-trade-no",
            "CLIQR1",
        ],
    );

    // Assert: the content, the very QR code of it, then the answer.
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let content = lines[0];
    assert!(content.starts_with(&format!("{}/VMP/qrcode/scan?userkey=", gw.base_url)), "{stdout}");
    let drawn = qrcode::QrCode::new(content.as_bytes())
        .unwrap()
        .render::<qrcode::render::unicode::Dense1x2>()
        .dark_color(qrcode::render::unicode::Dense1x2::Light)
        .light_color(qrcode::render::unicode::Dense1x2::Dark)
        .build();
    let qr_lines = drawn.lines().count();
    assert!(qr_lines > 10, "{drawn}");
    assert_eq!(lines[1..=qr_lines].join("\n"), drawn, "the QR code of the first line");
    let rest = &lines[qr_lines + 1..];
    for want in ["return_status: 00", "paytype: WeChat", "payment_type: WECHATHK", "tid: TILL1", "out_trade_no: CLIQR1"]
    {
        assert!(rest.contains(&want), "{want} in {stdout}");
    }
    assert!(rest.iter().any(|l| l.starts_with("eftpay_trade_no: ")), "{stdout}");

    // The qr_code opens the scan page.
    let page = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async { reqwest::get(content).await.unwrap().text().await.unwrap() });
    assert!(page.contains("data-page-kind=\"wechat-scan\""), "{page}");
}

#[test]
fn order_create_of_a_cashier_sale_prints_the_cashier_link_and_refuses_a_wallet() {
    let dir = tempfile::tempdir().unwrap();
    let gw = serve(dir.path());
    let out = order_create(
        &gw.base_url,
        &gw.key,
        &gw.secret,
        &["--service", "service.united.wap.PreOrder", "--out-trade-no", "CLICASH1"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.lines().next().unwrap().starts_with(&format!("{}/VMP/wap/payPage?", gw.base_url)), "{stdout}");
    assert!(stdout.lines().any(|l| l == "out_trade_no: CLICASH1"), "{stdout}");
    assert!(!stdout.lines().any(|l| l.starts_with("wallet:")), "no wallet before the buyer chooses: {stdout}");
    let refused = order_create(
        &gw.base_url,
        &gw.key,
        &gw.secret,
        &["--service", "service.united.wap.PreOrder", "--wallet", "ALIPAYHK"],
    );
    assert_one_line_error(&refused, "the cashier's buyer picks the wallet");
    let refused = order_create(
        &gw.base_url,
        &gw.key,
        &gw.secret,
        &["--service", "service.alipay.qrcode.PreOrder", "--wallet", "ALIPAYHK", "--return-url", "https://x.example/r"],
    );
    assert_one_line_error(&refused, "--return-url is not a field of the qrcode scene");
}

#[tokio::test]
async fn listen_acknowledges_a_verified_qrcode_notification() {
    let secret = "listen-secret";
    let (_proc, rx, base) = listen(secret);
    let n = vmp_protocol::notify::QrcodeNotification {
        trade_type: TradeType::Sale,
        user_confirm_key: "KEY1".into(),
        transaction_id: "T1".into(),
        out_trade_no: "LISTENQR1".into(),
        subject: "POS Transaction".into(),
        total_fee: "0.50".into(),
        amount: Amount::parse("0.50").unwrap(),
        currency: "HKD".into(),
        trade_status: TradeStatus::TradeSuccess,
        gmt_payment: "2026-01-01 12:01:02".into(),
        payment_type: "WECHATCN".into(),
        buyer_id: Some("SBXBUYER1".into()),
        tid: Some("T0001".into()),
        eftpay_trade_no: "0126010112000012345600000".into(),
        extras: Vec::new(),
        time: VmpTime::from_datetime(OffsetDateTime::now_utc()),
    };
    let http = reqwest::Client::new();
    let resp = http.post(format!("{base}/eft/notify")).body(n.to_signed_params(secret).to_json()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(is_ack_success(&resp.bytes().await.unwrap(), Some(secret)));
    let printed = wait_for(&rx, "the verdict", |l| l.contains("POST /eft/notify"));
    assert!(printed.contains("qrcode notification") && printed.contains("PAID"), "{printed}");
    wait_for(&rx, "the fields", |l| l.contains("payment_type") && l.contains("WECHATCN"));
}

/// The jsapi and app scenes (docs/protocol.md "The jsapi scene", "The app
/// scene"): the wallet's payPackage first (one line of JSON), then the
/// answer, then the sandbox page that stands in for the wallet.
#[tokio::test]
async fn order_create_places_jsapi_and_app_orders_and_prints_the_pay_package_first() {
    let dir = tempfile::tempdir().unwrap();
    let gw = serve(dir.path());
    let cases: [(&[&str], &str, &[&str]); 3] = [
        (
            &[
                "--service",
                "service.wechat.jsapi.PreOrder",
                "--wallet",
                "WECHATHK",
                "--scene-type",
                "APPLETS",
                "--sub-openid",
                "oAbC-miniprogram-openid",
                "--detail",
                r#"{"goods_detail":[{"goods_id":"G1","quantity":1}]}"#,
                "--receipt",
                "--out-trade-no",
                "CLI-JS1",
            ],
            "paySign",
            &[
                "paytype: WeChat",
                "payment_type: WECHATHK",
                "scene_type: APPLETS",
                "sub_openid: oAbC-miniprogram-openid",
            ],
        ),
        (
            &["--service", "AppTradePay.do", "--wallet", "ALIPAYHK", "--out-trade-no", "CLI-APP1"],
            "orderStr",
            &["payType: Alipay", "wallet: ALIPAYHK", "transaction_amount: 10.50"],
        ),
        (
            &["--service", "CommonAppTradePay.do", "--wallet", "WECHATCN", "--out-trade-no", "CLI-APP2"],
            "prepayid",
            &["payType: WeChat", "wallet: WECHATCN"],
        ),
    ];
    for (extra, key, want) in cases {
        let out = order_create(&gw.base_url, &gw.key, &gw.secret, extra);
        assert!(out.status.success(), "{extra:?}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let mut lines = stdout.lines();
        let package = Params::from_json(lines.next().unwrap().as_bytes()).expect("the payPackage as JSON");
        assert!(package.contains(key), "{extra:?}: {stdout}");
        let rest: Vec<String> = lines.map(str::to_owned).collect();
        assert_has(&rest, &["return_status: 00"]);
        assert_has(&rest, want);
        assert!(!rest.iter().any(|l| l.starts_with("sign:") || l.starts_with("payPackage")), "{stdout}");
        let page = rest.iter().find_map(|l| l.strip_prefix("sandbox_wallet_page: ")).expect("the wallet page");
        let resp = reqwest::get(page).await.unwrap();
        assert_eq!(resp.status(), 200, "{page}");
    }

    // Refused before sending, in one line.
    let cases: [(&[&str], &str); 3] = [
        (&["--service", "service.wechat.jsapi.PreOrder", "--wallet", "WECHATHK"], "--scene-type"),
        (
            &["--service", "service.wechat.jsapi.PreOrder", "--wallet", "WECHATHK", "--scene-type", "APPLETS"],
            "sub_openid",
        ),
        (&["--service", "AppTradePay.do", "--wallet", "WECHATHK", "--scene-type", "APPLETS"], "jsapi's"),
    ];
    for (extra, want) in cases {
        assert_one_line_error(&order_create("http://127.0.0.1:9", "KEY1", "s", extra), want);
    }
}
