//! Typed requests: every operation of the API, parsed once from
//! [`Params`] by the gateway and built into [`Params`] by the SDK.
//!
//! [`Request::parse`] finds the interface (by `service` on
//! `JSAPIService.do`, by endpoint elsewhere) in the [`catalogue`](crate::catalogue),
//! refuses what the table marks as planned, and hands the fields to the
//! operation's parser. [`Request::to_params`] is the inverse: the SDK sends
//! exactly what the gateway parses. The envelope (`user_confirm_key`,
//! `time`, `sign`) is not part of a request: the gateway checks it before
//! parsing ([`check_envelope`]) and the SDK adds it when sending
//! ([`envelope`]).
//!
//! ```
//! use vmp_protocol::catalogue::{Endpoint, Service, Wallet};
//! use vmp_protocol::request::{PlaceOrder, Request};
//! use vmp_protocol::Amount;
//!
//! let order = PlaceOrder::builder(Service::AlipayWap)
//!     .wallet(Wallet::AlipayHk)
//!     .out_trade_no("ORDER-1001")
//!     .amount(Amount::from_minor(1050).unwrap())
//!     .subject("Two coffees")
//!     .build()
//!     .unwrap();
//! let params = Request::PlaceOrder(order.clone()).to_params();
//! assert_eq!(params.get("transaction_amount"), Some("10.50"));
//! // The gateway reads back the very same request.
//! assert_eq!(Request::parse(Endpoint::JsapiService, &params), Ok(Request::PlaceOrder(order)));
//! ```

/// The setters every sale builder shares ([`PlaceOrderBuilder`],
/// [`QrcodeOrderBuilder`], [`CashierOrderBuilder`]; each holds `fields:
/// Params` and `error: Option<RequestError>`), and its `set`.
macro_rules! sale_setters {
    () => {
        fn set(mut self, name: &str, value: impl Into<String>) -> Self {
            self.fields.set(name, value);
            self
        }

        /// `out_trade_no` (required).
        pub fn out_trade_no(self, no: impl Into<String>) -> Self {
            self.set("out_trade_no", no)
        }

        /// `transaction_amount` (required), sent with two decimals when
        /// they fit the wire's 8 characters.
        pub fn amount(mut self, amount: crate::Amount) -> Self {
            super::set_amount(&mut self.fields, &mut self.error, "transaction_amount", amount);
            self
        }

        /// `subject` (required).
        pub fn subject(self, subject: impl Into<String>) -> Self {
            self.set("subject", subject)
        }

        /// `fee_type`.
        pub fn currency(self, currency: crate::Currency) -> Self {
            self.set("fee_type", currency.code())
        }

        /// `tid`: the merchant's terminal (the till).
        pub fn tid(self, tid: impl Into<String>) -> Self {
            self.set("tid", tid)
        }

        /// `notify_url`.
        pub fn notify_url(self, url: impl Into<String>) -> Self {
            self.set("notify_url", url)
        }

        /// `active_time` in seconds.
        pub fn active_time(self, seconds: u32) -> Self {
            self.set("active_time", seconds.to_string())
        }
    };
}

mod after;
mod app;
mod cashier;
mod jsapi;
mod qrcode;
mod sale;

pub use after::{CloseOrder, QUERY_TYPE_OUT_TRADE, Query, Refund, RefundBuilder, RefundStatusQuery, TradeRef};
pub use app::AppOrder;
pub use cashier::{CashierOrder, CashierOrderBuilder};
pub use jsapi::{JsapiOrder, JsapiOrderBuilder, JsapiRefund, JsapiRefundBuilder, JsonObject};
pub use qrcode::{
    NotifyTarget, QrcodeCancel, QrcodeClose, QrcodeOrder, QrcodeOrderBuilder, QrcodeQuery, QrcodeRefund, QrcodeRequest,
    WalletFields,
};
pub use sale::{PlaceOrder, PlaceOrderBuilder};

use time::OffsetDateTime;

use crate::amount::AmountError;
use crate::catalogue::{Endpoint, Operation, Scene, Service, Support};
use crate::codes::ReturnStatus;
use crate::fields::FieldProblem;
use crate::params::{Params, ValueKind};
use crate::vmptime::format_time;

/// Any request the gateway serves, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Request {
    /// Place an order (web, wap scenes).
    PlaceOrder(PlaceOrder),
    /// Query an order or one of its refunds.
    Query(Query),
    /// Refund a paid order.
    Refund(Refund),
    /// Where a refund is.
    RefundStatus(RefundStatusQuery),
    /// Close an unpaid order.
    Close(CloseOrder),
    /// Any request of the qrcode scene (sale, query, refund, close, cancel).
    Qrcode(QrcodeRequest),
    /// A sale of the cashier scene (the buyer picks the wallet).
    Cashier(CashierOrder),
    /// Place an order in the jsapi scene (inside WeChat or Alipay).
    JsapiOrder(JsapiOrder),
    /// Refund a jsapi order (lowercase family).
    JsapiRefund(JsapiRefund),
    /// Place an order in the app scene (the wallet's mobile SDK).
    AppOrder(AppOrder),
}

impl Request {
    /// Reads a request POSTed to `endpoint`: finds its interface, refuses a
    /// planned one, and parses the operation's fields. The envelope is the
    /// caller's ([`check_envelope`]).
    ///
    /// # Errors
    /// [`RequestError`] naming the parameter at fault.
    pub fn parse(endpoint: Endpoint, p: &Params) -> Result<Self, RequestError> {
        let f = Fields(p);
        let service = match endpoint {
            Endpoint::JsapiService => {
                let name = f.req("service")?;
                Service::from_name(name).ok_or_else(|| RequestError::UnknownService(clip(name, 64)))?
            }
            other => Service::for_endpoint(other).ok_or_else(|| RequestError::UnknownService(other.to_string()))?,
        };
        let spec = service.spec();
        if let Support::Planned(_) = spec.support {
            return Err(RequestError::NotSupported(service));
        }
        // The qrcode scene's own field family (request/qrcode.rs).
        if spec.scene == Scene::Qrcode {
            return Ok(Request::Qrcode(QrcodeRequest::parse(service, p)?));
        }
        // The cashier's sale (request/cashier.rs); its refunds are the web scene's.
        if spec.scene == Scene::Cashier && spec.op == Operation::Sale {
            return Ok(Request::Cashier(CashierOrder::parse(p)?));
        }
        // An alias ("new interface") is read as the interface it stands for.
        let scene = spec.behaves_as().spec().scene;
        Ok(match spec.op {
            Operation::Sale if scene == Scene::Jsapi => Request::JsapiOrder(JsapiOrder::parse(service, p)?),
            Operation::Refund if scene == Scene::Jsapi => Request::JsapiRefund(JsapiRefund::parse(service, p)?),
            Operation::Sale if scene == Scene::App => Request::AppOrder(AppOrder::parse(service, p)?),
            Operation::Sale => Request::PlaceOrder(PlaceOrder::parse(service, p)?),
            Operation::Query => Request::Query(Query::parse(service, p)?),
            Operation::Refund => Request::Refund(Refund::parse(service, p)?),
            Operation::RefundStatusQuery => Request::RefundStatus(RefundStatusQuery::parse(p)?),
            Operation::Close => Request::Close(CloseOrder::parse(service, p)?),
            Operation::Cancel => return Err(RequestError::NotSupported(service)),
        })
    }

    /// The interface.
    pub fn service(&self) -> Service {
        match self {
            Request::PlaceOrder(r) => r.service,
            Request::Query(r) => r.service,
            Request::Refund(r) => r.service,
            Request::RefundStatus(_) => Service::RefundStatusQuery,
            Request::Close(r) => r.service,
            Request::Qrcode(r) => r.service(),
            Request::Cashier(_) => CashierOrder::SERVICE,
            Request::JsapiOrder(r) => r.service,
            Request::JsapiRefund(r) => r.service,
            Request::AppOrder(r) => r.order.service,
        }
    }

    /// Where it is POSTed.
    pub fn endpoint(&self) -> Endpoint {
        self.service().spec().endpoint
    }

    /// The request's fields, `service` first when the interface has one;
    /// without the envelope ([`envelope`] adds it).
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        if let Some(name) = self.service().spec().name {
            p.set("service", name);
        }
        match self {
            Request::PlaceOrder(r) => r.write(&mut p),
            Request::Query(r) => r.write(&mut p),
            Request::Refund(r) => r.write(&mut p),
            Request::RefundStatus(r) => r.write(&mut p),
            Request::Close(r) => r.write(&mut p),
            Request::Qrcode(r) => r.write(&mut p),
            Request::Cashier(r) => r.write(&mut p),
            Request::JsapiOrder(r) => r.write(&mut p),
            Request::JsapiRefund(r) => r.write(&mut p),
            Request::AppOrder(r) => r.write(&mut p),
        }
        p
    }
}

/// Adds the envelope a merchant's request carries besides its fields:
/// `user_confirm_key` and `time` (UTC+8). Sign the result with
/// [`crate::sign::sign_in_place`].
pub fn envelope(mut fields: Params, user_confirm_key: &str, now: OffsetDateTime) -> Params {
    fields.set("user_confirm_key", user_confirm_key);
    fields.set("time", format_time(now));
    fields
}

/// The envelope fields a gateway reads before anything else must be JSON
/// strings when present (`sign` is the signature check's: a malformed one
/// is `10`).
///
/// # Errors
/// [`RequestError::NotAString`] naming the field.
pub fn check_envelope(p: &Params) -> Result<(), RequestError> {
    let f = Fields(p);
    for name in ["service", "user_confirm_key", "time"] {
        f.opt(name)?;
    }
    Ok(())
}

/// Why a request was refused before it touched any order. Each variant has
/// one `return_status` ([`RequestError::return_status`]) and eftPay's
/// `return_char` for it ([`RequestError::return_char`]); `Display` is the
/// detailed reason in English, for logs and the SDK.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// A required parameter is absent or empty.
    #[error("parameter error: {0} is required")]
    Missing(&'static str),
    /// A parameter was sent as a JSON number, object, etc.
    #[error("parameter error: {0} must be a JSON string")]
    NotAString(&'static str),
    /// A parameter's value breaks its rule.
    #[error("parameter error: check {field} ({problem})")]
    Field {
        /// Wire name.
        field: &'static str,
        /// What is wrong.
        problem: FieldProblem,
    },
    /// An amount is malformed or zero.
    #[error("parameter error: check {field} ({error})")]
    Amount {
        /// Wire name.
        field: &'static str,
        /// What is wrong.
        error: AmountError,
    },
    /// Neither `eft_trade_no` nor `out_trade_no`.
    #[error("parameter error: eft_trade_no or out_trade_no is required")]
    MissingTradeRef,
    /// `service` (or the endpoint) names no interface.
    #[error("invalid service: {0:?} is no interface of this API")]
    UnknownService(String),
    /// The interface is known but not served yet.
    #[error("{} is not supported yet (planned: {})", .0.label(), planned(*.0))]
    NotSupported(Service),
    /// `payType` is not one the interface takes.
    #[error("payType {given} is not supported by {service}; use {allowed}")]
    PayType {
        /// The value sent (at most 20 characters of it).
        given: String,
        /// The interface.
        service: &'static str,
        /// Accepted values, `/`-separated.
        allowed: String,
    },
    /// `wallet` is unknown or not one the interface takes.
    #[error("wallet {given} is not supported by {service}; supported wallet is {allowed}")]
    Wallet {
        /// The value sent (at most 20 characters of it).
        given: String,
        /// The interface.
        service: &'static str,
        /// Accepted values, `/`-separated.
        allowed: String,
    },
    /// `pay_scene` is not one the interface takes.
    #[error("pay_scene {given} is not supported by {service}; use {allowed}")]
    PayScene {
        /// The value sent (at most 20 characters of it).
        given: String,
        /// The interface.
        service: &'static str,
        /// Accepted values, `/`-separated.
        allowed: String,
    },
    /// `fee_type` is not HKD or CNY.
    #[error("currency not supported: fee_type {0:?} (HKD or CNY)")]
    Currency(String),
    /// `querytype` is not `OUT_TRADE`.
    #[error("parameter error: check querytype (OUT_TRADE)")]
    QueryType,
    /// `return_url` carries a query string or fragment.
    #[error("parameter error: return_url cannot carry parameters")]
    ReturnUrlWithParameters,
    /// The web scene's camelCase name of a field the interface's scene
    /// spells otherwise (`payType` on a qrcode request, which takes `paytype`).
    #[error("parameter error: {expected} is required ({sent} is the web scene's name; this scene takes {expected})")]
    WrongFamily {
        /// The name sent.
        sent: &'static str,
        /// The scene's own name.
        expected: &'static str,
    },
    /// `paytype` (qrcode scene) is not one the interface takes.
    #[error("paytype {given} is not supported by {service}; use {allowed}")]
    Paytype {
        /// The value sent (at most 20 characters of it).
        given: String,
        /// The interface.
        service: &'static str,
        /// Accepted values, `/`-separated.
        allowed: String,
    },
    /// `payment_type` (qrcode scene) is unknown or not one the interface takes.
    #[error("payment_type {given} is not supported by {service}; supported wallet is {allowed}")]
    PaymentType {
        /// The value sent (at most 20 characters of it).
        given: String,
        /// The interface.
        service: &'static str,
        /// Accepted values, `/`-separated.
        allowed: String,
    },
    /// A code-list field (`paytype`, `payment_type`, …) holds a value the
    /// interface does not take; answered with `status` (`20`, `-16`).
    #[error("{field} {given} is not accepted by {service}; use {allowed}")]
    NotAllowed {
        /// Wire name.
        field: &'static str,
        /// The value sent (at most 20 characters of it).
        given: String,
        /// The interface.
        service: &'static str,
        /// Accepted values, `/`-separated.
        allowed: String,
        /// The code of the refusal.
        status: ReturnStatus,
    },
    /// The interface takes another request type (e.g. a jsapi sale is a
    /// [`JsapiOrder`], not a [`PlaceOrder`]).
    #[error("{} is requested with {request}, not with this request type", .service.label())]
    WrongRequest {
        /// The interface.
        service: Service,
        /// The request type it takes.
        request: &'static str,
    },
}

fn planned(s: Service) -> &'static str {
    match s.spec().support {
        Support::Planned(issue) => issue,
        Support::Ready => "ready",
    }
}

impl RequestError {
    /// The `return_status` of this refusal.
    pub fn return_status(&self) -> ReturnStatus {
        match self {
            Self::Amount { error: AmountError::Zero, .. } => ReturnStatus::AmountOutOfRange,
            Self::PayType { .. } | Self::Paytype { .. } => ReturnStatus::InvalidPayType,
            Self::Wallet { .. } | Self::PaymentType { .. } => ReturnStatus::WalletRestricted,
            Self::PayScene { .. } => ReturnStatus::PaySceneNotSupported,
            Self::Currency(_) => ReturnStatus::CurrencyNotSupported,
            Self::NotAllowed { status, .. } => *status,
            _ => ReturnStatus::InvalidParameter,
        }
    }

    /// The parameter at fault.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Missing(f) | Self::NotAString(f) | Self::Field { field: f, .. } | Self::Amount { field: f, .. } => f,
            Self::MissingTradeRef => "out_trade_no",
            Self::UnknownService(_) | Self::NotSupported(_) | Self::WrongRequest { .. } => "service",
            Self::NotAllowed { field, .. } => field,
            Self::PayType { .. } => "payType",
            Self::Wallet { .. } => "wallet",
            Self::PayScene { .. } => "pay_scene",
            Self::Currency(_) => "fee_type",
            Self::QueryType => "querytype",
            Self::ReturnUrlWithParameters => "return_url",
            Self::WrongFamily { expected, .. } => expected,
            Self::Paytype { .. } => "paytype",
            Self::PaymentType { .. } => "payment_type",
        }
    }

    /// eftPay's `return_char` for this refusal: the code's text, naming
    /// the field, the accepted values or the interface.
    pub fn return_char(&self) -> String {
        let status = self.return_status();
        match self {
            Self::NotSupported(s) => format!("参数错误:接口[{}]暂不支持", s.label()),
            Self::PayType { allowed, .. }
            | Self::Wallet { allowed, .. }
            | Self::PayScene { allowed, .. }
            | Self::Paytype { allowed, .. }
            | Self::PaymentType { allowed, .. } => status.text(allowed),
            Self::NotAllowed {
                allowed, status: ReturnStatus::InvalidPayType | ReturnStatus::WalletRestricted, ..
            } => status.text(allowed),
            Self::Currency(c) => status.text(c),
            _ => status.text(self.field()),
        }
    }
}

pub(crate) fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Reads a request's fields: absent, empty and `null` count as not sent;
/// a field that is read must be a JSON string.
#[derive(Clone, Copy)]
pub(crate) struct Fields<'a>(pub(crate) &'a Params);

impl<'a> Fields<'a> {
    pub(crate) fn opt(self, name: &'static str) -> Result<Option<&'a str>, RequestError> {
        match self.0.get_raw(name) {
            None => Ok(None),
            Some(v) if v.kind() == ValueKind::Other => Err(RequestError::NotAString(name)),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => Ok(Some(v.as_str())),
        }
    }

    pub(crate) fn req(self, name: &'static str) -> Result<&'a str, RequestError> {
        self.opt(name)?.ok_or(RequestError::Missing(name))
    }

    /// An optional field through a field parser.
    pub(crate) fn opt_with<T>(
        self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, FieldProblem>,
    ) -> Result<Option<T>, RequestError> {
        self.opt(name)?.map(|v| parse(v).map_err(|problem| RequestError::Field { field: name, problem })).transpose()
    }

    /// A required field through a field parser.
    pub(crate) fn req_with<T>(
        self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, FieldProblem>,
    ) -> Result<T, RequestError> {
        parse(self.req(name)?).map_err(|problem| RequestError::Field { field: name, problem })
    }
}

/// Writes `amount` into a builder's `fields` under `name`; an amount that
/// does not fit the wire keeps the builder's first error instead.
pub(crate) fn set_amount(
    fields: &mut Params,
    error: &mut Option<RequestError>,
    name: &'static str,
    amount: crate::Amount,
) {
    match crate::amount::WireAmount::from_amount(amount) {
        Ok(a) => {
            fields.set(name, a.into_string());
        }
        Err(e) => {
            error.get_or_insert(RequestError::Amount { field: name, error: e });
        }
    }
}

/// Writes an optional field.
pub(crate) fn put(p: &mut Params, name: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        p.set(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(json: &str) -> Params {
        Params::from_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn the_service_decides_the_operation_and_unknown_or_planned_ones_are_named() {
        let unknown = Request::parse(Endpoint::JsapiService, &p(r#"{"service":"service.nope.PreOrder"}"#));
        let err = unknown.unwrap_err();
        assert_eq!(err.return_status(), ReturnStatus::InvalidParameter);
        assert_eq!(err.return_char(), "参数错误:请检查请求接口参数: service");
        let planned = Request::parse(Endpoint::JsapiService, &p(r#"{"service":"service.mpgs.token.ApplePay"}"#));
        let err = planned.unwrap_err();
        assert_eq!(err, RequestError::NotSupported(Service::MpgsApplePay));
        assert_eq!(err.return_char(), "参数错误:接口[service.mpgs.token.ApplePay]暂不支持");
        assert!(err.to_string().contains("not supported yet"), "{err}");
        let missing = Request::parse(Endpoint::JsapiService, &p(r#"{"x":"1"}"#)).unwrap_err();
        assert_eq!(missing, RequestError::Missing("service"));
        let not_string = Request::parse(Endpoint::JsapiService, &p(r#"{"service":1}"#)).unwrap_err();
        assert_eq!(not_string, RequestError::NotAString("service"));
    }

    #[test]
    fn endpoints_without_service_stand_for_their_interface() {
        let q = Request::parse(Endpoint::TradeQuery, &p(r#"{"querytype":"OUT_TRADE","out_trade_no":"A1"}"#)).unwrap();
        assert_eq!(q.service(), Service::TradeQuery);
        assert!(!q.to_params().contains("service"));
        let cancel = Request::parse(Endpoint::TradeCancel, &p("{}")).unwrap_err();
        assert_eq!(cancel, RequestError::MissingTradeRef, "QRcodeTradeCancel.do is read as the qrcode cancel");
    }

    #[test]
    fn envelope_fields_must_be_strings() {
        assert_eq!(check_envelope(&p(r#"{"time":20240101120000}"#)), Err(RequestError::NotAString("time")));
        assert_eq!(
            check_envelope(&p(r#"{"time":"20240101120000","sign":1}"#)),
            Ok(()),
            "sign is the signature check's"
        );
    }
}
