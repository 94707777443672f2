//! The load driver: `concurrency` workers, each owning one keep-alive
//! HTTP/1.1 connection, take pre-built requests from a shared counter
//! until a count or a deadline is reached, and record every latency in an
//! HDR histogram. What an answer means is left to an [`Inspect`] callback.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Longest a single request may take before its connection is dropped.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Highest latency the histograms track (larger values are clamped).
const LATENCY_MAX_US: u64 = 60_000_000;

/// Where the gateway is.
#[derive(Debug, Clone)]
pub struct Target {
    /// Resolved address.
    pub addr: SocketAddr,
    /// `Host` header value.
    pub host: HeaderValue,
    /// Path prefix of the base URL (empty or `/something`, no trailing slash).
    pub prefix: String,
}

impl Target {
    /// Parses an `http://host:port[/prefix]` base URL and resolves it.
    pub async fn resolve(base_url: &str) -> anyhow::Result<Self> {
        let url = url::Url::parse(base_url).map_err(|e| anyhow!("invalid --base-url {base_url:?}: {e}"))?;
        if url.scheme() != "http" {
            anyhow::bail!("--base-url must be http:// (the bench speaks plain HTTP/1.1)");
        }
        let host = url.host_str().ok_or_else(|| anyhow!("--base-url has no host"))?.to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        let addr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .with_context(|| format!("resolving {host}"))?
            .next()
            .ok_or_else(|| anyhow!("{host} resolves to no address"))?;
        let host_header = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let host = HeaderValue::from_str(&host_header).map_err(|_| anyhow!("--base-url host is not a valid header"))?;
        let prefix = url.path().trim_end_matches('/').to_owned();
        Ok(Self { addr, host, prefix })
    }

    /// The URI of `path` (which starts with `/`) under the base URL.
    pub fn uri(&self, path: &str) -> anyhow::Result<Uri> {
        format!("{}{path}", self.prefix).parse().map_err(|e| anyhow!("invalid request path {path:?}: {e}"))
    }

    /// Opens one keep-alive HTTP/1.1 connection.
    pub async fn connect(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(self.addr))
            .await
            .map_err(|_| anyhow!("connecting to {} timed out", self.addr))?
            .with_context(|| format!("connecting to {}", self.addr))?;
        stream.set_nodelay(true).context("setting TCP_NODELAY")?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .with_context(|| format!("HTTP handshake with {}", self.addr))?;
        tokio::spawn(async move {
            // Ends when the worker drops its sender or the peer closes.
            let _ = conn.await;
        });
        Ok(sender)
    }
}

/// One pre-built request.
#[derive(Debug, Clone)]
pub struct Req {
    /// GET or POST.
    pub method: Method,
    /// Path (origin form) under the base URL.
    pub uri: Uri,
    /// Body (empty for GET); sent as `application/json` when not empty.
    pub body: Bytes,
}

/// What the workers send.
pub enum Source {
    /// The same request again and again (the no-op ceiling).
    Repeat(Req),
    /// Request `i` of a pre-built list; a phase ends when it runs out.
    List(Arc<Vec<Req>>),
}

impl Source {
    fn get(&self, i: usize) -> Option<&Req> {
        match self {
            Source::Repeat(r) => Some(r),
            Source::List(v) => v.get(i),
        }
    }

    fn len(&self) -> Option<usize> {
        match self {
            Source::Repeat(_) => None,
            Source::List(v) => Some(v.len()),
        }
    }
}

/// When a phase stops: after `count` requests, at `duration`, or when a
/// [`Source::List`] runs out, whichever comes first.
#[derive(Debug, Clone, Copy)]
pub struct Stop {
    /// Most requests to send.
    pub count: Option<usize>,
    /// Longest the phase may run.
    pub duration: Option<Duration>,
}

/// What one answer meant, as decided by the phase's [`Inspect`].
pub struct Answer {
    /// The class it is counted under (e.g. the `return_status`).
    pub label: String,
    /// An identifier to collect (e.g. the `eft_trade_no` of an accepted order).
    pub id: Option<String>,
}

/// Judges one answer: request index, when it was sent, HTTP status, body.
pub type Inspect = Arc<dyn Fn(usize, Instant, u16, &[u8]) -> Answer + Send + Sync>;

/// The result of one phase.
pub struct PhaseResult {
    /// Answers received (any status).
    pub completed: u64,
    /// Requests that got no answer (connection error, timeout).
    pub transport_errors: u64,
    /// Wall time from the start signal until the last worker finished.
    pub elapsed: Duration,
    /// Latency of every answered request, in microseconds.
    pub histogram: Histogram<u64>,
    /// Answers by label.
    pub labels: BTreeMap<String, u64>,
    /// Collected ids with their request index.
    pub ids: Vec<(usize, String)>,
    /// Whether a list source ran out before the deadline.
    pub exhausted: bool,
}

impl PhaseResult {
    /// Answers per second.
    pub fn per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.completed as f64 / secs } else { 0.0 }
    }
}

struct WorkerResult {
    completed: u64,
    transport_errors: u64,
    histogram: Histogram<u64>,
    labels: BTreeMap<String, u64>,
    ids: Vec<(usize, String)>,
}

fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, LATENCY_MAX_US, 3).map_err(|e| anyhow!("histogram: {e}"))
}

/// Runs one phase: connects `concurrency` connections, then releases all
/// workers at once. `progress` counts answered requests as they come.
pub async fn run(
    target: &Target,
    source: Source,
    stop: Stop,
    concurrency: usize,
    inspect: Inspect,
    progress: Arc<AtomicU64>,
) -> anyhow::Result<PhaseResult> {
    let concurrency = concurrency.max(1);
    let mut conns = Vec::with_capacity(concurrency);
    let mut connecting = JoinSet::new();
    for _ in 0..concurrency {
        let t = target.clone();
        connecting.spawn(async move { t.connect().await });
    }
    while let Some(c) = connecting.join_next().await {
        conns.push(c.context("connect task failed")??);
    }
    let limit = match (stop.count, source.len()) {
        (Some(c), Some(l)) => c.min(l),
        (Some(c), None) => c,
        (None, Some(l)) => l,
        (None, None) => usize::MAX,
    };
    let source = Arc::new(source);
    let next = Arc::new(AtomicUsize::new(0));
    let (start_tx, start_rx) = watch::channel(None::<Instant>);
    let mut workers = JoinSet::new();
    for conn in conns {
        let w = Worker {
            target: target.clone(),
            source: Arc::clone(&source),
            next: Arc::clone(&next),
            limit,
            duration: stop.duration,
            inspect: Arc::clone(&inspect),
            progress: Arc::clone(&progress),
        };
        let rx = start_rx.clone();
        workers.spawn(w.run(conn, rx));
    }
    let started = Instant::now();
    start_tx.send_replace(Some(started));
    let mut total = WorkerResult {
        completed: 0,
        transport_errors: 0,
        histogram: new_histogram()?,
        labels: BTreeMap::new(),
        ids: Vec::new(),
    };
    let mut first_error = None;
    while let Some(done) = workers.join_next().await {
        match done.context("bench worker panicked")? {
            Ok(r) => {
                total.completed += r.completed;
                total.transport_errors += r.transport_errors;
                total.histogram.add(&r.histogram).map_err(|e| anyhow!("merging histograms: {e}"))?;
                for (k, v) in r.labels {
                    *total.labels.entry(k).or_default() += v;
                }
                total.ids.extend(r.ids);
            }
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    let elapsed = started.elapsed();
    if let Some(e) = first_error {
        return Err(e);
    }
    let claimed = next.load(Ordering::Relaxed);
    let exhausted = source.len().is_some_and(|l| claimed >= l && stop.count.is_none_or(|c| c > l));
    total.ids.sort_unstable_by_key(|(i, _)| *i);
    Ok(PhaseResult {
        completed: total.completed,
        transport_errors: total.transport_errors,
        elapsed,
        histogram: total.histogram,
        labels: total.labels,
        ids: total.ids,
        exhausted,
    })
}

struct Worker {
    target: Target,
    source: Arc<Source>,
    next: Arc<AtomicUsize>,
    limit: usize,
    duration: Option<Duration>,
    inspect: Inspect,
    progress: Arc<AtomicU64>,
}

impl Worker {
    async fn run(
        self,
        mut conn: SendRequest<Full<Bytes>>,
        mut start: watch::Receiver<Option<Instant>>,
    ) -> anyhow::Result<WorkerResult> {
        let started = match start.wait_for(Option::is_some).await {
            Ok(v) => v.unwrap_or_else(Instant::now),
            Err(_) => anyhow::bail!("bench coordinator went away"),
        };
        let deadline = self.duration.map(|d| started + d);
        let mut out = WorkerResult {
            completed: 0,
            transport_errors: 0,
            histogram: new_histogram()?,
            labels: BTreeMap::new(),
            ids: Vec::new(),
        };
        loop {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.limit {
                break;
            }
            let Some(req) = self.source.get(i) else { break };
            let sent = Instant::now();
            match tokio::time::timeout(REQUEST_TIMEOUT, send(&mut conn, &self.target, req)).await {
                Ok(Ok((status, body))) => {
                    let latency = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                    out.histogram.saturating_record(latency.clamp(1, LATENCY_MAX_US));
                    let answer = (self.inspect)(i, sent, status, &body);
                    match out.labels.get_mut(answer.label.as_str()) {
                        Some(n) => *n += 1,
                        None => {
                            out.labels.insert(answer.label, 1);
                        }
                    }
                    if let Some(id) = answer.id {
                        out.ids.push((i, id));
                    }
                    out.completed += 1;
                    self.progress.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Err(_)) | Err(_) => {
                    // The request may or may not have reached the gateway;
                    // the store count tells. Start over on a fresh connection.
                    out.transport_errors += 1;
                    match self.target.connect().await {
                        Ok(c) => conn = c,
                        Err(_) => {
                            *out.labels.entry("connection lost".to_owned()).or_default() += 1;
                            break;
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

async fn send(conn: &mut SendRequest<Full<Bytes>>, target: &Target, req: &Req) -> anyhow::Result<(u16, Bytes)> {
    conn.ready().await?;
    let mut builder = Request::builder().method(req.method.clone()).uri(req.uri.clone()).header(HOST, &target.host);
    if !req.body.is_empty() {
        builder = builder.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    let request = builder.body(Full::new(req.body.clone()))?;
    let response = conn.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// p50/p90/p99/max/mean of a histogram, in microseconds.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Latency {
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Largest.
    pub max_us: u64,
    /// Mean.
    pub mean_us: f64,
}

impl Latency {
    /// Summarises `h`.
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self { p50_us: 0, p90_us: 0, p99_us: 0, max_us: 0, mean_us: 0.0 };
        }
        Self {
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            max_us: h.max(),
            mean_us: h.mean(),
        }
    }
}
