//! `vmp serve` under hostile connections, as a real process on 127.0.0.1:
//! idle connections past the open-file limit, endless headers, a half-sent
//! request at shutdown. Each attack is bounded in count and time, and a
//! normal client must be served within the header timeout throughout.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Gateway, VMP};

/// Raises this test process's open-file limit so it can hold `needed`
/// sockets; `false` (the test is skipped, saying why) when the hard limit
/// is too low.
fn enough_file_descriptors(needed: u64) -> bool {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit >= needed => true,
        Ok(limit) => {
            eprintln!("SKIPPED: this test needs {needed} open files; the hard limit allows only {limit}");
            false
        }
        Err(e) => {
            eprintln!("SKIPPED: cannot raise the open-file limit: {e}");
            false
        }
    }
}

/// `host:port` of a gateway's base URL.
fn addr(gateway: &Gateway) -> String {
    gateway.base.trim_start_matches("http://").to_owned()
}

/// One request from a well-behaved client on a new connection: `true`
/// when answered `200 ok` within `within`.
fn normal_client_served(addr: &str, within: Duration) -> bool {
    let attempt = || -> std::io::Result<bool> {
        let mut s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(within))?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer)?;
        Ok(answer.starts_with(b"HTTP/1.1 200") && answer.ends_with(b"ok"))
    };
    attempt().unwrap_or(false)
}

/// The gateway's resident memory, from /proc.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Polls a normal client every 200 ms for `during`, and returns the
/// longest time it went without being served (from the start on).
fn longest_unserved(addr: &str, header_timeout: Duration, during: Duration) -> (Duration, usize) {
    let start = Instant::now();
    let (mut last_served, mut worst, mut served) = (start, Duration::ZERO, 0);
    while start.elapsed() < during {
        if normal_client_served(addr, header_timeout) {
            served += 1;
            last_served = Instant::now();
        }
        worst = worst.max(last_served.elapsed());
        std::thread::sleep(Duration::from_millis(200));
    }
    (worst, served)
}

/// `vmp serve` with its open-file limit (soft and hard) set to `nofile`.
fn serve_with_open_file_limit(cwd: &Path, nofile: u32, args: &[&str], stderr: Stdio) -> Gateway {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit -n {nofile} && exec \"$0\" \"$@\""))
        .arg(VMP)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args);
    Gateway::start_command(command, cwd, "info", stderr)
}

#[test]
fn idle_connections_past_the_open_file_limit_lock_nobody_out() {
    // Arrange: a gateway that may open only 1024 files, as with a default
    // `ulimit -n`; 1,100 connections that never send a byte.
    if !enough_file_descriptors(4096) {
        return;
    }
    let cwd = tempfile::tempdir().unwrap();
    let log = cwd.path().join("stderr.log");
    let header_timeout = Duration::from_secs(2);
    let gateway = serve_with_open_file_limit(
        cwd.path(),
        1024,
        &["--header-timeout", "2"],
        std::fs::File::create(&log).unwrap().into(),
    );
    let addr = addr(&gateway);
    assert!(normal_client_served(&addr, header_timeout), "served before the attack");

    // Act
    let mut idle = Vec::new();
    for _ in 0..1_100 {
        if let Ok(s) = TcpStream::connect(&addr) {
            idle.push(s);
        }
    }
    let (worst, served) = longest_unserved(&addr, header_timeout, Duration::from_secs(7));

    // Assert
    assert!(idle.len() >= 1_000, "the attack opened its connections ({})", idle.len());
    assert!(served > 0, "a normal client was served during the attack");
    assert!(
        worst <= header_timeout + Duration::from_millis(1500),
        "a normal client went {worst:?} without being served (header timeout {header_timeout:?})"
    );
    for s in idle.iter_mut().step_by(50) {
        s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let mut buf = [0u8; 256];
        // Closed by the gateway: end of stream (after a 503, for the connections over the limit) or a reset.
        match s.read(&mut buf) {
            Ok(n) => assert!(n == 0 || buf.starts_with(b"HTTP/1.1 503"), "an idle connection was closed"),
            Err(e) => assert!(e.kind() != std::io::ErrorKind::WouldBlock, "an idle connection is still open"),
        }
    }
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("open_file_limit=1024"), "the open-file limit is logged: {logged}");
    assert!(logged.contains("max connections lowered"), "the connection limit fits the open-file limit: {logged}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_headers_from_2000_connections_keep_memory_bounded() {
    // Arrange
    if !enough_file_descriptors(8192) {
        return;
    }
    let cwd = tempfile::tempdir().unwrap();
    let header_timeout = Duration::from_secs(3);
    let gateway = Gateway::start(cwd.path(), &["--header-timeout", "3"], "warn", Stdio::null());
    let (addr, pid) = (addr(&gateway), gateway.child.id());
    let before = rss_mib(pid);

    // Act: 2,000 connections each send 300 KiB of header lines and never
    // finish their request; they hold their sockets until the test ends.
    let (release, held) = tokio::sync::watch::channel(false);
    let mut attackers = Vec::new();
    for _ in 0..2_000 {
        let (addr, mut held) = (addr.clone(), held.clone());
        attackers.push(tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await else { return false };
            let line = format!("X-Padding: {}\r\n", "a".repeat(1010));
            let mut sent = 0;
            if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.is_ok() {
                while sent < 300 * 1024 && s.write_all(line.as_bytes()).await.is_ok() {
                    sent += line.len();
                }
            }
            let _ = held.wait_for(|r| *r).await;
            // Whether the gateway has closed this connection (a 431 first, or a reset).
            let mut buf = [0u8; 1024];
            let closed = async {
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            };
            tokio::time::timeout(Duration::from_secs(2), closed).await.is_ok()
        }));
    }
    let sampler = tokio::spawn(async move {
        let mut peak: f64 = 0.0;
        for _ in 0..80 {
            peak = peak.max(rss_mib(pid));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        peak
    });
    let probe_addr = addr.clone();
    let (worst, served) =
        tokio::task::spawn_blocking(move || longest_unserved(&probe_addr, header_timeout, Duration::from_secs(8)))
            .await
            .unwrap();
    let peak = sampler.await.unwrap();
    let _ = release.send(true);
    let mut closed = 0;
    for a in attackers {
        if a.await.unwrap() {
            closed += 1;
        }
    }

    // Assert
    eprintln!("gateway RSS: {before:.1} MiB before, peak {peak:.1} MiB during the attack");
    assert!(peak < 200.0, "RSS peaked at {peak:.1} MiB (before: {before:.1} MiB)");
    assert!(closed >= 1_990, "the gateway closed the endless heads ({closed} of 2000)");
    assert!(served > 0, "a normal client was served during the attack");
    assert!(worst <= header_timeout + Duration::from_millis(1500), "a normal client went {worst:?} unserved");
}

#[test]
fn sigterm_completes_while_a_client_holds_a_half_sent_request() {
    // Arrange
    let cwd = tempfile::tempdir().unwrap();
    let log = cwd.path().join("stderr.log");
    let mut gateway =
        Gateway::start(cwd.path(), &["--header-timeout", "2"], "info", std::fs::File::create(&log).unwrap().into());
    let mut half = TcpStream::connect(addr(&gateway)).unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));

    // Act
    let asked = Instant::now();
    gateway.signal("-TERM");
    let status = gateway.wait_exit(Duration::from_secs(15));

    // Assert
    assert!(status.success(), "exit 0 after SIGTERM: {status}");
    assert!(asked.elapsed() < Duration::from_secs(5), "stopped within the header timeout: {:?}", asked.elapsed());
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("store closed"), "the store was committed and closed: {logged}");
    assert!(gateway.stdout.lock().unwrap().contains("OpenVMP gateway stopped"));
}

#[test]
fn shutdown_closes_what_is_left_after_the_drain_timeout() {
    // Arrange: a request whose body never completes, with timeouts far
    // longer than the drain.
    let cwd = tempfile::tempdir().unwrap();
    let mut gateway = Gateway::start(
        cwd.path(),
        &["--header-timeout", "60", "--body-timeout", "60", "--drain-timeout", "1"],
        "info",
        Stdio::null(),
    );
    let mut slow = TcpStream::connect(addr(&gateway)).unwrap();
    slow.write_all(b"POST /VMP/Servlet/JSAPIService.do HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"a\":")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    // Act
    let asked = Instant::now();
    gateway.signal("-TERM");
    let status = gateway.wait_exit(Duration::from_secs(15));

    // Assert
    assert!(status.success(), "exit 0 after SIGTERM: {status}");
    let took = asked.elapsed();
    assert!(took >= Duration::from_millis(900), "the drain waited for the request: {took:?}");
    assert!(took < Duration::from_secs(4), "the drain stopped at its timeout: {took:?}");
}

#[test]
fn a_slow_body_is_answered_minus_13_after_the_body_timeout() {
    // Arrange
    let cwd = tempfile::tempdir().unwrap();
    let gateway = Gateway::start(cwd.path(), &["--body-timeout", "1"], "warn", Stdio::null());
    let mut slow = TcpStream::connect(addr(&gateway)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();

    // Act
    let started = Instant::now();
    slow.write_all(b"POST /VMP/Servlet/JSAPIService.do HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"a\":")
        .unwrap();
    let mut answer = Vec::new();
    let _ = slow.read_to_end(&mut answer);

    // Assert
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.contains("\"return_status\":\"-13\""), "{answer}");
    assert!(answer.contains("参数错误:请检查请求接口参数: request body"), "{answer}");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "answered after {took:?}");
}

#[test]
fn oversized_headers_are_answered_431() {
    let cwd = tempfile::tempdir().unwrap();
    let gateway = Gateway::start(cwd.path(), &["--max-header-bytes", "4096"], "warn", Stdio::null());
    let mut s = TcpStream::connect(addr(&gateway)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "b".repeat(5000)).as_bytes());
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    assert!(answer.starts_with(b"HTTP/1.1 431"), "{}", String::from_utf8_lossy(&answer));
    assert!(normal_client_served(&addr(&gateway), Duration::from_secs(2)), "a head under the limit is served");
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let cwd = tempfile::tempdir().unwrap();
    let gateway = Gateway::start(cwd.path(), &["--header-timeout", "1"], "warn", Stdio::null());
    let mut s = TcpStream::connect(addr(&gateway)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let idle_since = Instant::now();
    // The connection stays open for the next request, then is closed.
    let n = s.read(&mut buf).unwrap();
    let idle = idle_since.elapsed();
    assert_eq!(n, 0, "closed, not answered");
    assert!(idle >= Duration::from_millis(900) && idle < Duration::from_secs(3), "closed after {idle:?}");
}

#[test]
fn connections_over_the_limit_are_closed_at_once() {
    let cwd = tempfile::tempdir().unwrap();
    let gateway =
        Gateway::start(cwd.path(), &["--max-connections", "2", "--header-timeout", "5"], "warn", Stdio::null());
    let held: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr(&gateway)).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut third = TcpStream::connect(addr(&gateway)).unwrap();
    third.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = third.read_to_end(&mut answer);
    assert!(started.elapsed() < Duration::from_secs(1), "not queued");
    assert!(answer.is_empty() || answer.starts_with(b"HTTP/1.1 503"), "{}", String::from_utf8_lossy(&answer));
    drop(held);
    std::thread::sleep(Duration::from_millis(200));
    assert!(normal_client_served(&addr(&gateway), Duration::from_secs(2)), "served once connections are free");
}
