//! After the sale: [`Query`], [`Refund`], [`RefundStatusQuery`] and
//! [`CloseOrder`], each naming its order by a [`TradeRef`].
//!
//! Refunds find the order by merchant and number, not by scene (eftPay
//! refunds a web order through `AppTradeRefund.do` too); a refund service
//! takes the orders of its wallets' family, and `wallet` may be left out
//! (docs/protocol.md "Refunds").

use std::fmt;

use crate::amount::{Amount, WireAmount};
use crate::catalogue::{Operation, PayType, Service, Wallet};
use crate::fields::{BuyerType, EftTradeNo, HttpUrl, OutTradeNo, Reason, RefundNo};
use crate::params::Params;

use super::{Fields, RequestError, clip, put};

/// The `querytype` every query carries.
pub const QUERY_TYPE_OUT_TRADE: &str = "OUT_TRADE";

/// Which order a request is about: the gateway's number wins when both are
/// sent (eftPay's docs), and an empty one counts as not sent.
///
/// ```
/// use vmp_protocol::request::TradeRef;
/// let by_gateway = TradeRef::eft_trade_no("0100000000000001").unwrap();
/// assert_eq!(by_gateway.field(), "eft_trade_no");
/// assert_eq!(TradeRef::out_trade_no("ORDER-1").unwrap().to_string(), "out_trade_no ORDER-1");
/// assert!(TradeRef::out_trade_no("has space").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TradeRef {
    /// By `eft_trade_no`.
    Eft(EftTradeNo),
    /// By `out_trade_no`.
    Out(OutTradeNo),
}

impl TradeRef {
    /// By the gateway's number.
    ///
    /// # Errors
    /// [`RequestError::Field`] when it is not an `eft_trade_no`.
    pub fn eft_trade_no(no: &str) -> Result<Self, RequestError> {
        EftTradeNo::parse(no).map(Self::Eft).map_err(|problem| RequestError::Field { field: "eft_trade_no", problem })
    }

    /// By the merchant's number.
    ///
    /// # Errors
    /// [`RequestError::Field`] when it is not an `out_trade_no`.
    pub fn out_trade_no(no: &str) -> Result<Self, RequestError> {
        OutTradeNo::parse(no).map(Self::Out).map_err(|problem| RequestError::Field { field: "out_trade_no", problem })
    }

    /// The wire field it travels in.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Eft(_) => "eft_trade_no",
            Self::Out(_) => "out_trade_no",
        }
    }

    /// The number.
    pub fn value(&self) -> &str {
        match self {
            Self::Eft(e) => e.as_str(),
            Self::Out(o) => o.as_str(),
        }
    }

    pub(super) fn parse(f: Fields<'_>) -> Result<Self, RequestError> {
        if let Some(eft) = f.opt_with("eft_trade_no", EftTradeNo::parse)? {
            return Ok(Self::Eft(eft));
        }
        // The lowercase family's name for it (qrcode queries, jsapi answers).
        if let Some(eft) = f.opt_with("eftpay_trade_no", EftTradeNo::parse)? {
            return Ok(Self::Eft(eft));
        }
        match f.opt_with("out_trade_no", OutTradeNo::parse)? {
            Some(out) => Ok(Self::Out(out)),
            None => Err(RequestError::MissingTradeRef),
        }
    }

    pub(super) fn write(&self, p: &mut Params) {
        p.set(self.field(), self.value());
    }
}

impl From<EftTradeNo> for TradeRef {
    fn from(no: EftTradeNo) -> Self {
        Self::Eft(no)
    }
}

impl From<OutTradeNo> for TradeRef {
    fn from(no: OutTradeNo) -> Self {
        Self::Out(no)
    }
}

impl From<&TradeRef> for TradeRef {
    fn from(r: &TradeRef) -> Self {
        r.clone()
    }
}

impl fmt::Display for TradeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field(), self.value())
    }
}

pub(super) fn query_type(f: Fields<'_>) -> Result<(), RequestError> {
    match f.req("querytype")? {
        QUERY_TYPE_OUT_TRADE => Ok(()),
        _ => Err(RequestError::QueryType),
    }
}

/// A `refund_no` given to a constructor.
pub(super) fn refund_no_arg(refund_no: &str) -> Result<RefundNo, RequestError> {
    RefundNo::parse(refund_no).map_err(|problem| RequestError::Field { field: "refund_no", problem })
}

pub(super) fn refund_no(f: Fields<'_>, name: &'static str) -> Result<Option<RefundNo>, RequestError> {
    f.opt_with(name, RefundNo::parse)
}

/// A code-list field of an after-sale request: malformed text (too long,
/// control characters) is `-13` naming it, as for any text field; a
/// well-formed value that is no code is the field's own refusal.
pub(super) fn code_text<'a>(f: Fields<'a>, name: &'static str) -> Result<Option<&'a str>, RequestError> {
    let text = f.opt(name)?;
    if let Some(t) = text {
        crate::fields::check_text(t, 20).map_err(|problem| RequestError::Field { field: name, problem })?;
    }
    Ok(text)
}

fn wallet(f: Fields<'_>, service: Service) -> Result<Option<Wallet>, RequestError> {
    let Some(text) = code_text(f, "wallet")? else { return Ok(None) };
    let spec = service.spec();
    // Any wallet of the service's families: eftPay's batch refunds send
    // ALIPAYHK for every Alipay order.
    let ok = |w: &Wallet| spec.wallets.is_empty() || spec.wallets.iter().any(|s| s.same_family(*w));
    Wallet::parse(text).filter(ok).map(Some).ok_or_else(|| RequestError::Wallet {
        given: clip(text, 20),
        service: service.label(),
        allowed: if spec.wallets.is_empty() {
            Wallet::spellings()
        } else {
            spec.wallets.iter().map(|w| w.as_str()).collect::<Vec<_>>().join("/")
        },
    })
}

fn pay_type(f: Fields<'_>, service: Service) -> Result<Option<PayType>, RequestError> {
    let Some(text) = code_text(f, "payType")? else { return Ok(None) };
    PayType::parse(text).map(Some).ok_or_else(|| RequestError::PayType {
        given: clip(text, 20),
        service: service.label(),
        allowed: PayType::spellings(),
    })
}

/// A trade query: the sale, or one of its refunds (`refund_no`).
///
/// Sent to `QRcodeTradeQuery.do` ([`Service::TradeQuery`]) or, "new
/// interface", as `service.common.Query` ([`Service::CommonQuery`]).
///
/// ```
/// use vmp_protocol::request::{Query, TradeRef};
/// let q = Query::refund(TradeRef::out_trade_no("ORDER-1").unwrap(), "R-1").unwrap();
/// assert_eq!(q.refund_no.as_ref().map(|r| r.as_str()), Some("R-1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The interface ([`Service::TradeQuery`] unless chosen).
    pub service: Service,
    /// The order.
    pub order: TradeRef,
    /// When set, the answer describes this refund instead of the sale.
    pub refund_no: Option<RefundNo>,
}

impl Query {
    /// The sale of `order`.
    pub fn sale(order: impl Into<TradeRef>) -> Self {
        Self { service: Service::TradeQuery, order: order.into(), refund_no: None }
    }

    /// One refund of `order`.
    ///
    /// # Errors
    /// [`RequestError::Field`] when `refund_no` is malformed.
    pub fn refund(order: impl Into<TradeRef>, refund_no: &str) -> Result<Self, RequestError> {
        Ok(Self { service: Service::TradeQuery, order: order.into(), refund_no: Some(refund_no_arg(refund_no)?) })
    }

    /// Sends it through another query interface (e.g. [`Service::CommonQuery`]).
    #[must_use]
    pub fn via(mut self, service: Service) -> Self {
        self.service = service;
        self
    }

    pub(super) fn parse(service: Service, p: &Params) -> Result<Self, RequestError> {
        let f = Fields(p);
        query_type(f)?;
        Ok(Self { service, order: TradeRef::parse(f)?, refund_no: refund_no(f, "refund_no")? })
    }

    pub(super) fn write(&self, p: &mut Params) {
        p.set("querytype", QUERY_TYPE_OUT_TRADE);
        self.order.write(p);
        put(p, "refund_no", self.refund_no.as_ref().map(RefundNo::as_str));
    }
}

/// `service.unified.RefundStatusQuery`: where a refund is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundStatusQuery {
    /// The order.
    pub order: TradeRef,
    /// The refund (its `out_refund_no`).
    pub refund_no: RefundNo,
}

impl RefundStatusQuery {
    /// The refund `refund_no` of `order`.
    ///
    /// # Errors
    /// [`RequestError::Field`] when `refund_no` is malformed.
    pub fn new(order: impl Into<TradeRef>, refund_no: &str) -> Result<Self, RequestError> {
        Ok(Self { order: order.into(), refund_no: refund_no_arg(refund_no)? })
    }

    pub(super) fn parse(p: &Params) -> Result<Self, RequestError> {
        let f = Fields(p);
        query_type(f)?;
        let order = TradeRef::parse(f)?;
        let refund_no = refund_no(f, "refund_no")?.ok_or(RequestError::Missing("refund_no"))?;
        Ok(Self { order, refund_no })
    }

    pub(super) fn write(&self, p: &mut Params) {
        p.set("querytype", QUERY_TYPE_OUT_TRADE);
        self.order.write(p);
        p.set("refund_no", self.refund_no.as_str());
    }
}

/// A refund of a paid order, in full or in part.
///
/// `total_fee` is echoed as sent and never compared with the order amount
/// (real clients send the refund amount there, others the order amount);
/// only the running total of refunds is checked (`18`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// The refund interface.
    pub service: Service,
    /// The order.
    pub order: TradeRef,
    /// `out_refund_no`, unique per merchant.
    pub out_refund_no: RefundNo,
    /// `return_amount`: this refund.
    pub amount: WireAmount,
    /// `total_fee` as sent.
    pub total_fee: Option<WireAmount>,
    /// `wallet`, when sent: of the order's family.
    pub wallet: Option<Wallet>,
    /// `payType`, when sent: of the order's family.
    pub pay_type: Option<PayType>,
    /// `buyerType`, when sent (echoed; not checked against a list).
    pub buyer_type: Option<BuyerType>,
    /// `reason`.
    pub reason: Option<Reason>,
    /// `notify_url` (read by apply-refunds only).
    pub notify_url: Option<HttpUrl>,
}

impl Refund {
    /// Starts a refund of `order`: see [`RefundBuilder`].
    pub fn builder(order: impl Into<TradeRef>) -> RefundBuilder {
        RefundBuilder { service: None, order: order.into(), fields: Params::new(), error: None }
    }

    pub(super) fn parse(service: Service, p: &Params) -> Result<Self, RequestError> {
        let f = Fields(p);
        let order = TradeRef::parse(f)?;
        let out_refund_no = refund_no(f, "out_refund_no")?.ok_or(RequestError::Missing("out_refund_no"))?;
        let amount = WireAmount::parse(f.req("return_amount")?)
            .map_err(|error| RequestError::Amount { field: "return_amount", error })?;
        let total_fee = f
            .opt("total_fee")?
            .map(|t| WireAmount::parse(t).map_err(|error| RequestError::Amount { field: "total_fee", error }))
            .transpose()?;
        Ok(Self {
            service,
            order,
            out_refund_no,
            amount,
            total_fee,
            wallet: wallet(f, service)?,
            pay_type: pay_type(f, service)?,
            buyer_type: f.opt_with("buyerType", BuyerType::parse)?,
            reason: f.opt_with("reason", Reason::parse)?,
            notify_url: f.opt_with("notify_url", HttpUrl::parse)?,
        })
    }

    pub(super) fn write(&self, p: &mut Params) {
        self.order.write(p);
        p.set("out_refund_no", self.out_refund_no.as_str()).set("return_amount", self.amount.as_str());
        put(p, "total_fee", self.total_fee.as_ref().map(WireAmount::as_str));
        put(p, "wallet", self.wallet.map(Wallet::as_str));
        put(p, "payType", self.pay_type.map(PayType::as_str));
        put(p, "buyerType", self.buyer_type.as_ref().map(BuyerType::as_str));
        put(p, "reason", self.reason.as_ref().map(Reason::as_str));
        put(p, "notify_url", self.notify_url.as_ref().map(HttpUrl::as_str));
    }

    /// Whether this is an apply-refund (answered `APPLY_SUCCESS`, completed later).
    pub fn is_apply(&self) -> bool {
        self.service.spec().apply
    }
}

/// Builds a [`Refund`] with named setters, judged by the gateway's rules.
///
/// The service is, unless chosen: the wallet's refund service when a
/// wallet is given (its apply-refund with [`RefundBuilder::apply`]),
/// otherwise `service.common.Refund`.
///
/// ```
/// use vmp_protocol::catalogue::{Service, Wallet};
/// use vmp_protocol::request::{Refund, TradeRef};
/// use vmp_protocol::Amount;
/// let r = Refund::builder(TradeRef::out_trade_no("ORDER-1").unwrap())
///     .out_refund_no("R-1")
///     .amount(Amount::from_minor(250).unwrap())
///     .wallet(Wallet::AlipayHk)
///     .reason("damaged")
///     .build()
///     .unwrap();
/// assert_eq!(r.service, Service::AlipayWapRefund);
/// assert_eq!(r.amount.as_str(), "2.50");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RefundBuilder {
    service: Option<Service>,
    order: TradeRef,
    fields: Params,
    error: Option<RequestError>,
}

impl RefundBuilder {
    fn set(mut self, name: &str, value: impl Into<String>) -> Self {
        self.fields.set(name, value);
        self
    }

    fn amount_field(mut self, name: &'static str, amount: Amount) -> Self {
        super::set_amount(&mut self.fields, &mut self.error, name, amount);
        self
    }

    /// `out_refund_no` (required).
    pub fn out_refund_no(self, no: impl Into<String>) -> Self {
        self.set("out_refund_no", no)
    }

    /// `return_amount` (required).
    pub fn amount(self, amount: Amount) -> Self {
        self.amount_field("return_amount", amount)
    }

    /// `total_fee` (optional; echoed, never compared).
    pub fn total_fee(self, amount: Amount) -> Self {
        self.amount_field("total_fee", amount)
    }

    /// `wallet` (the order's, or one of its family).
    pub fn wallet(self, wallet: Wallet) -> Self {
        self.set("wallet", wallet.as_str())
    }

    /// `payType`.
    pub fn pay_type(self, pay_type: PayType) -> Self {
        self.set("payType", pay_type.as_str())
    }

    /// `buyerType`.
    pub fn buyer_type(self, buyer_type: BuyerType) -> Self {
        self.set("buyerType", buyer_type.into_string())
    }

    /// `reason`.
    pub fn reason(self, reason: impl Into<String>) -> Self {
        self.set("reason", reason)
    }

    /// `notify_url` for an apply-refund's completion.
    pub fn notify_url(self, url: impl Into<String>) -> Self {
        self.set("notify_url", url)
    }

    /// The refund interface to use.
    pub fn service(mut self, service: Service) -> Self {
        self.service = Some(service);
        self
    }

    /// Use the wallet's apply-refund service (WeChat Pay).
    pub fn apply(mut self) -> Self {
        self.fields.set("apply", "1");
        self
    }

    /// The refund, judged by the gateway's own rules.
    ///
    /// # Errors
    /// [`RequestError`] naming the field at fault.
    pub fn build(self) -> Result<Refund, RequestError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut p = self.fields;
        let apply = p.remove("apply").is_some();
        let wallet = p.get("wallet").and_then(Wallet::parse);
        let service = match (self.service, wallet) {
            (Some(s), _) => s,
            (None, Some(w)) => Service::refund_for_wallet(w, apply).ok_or_else(|| RequestError::Wallet {
                given: w.as_str().to_owned(),
                service: if apply { "an apply-refund" } else { "a refund service" },
                allowed: Service::ALL
                    .iter()
                    .map(|s| s.spec())
                    .filter(|s| s.op == Operation::Refund && s.is_ready() && s.apply == apply)
                    .flat_map(|s| s.wallets.iter().map(|w| w.as_str()))
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join("/"),
            })?,
            (None, None) => Service::CommonRefund,
        };
        let spec = service.spec();
        if spec.op != Operation::Refund {
            return Err(RequestError::UnknownService(service.label().to_owned()));
        }
        if spec.family != crate::catalogue::Family::Camel {
            return Err(RequestError::WrongRequest {
                service,
                request: "its scene's refund request (e.g. JsapiRefund)",
            });
        }
        if !spec.is_ready() {
            return Err(RequestError::NotSupported(service));
        }
        self.order.write(&mut p);
        Refund::parse(service, &p)
    }
}

/// Close an unpaid order so it can no longer be paid.
///
/// ```
/// use vmp_protocol::catalogue::{Service, Wallet};
/// use vmp_protocol::request::{CloseOrder, TradeRef};
/// let c = CloseOrder::new(TradeRef::out_trade_no("ORDER-1").unwrap()).wallet(Wallet::Mpgs);
/// assert_eq!(c.service, Service::MpgsWebClose);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseOrder {
    /// The close interface ([`Service::CommonClose`] unless chosen).
    pub service: Service,
    /// The order.
    pub order: TradeRef,
    /// `wallet`, when sent: the order's.
    pub wallet: Option<Wallet>,
}

impl CloseOrder {
    /// Closes `order` through `service.common.Close`.
    pub fn new(order: impl Into<TradeRef>) -> Self {
        Self { service: Service::CommonClose, order: order.into(), wallet: None }
    }

    /// Sends `wallet` and, unless a service was chosen, uses the wallet's
    /// close service.
    #[must_use]
    pub fn wallet(mut self, wallet: Wallet) -> Self {
        self.wallet = Some(wallet);
        if self.service == Service::CommonClose
            && let Some(s) = Service::close_for_wallet(wallet)
        {
            self.service = s;
        }
        self
    }

    /// Uses `service`.
    #[must_use]
    pub fn via(mut self, service: Service) -> Self {
        self.service = service;
        self
    }

    pub(super) fn parse(service: Service, p: &Params) -> Result<Self, RequestError> {
        let f = Fields(p);
        f.opt("payType")?;
        Ok(Self { service, order: TradeRef::parse(f)?, wallet: wallet(f, service)? })
    }

    pub(super) fn write(&self, p: &mut Params) {
        self.order.write(p);
        put(p, "wallet", self.wallet.map(Wallet::as_str));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Endpoint;
    use crate::codes::ReturnStatus;
    use crate::request::Request;

    fn p(json: &str) -> Params {
        Params::from_json(json.as_bytes()).unwrap()
    }

    fn parse(endpoint: Endpoint, json: &str) -> Result<Request, RequestError> {
        Request::parse(endpoint, &p(json))
    }

    #[test]
    fn eft_trade_no_wins_over_out_trade_no_and_empty_counts_as_absent() {
        let Ok(Request::Query(q)) =
            parse(Endpoint::TradeQuery, r#"{"querytype":"OUT_TRADE","eft_trade_no":"123","out_trade_no":"A"}"#)
        else {
            panic!()
        };
        assert_eq!(q.order, TradeRef::eft_trade_no("123").unwrap());
        let Ok(Request::Query(q)) =
            parse(Endpoint::TradeQuery, r#"{"querytype":"OUT_TRADE","eft_trade_no":"","out_trade_no":"A"}"#)
        else {
            panic!()
        };
        assert_eq!(q.order, TradeRef::out_trade_no("A").unwrap());
    }

    #[test]
    fn query_rules() {
        for (json, want) in [
            (r#"{"eft_trade_no":"1"}"#, RequestError::Missing("querytype")),
            (r#"{"querytype":"REFUND","eft_trade_no":"1"}"#, RequestError::QueryType),
            (r#"{"querytype":"OUT_TRADE"}"#, RequestError::MissingTradeRef),
            (r#"{"querytype":"OUT_TRADE","eft_trade_no":1}"#, RequestError::NotAString("eft_trade_no")),
        ] {
            assert_eq!(parse(Endpoint::TradeQuery, json).unwrap_err(), want, "{json}");
        }
        let status = r#"{"service":"service.unified.RefundStatusQuery","querytype":"OUT_TRADE","out_trade_no":"A"}"#;
        assert_eq!(parse(Endpoint::JsapiService, status).unwrap_err(), RequestError::Missing("refund_no"));
    }

    #[test]
    fn refund_rules() {
        let base = r#""service":"service.alipay.wap.Refund","out_trade_no":"A""#;
        let ok = format!(r#"{{{base},"out_refund_no":"R1","return_amount":"0.50","wallet":"ALIPAYHK"}}"#);
        let Ok(Request::Refund(r)) = parse(Endpoint::JsapiService, &ok) else { panic!() };
        assert_eq!(r.amount.value().minor(), 50);
        let cases = [
            (r#""return_amount":"1""#, RequestError::Missing("out_refund_no")),
            (r#""out_refund_no":"R""#, RequestError::Missing("return_amount")),
            (
                r#""out_refund_no":"R","return_amount":"1.234""#,
                RequestError::Amount { field: "return_amount", error: crate::amount::AmountError::TooManyDecimals },
            ),
            (
                r#""out_refund_no":"R","return_amount":"0""#,
                RequestError::Amount { field: "return_amount", error: crate::amount::AmountError::Zero },
            ),
            (
                r#""out_refund_no":"R","return_amount":"1","total_fee":"x""#,
                RequestError::Amount { field: "total_fee", error: crate::amount::AmountError::Format },
            ),
        ];
        for (fields, want) in cases {
            let json = format!("{{{base},{fields}}}");
            assert_eq!(parse(Endpoint::JsapiService, &json).unwrap_err(), want, "{json}");
        }
        let zero = format!(r#"{{{base},"out_refund_no":"R","return_amount":"0"}}"#);
        assert_eq!(parse(Endpoint::JsapiService, &zero).unwrap_err().return_status(), ReturnStatus::AmountOutOfRange);
    }

    #[test]
    fn refunds_take_wallets_of_the_family_and_total_fee_as_sent() {
        // RSM's batch refund: wallet of the family, total_fee = the refund amount, buyerType "other".
        let json = r#"{"service":"service.alipay.web.Refund","eft_trade_no":"1","out_refund_no":"R","return_amount":"0.01","total_fee":"0.01","wallet":"ALIPAYHK","buyerType":"other","pay_scene":"WEB","lang":"en"}"#;
        let Ok(Request::Refund(r)) = parse(Endpoint::JsapiService, json) else { panic!() };
        assert_eq!(r.total_fee.map(WireAmount::into_string).as_deref(), Some("0.01"));
        let wrong = r#"{"service":"service.alipay.web.Refund","eft_trade_no":"1","out_refund_no":"R","return_amount":"1","wallet":"WECHATHK"}"#;
        assert_eq!(parse(Endpoint::JsapiService, wrong).unwrap_err().return_status(), ReturnStatus::WalletRestricted);
        // No wallet at all: the order's is used.
        let none =
            r#"{"service":"service.wechat.web.Refund","eft_trade_no":"1","out_refund_no":"R","return_amount":"1"}"#;
        assert!(parse(Endpoint::JsapiService, none).is_ok());
    }

    #[test]
    fn builders_round_trip_through_the_parser() {
        let order = TradeRef::out_trade_no("ORDER-1").unwrap();
        let requests = [
            Request::Query(Query::sale(order.clone())),
            Request::Query(Query::refund(order.clone(), "R-1").unwrap().via(Service::CommonQuery)),
            Request::RefundStatus(RefundStatusQuery::new(order.clone(), "R-1").unwrap()),
            Request::Close(CloseOrder::new(order.clone()).wallet(Wallet::AlipayHk)),
            Request::Refund(
                Refund::builder(order.clone())
                    .out_refund_no("R-2")
                    .amount(Amount::from_minor(5).unwrap())
                    .wallet(Wallet::WechatHk)
                    .apply()
                    .notify_url("https://shop.example/n")
                    .build()
                    .unwrap(),
            ),
            Request::Refund(
                Refund::builder(order).out_refund_no("R-3").amount(Amount::from_minor(5).unwrap()).build().unwrap(),
            ),
        ];
        for r in requests {
            let back = Request::parse(r.endpoint(), &r.to_params()).unwrap_or_else(|e| panic!("{r:?}: {e}"));
            assert_eq!(back, r);
        }
    }

    #[test]
    fn the_refund_builder_picks_the_wallets_service() {
        let order = || TradeRef::eft_trade_no("1").unwrap();
        let build = |b: RefundBuilder| b.out_refund_no("R").amount(Amount::from_minor(1).unwrap()).build();
        assert_eq!(build(Refund::builder(order()).wallet(Wallet::WechatCn)).unwrap().service, Service::WechatWebRefund);
        assert_eq!(
            build(Refund::builder(order()).wallet(Wallet::WechatCn).apply()).unwrap().service,
            Service::WechatWebApplyRefund
        );
        assert_eq!(build(Refund::builder(order())).unwrap().service, Service::CommonRefund);
        assert!(build(Refund::builder(order()).wallet(Wallet::AlipayHk).apply()).is_err());
        assert!(build(Refund::builder(order()).service(Service::AlipayWap)).is_err(), "a sale is no refund service");
    }
}
