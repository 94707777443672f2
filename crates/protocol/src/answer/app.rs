//! [`AppOrderPlaced`]: the app scene's sale answer, with the `payPackage`
//! the wallet's mobile SDK takes.

use crate::fields::{EftTradeNo, OutTradeNo};
use crate::params::Params;
use crate::request::{AppOrder, TradeRef};

use super::{AnswerError, PayPackage, Reader, check_key, check_out_trade_no};

/// A successful app sale's answer: hand [`AppOrderPlaced::pay_package`] to
/// the wallet's SDK in the app (WeChat's `PayReq`, Alipay's `payOrder`).
///
/// ```json
/// {"return_status":"00","return_char":"","eft_trade_no":"0126…","out_trade_no":"20260101120000",
///  "payType":"WeChat","wallet":"WECHATHK","transaction_amount":"0.10","user_confirm_key":"S0001234",
///  "payPackage":{"appid":"wx…","partnerid":"1…","prepayid":"wx…","package":"Sign=WXPay",
///  "noncestr":"…","timestamp":"1767240000","sign":"…"},"time":"20260101120001","sign":"…"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppOrderPlaced {
    /// The gateway's order number.
    pub eft_trade_no: EftTradeNo,
    /// The merchant's order number.
    pub out_trade_no: OutTradeNo,
    /// `payType` echoed.
    pub pay_type: String,
    /// `wallet` echoed.
    pub wallet: String,
    /// `transaction_amount` echoed exactly as sent.
    pub transaction_amount: String,
    /// The merchant's key.
    pub user_confirm_key: String,
    /// What the wallet's SDK takes.
    pub pay_package: PayPackage,
}

impl AppOrderPlaced {
    /// The fields as the gateway writes them (`payPackage` as an object).
    pub fn to_params(&self) -> Params {
        Params::new()
            .with("eft_trade_no", self.eft_trade_no.as_str())
            .with("out_trade_no", self.out_trade_no.as_str())
            .with("payType", &self.pay_type)
            .with("wallet", &self.wallet)
            .with("transaction_amount", &self.transaction_amount)
            .with("user_confirm_key", &self.user_confirm_key)
            .with_object("payPackage", &self.pay_package.to_params())
    }

    /// Reads an answer (its signature already verified).
    ///
    /// # Errors
    /// [`AnswerError`] when a required field is missing or malformed.
    pub fn from_params(p: &Params) -> Result<Self, AnswerError> {
        let r = Reader(p);
        Ok(Self {
            eft_trade_no: r.eft_trade_no()?,
            out_trade_no: r.out_trade_no()?,
            pay_type: r.need("payType")?,
            wallet: r.need("wallet")?,
            transaction_amount: r.need("transaction_amount")?,
            user_confirm_key: r.opt("user_confirm_key").unwrap_or_default(),
            pay_package: PayPackage::from_answer(p)?,
        })
    }

    /// Reads an answer and checks it is about `request` of merchant `key`.
    ///
    /// # Errors
    /// [`AnswerError`] when unreadable or about another order or merchant.
    pub fn for_request(p: &Params, request: &AppOrder, key: &str) -> Result<Self, AnswerError> {
        let placed = Self::from_params(p)?;
        check_out_trade_no(&placed.out_trade_no, &request.order.out_trade_no)?;
        check_key(&placed.user_confirm_key, key)?;
        Ok(placed)
    }

    /// The order, by the gateway's number (for queries and refunds).
    pub fn order(&self) -> TradeRef {
        TradeRef::Eft(self.eft_trade_no.clone())
    }
}

impl From<&AppOrderPlaced> for TradeRef {
    fn from(placed: &AppOrderPlaced) -> Self {
        placed.order()
    }
}
