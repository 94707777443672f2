//! The jsapi scene's answers: [`JsapiOrderPlaced`] (the sale, with the
//! wallet's `payPackage`) and [`JsapiRefundAnswer`], in the lowercase
//! family (`paytype`, `payment_type`, `eftpay_trade_no`, `refund_no`).

use crate::amount::WireAmount;
use crate::fields::{EftTradeNo, OutTradeNo};
use crate::params::Params;
use crate::request::{JsapiOrder, JsapiRefund, TradeRef};
use crate::status::TradeStatus;

use super::{AnswerError, PayPackage, Reader, check_key, check_order, check_out_trade_no, put};

/// A successful jsapi sale's answer: hand [`JsapiOrderPlaced::pay_package`]
/// to the wallet's JavaScript bridge. `00` means "accepted and stored",
/// never "paid".
///
/// ```json
/// {"return_status":"00","return_char":"","user_confirm_key":"S0001234","out_trade_no":"T2026010112000001",
///  "eftpay_trade_no":"0126…","paytype":"WeChat","payment_type":"WECHATHK","scene_type":"APPLETS",
///  "sub_openid":"oAbC-miniprogram-openid","payPackage":{"appId":"wx…","timeStamp":"1767240000",
///  "nonceStr":"…","package":"prepay_id=wx…","signType":"HMAC-SHA256","paySign":"…"},
///  "time":"20260101120001","sign":"…"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsapiOrderPlaced {
    /// The merchant's key.
    pub user_confirm_key: String,
    /// The merchant's order number.
    pub out_trade_no: OutTradeNo,
    /// The gateway's order number (`eftpay_trade_no`).
    pub eftpay_trade_no: EftTradeNo,
    /// `paytype` echoed.
    pub pay_type: String,
    /// `payment_type` echoed.
    pub wallet: String,
    /// `scene_type` echoed.
    pub scene_type: String,
    /// `openid` echoed, when sent.
    pub openid: Option<String>,
    /// `sub_openid` echoed, when sent.
    pub sub_openid: Option<String>,
    /// What the wallet's bridge takes.
    pub pay_package: PayPackage,
}

impl JsapiOrderPlaced {
    /// The fields as the gateway writes them (`payPackage` as an object).
    pub fn to_params(&self) -> Params {
        let mut p = Params::new()
            .with("user_confirm_key", &self.user_confirm_key)
            .with("out_trade_no", self.out_trade_no.as_str())
            .with("eftpay_trade_no", self.eftpay_trade_no.as_str())
            .with("paytype", &self.pay_type)
            .with("payment_type", &self.wallet)
            .with("scene_type", &self.scene_type);
        put(&mut p, "sub_openid", self.sub_openid.as_deref());
        put(&mut p, "openid", self.openid.as_deref());
        p.set_object("payPackage", &self.pay_package.to_params());
        p
    }

    /// Reads an answer (its signature already verified).
    ///
    /// # Errors
    /// [`AnswerError`] when a required field is missing or malformed.
    pub fn from_params(p: &Params) -> Result<Self, AnswerError> {
        let r = Reader(p);
        Ok(Self {
            user_confirm_key: r.opt("user_confirm_key").unwrap_or_default(),
            out_trade_no: r.out_trade_no()?,
            eftpay_trade_no: r.eft_trade_no()?,
            pay_type: r.need("paytype")?,
            wallet: r.need("payment_type")?,
            scene_type: r.need("scene_type")?,
            openid: r.opt("openid"),
            sub_openid: r.opt("sub_openid"),
            pay_package: PayPackage::from_answer(p)?,
        })
    }

    /// Reads an answer and checks it is about `request` of merchant `key`.
    ///
    /// # Errors
    /// [`AnswerError`] when unreadable or about another order or merchant.
    pub fn for_request(p: &Params, request: &JsapiOrder, key: &str) -> Result<Self, AnswerError> {
        let placed = Self::from_params(p)?;
        check_out_trade_no(&placed.out_trade_no, &request.out_trade_no)?;
        check_key(&placed.user_confirm_key, key)?;
        Ok(placed)
    }
}

impl JsapiOrderPlaced {
    /// The order, by the gateway's number (for queries and refunds).
    pub fn order(&self) -> TradeRef {
        TradeRef::Eft(self.eftpay_trade_no.clone())
    }
}

impl From<&JsapiOrderPlaced> for TradeRef {
    fn from(placed: &JsapiOrderPlaced) -> Self {
        placed.order()
    }
}

/// A jsapi refund's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsapiRefundAnswer {
    /// The merchant's key.
    pub user_confirm_key: String,
    /// The merchant's order number.
    pub out_trade_no: OutTradeNo,
    /// The merchant's refund number.
    pub refund_no: String,
    /// The gateway's order number.
    pub eftpay_trade_no: EftTradeNo,
    /// `TRADE_REFUND` (partly refunded), `TRADE_CLOSED` (this refund
    /// completed a full refund) or `APPLY_SUCCESS` (an apply-refund that
    /// completes later).
    pub trade_status: TradeStatus,
    /// `refund_time`, `yyyyMMddHHmmss` in UTC+8.
    pub refund_time: Option<String>,
    /// `transaction_amount`: this refund's amount.
    pub transaction_amount: WireAmount,
    /// `total_fee` as the request sent it.
    pub total_fee: Option<WireAmount>,
    /// `fee_type`: the currency code.
    pub fee_type: Option<String>,
    /// `paytype` of the order.
    pub pay_type: Option<String>,
    /// `payment_type` of the order.
    pub wallet: Option<String>,
}

impl JsapiRefundAnswer {
    /// The fields as the gateway writes them.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new()
            .with("user_confirm_key", &self.user_confirm_key)
            .with("out_trade_no", self.out_trade_no.as_str())
            .with("refund_no", &self.refund_no)
            .with("eftpay_trade_no", self.eftpay_trade_no.as_str())
            .with("trade_status", self.trade_status.as_str());
        put(&mut p, "refund_time", self.refund_time.as_deref());
        p.set("transaction_amount", self.transaction_amount.as_str());
        put(&mut p, "total_fee", self.total_fee.as_ref().map(WireAmount::as_str));
        put(&mut p, "fee_type", self.fee_type.as_deref());
        put(&mut p, "paytype", self.pay_type.as_deref());
        put(&mut p, "payment_type", self.wallet.as_deref());
        p
    }

    /// Reads an answer and checks it is about `refund` of merchant `key`.
    ///
    /// # Errors
    /// [`AnswerError`] when unreadable or about another order or refund.
    pub fn for_request(p: &Params, refund: &JsapiRefund, key: &str) -> Result<Self, AnswerError> {
        let r = Reader(p);
        let answer = Self {
            user_confirm_key: r.opt("user_confirm_key").unwrap_or_default(),
            out_trade_no: r.out_trade_no()?,
            refund_no: r.need("refund_no")?,
            eftpay_trade_no: r.eft_trade_no()?,
            trade_status: r.trade_status()?,
            refund_time: r.opt("refund_time"),
            transaction_amount: r.amount("transaction_amount")?,
            total_fee: r.opt_amount("total_fee")?,
            fee_type: r.opt("fee_type"),
            pay_type: r.opt("paytype"),
            wallet: r.opt("payment_type"),
        };
        check_order(&answer.eftpay_trade_no, &answer.out_trade_no, &refund.order)?;
        check_key(&answer.user_confirm_key, key)?;
        if answer.refund_no != refund.refund_no.as_str() {
            return Err(AnswerError(format!(
                "the answer is for refund_no {:?}, not {:?}",
                answer.refund_no,
                refund.refund_no.as_str()
            )));
        }
        Ok(answer)
    }

    /// Whether the refund is accepted but not complete (`APPLY_SUCCESS`).
    pub fn is_pending(&self) -> bool {
        matches!(self.trade_status, TradeStatus::ApplySuccess | TradeStatus::TradeProcessing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::AlipayJsapiPackage;
    use crate::codes::ReturnStatus;
    use crate::sign::verify;
    use time::macros::datetime;

    #[test]
    fn the_signed_answer_covers_the_pay_package_as_compact_json_and_verifies_after_the_wire() {
        let placed = JsapiOrderPlaced {
            user_confirm_key: "S0001234".into(),
            out_trade_no: OutTradeNo::parse("T1").unwrap(),
            eftpay_trade_no: EftTradeNo::parse("0126").unwrap(),
            pay_type: "Alipay".into(),
            wallet: "ALIPAYHK".into(),
            scene_type: "APPLETS".into(),
            openid: None,
            sub_openid: Some("2088".into()),
            pay_package: PayPackage::AlipayJsapi(AlipayJsapiPackage { trade_no: "2026".into() }),
        };
        let answer =
            super::super::signed("k", ReturnStatus::Accepted, "", placed.to_params(), datetime!(2026-01-01 4:00 UTC));
        let text = answer.to_json();
        assert!(text.contains(r#""payPackage":{"tradeNO":"2026"}"#), "{text}");
        let got = Params::from_json(text.as_bytes()).unwrap();
        assert_eq!(verify("k", &got), Ok(()));
        let mut tampered = got.clone();
        tampered.set_object("payPackage", &Params::new().with("tradeNO", "2027"));
        assert!(verify("k", &tampered).is_err(), "the payPackage is signed");
        assert_eq!(JsapiOrderPlaced::from_params(&got), Ok(placed));
    }
}
