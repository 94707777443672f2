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
            .env_remove("VMP_MASTER_KEY")
            .env_remove("VMP_MASTER_KEY_FILE")
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

/// Signs `fields` (plus `user_confirm_key` and a current `time`) for a merchant.
pub fn signed(key: &str, secret: &str, fields: &[(&str, &str)]) -> String {
    let mut p = Params::new().with("user_confirm_key", key);
    for (k, v) in fields {
        p.set(*k, *v);
    }
    p.set("time", format_time(time::OffsetDateTime::now_utc()));
    sign::sign_in_place(secret, &mut p);
    p.to_json()
}

/// A fresh database `{prefix}_{pid}` on the test cluster at `base`; its URL.
pub fn fresh_database(base: &str, prefix: &str) -> String {
    let name = format!("{prefix}_{}", std::process::id());
    for sql in [format!("DROP DATABASE IF EXISTS \"{name}\""), format!("CREATE DATABASE \"{name}\"")] {
        let out = Command::new("psql").arg(base).args(["-qAtc", &sql]).output().expect("psql runs");
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let mut url = url::Url::parse(base).expect("database URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Notifications received, by `eft_trade_no`.
pub type Notified = Arc<Mutex<std::collections::HashMap<String, usize>>>;

/// A merchant endpoint on 127.0.0.1 that acknowledges every notification
/// and counts those whose signature verifies with `secret`; its URL.
pub async fn notification_receiver(secret: &'static str) -> (String, Notified) {
    let notified: Notified = Arc::default();
    let notified_in = Arc::clone(&notified);
    let app = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |body: axum::body::Bytes| {
            let notified = Arc::clone(&notified_in);
            async move {
                if let Ok(p) = Params::from_json(&body)
                    && sign::verify(secret, &p).is_ok()
                    && let Some(eft) = p.get("eft_trade_no")
                {
                    *notified.lock().expect("notified").entry(eft.to_owned()).or_default() += 1;
                }
                "success"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/notify", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, notified)
}

/// `vmp merchant add` on the PostgreSQL database `db`, with this key and secret.
pub fn add_pg_merchant(db: &str, key: &str, secret: &str) {
    let out = Command::new(VMP)
        .args(["merchant", "add", "--database-url", db, "--user-confirm-key", key, "--secret", secret])
        .output()
        .expect("vmp runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Runs a short `vmp` command to completion (at most 60 s), with none of
/// the `VMP_*` variables of the caller's environment but `env`.
pub fn run_vmp(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(VMP);
    for (name, _) in std::env::vars() {
        if name.starts_with("VMP_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vmp starts");
    let drain = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("vmp {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::process::Output { status, stdout: stdout.join().expect("stdout"), stderr: stderr.join().expect("stderr") }
}

/// Standard output of a finished command, asserting it succeeded.
pub fn ok_stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "should succeed: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The one `error: …` line of a failed command.
pub fn error_line(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "should fail: {}", String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.starts_with("error: ") && stderr.trim_end().lines().count() == 1, "{stderr:?}");
    stderr.trim_end().to_owned()
}

/// A long-running `vmp` command; killed when dropped, however the test ends.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    /// Stops the process now.
    pub fn kill(&mut self) -> std::io::Result<()> {
        self.0.kill()
    }

    /// Waits for it to exit.
    pub fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.0.wait()
    }
}

/// Starts `command` (stderr discarded); its stdout lines arrive on the channel.
pub fn spawn_lines(mut command: Command) -> (Running, std::sync::mpsc::Receiver<String>) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("vmp starts");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Read to the end even when nobody listens any more (see `spawn`).
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (Running(child), rx)
}

/// The first line `pick` takes, within 30 s.
pub fn wait_line<T>(rx: &std::sync::mpsc::Receiver<String>, pick: impl Fn(&str) -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            if let Some(t) = pick(&line) {
                return t;
            }
            seen.push(line);
        }
    }
    panic!("no expected line in {seen:#?}");
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
            // Read to the end even when nobody listens any more: a closed
            // pipe would make the process's next log line fail.
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = tx.send(line);
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

/// A fresh master key from `vmp admin new-master-key`.
pub fn new_master_key() -> String {
    let out = Command::new(VMP).args(["admin", "new-master-key"]).output().expect("vmp runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A master key file in `dir` holding one fresh key (production mode needs
/// one); its path.
pub fn master_key_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("master.keys");
    std::fs::write(&path, format!("{}\n", new_master_key())).expect("key file written");
    path
}
