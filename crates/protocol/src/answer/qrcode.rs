//! The answers of the qrcode scene ([`crate::request::QrcodeRequest`]):
//! lowercase names (`paytype`, `payment_type`), the gateway's number as
//! `eftpay_trade_no` (docs/protocol.md "The qrcode scene").

use crate::amount::WireAmount;
use crate::catalogue::Wallet;
use crate::fields::{EftTradeNo, OutTradeNo};
use crate::params::Params;
use crate::request::{QrcodeCancel, QrcodeClose, QrcodeOrder, QrcodeQuery, QrcodeRefund, TradeRef};
use crate::status::{TradeStatus, TradeType};

use super::{AnswerError, Reader, check_key, check_order, put};

fn echo(got: &str, field: &str, want: &str) -> Result<(), AnswerError> {
    if got == want { Ok(()) } else { Err(AnswerError(format!("the answer is for {field} {got:?}, not {want:?}"))) }
}

/// A qrcode sale's answer: `qr_code` is the text the till shows as a QR
/// code for the buyer's wallet to scan. `00` only means "accepted and
/// stored": poll the query (or wait for the notification) for
/// `TRADE_SUCCESS`.
///
/// ```json
/// {"return_status":"00","return_char":"","user_confirm_key":"S0001234","out_trade_no":"ORD…",
///  "eftpay_trade_no":"0126…","paytype":"WeChat","payment_type":"WECHATCN","transaction_amount":"0.50",
///  "tid":"T0001","qr_code":"https://gateway.example/VMP/qrcode/scan?userkey=…","time":"…","sign":"…"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrcodeOrderPlaced {
    /// What the buyer's wallet scans (in OpenVMP's sandbox: a link to the
    /// gateway's stand-in for the wallet's scan-to-pay screen).
    pub qr_code: String,
    /// The merchant's key.
    pub user_confirm_key: String,
    /// The merchant's order number.
    pub out_trade_no: OutTradeNo,
    /// The gateway's order number.
    pub eftpay_trade_no: EftTradeNo,
    /// `paytype` echoed.
    pub pay_type: Option<String>,
    /// `payment_type` echoed.
    pub wallet: Option<String>,
    /// `transaction_amount` echoed exactly as sent.
    pub transaction_amount: Option<String>,
    /// `tid`, when the sale carried one.
    pub tid: Option<String>,
}

impl QrcodeOrderPlaced {
    /// The fields as the gateway writes them.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new()
            .with("user_confirm_key", &self.user_confirm_key)
            .with("out_trade_no", self.out_trade_no.as_str())
            .with("eftpay_trade_no", self.eftpay_trade_no.as_str());
        put(&mut p, "paytype", self.pay_type.as_deref());
        put(&mut p, "payment_type", self.wallet.as_deref());
        put(&mut p, "transaction_amount", self.transaction_amount.as_deref());
        put(&mut p, "tid", self.tid.as_deref());
        p.set("qr_code", &self.qr_code);
        p
    }

    /// Reads an answer (its signature already verified).
    ///
    /// # Errors
    /// [`AnswerError`] when a required field is missing or malformed.
    pub fn from_params(p: &Params) -> Result<Self, AnswerError> {
        let r = Reader(p);
        Ok(Self {
            qr_code: r.need("qr_code")?,
            user_confirm_key: r.opt("user_confirm_key").unwrap_or_default(),
            out_trade_no: r.out_trade_no()?,
            eftpay_trade_no: r.eft_trade_no()?,
            pay_type: r.opt("paytype"),
            wallet: r.opt("payment_type"),
            transaction_amount: r.opt("transaction_amount"),
            tid: r.opt("tid"),
        })
    }

    /// Reads an answer and checks it is about `request` of merchant `key`.
    ///
    /// # Errors
    /// [`AnswerError`] when unreadable or about another order or merchant.
    pub fn for_request(p: &Params, request: &QrcodeOrder, key: &str) -> Result<Self, AnswerError> {
        let placed = Self::from_params(p)?;
        echo(placed.out_trade_no.as_str(), "out_trade_no", request.out_trade_no.as_str())?;
        check_key(&placed.user_confirm_key, key)?;
        Ok(placed)
    }

    /// The order, by the gateway's number (for queries, refunds, cancels).
    pub fn order(&self) -> TradeRef {
        TradeRef::Eft(self.eftpay_trade_no.clone())
    }
}

impl From<&QrcodeOrderPlaced> for TradeRef {
    fn from(placed: &QrcodeOrderPlaced) -> Self {
        placed.order()
    }
}

/// A qrcode query's answer: the sale, or the refund asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrcodeQueryAnswer {
    /// The merchant's key.
    pub user_confirm_key: String,
    /// The merchant's order number.
    pub out_trade_no: OutTradeNo,
    /// The gateway's order number.
    pub eftpay_trade_no: EftTradeNo,
    /// The refund described, for a refund query.
    pub refund_no: Option<String>,
    /// As the web query's `trade_status` (`TRADE_PROCESSING` until paid).
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
    /// `currency` code.
    pub currency: Option<String>,
    /// `paytype` of the order.
    pub pay_type: Option<String>,
    /// `payment_type`: the order's wallet.
    pub wallet: Option<String>,
    /// `tid`, when the order had one.
    pub tid: Option<String>,
    /// The wallet provider's number, once final.
    pub transaction_id: Option<String>,
    /// The buyer's account at the wallet, once paid.
    pub buyer_id: Option<String>,
}

impl QrcodeQueryAnswer {
    /// The fields as the gateway writes them.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new()
            .with("user_confirm_key", &self.user_confirm_key)
            .with("out_trade_no", self.out_trade_no.as_str())
            .with("eftpay_trade_no", self.eftpay_trade_no.as_str());
        put(&mut p, "refund_no", self.refund_no.as_deref());
        p.set("trade_status", self.trade_status.as_str());
        put(&mut p, "trade_type", self.trade_type.as_ref().map(TradeType::as_str));
        put(&mut p, "trade_time", self.trade_time.as_deref());
        p.set("transaction_amount", self.transaction_amount.as_str());
        put(&mut p, "original_amount", self.original_amount.as_ref().map(WireAmount::as_str));
        put(&mut p, "refund_amount", self.refund_amount.as_ref().map(WireAmount::as_str));
        put(&mut p, "currency", self.currency.as_deref());
        put(&mut p, "paytype", self.pay_type.as_deref());
        put(&mut p, "payment_type", self.wallet.as_deref());
        put(&mut p, "tid", self.tid.as_deref());
        put(&mut p, "transaction_id", self.transaction_id.as_deref());
        put(&mut p, "buyer_id", self.buyer_id.as_deref());
        p
    }

    /// Reads an answer and checks it is about `query` of merchant `key`.
    ///
    /// # Errors
    /// [`AnswerError`] when unreadable or about another order or refund.
    pub fn for_request(p: &Params, query: &QrcodeQuery, key: &str) -> Result<Self, AnswerError> {
        let r = Reader(p);
        let answer = Self {
            user_confirm_key: r.opt("user_confirm_key").unwrap_or_default(),
            out_trade_no: r.out_trade_no()?,
            eftpay_trade_no: r.eft_trade_no()?,
            refund_no: r.opt("refund_no"),
            trade_status: r.trade_status()?,
            trade_type: r.trade_type(),
            trade_time: r.opt("trade_time"),
            transaction_amount: r.amount("transaction_amount")?,
            original_amount: r.opt_amount("original_amount")?,
            refund_amount: r.opt_sum("refund_amount")?,
            currency: r.opt("currency"),
            pay_type: r.opt("paytype"),
            wallet: r.opt("payment_type"),
            tid: r.opt("tid"),
            transaction_id: r.opt("transaction_id"),
            buyer_id: r.opt("buyer_id"),
        };
        check_order(&answer.eftpay_trade_no, &answer.out_trade_no, &query.order)?;
        check_key(&answer.user_confirm_key, key)?;
        if let (Some(want), Some(got)) = (&query.refund_no, &answer.refund_no) {
            echo(got, "refund_no", want.as_str())?;
        }
        Ok(answer)
    }

    /// The order's wallet, when it is one this crate knows.
    pub fn known_wallet(&self) -> Option<Wallet> {
        self.wallet.as_deref().and_then(Wallet::parse)
    }
}

/// A qrcode refund's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrcodeRefundAnswer {
    /// The merchant's key.
    pub user_confirm_key: String,
    /// The merchant's order number.
    pub out_trade_no: OutTradeNo,
    /// The merchant's refund number.
    pub refund_no: String,
    /// The gateway's order number.
    pub eftpay_trade_no: EftTradeNo,
    /// `TRADE_REFUND` (the order keeps a balance) or `TRADE_CLOSED` (this
    /// refund completed a full refund; the order is closed).
    pub trade_status: TradeStatus,
    /// `transaction_amount`: this refund's amount.
    pub transaction_amount: Option<WireAmount>,
    /// `refund_time`, `yyyyMMddHHmmss` in UTC+8.
    pub refund_time: Option<String>,
    /// `paytype` of the order.
    pub pay_type: Option<String>,
    /// `payment_type` of the order.
    pub wallet: Option<String>,
    /// `buyertype`, echoed when sent.
    pub buyer_type: Option<String>,
}

impl QrcodeRefundAnswer {
    /// The fields as the gateway writes them.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new()
            .with("user_confirm_key", &self.user_confirm_key)
            .with("out_trade_no", self.out_trade_no.as_str())
            .with("refund_no", &self.refund_no)
            .with("eftpay_trade_no", self.eftpay_trade_no.as_str())
            .with("trade_status", self.trade_status.as_str());
        put(&mut p, "transaction_amount", self.transaction_amount.as_ref().map(WireAmount::as_str));
        put(&mut p, "refund_time", self.refund_time.as_deref());
        put(&mut p, "paytype", self.pay_type.as_deref());
        put(&mut p, "payment_type", self.wallet.as_deref());
        put(&mut p, "buyertype", self.buyer_type.as_deref());
        p
    }

    /// Reads an answer and checks it is about `refund` of merchant `key`.
    ///
    /// # Errors
    /// [`AnswerError`] when unreadable or about another order or refund.
    pub fn for_request(p: &Params, refund: &QrcodeRefund, key: &str) -> Result<Self, AnswerError> {
        let r = Reader(p);
        let answer = Self {
            user_confirm_key: r.opt("user_confirm_key").unwrap_or_default(),
            out_trade_no: r.out_trade_no()?,
            refund_no: r.need("refund_no")?,
            eftpay_trade_no: r.eft_trade_no()?,
            trade_status: r.trade_status()?,
            transaction_amount: r.opt_amount("transaction_amount")?,
            refund_time: r.opt("refund_time"),
            pay_type: r.opt("paytype"),
            wallet: r.opt("payment_type"),
            buyer_type: r.opt("buyertype"),
        };
        check_order(&answer.eftpay_trade_no, &answer.out_trade_no, &refund.order)?;
        check_key(&answer.user_confirm_key, key)?;
        echo(&answer.refund_no, "refund_no", refund.refund_no.as_str())?;
        Ok(answer)
    }
}

/// The answer to a qrcode close or a cancel (`QRcodeTradeCancel.do`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrcodeCloseAnswer {
    /// The merchant's key.
    pub user_confirm_key: String,
    /// The merchant's order number.
    pub out_trade_no: OutTradeNo,
    /// The gateway's order number.
    pub eftpay_trade_no: EftTradeNo,
    /// `TRADE_CLOSED` (closed, or cancelled: reversed in full), or the
    /// final state an unpaid order had already reached (e.g. `TRADE_FAIL`).
    pub trade_status: TradeStatus,
    /// `trade_type` (`SALE`).
    pub trade_type: Option<TradeType>,
    /// `paytype` of the order.
    pub pay_type: Option<String>,
    /// `payment_type` of the order.
    pub wallet: Option<String>,
    /// `tid`, when the order had one.
    pub tid: Option<String>,
    /// The wallet provider's number.
    pub transaction_id: Option<String>,
    /// The buyer's account at the wallet, when it was paid.
    pub buyer_id: Option<String>,
}

impl QrcodeCloseAnswer {
    /// The fields as the gateway writes them.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new()
            .with("user_confirm_key", &self.user_confirm_key)
            .with("out_trade_no", self.out_trade_no.as_str())
            .with("eftpay_trade_no", self.eftpay_trade_no.as_str())
            .with("trade_status", self.trade_status.as_str());
        put(&mut p, "trade_type", self.trade_type.as_ref().map(TradeType::as_str));
        put(&mut p, "paytype", self.pay_type.as_deref());
        put(&mut p, "payment_type", self.wallet.as_deref());
        put(&mut p, "tid", self.tid.as_deref());
        put(&mut p, "transaction_id", self.transaction_id.as_deref());
        put(&mut p, "buyer_id", self.buyer_id.as_deref());
        p
    }

    fn read(p: &Params, order: &TradeRef, key: &str) -> Result<Self, AnswerError> {
        let r = Reader(p);
        let answer = Self {
            user_confirm_key: r.opt("user_confirm_key").unwrap_or_default(),
            out_trade_no: r.out_trade_no()?,
            eftpay_trade_no: r.eft_trade_no()?,
            trade_status: r.trade_status()?,
            trade_type: r.trade_type(),
            pay_type: r.opt("paytype"),
            wallet: r.opt("payment_type"),
            tid: r.opt("tid"),
            transaction_id: r.opt("transaction_id"),
            buyer_id: r.opt("buyer_id"),
        };
        check_order(&answer.eftpay_trade_no, &answer.out_trade_no, order)?;
        check_key(&answer.user_confirm_key, key)?;
        Ok(answer)
    }

    /// Reads a close's answer and checks it is about `close` of merchant `key`.
    ///
    /// # Errors
    /// [`AnswerError`] when unreadable or about another order.
    pub fn for_request(p: &Params, close: &QrcodeClose, key: &str) -> Result<Self, AnswerError> {
        Self::read(p, &close.order, key)
    }

    /// Reads a cancel's answer and checks it is about `cancel` of merchant `key`.
    ///
    /// # Errors
    /// [`AnswerError`] when unreadable or about another order.
    pub fn for_cancel(p: &Params, cancel: &QrcodeCancel, key: &str) -> Result<Self, AnswerError> {
        Self::read(p, &cancel.order, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sale_answer_reads_the_shape_real_clients_expect() {
        // The answer an Odoo point-of-sale module reads `qr_code` from.
        let answer = Params::from_json(
            br#"{"return_status":"00","return_char":"","user_confirm_key":"S0001234","out_trade_no":"ORD20260101120000123456",
            "eftpay_trade_no":"0126010112000012345600000","paytype":"WeChat","payment_type":"WECHATCN",
            "transaction_amount":"0.50","tid":"T0001","qr_code":"weixin://wxpay/bizpayurl?pr=AbC123x",
            "time":"20260101120001","sign":"x"}"#,
        )
        .unwrap();
        let placed = QrcodeOrderPlaced::from_params(&answer).unwrap();
        assert_eq!(placed.qr_code, "weixin://wxpay/bizpayurl?pr=AbC123x");
        assert_eq!(placed.order(), TradeRef::eft_trade_no("0126010112000012345600000").unwrap());
        for (k, v) in placed.to_params().iter() {
            assert_eq!(answer.get(k), Some(v.as_str()), "{k}");
        }
        let mut no_qr = answer.clone();
        no_qr.remove("qr_code");
        assert!(QrcodeOrderPlaced::from_params(&no_qr).unwrap_err().0.contains("qr_code"));
    }

    #[test]
    fn a_close_answer_must_be_about_the_order_asked_for() {
        let a = QrcodeCloseAnswer {
            user_confirm_key: "K1".into(),
            out_trade_no: OutTradeNo::parse("A1").unwrap(),
            eftpay_trade_no: EftTradeNo::parse("0100").unwrap(),
            trade_status: TradeStatus::TradeClosed,
            trade_type: Some(TradeType::Sale),
            pay_type: Some("Alipay".into()),
            wallet: Some("ALIPAYHK".into()),
            tid: None,
            transaction_id: None,
            buyer_id: None,
        };
        let cancel = QrcodeCancel::new(TradeRef::out_trade_no("A1").unwrap());
        assert_eq!(QrcodeCloseAnswer::for_cancel(&a.to_params(), &cancel, "K1"), Ok(a.clone()));
        let other = QrcodeCancel::new(TradeRef::out_trade_no("A2").unwrap());
        assert!(QrcodeCloseAnswer::for_cancel(&a.to_params(), &other, "K1").is_err());
        assert!(QrcodeCloseAnswer::for_cancel(&a.to_params(), &cancel, "K2").is_err());
    }
}
