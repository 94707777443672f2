//! CI ergonomics as real processes: `vmp serve --sandbox-merchant`,
//! `vmp sandbox …` (settle, clock, fault rules) and `--sandbox-clock` on
//! `vmp order` and `vmp listen`. Only 127.0.0.1 is used; every process is
//! killed when its test ends.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

mod support;

use std::process::Stdio;

use support::{Gateway, error_line, ok_stdout, run_vmp};

const KEY: &str = "CI1";
const SECRET: &str = "ci-fixed-secret-4711";

/// `vmp serve` in `dir` with the fixed merchant CI1; its log goes to `log`.
fn serve(dir: &std::path::Path, log: &std::path::Path) -> Gateway {
    let stderr = Stdio::from(std::fs::File::create(log).unwrap());
    let fixed = format!("{KEY}:{SECRET}");
    Gateway::start(dir, &["--data-dir", "vmp-data", "--sandbox-merchant", &fixed], "info", stderr)
}

/// `vmp ARGS… --base-url B --key CI1 --secret S` for the merchant commands.
fn merchant(gw: &Gateway, args: &[&str]) -> std::process::Output {
    let mut all = args.to_vec();
    all.extend(["--base-url", &gw.base, "--key", KEY, "--secret", SECRET]);
    run_vmp(&all, &[])
}

/// `vmp sandbox ARGS… --base-url B`.
fn sandbox(gw: &Gateway, args: &[&str]) -> std::process::Output {
    let mut all = vec!["sandbox"];
    all.extend(args);
    all.extend(["--base-url", &gw.base]);
    run_vmp(&all, &[])
}

fn create(gw: &Gateway, out_trade_no: &str, extra: &[&str]) -> String {
    let mut args = vec!["order", "create", "--service", "service.alipay.wap.PreOrder", "--wallet", "ALIPAYHK"];
    args.extend(["--amount", "1.00", "--subject", "ci", "--out-trade-no", out_trade_no]);
    args.extend(extra);
    let out = ok_stdout(&merchant(gw, &args));
    out.lines().find_map(|l| l.strip_prefix("eft_trade_no: ")).unwrap().to_owned()
}

#[test]
fn fixed_credentials_are_set_at_every_start_and_the_secret_is_never_printed_or_logged() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("first.log");
    let gw = serve(dir.path(), &log);
    create(&gw, "CI-1", &[]);
    let first_stdout = gw.stdout.lock().unwrap().clone();
    drop(gw);
    // The same credentials from the environment: nothing to change.
    let log2 = dir.path().join("second.log");
    let stderr = Stdio::from(std::fs::File::create(&log2).unwrap());
    let mut command = std::process::Command::new(support::VMP);
    command.args(["serve", "--listen", "127.0.0.1:0", "--data-dir", "vmp-data"]);
    command.env("VMP_SANDBOX_MERCHANT", format!("{KEY}:{SECRET}"));
    let gw = Gateway::start_command(command, dir.path(), "info", stderr);
    create(&gw, "CI-2", &[]);
    let second_stdout = gw.stdout.lock().unwrap().clone();
    drop(gw);

    assert!(first_stdout.contains("sandbox merchant CI1 (--sandbox-merchant): created"), "{first_stdout}");
    assert!(second_stdout.contains("sandbox merchant CI1 (--sandbox-merchant): unchanged"), "{second_stdout}");
    assert!(!first_stdout.contains("secret:"), "no random merchant is created and shown: {first_stdout}");
    for text in
        [first_stdout, second_stdout, std::fs::read_to_string(&log).unwrap(), std::fs::read_to_string(&log2).unwrap()]
    {
        assert!(!text.contains(SECRET), "the secret was printed or logged: {text}");
    }
}

#[test]
fn fixed_credentials_are_refused_in_production_mode() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("vmp-data");
    let out = run_vmp(
        &["serve", "--listen", "127.0.0.1:0", "--mode", "production", "--data-dir", data.to_str().unwrap()],
        &[("VMP_SANDBOX_MERCHANT", "CI1:prod-secret-0815"), ("VMP_LOG", "error")],
    );
    let line = error_line(&out);
    assert!(line.contains("sandbox mode only") && !line.contains("prod-secret-0815"), "{line}");
}

#[test]
fn sandbox_commands_settle_orders_by_either_number_and_refuse_a_second_settlement() {
    let dir = tempfile::tempdir().unwrap();
    let gw = serve(dir.path(), &dir.path().join("gw.log"));
    let eft = create(&gw, "CI-PAY", &[]);
    create(&gw, "CI-FAIL", &[]);
    let cancel_eft = create(&gw, "CI-CANCEL", &[]);

    let paid = ok_stdout(&sandbox(&gw, &["pay", "--out-trade-no", "CI-PAY", "--key", KEY]));
    let failed = ok_stdout(&sandbox(&gw, &["fail", "--out-trade-no", "CI-FAIL", "--key", KEY]));
    let cancelled = ok_stdout(&sandbox(&gw, &["cancel", &cancel_eft]));
    let again = sandbox(&gw, &["pay", &eft]);

    assert!(paid.contains("result: settled") && paid.contains("trade_status: TRADE_SUCCESS"), "{paid}");
    assert!(paid.contains(&format!("eft_trade_no: {eft}")), "{paid}");
    assert!(failed.contains("trade_status: TRADE_FAIL"), "{failed}");
    assert!(cancelled.contains("trade_status: TRADE_CLOSED"), "{cancelled}");
    let line = error_line(&again);
    assert!(line.contains("409") && line.contains("already final (TRADE_SUCCESS)"), "{line}");
    let line = error_line(&sandbox(&gw, &["pay", "--out-trade-no", "NOSUCH", "--key", KEY]));
    assert!(line.contains("404"), "{line}");
}

#[test]
fn fault_rules_are_added_listed_applied_and_cleared_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let gw = serve(dir.path(), &dir.path().join("gw.log"));
    create(&gw, "CI-FAULT", &[]);
    ok_stdout(&sandbox(&gw, &["pay", "--out-trade-no", "CI-FAULT", "--key", KEY]));

    let added =
        ok_stdout(&sandbox(&gw, &["fault", "add", "--key", KEY, "--operation", "refund", "--return-status", "51"]));
    let listed = ok_stdout(&sandbox(&gw, &["fault", "list", "--key", KEY]));
    let refund = &["order", "refund", "--out-trade-no", "CI-FAULT", "--out-refund-no", "R1", "--amount", "0.50"];
    let faulted = merchant(&gw, refund);
    let retried = merchant(&gw, refund);
    ok_stdout(&sandbox(&gw, &["fault", "add", "--key", KEY, "--notification", "drop", "--percent", "50"]));
    let cleared = ok_stdout(&sandbox(&gw, &["fault", "clear", "--key", KEY]));
    let empty = ok_stdout(&sandbox(&gw, &["fault", "list", "--key", KEY]));

    assert!(added.starts_with("added rule ") && added.contains("refund: return_status=51 (next 1)"), "{added}");
    assert!(listed.contains("refund: return_status=51 (next 1), 1 left"), "{listed}");
    let line = error_line(&faulted);
    assert!(line.contains("return_status 51"), "{line}");
    ok_stdout(&retried);
    assert_eq!(cleared.trim(), "cleared 1 fault rule");
    assert_eq!(empty.trim(), "no fault rules");
    // Refused before anything is sent, naming the field.
    for (args, names) in [
        (&["--operation", "refunds", "--return-status", "51"][..], "operation"),
        (&["--operation", "refund", "--return-status", "77"][..], "return_status"),
        (&["--notification", "explode"][..], "notification"),
    ] {
        let mut all = vec!["fault", "add", "--key", KEY];
        all.extend(args);
        let line = error_line(&sandbox(&gw, &all));
        assert!(line.contains("invalid fault rule") && line.contains(names), "{args:?}: {line}");
    }
}

#[test]
fn order_commands_follow_the_sandbox_clock_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let gw = serve(dir.path(), &dir.path().join("gw.log"));
    create(&gw, "CI-CLOCK", &[]);
    let before = ok_stdout(&sandbox(&gw, &["clock"]));

    let moved = ok_stdout(&sandbox(&gw, &["advance", "2h"]));
    let query = &["order", "query", "--out-trade-no", "CI-CLOCK"];
    let stale = merchant(&gw, query);
    let mut following = query.to_vec();
    following.push("--sandbox-clock");
    let followed = merchant(&gw, &following);

    assert_eq!(before.trim().len(), 14, "{before}");
    assert!(moved.starts_with("now: ") && moved.trim() > format!("now: {}", before.trim()).as_str(), "{moved}");
    assert!(error_line(&stale).contains("return_status 12"), "the machine's time is 2 hours behind the gateway's");
    assert!(ok_stdout(&followed).contains("trade_status: TRADE_CLOSED"), "expired by the moved clock");
}

#[test]
fn listen_judges_time_by_the_sandbox_clock_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let gw = serve(dir.path(), &dir.path().join("gw.log"));
    ok_stdout(&sandbox(&gw, &["advance", "2h"]));
    let mut command = std::process::Command::new(support::VMP);
    command.args(["listen", "--port", "0", "--secret", SECRET, "--sandbox-clock", "--base-url", &gw.base]);
    let (mut listen, lines) = support::spawn_lines(command);
    let url = support::wait_line(&lines, |l| l.strip_prefix("listening on ").map(str::to_owned));

    create(&gw, "CI-LISTEN", &["--notify-url", &format!("{url}/notify"), "--sandbox-clock"]);
    ok_stdout(&sandbox(&gw, &["pay", "--out-trade-no", "CI-LISTEN", "--key", KEY]));
    let verdict =
        support::wait_line(&lines, |l| (l.contains("signature valid") || l.contains("REJECTED")).then(|| l.to_owned()));
    let _ = listen.kill();
    let _ = listen.wait();

    assert!(verdict.contains("signature valid") && verdict.contains("PAID"), "{verdict}");
}
