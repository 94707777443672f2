//! The cashier scene: [`CashierOrder`], `service.united.wap.PreOrder`.
//! The merchant names no wallet: the buyer picks one on the gateway's
//! hosted cashier page (docs/protocol.md "The cashier scene"). Its refunds
//! are the web scene's [`Refund`](super::Refund) (`service.united.wap.Refund`,
//! `service.common.Refund`) and its query `QRcodeTradeQuery.do`.
//!
//! ```
//! use vmp_protocol::catalogue::{Endpoint, PayScene};
//! use vmp_protocol::request::{CashierOrder, Request};
//! use vmp_protocol::Amount;
//!
//! let order = CashierOrder::builder()
//!     .out_trade_no("20260101120000")
//!     .amount(Amount::from_minor(17).unwrap())
//!     .subject("Testing")
//!     .return_url("https://shop.example/return")
//!     .build()
//!     .unwrap();
//! assert_eq!(order.pay_scene, PayScene::Wap);
//! let params = Request::Cashier(order.clone()).to_params();
//! assert!(!params.contains("payType") && !params.contains("wallet"));
//! assert_eq!(Request::parse(Endpoint::JsapiService, &params), Ok(Request::Cashier(order)));
//! ```

use crate::amount::{Currency, WireAmount};
use crate::catalogue::{PayScene, Service};
use crate::fields::{ACTIVE_TIME_DEFAULT, Body, BuyerType, HttpUrl, OutTradeNo, Subject, Tid, parse_active_time};
use crate::params::Params;

use super::sale::{currency, pay_scene, return_url, sale_amount};
use super::{Fields, RequestError, put};

/// A cashier sale: Place an Order's fields without `payType` and
/// `wallet` (a `payType` or `wallet` sent anyway is ignored, like any
/// unknown parameter: the buyer chooses); `pay_scene` is `WAP`.
///
/// Required: `transaction_amount`, `out_trade_no`, `buyerType`,
/// `subject`. Optional: `body`, `pay_scene`, `fee_type`, `tid`,
/// `notify_url`, `return_url`, `active_time`; `lang` is accepted and
/// ignored (the cashier page follows the buyer's browser).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashierOrder {
    /// The merchant's order number, unique per merchant.
    pub out_trade_no: OutTradeNo,
    /// `transaction_amount`, echoed exactly as sent.
    pub amount: WireAmount,
    /// `buyerType` as sent.
    pub buyer_type: BuyerType,
    /// `subject`.
    pub subject: Subject,
    /// `body`.
    pub body: Option<Body>,
    /// `pay_scene`: `WAP`.
    pub pay_scene: PayScene,
    /// `fee_type`, HKD when none was sent.
    pub currency: Currency,
    /// `tid`.
    pub tid: Option<Tid>,
    /// `notify_url`.
    pub notify_url: Option<HttpUrl>,
    /// `return_url` (no query string).
    pub return_url: Option<HttpUrl>,
    /// `active_time` in seconds, 1800 when none was sent.
    pub active_time: u32,
}

impl CashierOrder {
    /// The interface: `service.united.wap.PreOrder`.
    pub const SERVICE: Service = Service::UnitedWap;

    /// Starts a cashier sale: see [`CashierOrderBuilder`].
    pub fn builder() -> CashierOrderBuilder {
        CashierOrderBuilder { fields: Params::new(), error: None }
    }

    pub(super) fn parse(p: &Params) -> Result<Self, RequestError> {
        let f = Fields(p);
        Ok(Self {
            amount: sale_amount(f)?,
            out_trade_no: f.req_with("out_trade_no", OutTradeNo::parse)?,
            buyer_type: f.req_with("buyerType", BuyerType::parse)?,
            subject: f.req_with("subject", Subject::parse)?,
            body: f.opt_with("body", Body::parse)?,
            pay_scene: pay_scene(f, Self::SERVICE)?,
            currency: currency(f)?,
            tid: f.opt_with("tid", Tid::parse)?,
            notify_url: f.opt_with("notify_url", HttpUrl::parse)?,
            return_url: return_url(f)?,
            active_time: f.opt_with("active_time", parse_active_time)?.unwrap_or(ACTIVE_TIME_DEFAULT),
        })
    }

    pub(super) fn write(&self, p: &mut Params) {
        p.set("transaction_amount", self.amount.as_str())
            .set("out_trade_no", self.out_trade_no.as_str())
            .set("buyerType", self.buyer_type.as_str())
            .set("subject", self.subject.as_str());
        put(p, "body", self.body.as_ref().map(Body::as_str));
        p.set("pay_scene", self.pay_scene.as_str()).set("fee_type", self.currency.code());
        put(p, "tid", self.tid.as_ref().map(Tid::as_str));
        put(p, "notify_url", self.notify_url.as_ref().map(HttpUrl::as_str));
        put(p, "return_url", self.return_url.as_ref().map(HttpUrl::as_str));
        if self.active_time != ACTIVE_TIME_DEFAULT {
            p.set("active_time", self.active_time.to_string());
        }
    }
}

/// Builds a [`CashierOrder`] with named setters, judged by the gateway's
/// own rules. `buyerType` defaults to `others`.
#[derive(Debug, Clone)]
#[must_use]
pub struct CashierOrderBuilder {
    fields: Params,
    error: Option<RequestError>,
}

impl CashierOrderBuilder {
    sale_setters!();

    /// `buyerType`.
    pub fn buyer_type(self, buyer_type: BuyerType) -> Self {
        self.set("buyerType", buyer_type.into_string())
    }

    /// `body`.
    pub fn body(self, body: impl Into<String>) -> Self {
        self.set("body", body)
    }

    /// `return_url`.
    pub fn return_url(self, url: impl Into<String>) -> Self {
        self.set("return_url", url)
    }

    /// The sale, judged by the gateway's own rules.
    ///
    /// # Errors
    /// [`RequestError`] naming the field at fault.
    pub fn build(self) -> Result<CashierOrder, RequestError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut p = self.fields;
        if !p.contains("buyerType") {
            p.set("buyerType", "others");
        }
        CashierOrder::parse(&p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Amount;
    use crate::catalogue::Endpoint;
    use crate::codes::ReturnStatus;
    use crate::request::Request;

    /// RSM's cashier sale.
    fn rsm() -> Params {
        Params::from_json(
            br#"{"active_time":"1800","body":"Testing","buyerType":"android","fee_type":"HKD","lang":"en",
            "out_trade_no":"20260101120000","pay_scene":"WAP","return_url":"https://shop.example/return",
            "service":"service.united.wap.PreOrder","subject":"Testing","tid":"123456","time":"20260101120000",
            "transaction_amount":"0.17","user_confirm_key":"S0001234","sign":"x"}"#,
        )
        .unwrap()
    }

    fn parse(p: &Params) -> Result<CashierOrder, RequestError> {
        match Request::parse(Endpoint::JsapiService, p)? {
            Request::Cashier(o) => Ok(o),
            other => panic!("not a cashier sale: {other:?}"),
        }
    }

    #[test]
    fn rsms_cashier_sale_is_valid_and_names_no_wallet() {
        let o = parse(&rsm()).unwrap();
        assert_eq!(o.amount.as_str(), "0.17");
        assert_eq!(o.pay_scene, PayScene::Wap);
        assert_eq!(o.tid.as_ref().map(Tid::as_str), Some("123456"));
        let mut with_wallet = rsm();
        with_wallet.set("wallet", "ALIPAYHK").set("payType", "Alipay");
        assert_eq!(parse(&with_wallet), Ok(o), "a wallet sent anyway is ignored");
    }

    #[test]
    fn every_rule_has_its_own_answer() {
        let cases: Vec<(&str, Option<&str>, ReturnStatus)> = vec![
            ("buyerType", None, ReturnStatus::InvalidParameter),
            ("subject", None, ReturnStatus::InvalidParameter),
            ("out_trade_no", Some("a b"), ReturnStatus::InvalidParameter),
            ("transaction_amount", Some("0"), ReturnStatus::AmountOutOfRange),
            ("pay_scene", Some("WEB"), ReturnStatus::PaySceneNotSupported),
            ("fee_type", Some("USD"), ReturnStatus::CurrencyNotSupported),
            ("return_url", Some("https://shop.example/r?x=1"), ReturnStatus::InvalidParameter),
            ("notify_url", Some("/relative"), ReturnStatus::InvalidParameter),
            ("active_time", Some("59"), ReturnStatus::InvalidParameter),
        ];
        for (field, value, status) in cases {
            let mut p = rsm();
            match value {
                Some(v) => {
                    p.set(field, v);
                }
                None => {
                    p.remove(field);
                }
            }
            let err = parse(&p).expect_err(field);
            assert_eq!((err.return_status(), err.field()), (status, field), "{err}");
        }
    }

    #[test]
    fn the_builder_round_trips() {
        let o = CashierOrder::builder()
            .out_trade_no("C-1")
            .amount(Amount::from_minor(1000).unwrap())
            .subject("s")
            .body("b")
            .tid("T1")
            .notify_url("https://shop.example/n")
            .active_time(600)
            .currency(Currency::Cny)
            .build()
            .unwrap();
        assert_eq!(o.buyer_type.as_str(), "others");
        assert_eq!(parse(&Request::Cashier(o.clone()).to_params()), Ok(o));
    }
}
