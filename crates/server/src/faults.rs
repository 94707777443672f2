//! Sandbox fault injection for merchants' CI (docs/protocol.md "Sandbox
//! faults"): per-merchant rules ([`vmp_protocol::faults::FaultRule`]) that
//! change API answers and notification deliveries, and the
//! `X-VMP-Sandbox-Fault` request header.
//!
//! Rules are stored (table `sandbox_faults`) and kept in memory in a
//! [`FaultBook`]: loaded at start, updated by this instance's changes at
//! once and re-read from the store every second ([`keep_fresh`]), so other
//! instances sharing a PostgreSQL store follow. Counted rules are counted
//! down in the store ([`crate::store::Store::consume_fault`]), so "the next
//! N" holds across instances.
//!
//! Where faults apply, each one hook:
//! - requests: `http/jsapi.rs` calls [`inject`] once the request is
//!   authenticated and parsed. It picks the header's fault or the first
//!   rule that fires for the request's operation, records it as
//!   [`Injected`] and, for a `return_status` fault, returns
//!   [`ApiError::Injected`] (signed like a real answer when the code is
//!   `>= 00`; nothing is stored). The servlet then waits [`delay`] and
//!   puts the [`Injected`] on the response ([`mark`]) for the request log.
//! - notifications: `notifier.rs` asks [`plan_delivery`] before each
//!   attempt.
//!
//! With no rule and no header (and in production mode, always) both hooks
//! cost one atomic load.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName};
use axum::response::Response;
use time::OffsetDateTime;
use tokio::sync::watch;
use vmp_protocol::catalogue::Operation;
use vmp_protocol::faults::{AnswerFault, FAULT_HEADER, FaultRule, FaultRuleError, NotificationFault, Trigger};
use vmp_protocol::status::TradeType;
use vmp_protocol::{Params, sign};

use crate::config::Mode;
use crate::domain::Notification;
use crate::error::ApiError;
use crate::merchant::Merchant;
use crate::state::AppState;
use crate::store::StoreError;

/// A fault rule as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFault {
    /// Its id (per store).
    pub id: i64,
    /// The merchant it applies to.
    pub user_confirm_key: String,
    /// What it does.
    pub rule: FaultRule,
    /// Firings left of a counted rule (`None`: a percentage rule).
    pub remaining: Option<i64>,
    /// Created, unix seconds.
    pub created_at: i64,
}

impl StoredFault {
    /// The rule as the sandbox API shows it: its fields plus `id` and
    /// `remaining`.
    pub fn to_spec(&self) -> vmp_protocol::faults::FaultRuleSpec {
        let mut spec = self.rule.to_spec();
        spec.id = Some(self.id);
        spec.remaining = self.remaining.and_then(|r| u64::try_from(r).ok());
        spec
    }
}

/// Why a fault rule could not be added, listed or cleared.
#[derive(Debug, thiserror::Error)]
pub enum FaultAdminError {
    /// Production mode: fault rules do not exist there.
    #[error("not found")]
    NotSandbox,
    /// No merchant with this key.
    #[error("no merchant with user_confirm_key {0:?}")]
    UnknownMerchant(String),
    /// No rule with this id for the merchant.
    #[error("the merchant has no fault rule {0}")]
    UnknownRule(i64),
    /// The rule was refused.
    #[error("{0}")]
    Rule(#[from] FaultRuleError),
    /// The store failed.
    #[error("store error")]
    Store(#[from] StoreError),
}

/// Every merchant's rules in memory, and the notifications rules are
/// holding back.
#[derive(Debug, Default)]
pub struct FaultBook {
    /// Rules in memory, all merchants; 0 makes every hook a no-op.
    active: AtomicUsize,
    /// Bumped by every change this instance makes, so a refresh that read
    /// the store before the change does not undo it.
    generation: AtomicU64,
    rules: RwLock<HashMap<String, Arc<[StoredFault]>>>,
    /// Notifications a delay or reorder rule holds (or held) back, by id.
    held: Mutex<HashMap<i64, Hold>>,
    /// Entries of `held`, read without the lock.
    holding: AtomicUsize,
}

/// What a rule did to a notification that has had no attempt yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Delayed; its postponed attempt is made when it is next claimed.
    Delayed,
    /// A sale held until a later notification of its order was sent, or
    /// until this time (unix seconds).
    Reordered { until: i64, rule: i64 },
}

/// Most notifications remembered as held before the memory starts over.
const HELD_MAX: usize = 100_000;

impl FaultBook {
    /// Whether any rule exists (on this instance's last look).
    pub fn any(&self) -> bool {
        self.active.load(Ordering::Relaxed) > 0
    }

    fn replace_all(&self, faults: Vec<StoredFault>, seen_generation: u64) {
        let mut by_key: HashMap<String, Vec<StoredFault>> = HashMap::new();
        for f in faults {
            by_key.entry(f.user_confirm_key.clone()).or_default().push(f);
        }
        let mut rules = self.rules.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.generation.load(Ordering::SeqCst) != seen_generation {
            return; // changed meanwhile; the next refresh reads the change
        }
        let count = by_key.values().map(Vec::len).sum();
        *rules = by_key.into_iter().map(|(k, v)| (k, Arc::from(v))).collect();
        self.active.store(count, Ordering::Relaxed);
    }

    fn replace_merchant(&self, key: &str, faults: Vec<StoredFault>) {
        let mut rules = self.rules.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::SeqCst);
        if faults.is_empty() {
            rules.remove(key);
        } else {
            rules.insert(key.to_owned(), Arc::from(faults));
        }
        self.active.store(rules.values().map(|r| r.len()).sum(), Ordering::Relaxed);
    }

    fn of(&self, key: &str) -> Option<Arc<[StoredFault]>> {
        if !self.any() {
            return None;
        }
        self.rules.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(key).cloned()
    }

    fn hold(&self, id: i64) -> Option<Hold> {
        if self.holding.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&id).copied()
    }

    fn set_hold(&self, id: i64, hold: Option<Hold>) {
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match hold {
            Some(h) => {
                if held.len() >= HELD_MAX {
                    held.clear();
                }
                held.insert(id, h);
            }
            None => {
                held.remove(&id);
            }
        }
        self.holding.store(held.len(), Ordering::Relaxed);
    }
}

/// Reads every rule from the store into this instance's book.
///
/// # Errors
/// When the store fails.
pub async fn refresh(state: &AppState) -> Result<(), StoreError> {
    if state.mode() != Mode::Sandbox {
        return Ok(());
    }
    let book = state.faults();
    let seen = book.generation.load(Ordering::SeqCst);
    let all = state.store().faults(None).await?;
    book.replace_all(all, seen);
    Ok(())
}

/// Re-reads the rules every second until `stop` turns true (sandbox mode
/// only): rules added, used up or cleared through another instance apply
/// here within a second.
pub async fn keep_fresh(state: AppState, mut stop: watch::Receiver<bool>) {
    if state.mode() != Mode::Sandbox {
        return;
    }
    loop {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        if let Err(e) = refresh(&state).await {
            tracing::warn!(error.message = %e, "could not re-read the sandbox fault rules");
        }
    }
}

async fn known_merchant(state: &AppState, key: &str) -> Result<(), FaultAdminError> {
    if state.mode() != Mode::Sandbox {
        return Err(FaultAdminError::NotSandbox);
    }
    match state.store().merchant(key).await? {
        Some(_) => Ok(()),
        None => Err(FaultAdminError::UnknownMerchant(key.chars().take(40).collect())),
    }
}

async fn reload_merchant(state: &AppState, key: &str) -> Result<Vec<StoredFault>, FaultAdminError> {
    let faults = state.store().faults(Some(key)).await?;
    state.faults().replace_merchant(key, faults.clone());
    Ok(faults)
}

/// Adds a rule for the merchant `key` (sandbox mode only).
///
/// # Errors
/// [`FaultAdminError`]: production mode, unknown merchant, store failure.
pub async fn add(state: &AppState, key: &str, rule: FaultRule) -> Result<StoredFault, FaultAdminError> {
    known_merchant(state, key).await?;
    let stored = state.store().add_fault(key, &rule, state.clock().now().unix_timestamp()).await?;
    reload_merchant(state, key).await?;
    tracing::info!(merchant = key, rule = stored.id, fault = %stored.rule, "sandbox fault rule added");
    Ok(stored)
}

/// The merchant's rules, oldest first (sandbox mode only).
///
/// # Errors
/// As [`add`].
pub async fn list(state: &AppState, key: &str) -> Result<Vec<StoredFault>, FaultAdminError> {
    known_merchant(state, key).await?;
    reload_merchant(state, key).await
}

/// Deletes the merchant's rules, or the one with `id`; how many.
///
/// # Errors
/// As [`add`], and [`FaultAdminError::UnknownRule`] for an `id` the
/// merchant has no rule with.
pub async fn clear(state: &AppState, key: &str, id: Option<i64>) -> Result<u64, FaultAdminError> {
    known_merchant(state, key).await?;
    let cleared = state.store().clear_faults(key, id).await?;
    reload_merchant(state, key).await?;
    if let (Some(id), 0) = (id, cleared) {
        return Err(FaultAdminError::UnknownRule(id));
    }
    tracing::info!(merchant = key, cleared, "sandbox fault rules cleared");
    Ok(cleared)
}

/// Whether a rule fires now: a percentage by chance, a counted rule when
/// the store still had a firing for it.
async fn fires(state: &AppState, fault: &StoredFault) -> bool {
    match fault.rule.trigger {
        Trigger::Percent(p) => {
            let mut b = [0u8; 2];
            getrandom::fill(&mut b).is_ok() && u16::from_le_bytes(b) % 100 < u16::from(p)
        }
        Trigger::Next(_) => match state.store().consume_fault(fault.id).await {
            Ok(Some(left)) => {
                if left == 0 {
                    // Used up: out of this instance's book now, not at the next refresh.
                    let key = &fault.user_confirm_key;
                    if let Err(e) = reload_merchant(state, key).await {
                        tracing::warn!(error.message = %e, "could not re-read the sandbox fault rules");
                    }
                }
                true
            }
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(rule = fault.id, error.message = %e, "could not count a sandbox fault rule down");
                false
            }
        },
    }
}

// ---- answers ----

/// An answer fault that was applied to a request: what the request log
/// shows as `injected: <rule>`. [`mark`] puts it on the response as an
/// extension; `Display` is that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injected {
    /// The rule's id; `None` when it came from the `X-VMP-Sandbox-Fault` header.
    pub rule: Option<i64>,
    /// What it did.
    pub fault: AnswerFault,
}

impl Injected {
    /// How long the answer is held back.
    pub fn delay(&self) -> Duration {
        Duration::from_millis(u64::from(self.fault.delay_ms))
    }
}

impl fmt::Display for Injected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule {
            Some(id) => write!(f, "rule {id}: {}", self.fault),
            None => write!(f, "{FAULT_HEADER}: {}", self.fault),
        }
    }
}

/// [`FAULT_HEADER`] as a header name (lower case, built once).
static FAULT_HEADER_NAME: HeaderName = HeaderName::from_static("x-vmp-sandbox-fault");

/// Reads the `X-VMP-Sandbox-Fault` header of a request. Production mode
/// ignores it (a production gateway never injects a fault).
///
/// # Errors
/// [`ApiError::FaultHeader`] when the header is there but malformed.
pub fn from_headers(state: &AppState, headers: &HeaderMap) -> Result<Option<AnswerFault>, ApiError> {
    let Some(value) = headers.get(&FAULT_HEADER_NAME) else { return Ok(None) };
    if state.mode() != Mode::Sandbox {
        return Ok(None);
    }
    let text = value.to_str().map_err(|_| {
        ApiError::FaultHeader(FaultRuleError::Field { field: "X-VMP-Sandbox-Fault", problem: "not ASCII text".into() })
    })?;
    AnswerFault::parse_header(text).map(Some).map_err(ApiError::FaultHeader)
}

/// Applies the header's fault, or the merchant's first rule that fires
/// for `operation`, to an authenticated, parsed request: records it in
/// `out` and, for a `return_status` fault, refuses the request with it.
///
/// # Errors
/// [`ApiError::Injected`] for a `return_status` fault.
pub async fn inject(
    state: &AppState,
    merchant: &Merchant,
    operation: Operation,
    header: Option<AnswerFault>,
    out: &mut Option<Injected>,
) -> Result<(), ApiError> {
    let injected = match header {
        Some(fault) => Injected { rule: None, fault },
        None => {
            let Some(rules) = state.faults().of(&merchant.key) else { return Ok(()) };
            let mut chosen = None;
            for stored in rules.iter() {
                if let Some(fault) = stored.rule.answers(operation)
                    && fires(state, stored).await
                {
                    chosen = Some(Injected { rule: Some(stored.id), fault: fault.clone() });
                    break;
                }
            }
            let Some(injected) = chosen else { return Ok(()) };
            injected
        }
    };
    tracing::info!(merchant = %merchant.key, operation = operation.as_str(), injected = %injected, "sandbox fault injected");
    let refuse = injected.fault.status.is_some();
    *out = Some(injected.clone());
    if refuse { Err(ApiError::Injected(injected)) } else { Ok(()) }
}

/// Holds the answer back as long as the injected fault says.
pub async fn delay(injected: &Option<Injected>) {
    if let Some(i) = injected
        && i.fault.delay_ms > 0
    {
        tokio::time::sleep(i.delay()).await;
    }
}

/// Puts the injected fault on the response (an extension the request log
/// reads: `response.extensions().get::<Injected>()`).
pub fn mark(mut response: Response, injected: Option<Injected>) -> Response {
    if let Some(i) = injected {
        response.extensions_mut().insert(i);
    }
    response
}

// ---- notifications ----

/// What a rule does to one notification attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryFault {
    /// Send as usual.
    None,
    /// Held back (postponed in the store); no attempt is made or recorded.
    Held(String),
    /// Not sent: recorded as a failed attempt with this text.
    Dropped(String),
    /// Sent with a wrong signature (the message was re-signed).
    BadSign(String),
    /// Sent twice in a row; the second answer counts.
    Twice(String),
}

impl DeliveryFault {
    /// `injected: <rule>` for the log and the attempt's excerpt.
    pub fn note(&self) -> Option<&str> {
        match self {
            Self::None => None,
            Self::Held(n) | Self::Dropped(n) | Self::BadSign(n) | Self::Twice(n) => Some(n),
        }
    }
}

/// The secret a `bad_sign` fault signs with: not the merchant's.
const FORGED_SECRET: &str = "openvmp-sandbox-forged-signature";

fn note(id: i64, fault: NotificationFault) -> String {
    format!("injected: rule {id}: notification {fault}")
}

/// Seconds of gateway time for `ms`, rounded up.
fn seconds(ms: u32) -> i64 {
    i64::from(ms.div_ceil(1000))
}

/// Decides what the merchant's rules do to this attempt of `row`, whose
/// signed `message` is about to be sent (a `bad_sign` fault re-signs it).
/// Delay and reorder rules apply to a notification's first attempt only,
/// drop, duplicate and bad_sign to any attempt.
pub async fn plan_delivery(
    state: &AppState,
    row: &Notification,
    message: &mut Params,
    now: OffsetDateTime,
) -> DeliveryFault {
    let book = state.faults();
    if !book.any() && book.holding.load(Ordering::Relaxed) == 0 {
        return DeliveryFault::None;
    }
    let now = now.unix_timestamp();
    // A held notification is let go (and no delay or reorder applies to it
    // again) once its time has come.
    let held = book.hold(row.id);
    if let Some(Hold::Reordered { until, rule }) = held
        && now < until
        && !later_sent(state, row).await
    {
        postpone(state, row.id, now + 1).await;
        return DeliveryFault::Held(format!("injected: rule {rule}: sale held until its refund is sent"));
    }
    if held.is_some() {
        book.set_hold(row.id, None);
    }
    let Some(rules) = book.of(row.user_confirm_key.as_str()) else { return DeliveryFault::None };
    let first_attempt = row.attempts == 0 && held.is_none();
    let is_sale = message.get("trade_type") == Some(TradeType::Sale.as_str());
    for stored in rules.iter() {
        let Some(fault) = stored.rule.notification_fault() else { continue };
        let applies = match fault {
            NotificationFault::Delay { .. } => first_attempt,
            NotificationFault::Reorder { .. } => first_attempt && is_sale,
            NotificationFault::Drop | NotificationFault::Duplicate | NotificationFault::BadSign => true,
        };
        if !applies || !fires(state, stored).await {
            continue;
        }
        let text = note(stored.id, fault);
        tracing::info!(notification = row.id, eft_trade_no = %row.eft_trade_no, injected = %text, "sandbox fault injected");
        return match fault {
            NotificationFault::Delay { ms } => {
                book.set_hold(row.id, Some(Hold::Delayed));
                postpone(state, row.id, now + seconds(ms)).await;
                DeliveryFault::Held(text)
            }
            NotificationFault::Reorder { hold_ms } => {
                book.set_hold(row.id, Some(Hold::Reordered { until: now + seconds(hold_ms), rule: stored.id }));
                postpone(state, row.id, now + 1).await;
                DeliveryFault::Held(text)
            }
            NotificationFault::Drop => DeliveryFault::Dropped(text),
            NotificationFault::Duplicate => DeliveryFault::Twice(text),
            NotificationFault::BadSign => {
                message.remove("sign");
                sign::sign_in_place(FORGED_SECRET, message);
                DeliveryFault::BadSign(text)
            }
        };
    }
    DeliveryFault::None
}

/// Whether a later notification of the same order has been attempted.
async fn later_sent(state: &AppState, row: &Notification) -> bool {
    match state.store().notifications_for_order(row.eft_trade_no.as_str()).await {
        Ok(all) => all.iter().any(|n| n.id > row.id && (n.attempts > 0 || n.delivered_at.is_some())),
        Err(e) => {
            tracing::warn!(notification = row.id, error.message = %e, "could not read the order's notifications");
            false
        }
    }
}

async fn postpone(state: &AppState, id: i64, until: i64) {
    if let Err(e) = state.store().postpone_notification(id, until).await {
        // The lease runs out and the hold is looked at again then.
        tracing::warn!(notification = id, error.message = %e, "could not hold a notification back");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(id: i64, key: &str, json: &str) -> StoredFault {
        StoredFault {
            id,
            user_confirm_key: key.into(),
            rule: FaultRule::from_json(json.as_bytes()).unwrap(),
            remaining: Some(1),
            created_at: 0,
        }
    }

    #[test]
    fn the_book_counts_rules_and_a_stale_refresh_does_not_undo_a_change() {
        let book = FaultBook::default();
        assert!(!book.any());
        let seen = book.generation.load(Ordering::SeqCst);
        book.replace_merchant("K1", vec![stored(1, "K1", r#"{"operation":"any","return_status":"-1"}"#)]);
        assert!(book.any());
        // A refresh that read the store before the change above.
        book.replace_all(Vec::new(), seen);
        assert!(book.any(), "a refresh older than a change must not undo it");
        book.replace_all(Vec::new(), book.generation.load(Ordering::SeqCst));
        assert!(!book.any());
        assert!(book.of("K1").is_none());
    }

    #[test]
    fn injected_faults_name_their_source() {
        let fault = AnswerFault::parse_header("return_status=51").unwrap();
        assert_eq!(Injected { rule: Some(3), fault: fault.clone() }.to_string(), "rule 3: return_status=51");
        assert_eq!(Injected { rule: None, fault }.to_string(), "X-VMP-Sandbox-Fault: return_status=51");
    }

    #[test]
    fn the_injected_fault_rides_on_the_response_for_the_request_log() {
        let injected = Injected { rule: Some(7), fault: AnswerFault::parse_header("delay_ms=5").unwrap() };
        let marked = mark(Response::new(axum::body::Body::empty()), Some(injected.clone()));
        assert_eq!(marked.extensions().get::<Injected>(), Some(&injected));
        let plain = mark(Response::new(axum::body::Body::empty()), None);
        assert!(plain.extensions().get::<Injected>().is_none());
    }

    #[test]
    fn delays_round_up_to_whole_seconds() {
        assert_eq!([seconds(1), seconds(1000), seconds(1001), seconds(60_000)], [1, 1, 2, 60]);
    }
}
