//! Gateway answers: the typed answer of each operation, which the gateway
//! encodes ([`OrderPlaced::to_params`] and friends) and the SDK decodes
//! ([`OrderPlaced::from_params`]), and the envelope every answer carries:
//! `return_status`, `return_char`, then `time` and `sign` when the code is
//! `>= 00` ([`signed`], [`unsigned`]).
//!
//! Decoding checks that an answer is about what was asked (the order, the
//! refund, the merchant): a verified answer for another order is still the
//! wrong answer.

mod after;
mod app;
mod cashier;
mod jsapi;
mod pay_package;
mod qrcode;
mod sale;

pub use after::{CloseAnswer, QueryAnswer, RefundAnswer, RefundStatusAnswer};
pub use app::AppOrderPlaced;
pub use jsapi::{JsapiOrderPlaced, JsapiRefundAnswer};
pub use pay_package::{
    AlipayAppPackage, AlipayJsapiPackage, PayPackage, WECHAT_APP_PACKAGE, WechatAppPackage, WechatJsapiPackage,
};
pub use qrcode::{QrcodeCloseAnswer, QrcodeOrderPlaced, QrcodeQueryAnswer, QrcodeRefundAnswer};
pub use sale::OrderPlaced;

use time::OffsetDateTime;

use crate::amount::WireAmount;
use crate::codes::ReturnStatus;
use crate::fields::{EftTradeNo, OutTradeNo};
use crate::params::Params;
use crate::request::TradeRef;
use crate::sign::sign_in_place;
use crate::status::{TradeStatus, TradeType};
use crate::vmptime::format_time;

/// Why an answer could not be read, or is not about what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AnswerError(pub String);

/// Reads an answer's fields: absent and empty count as not sent.
pub(crate) struct Reader<'a>(pub(crate) &'a Params);

impl Reader<'_> {
    pub(crate) fn opt(&self, name: &str) -> Option<String> {
        self.0.get(name).map(str::to_owned)
    }

    pub(crate) fn need(&self, name: &str) -> Result<String, AnswerError> {
        self.opt(name).ok_or_else(|| AnswerError(format!("the answer has no {name}")))
    }

    pub(crate) fn amount(&self, name: &str) -> Result<WireAmount, AnswerError> {
        let text = self.need(name)?;
        WireAmount::parse(&text).map_err(|e| AnswerError(format!("the answer's {name} {text:?} is not an amount: {e}")))
    }

    pub(crate) fn opt_amount(&self, name: &str) -> Result<Option<WireAmount>, AnswerError> {
        self.0.get(name).map(|_| self.amount(name)).transpose()
    }

    /// A total the gateway computed (not limited to 8 characters).
    pub(crate) fn opt_sum(&self, name: &str) -> Result<Option<WireAmount>, AnswerError> {
        self.opt(name)
            .map(|text| {
                WireAmount::parse_sum(&text)
                    .map_err(|e| AnswerError(format!("the answer's {name} {text:?} is not an amount: {e}")))
            })
            .transpose()
    }

    pub(crate) fn eft_trade_no(&self) -> Result<EftTradeNo, AnswerError> {
        let text = self.need("eft_trade_no").or_else(|_| self.need("eftpay_trade_no"))?;
        EftTradeNo::parse(&text).map_err(|e| AnswerError(format!("the answer's eft_trade_no is malformed: {e}")))
    }

    pub(crate) fn out_trade_no(&self) -> Result<OutTradeNo, AnswerError> {
        let text = self.need("out_trade_no")?;
        OutTradeNo::parse(&text).map_err(|e| AnswerError(format!("the answer's out_trade_no is malformed: {e}")))
    }

    pub(crate) fn trade_status(&self) -> Result<TradeStatus, AnswerError> {
        self.need("trade_status").map(|s| TradeStatus::parse(&s))
    }

    pub(crate) fn trade_type(&self) -> Option<TradeType> {
        self.opt("trade_type").map(|t| TradeType::parse(&t))
    }
}

/// Checks an answer is about `want` (by whichever number was asked for).
pub(crate) fn check_order(eft: &EftTradeNo, out: &OutTradeNo, want: &TradeRef) -> Result<(), AnswerError> {
    let (got, wanted) = match want {
        TradeRef::Eft(e) => (eft.as_str(), e.as_str()),
        TradeRef::Out(o) => (out.as_str(), o.as_str()),
    };
    if got == wanted {
        Ok(())
    } else {
        Err(AnswerError(format!("the answer is for {} {got:?}, not {wanted:?}", want.field())))
    }
}

/// Checks a sale's answer is about the order placed.
pub(crate) fn check_out_trade_no(got: &OutTradeNo, want: &OutTradeNo) -> Result<(), AnswerError> {
    if got == want {
        Ok(())
    } else {
        Err(AnswerError(format!("the answer is for out_trade_no {:?}, not {:?}", got.as_str(), want.as_str())))
    }
}

/// Checks an echoed `user_confirm_key` is ours (an answer may leave it out).
pub(crate) fn check_key(got: &str, want: &str) -> Result<(), AnswerError> {
    if got.is_empty() || got == want {
        Ok(())
    } else {
        Err(AnswerError(format!("the answer is for user_confirm_key {got:?}, not {want:?}")))
    }
}

/// Writes an optional answer field.
pub(crate) fn put(p: &mut Params, name: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        p.set(name, v);
    }
}

/// Most characters `return_char` may carry (`String(100)`).
pub const RETURN_CHAR_MAX: usize = 100;

/// Cuts `text` to at most [`RETURN_CHAR_MAX`] characters.
pub fn clip_return_char(text: &str) -> String {
    text.chars().take(RETURN_CHAR_MAX).collect()
}

/// A signed answer: `return_status`, `return_char` (empty on `00`), the body
/// fields, `time` (UTC+8) and `sign` over all of it.
pub fn signed(secret: &str, status: ReturnStatus, return_char: &str, body: Params, now: OffsetDateTime) -> Params {
    let mut out = Params::new().with("return_status", status.code()).with("return_char", clip_return_char(return_char));
    out.append(body);
    out.set("time", format_time(now));
    sign_in_place(secret, &mut out);
    out
}

/// An unsigned answer, for negative codes or when no merchant is known.
pub fn unsigned(status: ReturnStatus, return_char: &str) -> Params {
    Params::new().with("return_status", status.code()).with("return_char", clip_return_char(return_char))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::verify;
    use time::macros::datetime;

    #[test]
    fn signed_answer_verifies_and_keeps_empty_fields_on_the_wire() {
        let body = Params::new().with("tid", "").with("out_trade_no", "1");
        let a = signed("s3cret", ReturnStatus::Accepted, "", body, datetime!(2024-01-01 04:00:00 UTC));
        let keys: Vec<&str> = a.keys().collect();
        assert_eq!(keys, ["return_status", "return_char", "tid", "out_trade_no", "time", "sign"]);
        assert_eq!(a.get("return_status"), Some("00"));
        assert!(a.contains("return_char"));
        assert!(a.contains("tid"));
        assert_eq!(a.get("time"), Some("20240101120000"));
        assert_eq!(verify("s3cret", &a), Ok(()));
    }

    #[test]
    fn return_char_is_clipped() {
        let a = unsigned(ReturnStatus::InvalidParameter, &"x".repeat(300));
        assert_eq!(a.get("return_char").unwrap().len(), 100);
        assert!(!a.contains("sign"));
    }
}
