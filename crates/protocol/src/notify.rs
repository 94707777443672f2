//! Trade notifications (`trade_status_sync`), their acknowledgement, and the
//! signed `return_url` form (docs/protocol.md "Notifications").
//!
//! The gateway POSTs a signed JSON [`TradeNotification`] to the merchant's
//! `notify_url`; the merchant answers a signed [`ack`]. The same signed
//! payload is also form-POSTed by the buyer's browser to `return_url`
//! ([`verify_return_form`]). Everything here is pure: the clock is always a
//! parameter.
//!
//! Both sides use this module, so they cannot disagree:
//! - the gateway builds notifications with [`TradeNotification::to_params`]
//!   (or [`TradeNotification::to_signed_params`]) and judges the merchant's
//!   reply with [`is_ack_success`];
//! - the merchant checks deliveries with [`verify_notification`] or
//!   [`verify_return_form`] and answers with [`ack`].
//!
//! # Example: a round trip
//!
//! ```
//! use time::macros::datetime;
//! use vmp_protocol::notify::{ack, is_ack_success, verify_notification, TradeNotification,
//!     TradeStatus, TradeType};
//! use vmp_protocol::{Amount, VmpTime};
//!
//! let now = datetime!(2024-01-01 04:01:03 UTC); // 12:01:03 in UTC+8
//! let n = TradeNotification {
//!     user_confirm_key: "12345678".into(),
//!     trade_no: "T1".into(),
//!     transaction_id: "T1".into(),
//!     out_trade_no: "20240101120000".into(),
//!     eft_trade_no: "E123".into(),
//!     eftpay_trade_no: "E123".into(),
//!     total_fee: "0.10".into(),
//!     amount: Amount::parse("0.10").unwrap(),
//!     currency: "HKD".into(),
//!     trade_status: TradeStatus::TradeSuccess,
//!     gmt_payment: "2024-01-01 12:01:02".into(),
//!     wallet: "ALIPAYHK".into(),
//!     tid: None,
//!     trade_type: TradeType::Sale,
//!     card_scheme: None,
//!     time: VmpTime::from_datetime(now),
//! };
//! // Gateway side: sign and send the JSON.
//! let body = n.to_signed_params("testsignkey1234").to_json();
//! // Merchant side: verify, then acknowledge.
//! let got = verify_notification(body.as_bytes(), "testsignkey1234", now).unwrap();
//! assert_eq!(got, n);
//! let reply = ack("testsignkey1234", true, now).to_json();
//! // Gateway side again: was it delivered?
//! assert!(is_ack_success(reply.as_bytes(), Some("testsignkey1234")));
//! ```

mod qrcode;

pub use qrcode::{QRCODE_EXTRA_FIELDS, QrcodeNotification, verify_qrcode_notification, verify_qrcode_params};

use time::OffsetDateTime;

use crate::amount::{Amount, Currency};
use crate::params::{Params, ParamsError, SeenKeys};
use crate::sign::{self, SignatureError};
pub use crate::status::{TradeStatus, TradeType};
use crate::vmptime::{VmpTime, format_time};

/// The only `notify_type` of web/wap/cashier notifications.
pub const NOTIFY_TYPE_TRADE_STATUS_SYNC: &str = "trade_status_sync";

/// `return_code` of a positive acknowledgement.
pub const ACK_SUCCESS: &str = "success";
/// `return_code` of a negative acknowledgement (the gateway will retry).
pub const ACK_FAILURE: &str = "false";

/// Why a notification (or `return_url` form) was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    /// The body is not a parameter object (bad JSON or form encoding), or a
    /// field has an unreadable value; the text says which.
    #[error("malformed notification: {0}")]
    Malformed(String),
    /// `sign` is missing, malformed or does not match the secret.
    #[error("notification signature is invalid: {0}")]
    BadSignature(#[from] SignatureError),
    /// `time` is more than 30 minutes from `now` (both UTC+8): possibly a
    /// replay, or one side's clock is wrong.
    #[error("notification is stale: time {time} is more than 30 minutes from now (UTC+8)")]
    Stale {
        /// The `time` the notification carried.
        time: String,
    },
    /// A required field is absent or empty.
    #[error("notification is missing {0}")]
    MissingField(&'static str),
}

/// A web/wap/cashier `trade_status_sync` notification (docs/protocol.md
/// "Notifications"), as the gateway sends it to `notify_url` and `return_url`.
///
/// Fields are listed in wire order; [`TradeNotification::to_params`] writes
/// them in this order with `notify_type=trade_status_sync` first. On the
/// wire (JSON, signed):
///
/// ```json
/// {"notify_type":"trade_status_sync","user_confirm_key":"12345678","trade_no":"T1",
///  "transaction_id":"T1","out_trade_no":"20240101120000","eft_trade_no":"E123",
///  "eftpay_trade_no":"E123","total_fee":"0.10","currency":"HKD",
///  "trade_status":"TRADE_SUCCESS","gmt_payment":"2024-01-01 12:01:02",
///  "wallet":"ALIPAYHK","trade_type":"SALE","time":"20240101120103",
///  "sign":"14d3fa5f71be09584a7acc9b40f6c599823e0272e39610d186cb27965da1a05a"}
/// ```
///
/// Parameters other than these (e.g. `rate`) are covered by the signature
/// check but not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeNotification {
    /// The merchant's key.
    pub user_confirm_key: String,
    /// The wallet provider's order number (same value as `transaction_id`).
    pub trade_no: String,
    /// The wallet provider's order number.
    pub transaction_id: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// The gateway's order number.
    pub eft_trade_no: String,
    /// The gateway's order number (same value as `eft_trade_no`).
    pub eftpay_trade_no: String,
    /// `total_fee` exactly as on the wire (it is signed as text).
    pub total_fee: String,
    /// `total_fee` in minor units.
    pub amount: Amount,
    /// `currency` code as on the wire (`HKD`, `CNY`, `MOP`, …); see
    /// [`TradeNotification::known_currency`].
    pub currency: String,
    /// `trade_status`: only [`TradeStatus::TradeSuccess`] means paid.
    pub trade_status: TradeStatus,
    /// `gmt_payment`, `yyyy-MM-dd HH:mm:ss` in UTC+8, as on the wire.
    pub gmt_payment: String,
    /// `wallet`, e.g. `ALIPAYHK`; empty (and not sent) for a cashier order
    /// that closed before the buyer chose a wallet.
    pub wallet: String,
    /// `tid`, when the order carried one.
    pub tid: Option<String>,
    /// `trade_type`: `SALE` for payments.
    pub trade_type: TradeType,
    /// `card_scheme` (MPGS and AE only).
    pub card_scheme: Option<String>,
    /// `time` of this delivery (UTC+8). The gateway stamps it at each
    /// delivery attempt; receivers refuse it when outside ±30 minutes.
    pub time: VmpTime,
}

impl TradeNotification {
    /// The parameters in wire order, without `sign`. Optional fields that
    /// are `None` are left out (never sent empty).
    pub fn to_params(&self) -> Params {
        let mut p = Params::new()
            .with("notify_type", NOTIFY_TYPE_TRADE_STATUS_SYNC)
            .with("user_confirm_key", &self.user_confirm_key)
            .with("trade_no", &self.trade_no)
            .with("transaction_id", &self.transaction_id)
            .with("out_trade_no", &self.out_trade_no)
            .with("eft_trade_no", &self.eft_trade_no)
            .with("eftpay_trade_no", &self.eftpay_trade_no)
            .with("total_fee", &self.total_fee)
            .with("currency", &self.currency)
            .with("trade_status", self.trade_status.as_str())
            .with("gmt_payment", &self.gmt_payment);
        if !self.wallet.is_empty() {
            p.set("wallet", &self.wallet);
        }
        if let Some(tid) = self.tid.as_deref().filter(|t| !t.is_empty()) {
            p.set("tid", tid);
        }
        p.set("trade_type", self.trade_type.as_str());
        if let Some(cs) = self.card_scheme.as_deref().filter(|c| !c.is_empty()) {
            p.set("card_scheme", cs);
        }
        p.set("time", self.time.to_string());
        p
    }

    /// [`TradeNotification::to_params`] plus `sign` computed with `secret`:
    /// the exact message to POST (as JSON) or to put in the `return_url` form.
    pub fn to_signed_params(&self, secret: &str) -> Params {
        let mut p = self.to_params();
        sign::sign_in_place(secret, &mut p);
        p
    }

    /// The currency when it is one Place an Order accepts.
    pub fn known_currency(&self) -> Option<Currency> {
        self.currency.parse().ok()
    }

    /// Whether this notification reports a paid sale (`trade_type=SALE` and
    /// `trade_status=TRADE_SUCCESS`).
    pub fn is_paid_sale(&self) -> bool {
        self.trade_type == TradeType::Sale && self.trade_status.is_paid()
    }
}

pub(crate) fn required<'a>(p: &'a Params, name: &'static str) -> Result<&'a str, NotificationError> {
    p.get(name).ok_or(NotificationError::MissingField(name))
}

impl TryFrom<&Params> for TradeNotification {
    type Error = NotificationError;

    /// Reads the fields. Does **not** check the signature or the time
    /// window: use [`verify_notification`] / [`verify_params`] on anything
    /// received.
    fn try_from(p: &Params) -> Result<Self, NotificationError> {
        let notify_type = required(p, "notify_type")?;
        if notify_type != NOTIFY_TYPE_TRADE_STATUS_SYNC {
            return Err(NotificationError::Malformed(format!("notify_type must be {NOTIFY_TYPE_TRADE_STATUS_SYNC}")));
        }
        let total_fee = required(p, "total_fee")?;
        let amount = Amount::parse(total_fee)
            .map_err(|e| NotificationError::Malformed(format!("total_fee is not an amount ({e})")))?;
        let time = VmpTime::parse(required(p, "time")?).map_err(|e| NotificationError::Malformed(e.to_string()))?;
        Ok(Self {
            user_confirm_key: required(p, "user_confirm_key")?.to_owned(),
            trade_no: required(p, "trade_no")?.to_owned(),
            transaction_id: required(p, "transaction_id")?.to_owned(),
            out_trade_no: required(p, "out_trade_no")?.to_owned(),
            eft_trade_no: required(p, "eft_trade_no")?.to_owned(),
            eftpay_trade_no: required(p, "eftpay_trade_no")?.to_owned(),
            total_fee: total_fee.to_owned(),
            amount,
            currency: required(p, "currency")?.to_owned(),
            trade_status: TradeStatus::parse(required(p, "trade_status")?),
            gmt_payment: required(p, "gmt_payment")?.to_owned(),
            wallet: p.get("wallet").unwrap_or_default().to_owned(),
            tid: p.get("tid").map(str::to_owned),
            trade_type: TradeType::parse(required(p, "trade_type")?),
            card_scheme: p.get("card_scheme").map(str::to_owned),
            time,
        })
    }
}

/// Verifies already-parsed notification parameters: signature first (no
/// field is trusted before it), then the ±30 minute window of `time`
/// against `now` (UTC+8), then the fields.
///
/// # Errors
/// [`NotificationError::BadSignature`], [`NotificationError::Stale`],
/// [`NotificationError::MissingField`] or [`NotificationError::Malformed`].
pub fn verify_params(
    params: &Params,
    secret: &str,
    now: OffsetDateTime,
) -> Result<TradeNotification, NotificationError> {
    verify_signed(params, secret, now)?;
    TradeNotification::try_from(params)
}

/// The checks every notification passes before any field is read, whatever
/// its scene: the signature, then the ±30 minute window of `time` against
/// `now` (UTC+8).
///
/// # Errors
/// [`NotificationError::BadSignature`], [`NotificationError::Stale`],
/// [`NotificationError::MissingField`] (`time`) or
/// [`NotificationError::Malformed`] (`time` unreadable).
pub fn verify_signed(params: &Params, secret: &str, now: OffsetDateTime) -> Result<(), NotificationError> {
    sign::verify(secret, params)?;
    let time_text = required(params, "time")?;
    let time = VmpTime::parse(time_text).map_err(|e| NotificationError::Malformed(e.to_string()))?;
    if !time.within_window_of(now) {
        return Err(NotificationError::Stale { time: time_text.to_owned() });
    }
    Ok(())
}

/// Verifies a notification POSTed as JSON to `notify_url` and returns its
/// fields. Only act on the result (and only on
/// [`TradeNotification::is_paid_sale`]) after this returns `Ok`.
///
/// # Errors
/// [`NotificationError::Malformed`] when the body is not a JSON object,
/// then as [`verify_params`].
pub fn verify_notification(
    body: &[u8],
    secret: &str,
    now: OffsetDateTime,
) -> Result<TradeNotification, NotificationError> {
    let params = Params::from_json(body).map_err(malformed)?;
    verify_params(&params, secret, now)
}

pub(crate) fn malformed(e: ParamsError) -> NotificationError {
    NotificationError::Malformed(e.to_string())
}

/// Parses an `application/x-www-form-urlencoded` body into [`Params`]
/// (string values, in received order).
///
/// # Errors
/// [`NotificationError::Malformed`] when the body is empty, not UTF-8, or
/// repeats a key.
pub fn params_from_form(form_body: &[u8]) -> Result<Params, NotificationError> {
    if std::str::from_utf8(form_body).is_err() {
        return Err(malformed(ParamsError::NotUtf8));
    }
    if form_body.iter().all(u8::is_ascii_whitespace) {
        return Err(malformed(ParamsError::Empty));
    }
    let mut params = Params::new();
    let mut seen = SeenKeys::default();
    for (k, v) in url::form_urlencoded::parse(form_body) {
        if !params.push_new(&k, v.into_owned(), &mut seen) {
            return Err(malformed(ParamsError::DuplicateKey(k.into_owned())));
        }
    }
    Ok(params)
}

/// Verifies the signed `trade_status_sync` payload that the buyer's browser
/// form-POSTs to `return_url`, exactly like [`verify_notification`].
///
/// A verified return only tells you what the gateway said at redirect time;
/// the notification (or a query) stays the authority on payment.
///
/// # Errors
/// As [`params_from_form`], then as [`verify_params`].
pub fn verify_return_form(
    form_body: &[u8],
    secret: &str,
    now: OffsetDateTime,
) -> Result<TradeNotification, NotificationError> {
    let params = params_from_form(form_body)?;
    verify_params(&params, secret, now)
}

/// The merchant's signed acknowledgement:
/// `{"return_code":"success"|"false","time":…,"sign":…}`.
///
/// Answer `success` only after the notification is persisted; `false` (or
/// anything else) makes the gateway deliver it again.
///
/// ```
/// use time::macros::datetime;
/// use vmp_protocol::notify::ack;
/// // 2024-01-01 12:01:04 in UTC+8.
/// let a = ack("testsignkey1234", true, datetime!(2024-01-01 04:01:04 UTC));
/// assert_eq!(a.to_json(), concat!(r#"{"return_code":"success","time":"20240101120104","#,
///     r#""sign":"b38a7b2456e76803b10c55e7bf46b3374eb8dcabd01c8ca8d3d66314d35097aa"}"#));
/// ```
pub fn ack(secret: &str, success: bool, now: OffsetDateTime) -> Params {
    let mut p = Params::new()
        .with("return_code", if success { ACK_SUCCESS } else { ACK_FAILURE })
        .with("time", format_time(now));
    sign::sign_in_place(secret, &mut p);
    p
}

/// The gateway's rule (docs/protocol.md "Notifications") for "the merchant accepted
/// this notification", applied to the reply body of an HTTP 2xx answer (the
/// status check is the caller's):
///
/// - a JSON object whose `return_code` is `success` (any case); when it
///   carries a non-empty `sign` and `secret` is given, the sign must verify;
/// - or a body that trims to `success` (any case), e.g. plain text.
///
/// Anything else means "deliver again".
///
/// ```
/// use vmp_protocol::notify::is_ack_success;
/// assert!(is_ack_success(b" SUCCESS\n", None));
/// assert!(is_ack_success(br#"{"return_code":"Success"}"#, Some("k")));
/// assert!(!is_ack_success(br#"{"return_code":"false"}"#, None));
/// assert!(!is_ack_success(b"", None));
/// ```
pub fn is_ack_success(http_body: &[u8], secret: Option<&str>) -> bool {
    let Ok(text) = std::str::from_utf8(http_body) else {
        return false;
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text).trim();
    if text.eq_ignore_ascii_case(ACK_SUCCESS) {
        return true;
    }
    let Ok(params) = Params::from_json(text.as_bytes()) else {
        return false;
    };
    let success = params.get("return_code").is_some_and(|c| c.trim().eq_ignore_ascii_case(ACK_SUCCESS));
    if !success {
        return false;
    }
    match (params.get(sign::SIGN), secret) {
        (Some(_), Some(secret)) => sign::verify(secret, &params).is_ok(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const SECRET: &str = "testsignkey1234";
    /// 2024-01-01 12:01:03 in UTC+8, the `time` of the notification vector.
    const NOW: OffsetDateTime = datetime!(2024-01-01 04:01:03 UTC);
    const VECTOR_SIGN: &str = "14d3fa5f71be09584a7acc9b40f6c599823e0272e39610d186cb27965da1a05a";

    fn vector() -> TradeNotification {
        TradeNotification {
            user_confirm_key: "12345678".into(),
            trade_no: "T1".into(),
            transaction_id: "T1".into(),
            out_trade_no: "20240101120000".into(),
            eft_trade_no: "E123".into(),
            eftpay_trade_no: "E123".into(),
            total_fee: "0.10".into(),
            amount: Amount::parse("0.10").unwrap(),
            currency: "HKD".into(),
            trade_status: TradeStatus::TradeSuccess,
            gmt_payment: "2024-01-01 12:01:02".into(),
            wallet: "ALIPAYHK".into(),
            tid: None,
            trade_type: TradeType::Sale,
            card_scheme: None,
            time: VmpTime::parse("20240101120103").unwrap(),
        }
    }

    fn vector_body() -> String {
        vector().to_signed_params(SECRET).to_json()
    }

    #[test]
    fn the_spec_notify_vector_signs_to_14d3fa5f() {
        let p = vector().to_signed_params(SECRET);
        assert_eq!(p.get("sign"), Some(VECTOR_SIGN));
    }

    #[test]
    fn to_params_writes_fields_in_wire_order_and_leaves_out_absent_options() {
        let keys: Vec<String> = vector().to_params().keys().map(str::to_owned).collect();
        assert_eq!(
            keys,
            [
                "notify_type",
                "user_confirm_key",
                "trade_no",
                "transaction_id",
                "out_trade_no",
                "eft_trade_no",
                "eftpay_trade_no",
                "total_fee",
                "currency",
                "trade_status",
                "gmt_payment",
                "wallet",
                "trade_type",
                "time",
            ]
        );
        let mut n = vector();
        n.tid = Some("T-9".into());
        n.card_scheme = Some("VISA".into());
        let keys: Vec<String> = n.to_params().keys().map(str::to_owned).collect();
        assert_eq!(keys[12], "tid");
        assert_eq!(keys[14], "card_scheme");
        assert_eq!(keys[15], "time");
        let mut empty = vector();
        empty.tid = Some(String::new());
        assert!(!empty.to_params().contains("tid"));
    }

    #[test]
    fn a_signed_notification_verifies_and_reads_back_identically() {
        let got = verify_notification(vector_body().as_bytes(), SECRET, NOW).unwrap();
        assert_eq!(got, vector());
        assert!(got.is_paid_sale());
        assert_eq!(got.known_currency(), Some(Currency::Hkd));
        let mut with_options = vector();
        with_options.tid = Some("T-9".into());
        with_options.card_scheme = Some("MASTER".into());
        let body = with_options.to_signed_params(SECRET).to_json();
        assert_eq!(verify_notification(body.as_bytes(), SECRET, NOW).unwrap(), with_options);
    }

    #[test]
    fn tampering_with_any_single_field_fails_verification() {
        let signed = vector().to_signed_params(SECRET);
        for key in signed.keys().map(str::to_owned).collect::<Vec<_>>() {
            let original = signed.get(&key).unwrap().to_owned();
            let mut variants = vec![format!("{original}x"), String::new()];
            if key == "sign" {
                // A well-formed but different signature.
                variants.push(VECTOR_SIGN.replace('1', "2"));
            }
            if key == "time" {
                // Still inside the window, so only the signature can catch it.
                variants.push("20240101120104".into());
            }
            for value in variants {
                let mut p = signed.clone();
                p.set(&key, &value);
                let err = verify_params(&p, SECRET, NOW).expect_err(&key);
                assert!(matches!(err, NotificationError::BadSignature(_)), "{key}={value:?}: {err:?}");
            }
            let mut removed = signed.clone();
            removed.remove(&key);
            assert!(
                matches!(verify_params(&removed, SECRET, NOW), Err(NotificationError::BadSignature(_))),
                "removing {key}"
            );
        }
        let mut added = signed.clone();
        added.set("rate", "1.0");
        assert!(matches!(
            verify_params(&added, SECRET, NOW),
            Err(NotificationError::BadSignature(SignatureError::Mismatch))
        ));
    }

    #[test]
    fn the_wrong_secret_is_a_bad_signature() {
        assert_eq!(
            verify_notification(vector_body().as_bytes(), "other", NOW),
            Err(NotificationError::BadSignature(SignatureError::Mismatch))
        );
    }

    #[test]
    fn notifications_outside_thirty_minutes_are_stale() {
        let body = vector_body();
        for (now, ok) in [
            (datetime!(2024-01-01 04:31:03 UTC), true),
            (datetime!(2024-01-01 03:31:03 UTC), true),
            (datetime!(2024-01-01 04:31:04 UTC), false),
            (datetime!(2024-01-01 03:31:02 UTC), false),
            // A receiver reading `time` as UTC would be 8 hours off.
            (datetime!(2024-01-01 12:01:03 UTC), false),
        ] {
            let got = verify_notification(body.as_bytes(), SECRET, now);
            if ok {
                assert!(got.is_ok(), "{now}: {got:?}");
            } else {
                assert_eq!(got, Err(NotificationError::Stale { time: "20240101120103".into() }), "{now}");
            }
        }
    }

    #[test]
    fn each_missing_required_field_is_named() {
        for name in [
            "notify_type",
            "user_confirm_key",
            "trade_no",
            "transaction_id",
            "out_trade_no",
            "eft_trade_no",
            "eftpay_trade_no",
            "total_fee",
            "currency",
            "trade_status",
            "gmt_payment",
            "trade_type",
            "time",
        ] {
            let mut p = vector().to_params();
            p.remove(name);
            sign::sign_in_place(SECRET, &mut p);
            assert_eq!(verify_params(&p, SECRET, NOW), Err(NotificationError::MissingField(name)), "{name}");
            // Sent but empty counts as missing too.
            let mut p = vector().to_params();
            p.set(name, "");
            sign::sign_in_place(SECRET, &mut p);
            assert_eq!(verify_params(&p, SECRET, NOW), Err(NotificationError::MissingField(name)), "empty {name}");
        }
    }

    #[test]
    fn a_cashier_order_closed_before_the_buyer_chose_carries_no_wallet() {
        let mut n = vector();
        n.wallet = String::new();
        n.trade_status = TradeStatus::TradeClosed;
        let p = n.to_signed_params(SECRET);
        assert!(!p.contains("wallet"), "an empty wallet is not sent");
        assert_eq!(verify_params(&p, SECRET, NOW), Ok(n));
    }

    #[test]
    fn unreadable_values_and_bodies_are_malformed() {
        for (key, value) in [("notify_type", "refund_status_sync"), ("total_fee", "0.101"), ("total_fee", "abc")] {
            let mut p = vector().to_params();
            p.set(key, value);
            sign::sign_in_place(SECRET, &mut p);
            assert!(matches!(verify_params(&p, SECRET, NOW), Err(NotificationError::Malformed(_))), "{key}={value}");
        }
        let mut p = vector().to_params();
        p.set("time", "2024-01-01");
        sign::sign_in_place(SECRET, &mut p);
        assert!(matches!(verify_params(&p, SECRET, NOW), Err(NotificationError::Malformed(_))));
        for body in [&b""[..], b"[]", b"{", b"\xff", b"success"] {
            assert!(matches!(verify_notification(body, SECRET, NOW), Err(NotificationError::Malformed(_))), "{body:?}");
        }
    }

    #[test]
    fn unknown_statuses_and_types_are_kept_verbatim() {
        for s in [
            "TRADE_SUCCESS",
            "TRADE_PROCESSING",
            "APPLY_SUCCESS",
            "TRADE_REFUND",
            "TRADE_CLOSED",
            "TRADE_FAIL",
            "WAIT_BUYER_PAY",
            "TRADE_NOT_PAY",
        ] {
            assert_eq!(TradeStatus::parse(s).as_str(), s);
        }
        assert_eq!(TradeStatus::parse("trade_success"), TradeStatus::Unknown("trade_success".into()));
        assert!(!TradeStatus::parse("TRADE_CLOSED").is_paid());
        for t in ["SALE", "REFUND", "OTHER"] {
            assert_eq!(TradeType::parse(t).to_string(), t);
        }
        let mut n = vector();
        n.trade_type = TradeType::Refund;
        assert!(!n.is_paid_sale());
    }

    #[test]
    fn the_return_url_form_verifies_like_the_json() {
        let signed = vector().to_signed_params(SECRET);
        let form: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(signed.iter().map(|(k, v)| (k, v.as_str())))
            .finish();
        assert!(form.contains("gmt_payment=2024-01-01+12%3A01%3A02"));
        assert_eq!(verify_return_form(form.as_bytes(), SECRET, NOW), Ok(vector()));
        let tampered = form.replace("0.10", "0.01");
        assert!(matches!(
            verify_return_form(tampered.as_bytes(), SECRET, NOW),
            Err(NotificationError::BadSignature(_))
        ));
        for bad in [&b""[..], b"  ", b"a=1&a=2", b"\xff=1"] {
            assert!(matches!(verify_return_form(bad, SECRET, NOW), Err(NotificationError::Malformed(_))), "{bad:?}");
        }
    }

    #[test]
    fn the_ack_matches_the_spec_vector() {
        let a = ack(SECRET, true, datetime!(2024-01-01 04:01:04 UTC));
        assert_eq!(a.keys().collect::<Vec<_>>(), ["return_code", "time", "sign"]);
        assert_eq!(a.get("return_code"), Some("success"));
        assert_eq!(a.get("time"), Some("20240101120104"));
        assert_eq!(a.get("sign"), Some("b38a7b2456e76803b10c55e7bf46b3374eb8dcabd01c8ca8d3d66314d35097aa"));
        let no = ack(SECRET, false, NOW);
        assert_eq!(no.get("return_code"), Some("false"));
        assert_eq!(sign::verify(SECRET, &no), Ok(()));
    }

    #[test]
    fn ack_success_follows_the_server_rule() {
        let good = ack(SECRET, true, NOW).to_json();
        let refused = ack(SECRET, false, NOW).to_json();
        let forged = good.replace("success", "SUCCESS");
        let cases: &[(&[u8], Option<&str>, bool, &str)] = &[
            (good.as_bytes(), Some(SECRET), true, "signed ack"),
            (good.as_bytes(), None, true, "signed ack, no secret to check"),
            (good.as_bytes(), Some("other"), false, "signed with another secret"),
            (forged.as_bytes(), Some(SECRET), false, "case changed after signing"),
            (forged.as_bytes(), None, true, "unverified, case-insensitive"),
            (refused.as_bytes(), Some(SECRET), false, "return_code=false"),
            (br#"{"return_code":"SUCCESS"}"#, Some(SECRET), true, "unsigned JSON"),
            (br#"{"return_code":"success","sign":""}"#, Some(SECRET), true, "empty sign"),
            (br#"{"return_code":"fail"}"#, None, false, "other code"),
            (br#"{"result":"success"}"#, None, false, "no return_code"),
            (b"success", None, true, "plain text"),
            (b"  Success \r\n", Some(SECRET), true, "plain text, any case, trimmed"),
            (b"\xef\xbb\xbfsuccess", None, true, "BOM"),
            (b"successful", None, false, "longer word"),
            (b"\"success\"", None, false, "JSON string"),
            (b"", None, false, "empty"),
            (b"OK", None, false, "OK"),
            (b"\xff", None, false, "not UTF-8"),
        ];
        for (body, secret, want, what) in cases {
            assert_eq!(is_ack_success(body, *secret), *want, "{what}");
        }
    }

    proptest! {
        #[test]
        fn verification_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = verify_notification(&body, SECRET, NOW);
            let _ = verify_return_form(&body, SECRET, NOW);
            let _ = is_ack_success(&body, Some(SECRET));
        }

        #[test]
        fn notifications_round_trip(
            trade_no in "[A-Za-z0-9]{1,32}",
            minor in 1i64..=9_999_999,
            tid in proptest::option::of("[0-9]{1,20}"),
            status in "[A-Z_]{1,20}",
            offset in -1800i64..=1800,
        ) {
            let mut n = vector();
            n.trade_no = trade_no.clone();
            n.transaction_id = trade_no;
            let amount = Amount::from_minor(minor).unwrap();
            n.total_fee = amount.to_decimal_string();
            n.amount = amount;
            n.tid = tid;
            n.trade_status = TradeStatus::parse(&status);
            let body = n.to_signed_params(SECRET).to_json();
            let now = NOW + time::Duration::seconds(offset);
            prop_assert_eq!(verify_notification(body.as_bytes(), SECRET, now), Ok(n));
        }
    }
}
