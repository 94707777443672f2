//! The console's journal: the request log and what happened to an order
//! besides its state (docs/architecture.md "The developer console").
//!
//! - [`RequestRecord`]: one API request, refused ones too: when, merchant,
//!   endpoint and service, `return_status`, latency, the English reason
//!   (the error's `Display`), and for every request but an accepted Place
//!   an Order the request and answer as JSON and, for a `10`, the
//!   signature hint ([`vmp_protocol::sign::hint`]). An accepted Place an
//!   Order writes no record of its own: its order row is its record, so the
//!   order path pays no extra insert (its latency is kept in memory,
//!   [`LatencyMemo`]).
//! - [`OrderEvent`]: a pay page view, a buyer's or the console's action.
//!
//! Records are queued in memory ([`JournalBuffer`]) and written by the
//! store's group-commit writer with the next batch it commits anyway, or
//! within [`FLUSH_AFTER`] when nothing else is written: the request path
//! never waits for them. Before anything is queued, [`Masker`] replaces
//! the merchant's secret and every card number: neither is ever stored.

use std::borrow::Cow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use tokio::sync::Notify;
use vmp_protocol::{Params, ReturnStatus, sign};

use crate::merchant::{Caller, Merchant};
use crate::state::AppState;

/// How long a queued record waits for a batch to ride along with before
/// the writer commits it on its own.
pub const FLUSH_AFTER: Duration = Duration::from_millis(100);

/// Most records queued; beyond it new ones are dropped (and counted) until
/// the store catches up.
const BUFFER_MAX: usize = 20_000;

/// Most bytes of a request or answer kept.
const TEXT_MAX: usize = 16 * 1024;

/// Whether and how long the journal is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalSettings {
    /// `None`: nothing is recorded. `Some(d)`: kept for `d`, then pruned
    /// by the sweeper.
    pub retention: Option<Duration>,
}

impl JournalSettings {
    /// The default for a mode: 7 days in sandbox, off in production.
    pub fn for_mode(mode: crate::config::Mode) -> Self {
        match mode {
            crate::config::Mode::Sandbox => Self { retention: Some(Duration::from_secs(7 * 24 * 3600)) },
            crate::config::Mode::Production => Self { retention: None },
        }
    }

    /// Whether anything is recorded.
    pub fn enabled(&self) -> bool {
        self.retention.is_some()
    }
}

/// One API request as the request log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// When it arrived, unix milliseconds (gateway clock).
    pub at_ms: i64,
    /// How long until the answer was ready, microseconds.
    pub latency_us: i64,
    /// The servlet it was POSTed to (`JSAPIService.do`, …; an unknown
    /// name as sent, at most 64 characters).
    pub endpoint: String,
    /// `service` as sent (at most 64 characters), or the endpoint's
    /// interface.
    pub service: Option<String>,
    /// `user_confirm_key` as sent (at most 64 characters).
    pub merchant: Option<String>,
    /// `out_trade_no` sent or answered.
    pub out_trade_no: Option<String>,
    /// `eft_trade_no` sent or answered.
    pub eft_trade_no: Option<String>,
    /// The answer's `return_status`.
    pub return_status: String,
    /// The English reason of a refusal (what the gateway logs).
    pub reason: Option<String>,
    /// The request body, as JSON with secrets and card numbers masked.
    pub request: Option<String>,
    /// The answer as sent.
    pub answer: Option<String>,
    /// For a `10` of a known merchant: the signature hint, as JSON
    /// `{"signed", "expected", "received", "mistake"}`.
    pub sign_hint: Option<String>,
}

vmp_protocol::wire_enum! {
    /// What an [`OrderEvent`] records (`order_events.kind`).
    pub enum EventKind ("order_events.kind") {
        /// The pay page was shown.
        PageView = "page_view",
        /// The buyer pressed pay, fail or cancel on the pay page.
        BuyerAction = "buyer_action",
        /// The sandbox API settled the order (`POST /sandbox/orders/…/pay`).
        SandboxAction = "sandbox_action",
        /// Someone acted on the order in the console or the admin API.
        ConsoleAction = "console_action",
    }
}

/// Something that happened to an order besides its stored state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEvent {
    /// The order.
    pub eft_trade_no: String,
    /// When, unix milliseconds (gateway clock).
    pub at_ms: i64,
    /// What.
    pub kind: EventKind,
    /// Details, a JSON object (never card data).
    pub detail: String,
}

/// A record waiting for the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalEntry {
    /// A request log record.
    Request(Box<RequestRecord>),
    /// An order event.
    Event(OrderEvent),
}

/// Records waiting for the writer: pushed by requests, taken by the
/// writer's next batch (or a flush [`FLUSH_AFTER`] later).
#[derive(Debug, Default)]
pub struct JournalBuffer {
    entries: Mutex<Vec<JournalEntry>>,
    wake: Notify,
    dropped: AtomicU64,
}

impl JournalBuffer {
    /// Queues a record. Wakes the flusher when the buffer was empty.
    pub fn push(&self, entry: JournalEntry) {
        let was_empty = {
            let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if entries.len() >= BUFFER_MAX {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            entries.push(entry);
            entries.len() == 1
        };
        if was_empty {
            self.wake.notify_one();
        }
    }

    /// Takes everything queued.
    pub fn take(&self) -> Vec<JournalEntry> {
        std::mem::take(&mut *self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_empty()
    }

    /// Wakes whoever waits in [`JournalBuffer::arrived`] (at close).
    pub fn push_wake(&self) {
        self.wake.notify_one();
    }

    /// Resolves when a record arrives in an empty buffer.
    pub async fn arrived(&self) {
        self.wake.notified().await;
    }

    /// Records dropped because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The latency of recent accepted Place an Order requests, which write no
/// request record: a fixed ring of `(eft_trade_no, µs)`, no allocation per
/// request. Older ones show no latency.
#[derive(Debug)]
pub struct LatencyMemo {
    ring: Mutex<(usize, Vec<(u128, u32)>)>,
}

/// Orders whose latency is remembered.
const MEMO_SIZE: usize = 16_384;

impl Default for LatencyMemo {
    fn default() -> Self {
        Self { ring: Mutex::new((0, vec![(0, 0); MEMO_SIZE])) }
    }
}

/// `eft_trade_no` (digits only, at most 28) as a number; `None` otherwise.
fn eft_key(eft_trade_no: &str) -> Option<u128> {
    if eft_trade_no.is_empty() || eft_trade_no.len() > 28 {
        return None;
    }
    eft_trade_no.bytes().try_fold(0u128, |n, b| b.is_ascii_digit().then(|| n * 10 + u128::from(b - b'0')))
}

impl LatencyMemo {
    /// Remembers an order's latency.
    pub fn note(&self, eft_trade_no: &str, latency: Duration) {
        let Some(key) = eft_key(eft_trade_no) else { return };
        let micros = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
        let mut ring = self.ring.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (next, slots) = &mut *ring;
        slots[*next] = (key, micros);
        *next = (*next + 1) % MEMO_SIZE;
    }

    /// An order's latency in microseconds, if still remembered.
    pub fn get(&self, eft_trade_no: &str) -> Option<i64> {
        let key = eft_key(eft_trade_no)?;
        let ring = self.ring.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        ring.1.iter().find(|(k, _)| *k == key && key != 0).map(|(_, us)| i64::from(*us))
    }
}

/// What the request log needs from one API request, gathered while it is
/// read (`crate::http`'s servlet) and written when it is answered
/// ([`finish`]).
#[derive(Debug)]
pub struct Exchange {
    started: Instant,
    /// The servlet name as sent (cut to 64 characters when recorded).
    pub endpoint: String,
    /// The body, when it was read.
    pub body: Option<Vec<u8>>,
    /// The parameters, when the body parsed.
    pub params: Option<Params>,
    /// The merchant, once known, and which secret answers it.
    pub merchant: Option<Caller>,
    /// Whether the request is a Place an Order.
    pub place_order: bool,
    /// The sandbox fault injected into its answer (`crate::faults`), if any.
    pub injected: Option<String>,
    /// Whether to record it (not for a request refused by the per-IP rate
    /// limit: a flood must not fill the store).
    pub recorded: bool,
}

impl Exchange {
    /// A request to `endpoint`, arriving now. Takes the name the router
    /// already allocated: the order path copies nothing for the log.
    pub fn new(endpoint: String) -> Self {
        Self {
            started: Instant::now(),
            endpoint,
            body: None,
            params: None,
            merchant: None,
            place_order: false,
            injected: None,
            recorded: true,
        }
    }
}

/// The one hook where an API request finishes: records it (or, for an
/// accepted Place an Order, only its latency). `reason` is the refusal's
/// English text; `answer` what is sent. Does nothing when the journal is off.
pub fn finish(state: &AppState, ex: Exchange, status: ReturnStatus, reason: Option<String>, answer: &Params) {
    if !state.journal_settings().enabled() || !ex.recorded {
        return;
    }
    let latency = ex.started.elapsed();
    // An injected fault is marked (a refused answer's reason names it already).
    let reason = match (reason, &ex.injected) {
        (None, Some(fault)) => Some(format!("[injected: {fault}]")),
        (reason, _) => reason,
    };
    if ex.place_order && status == ReturnStatus::Accepted {
        if let Some(eft) = answer.get("eft_trade_no") {
            state.latency_memo().note(eft, latency);
        }
        return;
    }
    let caller = ex.merchant.as_ref();
    let masker = Masker::new(caller.map(|c| &*c.merchant));
    let params = ex.params.as_ref();
    let field = |name: &str| {
        params
            .and_then(|p| p.get(name))
            .or_else(|| answer.get(name))
            .filter(|v| !v.is_empty())
            .map(|v| masker.text(&v.chars().take(64).collect::<String>()).into_owned())
    };
    let sign_hint = match (status, caller, params) {
        // The hint is for the secret the merchant is expected to sign with.
        (ReturnStatus::SignatureError, Some(c), Some(p)) if c.has_secret() => {
            Some(sign_hint(&masker, c.secret().expose_secret(), p))
        }
        _ => None,
    };
    let request = ex.body.as_deref().map(|b| clip(masker.json(b)));
    let record = RequestRecord {
        at_ms: at_ms(state) - i64::try_from(latency.as_millis()).unwrap_or(0),
        latency_us: i64::try_from(latency.as_micros()).unwrap_or(i64::MAX),
        endpoint: ex.endpoint.chars().take(64).collect(),
        service: field("service"),
        merchant: field("user_confirm_key"),
        out_trade_no: field("out_trade_no"),
        eft_trade_no: field("eft_trade_no"),
        return_status: status.code().to_owned(),
        reason: reason.map(|r| masker.text(&r).into_owned()),
        request,
        answer: Some(clip(answer.to_json())),
        sign_hint,
    };
    state.store().journal(JournalEntry::Request(Box::new(record)));
}

/// Records an order event (when the journal is on).
pub fn event(state: &AppState, eft_trade_no: &str, kind: EventKind, detail: serde_json::Value) {
    if !state.journal_settings().enabled() {
        return;
    }
    let event =
        OrderEvent { eft_trade_no: eft_trade_no.to_owned(), at_ms: at_ms(state), kind, detail: detail.to_string() };
    state.store().journal(JournalEntry::Event(event));
}

fn at_ms(state: &AppState) -> i64 {
    i64::try_from(state.clock().now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// At most [`TEXT_MAX`] bytes, cut at a character boundary.
fn clip(mut s: String) -> String {
    if s.len() > TEXT_MAX {
        let mut end = TEXT_MAX;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("…(truncated)");
    }
    s
}

/// Keys whose values are masked whole: card data and credentials a
/// client should never send (lower case; a key containing one matches).
const MASKED_KEYS: [&str; 9] = ["card", "pan", "cvv", "cvc", "expiry", "secret", "password", "passwd", "private_key"];

/// Keys whose values are identifiers made of digits by design: never
/// taken for card numbers.
const ID_KEYS: [&str; 9] = [
    "out_trade_no",
    "eft_trade_no",
    "out_refund_no",
    "refund_no",
    "refund_trade_no",
    "time",
    "sign",
    "transaction_amount",
    "user_confirm_key",
];

/// The signature hint of a `10` as stored (JSON): what the gateway signed
/// (the secret as `<secret>`, every value masked as [`Masker::value`]
/// shows it), the sign expected and received, and the mistake it matches.
fn sign_hint(masker: &Masker<'_>, secret: &str, params: &Params) -> String {
    let h = sign::hint(secret, params, |k, v| masker.value(k, v));
    serde_json::json!({
        // Each value was masked as it was put in (`time` and ids are never
        // taken for card numbers); the whole string only for the secret.
        "signed": masker.secret_only(&h.signed),
        "expected": h.expected,
        "received": h.received.as_deref().map(|r| masker.text(r).into_owned()),
        "mistake": h.mistake.map(|m| m.to_string()),
    })
    .to_string()
}

/// Replaces what must never be stored: the merchant's secret (wherever it
/// appears, as `<secret>`) and card numbers (13–19 digits, spaces or
/// dashes allowed between them, passing the Luhn check, as
/// `<card ****1234>`); values of card or credential fields are masked whole.
#[derive(Debug)]
pub struct Masker<'a> {
    /// The current secret and, during (or after) a rotation, the previous one.
    secrets: [Option<&'a str>; 2],
}

impl<'a> Masker<'a> {
    /// A masker for a request of `merchant` (`None`: unknown merchant).
    pub fn new(merchant: Option<&'a Merchant>) -> Self {
        let current = merchant.map(|m| m.secret.expose_secret());
        let previous = merchant.and_then(|m| m.previous.as_ref()).map(|p| p.secret.expose_secret());
        Self { secrets: [current, previous].map(|s| s.filter(|s| !s.is_empty())) }
    }

    /// A masker knowing only a secret (for tests and tools).
    pub fn with_secret(secret: &'a str) -> Self {
        Self { secrets: [Some(secret).filter(|s| !s.is_empty()), None] }
    }

    /// How a parameter's value may be shown.
    pub fn value<'v>(&self, key: &str, value: &'v str) -> Cow<'v, str> {
        let lower = key.to_ascii_lowercase();
        if !value.is_empty() && MASKED_KEYS.iter().any(|k| lower.contains(k)) {
            return Cow::Borrowed("<masked>");
        }
        if ID_KEYS.contains(&key) {
            return self.secret_only(value);
        }
        self.text(value)
    }

    /// Free text with the secret and card numbers masked.
    pub fn text<'v>(&self, text: &'v str) -> Cow<'v, str> {
        match self.secret_only(text) {
            Cow::Borrowed(t) => mask_cards(t),
            Cow::Owned(t) => Cow::Owned(mask_cards(&t).into_owned()),
        }
    }

    fn secret_only<'v>(&self, text: &'v str) -> Cow<'v, str> {
        let mut out = Cow::Borrowed(text);
        for s in self.secrets.iter().flatten() {
            if out.contains(s) {
                out = Cow::Owned(out.replace(s, "<secret>"));
            }
        }
        out
    }

    /// A request body as stored: JSON with every value masked (types and
    /// order kept), or, when it is not JSON, its text masked.
    pub fn json(&self, body: &[u8]) -> String {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(mut v) => {
                self.walk(None, &mut v);
                // Keys too: a secret sent as a key name is masked as well.
                self.secret_only(&v.to_string()).into_owned()
            }
            Err(_) => self.text(&String::from_utf8_lossy(body)).into_owned(),
        }
    }

    fn walk(&self, key: Option<&str>, v: &mut serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::String(s) => {
                let shown = self.value(key.unwrap_or(""), s);
                if shown != s.as_str() {
                    *s = shown.into_owned();
                }
            }
            Value::Number(n) => {
                let text = n.to_string();
                let shown = self.value(key.unwrap_or(""), &text);
                if shown != text.as_str() {
                    *v = Value::String(shown.into_owned());
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.walk(key, i)),
            Value::Object(map) => map.iter_mut().for_each(|(k, i)| self.walk(Some(k.as_str()), i)),
            Value::Bool(_) | Value::Null => {}
        }
    }
}

/// Masks every card number in `text`.
fn mask_cards(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // A run of digits, single spaces or dashes allowed between them.
        let start = i;
        let mut end = i;
        let mut digits = String::new();
        let mut j = i;
        while j < bytes.len() {
            let b = bytes[j];
            if b.is_ascii_digit() {
                digits.push(char::from(b));
                j += 1;
                end = j;
            } else if (b == b' ' || b == b'-') && j + 1 < bytes.len() && bytes[j + 1].is_ascii_digit() && j > start {
                j += 1;
            } else {
                break;
            }
        }
        if (13..=19).contains(&digits.len()) && luhn(&digits) {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[copied..start]);
            o.push_str("<card ****");
            o.push_str(&digits[digits.len() - 4..]);
            o.push('>');
            copied = end;
        }
        i = end.max(i + 1);
    }
    match out {
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Cow::Owned(o)
        }
        None => Cow::Borrowed(text),
    }
}

/// The Luhn check of a string of ASCII digits (card numbers pass it).
pub(crate) fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 { dd - 9 } else { dd }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hint_keeps_a_time_that_looks_like_a_card_number_and_masks_a_card() {
        // 20261206131835 passes the Luhn check; 4111 1111 1111 1111 is a card.
        let p = Params::new().with("time", "20261206131835").with("subject", "4111 1111 1111 1111").with("sign", "00");
        let masker = Masker::with_secret("s3cret");
        let hint: serde_json::Value = serde_json::from_str(&super::sign_hint(&masker, "s3cret", &p)).unwrap();
        let signed = hint["signed"].as_str().unwrap();
        assert!(signed.contains("time=20261206131835"), "{signed}");
        assert!(signed.contains("<card ****1111>") && !signed.contains("4111 1111"), "{signed}");
        assert!(signed.starts_with("<secret>") && !signed.contains("s3cret"), "{signed}");
    }

    use super::*;

    #[test]
    fn card_numbers_and_the_secret_are_masked_wherever_they_appear() {
        let m = Masker::with_secret("S3cretValue");
        let cases = [
            ("pay 4111111111111111 now", "pay <card ****1111> now"),
            ("4111 1111 1111 1111", "<card ****1111>"),
            ("4111-1111-1111-1111.", "<card ****1111>."),
            ("amex 378282246310005", "amex <card ****0005>"),
            ("not luhn 4111111111111112", "not luhn 4111111111111112"),
            ("short 411111111111", "short 411111111111"),
            ("key S3cretValue and xS3cretValuex", "key <secret> and x<secret>x"),
            ("plain text", "plain text"),
        ];
        for (input, shown) in cases {
            assert_eq!(m.text(input), shown, "{input}");
        }
    }

    #[test]
    fn ids_made_of_digits_are_not_taken_for_cards_but_card_fields_are_masked_whole() {
        let m = Masker::with_secret("abcdefgh");
        assert_eq!(m.value("out_trade_no", "4111111111111111"), "4111111111111111");
        assert_eq!(m.value("subject", "4111111111111111"), "<card ****1111>");
        assert_eq!(m.value("card_number", "1234"), "<masked>");
        assert_eq!(m.value("secret_code", "anything"), "<masked>");
        assert_eq!(m.value("out_trade_no", "xabcdefghx"), "x<secret>x");
    }

    #[test]
    fn a_json_body_keeps_its_shape_and_loses_its_secrets() {
        let m = Masker::with_secret("abcdefgh");
        let body = br#"{"a":"abcdefgh","card":4111111111111111,"n":[{"x":"4111 1111 1111 1111"}],"abcdefgh":1,"k":2}"#;
        let shown = m.json(body);
        assert_eq!(shown, r#"{"a":"<secret>","card":"<masked>","n":[{"x":"<card ****1111>"}],"<secret>":1,"k":2}"#);
        assert_eq!(m.json(b"not json 4111111111111111 abcdefgh"), "not json <card ****1111> <secret>");
    }

    #[test]
    fn the_latency_memo_remembers_recent_orders_only() {
        let memo = LatencyMemo::default();
        memo.note("01261126142200357000001", Duration::from_micros(1500));
        assert_eq!(memo.get("01261126142200357000001"), Some(1500));
        assert_eq!(memo.get("01261126142200357000002"), None);
        for i in 0..MEMO_SIZE {
            memo.note(&format!("02{i:021}"), Duration::from_micros(1));
        }
        assert_eq!(memo.get("01261126142200357000001"), None, "overwritten");
        assert_eq!(memo.get("not digits"), None);
    }
}
