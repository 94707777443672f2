//! Prometheus metrics: their names, their labels, and the recorder.
//!
//! Nothing is recorded unless [`install`] ran (`--metrics-listen`): every
//! function here first checks one relaxed atomic, so a gateway without a
//! metrics listener pays nothing else.
//!
//! Label values come from fixed sets only: `endpoint` from `Endpoint`,
//! `service` from the protocol catalogue (anything else is `other`; a
//! request without one is `none`), `return_status` from the VMP codes.
//!
//! Request metrics are recorded in one place, the HTTP listener
//! (`crate::listener`), when a response is ready. The handler side only
//! notes two labels into a per-request slot: the `service` it dispatched on
//! (`note_service`) and the `return_status` it rendered
//! (`note_return_status`).

use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex, RwLock};
use std::time::{Duration, Instant};

use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests answered, by `endpoint`, `service` and `return_status`.
pub const REQUESTS_TOTAL: &str = "vmp_requests_total";
/// Time from a request's headers to its response, by `endpoint`.
pub const REQUEST_DURATION: &str = "vmp_request_duration_seconds";
/// Connections being served.
pub const CONNECTIONS_OPEN: &str = "vmp_http_connections_open";
/// Connections accepted and closed at once because the limit was reached.
pub const CONNECTIONS_REJECTED: &str = "vmp_http_connections_rejected_total";
/// Connections closed (or bodies failed) for taking too long, by `phase`
/// (`header`, `idle`, `body`).
pub const HTTP_TIMEOUTS: &str = "vmp_http_timeouts_total";
/// Writes per group commit.
pub const COMMIT_BATCH_SIZE: &str = "vmp_store_commit_batch_size";
/// Time of one group commit (the batch's transaction).
pub const COMMIT_DURATION: &str = "vmp_store_commit_duration_seconds";
/// Database errors, by `source` (`writer`, `request`, `notifier`,
/// `readiness`, `metrics`).
pub const DATABASE_ERRORS: &str = "vmp_database_errors_total";
/// Notification delivery attempts, by `outcome` (`delivered`, `rejected`, `error`).
pub const NOTIFICATION_ATTEMPTS: &str = "vmp_notification_attempts_total";
/// Notifications given up (schedule exhausted, or refused for good).
pub const NOTIFICATIONS_GIVEN_UP: &str = "vmp_notifications_given_up_total";
/// Notifications owed (not yet delivered nor given up).
pub const NOTIFICATIONS_OWED: &str = "vmp_notifications_owed";
/// Age of the oldest owed notification (0 when none is owed).
pub const NOTIFICATIONS_OLDEST_AGE: &str = "vmp_notifications_oldest_owed_age_seconds";

/// How often histograms are folded (see [`install`]).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static ENABLED: AtomicBool = AtomicBool::new(false);
static HANDLE: Mutex<Option<PrometheusHandle>> = Mutex::new(None);

/// Whether a recorder is installed.
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Installs the process-wide Prometheus recorder (once; later calls return
/// the same handle) and starts its upkeep thread.
///
/// Histogram samples wait in a queue until they are folded into buckets,
/// which a scrape does; the upkeep thread folds them every few seconds, so
/// memory stays bounded when nobody scrapes.
///
/// # Errors
/// When another metrics recorder is already installed in this process.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    let mut slot = HANDLE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(handle) = slot.as_ref() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.into()), LATENCY_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(COMMIT_DURATION.into()), LATENCY_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(COMMIT_BATCH_SIZE.into()), BATCH_BUCKETS)?
        .install_recorder()?;
    describe();
    let upkeep = handle.clone();
    std::thread::Builder::new().name("vmp-metrics-upkeep".into()).spawn(move || {
        loop {
            std::thread::sleep(UPKEEP_EVERY);
            upkeep.run_upkeep();
        }
    })?;
    *slot = Some(handle.clone());
    ENABLED.store(true, Ordering::Relaxed);
    Ok(handle)
}

/// Seconds: 0.5 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Writes per commit: powers of two up to the largest `max_batch`.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0];

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(REQUESTS_TOTAL, "Requests answered, by endpoint, service and return_status.");
    describe_histogram!(REQUEST_DURATION, Unit::Seconds, "Time from a request's headers to its response.");
    describe_gauge!(CONNECTIONS_OPEN, "HTTP connections being served.");
    describe_counter!(CONNECTIONS_REJECTED, "Connections closed at once because --max-connections was reached.");
    describe_counter!(HTTP_TIMEOUTS, "Connections closed, or bodies failed, for taking too long, by phase.");
    describe_histogram!(COMMIT_BATCH_SIZE, "Writes per group commit.");
    describe_histogram!(COMMIT_DURATION, Unit::Seconds, "Time of one group commit.");
    describe_counter!(DATABASE_ERRORS, "Database errors, by source.");
    describe_counter!(NOTIFICATION_ATTEMPTS, "Notification delivery attempts, by outcome.");
    describe_counter!(NOTIFICATIONS_GIVEN_UP, "Notifications given up.");
    describe_gauge!(NOTIFICATIONS_OWED, "Notifications not yet delivered nor given up.");
    describe_gauge!(NOTIFICATIONS_OLDEST_AGE, Unit::Seconds, "Age of the oldest owed notification.");
}

/// The endpoints requests are counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST /VMP/Servlet/JSAPIService.do`.
    JsApi,
    /// `POST /VMP/Servlet/QRcodeTradeQuery.do`.
    TradeQuery,
    /// The other servlets of the API (`QRcodeTradeCancel.do`, `AppTradePay.do`, …).
    Servlet,
    /// The hosted pay pages.
    PayPage,
    /// `/sandbox/…`.
    Sandbox,
    /// `/healthz`.
    Healthz,
    /// `/readyz`.
    Readyz,
    /// `/metrics` (the metrics listener).
    Metrics,
    /// Anything else (404s).
    Other,
}

impl Endpoint {
    const ALL: [Endpoint; 9] = [
        Endpoint::JsApi,
        Endpoint::TradeQuery,
        Endpoint::Servlet,
        Endpoint::PayPage,
        Endpoint::Sandbox,
        Endpoint::Healthz,
        Endpoint::Readyz,
        Endpoint::Metrics,
        Endpoint::Other,
    ];

    /// The endpoint a request path belongs to.
    pub(crate) fn of_path(path: &str) -> Self {
        match path {
            "/VMP/Servlet/JSAPIService.do" => Self::JsApi,
            "/VMP/Servlet/QRcodeTradeQuery.do" => Self::TradeQuery,
            "/VMP/wap/payPage" | "/VMP/web/payPage" => Self::PayPage,
            "/healthz" => Self::Healthz,
            "/readyz" => Self::Readyz,
            "/metrics" => Self::Metrics,
            p if p.starts_with("/sandbox/") => Self::Sandbox,
            p if p
                .strip_prefix(vmp_protocol::catalogue::SERVLET_PREFIX)
                .is_some_and(|n| vmp_protocol::Endpoint::parse(n).is_some()) =>
            {
                Self::Servlet
            }
            _ => Self::Other,
        }
    }

    /// The label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::JsApi => "jsapi",
            Self::TradeQuery => "trade_query",
            Self::Servlet => "servlet",
            Self::PayPage => "pay_page",
            Self::Sandbox => "sandbox",
            Self::Healthz => "healthz",
            Self::Readyz => "readyz",
            Self::Metrics => "metrics",
            Self::Other => "other",
        }
    }
}

/// The `service` label of a request's `service` parameter: the catalogue's
/// own name when it is one, `other` otherwise.
pub(crate) fn service_label(service: &str) -> &'static str {
    vmp_protocol::Service::from_name(service).map_or("other", vmp_protocol::Service::label)
}

/// Labels a handler notes while it runs (see the module docs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NotedLabels {
    service: &'static str,
    return_status: &'static str,
}

impl Default for NotedLabels {
    fn default() -> Self {
        Self { service: "none", return_status: "none" }
    }
}

tokio::task_local! {
    /// The labels of the request being handled on this task.
    static NOTED: Cell<NotedLabels>;
}

/// Runs `f` (one poll of a request's handler) with `labels` as the
/// request's slot, and keeps what the handler noted.
pub(crate) fn with_request_slot<R>(labels: &mut NotedLabels, f: impl FnOnce() -> R) -> R {
    NOTED.sync_scope(Cell::new(*labels), || {
        let out = f();
        *labels = NOTED.with(Cell::get);
        out
    })
}

/// Notes the `service` a VMP request asked for.
pub(crate) fn note_service(service: Option<&str>) {
    if !enabled() {
        return;
    }
    let label = service.map_or("none", service_label);
    let _ = NOTED.try_with(|slot| slot.set(NotedLabels { service: label, ..slot.get() }));
}

/// Notes the `return_status` a VMP answer carries.
pub(crate) fn note_return_status(code: &'static str) {
    if !enabled() {
        return;
    }
    let _ = NOTED.try_with(|slot| slot.set(NotedLabels { return_status: code, ..slot.get() }));
}

/// A request being timed, from its headers to its response.
#[derive(Debug)]
pub(crate) struct RequestTiming {
    endpoint: Endpoint,
    started: Instant,
    /// Labels noted by the handler so far.
    pub(crate) labels: NotedLabels,
}

impl RequestTiming {
    /// Starts timing a request to `path`, when metrics are on.
    pub(crate) fn start(path: &str) -> Option<Self> {
        enabled().then(|| Self {
            endpoint: Endpoint::of_path(path),
            started: Instant::now(),
            labels: NotedLabels::default(),
        })
    }

    /// Records the request: one count, one latency sample.
    pub(crate) fn finish(self) {
        let elapsed = self.started.elapsed();
        count_request(self.endpoint, self.labels);
        DURATIONS[self.endpoint as usize].record(elapsed.as_secs_f64());
    }
}

/// Label triple of a request counter, by the addresses of its `'static`
/// label strings (equal strings at two addresses only make two cache
/// entries for the same series).
type SeriesKey = (usize, usize, usize, usize, usize);

/// Counters already registered, so a request costs a hash of five words
/// and an atomic add rather than building a key with its label strings.
static COUNTERS: LazyLock<RwLock<HashMap<SeriesKey, Counter, BuildHasherDefault<WordHasher>>>> =
    LazyLock::new(Default::default);

/// A multiply-rotate hash for keys of a few machine words (the label
/// strings' addresses): no client controls them, so no SipHash is needed.
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }
}

/// One latency histogram per endpoint.
static DURATIONS: LazyLock<Vec<Histogram>> = LazyLock::new(|| {
    Endpoint::ALL.iter().map(|e| metrics::histogram!(REQUEST_DURATION, "endpoint" => e.as_str())).collect()
});

/// Counts one request in its series.
fn count_request(endpoint: Endpoint, l: NotedLabels) {
    let key = (
        endpoint as usize,
        l.service.as_ptr() as usize,
        l.service.len(),
        l.return_status.as_ptr() as usize,
        l.return_status.len(),
    );
    if let Some(c) = COUNTERS.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key) {
        c.increment(1);
        return;
    }
    let counter = metrics::counter!(
        REQUESTS_TOTAL,
        "endpoint" => endpoint.as_str(),
        "service" => l.service,
        "return_status" => l.return_status
    );
    counter.increment(1);
    COUNTERS.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, counter);
}

/// The time now, when metrics are on (for [`store_commit`]).
pub(crate) fn now() -> Option<Instant> {
    enabled().then(Instant::now)
}

/// The group-commit histograms, registered once.
static COMMITS: LazyLock<(Histogram, Histogram)> =
    LazyLock::new(|| (metrics::histogram!(COMMIT_DURATION), metrics::histogram!(COMMIT_BATCH_SIZE)));

/// Records one group commit of `batch` writes that started at `started`.
pub(crate) fn store_commit(started: Option<Instant>, batch: usize, ok: bool) {
    let Some(started) = started else { return };
    let (duration, size) = &*COMMITS;
    duration.record(started.elapsed().as_secs_f64());
    // Batches are at most a few thousand writes: exact as f64.
    size.record(batch as f64);
    if !ok {
        database_error("writer");
    }
}

/// Counts a database error seen by `source` (a fixed name).
pub(crate) fn database_error(source: &'static str) {
    if enabled() {
        metrics::counter!(DATABASE_ERRORS, "source" => source).increment(1);
    }
}

/// Counts one notification attempt; `gave_up`: it was the last one.
pub(crate) fn notification_attempt(outcome: &str, gave_up: bool) {
    if !enabled() {
        return;
    }
    let outcome = match outcome {
        "delivered" => "delivered",
        "rejected" => "rejected",
        _ => "error",
    };
    metrics::counter!(NOTIFICATION_ATTEMPTS, "outcome" => outcome).increment(1);
    if gave_up {
        metrics::counter!(NOTIFICATIONS_GIVEN_UP).increment(1);
    }
}

/// Counts a connection closed at once because the limit was reached.
pub(crate) fn connection_rejected() {
    if enabled() {
        metrics::counter!(CONNECTIONS_REJECTED).increment(1);
    }
}

/// Moves the open-connections gauge by one.
pub(crate) fn connection_opened(open: bool) {
    if enabled() {
        let g = metrics::gauge!(CONNECTIONS_OPEN);
        if open { g.increment(1.0) } else { g.decrement(1.0) }
    }
}

/// Counts a timeout in `phase` (`header`, `idle`, `body`).
pub(crate) fn http_timeout(phase: &'static str) {
    if enabled() {
        metrics::counter!(HTTP_TIMEOUTS, "phase" => phase).increment(1);
    }
}

/// How often the owed-notifications gauges are refreshed.
const OWED_EVERY: Duration = Duration::from_secs(10);

/// Refreshes the owed-notifications gauges every few seconds until `stop`
/// turns true. One aggregate query per refresh, however busy the gateway.
pub(crate) async fn refresh_owed(state: crate::AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    if !enabled() {
        return;
    }
    loop {
        match state.store().owed_notifications().await {
            Ok(owed) => {
                let now = state.clock().now().unix_timestamp();
                let age = owed.oldest_created_at.map_or(0, |t| (now - t).max(0));
                // Counts and ages far below 2^53: exact as f64.
                metrics::gauge!(NOTIFICATIONS_OWED).set(owed.count as f64);
                metrics::gauge!(NOTIFICATIONS_OLDEST_AGE).set(age as f64);
            }
            Err(e) => {
                database_error("metrics");
                tracing::warn!(error.message = %e, "could not count owed notifications");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(OWED_EVERY) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// The metrics listener's routes: `GET /metrics`.
pub(crate) fn router(handle: PrometheusHandle) -> axum::Router {
    use axum::http::header;
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            async move { ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()) }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_labels_are_catalogue_names_or_other() {
        for name in vmp_protocol::Service::ALL.iter().filter_map(|s| s.spec().name) {
            assert_eq!(service_label(name), name);
        }
        assert_eq!(service_label("service.common.Query"), "service.common.Query");
        assert_eq!(service_label("service.unified.RefundStatusQuery"), "service.unified.RefundStatusQuery");
        for junk in ["", "x", "service.alipay.wap.preorder", "service.alipay.wap.PreOrder ", &"a".repeat(10_000)] {
            assert_eq!(service_label(junk), "other", "{junk:.20}");
        }
    }

    #[test]
    fn endpoints_come_from_a_fixed_set() {
        assert_eq!(Endpoint::of_path("/VMP/Servlet/JSAPIService.do"), Endpoint::JsApi);
        assert_eq!(Endpoint::of_path("/VMP/web/payPage"), Endpoint::PayPage);
        assert_eq!(Endpoint::of_path("/sandbox/clock"), Endpoint::Sandbox);
        assert_eq!(Endpoint::of_path("/VMP/Servlet/JSAPIService.do/x"), Endpoint::Other);
        assert_eq!(Endpoint::of_path("/VMP/Servlet/AppTradePay.do"), Endpoint::Servlet);
        assert_eq!(Endpoint::of_path("/VMP/Servlet/Nope.do"), Endpoint::Other);
        assert_eq!(Endpoint::of_path("/anything/at/all"), Endpoint::Other);
        for e in Endpoint::ALL {
            assert_eq!(Endpoint::ALL[e as usize], e, "ALL is indexed by discriminant");
        }
    }
}

#[cfg(test)]
mod cost {
    use super::*;

    #[test]
    #[ignore = "a timing probe, not a test: cargo test --release -p vmp-server metrics::cost -- --ignored --nocapture"]
    fn per_request_cost() {
        let _handle = install().expect("recorder");
        let n = 1_000_000u32;
        let t = Instant::now();
        for _ in 0..n {
            let mut timing = RequestTiming::start("/VMP/Servlet/JSAPIService.do").expect("enabled");
            with_request_slot(&mut timing.labels, || {
                note_service(Some("service.alipay.wap.PreOrder"));
                note_return_status("00");
            });
            with_request_slot(&mut timing.labels, || ());
            timing.finish();
        }
        eprintln!("per request: {:?}", t.elapsed() / n);
        let t = Instant::now();
        for _ in 0..n {
            let _ = std::hint::black_box(service_label(std::hint::black_box("service.bocvmp.upi.wap.PreOrder")));
        }
        eprintln!("service_label: {:?}", t.elapsed() / n);
        let t = Instant::now();
        for _ in 0..n {
            count_request(Endpoint::JsApi, NotedLabels { service: "x", return_status: "00" });
        }
        eprintln!("counter: {:?}", t.elapsed() / n);
        let t = Instant::now();
        for _ in 0..n {
            DURATIONS[0].record(0.001);
        }
        eprintln!("histogram: {:?}", t.elapsed() / n);
        let t = Instant::now();
        for _ in 0..n {
            let _ = std::hint::black_box(Instant::now());
        }
        eprintln!("Instant::now: {:?}", t.elapsed() / n);
    }
}
