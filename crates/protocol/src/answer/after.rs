//! The answers to [`Query`], [`Refund`], [`RefundStatusQuery`] and
//! [`CloseOrder`].

use crate::amount::{Currency, WireAmount};
use crate::catalogue::Wallet;
use crate::fields::{EftTradeNo, OutTradeNo};
use crate::params::Params;
use crate::request::{CloseOrder, Query, Refund, RefundStatusQuery};
use crate::status::{RefundStatus, TradeStatus, TradeType};

use super::{AnswerError, Reader, check_key, check_order, put};

fn echo(got: &str, field: &str, want: &str) -> Result<(), AnswerError> {
    if got == want { Ok(()) } else { Err(AnswerError(format!("the answer is for {field} {got:?}, not {want:?}"))) }
}

/// A query's answer: the sale, or the refund asked for.
///
/// ```
/// # fn show(q: vmp_protocol::answer::QueryAnswer) {
/// use vmp_protocol::status::{TradeStatus, TradeType};
/// match (&q.trade_type, &q.trade_status) {
///     (Some(TradeType::Sale), TradeStatus::TradeSuccess) => println!("paid {}", q.transaction_amount),
///     (_, status) => println!("{status}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryAnswer {
    /// The merchant's key.
    pub user_confirm_key: String,
    /// The merchant's order number.
    pub out_trade_no: OutTradeNo,
    /// The gateway's order number.
    pub eft_trade_no: EftTradeNo,
    /// The refund described, for a refund query.
    pub refund_no: Option<String>,
    /// Sale: `TRADE_PROCESSING` unpaid, `TRADE_SUCCESS` paid, `TRADE_FAIL`,
    /// `TRADE_REFUND` partly refunded, `TRADE_CLOSED` closed, expired or
    /// fully refunded. Refund: `APPLY_SUCCESS` (apply pending),
    /// `TRADE_REFUND`, `TRADE_CLOSED` (it completed a full refund).
    pub trade_status: TradeStatus,
    /// `SALE`, or `REFUND` for a refund query.
    pub trade_type: Option<TradeType>,
    /// `yyyy-MM-dd HH:mm:ss` in UTC+8, as sent.
    pub trade_time: Option<String>,
    /// The sale's amount, or the refund's.
    pub transaction_amount: WireAmount,
    /// The sale's amount, on a refund query.
    pub original_amount: Option<WireAmount>,
    /// Refunded so far, on a sale query of a refunded order.
    pub refund_amount: Option<WireAmount>,
    /// `currency` code as sent.
    pub currency: Option<String>,
    /// `payType` of the order.
    pub pay_type: Option<String>,
    /// `wallet` of the order (as the buyer paid, for the cashier).
    pub wallet: Option<String>,
    /// `tid`, when the order had one.
    pub tid: Option<String>,
    /// The wallet provider's number, once paid.
    pub transaction_id: Option<String>,
    /// `card_scheme` (MPGS and AE).
    pub card_scheme: Option<String>,
    /// `eftpay_trade_no`: the gateway's number again, in the lowercase
    /// family's name (jsapi orders).
    pub eftpay_trade_no: Option<String>,
    /// `extra_trade_no`: the refund described, in the lowercase family's
    /// name (jsapi orders).
    pub extra_trade_no: Option<String>,
}

impl QueryAnswer {
    /// The fields as the gateway writes them.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new()
            .with("user_confirm_key", &self.user_confirm_key)
            .with("out_trade_no", self.out_trade_no.as_str())
            .with("eft_trade_no", self.eft_trade_no.as_str());
        put(&mut p, "refund_no", self.refund_no.as_deref());
        p.set("trade_status", self.trade_status.as_str());
        put(&mut p, "trade_type", self.trade_type.as_ref().map(TradeType::as_str));
        put(&mut p, "trade_time", self.trade_time.as_deref());
        p.set("transaction_amount", self.transaction_amount.as_str());
        put(&mut p, "original_amount", self.original_amount.as_ref().map(WireAmount::as_str));
        put(&mut p, "refund_amount", self.refund_amount.as_ref().map(WireAmount::as_str));
        put(&mut p, "currency", self.currency.as_deref());
        put(&mut p, "payType", self.pay_type.as_deref());
        put(&mut p, "wallet", self.wallet.as_deref());
        put(&mut p, "tid", self.tid.as_deref());
        put(&mut p, "transaction_id", self.transaction_id.as_deref());
        put(&mut p, "card_scheme", self.card_scheme.as_deref());
        put(&mut p, "eftpay_trade_no", self.eftpay_trade_no.as_deref());
        put(&mut p, "extra_trade_no", self.extra_trade_no.as_deref());
        p
    }

    /// Reads an answer and checks it is about `query` of merchant `key`.
    ///
    /// # Errors
    /// [`AnswerError`] when unreadable or about another order or refund.
    pub fn for_request(p: &Params, query: &Query, key: &str) -> Result<Self, AnswerError> {
        let r = Reader(p);
        let answer = Self {
            user_confirm_key: r.opt("user_confirm_key").unwrap_or_default(),
            out_trade_no: r.out_trade_no()?,
            eft_trade_no: r.eft_trade_no()?,
            refund_no: r.opt("refund_no"),
            trade_status: r.trade_status()?,
            trade_type: r.trade_type(),
            trade_time: r.opt("trade_time"),
            transaction_amount: r.amount("transaction_amount")?,
            original_amount: r.opt_amount("original_amount")?,
            refund_amount: r.opt_sum("refund_amount")?,
            currency: r.opt("currency"),
            pay_type: r.opt("payType"),
            wallet: r.opt("wallet"),
            tid: r.opt("tid"),
            transaction_id: r.opt("transaction_id"),
            card_scheme: r.opt("card_scheme"),
            eftpay_trade_no: r.opt("eftpay_trade_no"),
            extra_trade_no: r.opt("extra_trade_no"),
        };
        check_order(&answer.eft_trade_no, &answer.out_trade_no, &query.order)?;
        check_key(&answer.user_confirm_key, key)?;
        if let (Some(want), Some(got)) = (&query.refund_no, &answer.refund_no) {
            echo(got, "refund_no", want.as_str())?;
        }
        Ok(answer)
    }

    /// The currency, when it is one this crate knows.
    pub fn known_currency(&self) -> Option<Currency> {
        self.currency.as_deref().and_then(|c| c.parse().ok())
    }

    /// The order's wallet, when it is one this crate knows.
    pub fn known_wallet(&self) -> Option<Wallet> {
        self.wallet.as_deref().and_then(Wallet::parse)
    }
}

/// A refund's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundAnswer {
    /// The merchant's key.
    pub user_confirm_key: String,
    /// The merchant's order number.
    pub out_trade_no: OutTradeNo,
    /// The merchant's refund number.
    pub out_refund_no: String,
    /// The gateway's order number.
    pub eft_trade_no: EftTradeNo,
    /// `TRADE_REFUND` (the order is partly refunded), `TRADE_CLOSED` (this
    /// refund completed a full refund), or `APPLY_SUCCESS` (an apply-refund
    /// was accepted and completes later).
    pub trade_status: TradeStatus,
    /// `refund_time`, `yyyyMMddHHmmss` in UTC+8.
    pub refund_time: Option<String>,
    /// `payType` of the order.
    pub pay_type: Option<String>,
    /// `buyerType`, echoed when sent.
    pub buyer_type: Option<String>,
    /// `wallet` of the order.
    pub wallet: Option<String>,
    /// `fee_type`: the currency code.
    pub fee_type: Option<String>,
    /// `return_amount`: this refund's amount.
    pub return_amount: Option<WireAmount>,
    /// `total_fee` as the request sent it (the order's amount when it sent none).
    pub total_fee: Option<WireAmount>,
}

impl RefundAnswer {
    /// The fields as the gateway writes them.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new()
            .with("user_confirm_key", &self.user_confirm_key)
            .with("out_trade_no", self.out_trade_no.as_str())
            .with("out_refund_no", &self.out_refund_no)
            .with("eft_trade_no", self.eft_trade_no.as_str())
            .with("trade_status", self.trade_status.as_str());
        put(&mut p, "refund_time", self.refund_time.as_deref());
        put(&mut p, "payType", self.pay_type.as_deref());
        put(&mut p, "buyerType", self.buyer_type.as_deref());
        put(&mut p, "wallet", self.wallet.as_deref());
        put(&mut p, "fee_type", self.fee_type.as_deref());
        put(&mut p, "return_amount", self.return_amount.as_ref().map(WireAmount::as_str));
        put(&mut p, "total_fee", self.total_fee.as_ref().map(WireAmount::as_str));
        p
    }

    /// Reads an answer and checks it is about `refund` of merchant `key`.
    ///
    /// # Errors
    /// [`AnswerError`] when unreadable or about another order or refund.
    pub fn for_request(p: &Params, refund: &Refund, key: &str) -> Result<Self, AnswerError> {
        let r = Reader(p);
        let answer = Self {
            user_confirm_key: r.opt("user_confirm_key").unwrap_or_default(),
            out_trade_no: r.out_trade_no()?,
            out_refund_no: r.need("out_refund_no")?,
            eft_trade_no: r.eft_trade_no()?,
            trade_status: r.trade_status()?,
            refund_time: r.opt("refund_time"),
            pay_type: r.opt("payType"),
            buyer_type: r.opt("buyerType"),
            wallet: r.opt("wallet"),
            fee_type: r.opt("fee_type"),
            return_amount: r.opt_amount("return_amount")?,
            total_fee: r.opt_amount("total_fee")?,
        };
        check_order(&answer.eft_trade_no, &answer.out_trade_no, &refund.order)?;
        check_key(&answer.user_confirm_key, key)?;
        echo(&answer.out_refund_no, "out_refund_no", refund.out_refund_no.as_str())?;
        Ok(answer)
    }

    /// Whether the refund is accepted but not complete (`APPLY_SUCCESS` or
    /// `TRADE_PROCESSING`): follow it with a refund-status query.
    pub fn is_pending(&self) -> bool {
        matches!(self.trade_status, TradeStatus::ApplySuccess | TradeStatus::TradeProcessing)
    }
}

/// A refund-status query's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundStatusAnswer {
    /// The merchant's key.
    pub user_confirm_key: String,
    /// The merchant's order number.
    pub out_trade_no: OutTradeNo,
    /// The gateway's order number.
    pub eft_trade_no: EftTradeNo,
    /// The refund.
    pub refund_no: String,
    /// `SUCCESS`, `PROCESSING` or `FAIL`.
    pub refund_status: RefundStatus,
    /// `trade_type` (`REFUND`).
    pub trade_type: Option<TradeType>,
    /// `trade_status` of the refund.
    pub trade_status: Option<TradeStatus>,
    /// The refund's amount.
    pub transaction_amount: Option<WireAmount>,
    /// The order's amount.
    pub original_amount: Option<WireAmount>,
    /// `currency` code.
    pub currency: Option<String>,
    /// `wallet` of the order.
    pub wallet: Option<String>,
    /// Where the money went (WeChat Pay only, at eftPay).
    pub recv_account: Option<String>,
}

impl RefundStatusAnswer {
    /// The fields as the gateway writes them.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new()
            .with("user_confirm_key", &self.user_confirm_key)
            .with("out_trade_no", self.out_trade_no.as_str())
            .with("eft_trade_no", self.eft_trade_no.as_str())
            .with("refund_no", &self.refund_no)
            .with("refund_status", self.refund_status.as_str());
        put(&mut p, "trade_type", self.trade_type.as_ref().map(TradeType::as_str));
        put(&mut p, "trade_status", self.trade_status.as_ref().map(TradeStatus::as_str));
        put(&mut p, "transaction_amount", self.transaction_amount.as_ref().map(WireAmount::as_str));
        put(&mut p, "original_amount", self.original_amount.as_ref().map(WireAmount::as_str));
        put(&mut p, "currency", self.currency.as_deref());
        put(&mut p, "wallet", self.wallet.as_deref());
        put(&mut p, "recv_account", self.recv_account.as_deref());
        p
    }

    /// Reads an answer and checks it is about `query` of merchant `key`.
    ///
    /// # Errors
    /// [`AnswerError`] when unreadable or about another order or refund.
    pub fn for_request(p: &Params, query: &RefundStatusQuery, key: &str) -> Result<Self, AnswerError> {
        let r = Reader(p);
        let answer = Self {
            user_confirm_key: r.opt("user_confirm_key").unwrap_or_default(),
            out_trade_no: r.out_trade_no()?,
            eft_trade_no: r.eft_trade_no()?,
            refund_no: r.need("refund_no")?,
            refund_status: RefundStatus::parse(&r.need("refund_status")?),
            trade_type: r.trade_type(),
            trade_status: r.opt("trade_status").map(|s| TradeStatus::parse(&s)),
            transaction_amount: r.opt_amount("transaction_amount")?,
            original_amount: r.opt_amount("original_amount")?,
            currency: r.opt("currency"),
            wallet: r.opt("wallet"),
            recv_account: r.opt("recv_account"),
        };
        check_order(&answer.eft_trade_no, &answer.out_trade_no, &query.order)?;
        check_key(&answer.user_confirm_key, key)?;
        echo(&answer.refund_no, "refund_no", query.refund_no.as_str())?;
        Ok(answer)
    }
}

/// A close's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseAnswer {
    /// The merchant's key.
    pub user_confirm_key: String,
    /// The merchant's order number.
    pub out_trade_no: OutTradeNo,
    /// The gateway's order number.
    pub eft_trade_no: EftTradeNo,
    /// `TRADE_CLOSED`, or the final state the order had already reached
    /// unpaid (e.g. `TRADE_FAIL`).
    pub trade_status: TradeStatus,
    /// `trade_type` (`SALE`).
    pub trade_type: Option<TradeType>,
    /// `wallet` of the order.
    pub wallet: Option<String>,
    /// `tid`, when the order had one.
    pub tid: Option<String>,
}

impl CloseAnswer {
    /// The fields as the gateway writes them.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new()
            .with("user_confirm_key", &self.user_confirm_key)
            .with("out_trade_no", self.out_trade_no.as_str())
            .with("eft_trade_no", self.eft_trade_no.as_str())
            .with("trade_status", self.trade_status.as_str());
        put(&mut p, "trade_type", self.trade_type.as_ref().map(TradeType::as_str));
        put(&mut p, "wallet", self.wallet.as_deref());
        put(&mut p, "tid", self.tid.as_deref());
        p
    }

    /// Reads an answer and checks it is about `close` of merchant `key`.
    ///
    /// # Errors
    /// [`AnswerError`] when unreadable or about another order.
    pub fn for_request(p: &Params, close: &CloseOrder, key: &str) -> Result<Self, AnswerError> {
        let r = Reader(p);
        let answer = Self {
            user_confirm_key: r.opt("user_confirm_key").unwrap_or_default(),
            out_trade_no: r.out_trade_no()?,
            eft_trade_no: r.eft_trade_no()?,
            trade_status: r.trade_status()?,
            trade_type: r.trade_type(),
            wallet: r.opt("wallet"),
            tid: r.opt("tid"),
        };
        check_order(&answer.eft_trade_no, &answer.out_trade_no, &close.order)?;
        check_key(&answer.user_confirm_key, key)?;
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::TradeRef;

    fn query_answer() -> QueryAnswer {
        QueryAnswer {
            user_confirm_key: "K1".into(),
            out_trade_no: OutTradeNo::parse("A1").unwrap(),
            eft_trade_no: EftTradeNo::parse("0100").unwrap(),
            refund_no: None,
            trade_status: TradeStatus::TradeRefund,
            trade_type: Some(TradeType::Sale),
            trade_time: Some("2024-01-01 12:00:00".into()),
            transaction_amount: WireAmount::parse("150000").unwrap(),
            original_amount: None,
            refund_amount: Some(WireAmount::sum(crate::Amount::from_minor(10_000_001).unwrap())),
            currency: Some("HKD".into()),
            pay_type: Some("Alipay".into()),
            wallet: Some("ALIPAYHK".into()),
            tid: None,
            transaction_id: Some("SBX0100".into()),
            card_scheme: None,
            eftpay_trade_no: None,
            extra_trade_no: None,
        }
    }

    #[test]
    fn a_query_answer_round_trips_and_must_be_about_the_order_asked_for() {
        let a = query_answer();
        let by_out = Query::sale(TradeRef::out_trade_no("A1").unwrap());
        assert_eq!(QueryAnswer::for_request(&a.to_params(), &by_out, "K1"), Ok(a.clone()));
        let other = Query::sale(TradeRef::out_trade_no("A2").unwrap());
        assert!(QueryAnswer::for_request(&a.to_params(), &other, "K1").unwrap_err().0.contains("A2"));
        assert!(QueryAnswer::for_request(&a.to_params(), &by_out, "K2").is_err());
        assert_eq!(a.known_wallet(), Some(Wallet::AlipayHk));
    }
}
