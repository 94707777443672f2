//! The jsapi scene's notification ([`JsapiNotification`]), as the gateway
//! POSTs it to the sale's `notify_url` (docs/protocol.md "The jsapi
//! scene"). It is the lowercase family's set: no `notify_type`, `paytype`
//! and `payment_type` instead of `payType` and `wallet`, `eftpay_trade_no`
//! only, plus `scene_type`, `fee_type`, `rate` and the buyer's `openid` or
//! `sub_openid`.
//!
//! A jsapi sale is notified **only when paid** (`TRADE_SUCCESS`): merchant
//! handlers in the wild book any verified notification as paid without
//! reading `trade_status`. The same signature, `time` window and
//! acknowledgement as every notification apply ([`crate::notify`]).
//!
//! ```
//! use time::macros::datetime;
//! use vmp_protocol::notify::TradeStatus;
//! use vmp_protocol::notify_jsapi::{JsapiNotification, verify_jsapi_notification};
//! use vmp_protocol::{Amount, VmpTime};
//!
//! let now = datetime!(2026-01-01 04:01:03 UTC); // 12:01:03 in UTC+8
//! let n = JsapiNotification {
//!     pay_type: "WeChat".into(),
//!     user_confirm_key: "S0001234".into(),
//!     transaction_id: "4200000001202601011234567890".into(),
//!     out_trade_no: "T2026010112000001".into(),
//!     subject: None,
//!     total_fee: "12.50".into(),
//!     amount: Amount::parse("12.50").unwrap(),
//!     currency: "HKD".into(),
//!     trade_status: TradeStatus::TradeSuccess,
//!     gmt_payment: "2026-01-01 12:01:02".into(),
//!     wallet: "WECHATHK".into(),
//!     scene_type: "APPLETS".into(),
//!     tid: None,
//!     fee_type: Some("HKD".into()),
//!     rate: Some("1".into()),
//!     eftpay_trade_no: "0126010112000000000100000".into(),
//!     openid: None,
//!     sub_openid: Some("oAbC-miniprogram-openid".into()),
//!     refund: None,
//!     time: VmpTime::from_datetime(now),
//! };
//! let body = n.to_signed_params("s3cret").to_json();
//! let got = verify_jsapi_notification(body.as_bytes(), "s3cret", now).unwrap();
//! assert!(got.is_paid_sale());
//! assert_eq!(got, n);
//! ```

use time::OffsetDateTime;

use crate::amount::{Amount, Currency};
use crate::notify::{NotificationError, required, verify_signed};
use crate::params::Params;
use crate::sign;
use crate::status::{TradeStatus, TradeType};
use crate::vmptime::VmpTime;

/// What a refund's notification adds (an apply-refund's completion, sent
/// to the refund's own `notify_url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsapiRefundNotice {
    /// `refund_no`.
    pub refund_no: String,
    /// `original_amount`: the sale's amount.
    pub original_amount: String,
}

/// A jsapi notification: see the module documentation. Fields are in wire
/// order; `None` options are left out (never sent empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsapiNotification {
    /// `paytype`.
    pub pay_type: String,
    /// The merchant's key.
    pub user_confirm_key: String,
    /// The wallet provider's order number.
    pub transaction_id: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// `subject`, when the sale had one.
    pub subject: Option<String>,
    /// `total_fee` exactly as on the wire (the refund's amount on a refund).
    pub total_fee: String,
    /// `total_fee` in minor units.
    pub amount: Amount,
    /// `currency` code.
    pub currency: String,
    /// `trade_status`: only [`TradeStatus::TradeSuccess`] means paid.
    pub trade_status: TradeStatus,
    /// `gmt_payment`, `yyyy-MM-dd HH:mm:ss` in UTC+8.
    pub gmt_payment: String,
    /// `payment_type`: the wallet.
    pub wallet: String,
    /// `scene_type`.
    pub scene_type: String,
    /// `tid`, when the sale had one.
    pub tid: Option<String>,
    /// `fee_type`: the sale's currency.
    pub fee_type: Option<String>,
    /// `rate`: the exchange rate applied (the sandbox sends `1`).
    pub rate: Option<String>,
    /// The gateway's order number.
    pub eftpay_trade_no: String,
    /// `openid` (`PUBLIC` sales).
    pub openid: Option<String>,
    /// `sub_openid` (`APPLETS` sales).
    pub sub_openid: Option<String>,
    /// On a refund's notification: `trade_type` `REFUND`, `refund_no`,
    /// `original_amount`.
    pub refund: Option<JsapiRefundNotice>,
    /// `time` of this delivery (UTC+8).
    pub time: VmpTime,
}

impl JsapiNotification {
    /// The parameters in wire order, without `sign`.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new()
            .with("paytype", &self.pay_type)
            .with("user_confirm_key", &self.user_confirm_key)
            .with("transaction_id", &self.transaction_id)
            .with("out_trade_no", &self.out_trade_no);
        opt(&mut p, "subject", self.subject.as_deref());
        p.set("total_fee", &self.total_fee)
            .set("currency", &self.currency)
            .set("trade_status", self.trade_status.as_str())
            .set("gmt_payment", &self.gmt_payment)
            .set("payment_type", &self.wallet)
            .set("scene_type", &self.scene_type);
        opt(&mut p, "tid", self.tid.as_deref());
        opt(&mut p, "fee_type", self.fee_type.as_deref());
        opt(&mut p, "rate", self.rate.as_deref());
        p.set("eftpay_trade_no", &self.eftpay_trade_no);
        opt(&mut p, "openid", self.openid.as_deref());
        opt(&mut p, "sub_openid", self.sub_openid.as_deref());
        if let Some(r) = &self.refund {
            p.set("trade_type", TradeType::Refund.as_str())
                .set("refund_no", &r.refund_no)
                .set("original_amount", &r.original_amount);
        }
        p.set("time", self.time.to_string());
        p
    }

    /// [`JsapiNotification::to_params`] plus `sign` computed with `secret`.
    pub fn to_signed_params(&self, secret: &str) -> Params {
        let mut p = self.to_params();
        sign::sign_in_place(secret, &mut p);
        p
    }

    /// Whether it reports a paid sale (no refund, `TRADE_SUCCESS`).
    pub fn is_paid_sale(&self) -> bool {
        self.refund.is_none() && self.trade_status.is_paid()
    }

    /// The currency when it is one Place an Order accepts.
    pub fn known_currency(&self) -> Option<Currency> {
        self.currency.parse().ok()
    }
}

fn opt(p: &mut Params, name: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        p.set(name, v);
    }
}

impl TryFrom<&Params> for JsapiNotification {
    type Error = NotificationError;

    /// Reads the fields. Does **not** check the signature or the time
    /// window: use [`verify_jsapi_params`] on anything received.
    fn try_from(p: &Params) -> Result<Self, NotificationError> {
        let text = |name: &'static str| required(p, name).map(str::to_owned);
        let total_fee = required(p, "total_fee")?;
        let amount = Amount::parse(total_fee)
            .map_err(|e| NotificationError::Malformed(format!("total_fee is not an amount ({e})")))?;
        let time = VmpTime::parse(required(p, "time")?).map_err(|e| NotificationError::Malformed(e.to_string()))?;
        let refund = match p.get("trade_type").map(TradeType::parse) {
            Some(TradeType::Refund) => {
                Some(JsapiRefundNotice { refund_no: text("refund_no")?, original_amount: text("original_amount")? })
            }
            _ => None,
        };
        let get = |name: &str| p.get(name).map(str::to_owned);
        Ok(Self {
            pay_type: text("paytype")?,
            user_confirm_key: text("user_confirm_key")?,
            transaction_id: text("transaction_id")?,
            out_trade_no: text("out_trade_no")?,
            subject: get("subject"),
            total_fee: total_fee.to_owned(),
            amount,
            currency: text("currency")?,
            trade_status: TradeStatus::parse(required(p, "trade_status")?),
            gmt_payment: text("gmt_payment")?,
            wallet: text("payment_type")?,
            scene_type: text("scene_type")?,
            tid: get("tid"),
            fee_type: get("fee_type"),
            rate: get("rate"),
            eftpay_trade_no: text("eftpay_trade_no")?,
            openid: get("openid"),
            sub_openid: get("sub_openid"),
            refund,
            time,
        })
    }
}

/// Verifies parsed notification parameters (signature, then the `time`
/// window, then the fields) and reads them.
///
/// # Errors
/// As [`crate::notify::verify_signed`], then
/// [`NotificationError::MissingField`] or [`NotificationError::Malformed`].
pub fn verify_jsapi_params(
    params: &Params,
    secret: &str,
    now: OffsetDateTime,
) -> Result<JsapiNotification, NotificationError> {
    verify_signed(params, secret, now)?;
    JsapiNotification::try_from(params)
}

/// Verifies a jsapi notification POSTed as JSON to `notify_url`. Book the
/// order as paid only on [`JsapiNotification::is_paid_sale`], and only
/// after this returns `Ok`.
///
/// # Errors
/// [`NotificationError::Malformed`] when the body is not a JSON object,
/// then as [`verify_jsapi_params`].
pub fn verify_jsapi_notification(
    body: &[u8],
    secret: &str,
    now: OffsetDateTime,
) -> Result<JsapiNotification, NotificationError> {
    let params = Params::from_json(body).map_err(|e| NotificationError::Malformed(e.to_string()))?;
    verify_jsapi_params(&params, secret, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-01 04:01:03 UTC);

    fn example() -> JsapiNotification {
        JsapiNotification {
            pay_type: "WeChat".into(),
            user_confirm_key: "S0001234".into(),
            transaction_id: "4200000001202601011234567890".into(),
            out_trade_no: "T2026010112000001".into(),
            subject: Some("Order T2026010112000001".into()),
            total_fee: "12.50".into(),
            amount: Amount::parse("12.50").unwrap(),
            currency: "HKD".into(),
            trade_status: TradeStatus::TradeSuccess,
            gmt_payment: "2026-01-01 12:01:02".into(),
            wallet: "WECHATHK".into(),
            scene_type: "APPLETS".into(),
            tid: None,
            fee_type: Some("HKD".into()),
            rate: Some("1".into()),
            eftpay_trade_no: "0126010112000000000100000".into(),
            openid: None,
            sub_openid: Some("oAbC-miniprogram-openid".into()),
            refund: None,
            time: VmpTime::parse("20260101120103").unwrap(),
        }
    }

    #[test]
    fn the_wire_keys_are_the_jsapi_set_in_its_order() {
        let keys: Vec<String> = example().to_params().keys().map(str::to_owned).collect();
        assert_eq!(
            keys,
            [
                "paytype",
                "user_confirm_key",
                "transaction_id",
                "out_trade_no",
                "subject",
                "total_fee",
                "currency",
                "trade_status",
                "gmt_payment",
                "payment_type",
                "scene_type",
                "fee_type",
                "rate",
                "eftpay_trade_no",
                "sub_openid",
                "time",
            ]
        );
    }

    #[test]
    fn what_real_handlers_read_unconditionally_is_required_and_tampering_fails() {
        let signed = example().to_signed_params("k");
        assert_eq!(verify_jsapi_params(&signed, "k", NOW), Ok(example()));
        for name in ["out_trade_no", "total_fee", "transaction_id", "paytype", "eftpay_trade_no", "gmt_payment"] {
            let mut p = example().to_params();
            p.remove(name);
            sign::sign_in_place("k", &mut p);
            assert_eq!(verify_jsapi_params(&p, "k", NOW), Err(NotificationError::MissingField(name)), "{name}");
            let mut t = signed.clone();
            t.set(name, "1");
            assert!(matches!(verify_jsapi_params(&t, "k", NOW), Err(NotificationError::BadSignature(_))), "{name}");
        }
        assert!(matches!(verify_jsapi_notification(b"[]", "k", NOW), Err(NotificationError::Malformed(_))));
    }

    #[test]
    fn a_refund_notice_is_no_paid_sale() {
        let mut n = example();
        n.trade_status = TradeStatus::TradeRefund;
        n.refund = Some(JsapiRefundNotice { refund_no: "B1".into(), original_amount: "12.50".into() });
        let p = n.to_signed_params("k");
        assert_eq!(p.get("trade_type"), Some("REFUND"));
        let got = verify_jsapi_params(&p, "k", NOW).unwrap();
        assert!(!got.is_paid_sale());
        assert_eq!(got, n);
    }
}
