//! Running the real `vmp serve` in tests: start it, read its banner, stop it.

#![allow(dead_code)] // Each test binary uses a different part.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vmp_protocol::{Params, format_time, sign};

pub const VMP: &str = env!("CARGO_BIN_EXE_vmp");

/// A running `vmp serve`; killed when dropped, however the test ends.
pub struct Gateway {
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The sandbox merchant printed on first start.
    pub key: Option<String>,
    pub secret: Option<String>,
    /// Everything it printed on stdout so far.
    pub stdout: Arc<Mutex<String>>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Gateway {
    /// Starts `vmp serve --listen 127.0.0.1:0 ARGS…` in `cwd` with `VMP_LOG=log`.
    pub fn start(cwd: &Path, args: &[&str], log: &str, stderr: Stdio) -> Gateway {
        let mut command = Command::new(VMP);
        command.args(["serve", "--listen", "127.0.0.1:0"]).args(args);
        Gateway::start_command(command, cwd, log, stderr)
    }

    /// Starts a prepared command that runs `vmp serve --listen 127.0.0.1:0 …`
    /// (possibly through a wrapper that `exec`s it) in `cwd` with `VMP_LOG=log`.
    pub fn start_command(mut command: Command, cwd: &Path, log: &str, stderr: Stdio) -> Gateway {
        let mut child = command
            .current_dir(cwd)
            .env("VMP_LOG", log)
            .env_remove("VMP_DATA_DIR")
            .env_remove("VMP_LISTEN")
            .env_remove("VMP_DATABASE_URL")
            .env_remove("VMP_LOG_FORMAT")
            .env_remove("VMP_METRICS_LISTEN")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("vmp serve starts");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let all = Arc::new(Mutex::new(String::new()));
        let all_in = Arc::clone(&all);
        // Keep draining stdout so the process never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                all_in.lock().expect("stdout log").push_str(&format!("{line}\n"));
                let _ = tx.send(line);
            }
        });
        let mut gateway = Gateway { child, base: String::new(), key: None, secret: None, stdout: all };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    if let Some(addr) = line.split("listening on ").nth(1) {
                        gateway.base = addr.trim().to_owned();
                    } else if let Some(k) = line.trim().strip_prefix("user_confirm_key:") {
                        gateway.key = Some(k.trim().to_owned());
                    } else if let Some(s) = line.trim().strip_prefix("secret:") {
                        gateway.secret = Some(s.trim().to_owned());
                        break;
                    }
                }
                Err(_) if !gateway.base.is_empty() => break,
                Err(_) => {
                    if let Ok(Some(status)) = gateway.child.try_wait() {
                        panic!("vmp serve exited early: {status}");
                    }
                }
            }
        }
        assert!(!gateway.base.is_empty(), "vmp serve printed no address");
        gateway
    }

    /// Sends a signal (`-TERM`, `-KILL`) to the process.
    pub fn signal(&self, sig: &str) {
        assert!(Command::new("kill").args([sig, &self.child.id().to_string()]).status().expect("kill").success());
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            assert!(Instant::now() < deadline, "vmp serve did not exit in time");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A signed Alipay Place an Order request for `key`/`secret`.
pub fn order_json(key: &str, secret: &str, out_trade_no: &str, amount: &str, extra: &[(&str, &str)]) -> String {
    let mut p = Params::new()
        .with("service", "service.alipay.wap.PreOrder")
        .with("user_confirm_key", key)
        .with("transaction_amount", amount)
        .with("out_trade_no", out_trade_no)
        .with("payType", "Alipay")
        .with("buyerType", "others")
        .with("wallet", "ALIPAYHK")
        .with("subject", "cli test")
        .with("pay_scene", "WAP");
    for (k, v) in extra {
        p.set(*k, *v);
    }
    p.set("time", format_time(time::OffsetDateTime::now_utc()));
    sign::sign_in_place(secret, &mut p);
    p.to_json()
}

/// Kills the process when the test ends, however it ends.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a long-running command; its stdout and stderr lines arrive on the channel.
pub fn spawn(cmd: &mut Command) -> (Killed, Receiver<String>) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the command starts");
    let (tx, rx) = channel();
    let out: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().expect("stdout"));
    let err: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().expect("stderr"));
    for pipe in [out, err] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    (Killed(child), rx)
}

/// Reads lines until `pred` matches one (returned), or panics after 30 s.
pub fn wait_for(rx: &Receiver<String>, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            if pred(&line) {
                return line;
            }
            seen.push(line);
        }
    }
    panic!("no line with {what} in {seen:#?}");
}
