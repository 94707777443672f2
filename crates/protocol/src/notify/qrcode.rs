//! The qrcode scene's notification ([`QrcodeNotification`]): no
//! `notify_type`, the lowercase family's names (`payment_type`,
//! `eftpay_trade_no`), the order's `subject`, the buyer's `buyer_id`, and
//! the extras GBPAY and UnionPay add (docs/protocol.md "The qrcode scene").
//! Signed, acknowledged and retried like every notification.
//!
//! ```
//! use time::macros::datetime;
//! use vmp_protocol::notify::{QrcodeNotification, verify_qrcode_notification, TradeStatus, TradeType};
//! use vmp_protocol::{Amount, VmpTime};
//!
//! let now = datetime!(2026-01-01 04:01:03 UTC); // 12:01:03 in UTC+8
//! let n = QrcodeNotification {
//!     trade_type: TradeType::Sale,
//!     user_confirm_key: "S0001234".into(),
//!     transaction_id: "4200000001".into(),
//!     out_trade_no: "ORD1".into(),
//!     subject: "POS Transaction".into(),
//!     total_fee: "0.50".into(),
//!     amount: Amount::parse("0.50").unwrap(),
//!     currency: "HKD".into(),
//!     trade_status: TradeStatus::TradeSuccess,
//!     gmt_payment: "2026-01-01 12:01:02".into(),
//!     payment_type: "WECHATCN".into(),
//!     buyer_id: Some("oBuyer".into()),
//!     tid: Some("T0001".into()),
//!     eftpay_trade_no: "0126010112000012345600000".into(),
//!     extras: Vec::new(),
//!     time: VmpTime::from_datetime(now),
//! };
//! let body = n.to_signed_params("secret").to_json();
//! assert!(!body.contains("notify_type"));
//! assert_eq!(verify_qrcode_notification(body.as_bytes(), "secret", now), Ok(n));
//! ```

use time::OffsetDateTime;

use crate::amount::Amount;
use crate::params::Params;
use crate::sign;
use crate::status::{TradeStatus, TradeType};
use crate::vmptime::VmpTime;

use super::{NotificationError, malformed, required, verify_signed};

/// The fields GBPAY (`rate`, `actual_total_fee`, `actual_total_fee_type`)
/// and UnionPay (`payment_amount`, `cost_amount`, `uplan_discount`,
/// `amount_discount`) add to their notifications.
pub const QRCODE_EXTRA_FIELDS: [&str; 7] = [
    "rate",
    "actual_total_fee",
    "actual_total_fee_type",
    "payment_amount",
    "cost_amount",
    "uplan_discount",
    "amount_discount",
];

/// A qrcode sale's notification, as the gateway POSTs it to `notify_url`
/// (signed JSON). Fields are listed in wire order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrcodeNotification {
    /// `SALE`.
    pub trade_type: TradeType,
    /// The merchant's key.
    pub user_confirm_key: String,
    /// The wallet provider's order number.
    pub transaction_id: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// The sale's `subject`.
    pub subject: String,
    /// `total_fee` exactly as on the wire (it is signed as text).
    pub total_fee: String,
    /// `total_fee` in minor units.
    pub amount: Amount,
    /// `currency` code as on the wire.
    pub currency: String,
    /// `trade_status`: only [`TradeStatus::TradeSuccess`] means paid.
    pub trade_status: TradeStatus,
    /// `gmt_payment`, `yyyy-MM-dd HH:mm:ss` in UTC+8, as on the wire.
    pub gmt_payment: String,
    /// `payment_type`: the wallet, e.g. `WECHATCN`.
    pub payment_type: String,
    /// `buyer_id`: the buyer's account at the wallet, when it paid.
    pub buyer_id: Option<String>,
    /// `tid`, when the sale carried one.
    pub tid: Option<String>,
    /// The gateway's order number.
    pub eftpay_trade_no: String,
    /// The wallet's own extra fields ([`QRCODE_EXTRA_FIELDS`]), in wire order.
    pub extras: Vec<(String, String)>,
    /// `time` of this delivery (UTC+8), stamped at each attempt.
    pub time: VmpTime,
}

impl QrcodeNotification {
    /// The parameters in wire order, without `sign`; absent options are
    /// left out (never sent empty).
    pub fn to_params(&self) -> Params {
        let mut p = Params::new()
            .with("trade_type", self.trade_type.as_str())
            .with("user_confirm_key", &self.user_confirm_key)
            .with("transaction_id", &self.transaction_id)
            .with("out_trade_no", &self.out_trade_no)
            .with("subject", &self.subject)
            .with("total_fee", &self.total_fee)
            .with("currency", &self.currency)
            .with("trade_status", self.trade_status.as_str())
            .with("gmt_payment", &self.gmt_payment)
            .with("payment_type", &self.payment_type);
        for (name, value) in [("buyer_id", &self.buyer_id), ("tid", &self.tid)] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                p.set(name, v);
            }
        }
        p.set("eftpay_trade_no", &self.eftpay_trade_no);
        for (k, v) in &self.extras {
            p.set(k, v);
        }
        p.set("time", self.time.to_string());
        p
    }

    /// [`QrcodeNotification::to_params`] plus `sign` computed with `secret`.
    pub fn to_signed_params(&self, secret: &str) -> Params {
        let mut p = self.to_params();
        sign::sign_in_place(secret, &mut p);
        p
    }

    /// Whether this reports a paid sale (`SALE`, `TRADE_SUCCESS`).
    pub fn is_paid_sale(&self) -> bool {
        self.trade_type == TradeType::Sale && self.trade_status.is_paid()
    }
}

impl TryFrom<&Params> for QrcodeNotification {
    type Error = NotificationError;

    /// Reads the fields. Does **not** check the signature or the time
    /// window: use [`verify_qrcode_notification`] on anything received.
    fn try_from(p: &Params) -> Result<Self, NotificationError> {
        let total_fee = required(p, "total_fee")?;
        let amount = Amount::parse(total_fee)
            .map_err(|e| NotificationError::Malformed(format!("total_fee is not an amount ({e})")))?;
        let time = VmpTime::parse(required(p, "time")?).map_err(|e| NotificationError::Malformed(e.to_string()))?;
        let opt = |name: &str| p.get(name).map(str::to_owned);
        Ok(Self {
            trade_type: TradeType::parse(required(p, "trade_type")?),
            user_confirm_key: required(p, "user_confirm_key")?.to_owned(),
            transaction_id: required(p, "transaction_id")?.to_owned(),
            out_trade_no: required(p, "out_trade_no")?.to_owned(),
            subject: required(p, "subject")?.to_owned(),
            total_fee: total_fee.to_owned(),
            amount,
            currency: required(p, "currency")?.to_owned(),
            trade_status: TradeStatus::parse(required(p, "trade_status")?),
            gmt_payment: required(p, "gmt_payment")?.to_owned(),
            payment_type: required(p, "payment_type")?.to_owned(),
            buyer_id: opt("buyer_id"),
            tid: opt("tid"),
            eftpay_trade_no: required(p, "eftpay_trade_no")?.to_owned(),
            extras: QRCODE_EXTRA_FIELDS.iter().filter_map(|k| Some(((*k).to_owned(), opt(k)?))).collect(),
            time,
        })
    }
}

/// Verifies parsed qrcode notification parameters: signature, ±30 minute
/// window of `time` against `now` (UTC+8), then the fields.
///
/// # Errors
/// As `verify_params`: bad signature, stale, missing or malformed field.
pub fn verify_qrcode_params(
    params: &Params,
    secret: &str,
    now: OffsetDateTime,
) -> Result<QrcodeNotification, NotificationError> {
    verify_signed(params, secret, now)?;
    QrcodeNotification::try_from(params)
}

/// Verifies a qrcode notification POSTed as JSON to `notify_url`. Act on
/// the result (and only on [`QrcodeNotification::is_paid_sale`]) only
/// after this returns `Ok`.
///
/// # Errors
/// [`NotificationError::Malformed`] when the body is not a JSON object,
/// then as [`verify_qrcode_params`].
pub fn verify_qrcode_notification(
    body: &[u8],
    secret: &str,
    now: OffsetDateTime,
) -> Result<QrcodeNotification, NotificationError> {
    let params = Params::from_json(body).map_err(malformed)?;
    verify_qrcode_params(&params, secret, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-01 04:01:03 UTC);

    fn gbpay() -> QrcodeNotification {
        QrcodeNotification {
            trade_type: TradeType::Sale,
            user_confirm_key: "K1".into(),
            transaction_id: "T1".into(),
            out_trade_no: "O1".into(),
            subject: "till 3".into(),
            total_fee: "12.00".into(),
            amount: Amount::parse("12.00").unwrap(),
            currency: "HKD".into(),
            trade_status: TradeStatus::TradeSuccess,
            gmt_payment: "2026-01-01 12:01:02".into(),
            payment_type: "GBPAY".into(),
            buyer_id: None,
            tid: None,
            eftpay_trade_no: "0100".into(),
            extras: vec![
                ("rate".into(), "1".into()),
                ("actual_total_fee".into(), "12.00".into()),
                ("actual_total_fee_type".into(), "HKD".into()),
            ],
            time: VmpTime::from_datetime(NOW),
        }
    }

    #[test]
    fn it_round_trips_with_the_wallets_extras_and_refuses_tampering() {
        let n = gbpay();
        let p = n.to_signed_params("s");
        let keys: Vec<&str> = p.keys().collect();
        assert_eq!(&keys[..3], ["trade_type", "user_confirm_key", "transaction_id"]);
        assert!(keys.contains(&"rate") && !keys.contains(&"notify_type") && !keys.contains(&"buyer_id"));
        assert_eq!(verify_qrcode_params(&p, "s", NOW), Ok(n));
        let mut tampered = p.clone();
        tampered.set("total_fee", "1200.00");
        assert!(matches!(verify_qrcode_params(&tampered, "s", NOW), Err(NotificationError::BadSignature(_))));
        assert!(matches!(
            verify_qrcode_params(&p, "s", NOW + time::Duration::hours(1)),
            Err(NotificationError::Stale { .. })
        ));
    }

    #[test]
    fn each_missing_required_field_is_named() {
        for name in [
            "trade_type",
            "user_confirm_key",
            "transaction_id",
            "out_trade_no",
            "subject",
            "total_fee",
            "currency",
            "trade_status",
            "gmt_payment",
            "payment_type",
            "eftpay_trade_no",
        ] {
            let mut p = gbpay().to_params();
            p.remove(name);
            sign::sign_in_place("s", &mut p);
            assert_eq!(verify_qrcode_params(&p, "s", NOW), Err(NotificationError::MissingField(name)), "{name}");
        }
        assert!(matches!(verify_qrcode_notification(b"[]", "s", NOW), Err(NotificationError::Malformed(_))));
    }
}
