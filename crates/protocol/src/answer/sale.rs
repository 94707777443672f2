//! [`OrderPlaced`]: the answer to Place an Order.

use crate::fields::{EftTradeNo, OutTradeNo};
use crate::params::Params;
use crate::request::{PlaceOrder, TradeRef};

use super::{AnswerError, Reader, check_key, check_out_trade_no};

/// A successful Place an Order answer's business fields, in the order the
/// gateway writes them (eftPay's example answer).
///
/// `00` only means "accepted and stored": the order is paid when a
/// verified notification or a query says `TRADE_SUCCESS`.
///
/// ```json
/// {"return_status":"00","return_char":"","pay_apptrade":"https://…/VMP/wap/payPage?userkey=…",
///  "user_confirm_key":"12345678","out_trade_no":"20190824010716","eft_trade_no":"0126…",
///  "payType":"Alipay","buyerType":"andriod","wallet":"ALIPAYHK","fee_type":"HKD",
///  "transaction_amount":"0.02","tid":"","time":"20190824010717","sign":"…"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPlaced {
    /// Where the buyer pays: redirect or link to it.
    pub pay_apptrade: String,
    /// The merchant's key.
    pub user_confirm_key: String,
    /// The merchant's order number.
    pub out_trade_no: OutTradeNo,
    /// The gateway's order number.
    pub eft_trade_no: EftTradeNo,
    /// `payType` echoed.
    pub pay_type: Option<String>,
    /// `buyerType` echoed.
    pub buyer_type: Option<String>,
    /// `wallet` echoed.
    pub wallet: Option<String>,
    /// `fee_type` (currency code).
    pub fee_type: Option<String>,
    /// `transaction_amount` echoed exactly as sent.
    pub transaction_amount: Option<String>,
    /// `tid` echoed (the gateway sends it empty when the order had none).
    pub tid: Option<String>,
}

impl OrderPlaced {
    /// The fields as the gateway writes them: every key present, an absent
    /// value as `""` (eftPay's example answer carries `"tid":""`).
    pub fn to_params(&self) -> Params {
        let or_empty = |v: &Option<String>| v.clone().unwrap_or_default();
        Params::new()
            .with("pay_apptrade", &self.pay_apptrade)
            .with("user_confirm_key", &self.user_confirm_key)
            .with("out_trade_no", self.out_trade_no.as_str())
            .with("eft_trade_no", self.eft_trade_no.as_str())
            .with("payType", or_empty(&self.pay_type))
            .with("buyerType", or_empty(&self.buyer_type))
            .with("wallet", or_empty(&self.wallet))
            .with("fee_type", or_empty(&self.fee_type))
            .with("transaction_amount", or_empty(&self.transaction_amount))
            .with("tid", or_empty(&self.tid))
    }

    /// [`OrderPlaced::to_params`], moving the text instead of copying it
    /// (the gateway answers every order with it).
    pub fn into_params(self) -> Params {
        Params::new()
            .with("pay_apptrade", self.pay_apptrade)
            .with("user_confirm_key", self.user_confirm_key)
            .with("out_trade_no", self.out_trade_no.into_string())
            .with("eft_trade_no", self.eft_trade_no.into_string())
            .with("payType", self.pay_type.unwrap_or_default())
            .with("buyerType", self.buyer_type.unwrap_or_default())
            .with("wallet", self.wallet.unwrap_or_default())
            .with("fee_type", self.fee_type.unwrap_or_default())
            .with("transaction_amount", self.transaction_amount.unwrap_or_default())
            .with("tid", self.tid.unwrap_or_default())
    }

    /// Reads an answer (its signature already verified).
    ///
    /// # Errors
    /// [`AnswerError`] when a required field is missing or malformed.
    pub fn from_params(p: &Params) -> Result<Self, AnswerError> {
        let r = Reader(p);
        Ok(Self {
            pay_apptrade: r.need("pay_apptrade")?,
            user_confirm_key: r.opt("user_confirm_key").unwrap_or_default(),
            out_trade_no: r.out_trade_no()?,
            eft_trade_no: r.eft_trade_no()?,
            pay_type: r.opt("payType"),
            buyer_type: r.opt("buyerType"),
            wallet: r.opt("wallet"),
            fee_type: r.opt("fee_type"),
            transaction_amount: r.opt("transaction_amount"),
            tid: r.opt("tid"),
        })
    }

    /// Reads an answer and checks it is about `request` of merchant `key`.
    ///
    /// # Errors
    /// [`AnswerError`] when unreadable or about another order or merchant.
    pub fn for_request(p: &Params, request: &PlaceOrder, key: &str) -> Result<Self, AnswerError> {
        Self::for_order(p, &request.out_trade_no, key)
    }

    /// Reads an answer and checks it is about `out_trade_no` of merchant `key`.
    pub(super) fn for_order(p: &Params, out_trade_no: &OutTradeNo, key: &str) -> Result<Self, AnswerError> {
        let placed = Self::from_params(p)?;
        check_out_trade_no(&placed.out_trade_no, out_trade_no)?;
        check_key(&placed.user_confirm_key, key)?;
        Ok(placed)
    }

    /// The order, by the gateway's number (for queries and refunds).
    pub fn order(&self) -> TradeRef {
        TradeRef::Eft(self.eft_trade_no.clone())
    }
}

impl From<&OrderPlaced> for TradeRef {
    fn from(placed: &OrderPlaced) -> Self {
        placed.order()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_pages_answer_reads_and_writes_back() {
        let answer = Params::from_json(
            br#"{"user_confirm_key":"12345678","wallet":"ALIPAYHK",
            "pay_apptrade":"https://vmp.eftpay.com.cn/VMP/wap/payPage?userkey=12345678&outTradeNo=20190824010716&sign=5c24",
            "return_char":"","transaction_amount":"0.02","sign":"11c2","fee_type":"HKD","tid":"",
            "eft_trade_no":"08520005269190824010701722","out_trade_no":"20190824010716","payType":"Alipay",
            "buyerType":"andriod","return_status":"00","time":"20190824010717"}"#,
        )
        .unwrap();
        let placed = OrderPlaced::from_params(&answer).unwrap();
        assert_eq!(placed.eft_trade_no.as_str(), "08520005269190824010701722");
        assert_eq!(placed.tid, None);
        let written = placed.to_params();
        assert_eq!(placed.clone().into_params(), written);
        for (k, v) in written.iter() {
            assert_eq!(answer.get_raw(k).map(|x| x.as_str()), Some(v.as_str()), "{k}");
        }
        let missing = Params::new().with("out_trade_no", "1").with("eft_trade_no", "2");
        assert!(OrderPlaced::from_params(&missing).unwrap_err().0.contains("pay_apptrade"));
    }
}
