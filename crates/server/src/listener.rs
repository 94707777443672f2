//! The HTTP accept loop: HTTP/1.1 on hyper, with the limits a gateway
//! facing the internet needs ([`HttpLimits`]).
//!
//! hyper 1.x on its own (as `axum::serve` runs it) has no timer, so a
//! connection that sends nothing, a half-sent request line or an idle
//! keep-alive connection is kept forever; its read buffer grows to ~400 KiB
//! per connection; and every connection is accepted until the process runs
//! out of file descriptors, after which nobody is served. Here:
//!
//! - **Timeouts** are kept per connection in one atomic word (a phase and a
//!   deadline) that the socket reader, the request service and the
//!   response body update as the connection moves on, and that one timer
//!   per connection checks: the request head must arrive within the header
//!   timeout (from accept for the first request, from its first byte for
//!   later ones), a keep-alive connection may wait for its next request for
//!   the idle timeout, and a body must arrive within the body timeout after
//!   its head (the body then fails, and the handler answers as for any body
//!   it cannot read). Nothing is allocated per request for this.
//! - **Header size**: hyper's read buffer is capped at the header limit, so
//!   a longer head is answered 431 and the connection closed.
//! - **Connections**: at most [`max_connections`] at once; more are
//!   accepted and closed at once with a 503, never queued.
//! - **Shutdown**: stop accepting, let every connection finish its request
//!   (idle ones close at once), and after the drain timeout close whatever
//!   is left.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use axum::routing::future::RouteFuture;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::config::HttpLimits;
use crate::metrics::RequestTiming;

/// File descriptors kept for everything but client connections: up to 256
/// notification deliveries at once, the store's connections, the metrics
/// listener, logs.
const RESERVED_FDS: u64 = 320;

/// Raises this process's open-file soft limit to its hard limit and returns
/// the soft limit now in force.
///
/// # Errors
/// When the limit cannot be read or set.
pub fn raise_open_file_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// How many connections to serve at once: `configured`, lowered so that
/// they fit the open-file soft limit with `RESERVED_FDS` to spare.
pub fn max_connections(configured: usize) -> usize {
    match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok((soft, _)) => {
            let fit = soft.saturating_sub(RESERVED_FDS.min(soft / 4));
            configured.min(usize::try_from(fit).unwrap_or(usize::MAX)).max(1)
        }
        Err(_) => configured.max(1),
    }
}

/// What a refused connection is told before it is closed.
const REFUSED: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\nretry-after: 1\r\n\r\n";

/// Where shutdown is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Serving,
    /// Finish the request in progress, then close.
    Draining,
    /// Close now.
    Closing,
}

/// What every connection of one listener shares.
struct ConnConfig {
    http1: http1::Builder,
    /// Deadlines are kept as milliseconds since this instant.
    epoch: Instant,
    header_ms: u64,
    idle_ms: u64,
    body_ms: u64,
    /// The shortest of the three: no deadline set later can come sooner
    /// than this after it is set (see [`ConnTrack::check`]).
    shortest: Duration,
    /// Whether requests are counted (the metrics recorder is installed).
    record_requests: bool,
}

impl ConnConfig {
    fn new(limits: &HttpLimits, record_requests: bool) -> Self {
        let mut http1 = http1::Builder::new();
        // hyper checks the head's size only once it is complete; the read
        // buffer's cap is what bounds a head that never completes.
        http1
            .max_buf_size(limits.max_header_bytes.max(8192))
            .max_header_size(limits.max_header_bytes)
            .header_read_timeout(None)
            .keep_alive(true);
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX >> 3).clamp(1, u64::MAX >> 3);
        let (header, idle, body) = (limits.header_timeout, limits.idle_timeout(), limits.body_timeout);
        Self {
            http1,
            epoch: Instant::now(),
            header_ms: ms(header),
            idle_ms: ms(idle),
            body_ms: ms(body),
            shortest: header.min(idle).min(body).max(Duration::from_millis(1)),
            record_requests,
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX >> 3)
    }
}

// Connection phases, in the low two bits of `ConnTrack::state`; the
// deadline (ms since the epoch) is in the rest.
/// Waiting for a request head (deadline: header timeout).
const HEAD: u64 = 0;
/// Reading a request body (deadline: body timeout).
const BODY: u64 = 1;
/// Handling a request; no deadline.
const BUSY: u64 = 2;
/// Between requests (deadline: idle timeout).
const IDLE: u64 = 3;

fn pack(phase: u64, deadline_ms: u64) -> u64 {
    (deadline_ms << 2) | phase
}

/// Where one connection is, and until when it may stay there.
struct ConnTrack {
    cfg: Arc<ConnConfig>,
    state: AtomicU64,
    /// Set when the body deadline passed: the body's next poll fails.
    body_expired: AtomicBool,
    /// The task reading the body, woken when its deadline passes.
    body_waker: Mutex<Option<Waker>>,
}

/// What the connection's timer found.
enum Check {
    /// Look again at this time.
    Again(Instant),
    /// The connection ran out of time in this phase.
    Expired(&'static str),
}

impl ConnTrack {
    fn new(cfg: Arc<ConnConfig>) -> Self {
        let deadline = cfg.now_ms() + cfg.header_ms;
        Self {
            cfg,
            state: AtomicU64::new(pack(HEAD, deadline)),
            body_expired: AtomicBool::new(false),
            body_waker: Mutex::new(None),
        }
    }

    /// When the timer first looks: the header deadline, or sooner, since
    /// a later phase may have a shorter timeout (see [`ConnTrack::check`]).
    fn first_check(&self) -> Instant {
        let deadline = self.cfg.epoch + Duration::from_millis(self.state.load(Ordering::Relaxed) >> 2);
        deadline.min(Instant::now() + self.cfg.shortest)
    }

    /// Bytes arrived: an idle connection starts its next request head.
    fn bytes_arrived(&self) {
        let cur = self.state.load(Ordering::Relaxed);
        if cur & 3 == IDLE {
            let next = pack(HEAD, self.cfg.now_ms() + self.cfg.header_ms);
            let _ = self.state.compare_exchange(cur, next, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    /// A request head was parsed.
    fn request_started(&self, empty_body: bool) {
        self.body_expired.store(false, Ordering::Relaxed);
        let next = if empty_body { pack(BUSY, 0) } else { pack(BODY, self.cfg.now_ms() + self.cfg.body_ms) };
        self.state.store(next, Ordering::Relaxed);
    }

    /// The request body ended (or failed): no more deadline until the response.
    fn body_finished(&self) {
        let cur = self.state.load(Ordering::Relaxed);
        if cur & 3 == BODY {
            let _ = self.state.compare_exchange(cur, pack(BUSY, 0), Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    /// The response went out: wait for the next request.
    fn response_finished(&self) {
        self.state.store(pack(IDLE, self.cfg.now_ms() + self.cfg.idle_ms), Ordering::Relaxed);
    }

    /// Called when the timer fires. Every phase change sets a deadline at
    /// least [`ConnConfig::shortest`] ahead, so looking again no later than
    /// that never misses one.
    fn check(&self, now: Instant) -> Check {
        let cur = self.state.load(Ordering::Relaxed);
        let (phase, deadline_ms) = (cur & 3, cur >> 2);
        let now_ms = u64::try_from(now.saturating_duration_since(self.cfg.epoch).as_millis()).unwrap_or(u64::MAX);
        let soon = now + self.cfg.shortest;
        if phase == BUSY {
            return Check::Again(soon);
        }
        if now_ms < deadline_ms {
            return Check::Again(soon.min(self.cfg.epoch + Duration::from_millis(deadline_ms)));
        }
        match phase {
            HEAD => Check::Expired("header"),
            IDLE => Check::Expired("idle"),
            _ => {
                // The body is late: fail it (the handler answers), keep the connection.
                if self.state.compare_exchange(cur, pack(BUSY, 0), Ordering::Relaxed, Ordering::Relaxed).is_ok() {
                    self.body_expired.store(true, Ordering::Relaxed);
                    crate::metrics::http_timeout("body");
                    tracing::debug!("request body timed out");
                    let waker = self.body_waker.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
                    if let Some(w) = waker {
                        w.wake();
                    }
                }
                Check::Again(soon)
            }
        }
    }
}

/// The socket, telling the tracker when bytes arrive.
struct TrackedIo {
    inner: TcpStream,
    track: Arc<ConnTrack>,
}

impl AsyncRead for TrackedIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.track.bytes_arrived();
        }
        polled
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A request body that fails once its deadline passed.
struct DeadlineBody {
    inner: Incoming,
    track: Arc<ConnTrack>,
}

/// The error a late body fails with.
#[derive(Debug, thiserror::Error)]
#[error("request body timed out")]
struct BodyTimeout;

impl hyper::body::Body for DeadlineBody {
    type Data = bytes::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if self.track.body_expired.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(Box::new(BodyTimeout))));
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                self.track.body_finished();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                self.track.body_finished();
                Poll::Ready(Some(Err(Box::new(e))))
            }
            Poll::Ready(Some(Ok(frame))) => {
                if self.inner.is_end_stream() {
                    self.track.body_finished();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                {
                    let mut slot = self.track.body_waker.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        *slot = Some(cx.waker().clone());
                    }
                }
                // The deadline may have passed between the two looks.
                if self.track.body_expired.load(Ordering::Relaxed) {
                    return Poll::Ready(Some(Err(Box::new(BodyTimeout))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that tells the tracker when it is done.
struct TrackedBody {
    inner: Body,
    track: Option<Arc<ConnTrack>>,
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        if let Some(track) = self.track.take() {
            track.response_finished();
        }
    }
}

impl hyper::body::Body for TrackedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The per-connection service: the router, with the peer address as
/// `ConnectInfo` (what `into_make_service_with_connect_info` gave) and the
/// request's deadlines.
#[derive(Clone)]
struct ConnService {
    router: Router,
    peer: SocketAddr,
    track: Arc<ConnTrack>,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        self.track.request_started(req.body().is_end_stream());
        let timing = if self.track.cfg.record_requests { RequestTiming::start(req.uri().path()) } else { None };
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let track = Arc::clone(&self.track);
        let req = req.map(|inner| Body::new(DeadlineBody { inner, track }));
        // A Router is always ready: calling without poll_ready is fine.
        let inner = tower_service::Service::call(&mut self.router.clone(), req);
        ResponseFuture { inner, track: Some(Arc::clone(&self.track)), timing }
    }
}

pin_project_lite::pin_project! {
    /// The router's answer, with its body tracked and its metrics recorded.
    struct ResponseFuture {
        #[pin]
        inner: RouteFuture<Infallible>,
        track: Option<Arc<ConnTrack>>,
        timing: Option<RequestTiming>,
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<TrackedBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = match this.timing.as_mut() {
            Some(timing) => crate::metrics::with_request_slot(&mut timing.labels, || this.inner.poll(cx)),
            None => this.inner.poll(cx),
        };
        let Poll::Ready(Ok(response)) = polled else { return Poll::Pending };
        if let Some(timing) = this.timing.take() {
            timing.finish();
        }
        let track = this.track.take();
        Poll::Ready(Ok(response.map(|inner| TrackedBody { inner, track })))
    }
}

/// Counts one open connection while it lives.
struct ConnGuard {
    open: Arc<AtomicUsize>,
    /// Whether the connection is in the open-connections gauge.
    counted: bool,
    /// Dropped with the connection: shutdown waits for all of them.
    _done: watch::Receiver<()>,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
        if self.counted {
            crate::metrics::connection_opened(false);
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains
/// (see the module docs). `record_requests`: count requests and
/// connections in the metrics (the gateway's listener, not the metrics one).
///
/// # Errors
/// Never at present; accept errors are logged and retried.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &HttpLimits,
    record_requests: bool,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let cfg = Arc::new(ConnConfig::new(limits, record_requests));
    let max = max_connections(limits.max_connections);
    let open = Arc::new(AtomicUsize::new(0));
    let (stage_tx, stage_rx) = watch::channel(Stage::Serving);
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    let mut last_warning: Option<std::time::Instant> = None;
    let mut warn_now = || {
        let due = last_warning.is_none_or(|at| at.elapsed() >= Duration::from_secs(10));
        if due {
            last_warning = Some(std::time::Instant::now());
        }
        due
    };
    loop {
        let accepted = tokio::select! {
            biased;
            () = shutdown.as_mut() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of file descriptors or memory: the connection waits
                // in the backlog; try again shortly.
                if warn_now() {
                    tracing::warn!(error.message = %e, open = open.load(Ordering::Relaxed), "accept failed; retrying");
                }
                tokio::select! {
                    biased;
                    () = shutdown.as_mut() => break,
                    () = tokio::time::sleep(Duration::from_millis(50)) => continue,
                }
            }
        };
        if open.load(Ordering::Relaxed) >= max {
            if record_requests {
                crate::metrics::connection_rejected();
            }
            if warn_now() {
                tracing::warn!(max_connections = max, "connection limit reached; closing new connections at once");
            }
            let _ = stream.try_write(REFUSED);
            drop(stream);
            continue;
        }
        open.fetch_add(1, Ordering::Relaxed);
        if record_requests {
            crate::metrics::connection_opened(true);
        }
        let guard = ConnGuard { open: Arc::clone(&open), counted: record_requests, _done: done_rx.clone() };
        tokio::spawn(serve_connection(stream, peer, router.clone(), Arc::clone(&cfg), stage_rx.clone(), guard));
    }
    drop(listener);
    drop(done_rx);
    tracing::info!(
        open = open.load(Ordering::Relaxed),
        drain_timeout_s = limits.drain_timeout.as_secs_f64(),
        "stopped accepting; draining connections"
    );
    let _ = stage_tx.send(Stage::Draining);
    if tokio::time::timeout(limits.drain_timeout, done_tx.closed()).await.is_err() {
        tracing::warn!(open = open.load(Ordering::Relaxed), "drain timeout reached; closing the remaining connections");
        let _ = stage_tx.send(Stage::Closing);
        // Each connection closes at its task's next turn.
        let _ = tokio::time::timeout(Duration::from_secs(5), done_tx.closed()).await;
    }
    Ok(())
}

/// Serves one connection until it ends, runs out of time, or shutdown
/// closes it.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    cfg: Arc<ConnConfig>,
    mut stage: watch::Receiver<Stage>,
    guard: ConnGuard,
) {
    let track = Arc::new(ConnTrack::new(Arc::clone(&cfg)));
    let io = TokioIo::new(TrackedIo { inner: stream, track: Arc::clone(&track) });
    let service = ConnService { router, peer, track: Arc::clone(&track) };
    let mut conn = pin!(cfg.http1.serve_connection(io, service));
    let mut timer = pin!(tokio::time::sleep_until(track.first_check()));
    let mut draining = false;
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error.message = %e, %peer, "connection ended with an error");
                }
                break;
            }
            () = timer.as_mut() => match track.check(Instant::now()) {
                Check::Again(at) => timer.as_mut().reset(at),
                Check::Expired(phase) => {
                    crate::metrics::http_timeout(phase);
                    tracing::debug!(%peer, phase, "connection timed out; closing it");
                    break;
                }
            },
            changed = stage.changed() => {
                let now = if changed.is_ok() { *stage.borrow_and_update() } else { Stage::Closing };
                match now {
                    Stage::Draining if !draining => {
                        draining = true;
                        conn.as_mut().graceful_shutdown();
                    }
                    Stage::Closing => break,
                    _ => {}
                }
            }
        }
    }
    drop(guard);
}

/// Errors that concern only the connection being accepted.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(header: u64, idle: u64, body: u64) -> Arc<ConnConfig> {
        let limits = HttpLimits {
            header_timeout: Duration::from_millis(header),
            idle_timeout: Some(Duration::from_millis(idle)),
            body_timeout: Duration::from_millis(body),
            ..HttpLimits::default()
        };
        Arc::new(ConnConfig::new(&limits, false))
    }

    #[test]
    fn a_new_connection_must_send_its_head_within_the_header_timeout() {
        let track = ConnTrack::new(cfg(1000, 5000, 3000));
        let start = track.cfg.epoch;
        assert!(matches!(track.check(start + Duration::from_millis(500)), Check::Again(_)));
        track.bytes_arrived(); // the first request's clock runs from accept
        assert!(matches!(track.check(start + Duration::from_millis(1001)), Check::Expired("header")));
    }

    #[test]
    fn an_idle_connection_gets_the_idle_timeout_then_the_header_timeout_from_its_first_byte() {
        let track = ConnTrack::new(cfg(1000, 5000, 3000));
        track.request_started(true);
        let far = Instant::now() + Duration::from_secs(3600);
        assert!(matches!(track.check(far), Check::Again(_)), "a request in progress has no deadline");
        track.response_finished();
        let idle_since = Instant::now();
        assert!(matches!(track.check(idle_since + Duration::from_millis(4000)), Check::Again(_)));
        assert!(matches!(track.check(idle_since + Duration::from_millis(5100)), Check::Expired("idle")));
        track.bytes_arrived();
        let head_since = Instant::now();
        assert!(matches!(track.check(head_since + Duration::from_millis(900)), Check::Again(_)));
        assert!(matches!(track.check(head_since + Duration::from_millis(1100)), Check::Expired("header")));
    }

    #[test]
    fn a_late_body_fails_but_the_connection_stays() {
        let track = ConnTrack::new(cfg(1000, 5000, 3000));
        track.request_started(false);
        let t = Instant::now();
        assert!(matches!(track.check(t + Duration::from_millis(2900)), Check::Again(_)));
        assert!(matches!(track.check(t + Duration::from_millis(3100)), Check::Again(_)));
        assert!(track.body_expired.load(Ordering::Relaxed));
        track.request_started(false);
        assert!(!track.body_expired.load(Ordering::Relaxed), "the next request starts afresh");
        track.body_finished();
        assert!(matches!(track.check(t + Duration::from_secs(3600)), Check::Again(_)));
    }

    #[test]
    fn the_first_look_comes_no_later_than_the_shortest_timeout() {
        let track = ConnTrack::new(cfg(10_000, 10_000, 1000));
        assert!(track.first_check() <= Instant::now() + Duration::from_millis(1000));
    }

    #[test]
    fn the_timer_never_sleeps_past_a_deadline_set_later() {
        let track = ConnTrack::new(cfg(1000, 60_000, 3000));
        track.request_started(true);
        track.response_finished();
        let Check::Again(at) = track.check(Instant::now()) else { panic!("not expired") };
        assert!(at <= Instant::now() + Duration::from_millis(1000), "looks again within the shortest timeout");
    }

    #[test]
    fn the_connection_limit_fits_the_open_file_limit() {
        let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).expect("getrlimit");
        let n = max_connections(usize::MAX);
        assert!(u64::try_from(n).expect("fits") < soft);
        assert_eq!(max_connections(10), 10.min(n));
    }
}
