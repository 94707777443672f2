//! After the sale: [`Query`] an order or one of its refunds, [`Refund`] it,
//! follow a refund with [`RefundStatusQuery`], and [`CloseOrder`] an unpaid
//! one (protocol reference §3.5–§3.7).
//!
//! Every request names its order with an [`OrderRef`]: the gateway's
//! `eft_trade_no` or the merchant's `out_trade_no` (an [`OrderPlaced`]
//! converts into the former).
//!
//! Refunds and closes go to a service of the order's wallet family. The
//! services are the typed enums [`RefundService`] and [`CloseService`],
//! which mirror the table the gateway dispatches on
//! (`vmp_protocol::ops::REFUND_SERVICES` and `CLOSE_SERVICES`); by default
//! the request picks the service of the wallet it is given, or the generic
//! `service.common.Refund` / `service.common.Close` when it is given none.
//!
//! Before anything is sent, each request is judged by the same parser the
//! gateway runs (`vmp_protocol::ops`), so a malformed request fails with
//! [`InvalidRequest`] instead of a round trip.
//!
//! ```no_run
//! # async fn run(client: vmp_client::Client, placed: vmp_client::OrderPlaced)
//! #     -> Result<(), vmp_client::ClientError> {
//! use vmp_client::{Amount, Query, Refund, TradeStatus, Wallet};
//! let sale = client.query(&Query::sale(&placed)).await?;
//! if sale.trade_status == TradeStatus::TradeSuccess {
//!     let half = Amount::from_minor(sale.transaction_amount.minor() / 2).expect("positive");
//!     let refund = Refund::new(&placed, Wallet::AlipayHk, "REFUND-1", half).reason("damaged");
//!     let done = client.refund(&refund).await?;
//!     println!("{} refunded: {}", done.out_refund_no, done.trade_status);
//! }
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;
use vmp_protocol::notify::{TradeStatus, TradeType};
use vmp_protocol::ops::{self, CloseRequest, QueryRequest, RefundRequest, RefundStatusRequest};
use vmp_protocol::vmptime::format_time;
use vmp_protocol::{Amount, Currency, Params};

use crate::client::{JSAPI_SERVICE_PATH, TRADE_QUERY_PATH};
use crate::error::InvalidRequest;
use crate::order::{BuyerType, OrderPlaced, Wallet, non_empty, wire_amount, wire_enum};

/// Which order a request is about.
///
/// When both numbers are known, prefer `eft_trade_no`: it is the gateway's
/// own key (eftPay lets it win when both are sent).
///
/// ```
/// use vmp_client::OrderRef;
/// let by_gateway = OrderRef::eft_trade_no("0100000000000001");
/// let by_merchant = OrderRef::out_trade_no("ORDER-1001");
/// assert_eq!(by_gateway.field(), "eft_trade_no");
/// assert_eq!(by_merchant.to_string(), "out_trade_no ORDER-1001");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrderRef {
    /// By the gateway's order number, `eft_trade_no` (from
    /// [`OrderPlaced::eft_trade_no`] or a notification).
    EftTradeNo(String),
    /// By the merchant's order number, `out_trade_no`.
    OutTradeNo(String),
}

impl OrderRef {
    /// By the gateway's order number.
    ///
    /// ```
    /// let r = vmp_client::OrderRef::eft_trade_no("0100000000000001");
    /// assert_eq!(r.value(), "0100000000000001");
    /// ```
    pub fn eft_trade_no(eft_trade_no: impl Into<String>) -> Self {
        Self::EftTradeNo(eft_trade_no.into())
    }

    /// By the merchant's order number.
    ///
    /// ```
    /// let r = vmp_client::OrderRef::out_trade_no("ORDER-1");
    /// assert_eq!(r.field(), "out_trade_no");
    /// ```
    pub fn out_trade_no(out_trade_no: impl Into<String>) -> Self {
        Self::OutTradeNo(out_trade_no.into())
    }

    /// The wire name of the field that carries the number.
    ///
    /// ```
    /// assert_eq!(vmp_client::OrderRef::eft_trade_no("1").field(), "eft_trade_no");
    /// ```
    pub fn field(&self) -> &'static str {
        match self {
            Self::EftTradeNo(_) => "eft_trade_no",
            Self::OutTradeNo(_) => "out_trade_no",
        }
    }

    /// The number.
    ///
    /// ```
    /// assert_eq!(vmp_client::OrderRef::out_trade_no("A-1").value(), "A-1");
    /// ```
    pub fn value(&self) -> &str {
        match self {
            Self::EftTradeNo(v) | Self::OutTradeNo(v) => v,
        }
    }

    /// Sets the field on `p`; an empty number is left out (and then refused
    /// by the parser as a missing order reference).
    fn write(&self, p: &mut Params) {
        if !self.value().is_empty() {
            p.set(self.field(), self.value());
        }
    }
}

impl fmt::Display for OrderRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field(), self.value())
    }
}

impl From<&OrderPlaced> for OrderRef {
    /// The placed order, by its `eft_trade_no`.
    fn from(placed: &OrderPlaced) -> Self {
        Self::EftTradeNo(placed.eft_trade_no.clone())
    }
}

wire_enum!(
    /// The refund services (`service` of a refund request), by wallet family.
    ///
    /// The same list as `vmp_protocol::ops::REFUND_SERVICES`, the table the
    /// gateway dispatches on. `service.ae.web.Refund`,
    /// `service.payme.web.Refund` and `service.bocvmp.upi.wap.Refund` are
    /// named by analogy (no eftPay document shows them); see
    /// [`RefundService::is_evidenced`].
    ///
    /// ```
    /// use vmp_client::{RefundService, Wallet};
    /// assert_eq!(RefundService::for_wallet(Wallet::AlipayHk), Some(RefundService::AlipayWap));
    /// assert_eq!(RefundService::apply_for_wallet(Wallet::WechatHk), Some(RefundService::WechatWebApply));
    /// assert_eq!("service.common.Refund".parse(), Ok(RefundService::Common));
    /// ```
    RefundService, "refund service" {
        /// `service.alipay.wap.Refund` (`ALIPAYCN`, `ALIPAYHK`).
        AlipayWap => "service.alipay.wap.Refund",
        /// `service.alipay.web.Refund` (`ALIPAYCN`, `ALIPAYHK`).
        AlipayWeb => "service.alipay.web.Refund",
        /// `service.wechat.web.Refund` (`WECHATCN`, `WECHATHK`).
        WechatWeb => "service.wechat.web.Refund",
        /// `service.wechat.web.ApplyRefund` (`WECHATCN`, `WECHATHK`): an
        /// "apply" refund, answered `APPLY_SUCCESS` and completed later
        /// (follow it with [`RefundStatusQuery`] or its notification).
        WechatWebApply => "service.wechat.web.ApplyRefund",
        /// `service.icbc.wap.Refund` (`ICBCWAP`).
        IcbcWap => "service.icbc.wap.Refund",
        /// `service.unionpay.online.web.Refund` (`UNIONPAY`).
        UnionPayOnline => "service.unionpay.online.web.Refund",
        /// `service.oct.online.Refund` (`OCT`).
        OctOnline => "service.oct.online.Refund",
        /// `service.mpgs.web.Refund` (`MPGS`).
        MpgsWeb => "service.mpgs.web.Refund",
        /// `service.ae.web.Refund` (`AE`).
        AeWeb => "service.ae.web.Refund",
        /// `service.payme.web.Refund` (`PAYME`).
        PaymeWeb => "service.payme.web.Refund",
        /// `service.bocvmp.upi.wap.Refund` (`BOCVMPUPI`).
        BocVmpUpiWap => "service.bocvmp.upi.wap.Refund",
        /// `service.common.Refund`: any wallet; `wallet` may be left out.
        Common => "service.common.Refund",
    }
);

impl RefundService {
    /// The protocol's entry for this service (wallets, apply or not).
    ///
    /// ```
    /// use vmp_client::RefundService;
    /// assert!(RefundService::WechatWebApply.spec().is_some_and(|s| s.apply));
    /// ```
    pub fn spec(self) -> Option<&'static ops::RefundService> {
        ops::refund_service(self.code())
    }

    /// The direct (not "apply") refund service of a wallet: the first of
    /// the catalogue that takes it.
    ///
    /// ```
    /// use vmp_client::{RefundService, Wallet};
    /// assert_eq!(RefundService::for_wallet(Wallet::WechatCn), Some(RefundService::WechatWeb));
    /// assert_eq!(RefundService::for_wallet(Wallet::Payme), Some(RefundService::PaymeWeb));
    /// ```
    pub fn for_wallet(wallet: Wallet) -> Option<Self> {
        Self::of_wallet(wallet, false)
    }

    /// The "apply" refund service of a wallet, if it has one (WeChat only).
    ///
    /// ```
    /// use vmp_client::{RefundService, Wallet};
    /// assert_eq!(RefundService::apply_for_wallet(Wallet::WechatCn), Some(RefundService::WechatWebApply));
    /// assert_eq!(RefundService::apply_for_wallet(Wallet::AlipayHk), None);
    /// ```
    pub fn apply_for_wallet(wallet: Wallet) -> Option<Self> {
        Self::of_wallet(wallet, true)
    }

    fn of_wallet(wallet: Wallet, apply: bool) -> Option<Self> {
        ops::REFUND_SERVICES
            .iter()
            .find(|s| s.apply == apply && s.wallets.contains(&wallet.code()))
            .and_then(|s| s.name.parse().ok())
    }

    /// Whether this is an "apply" refund: answered `APPLY_SUCCESS` and
    /// completed asynchronously.
    ///
    /// ```
    /// use vmp_client::RefundService;
    /// assert!(RefundService::WechatWebApply.is_apply());
    /// assert!(!RefundService::WechatWeb.is_apply());
    /// ```
    pub fn is_apply(self) -> bool {
        self.spec().is_some_and(|s| s.apply)
    }

    /// Whether eftPay material shows this service name (otherwise OpenVMP
    /// chose it by analogy with the PreOrder name).
    ///
    /// ```
    /// use vmp_client::RefundService;
    /// assert!(RefundService::AlipayWap.is_evidenced());
    /// assert!(!RefundService::PaymeWeb.is_evidenced());
    /// ```
    pub fn is_evidenced(self) -> bool {
        self.spec().is_some_and(|s| s.evidenced)
    }

    /// The wallets this service refunds; empty means any wallet.
    ///
    /// ```
    /// use vmp_client::{RefundService, Wallet};
    /// assert_eq!(RefundService::OctOnline.wallets(), [Wallet::Oct]);
    /// assert!(RefundService::Common.wallets().is_empty());
    /// ```
    pub fn wallets(self) -> Vec<Wallet> {
        self.spec().map(|s| wallets_of(s.wallets)).unwrap_or_default()
    }
}

wire_enum!(
    /// The close services (`service` of a close request), by wallet family.
    ///
    /// The same list as `vmp_protocol::ops::CLOSE_SERVICES`. eftPay
    /// documents Close only for QR codes; OpenVMP names the web/wap ones by
    /// analogy (README).
    ///
    /// ```
    /// use vmp_client::{CloseService, Wallet};
    /// assert_eq!(CloseService::for_wallet(Wallet::AlipayCn), Some(CloseService::AlipayWap));
    /// assert_eq!(CloseService::Common.code(), "service.common.Close");
    /// ```
    CloseService, "close service" {
        /// `service.alipay.wap.Close` (`ALIPAYCN`, `ALIPAYHK`).
        AlipayWap => "service.alipay.wap.Close",
        /// `service.wechat.web.Close` (`WECHATCN`, `WECHATHK`).
        WechatWeb => "service.wechat.web.Close",
        /// `service.icbc.wap.Close` (`ICBCWAP`).
        IcbcWap => "service.icbc.wap.Close",
        /// `service.unionpay.online.web.Close` (`UNIONPAY`).
        UnionPayOnline => "service.unionpay.online.web.Close",
        /// `service.oct.online.Close` (`OCT`).
        OctOnline => "service.oct.online.Close",
        /// `service.mpgs.web.Close` (`MPGS`).
        MpgsWeb => "service.mpgs.web.Close",
        /// `service.ae.web.Close` (`AE`).
        AeWeb => "service.ae.web.Close",
        /// `service.payme.web.Close` (`PAYME`).
        PaymeWeb => "service.payme.web.Close",
        /// `service.bocvmp.upi.wap.Close` (`BOCVMPUPI`).
        BocVmpUpiWap => "service.bocvmp.upi.wap.Close",
        /// `service.common.Close`: any wallet.
        Common => "service.common.Close",
    }
);

impl CloseService {
    /// The close service of a wallet's family.
    ///
    /// ```
    /// use vmp_client::{CloseService, Wallet};
    /// assert_eq!(CloseService::for_wallet(Wallet::Mpgs), Some(CloseService::MpgsWeb));
    /// ```
    pub fn for_wallet(wallet: Wallet) -> Option<Self> {
        ops::CLOSE_SERVICES
            .iter()
            .find(|(_, wallets)| wallets.contains(&wallet.code()))
            .and_then(|(name, _)| name.parse().ok())
    }

    /// The wallets this service closes; empty means any wallet.
    ///
    /// ```
    /// use vmp_client::{CloseService, Wallet};
    /// assert_eq!(CloseService::WechatWeb.wallets(), [Wallet::WechatCn, Wallet::WechatHk]);
    /// ```
    pub fn wallets(self) -> Vec<Wallet> {
        ops::close_service(self.code()).map(wallets_of).unwrap_or_default()
    }
}

fn wallets_of(codes: &[&str]) -> Vec<Wallet> {
    codes.iter().filter_map(|w| w.parse().ok()).collect()
}

/// The first rule a wallet/service pair breaks, if any.
fn check_wallet(service: &'static str, allowed: &[&str], wallet: Option<Wallet>) -> Result<(), InvalidRequest> {
    match wallet {
        Some(w) if !allowed.is_empty() && !allowed.contains(&w.code()) => {
            Err(InvalidRequest::Wallet { service, wallet: w.code(), allowed: allowed.join("/") })
        }
        _ => Ok(()),
    }
}

/// Where a [`Query`] is sent.
///
/// ```
/// use vmp_client::{Query, QueryEndpoint, OrderRef};
/// let q = Query::sale(OrderRef::out_trade_no("A1")).via(QueryEndpoint::CommonQuery);
/// assert_eq!(q.path(), "/VMP/Servlet/JSAPIService.do");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QueryEndpoint {
    /// `QRcodeTradeQuery.do` without `service`: the API page's query for
    /// web, wap, cashier and app orders (the default).
    #[default]
    TradeQuery,
    /// `service.common.Query` on `JSAPIService.do` (eftPay's "new interface").
    CommonQuery,
}

/// A trade query: the state of an order, or of one of its refunds.
///
/// Answered by a [`QueryAnswer`] through [`crate::Client::query`].
///
/// ```
/// use vmp_client::{OrderRef, Query};
/// let now = time::macros::datetime!(2024-01-01 04:00:00 UTC);
/// let p = Query::refund(OrderRef::eft_trade_no("0100000000000001"), "REFUND-1")
///     .to_params("MERCHANTKEY1", now)
///     .unwrap();
/// assert_eq!(p.get("querytype"), Some("OUT_TRADE"));
/// assert_eq!(p.get("refund_no"), Some("REFUND-1"));
/// assert_eq!(p.get("service"), None); // QRcodeTradeQuery.do takes none
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    order: OrderRef,
    refund_no: Option<String>,
    endpoint: QueryEndpoint,
}

impl Query {
    /// Queries the sale: `trade_status` of the order itself.
    ///
    /// ```
    /// let q = vmp_client::Query::sale(vmp_client::OrderRef::out_trade_no("ORDER-1"));
    /// assert_eq!(q.refund_no(), None);
    /// ```
    pub fn sale(order: impl Into<OrderRef>) -> Self {
        Self { order: order.into(), refund_no: None, endpoint: QueryEndpoint::default() }
    }

    /// Queries one refund of the order, by the `out_refund_no` it was
    /// made with (sent as `refund_no`).
    ///
    /// ```
    /// let q = vmp_client::Query::refund(vmp_client::OrderRef::out_trade_no("ORDER-1"), "R-1");
    /// assert_eq!(q.refund_no(), Some("R-1"));
    /// ```
    pub fn refund(order: impl Into<OrderRef>, refund_no: impl Into<String>) -> Self {
        Self { order: order.into(), refund_no: Some(refund_no.into()), endpoint: QueryEndpoint::default() }
    }

    /// Sends the query to `endpoint` instead of `QRcodeTradeQuery.do`.
    ///
    /// ```
    /// use vmp_client::{OrderRef, Query, QueryEndpoint};
    /// let now = time::macros::datetime!(2024-01-01 04:00:00 UTC);
    /// let q = Query::sale(OrderRef::out_trade_no("A1")).via(QueryEndpoint::CommonQuery);
    /// assert_eq!(q.to_params("KEY1", now).unwrap().get("service"), Some("service.common.Query"));
    /// ```
    #[must_use]
    pub fn via(mut self, endpoint: QueryEndpoint) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// The order queried.
    ///
    /// ```
    /// use vmp_client::{OrderRef, Query};
    /// assert_eq!(Query::sale(OrderRef::out_trade_no("A1")).order(), &OrderRef::out_trade_no("A1"));
    /// ```
    pub fn order(&self) -> &OrderRef {
        &self.order
    }

    /// The refund queried, if this is a refund query.
    ///
    /// ```
    /// use vmp_client::{OrderRef, Query};
    /// assert_eq!(Query::refund(OrderRef::out_trade_no("A1"), "R1").refund_no(), Some("R1"));
    /// ```
    pub fn refund_no(&self) -> Option<&str> {
        self.refund_no.as_deref()
    }

    /// The endpoint path the query is POSTed to.
    ///
    /// ```
    /// use vmp_client::{OrderRef, Query};
    /// assert_eq!(Query::sale(OrderRef::out_trade_no("A1")).path(), "/VMP/Servlet/QRcodeTradeQuery.do");
    /// ```
    pub fn path(&self) -> &'static str {
        match self.endpoint {
            QueryEndpoint::TradeQuery => TRADE_QUERY_PATH,
            QueryEndpoint::CommonQuery => JSAPI_SERVICE_PATH,
        }
    }

    /// Checks the query and returns its unsigned wire parameters, with
    /// `time` from `now` (written in UTC+8).
    ///
    /// ```
    /// use vmp_client::{OrderRef, Query};
    /// let now = time::macros::datetime!(2024-01-01 04:00:00 UTC);
    /// assert!(Query::sale(OrderRef::out_trade_no("")).to_params("KEY1", now).is_err());
    /// ```
    ///
    /// # Errors
    /// [`InvalidRequest::Operation`] when the gateway's parser refuses it
    /// (no order number, a number too long or with spaces…).
    pub fn to_params(&self, user_confirm_key: &str, now: OffsetDateTime) -> Result<Params, InvalidRequest> {
        let mut p = Params::new();
        if self.endpoint == QueryEndpoint::CommonQuery {
            p.set("service", ops::SERVICE_COMMON_QUERY);
        }
        p.set("user_confirm_key", user_confirm_key).set("querytype", ops::QUERY_TYPE_OUT_TRADE);
        self.order.write(&mut p);
        if let Some(no) = non_empty(&self.refund_no) {
            p.set("refund_no", no);
        }
        p.set("time", format_time(now));
        QueryRequest::try_from(&p).map_err(InvalidRequest::Operation)?;
        Ok(p)
    }
}

/// A refund of a paid order, in full or in part.
///
/// [`Refund::new`] picks the refund service of the order's wallet
/// ([`RefundService::for_wallet`]); [`Refund::common`] uses
/// `service.common.Refund`, which needs no wallet; [`Refund::service`]
/// chooses another, e.g. [`RefundService::WechatWebApply`] for WeChat's
/// "apply" refund. When the wallet is known, `payType` is sent too (it
/// follows from the wallet).
///
/// `out_refund_no` names the refund: sending the same refund again (same
/// fields) is answered like the first time and refunds nothing more, so a
/// refund is safe to retry after a transport error or a timeout.
///
/// ```
/// use vmp_client::{Amount, OrderRef, Refund, Wallet};
/// let now = time::macros::datetime!(2024-01-01 04:00:00 UTC);
/// let refund = Refund::new(OrderRef::out_trade_no("ORDER-1"), Wallet::AlipayHk, "REFUND-1",
///         Amount::parse("3.50").unwrap())
///     .total_fee(Amount::parse("10.00").unwrap())
///     .reason("one item returned");
/// let p = refund.to_params("MERCHANTKEY1", now).unwrap();
/// assert_eq!(p.get("service"), Some("service.alipay.wap.Refund"));
/// assert_eq!(p.get("return_amount"), Some("3.50"));
/// assert_eq!(p.get("payType"), Some("Alipay"));
/// assert_eq!(p.get("wallet"), Some("ALIPAYHK"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    order: OrderRef,
    out_refund_no: String,
    amount: Amount,
    wallet: Option<Wallet>,
    service: Option<RefundService>,
    total_fee: Option<Amount>,
    buyer_type: Option<BuyerType>,
    reason: Option<String>,
    notify_url: Option<String>,
}

impl Refund {
    /// A refund of `amount` through the refund service of `wallet` (the
    /// order's wallet).
    ///
    /// ```
    /// use vmp_client::{Amount, OrderRef, Refund, RefundService, Wallet};
    /// let r = Refund::new(OrderRef::out_trade_no("A1"), Wallet::Oct, "R1", Amount::from_minor(100).unwrap());
    /// assert_eq!(r.chosen_service(), Ok(RefundService::OctOnline));
    /// ```
    pub fn new(order: impl Into<OrderRef>, wallet: Wallet, out_refund_no: impl Into<String>, amount: Amount) -> Self {
        Self { wallet: Some(wallet), ..Self::common(order, out_refund_no, amount) }
    }

    /// A refund of `amount` through `service.common.Refund`, for any wallet
    /// and without naming it.
    ///
    /// ```
    /// use vmp_client::{Amount, OrderRef, Refund, RefundService};
    /// let r = Refund::common(OrderRef::eft_trade_no("0100000000000001"), "R1", Amount::from_minor(100).unwrap());
    /// assert_eq!(r.chosen_service(), Ok(RefundService::Common));
    /// ```
    pub fn common(order: impl Into<OrderRef>, out_refund_no: impl Into<String>, amount: Amount) -> Self {
        Self {
            order: order.into(),
            out_refund_no: out_refund_no.into(),
            amount,
            wallet: None,
            service: None,
            total_fee: None,
            buyer_type: None,
            reason: None,
            notify_url: None,
        }
    }

    /// Uses `service` instead of the default one; it must take the wallet
    /// (checked before sending).
    ///
    /// ```
    /// use vmp_client::{Amount, OrderRef, Refund, RefundService, Wallet};
    /// let r = Refund::new(OrderRef::out_trade_no("WX1"), Wallet::WechatHk, "R1", Amount::from_minor(100).unwrap())
    ///     .service(RefundService::WechatWebApply);
    /// assert!(r.chosen_service().unwrap().is_apply());
    /// ```
    #[must_use]
    pub fn service(mut self, service: RefundService) -> Self {
        self.service = Some(service);
        self
    }

    /// `wallet`: the order's wallet (required by every service but
    /// `service.common.Refund`). Without [`Refund::service`], it also
    /// chooses the service.
    ///
    /// ```
    /// use vmp_client::{Amount, OrderRef, Refund, Wallet};
    /// let now = time::macros::datetime!(2024-01-01 04:00:00 UTC);
    /// let r = Refund::common(OrderRef::out_trade_no("A1"), "R1", Amount::from_minor(1).unwrap())
    ///     .wallet(Wallet::Payme);
    /// assert_eq!(r.to_params("K", now).unwrap().get("wallet"), Some("PAYME"));
    /// ```
    #[must_use]
    pub fn wallet(mut self, wallet: Wallet) -> Self {
        self.wallet = Some(wallet);
        self
    }

    /// `total_fee`: the order's amount, checked by the gateway against the
    /// order (a mismatch is refused).
    ///
    /// ```
    /// use vmp_client::{Amount, OrderRef, Refund, Wallet};
    /// let now = time::macros::datetime!(2024-01-01 04:00:00 UTC);
    /// let r = Refund::new(OrderRef::out_trade_no("A1"), Wallet::Oct, "R1", Amount::from_minor(50).unwrap())
    ///     .total_fee(Amount::from_minor(100).unwrap());
    /// assert_eq!(r.to_params("K", now).unwrap().get("total_fee"), Some("1.00"));
    /// ```
    #[must_use]
    pub fn total_fee(mut self, total_fee: Amount) -> Self {
        self.total_fee = Some(total_fee);
        self
    }

    /// `buyerType`: the buyer's device (echoed in the answer).
    ///
    /// ```
    /// use vmp_client::{Amount, BuyerType, OrderRef, Refund, Wallet};
    /// let now = time::macros::datetime!(2024-01-01 04:00:00 UTC);
    /// let r = Refund::new(OrderRef::out_trade_no("A1"), Wallet::Oct, "R1", Amount::from_minor(50).unwrap())
    ///     .buyer_type(BuyerType::Ios);
    /// assert_eq!(r.to_params("K", now).unwrap().get("buyerType"), Some("ios"));
    /// ```
    #[must_use]
    pub fn buyer_type(mut self, buyer_type: BuyerType) -> Self {
        self.buyer_type = Some(buyer_type);
        self
    }

    /// `reason`: why the money goes back, at most 256 characters.
    ///
    /// ```
    /// use vmp_client::{Amount, OrderRef, Refund, Wallet};
    /// let now = time::macros::datetime!(2024-01-01 04:00:00 UTC);
    /// let r = Refund::new(OrderRef::out_trade_no("A1"), Wallet::Oct, "R1", Amount::from_minor(50).unwrap())
    ///     .reason("x".repeat(257));
    /// assert!(r.to_params("K", now).is_err());
    /// ```
    #[must_use]
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// `notify_url`: where the gateway POSTs the signed notification when
    /// an apply-refund completes (apply services only; by default the
    /// order's `notify_url`).
    ///
    /// ```
    /// use vmp_client::{Amount, OrderRef, Refund, RefundService, Wallet};
    /// let now = time::macros::datetime!(2024-01-01 04:00:00 UTC);
    /// let base = Refund::new(OrderRef::out_trade_no("A1"), Wallet::WechatHk, "R1", Amount::from_minor(50).unwrap())
    ///     .notify_url("https://shop.example/vmp/refunds");
    /// assert!(base.clone().service(RefundService::WechatWebApply).to_params("K", now).is_ok());
    /// assert!(base.to_params("K", now).is_err(), "service.wechat.web.Refund takes no notify_url");
    /// ```
    #[must_use]
    pub fn notify_url(mut self, url: impl Into<String>) -> Self {
        self.notify_url = Some(url.into());
        self
    }

    /// The order refunded.
    ///
    /// ```
    /// use vmp_client::{Amount, OrderRef, Refund};
    /// let r = Refund::common(OrderRef::out_trade_no("A1"), "R1", Amount::from_minor(1).unwrap());
    /// assert_eq!(r.order().value(), "A1");
    /// ```
    pub fn order(&self) -> &OrderRef {
        &self.order
    }

    /// The merchant's refund number.
    ///
    /// ```
    /// use vmp_client::{Amount, OrderRef, Refund};
    /// let r = Refund::common(OrderRef::out_trade_no("A1"), "R1", Amount::from_minor(1).unwrap());
    /// assert_eq!(r.out_refund_no(), "R1");
    /// ```
    pub fn out_refund_no(&self) -> &str {
        &self.out_refund_no
    }

    /// The amount refunded by this refund.
    ///
    /// ```
    /// use vmp_client::{Amount, OrderRef, Refund};
    /// let r = Refund::common(OrderRef::out_trade_no("A1"), "R1", Amount::from_minor(150).unwrap());
    /// assert_eq!(r.amount().to_decimal_string(), "1.50");
    /// ```
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// The service the refund is sent to: the one set with
    /// [`Refund::service`], else the wallet's, else `service.common.Refund`.
    ///
    /// ```
    /// use vmp_client::{Amount, OrderRef, Refund, RefundService, Wallet};
    /// let r = Refund::new(OrderRef::out_trade_no("A1"), Wallet::Ae, "R1", Amount::from_minor(1).unwrap());
    /// assert_eq!(r.chosen_service(), Ok(RefundService::AeWeb));
    /// ```
    ///
    /// # Errors
    /// [`InvalidRequest::NoServiceForWallet`] if the catalogue has no
    /// refund service for the wallet (never, for the wallets of
    /// [`Wallet::ALL`]).
    pub fn chosen_service(&self) -> Result<RefundService, InvalidRequest> {
        match (self.service, self.wallet) {
            (Some(s), _) => Ok(s),
            (None, Some(w)) => RefundService::for_wallet(w)
                .ok_or(InvalidRequest::NoServiceForWallet { operation: "refund", wallet: w.code() }),
            (None, None) => Ok(RefundService::Common),
        }
    }

    /// Checks the refund and returns its unsigned wire parameters, with
    /// `time` from `now` (written in UTC+8).
    ///
    /// The checks are the service/wallet combination and `notify_url`
    /// (apply services only), then every rule the gateway's refund parser
    /// applies (`out_refund_no` and `reason` lengths, the amount text,
    /// `wallet` required by all but `service.common.Refund`…).
    ///
    /// ```
    /// use vmp_client::{Amount, OrderRef, Refund, RefundService, Wallet};
    /// let now = time::macros::datetime!(2024-01-01 04:00:00 UTC);
    /// let r = Refund::new(OrderRef::out_trade_no("A1"), Wallet::Oct, "R1", Amount::from_minor(1).unwrap())
    ///     .service(RefundService::MpgsWeb);
    /// let err = r.to_params("K", now).unwrap_err();
    /// assert!(err.to_string().contains("wallet OCT is not supported by service.mpgs.web.Refund"), "{err}");
    /// ```
    ///
    /// # Errors
    /// [`InvalidRequest`] naming the first rule broken.
    pub fn to_params(&self, user_confirm_key: &str, now: OffsetDateTime) -> Result<Params, InvalidRequest> {
        let service = self.chosen_service()?;
        let name = service.code();
        let spec = service.spec().ok_or(InvalidRequest::UnknownService(name))?;
        check_wallet(name, spec.wallets, self.wallet)?;
        let notify_url = non_empty(&self.notify_url);
        if notify_url.is_some() && !spec.apply {
            return Err(InvalidRequest::NotApplicable {
                field: "notify_url",
                reason: "only with an apply-refund service (service.wechat.web.ApplyRefund)",
            });
        }

        // The refund page's field order; empty values are never sent.
        let mut p = Params::new()
            .with("service", name)
            .with("user_confirm_key", user_confirm_key)
            .with("return_amount", wire_amount(self.amount));
        if let Some(t) = self.total_fee {
            p.set("total_fee", wire_amount(t));
        }
        self.order.write(&mut p);
        if let Some(pay_type) = self.wallet.and_then(Wallet::pay_type) {
            p.set("payType", pay_type);
        }
        if let Some(b) = self.buyer_type {
            p.set("buyerType", b.code());
        }
        if let Some(r) = non_empty(&self.reason) {
            p.set("reason", r);
        }
        if let Some(w) = self.wallet {
            p.set("wallet", w.code());
        }
        if !self.out_refund_no.is_empty() {
            p.set("out_refund_no", &self.out_refund_no);
        }
        if let Some(u) = notify_url {
            p.set("notify_url", u);
        }
        p.set("time", format_time(now));
        RefundRequest::parse(spec, &p).map_err(InvalidRequest::Operation)?;
        Ok(p)
    }
}

/// `service.unified.RefundStatusQuery`: where a refund's money is (above
/// all for apply-refunds, which complete after their answer).
///
/// ```
/// use vmp_client::{OrderRef, RefundStatusQuery};
/// let now = time::macros::datetime!(2024-01-01 04:00:00 UTC);
/// let p = RefundStatusQuery::new(OrderRef::out_trade_no("ORDER-1"), "REFUND-1")
///     .to_params("MERCHANTKEY1", now)
///     .unwrap();
/// assert_eq!(p.get("service"), Some("service.unified.RefundStatusQuery"));
/// assert_eq!(p.get("refund_no"), Some("REFUND-1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundStatusQuery {
    order: OrderRef,
    refund_no: String,
}

impl RefundStatusQuery {
    /// The status of refund `refund_no` (its `out_refund_no`) of `order`.
    ///
    /// ```
    /// let q = vmp_client::RefundStatusQuery::new(vmp_client::OrderRef::out_trade_no("A1"), "R1");
    /// assert_eq!(q.refund_no(), "R1");
    /// ```
    pub fn new(order: impl Into<OrderRef>, refund_no: impl Into<String>) -> Self {
        Self { order: order.into(), refund_no: refund_no.into() }
    }

    /// The order.
    ///
    /// ```
    /// let q = vmp_client::RefundStatusQuery::new(vmp_client::OrderRef::out_trade_no("A1"), "R1");
    /// assert_eq!(q.order().value(), "A1");
    /// ```
    pub fn order(&self) -> &OrderRef {
        &self.order
    }

    /// The refund's `out_refund_no`.
    ///
    /// ```
    /// let q = vmp_client::RefundStatusQuery::new(vmp_client::OrderRef::out_trade_no("A1"), "R1");
    /// assert_eq!(q.refund_no(), "R1");
    /// ```
    pub fn refund_no(&self) -> &str {
        &self.refund_no
    }

    /// Checks the request and returns its unsigned wire parameters, with
    /// `time` from `now` (written in UTC+8).
    ///
    /// ```
    /// use vmp_client::{OrderRef, RefundStatusQuery};
    /// let now = time::macros::datetime!(2024-01-01 04:00:00 UTC);
    /// assert!(RefundStatusQuery::new(OrderRef::out_trade_no("A1"), "").to_params("K", now).is_err());
    /// ```
    ///
    /// # Errors
    /// [`InvalidRequest::Operation`] when the gateway's parser refuses it
    /// (no order number, no `refund_no`, a malformed number…).
    pub fn to_params(&self, user_confirm_key: &str, now: OffsetDateTime) -> Result<Params, InvalidRequest> {
        let mut p = Params::new()
            .with("service", ops::SERVICE_REFUND_STATUS_QUERY)
            .with("user_confirm_key", user_confirm_key)
            .with("querytype", ops::QUERY_TYPE_OUT_TRADE);
        self.order.write(&mut p);
        if !self.refund_no.is_empty() {
            p.set("refund_no", &self.refund_no);
        }
        p.set("time", format_time(now));
        RefundStatusRequest::try_from(&p).map_err(InvalidRequest::Operation)?;
        Ok(p)
    }
}

/// Closes an unpaid order: it becomes `TRADE_CLOSED` and can no longer be
/// paid. Closing a closed order again is answered `00`; closing a paid one
/// is refused with `54` ([`crate::ReturnStatus::CloseFailedPaid`]).
///
/// ```
/// use vmp_client::{CloseOrder, OrderRef, Wallet};
/// let now = time::macros::datetime!(2024-01-01 04:00:00 UTC);
/// let p = CloseOrder::new(OrderRef::out_trade_no("ORDER-1"), Wallet::WechatHk)
///     .to_params("MERCHANTKEY1", now)
///     .unwrap();
/// assert_eq!(p.get("service"), Some("service.wechat.web.Close"));
/// assert_eq!(p.get("wallet"), Some("WECHATHK"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseOrder {
    order: OrderRef,
    wallet: Option<Wallet>,
    service: Option<CloseService>,
}

impl CloseOrder {
    /// Closes `order` through the close service of `wallet` (the order's
    /// wallet, also sent as `wallet`).
    ///
    /// ```
    /// use vmp_client::{CloseOrder, CloseService, OrderRef, Wallet};
    /// let c = CloseOrder::new(OrderRef::out_trade_no("A1"), Wallet::Oct);
    /// assert_eq!(c.chosen_service(), Ok(CloseService::OctOnline));
    /// ```
    pub fn new(order: impl Into<OrderRef>, wallet: Wallet) -> Self {
        Self { wallet: Some(wallet), ..Self::common(order) }
    }

    /// Closes `order` through `service.common.Close`, for any wallet.
    ///
    /// ```
    /// use vmp_client::{CloseOrder, CloseService, OrderRef};
    /// let c = CloseOrder::common(OrderRef::eft_trade_no("0100000000000001"));
    /// assert_eq!(c.chosen_service(), Ok(CloseService::Common));
    /// ```
    pub fn common(order: impl Into<OrderRef>) -> Self {
        Self { order: order.into(), wallet: None, service: None }
    }

    /// Uses `service` instead of the default one; it must take the wallet
    /// (checked before sending).
    ///
    /// ```
    /// use vmp_client::{CloseOrder, CloseService, OrderRef, Wallet};
    /// let c = CloseOrder::new(OrderRef::out_trade_no("A1"), Wallet::Oct).service(CloseService::Common);
    /// assert_eq!(c.chosen_service(), Ok(CloseService::Common));
    /// ```
    #[must_use]
    pub fn service(mut self, service: CloseService) -> Self {
        self.service = Some(service);
        self
    }

    /// `wallet`: the order's wallet. Without [`CloseOrder::service`], it
    /// also chooses the service.
    ///
    /// ```
    /// use vmp_client::{CloseOrder, CloseService, OrderRef, Wallet};
    /// let c = CloseOrder::common(OrderRef::out_trade_no("A1")).wallet(Wallet::Ae);
    /// assert_eq!(c.chosen_service(), Ok(CloseService::AeWeb));
    /// ```
    #[must_use]
    pub fn wallet(mut self, wallet: Wallet) -> Self {
        self.wallet = Some(wallet);
        self
    }

    /// The order closed.
    ///
    /// ```
    /// let c = vmp_client::CloseOrder::common(vmp_client::OrderRef::out_trade_no("A1"));
    /// assert_eq!(c.order().value(), "A1");
    /// ```
    pub fn order(&self) -> &OrderRef {
        &self.order
    }

    /// The service the close is sent to: the one set with
    /// [`CloseOrder::service`], else the wallet's, else `service.common.Close`.
    ///
    /// ```
    /// use vmp_client::{CloseOrder, CloseService, OrderRef, Wallet};
    /// let c = CloseOrder::new(OrderRef::out_trade_no("A1"), Wallet::UnionPay);
    /// assert_eq!(c.chosen_service(), Ok(CloseService::UnionPayOnline));
    /// ```
    ///
    /// # Errors
    /// [`InvalidRequest::NoServiceForWallet`] if the catalogue has no close
    /// service for the wallet (never, for the wallets of [`Wallet::ALL`]).
    pub fn chosen_service(&self) -> Result<CloseService, InvalidRequest> {
        match (self.service, self.wallet) {
            (Some(s), _) => Ok(s),
            (None, Some(w)) => CloseService::for_wallet(w)
                .ok_or(InvalidRequest::NoServiceForWallet { operation: "close", wallet: w.code() }),
            (None, None) => Ok(CloseService::Common),
        }
    }

    /// Checks the request and returns its unsigned wire parameters, with
    /// `time` from `now` (written in UTC+8).
    ///
    /// ```
    /// use vmp_client::{CloseOrder, CloseService, OrderRef, Wallet};
    /// let now = time::macros::datetime!(2024-01-01 04:00:00 UTC);
    /// let c = CloseOrder::new(OrderRef::out_trade_no("A1"), Wallet::Oct).service(CloseService::PaymeWeb);
    /// assert!(c.to_params("K", now).is_err());
    /// ```
    ///
    /// # Errors
    /// [`InvalidRequest::Wallet`] when the service does not take the
    /// wallet, [`InvalidRequest::Operation`] when the gateway's parser
    /// refuses the request.
    pub fn to_params(&self, user_confirm_key: &str, now: OffsetDateTime) -> Result<Params, InvalidRequest> {
        let service = self.chosen_service()?;
        let name = service.code();
        let wallets = ops::close_service(name).ok_or(InvalidRequest::UnknownService(name))?;
        check_wallet(name, wallets, self.wallet)?;
        let mut p = Params::new().with("service", name).with("user_confirm_key", user_confirm_key);
        self.order.write(&mut p);
        if let Some(w) = self.wallet {
            p.set("wallet", w.code());
        }
        p.set("time", format_time(now));
        CloseRequest::parse(wallets, &p).map_err(InvalidRequest::Operation)?;
        Ok(p)
    }
}

/// `refund_status` of a [`RefundStatusAnswer`].
///
/// ```
/// use vmp_client::RefundStatus;
/// assert_eq!(RefundStatus::parse("PROCESSING"), RefundStatus::Processing);
/// assert!(RefundStatus::parse("SUCCESS").is_final());
/// assert_eq!(RefundStatus::parse("LATER").as_str(), "LATER");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RefundStatus {
    /// `SUCCESS`: the money is back with the buyer.
    Success,
    /// `PROCESSING`: not complete yet; ask again later.
    Processing,
    /// `FAIL`: the refund failed.
    Fail,
    /// Any other value, kept verbatim; treat it as not final.
    Unknown(String),
}

impl RefundStatus {
    /// Reads a wire value (exact); anything unlisted becomes
    /// [`RefundStatus::Unknown`].
    ///
    /// ```
    /// assert_eq!(vmp_client::RefundStatus::parse("FAIL"), vmp_client::RefundStatus::Fail);
    /// ```
    pub fn parse(s: &str) -> Self {
        match s {
            "SUCCESS" => Self::Success,
            "PROCESSING" => Self::Processing,
            "FAIL" => Self::Fail,
            other => Self::Unknown(other.to_owned()),
        }
    }

    /// The wire value.
    ///
    /// ```
    /// assert_eq!(vmp_client::RefundStatus::Success.as_str(), "SUCCESS");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            Self::Success => "SUCCESS",
            Self::Processing => "PROCESSING",
            Self::Fail => "FAIL",
            Self::Unknown(s) => s,
        }
    }

    /// Whether the refund will not change any more (`SUCCESS` or `FAIL`).
    ///
    /// ```
    /// assert!(!vmp_client::RefundStatus::Processing.is_final());
    /// ```
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Success | Self::Fail)
    }
}

impl fmt::Display for RefundStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads a verified answer's fields and checks it is about the request.
struct Reader<'a>(&'a Params);

impl Reader<'_> {
    /// A field that must be present and non-empty.
    fn need(&self, name: &str) -> Result<String, String> {
        self.opt(name).ok_or_else(|| format!("the answer has no {name}"))
    }

    /// A field that may be absent; empty counts as absent.
    fn opt(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    fn amount(&self, name: &str) -> Result<Amount, String> {
        let text = self.need(name)?;
        Amount::parse(&text).map_err(|e| format!("the answer's {name} {text:?} is not an amount: {e}"))
    }

    fn opt_amount(&self, name: &str) -> Result<Option<Amount>, String> {
        match self.opt(name) {
            None => Ok(None),
            Some(_) => self.amount(name).map(Some),
        }
    }

    /// A total the gateway computed (not limited to 8 characters).
    fn opt_sum(&self, name: &str) -> Result<Option<Amount>, String> {
        self.opt(name)
            .map(|text| {
                Amount::parse_sum(&text).map_err(|e| format!("the answer's {name} {text:?} is not an amount: {e}"))
            })
            .transpose()
    }

    /// A field that must be present and equal `want`.
    fn echo(&self, name: &str, want: &str) -> Result<String, String> {
        let got = self.need(name)?;
        if got == want { Ok(got) } else { Err(format!("the answer is for {name} {got:?}, not {want:?}")) }
    }

    /// `(eft_trade_no, out_trade_no)`, the one asked for checked.
    fn order(&self, want: &OrderRef) -> Result<(String, String), String> {
        let (eft, out) = match want {
            OrderRef::EftTradeNo(e) => (self.echo("eft_trade_no", e)?, self.need("out_trade_no")?),
            OrderRef::OutTradeNo(o) => (self.need("eft_trade_no")?, self.echo("out_trade_no", o)?),
        };
        Ok((eft, out))
    }

    /// `user_confirm_key`: when echoed it must be ours.
    fn key(&self, want: &str) -> Result<String, String> {
        match self.opt("user_confirm_key") {
            None => Ok(want.to_owned()),
            Some(_) => self.echo("user_confirm_key", want),
        }
    }

    fn trade_status(&self) -> Result<TradeStatus, String> {
        self.need("trade_status").map(|s| TradeStatus::parse(&s))
    }

    fn trade_type(&self) -> Option<TradeType> {
        self.opt("trade_type").map(|t| TradeType::parse(&t))
    }
}

/// A verified [`Query`] answer: the sale, or the refund asked for.
///
/// ```
/// # fn show(q: vmp_client::QueryAnswer) {
/// use vmp_client::{TradeStatus, TradeType};
/// match (&q.trade_type, &q.trade_status) {
///     (Some(TradeType::Sale), TradeStatus::TradeSuccess) => println!("paid {}", q.transaction_amount.to_decimal_string()),
///     (_, status) => println!("{status}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryAnswer {
    /// The gateway's order number.
    pub eft_trade_no: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// The merchant's key.
    pub user_confirm_key: String,
    /// The refund described, for a refund query.
    pub refund_no: Option<String>,
    /// `trade_status`. Sale: `TRADE_PROCESSING` unpaid, `TRADE_SUCCESS`
    /// paid, `TRADE_FAIL`, `TRADE_REFUND` partly refunded, `TRADE_CLOSED`
    /// closed, expired or fully refunded. Refund: `APPLY_SUCCESS` (apply
    /// pending), `TRADE_REFUND`, `TRADE_CLOSED` (it completed a full refund).
    pub trade_status: TradeStatus,
    /// `trade_type`: `SALE`, or `REFUND` for a refund query.
    pub trade_type: Option<TradeType>,
    /// `trade_time`, `yyyy-MM-dd HH:mm:ss` in UTC+8, as sent.
    pub trade_time: Option<String>,
    /// `transaction_amount`: the sale's amount, or the refund's.
    pub transaction_amount: Amount,
    /// `original_amount`: the sale's amount, on a refund query.
    pub original_amount: Option<Amount>,
    /// `refund_amount`: refunded so far, on a sale query of a refunded order.
    pub refund_amount: Option<Amount>,
    /// `currency` code as sent (see [`QueryAnswer::known_currency`]).
    pub currency: Option<String>,
    /// `payType` of the order.
    pub pay_type: Option<String>,
    /// `wallet` of the order as sent (see [`QueryAnswer::known_wallet`]).
    pub wallet: Option<String>,
    /// `tid`, when the order had one.
    pub tid: Option<String>,
    /// `transaction_id`: the wallet provider's number, once paid.
    pub transaction_id: Option<String>,
    /// `card_scheme` (MPGS and AE).
    pub card_scheme: Option<String>,
    /// The whole verified answer, in received order.
    pub answer: Params,
}

impl QueryAnswer {
    pub(crate) fn from_answer(answer: Params, query: &Query, user_confirm_key: &str) -> Result<Self, String> {
        let r = Reader(&answer);
        let (eft_trade_no, out_trade_no) = r.order(query.order())?;
        let refund_no = match query.refund_no() {
            Some(want) if r.opt("refund_no").is_some() => Some(r.echo("refund_no", want)?),
            _ => r.opt("refund_no"),
        };
        Ok(Self {
            eft_trade_no,
            out_trade_no,
            user_confirm_key: r.key(user_confirm_key)?,
            refund_no,
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
            answer,
        })
    }

    /// The currency, when it is one this crate knows.
    ///
    /// ```
    /// # fn show(q: vmp_client::QueryAnswer) {
    /// if q.known_currency() == Some(vmp_client::Currency::Hkd) { /* … */ }
    /// # }
    /// ```
    pub fn known_currency(&self) -> Option<Currency> {
        self.currency.as_deref().and_then(|c| c.parse().ok())
    }

    /// The order's wallet, when it is one this crate knows: what
    /// [`Refund::new`] and [`CloseOrder::new`] need.
    ///
    /// ```
    /// # fn refund(q: vmp_client::QueryAnswer) -> Option<vmp_client::Refund> {
    /// use vmp_client::{OrderRef, Refund};
    /// let wallet = q.known_wallet()?;
    /// Some(Refund::new(OrderRef::eft_trade_no(&q.eft_trade_no), wallet, "R-1", q.transaction_amount))
    /// # }
    /// ```
    pub fn known_wallet(&self) -> Option<Wallet> {
        self.wallet.as_deref().and_then(|w| w.parse().ok())
    }
}

/// A verified [`Refund`] answer.
///
/// ```
/// # fn show(r: vmp_client::RefundAnswer) {
/// if r.is_pending() {
///     println!("{} accepted; follow it with RefundStatusQuery", r.out_refund_no);
/// } else {
///     println!("{} done: {}", r.out_refund_no, r.trade_status);
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundAnswer {
    /// The merchant's refund number (checked to match the request).
    pub out_refund_no: String,
    /// The gateway's order number.
    pub eft_trade_no: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// The merchant's key.
    pub user_confirm_key: String,
    /// `trade_status`: `TRADE_REFUND` (the order is partly refunded),
    /// `TRADE_CLOSED` (this refund completed a full refund), or
    /// `APPLY_SUCCESS` (an apply-refund was accepted and completes later).
    pub trade_status: TradeStatus,
    /// `refund_time`, `yyyyMMddHHmmss` in UTC+8, as sent.
    pub refund_time: Option<String>,
    /// `return_amount`: this refund's amount.
    pub return_amount: Option<Amount>,
    /// `total_fee`: the order's amount.
    pub total_fee: Option<Amount>,
    /// `fee_type`: the currency code.
    pub fee_type: Option<String>,
    /// `payType` of the order.
    pub pay_type: Option<String>,
    /// `buyerType`, echoed when sent.
    pub buyer_type: Option<String>,
    /// `wallet` of the order.
    pub wallet: Option<String>,
    /// The whole verified answer, in received order.
    pub answer: Params,
}

impl RefundAnswer {
    pub(crate) fn from_answer(answer: Params, refund: &Refund, user_confirm_key: &str) -> Result<Self, String> {
        let r = Reader(&answer);
        let (eft_trade_no, out_trade_no) = r.order(refund.order())?;
        Ok(Self {
            out_refund_no: r.echo("out_refund_no", refund.out_refund_no())?,
            eft_trade_no,
            out_trade_no,
            user_confirm_key: r.key(user_confirm_key)?,
            trade_status: r.trade_status()?,
            refund_time: r.opt("refund_time"),
            return_amount: r.opt_amount("return_amount")?,
            total_fee: r.opt_amount("total_fee")?,
            fee_type: r.opt("fee_type"),
            pay_type: r.opt("payType"),
            buyer_type: r.opt("buyerType"),
            wallet: r.opt("wallet"),
            answer,
        })
    }

    /// Whether the refund is accepted but not complete (`APPLY_SUCCESS` or
    /// `TRADE_PROCESSING`): follow it with a [`RefundStatusQuery`].
    ///
    /// ```
    /// # fn wait(r: vmp_client::RefundAnswer) {
    /// if r.is_pending() { /* ask service.unified.RefundStatusQuery later */ }
    /// # }
    /// ```
    pub fn is_pending(&self) -> bool {
        matches!(self.trade_status, TradeStatus::ApplySuccess | TradeStatus::TradeProcessing)
    }
}

/// A verified [`RefundStatusQuery`] answer.
///
/// ```
/// # fn show(s: vmp_client::RefundStatusAnswer) {
/// use vmp_client::RefundStatus;
/// match s.refund_status {
///     RefundStatus::Success => println!("refund {} is complete", s.refund_no),
///     RefundStatus::Fail => println!("refund {} failed", s.refund_no),
///     _ => println!("refund {} is still in progress", s.refund_no),
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundStatusAnswer {
    /// The refund (checked to match the request).
    pub refund_no: String,
    /// The gateway's order number.
    pub eft_trade_no: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// The merchant's key.
    pub user_confirm_key: String,
    /// `refund_status`: `SUCCESS`, `PROCESSING` or `FAIL`.
    pub refund_status: RefundStatus,
    /// `trade_status` of the refund.
    pub trade_status: Option<TradeStatus>,
    /// `trade_type` (`REFUND`).
    pub trade_type: Option<TradeType>,
    /// `transaction_amount`: the refund's amount.
    pub transaction_amount: Option<Amount>,
    /// `original_amount`: the order's amount.
    pub original_amount: Option<Amount>,
    /// `currency` code.
    pub currency: Option<String>,
    /// `wallet` of the order.
    pub wallet: Option<String>,
    /// `recv_account`: where the money went (WeChat only, at eftPay).
    pub recv_account: Option<String>,
    /// The whole verified answer, in received order.
    pub answer: Params,
}

impl RefundStatusAnswer {
    pub(crate) fn from_answer(
        answer: Params,
        query: &RefundStatusQuery,
        user_confirm_key: &str,
    ) -> Result<Self, String> {
        let r = Reader(&answer);
        let (eft_trade_no, out_trade_no) = r.order(query.order())?;
        Ok(Self {
            refund_no: r.echo("refund_no", query.refund_no())?,
            eft_trade_no,
            out_trade_no,
            user_confirm_key: r.key(user_confirm_key)?,
            refund_status: RefundStatus::parse(&r.need("refund_status")?),
            trade_status: r.opt("trade_status").map(|s| TradeStatus::parse(&s)),
            trade_type: r.trade_type(),
            transaction_amount: r.opt_amount("transaction_amount")?,
            original_amount: r.opt_amount("original_amount")?,
            currency: r.opt("currency"),
            wallet: r.opt("wallet"),
            recv_account: r.opt("recv_account"),
            answer,
        })
    }
}

/// A verified [`CloseOrder`] answer.
///
/// ```
/// # fn show(c: vmp_client::CloseAnswer) {
/// assert_eq!(c.trade_status, vmp_client::TradeStatus::TradeClosed);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseAnswer {
    /// The gateway's order number.
    pub eft_trade_no: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// The merchant's key.
    pub user_confirm_key: String,
    /// `trade_status` after the close: `TRADE_CLOSED`, or the final state
    /// the order had already reached unpaid (e.g. `TRADE_FAIL`).
    pub trade_status: TradeStatus,
    /// `trade_type` (`SALE`).
    pub trade_type: Option<TradeType>,
    /// `wallet` of the order.
    pub wallet: Option<String>,
    /// `tid`, when the order had one.
    pub tid: Option<String>,
    /// The whole verified answer, in received order.
    pub answer: Params,
}

impl CloseAnswer {
    pub(crate) fn from_answer(answer: Params, close: &CloseOrder, user_confirm_key: &str) -> Result<Self, String> {
        let r = Reader(&answer);
        let (eft_trade_no, out_trade_no) = r.order(close.order())?;
        Ok(Self {
            eft_trade_no,
            out_trade_no,
            user_confirm_key: r.key(user_confirm_key)?,
            trade_status: r.trade_status()?,
            trade_type: r.trade_type(),
            wallet: r.opt("wallet"),
            tid: r.opt("tid"),
            answer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use vmp_protocol::ops::OpsError;

    const NOW: OffsetDateTime = datetime!(2024-01-01 04:00:00 UTC);

    fn amount(minor: i64) -> Amount {
        Amount::from_minor(minor).unwrap()
    }

    fn out(no: &str) -> OrderRef {
        OrderRef::out_trade_no(no)
    }

    #[test]
    fn the_service_enums_are_the_protocol_catalogue() {
        assert_eq!(RefundService::ALL.len(), ops::REFUND_SERVICES.len());
        for s in &ops::REFUND_SERVICES {
            let e: RefundService = s.name.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(e.spec(), Some(s));
            assert_eq!(e.wallets().len(), s.wallets.len(), "{}", s.name);
        }
        assert_eq!(CloseService::ALL.len(), ops::CLOSE_SERVICES.len());
        for (name, wallets) in &ops::CLOSE_SERVICES {
            let e: CloseService = name.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(e.wallets().len(), wallets.len(), "{name}");
        }
    }

    #[test]
    fn every_wallet_has_a_refund_and_a_close_service_and_a_pay_type() {
        for w in Wallet::ALL.iter().copied() {
            let refund = RefundService::for_wallet(w).unwrap_or_else(|| panic!("refund for {w}"));
            assert!(!refund.is_apply() && refund.wallets().contains(&w), "{w}: {refund}");
            let close = CloseService::for_wallet(w).unwrap_or_else(|| panic!("close for {w}"));
            assert!(close.wallets().contains(&w), "{w}: {close}");
            assert!(w.pay_type().is_some(), "{w}");
            let p = Refund::new(out("A1"), w, "R1", amount(1)).to_params("K", NOW).unwrap();
            assert_eq!(p.get("service"), Some(refund.code()));
            assert_eq!(p.get("payType"), w.pay_type());
        }
        assert_eq!(RefundService::apply_for_wallet(Wallet::WechatCn), Some(RefundService::WechatWebApply));
        assert_eq!(RefundService::apply_for_wallet(Wallet::Oct), None);
    }

    #[test]
    fn requests_carry_exactly_the_page_fields_and_never_empty_values() {
        let q = Query::sale(out("A1")).to_params("K", NOW).unwrap();
        assert_eq!(q.keys().collect::<Vec<_>>(), ["user_confirm_key", "querytype", "out_trade_no", "time"]);
        assert_eq!(q.get("time"), Some("20240101120000"));
        let q = Query::refund(OrderRef::eft_trade_no("123"), "R1")
            .via(QueryEndpoint::CommonQuery)
            .to_params("K", NOW)
            .unwrap();
        assert_eq!(
            q.keys().collect::<Vec<_>>(),
            ["service", "user_confirm_key", "querytype", "eft_trade_no", "refund_no", "time"]
        );

        let r = Refund::common(out("A1"), "R1", amount(150)).reason("").notify_url("").to_params("K", NOW).unwrap();
        assert_eq!(
            r.keys().collect::<Vec<_>>(),
            ["service", "user_confirm_key", "return_amount", "out_trade_no", "out_refund_no", "time"]
        );
        assert_eq!(r.get("service"), Some("service.common.Refund"));
        assert_eq!(r.get("return_amount"), Some("1.50"));
        assert!(r.iter().all(|(_, v)| !v.is_empty()));

        let s = RefundStatusQuery::new(out("A1"), "R1").to_params("K", NOW).unwrap();
        assert_eq!(s.get("querytype"), Some("OUT_TRADE"));
        let c = CloseOrder::common(out("A1")).to_params("K", NOW).unwrap();
        assert_eq!(c.keys().collect::<Vec<_>>(), ["service", "user_confirm_key", "out_trade_no", "time"]);
        assert_eq!(c.get("service"), Some("service.common.Close"));
    }

    #[test]
    fn bad_requests_are_refused_by_the_gateways_own_parsers() {
        let op = |e: InvalidRequest| match e {
            InvalidRequest::Operation(o) => o,
            other => panic!("expected an Operation error, got {other:?}"),
        };
        assert_eq!(op(Query::sale(out("")).to_params("K", NOW).unwrap_err()), OpsError::MissingTradeRef);
        assert!(matches!(
            op(Query::sale(out("has space")).to_params("K", NOW).unwrap_err()),
            OpsError::Field { field: "out_trade_no", .. }
        ));
        assert!(matches!(
            op(Query::refund(out("A1"), "R".repeat(29)).to_params("K", NOW).unwrap_err()),
            OpsError::Field { field: "refund_no", .. }
        ));
        assert_eq!(
            op(RefundStatusQuery::new(out("A1"), "").to_params("K", NOW).unwrap_err()),
            OpsError::Missing("refund_no")
        );
        assert_eq!(
            op(Refund::common(out("A1"), "", amount(1)).to_params("K", NOW).unwrap_err()),
            OpsError::Missing("out_refund_no")
        );
        // 1 000 000.01 takes ten characters; the wire allows eight.
        assert!(matches!(
            op(Refund::common(out("A1"), "R1", amount(100_000_001)).to_params("K", NOW).unwrap_err()),
            OpsError::Amount(_)
        ));
        // A wallet service without a wallet.
        assert_eq!(
            op(Refund::common(out("A1"), "R1", amount(1))
                .service(RefundService::OctOnline)
                .to_params("K", NOW)
                .unwrap_err()),
            OpsError::Missing("wallet")
        );
        assert!(matches!(
            op(Refund::common(out("A1"), "R1", amount(1)).reason("a\u{7}b").to_params("K", NOW).unwrap_err()),
            OpsError::Field { field: "reason", .. }
        ));
        assert!(matches!(
            op(CloseOrder::common(OrderRef::eft_trade_no("1".repeat(29))).to_params("K", NOW).unwrap_err()),
            OpsError::Field { field: "eft_trade_no", .. }
        ));
    }

    #[test]
    fn wrong_service_and_wallet_combinations_are_refused() {
        let err = Refund::new(out("A1"), Wallet::AlipayHk, "R1", amount(1))
            .service(RefundService::WechatWebApply)
            .to_params("K", NOW)
            .unwrap_err();
        assert!(matches!(err, InvalidRequest::Wallet { service: "service.wechat.web.ApplyRefund", .. }), "{err:?}");
        let err = CloseOrder::new(out("A1"), Wallet::Payme).service(CloseService::OctOnline).to_params("K", NOW);
        assert!(matches!(err, Err(InvalidRequest::Wallet { wallet: "PAYME", .. })), "{err:?}");
        let err = Refund::new(out("A1"), Wallet::Oct, "R1", amount(1)).notify_url("https://m.example/n");
        assert!(matches!(err.to_params("K", NOW), Err(InvalidRequest::NotApplicable { field: "notify_url", .. })));
        let err = Refund::new(out("A1"), Wallet::WechatHk, "R1", amount(1))
            .service(RefundService::WechatWebApply)
            .notify_url("ftp://m.example/n")
            .to_params("K", NOW)
            .unwrap_err();
        assert!(err.to_string().contains("notify_url"), "{err}");
        // service.common.* take any wallet.
        for w in Wallet::ALL.iter().copied() {
            assert!(Refund::common(out("A1"), "R1", amount(1)).wallet(w).to_params("K", NOW).is_ok(), "{w}");
            assert!(CloseOrder::common(out("A1")).service(CloseService::Common).wallet(w).to_params("K", NOW).is_ok());
        }
    }

    fn answer(fields: &[(&str, &str)]) -> Params {
        let mut p = Params::new().with("return_status", "00");
        for (k, v) in fields {
            p.set(*k, *v);
        }
        p
    }

    #[test]
    fn answers_must_be_about_the_request() {
        let q = Query::sale(out("A1"));
        let base = [
            ("user_confirm_key", "K"),
            ("out_trade_no", "A1"),
            ("eft_trade_no", "123"),
            ("trade_status", "TRADE_SUCCESS"),
            ("trade_type", "SALE"),
            ("transaction_amount", "1.00"),
            ("refund_amount", "0.30"),
        ];
        let ok = QueryAnswer::from_answer(answer(&base), &q, "K").unwrap();
        assert_eq!(ok.trade_status, TradeStatus::TradeSuccess);
        assert_eq!(ok.trade_type, Some(TradeType::Sale));
        assert_eq!(ok.transaction_amount.minor(), 100);
        assert_eq!(ok.refund_amount.map(Amount::minor), Some(30));
        // A refunded total is longer than a merchant's 8-character amount
        // when a large order is refunded in full.
        let mut large = answer(&base);
        large.set("transaction_amount", "150000").set("refund_amount", "150000.00");
        let large = QueryAnswer::from_answer(large, &q, "K").unwrap();
        assert_eq!(large.refund_amount.map(Amount::minor), Some(15_000_000));
        let mut bad_sum = answer(&base);
        bad_sum.set("refund_amount", "0.3.0");
        assert!(QueryAnswer::from_answer(bad_sum, &q, "K").unwrap_err().contains("refund_amount"));

        let mut other_order = answer(&base);
        other_order.set("out_trade_no", "A2");
        assert!(QueryAnswer::from_answer(other_order, &q, "K").unwrap_err().contains("out_trade_no"));
        assert!(QueryAnswer::from_answer(answer(&base), &q, "OTHER").unwrap_err().contains("user_confirm_key"));
        let mut bad_amount = answer(&base);
        bad_amount.set("transaction_amount", "1,00");
        assert!(QueryAnswer::from_answer(bad_amount, &q, "K").unwrap_err().contains("transaction_amount"));
        let mut no_status = answer(&base);
        no_status.remove("trade_status");
        assert!(QueryAnswer::from_answer(no_status, &q, "K").unwrap_err().contains("trade_status"));
        let by_eft = Query::refund(OrderRef::eft_trade_no("999"), "R1");
        assert!(QueryAnswer::from_answer(answer(&base), &by_eft, "K").unwrap_err().contains("eft_trade_no"));

        let refund = Refund::common(out("A1"), "R1", amount(30));
        let mut a = answer(&base);
        a.set("out_refund_no", "R2");
        assert!(RefundAnswer::from_answer(a, &refund, "K").unwrap_err().contains("out_refund_no"));
        let status = RefundStatusQuery::new(out("A1"), "R1");
        let mut a = answer(&base);
        a.set("refund_no", "R1").set("refund_status", "PROCESSING");
        assert_eq!(RefundStatusAnswer::from_answer(a, &status, "K").unwrap().refund_status, RefundStatus::Processing);
    }
}
