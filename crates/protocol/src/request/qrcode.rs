//! The qrcode scene (a merchant-presented QR code at the point of sale):
//! [`QrcodeRequest`], its sale [`QrcodeOrder`], [`QrcodeQuery`],
//! [`QrcodeRefund`], [`QrcodeClose`] and the reversal [`QrcodeCancel`]
//! (`QRcodeTradeCancel.do`). docs/protocol.md "The qrcode scene".
//!
//! The scene speaks the lowercase field family: `paytype`, `payment_type`
//! (the wallet), `buyertype`, `refund_no`, `transaction_amount` (on refunds:
//! the refund amount) and `eftpay_trade_no` (`eft_trade_no` is accepted
//! too). A request that sends the web scene's camelCase name instead
//! (`payType` for `paytype`, `wallet` for `payment_type`, …) is refused
//! naming the field the scene expects.
//!
//! ```
//! use vmp_protocol::catalogue::{Endpoint, Service, Wallet};
//! use vmp_protocol::request::{QrcodeOrder, QrcodeRequest, Request};
//! use vmp_protocol::Amount;
//!
//! let sale = QrcodeOrder::builder(Service::WechatQrcode)
//!     .wallet(Wallet::WechatCn)
//!     .out_trade_no("ORD20260101120000123456")
//!     .amount(Amount::from_minor(50).unwrap())
//!     .subject("POS Transaction")
//!     .tid("T0001")
//!     .build()
//!     .unwrap();
//! let params = Request::Qrcode(QrcodeRequest::PlaceOrder(sale.clone())).to_params();
//! assert_eq!(params.get("paytype"), Some("WeChat"));
//! assert_eq!(params.get("payment_type"), Some("WECHATCN"));
//! assert_eq!(
//!     Request::parse(Endpoint::JsapiService, &params),
//!     Ok(Request::Qrcode(QrcodeRequest::PlaceOrder(sale)))
//! );
//! ```

use std::fmt;

use crate::amount::{Amount, Currency, WireAmount};
use crate::catalogue::{Operation, PayType, Scene, Service, Wallet};
use crate::fields::{
    ACTIVE_TIME_DEFAULT, BuyerType, EftTradeNo, FieldProblem, HttpUrl, OutTradeNo, RefundNo, Subject, Tid,
    URL_MAX_CHARS, check_text, parse_active_time,
};
use crate::params::Params;

use super::after::{code_text, query_type, refund_no, refund_no_arg};
use super::sale::{currency, sale_amount};
use super::{Fields, QUERY_TYPE_OUT_TRADE, RequestError, TradeRef, clip, put};

/// The web scene's names of fields the qrcode scene spells in lowercase:
/// (camelCase, the scene's own).
const CAMEL_NAMES: [(&str, &str); 3] = [("payType", "paytype"), ("wallet", "payment_type"), ("buyerType", "buyertype")];

/// The web refund's names a qrcode refund spells otherwise.
const CAMEL_REFUND_NAMES: [(&str, &str); 2] = [("out_refund_no", "refund_no"), ("return_amount", "transaction_amount")];

/// Refuses a request that sends a camelCase name without the scene's own.
fn no_camel_names(f: Fields<'_>, pairs: &[(&'static str, &'static str)]) -> Result<(), RequestError> {
    for (camel, lower) in pairs {
        let sent = |name: &str| f.0.get_raw(name).is_some_and(|v| !v.is_empty());
        if sent(camel) && !sent(lower) {
            return Err(RequestError::WrongFamily { sent: camel, expected: lower });
        }
    }
    Ok(())
}

fn joined<T>(items: &[T], name: impl Fn(&T) -> &'static str) -> String {
    items.iter().map(name).collect::<Vec<_>>().join("/")
}

/// A required `paytype` of a sale: one the service takes (`20`).
fn sale_pay_type(f: Fields<'_>, service: Service) -> Result<PayType, RequestError> {
    let spec = service.spec();
    let text = f.req("paytype")?;
    PayType::parse(text).filter(|p| spec.accepts_pay_type(*p)).ok_or_else(|| RequestError::Paytype {
        given: clip(text, 20),
        service: service.label(),
        allowed: joined(spec.pay_types, |p| p.as_str()),
    })
}

/// A required `payment_type` of a sale: one the service takes (`-16`).
fn sale_wallet(f: Fields<'_>, service: Service) -> Result<Wallet, RequestError> {
    let spec = service.spec();
    let text = f.req("payment_type")?;
    Wallet::parse(text).filter(|w| spec.accepts_wallet(*w)).ok_or_else(|| RequestError::PaymentType {
        given: clip(text, 20),
        service: service.label(),
        allowed: joined(spec.wallets, |w| w.as_str()),
    })
}

/// An optional `payment_type` after the sale: a wallet of the service's
/// families (any for a service without wallets); whether it is the
/// order's family is the gateway's check.
fn after_wallet(f: Fields<'_>, service: Service) -> Result<Option<Wallet>, RequestError> {
    let Some(text) = code_text(f, "payment_type")? else { return Ok(None) };
    let spec = service.spec();
    let ok = |w: &Wallet| spec.wallets.is_empty() || spec.wallets.iter().any(|s| s.same_family(*w));
    Wallet::parse(text).filter(ok).map(Some).ok_or_else(|| RequestError::PaymentType {
        given: clip(text, 20),
        service: service.label(),
        allowed: if spec.wallets.is_empty() { Wallet::spellings() } else { joined(spec.wallets, |w| w.as_str()) },
    })
}

/// An optional `paytype` after the sale: a known one (`20`).
fn after_pay_type(f: Fields<'_>, service: Service) -> Result<Option<PayType>, RequestError> {
    let Some(text) = code_text(f, "paytype")? else { return Ok(None) };
    PayType::parse(text).map(Some).ok_or_else(|| RequestError::Paytype {
        given: clip(text, 20),
        service: service.label(),
        allowed: PayType::spellings(),
    })
}

/// The order an after-sale request names: `eftpay_trade_no`, else
/// `eft_trade_no` (both accepted: real clients send either), else
/// `out_trade_no`.
fn trade_ref(f: Fields<'_>) -> Result<TradeRef, RequestError> {
    for name in ["eftpay_trade_no", "eft_trade_no"] {
        if let Some(eft) = f.opt_with(name, EftTradeNo::parse)? {
            return Ok(TradeRef::Eft(eft));
        }
    }
    match f.opt_with("out_trade_no", OutTradeNo::parse)? {
        Some(out) => Ok(TradeRef::Out(out)),
        None => Err(RequestError::MissingTradeRef),
    }
}

/// Writes the order's number: an `eft_trade_no` under `eft_name`.
fn write_trade_ref(order: &TradeRef, eft_name: &str, p: &mut Params) {
    match order {
        TradeRef::Eft(e) => p.set(eft_name, e.as_str()),
        TradeRef::Out(o) => p.set("out_trade_no", o.as_str()),
    };
}

/// The `paytype`, `payment_type`, `buyertype` an after-sale request may
/// carry: all optional, checked against the order by the gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalletFields {
    /// `paytype`, when sent.
    pub pay_type: Option<PayType>,
    /// `payment_type`, when sent.
    pub wallet: Option<Wallet>,
    /// `buyertype`, when sent (echoed, not checked against a list).
    pub buyer_type: Option<BuyerType>,
}

impl WalletFields {
    fn parse(f: Fields<'_>, service: Service) -> Result<Self, RequestError> {
        Ok(Self {
            wallet: after_wallet(f, service)?,
            pay_type: after_pay_type(f, service)?,
            buyer_type: f.opt_with("buyertype", BuyerType::parse)?,
        })
    }

    fn write(&self, p: &mut Params) {
        put(p, "paytype", self.pay_type.map(PayType::as_str));
        put(p, "payment_type", self.wallet.map(Wallet::as_str));
        put(p, "buyertype", self.buyer_type.as_ref().map(BuyerType::as_str));
    }

    /// The wallet's fields for `wallet`: `payment_type` and its `paytype`.
    pub fn of(wallet: Wallet) -> Self {
        Self { pay_type: Some(wallet.family()), wallet: Some(wallet), buyer_type: None }
    }
}

/// `wallet(…)`: the after-sale requests' setter of `payment_type` (and
/// its `paytype`).
macro_rules! wallet_setter {
    () => {
        /// Sends `payment_type` (and its `paytype`).
        #[must_use]
        pub fn wallet(mut self, wallet: Wallet) -> Self {
            self.wallet_fields = WalletFields::of(wallet);
            self
        }
    };
}

/// Any request of the qrcode scene, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum QrcodeRequest {
    /// `service.*.qrcode.PreOrder`: show a QR code for the buyer to scan.
    PlaceOrder(QrcodeOrder),
    /// `service.*.qrcode.Query`.
    Query(QrcodeQuery),
    /// `service.*.qrcode.Refund`.
    Refund(QrcodeRefund),
    /// `service.*.qrcode.Close`: close an unpaid order.
    Close(QrcodeClose),
    /// `QRcodeTradeCancel.do`: reverse a paid order in full.
    Cancel(QrcodeCancel),
}

impl QrcodeRequest {
    /// Reads a request of the qrcode scene for `service` (ready, of the scene).
    pub(super) fn parse(service: Service, p: &Params) -> Result<Self, RequestError> {
        let f = Fields(p);
        no_camel_names(f, &CAMEL_NAMES)?;
        Ok(match service.spec().op {
            Operation::Sale => Self::PlaceOrder(QrcodeOrder::parse(service, p)?),
            Operation::Query => Self::Query(QrcodeQuery::parse(service, p)?),
            Operation::Refund => Self::Refund(QrcodeRefund::parse(service, p)?),
            Operation::Close => Self::Close(QrcodeClose::parse(service, p)?),
            Operation::Cancel => Self::Cancel(QrcodeCancel::parse(p)?),
            Operation::RefundStatusQuery => return Err(RequestError::UnknownService(service.label().to_owned())),
        })
    }

    /// The interface.
    pub fn service(&self) -> Service {
        match self {
            Self::PlaceOrder(r) => r.service,
            Self::Query(r) => r.service,
            Self::Refund(r) => r.service,
            Self::Close(r) => r.service,
            Self::Cancel(_) => Service::QrcodeCancel,
        }
    }

    pub(super) fn write(&self, p: &mut Params) {
        match self {
            Self::PlaceOrder(r) => r.write(p),
            Self::Query(r) => r.write(p),
            Self::Refund(r) => r.write(p),
            Self::Close(r) => r.write(p),
            Self::Cancel(r) => r.write(p),
        }
    }
}

/// Checks `service` is a ready interface of the qrcode scene doing `op`.
fn check_service(service: Service, op: Operation) -> Result<(), RequestError> {
    let spec = service.spec();
    if spec.scene != Scene::Qrcode || spec.op != op {
        return Err(RequestError::UnknownService(service.label().to_owned()));
    }
    if !spec.is_ready() {
        return Err(RequestError::NotSupported(service));
    }
    Ok(())
}

/// `notify_url` of a qrcode sale: an absolute http(s) URL, or a path
/// relative to nothing (an Odoo point-of-sale module sends
/// `/eft/payment/notify`). A relative one is accepted and stored, and
/// never delivered (docs/protocol.md "The qrcode scene").
#[derive(Clone, PartialEq, Eq)]
pub enum NotifyTarget {
    /// Where notifications are POSTed.
    Url(HttpUrl),
    /// A path without a host: accepted, undeliverable.
    Relative(String),
}

impl NotifyTarget {
    /// Reads an absolute http(s) URL, or a path starting with one `/`.
    ///
    /// # Errors
    /// [`FieldProblem`] when it is neither (or too long, or has spaces or
    /// control characters).
    pub fn parse(s: &str) -> Result<Self, FieldProblem> {
        if s.starts_with('/') && !s.starts_with("//") {
            check_text(s, URL_MAX_CHARS)?;
            if !s.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(FieldProblem::Invalid("printable ASCII without spaces only"));
            }
            return Ok(Self::Relative(s.to_owned()));
        }
        HttpUrl::parse(s).map(Self::Url)
    }

    /// The value as sent.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Url(u) => u.as_str(),
            Self::Relative(r) => r,
        }
    }

    /// The URL notifications go to; `None` for a relative path.
    pub fn url(&self) -> Option<&HttpUrl> {
        match self {
            Self::Url(u) => Some(u),
            Self::Relative(_) => None,
        }
    }

    /// The value as sent, moved out.
    pub fn into_string(self) -> String {
        match self {
            Self::Url(u) => u.into_string(),
            Self::Relative(r) => r,
        }
    }
}

impl fmt::Debug for NotifyTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NotifyTarget").field(&self.as_str()).finish()
    }
}

/// A qrcode sale (`service.*.qrcode.PreOrder`): the gateway answers with
/// `qr_code`, the text the till shows as a QR code for the buyer's wallet.
///
/// Required: `transaction_amount`, `out_trade_no`, `paytype`,
/// `payment_type`, `subject`. Optional: `buyertype`, `tid`, `notify_url`
/// (absolute, or relative and undeliverable), and, as on the web scene,
/// `fee_type` and `active_time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrcodeOrder {
    /// The interface.
    pub service: Service,
    /// The merchant's order number, unique per merchant.
    pub out_trade_no: OutTradeNo,
    /// `transaction_amount`, echoed exactly as sent.
    pub amount: WireAmount,
    /// `paytype`, one the service takes.
    pub pay_type: PayType,
    /// `payment_type`: the wallet, one the service takes.
    pub wallet: Wallet,
    /// `buyertype`, when sent.
    pub buyer_type: Option<BuyerType>,
    /// `subject`.
    pub subject: Subject,
    /// `tid`: the till, echoed in the answer, queries and notifications.
    pub tid: Option<Tid>,
    /// `notify_url`.
    pub notify_url: Option<NotifyTarget>,
    /// `fee_type`, HKD when none was sent.
    pub currency: Currency,
    /// `active_time` in seconds, 1800 when none was sent.
    pub active_time: u32,
}

impl QrcodeOrder {
    /// Starts a sale of `service` (a qrcode `PreOrder`): see [`QrcodeOrderBuilder`].
    pub fn builder(service: Service) -> QrcodeOrderBuilder {
        QrcodeOrderBuilder { service, fields: Params::new(), error: None }
    }

    fn parse(service: Service, p: &Params) -> Result<Self, RequestError> {
        let f = Fields(p);
        Ok(Self {
            service,
            amount: sale_amount(f)?,
            out_trade_no: f.req_with("out_trade_no", OutTradeNo::parse)?,
            pay_type: sale_pay_type(f, service)?,
            wallet: sale_wallet(f, service)?,
            buyer_type: f.opt_with("buyertype", BuyerType::parse)?,
            subject: f.req_with("subject", Subject::parse)?,
            tid: f.opt_with("tid", Tid::parse)?,
            notify_url: f.opt_with("notify_url", NotifyTarget::parse)?,
            currency: currency(f)?,
            active_time: f.opt_with("active_time", parse_active_time)?.unwrap_or(ACTIVE_TIME_DEFAULT),
        })
    }

    fn write(&self, p: &mut Params) {
        p.set("transaction_amount", self.amount.as_str())
            .set("out_trade_no", self.out_trade_no.as_str())
            .set("paytype", self.pay_type.as_str())
            .set("payment_type", self.wallet.as_str());
        put(p, "buyertype", self.buyer_type.as_ref().map(BuyerType::as_str));
        p.set("subject", self.subject.as_str());
        put(p, "tid", self.tid.as_ref().map(Tid::as_str));
        put(p, "notify_url", self.notify_url.as_ref().map(NotifyTarget::as_str));
        if self.currency != Currency::Hkd {
            p.set("fee_type", self.currency.code());
        }
        if self.active_time != ACTIVE_TIME_DEFAULT {
            p.set("active_time", self.active_time.to_string());
        }
    }
}

/// Builds a [`QrcodeOrder`] with named setters, judged by the gateway's
/// own rules. Defaults: `paytype` is the service's; `payment_type` is the
/// service's only wallet when it has one.
#[derive(Debug, Clone)]
#[must_use]
pub struct QrcodeOrderBuilder {
    service: Service,
    fields: Params,
    error: Option<RequestError>,
}

impl QrcodeOrderBuilder {
    sale_setters!();

    /// `payment_type` (required unless the service has one wallet only).
    pub fn wallet(self, wallet: Wallet) -> Self {
        self.set("payment_type", wallet.as_str())
    }

    /// `buyertype`.
    pub fn buyer_type(self, buyer_type: BuyerType) -> Self {
        self.set("buyertype", buyer_type.into_string())
    }

    /// The sale, judged by the gateway's own rules.
    ///
    /// # Errors
    /// [`RequestError`] naming the field at fault.
    pub fn build(self) -> Result<QrcodeOrder, RequestError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        check_service(self.service, Operation::Sale)?;
        let spec = self.service.spec();
        let mut p = self.fields;
        if let (false, Some(pt)) = (p.contains("paytype"), spec.pay_type()) {
            p.set("paytype", pt.as_str());
        }
        if let (false, [only]) = (p.contains("payment_type"), spec.wallets) {
            p.set("payment_type", only.as_str());
        }
        QrcodeOrder::parse(self.service, &p)
    }
}

/// A qrcode query (`service.*.qrcode.Query`): the sale, or one of its
/// refunds (`refund_no`).
///
/// ```
/// use vmp_protocol::catalogue::{Service, Wallet};
/// use vmp_protocol::request::{QrcodeQuery, TradeRef};
/// let q = QrcodeQuery::new(Service::AlipayQrcodeQuery, TradeRef::out_trade_no("ORD-1").unwrap())
///     .unwrap()
///     .wallet(Wallet::AlipayHk);
/// assert_eq!(q.wallet_fields.wallet, Some(Wallet::AlipayHk));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrcodeQuery {
    /// The interface.
    pub service: Service,
    /// The order.
    pub order: TradeRef,
    /// When set, the answer describes this refund instead of the sale.
    pub refund_no: Option<RefundNo>,
    /// `paytype`, `payment_type`, `buyertype`.
    pub wallet_fields: WalletFields,
}

impl QrcodeQuery {
    /// A query of `order`'s sale through `service` (a qrcode `Query`).
    ///
    /// # Errors
    /// [`RequestError::UnknownService`] when `service` is no qrcode query.
    pub fn new(service: Service, order: impl Into<TradeRef>) -> Result<Self, RequestError> {
        check_service(service, Operation::Query)?;
        Ok(Self { service, order: order.into(), refund_no: None, wallet_fields: WalletFields::default() })
    }

    /// Asks about the refund `refund_no` instead of the sale.
    ///
    /// # Errors
    /// [`RequestError::Field`] when `refund_no` is malformed.
    pub fn refund(mut self, refund_no: &str) -> Result<Self, RequestError> {
        self.refund_no = Some(refund_no_arg(refund_no)?);
        Ok(self)
    }

    wallet_setter!();

    fn parse(service: Service, p: &Params) -> Result<Self, RequestError> {
        let f = Fields(p);
        query_type(f)?;
        Ok(Self {
            service,
            order: trade_ref(f)?,
            refund_no: refund_no(f, "refund_no")?,
            wallet_fields: WalletFields::parse(f, service)?,
        })
    }

    fn write(&self, p: &mut Params) {
        p.set("querytype", QUERY_TYPE_OUT_TRADE);
        write_trade_ref(&self.order, "eftpay_trade_no", p);
        put(p, "refund_no", self.refund_no.as_ref().map(RefundNo::as_str));
        self.wallet_fields.write(p);
    }
}

/// A qrcode refund (`service.*.qrcode.Refund`): `transaction_amount` is
/// the refund's amount, `refund_no` its number (unique per merchant).
/// Partial refunds add up to at most the order amount (`18`); a fully
/// refunded order is closed (`15`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrcodeRefund {
    /// The interface.
    pub service: Service,
    /// The order.
    pub order: TradeRef,
    /// `refund_no`.
    pub refund_no: RefundNo,
    /// `transaction_amount`: this refund.
    pub amount: WireAmount,
    /// `paytype`, `payment_type`, `buyertype`.
    pub wallet_fields: WalletFields,
}

impl QrcodeRefund {
    /// A refund of `amount` of `order` through `service` (a qrcode `Refund`).
    ///
    /// # Errors
    /// [`RequestError`] when `service` is no qrcode refund, `refund_no` is
    /// malformed or the amount does not fit the wire.
    pub fn new(
        service: Service,
        order: impl Into<TradeRef>,
        refund_no: &str,
        amount: Amount,
    ) -> Result<Self, RequestError> {
        check_service(service, Operation::Refund)?;
        let amount = WireAmount::from_amount(amount)
            .map_err(|error| RequestError::Amount { field: "transaction_amount", error })?;
        Ok(Self {
            service,
            order: order.into(),
            refund_no: refund_no_arg(refund_no)?,
            amount,
            wallet_fields: WalletFields::default(),
        })
    }

    wallet_setter!();

    fn parse(service: Service, p: &Params) -> Result<Self, RequestError> {
        let f = Fields(p);
        no_camel_names(f, &CAMEL_REFUND_NAMES)?;
        Ok(Self {
            service,
            order: trade_ref(f)?,
            refund_no: refund_no(f, "refund_no")?.ok_or(RequestError::Missing("refund_no"))?,
            amount: WireAmount::parse(f.req("transaction_amount")?)
                .map_err(|error| RequestError::Amount { field: "transaction_amount", error })?,
            wallet_fields: WalletFields::parse(f, service)?,
        })
    }

    fn write(&self, p: &mut Params) {
        write_trade_ref(&self.order, "eft_trade_no", p);
        p.set("refund_no", self.refund_no.as_str()).set("transaction_amount", self.amount.as_str());
        self.wallet_fields.write(p);
    }
}

/// A qrcode close (`service.*.qrcode.Close`): an unpaid order is closed
/// (`00`); a paid one is `54`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrcodeClose {
    /// The interface.
    pub service: Service,
    /// The order.
    pub order: TradeRef,
    /// `paytype`, `payment_type`, `buyertype`.
    pub wallet_fields: WalletFields,
}

impl QrcodeClose {
    /// Closes `order` through `service` (a qrcode `Close`).
    ///
    /// # Errors
    /// [`RequestError::UnknownService`] when `service` is no qrcode close.
    pub fn new(service: Service, order: impl Into<TradeRef>) -> Result<Self, RequestError> {
        check_service(service, Operation::Close)?;
        Ok(Self { service, order: order.into(), wallet_fields: WalletFields::default() })
    }

    wallet_setter!();

    fn parse(service: Service, p: &Params) -> Result<Self, RequestError> {
        let f = Fields(p);
        Ok(Self { service, order: trade_ref(f)?, wallet_fields: WalletFields::parse(f, service)? })
    }

    fn write(&self, p: &mut Params) {
        write_trade_ref(&self.order, "eftpay_trade_no", p);
        self.wallet_fields.write(p);
    }
}

/// `QRcodeTradeCancel.do` (no `service`): reverses a paid order in full
/// and closes it. An unpaid order is `16` (close it instead), a closed one
/// `15`; the order's state is checked before `paytype`/`payment_type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrcodeCancel {
    /// The order.
    pub order: TradeRef,
    /// `paytype`, `payment_type`, `buyertype`.
    pub wallet_fields: WalletFields,
}

impl QrcodeCancel {
    /// Cancels `order`.
    pub fn new(order: impl Into<TradeRef>) -> Self {
        Self { order: order.into(), wallet_fields: WalletFields::default() }
    }

    wallet_setter!();

    fn parse(p: &Params) -> Result<Self, RequestError> {
        let f = Fields(p);
        Ok(Self { order: trade_ref(f)?, wallet_fields: WalletFields::parse(f, Service::QrcodeCancel)? })
    }

    fn write(&self, p: &mut Params) {
        write_trade_ref(&self.order, "eftpay_trade_no", p);
        self.wallet_fields.write(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Endpoint;
    use crate::codes::ReturnStatus;
    use crate::request::Request;

    /// The sale as an Odoo point-of-sale module sends it.
    fn odoo() -> Params {
        Params::from_json(
            br#"{"service":"service.wechat.qrcode.PreOrder","user_confirm_key":"S0001234","transaction_amount":"0.50",
            "out_trade_no":"ORD20260101120000123456","paytype":"WeChat","buyertype":"others","subject":"POS Transaction",
            "payment_type":"WECHATCN","tid":"T0001","notify_url":"/eft/payment/notify","time":"20260101120000","sign":"x"}"#,
        )
        .unwrap()
    }

    fn parse(endpoint: Endpoint, p: &Params) -> Result<QrcodeRequest, RequestError> {
        match Request::parse(endpoint, p)? {
            Request::Qrcode(r) => Ok(r),
            other => panic!("not a qrcode request: {other:?}"),
        }
    }

    fn sale(p: &Params) -> Result<QrcodeOrder, RequestError> {
        match parse(Endpoint::JsapiService, p)? {
            QrcodeRequest::PlaceOrder(o) => Ok(o),
            other => panic!("not a sale: {other:?}"),
        }
    }

    #[test]
    fn the_odoo_sale_is_valid_and_its_relative_notify_url_is_kept_undeliverable() {
        let o = sale(&odoo()).unwrap();
        assert_eq!((o.pay_type, o.wallet), (PayType::WeChat, Wallet::WechatCn));
        assert_eq!(o.amount.as_str(), "0.50");
        assert_eq!(o.tid.as_ref().map(Tid::as_str), Some("T0001"));
        let notify = o.notify_url.unwrap();
        assert_eq!(notify.as_str(), "/eft/payment/notify");
        assert_eq!(notify.url(), None);
        let mut without = odoo();
        without.remove("buyertype");
        without.remove("tid");
        without.remove("notify_url");
        let o = sale(&without).unwrap();
        assert_eq!((o.buyer_type, o.tid, o.notify_url), (None, None, None));
    }

    #[test]
    fn every_sale_rule_has_its_own_answer() {
        let cases: Vec<(&str, &str, Option<&str>, ReturnStatus, &str)> = vec![
            ("no paytype", "paytype", None, ReturnStatus::InvalidParameter, "paytype"),
            ("other paytype", "paytype", Some("Alipay"), ReturnStatus::InvalidPayType, "paytype"),
            ("no payment_type", "payment_type", None, ReturnStatus::InvalidParameter, "payment_type"),
            ("other wallet", "payment_type", Some("ALIPAYHK"), ReturnStatus::WalletRestricted, "payment_type"),
            ("unknown wallet", "payment_type", Some("WECHAT"), ReturnStatus::WalletRestricted, "payment_type"),
            ("no subject", "subject", None, ReturnStatus::InvalidParameter, "subject"),
            ("no amount", "transaction_amount", None, ReturnStatus::InvalidParameter, "transaction_amount"),
            ("zero", "transaction_amount", Some("0.00"), ReturnStatus::AmountOutOfRange, "transaction_amount"),
            ("3 decimals", "transaction_amount", Some("0.501"), ReturnStatus::InvalidParameter, "transaction_amount"),
            ("long tid", "tid", Some("123456789012345678901"), ReturnStatus::InvalidParameter, "tid"),
            ("long buyertype", "buyertype", Some("androids"), ReturnStatus::InvalidParameter, "buyertype"),
            ("ftp notify_url", "notify_url", Some("ftp://x.example/"), ReturnStatus::InvalidParameter, "notify_url"),
            ("scheme-relative", "notify_url", Some("//x.example/n"), ReturnStatus::InvalidParameter, "notify_url"),
            ("path with a space", "notify_url", Some("/a b"), ReturnStatus::InvalidParameter, "notify_url"),
            ("USD", "fee_type", Some("USD"), ReturnStatus::CurrencyNotSupported, "fee_type"),
            ("active_time", "active_time", Some("5"), ReturnStatus::InvalidParameter, "active_time"),
            ("no out_trade_no", "out_trade_no", None, ReturnStatus::InvalidParameter, "out_trade_no"),
        ];
        for (what, key, value, status, named) in cases {
            let mut p = odoo();
            match value {
                Some(v) => {
                    p.set(key, v);
                }
                None => {
                    p.remove(key);
                }
            }
            let err = sale(&p).expect_err(what);
            assert_eq!(err.return_status(), status, "{what}: {err}");
            assert_eq!(err.field(), named, "{what}: {err}");
            assert!(err.to_string().contains(named), "{what}: {err} should name {named}");
            assert!(err.return_char().chars().count() <= 100, "{what}");
        }
    }

    #[test]
    fn the_web_scenes_camel_case_names_are_refused_naming_the_scenes_own() {
        for (camel, lower) in [("payType", "paytype"), ("wallet", "payment_type"), ("buyerType", "buyertype")] {
            let mut p = odoo();
            let value = p.remove(lower).unwrap().as_str().to_owned();
            p.set(camel, value);
            let err = sale(&p).unwrap_err();
            assert_eq!(err, RequestError::WrongFamily { sent: camel, expected: lower });
            assert_eq!(err.return_status(), ReturnStatus::InvalidParameter);
            assert_eq!(err.return_char(), format!("参数错误:请检查请求接口参数: {lower}"));
            assert!(err.to_string().contains(camel) && err.to_string().contains(lower), "{err}");
        }
        let refund = r#"{"service":"service.alipay.qrcode.Refund","out_trade_no":"A","out_refund_no":"R","transaction_amount":"1"}"#;
        let err = parse(Endpoint::JsapiService, &Params::from_json(refund.as_bytes()).unwrap()).unwrap_err();
        assert_eq!(err, RequestError::WrongFamily { sent: "out_refund_no", expected: "refund_no" });
    }

    #[test]
    fn after_sale_requests_take_both_spellings_of_the_gateways_number() {
        let q = |json: &str| parse(Endpoint::JsapiService, &Params::from_json(json.as_bytes()).unwrap());
        let base = r#""service":"service.alipay.qrcode.Query","querytype":"OUT_TRADE","out_trade_no":"A""#;
        for name in ["eftpay_trade_no", "eft_trade_no"] {
            let Ok(QrcodeRequest::Query(got)) = q(&format!(r#"{{{base},"{name}":"0123"}}"#)) else { panic!("{name}") };
            assert_eq!(got.order, TradeRef::eft_trade_no("0123").unwrap(), "{name} wins over out_trade_no");
        }
        let Ok(QrcodeRequest::Query(got)) = q(&format!("{{{base}}}")) else { panic!() };
        assert_eq!(got.order, TradeRef::out_trade_no("A").unwrap());
        let cancel = Params::from_json(br#"{"paytype":"Alipay","payment_type":"ALIPAYHK"}"#).unwrap();
        let err = parse(Endpoint::TradeCancel, &cancel).unwrap_err();
        assert_eq!((err.return_status(), err.field()), (ReturnStatus::InvalidParameter, "out_trade_no"));
    }

    #[test]
    fn after_sale_wallet_fields_are_checked_against_the_service() {
        let refund = |extra: &str| {
            let json = format!(
                r#"{{"service":"service.alipay.qrcode.Refund","out_trade_no":"A","refund_no":"R","transaction_amount":"0.10"{extra}}}"#
            );
            parse(Endpoint::JsapiService, &Params::from_json(json.as_bytes()).unwrap())
        };
        let Ok(QrcodeRequest::Refund(r)) = refund(r#","payment_type":"ALIPAYCN","paytype":"Alipay""#) else { panic!() };
        assert_eq!(r.wallet_fields.wallet, Some(Wallet::AlipayCn));
        assert_eq!(r.amount.as_str(), "0.10");
        assert_eq!(
            refund(r#","payment_type":"WECHATHK""#).unwrap_err().return_status(),
            ReturnStatus::WalletRestricted
        );
        assert_eq!(refund(r#","paytype":"Nope""#).unwrap_err().return_status(), ReturnStatus::InvalidPayType);
        assert_eq!(refund(r#","payment_type":"A\u0007""#).unwrap_err().return_status(), ReturnStatus::InvalidParameter);
        // The cancel takes every family: its state is checked first.
        let cancel = br#"{"out_trade_no":"A","paytype":"WeChat","payment_type":"WECHATHK"}"#;
        assert!(parse(Endpoint::TradeCancel, &Params::from_json(cancel).unwrap()).is_ok());
    }

    #[test]
    fn every_ready_qrcode_service_round_trips_through_its_constructor() {
        let order = TradeRef::out_trade_no("ORD-1").unwrap();
        let mut requests = Vec::new();
        for s in Service::qrcode_sales() {
            for w in s.spec().wallets {
                let sale = QrcodeOrder::builder(s)
                    .wallet(*w)
                    .out_trade_no("ORD-1")
                    .amount(Amount::from_minor(1234).unwrap())
                    .subject("POS")
                    .notify_url("https://shop.example/n")
                    .currency(Currency::Cny)
                    .active_time(120)
                    .build()
                    .unwrap_or_else(|e| panic!("{s} {w}: {e}"));
                requests.push(QrcodeRequest::PlaceOrder(sale));
            }
        }
        for s in Service::ALL.iter().filter(|s| s.spec().scene == Scene::Qrcode && s.spec().is_ready()) {
            let wallet = s.spec().wallets.first().copied().unwrap_or(Wallet::AlipayHk);
            let eft = TradeRef::eft_trade_no("0123").unwrap();
            match s.spec().op {
                Operation::Query => {
                    requests.push(QrcodeRequest::Query(QrcodeQuery::new(*s, order.clone()).unwrap().wallet(wallet)));
                    let by_refund = QrcodeQuery::new(*s, eft.clone()).unwrap().refund("R-1").unwrap();
                    requests.push(QrcodeRequest::Query(by_refund));
                }
                Operation::Refund => requests.push(QrcodeRequest::Refund(
                    QrcodeRefund::new(*s, eft.clone(), "R-1", Amount::from_minor(5).unwrap()).unwrap().wallet(wallet),
                )),
                Operation::Close => {
                    requests.push(QrcodeRequest::Close(QrcodeClose::new(*s, eft.clone()).unwrap().wallet(wallet)))
                }
                Operation::Cancel => requests.push(QrcodeRequest::Cancel(QrcodeCancel::new(order.clone()))),
                _ => {}
            }
        }
        assert!(requests.len() > 40, "{} requests", requests.len());
        for r in requests {
            let r = Request::Qrcode(r);
            let back = Request::parse(r.endpoint(), &r.to_params()).unwrap_or_else(|e| panic!("{r:?}: {e}"));
            assert_eq!(back, r);
        }
    }

    #[test]
    fn constructors_refuse_services_of_another_kind() {
        let order = || TradeRef::out_trade_no("A").unwrap();
        assert!(QrcodeQuery::new(Service::TradeQuery, order()).is_err());
        assert!(QrcodeClose::new(Service::AlipayQrcodeRefund, order()).is_err());
        assert!(QrcodeRefund::new(Service::AlipayWapRefund, order(), "R", Amount::from_minor(1).unwrap()).is_err());
        assert!(QrcodeOrder::builder(Service::AlipayWap).build().is_err());
        let err = QrcodeOrder::builder(Service::AlipayQrcode).out_trade_no("A").subject("s").build().unwrap_err();
        assert_eq!(err, RequestError::Missing("transaction_amount"));
        let err = QrcodeOrder::builder(Service::AlipayQrcode)
            .out_trade_no("A")
            .subject("s")
            .amount(Amount::from_minor(1).unwrap())
            .build()
            .unwrap_err();
        assert_eq!(err, RequestError::Missing("payment_type"), "Alipay has three wallets: no default");
    }
}
