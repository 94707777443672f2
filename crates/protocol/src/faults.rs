//! Sandbox fault rules: what a merchant's CI asks the sandbox to get wrong
//! on purpose (docs/protocol.md "Sandbox faults").
//!
//! Two kinds, both per merchant:
//! - **answer faults**: the next N answers (or a percentage of them) to one
//!   operation (or any) get a chosen `return_status` instead of being
//!   carried out, and/or are answered D milliseconds late;
//! - **notification faults**: drop the first N attempts, deliver twice,
//!   deliver late, deliver a sale after its refund, or sign wrongly.
//!
//! A rule travels as JSON ([`FaultRuleSpec`], the sandbox API's body and
//! answer) and is parsed once into a [`FaultRule`]; every field is checked
//! and a refusal names it. A single request can also carry an answer fault
//! in the [`FAULT_HEADER`] header ([`AnswerFault::parse_header`]).
//!
//! ```
//! use vmp_protocol::faults::{FaultAction, FaultRule, Trigger};
//! use vmp_protocol::catalogue::Operation;
//! use vmp_protocol::ReturnStatus;
//!
//! let rule = FaultRule::from_json(br#"{"operation":"refund","return_status":"51","count":2}"#).unwrap();
//! let FaultAction::Answer { operation, fault } = &rule.action else { unreachable!() };
//! assert_eq!(*operation, Some(Operation::Refund));
//! assert_eq!(fault.status, Some(ReturnStatus::RefundFailedUpstream));
//! assert_eq!(fault.return_char.as_deref(), Some("退款失败：ILLEGAL_ARGUMENT"));
//! assert_eq!(rule.trigger, Trigger::Next(2));
//! assert!(FaultRule::from_json(br#"{"operation":"refund","return_status":"77"}"#).is_err());
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalogue::Operation;
use crate::codes::ReturnStatus;
use crate::wire_enum;

/// The request header that injects an answer fault into the one request
/// carrying it (sandbox mode only), e.g. `X-VMP-Sandbox-Fault: return_status=51`.
pub const FAULT_HEADER: &str = "X-VMP-Sandbox-Fault";

/// Most answers or notifications one counted rule applies to.
pub const MAX_COUNT: u64 = 1000;
/// Longest answer delay, in milliseconds (a merchant's client gives up long before).
pub const MAX_ANSWER_DELAY_MS: u64 = 60_000;
/// Longest notification delay (and reorder hold), in milliseconds of the
/// gateway clock: one day (move the sandbox clock to skip it).
pub const MAX_NOTIFICATION_DELAY_MS: u64 = 86_400_000;
/// How long a reordered sale notification waits for a later notification
/// of its order when the rule names no `delay_ms`: 60 seconds.
pub const DEFAULT_REORDER_HOLD_MS: u64 = 60_000;
/// Longest `return_char` a rule may set (the field's own limit).
pub const MAX_RETURN_CHAR: usize = 100;

/// The spelling of "every operation" in a rule's `operation`.
pub const ANY_OPERATION: &str = "any";

/// How often a rule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The next N matching answers or notifications (then the rule is used up).
    Next(u32),
    /// This percentage (1–100) of them, until the rule is cleared.
    Percent(u8),
}

/// What an answer fault does to an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerFault {
    /// The `return_status` answered instead of carrying the request out
    /// (`None`: the request is carried out as usual).
    pub status: Option<ReturnStatus>,
    /// The `return_char` answered with [`AnswerFault::status`]: eftPay's
    /// text for the code unless the rule names one.
    pub return_char: Option<String>,
    /// Milliseconds the answer is held back (0: none).
    pub delay_ms: u32,
}

/// What a notification fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationFault {
    /// The attempt is not sent; it is recorded as failed and retried on
    /// the schedule. Counted per attempt.
    Drop,
    /// The notification is POSTed twice in a row; the second answer counts.
    Duplicate,
    /// The first attempt waits this long (gateway clock, whole seconds).
    Delay {
        /// Milliseconds, rounded up to seconds.
        ms: u32,
    },
    /// A sale's notification waits until a later notification of the same
    /// order (its refund) has been sent, at most `hold_ms`.
    Reorder {
        /// Longest wait, milliseconds of gateway time.
        hold_ms: u32,
    },
    /// The attempt is signed with a wrong secret. Counted per attempt.
    BadSign,
}

wire_enum! {
    /// The spellings of [`NotificationFault`] in a rule's `notification`.
    pub enum NotificationFaultKind ("notification fault") {
        /// [`NotificationFault::Drop`].
        Drop = "drop",
        /// [`NotificationFault::Duplicate`].
        Duplicate = "duplicate",
        /// [`NotificationFault::Delay`].
        Delay = "delay",
        /// [`NotificationFault::Reorder`].
        Reorder = "reorder",
        /// [`NotificationFault::BadSign`].
        BadSign = "bad_sign",
    }
}

impl NotificationFault {
    /// Its spelling.
    pub fn kind(self) -> NotificationFaultKind {
        match self {
            Self::Drop => NotificationFaultKind::Drop,
            Self::Duplicate => NotificationFaultKind::Duplicate,
            Self::Delay { .. } => NotificationFaultKind::Delay,
            Self::Reorder { .. } => NotificationFaultKind::Reorder,
            Self::BadSign => NotificationFaultKind::BadSign,
        }
    }
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Changes answers to API requests.
    Answer {
        /// Only requests of this operation (`None`: every operation).
        operation: Option<Operation>,
        /// What happens to the answer.
        fault: AnswerFault,
    },
    /// Changes the delivery of notifications.
    Notification(NotificationFault),
}

/// A parsed, checked fault rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// What it does.
    pub action: FaultAction,
    /// How often.
    pub trigger: Trigger,
}

/// A fault rule as JSON: the sandbox API's request body and (with `id`
/// and `remaining`) its answer. Plain and permissive; [`FaultRule::parse`]
/// checks it.
///
/// ```json
/// {"operation":"refund","return_status":"51","count":1}
/// {"operation":"any","delay_ms":3000,"percent":50}
/// {"notification":"drop","count":2}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRuleSpec {
    /// The stored rule's id (answers only; ignored in requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// An answer fault's operation (`sale`, `query`, `refund`,
    /// `refund-status`, `close`, `cancel`) or `any`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The code answered instead (`>= 00` are signed; `00` is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_status: Option<String>,
    /// The text answered with it (default: eftPay's text for the code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_char: Option<String>,
    /// Answer delay, or a notification's delay / reorder hold, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// A notification fault: `drop`, `duplicate`, `delay`, `reorder`, `bad_sign`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<String>,
    /// Fire for the next N (default 1 when no `percent` is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Fire for this percentage, until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u64>,
    /// How many firings a counted rule has left (answers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
}

/// Why a fault rule (or the fault header) was refused; the text names the
/// field and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultRuleError {
    /// The body is not a JSON object of the rule's fields.
    #[error(
        "a fault rule is a JSON object of operation, return_status, return_char, delay_ms, notification, count, percent: {0}"
    )]
    Json(String),
    /// A field's value is not accepted.
    #[error("{field}: {problem}")]
    Field {
        /// The field (or header item).
        field: &'static str,
        /// What is wrong and what is accepted.
        problem: String,
    },
    /// The fields do not make one rule.
    #[error("{0}")]
    Shape(&'static str),
}

fn field(field: &'static str, problem: impl Into<String>) -> FaultRuleError {
    FaultRuleError::Field { field, problem: problem.into() }
}

/// The codes a fault may answer: every code of [`ReturnStatus`] but `00`.
pub fn fault_codes() -> impl Iterator<Item = ReturnStatus> {
    ReturnStatus::ALL.into_iter().filter(|s| *s != ReturnStatus::Accepted)
}

fn parse_status(code: &str) -> Result<ReturnStatus, FaultRuleError> {
    match ReturnStatus::from_code(code) {
        Some(ReturnStatus::Accepted) => {
            Err(field("return_status", "00 is not a fault (omit return_status to only delay)"))
        }
        Some(s) => Ok(s),
        None => {
            let codes: Vec<&str> = fault_codes().map(ReturnStatus::code).collect();
            Err(field(
                "return_status",
                format!("{:?} is not a code of the API; one of {}", clip(code), codes.join(", ")),
            ))
        }
    }
}

fn parse_delay(value: u64, max: u64) -> Result<u32, FaultRuleError> {
    match u32::try_from(value) {
        Ok(ms) if (1..=max).contains(&value) => Ok(ms),
        _ => Err(field("delay_ms", format!("{value} is out of range 1..={max}"))),
    }
}

fn parse_return_char(text: &str) -> Result<String, FaultRuleError> {
    if text.chars().count() > MAX_RETURN_CHAR || text.chars().any(char::is_control) {
        return Err(field("return_char", format!("at most {MAX_RETURN_CHAR} characters, no control characters")));
    }
    Ok(text.to_owned())
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

impl AnswerFault {
    /// Reads the [`FAULT_HEADER`] value: `;`-separated `return_status=CODE`
    /// and `delay_ms=N` items, each at most once, at least one (spaces
    /// around items are allowed, nothing else). The answer's
    /// `return_char` is eftPay's text for the code.
    ///
    /// ```
    /// use vmp_protocol::faults::AnswerFault;
    /// use vmp_protocol::ReturnStatus;
    /// let f = AnswerFault::parse_header("return_status=-1; delay_ms=200").unwrap();
    /// assert_eq!((f.status, f.delay_ms), (Some(ReturnStatus::SystemError), 200));
    /// for bad in ["", "return_status=77", "return_status=51;return_status=51", "status=51", "delay_ms=0", "return_status=51;"] {
    ///     assert!(AnswerFault::parse_header(bad).is_err(), "{bad}");
    /// }
    /// ```
    ///
    /// # Errors
    /// [`FaultRuleError`] naming the item at fault.
    pub fn parse_header(value: &str) -> Result<Self, FaultRuleError> {
        let mut status = None;
        let mut delay = None;
        for item in value.split(';') {
            let item = item.trim_matches(' ');
            let Some((key, val)) = item.split_once('=') else {
                return Err(field(
                    "X-VMP-Sandbox-Fault",
                    format!("{:?} is not key=value (return_status=CODE; delay_ms=N)", clip(item)),
                ));
            };
            match key {
                "return_status" if status.is_none() => status = Some(parse_status(val)?),
                "delay_ms" if delay.is_none() => {
                    let ms =
                        val.parse::<u64>().ok().filter(|_| val.bytes().all(|b| b.is_ascii_digit())).ok_or_else(
                            || field("delay_ms", format!("{:?} is not a number of milliseconds", clip(val))),
                        )?;
                    delay = Some(parse_delay(ms, MAX_ANSWER_DELAY_MS)?);
                }
                "return_status" | "delay_ms" => {
                    return Err(field("X-VMP-Sandbox-Fault", format!("{key} is given twice")));
                }
                other => {
                    return Err(field(
                        "X-VMP-Sandbox-Fault",
                        format!("unknown item {:?}; return_status or delay_ms", clip(other)),
                    ));
                }
            }
        }
        Ok(Self { status, return_char: status.map(|s| s.text("")), delay_ms: delay.unwrap_or(0) })
    }
}

impl FaultRule {
    /// Parses a rule from its JSON ([`FaultRuleSpec`]).
    ///
    /// # Errors
    /// [`FaultRuleError`] naming the field at fault.
    pub fn from_json(body: &[u8]) -> Result<Self, FaultRuleError> {
        let json = |e: serde_json::Error| FaultRuleError::Json(e.to_string());
        let value: serde_json::Value = serde_json::from_slice(body).map_err(json)?;
        if !value.is_object() {
            return Err(FaultRuleError::Json("not an object".to_owned()));
        }
        let spec: FaultRuleSpec = serde_json::from_value(value).map_err(json)?;
        Self::parse(&spec)
    }

    /// Checks a rule's fields. `id` and `remaining` are ignored.
    ///
    /// # Errors
    /// [`FaultRuleError`] naming the field at fault.
    pub fn parse(spec: &FaultRuleSpec) -> Result<Self, FaultRuleError> {
        let trigger = match (spec.count, spec.percent) {
            (Some(_), Some(_)) => return Err(FaultRuleError::Shape("give count or percent, not both")),
            (None, None) => Trigger::Next(1),
            (Some(n), None) => match u32::try_from(n) {
                Ok(n32) if (1..=MAX_COUNT).contains(&n) => Trigger::Next(n32),
                _ => return Err(field("count", format!("{n} is out of range 1..={MAX_COUNT}"))),
            },
            (None, Some(p)) => match u8::try_from(p) {
                Ok(p8) if (1..=100).contains(&p8) => Trigger::Percent(p8),
                _ => return Err(field("percent", format!("{p} is out of range 1..=100"))),
            },
        };
        let action = match (&spec.operation, &spec.notification) {
            (Some(_), Some(_)) => {
                return Err(FaultRuleError::Shape(
                    "a rule is an answer fault (operation) or a notification fault (notification), not both",
                ));
            }
            (None, None) => {
                return Err(FaultRuleError::Shape(
                    "name an operation (sale, query, refund, refund-status, close, cancel or any) \
                     or a notification fault (drop, duplicate, delay, reorder, bad_sign)",
                ));
            }
            (Some(op), None) => Self::answer(op, spec)?,
            (None, Some(kind)) => Self::notification(kind, spec)?,
        };
        Ok(Self { action, trigger })
    }

    fn answer(op: &str, spec: &FaultRuleSpec) -> Result<FaultAction, FaultRuleError> {
        let operation = if op == ANY_OPERATION {
            None
        } else {
            Some(Operation::parse(op).ok_or_else(|| {
                field(
                    "operation",
                    format!("{:?} is unknown; one of {}/{ANY_OPERATION}", clip(op), Operation::spellings()),
                )
            })?)
        };
        let status = spec.return_status.as_deref().map(parse_status).transpose()?;
        let delay_ms = spec.delay_ms.map(|d| parse_delay(d, MAX_ANSWER_DELAY_MS)).transpose()?.unwrap_or(0);
        let return_char = match (&spec.return_char, status) {
            (Some(_), None) => return Err(field("return_char", "only with return_status")),
            (Some(text), Some(_)) => Some(parse_return_char(text)?),
            (None, Some(s)) => Some(s.text("")),
            (None, None) => None,
        };
        if status.is_none() && delay_ms == 0 {
            return Err(FaultRuleError::Shape("an answer fault needs return_status, delay_ms or both"));
        }
        Ok(FaultAction::Answer { operation, fault: AnswerFault { status, return_char, delay_ms } })
    }

    fn notification(kind: &str, spec: &FaultRuleSpec) -> Result<FaultAction, FaultRuleError> {
        if spec.return_status.is_some() || spec.return_char.is_some() {
            return Err(FaultRuleError::Shape("return_status and return_char are for answer faults (operation)"));
        }
        let kind = NotificationFaultKind::parse(kind).ok_or_else(|| {
            field("notification", format!("{:?} is unknown; one of {}", clip(kind), NotificationFaultKind::spellings()))
        })?;
        let delay = spec.delay_ms.map(|d| parse_delay(d, MAX_NOTIFICATION_DELAY_MS)).transpose()?;
        let fault = match kind {
            NotificationFaultKind::Delay => {
                NotificationFault::Delay { ms: delay.ok_or_else(|| field("delay_ms", "a delay needs delay_ms"))? }
            }
            NotificationFaultKind::Reorder => {
                NotificationFault::Reorder { hold_ms: delay.unwrap_or(DEFAULT_REORDER_HOLD_MS as u32) }
            }
            _ if delay.is_some() => {
                return Err(field("delay_ms", "only for the delay and reorder notification faults"));
            }
            NotificationFaultKind::Drop => NotificationFault::Drop,
            NotificationFaultKind::Duplicate => NotificationFault::Duplicate,
            NotificationFaultKind::BadSign => NotificationFault::BadSign,
        };
        Ok(FaultAction::Notification(fault))
    }

    /// The rule as JSON fields (without `id` and `remaining`); parsing
    /// them again gives the same rule.
    pub fn to_spec(&self) -> FaultRuleSpec {
        let mut spec = FaultRuleSpec::default();
        match self.trigger {
            Trigger::Next(n) => spec.count = Some(u64::from(n)),
            Trigger::Percent(p) => spec.percent = Some(u64::from(p)),
        }
        match &self.action {
            FaultAction::Answer { operation, fault } => {
                spec.operation = Some(operation.map_or(ANY_OPERATION, Operation::as_str).to_owned());
                spec.return_status = fault.status.map(|s| s.code().to_owned());
                spec.return_char.clone_from(&fault.return_char);
                spec.delay_ms = (fault.delay_ms > 0).then_some(u64::from(fault.delay_ms));
            }
            FaultAction::Notification(n) => {
                spec.notification = Some(n.kind().as_str().to_owned());
                spec.delay_ms = match *n {
                    NotificationFault::Delay { ms } => Some(u64::from(ms)),
                    NotificationFault::Reorder { hold_ms } => Some(u64::from(hold_ms)),
                    _ => None,
                };
            }
        }
        spec
    }

    /// The rule as JSON text ([`FaultRule::to_spec`]).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_spec()).unwrap_or_default()
    }

    /// Whether this is an answer fault for requests of `operation`.
    pub fn answers(&self, operation: Operation) -> Option<&AnswerFault> {
        match &self.action {
            FaultAction::Answer { operation: None, fault } => Some(fault),
            FaultAction::Answer { operation: Some(op), fault } if *op == operation => Some(fault),
            _ => None,
        }
    }

    /// The notification fault, if this is one.
    pub fn notification_fault(&self) -> Option<NotificationFault> {
        match self.action {
            FaultAction::Notification(n) => Some(n),
            FaultAction::Answer { .. } => None,
        }
    }
}

impl fmt::Display for AnswerFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(s) = self.status {
            write!(f, "return_status={s}")?;
            sep = "; ";
        }
        if self.delay_ms > 0 {
            write!(f, "{sep}delay_ms={}", self.delay_ms)?;
        }
        Ok(())
    }
}

impl fmt::Display for NotificationFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Delay { ms } => write!(f, "delay {ms} ms"),
            Self::Reorder { hold_ms } => write!(f, "reorder (hold up to {hold_ms} ms)"),
            other => f.write_str(other.kind().as_str()),
        }
    }
}

/// One line: `refund: return_status=51 (next 2)`, `notification drop (30%)`.
impl fmt::Display for FaultRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.action {
            FaultAction::Answer { operation, fault } => {
                write!(f, "{}: {fault}", operation.map_or(ANY_OPERATION, Operation::as_str))?;
            }
            FaultAction::Notification(n) => write!(f, "notification {n}")?,
        }
        match self.trigger {
            Trigger::Next(n) => write!(f, " (next {n})"),
            Trigger::Percent(p) => write!(f, " ({p}%)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(json: &str) -> Result<FaultRule, FaultRuleError> {
        FaultRule::from_json(json.as_bytes())
    }

    #[test]
    fn answer_rules_default_to_the_next_answer_and_eftpays_text() {
        let r = rule(r#"{"operation":"refund","return_status":"-1"}"#).unwrap();
        assert_eq!(r.trigger, Trigger::Next(1));
        assert_eq!(
            r.action,
            FaultAction::Answer {
                operation: Some(Operation::Refund),
                fault: AnswerFault {
                    status: Some(ReturnStatus::SystemError),
                    return_char: Some("系统异常".into()),
                    delay_ms: 0
                }
            }
        );
        let r = rule(r#"{"operation":"any","delay_ms":250,"percent":40}"#).unwrap();
        assert_eq!(r.trigger, Trigger::Percent(40));
        assert_eq!(r.answers(Operation::Sale).map(|f| f.delay_ms), Some(250));
        assert_eq!(r.answers(Operation::Cancel).map(|f| f.status), Some(None));
        let r =
            rule(r#"{"operation":"query","return_status":"05","return_char":"TRADE_NOT_EXIST","count":3}"#).unwrap();
        assert!(r.answers(Operation::Refund).is_none());
        assert_eq!(r.to_string(), "query: return_status=05 (next 3)");
    }

    #[test]
    fn notification_rules_read_their_kind_and_delay() {
        for (json, want) in [
            (r#"{"notification":"drop","count":2}"#, NotificationFault::Drop),
            (r#"{"notification":"duplicate"}"#, NotificationFault::Duplicate),
            (r#"{"notification":"delay","delay_ms":1500}"#, NotificationFault::Delay { ms: 1500 }),
            (r#"{"notification":"reorder"}"#, NotificationFault::Reorder { hold_ms: 60_000 }),
            (r#"{"notification":"reorder","delay_ms":5000}"#, NotificationFault::Reorder { hold_ms: 5000 }),
            (r#"{"notification":"bad_sign","percent":100}"#, NotificationFault::BadSign),
        ] {
            assert_eq!(rule(json).unwrap().notification_fault(), Some(want), "{json}");
        }
    }

    #[test]
    fn bad_rules_are_refused_naming_the_field() {
        let cases = [
            ("not json", "JSON"),
            ("[]", "JSON"),
            (r#"{"operation":"refund","return_status":"51","colour":"red"}"#, "colour"),
            (r#"{"operation":"refunds","return_status":"51"}"#, "operation"),
            (r#"{"operation":"refund","return_status":"77"}"#, "return_status"),
            (r#"{"operation":"refund","return_status":"00"}"#, "return_status"),
            (r#"{"operation":"refund","return_status":51}"#, "JSON"),
            (r#"{"operation":"refund"}"#, "return_status, delay_ms"),
            (r#"{"operation":"refund","delay_ms":0}"#, "delay_ms"),
            (r#"{"operation":"refund","delay_ms":60001}"#, "delay_ms"),
            (r#"{"operation":"refund","delay_ms":-1}"#, "JSON"),
            (r#"{"operation":"refund","return_char":"x","delay_ms":5}"#, "return_char"),
            (r#"{"operation":"refund","return_status":"51","return_char":"a\nb"}"#, "return_char"),
            (r#"{"operation":"sale","return_status":"51","count":0}"#, "count"),
            (r#"{"operation":"sale","return_status":"51","count":1001}"#, "count"),
            (r#"{"operation":"sale","return_status":"51","percent":0}"#, "percent"),
            (r#"{"operation":"sale","return_status":"51","percent":101}"#, "percent"),
            (r#"{"operation":"sale","return_status":"51","percent":5,"count":1}"#, "not both"),
            (r#"{"operation":"sale","notification":"drop"}"#, "not both"),
            ("{}", "name an operation"),
            (r#"{"notification":"lose"}"#, "notification"),
            (r#"{"notification":"delay"}"#, "delay_ms"),
            (r#"{"notification":"drop","delay_ms":5}"#, "delay_ms"),
            (r#"{"notification":"drop","return_status":"51"}"#, "answer faults"),
        ];
        for (json, names) in cases {
            let err = rule(json).expect_err(json).to_string();
            assert!(err.contains(names), "{json}: {err}");
        }
    }

    #[test]
    fn the_header_is_read_strictly() {
        let f = AnswerFault::parse_header("return_status=51").unwrap();
        assert_eq!(f.status, Some(ReturnStatus::RefundFailedUpstream));
        assert_eq!(f.return_char.as_deref(), Some("退款失败：ILLEGAL_ARGUMENT"));
        assert_eq!(AnswerFault::parse_header(" delay_ms=10 ").unwrap().delay_ms, 10);
        for bad in [
            "",
            " ",
            "return_status",
            "return_status=",
            "return_status=5 1",
            "return_status = 51",
            "return_status=51,delay_ms=5",
            "delay_ms=+5",
            "delay_ms=1e3",
            "delay_ms=60001",
            "return_char=x",
            "return_status=51;;",
        ] {
            assert!(AnswerFault::parse_header(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rules_round_trip_through_their_json() {
        for json in [
            r#"{"operation":"any","return_status":"51","return_char":"custom","delay_ms":5,"percent":50}"#,
            r#"{"operation":"refund-status","return_status":"-1","count":7}"#,
            r#"{"notification":"reorder","delay_ms":3000,"count":1}"#,
            r#"{"notification":"bad_sign","count":2}"#,
        ] {
            let r = rule(json).unwrap();
            assert_eq!(rule(&r.to_json()).unwrap(), r, "{json}");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200), header in ".{0,80}") {
            let _ = FaultRule::from_json(&body);
            let _ = AnswerFault::parse_header(&header);
        }
    }
}
