//! Notification delivery: a loop around a public, testable step.
//!
//! [`Notifier::run_once`] claims due outbox rows (with a lease, so no two
//! workers send the same attempt at once) and starts one delivery task per
//! row, bounded by a semaphore. Each delivery has its own timeout, so a
//! hanging merchant never blocks the others. Every attempt is recorded
//! (time, HTTP status, answer excerpt, latency) and rescheduled by the pure
//! [`RetrySchedule`], unless the row is delivered once
//! ([`crate::domain::Delivery::Once`]). The notifier only notifies: expiry
//! and apply-refund completion are the [`crate::sweeper`]'s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use vmp_protocol::Params;
use vmp_protocol::notify::is_ack_success;
use vmp_protocol::retry::RetrySchedule;
use vmp_protocol::sign::sign_in_place;
use vmp_protocol::vmptime::format_time;

use crate::config::Mode;
use crate::domain::{AttemptOutcome, AttemptRecord, Notification};
use crate::faults::DeliveryFault;
use crate::netguard::{self, GuardedResolver, HostResolver, SystemResolver};
use crate::state::AppState;
use crate::store::StoreError;

/// Delivery tuning.
#[derive(Clone)]
pub struct NotifierSettings {
    /// When to retry.
    pub schedule: RetrySchedule,
    /// Per-attempt timeout (connect + answer).
    pub timeout: Duration,
    /// Most deliveries in flight at once.
    pub max_in_flight: usize,
    /// How often to look for due work when nothing wakes the loop.
    pub poll_interval: Duration,
    /// Name resolution for merchant hosts (tests inject their own).
    pub resolver: Arc<dyn HostResolver>,
}

impl std::fmt::Debug for NotifierSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifierSettings")
            .field("schedule", &self.schedule)
            .field("timeout", &self.timeout)
            .field("max_in_flight", &self.max_in_flight)
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

impl Default for NotifierSettings {
    fn default() -> Self {
        Self {
            schedule: RetrySchedule::default(),
            timeout: Duration::from_secs(10),
            max_in_flight: 256,
            poll_interval: Duration::from_millis(500),
            resolver: Arc::new(SystemResolver),
        }
    }
}

/// Most characters of a merchant's answer kept in the attempt log.
pub(crate) const EXCERPT_MAX: usize = 256;

/// Sends owed notifications.
pub struct Notifier {
    state: AppState,
    http: reqwest::Client,
    settings: NotifierSettings,
    permits: Arc<Semaphore>,
    in_flight: JoinSet<()>,
}

impl Notifier {
    /// A notifier for `state`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(state: AppState, settings: NotifierSettings) -> anyhow::Result<Self> {
        let http = http_client(&settings, state.mode())?;
        let permits = Arc::new(Semaphore::new(settings.max_in_flight.max(1)));
        Ok(Self { state, http, settings, permits, in_flight: JoinSet::new() })
    }

    /// One step: start delivering whatever is due. Returns the number of
    /// deliveries started.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn run_once(&mut self) -> Result<usize, StoreError> {
        while self.in_flight.try_join_next().is_some() {}
        let free = self.permits.available_permits();
        if free == 0 {
            return Ok(0);
        }
        let now = self.state.clock().now().unix_timestamp();
        // The lease outlives the attempt's own timeout by a wide margin; if
        // this instance dies mid-delivery, another takes over after it.
        let lease = now + i64::try_from(self.settings.timeout.as_secs()).unwrap_or(60).saturating_mul(3).max(5);
        let rows = self.state.store().claim_notifications(now, lease, i64::try_from(free).unwrap_or(64)).await?;
        let started = rows.len();
        for row in rows {
            let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else { break };
            let (state, http, schedule) = (self.state.clone(), self.http.clone(), self.settings.schedule.clone());
            self.in_flight.spawn(async move {
                deliver(&state, &http, &schedule, row).await;
                drop(permit);
                // A free slot: look for more due work now, not at the next poll.
                state.wake_notifier();
            });
        }
        Ok(started)
    }

    /// Waits for every delivery in flight to finish.
    pub async fn drain(&mut self) {
        while self.in_flight.join_next().await.is_some() {}
    }

    /// Runs until `shutdown` turns true; then lets in-flight deliveries
    /// finish (each is bounded by its timeout).
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let wake = self.state.notifier_wake();
        loop {
            if *shutdown.borrow() {
                break;
            }
            if let Err(e) = self.run_once().await {
                crate::metrics::database_error("notifier");
                if e.is_outage() {
                    tracing::debug!(error.message = %e, "notifier step failed: the store is down; backing off");
                } else {
                    tracing::error!(error.message = %e, error.cause_chain = ?e, "notifier step failed; backing off");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
        self.drain().await;
    }
}

/// The HTTP client every notification goes out with (the console's test
/// notifications too).
///
/// # Errors
/// When the client cannot be built.
pub fn http_client(settings: &NotifierSettings, mode: Mode) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        // Never follow a redirect: the merchant's URL is the only target.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("OpenVMP/", env!("CARGO_PKG_VERSION")))
        // Every hostname goes through the guard; in production it drops
        // private, loopback and link-local addresses at connect time.
        .dns_resolver(Arc::new(GuardedResolver::new(Arc::clone(&settings.resolver), mode == Mode::Production)))
        .build()
}

/// Stores an attempt; a failure is logged (the lease then runs out and the
/// row is tried again).
async fn record(state: &AppState, attempt: AttemptRecord) {
    let id = attempt.notification_id;
    crate::metrics::notification_attempt(
        attempt.outcome.as_str(),
        attempt.outcome != crate::domain::AttemptOutcome::Delivered && attempt.retry_at.is_none(),
    );
    if let Err(e) = state.store().record_attempt(attempt).await {
        // Also when the store is down: the attempt itself is lost, and the
        // notification will be sent again.
        tracing::error!(notification = id, error.message = %e, "could not record a notification attempt");
    }
}

/// Wakes the notifier early (new outbox row, clock moved).
pub type Wake = Arc<Notify>;

async fn deliver(state: &AppState, http: &reqwest::Client, schedule: &RetrySchedule, row: Notification) {
    let attempt = row.attempts + 1;
    let now = state.clock().now();
    let next_retry = || row.retry_at(attempt, now.unix_timestamp(), schedule);
    // What cannot be sent is still recorded as an attempt, so the row runs
    // out its schedule (or stops) instead of being leased again forever.
    let unsent = |excerpt: String, retry_at: Option<i64>| AttemptRecord {
        notification_id: row.id,
        attempt,
        attempted_at: now.unix_timestamp(),
        http_status: None,
        latency_ms: 0,
        outcome: AttemptOutcome::Error,
        excerpt,
        body: None,
        retry_at,
    };
    let merchant = match state.merchant(row.user_confirm_key.as_str()).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            tracing::error!(notification = row.id, merchant = %row.user_confirm_key, "merchant of a queued notification is missing");
            record(state, unsent("merchant not found".to_owned(), next_retry())).await;
            return;
        }
        Err(e) => {
            // The store is failing: the lease runs out and the row is tried again.
            tracing::error!(notification = row.id, error.message = %e, "could not read the merchant of a notification; will retry");
            return;
        }
    };
    let mut message = match Params::from_json(row.payload.as_bytes()) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(notification = row.id, error.message = %e, "stored notification payload unreadable; giving up");
            record(state, unsent(format!("stored payload unreadable: {e}"), None)).await;
            return;
        }
    };
    // During a secret rotation: the old secret until promotion or the
    // overlap's end, then the new one.
    let at = now.unix_timestamp();
    message.set("time", format_time(now));
    sign_in_place(merchant.sending_secret(at).expose_secret(), &mut message);

    // A relative notify_url (the qrcode scene accepts one, as an Odoo
    // point-of-sale module sends it) names no host: recorded, never sent.
    let Ok(target) = url::Url::parse(&row.url) else {
        tracing::warn!(notification = row.id, eft_trade_no = %row.eft_trade_no, "notify_url is not an absolute URL; undeliverable");
        record(state, unsent("undeliverable: notify_url is not an absolute URL".to_owned(), None)).await;
        return;
    };
    if state.mode() == Mode::Production {
        // IP literals never reach the resolver: check them (and the port rule) here.
        if let Some(reason) = netguard::check_url(&target, &merchant.allowed_ports).err().map(|e| e.to_string()) {
            tracing::warn!(notification = row.id, eft_trade_no = %row.eft_trade_no, %reason, "notification target refused; giving up");
            record(state, unsent(format!("blocked: {reason}"), None)).await;
            return;
        }
    }

    // Sandbox fault rules (crate::faults): hold back, drop, sign wrongly or
    // send twice. One atomic load when the merchant has no rule.
    let fault = crate::faults::plan_delivery(state, &row, &mut message, now).await;
    match &fault {
        DeliveryFault::Held(_) => return,
        DeliveryFault::Dropped(note) => return record(state, unsent(format!("[{note}] not sent"), next_retry())).await,
        _ => {}
    }

    let started = Instant::now();
    let body = message.to_json();
    let again = matches!(fault, DeliveryFault::Twice(_)).then(|| body.clone());
    let (mut http_status, mut outcome, mut excerpt) = send(http, &row.url, body.clone(), &merchant, at).await;
    if let Some(body) = again {
        // The same notification again at once; its answer is the one that counts.
        let first = format!("first: {} {excerpt}", http_status.map_or_else(|| "-".to_owned(), |s| s.to_string()));
        (http_status, outcome, excerpt) = send(http, &row.url, body, &merchant, at).await;
        excerpt = format!("second: {excerpt}; {first}");
    }
    if let Some(note) = fault.note() {
        excerpt = format!("[{note}] {excerpt}").chars().take(EXCERPT_MAX).collect();
    }
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let retry_at = if outcome == AttemptOutcome::Delivered { None } else { next_retry() };
    tracing::info!(notification = row.id, eft_trade_no = %row.eft_trade_no, attempt, outcome = outcome.as_str(), http_status, latency_ms, retry_at, injected = fault.note(), "notification attempt");
    // Not recorded: the lease expires and the attempt is made again (at least once).
    let attempt = AttemptRecord {
        notification_id: row.id,
        attempt,
        attempted_at: now.unix_timestamp(),
        http_status,
        latency_ms,
        outcome,
        excerpt,
        // What was sent (the console shows it and can send it again).
        body: Some(body),
        retry_at,
    };
    record(state, attempt).await;
}

/// POSTs one attempt: the HTTP status, the outcome and an excerpt of the
/// answer (or what went wrong). An acknowledgement may be signed with any
/// secret `merchant` accepts at `at` (either, during a rotation's overlap).
async fn send(
    http: &reqwest::Client,
    url: &str,
    body: String,
    merchant: &crate::merchant::Merchant,
    at: i64,
) -> (Option<i64>, AttemptOutcome, String) {
    match http.post(url).header("content-type", "application/json").body(body).send().await {
        Ok(resp) => {
            let status = resp.status();
            let body = read_limited(resp).await;
            let acked = status.is_success()
                && merchant.accepted_secrets(at).any(|s| is_ack_success(&body, Some(s.expose_secret())));
            let excerpt: String = String::from_utf8_lossy(&body).chars().take(EXCERPT_MAX).collect();
            let outcome = if acked { AttemptOutcome::Delivered } else { AttemptOutcome::Rejected };
            (Some(i64::from(status.as_u16())), outcome, excerpt)
        }
        Err(e) => (None, AttemptOutcome::Error, send_error(&e).to_owned()),
    }
}

/// What a failed send is called in the attempt log.
pub(crate) fn send_error(e: &reqwest::Error) -> &'static str {
    if netguard::is_blocked(e) {
        "blocked: resolves only to private, loopback or link-local addresses"
    } else if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect error"
    } else {
        "request error"
    }
}

/// Reads at most a few KiB of the answer; the rest is ignored.
pub(crate) async fn read_limited(mut resp: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= 4096 {
            break;
        }
    }
    body
}
