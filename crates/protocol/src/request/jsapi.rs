//! The jsapi scene (inside WeChat or Alipay): [`JsapiOrder`], the sale
//! (`service.wechat.jsapi.PreOrder`, `service.alipay.jsapi.PreOrder` and the
//! "new interface" `service.alipayplus.jsapi.PreOrder`), and
//! [`JsapiRefund`] (`service.wechat.jsapi.Refund`,
//! `service.wechat.jsapi.ApplyRefund`, `service.alipay.jsapi.Refund`,
//! `service.alipayplus.jsapi.Refund`). Both speak the lowercase field
//! family: `paytype`, `payment_type`, `refund_no`, and `transaction_amount`
//! as the refund's amount (docs/protocol.md "The jsapi scene").

use crate::amount::{Amount, Currency, WireAmount};
use crate::catalogue::{PayType, SceneType, Service, Wallet};
use crate::codes::ReturnStatus;
use crate::fields::{
    ACTIVE_TIME_DEFAULT, BuyerType, FieldProblem, GoodsTag, HttpUrl, OpenId, OutTradeNo, Reason, RefundNo, Subject,
    Tid, check_text, parse_active_time,
};
use crate::params::{Params, ValueKind};

use super::{Fields, RequestError, TradeRef, clip, put, set_amount};

/// Longest `detail` (WeChat Pay's goods detail), in characters.
pub const DETAIL_MAX_CHARS: usize = 6000;
/// Longest `scene_info` (WeChat Pay H5's scene), in characters.
pub const SCENE_INFO_MAX_CHARS: usize = 256;

/// A JSON object field (`detail`, `scene_info`): sent as an object, or as
/// a string holding one's text. Kept as that text (compact JSON as
/// received, or the string as sent), which is what was signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonObject(String);

impl JsonObject {
    /// Checks `text` is a JSON object of at most `max` characters.
    ///
    /// # Errors
    /// [`FieldProblem`] when too long, with control characters outside
    /// JSON strings, or not a JSON object.
    pub fn parse(text: &str, max: usize) -> Result<Self, FieldProblem> {
        if text.chars().count() > max {
            return Err(FieldProblem::TooLong(max));
        }
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(_)) => Ok(Self(text.to_owned())),
            _ => Err(FieldProblem::Invalid("must be a JSON object")),
        }
    }

    /// The text as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An object field: a JSON object, or a string holding one.
fn object_field(f: Fields<'_>, name: &'static str, max: usize) -> Result<Option<JsonObject>, RequestError> {
    let Some(value) = f.0.get_raw(name).filter(|v| !v.is_empty()) else { return Ok(None) };
    let is_object = value.kind() == ValueKind::Other && value.as_str().starts_with('{');
    if value.kind() == ValueKind::Other && !is_object {
        return Err(RequestError::Field { field: name, problem: FieldProblem::Invalid("must be a JSON object") });
    }
    JsonObject::parse(value.as_str(), max).map(Some).map_err(|problem| RequestError::Field { field: name, problem })
}

/// A code-list field whose value must be one of `allowed` (`paytype`,
/// `payment_type`): malformed text is `-13`, another value `status`.
fn one_of<T: Copy + PartialEq>(
    text: &str,
    field: &'static str,
    service: Service,
    parse: impl Fn(&str) -> Option<T>,
    ok: impl Fn(T) -> bool,
    allowed: String,
    status: ReturnStatus,
) -> Result<T, RequestError> {
    check_text(text, 20).map_err(|problem| RequestError::Field { field, problem })?;
    parse(text).filter(|v| ok(*v)).ok_or_else(|| RequestError::NotAllowed {
        field,
        given: clip(text, 20),
        service: service.label(),
        allowed,
        status,
    })
}

fn joined<T: Copy>(items: &[T], as_str: impl Fn(T) -> &'static str) -> String {
    items.iter().map(|i| as_str(*i)).collect::<Vec<_>>().join("/")
}

/// `paytype` of a sale: the service's.
fn sale_pay_type(f: Fields<'_>, service: Service) -> Result<PayType, RequestError> {
    let spec = service.spec();
    let text = f.req("paytype")?;
    one_of(
        text,
        "paytype",
        service,
        PayType::parse,
        |p| spec.accepts_pay_type(p),
        joined(spec.pay_types, PayType::as_str),
        ReturnStatus::InvalidPayType,
    )
}

/// `payment_type` of a sale: one of the service's wallets.
fn sale_wallet(f: Fields<'_>, service: Service) -> Result<Wallet, RequestError> {
    let spec = service.spec();
    let text = f.req("payment_type")?;
    one_of(
        text,
        "payment_type",
        service,
        Wallet::parse,
        |w| spec.accepts_wallet(w),
        joined(spec.wallets, Wallet::as_str),
        ReturnStatus::WalletRestricted,
    )
}

/// A jsapi sale: the order is paid inside the wallet (a mini-program, a
/// WeChat official account's page, WeChat Pay H5, Alipay's in-app
/// browser), through the wallet's JavaScript bridge fed with the answer's
/// `payPackage`.
///
/// Required on the wire (what every real client sends, and all eftPay's
/// field checks were seen to need): `service`, `paytype`, `payment_type`,
/// `transaction_amount`, `out_trade_no`, `scene_type`, and the buyer's id
/// the scene names: `sub_openid` for `APPLETS`, `openid` for `PUBLIC`
/// (none for `H5`). `buyertype` is optional (no jsapi client sends it);
/// `lang` and `father_user_key` are accepted, signed and ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsapiOrder {
    /// The interface.
    pub service: Service,
    /// The merchant's order number, unique per merchant.
    pub out_trade_no: OutTradeNo,
    /// `transaction_amount`, echoed as sent (`12.5`, `100.0` included).
    pub amount: WireAmount,
    /// `paytype`, the service's.
    pub pay_type: PayType,
    /// `payment_type`, one of the service's wallets.
    pub wallet: Wallet,
    /// `scene_type`, one the service takes.
    pub scene_type: SceneType,
    /// `openid` (required for `PUBLIC`).
    pub openid: Option<OpenId>,
    /// `sub_openid` (required for `APPLETS`).
    pub sub_openid: Option<OpenId>,
    /// `buyertype`, as sent.
    pub buyer_type: Option<BuyerType>,
    /// `subject`.
    pub subject: Option<Subject>,
    /// `tid`.
    pub tid: Option<Tid>,
    /// `fee_type`, HKD when none was sent.
    pub currency: Currency,
    /// `notify_url`.
    pub notify_url: Option<HttpUrl>,
    /// `return_url` (no query string).
    pub return_url: Option<HttpUrl>,
    /// `active_time` in seconds, 1800 when none was sent.
    pub active_time: u32,
    /// `receipt`: `Y` asks WeChat Pay for its invoice entry.
    pub receipt: bool,
    /// `goods_tag`.
    pub goods_tag: Option<GoodsTag>,
    /// `detail`: the goods, a JSON object (at most 6000 characters).
    pub detail: Option<JsonObject>,
    /// `scene_info`: WeChat Pay H5's scene, a JSON object (at most 256
    /// characters).
    pub scene_info: Option<JsonObject>,
}

impl JsapiOrder {
    /// Starts a request for `service`: see [`JsapiOrderBuilder`].
    pub fn builder(service: Service) -> JsapiOrderBuilder {
        JsapiOrderBuilder { service, fields: Params::new(), objects: Vec::new(), error: None }
    }

    /// The buyer's id the scene names (`sub_openid` for `APPLETS`, `openid`
    /// for `PUBLIC`), with its field name.
    pub fn buyer(&self) -> Option<(&'static str, &OpenId)> {
        match self.scene_type {
            SceneType::Applets => self.sub_openid.as_ref().map(|o| ("sub_openid", o)),
            SceneType::Public => self.openid.as_ref().map(|o| ("openid", o)),
            SceneType::H5 => None,
        }
    }

    pub(super) fn parse(service: Service, p: &Params) -> Result<Self, RequestError> {
        let spec = service.spec();
        let f = Fields(p);
        let amount = WireAmount::parse(f.req("transaction_amount")?)
            .map_err(|error| RequestError::Amount { field: "transaction_amount", error })?;
        let out_trade_no = f.req_with("out_trade_no", OutTradeNo::parse)?;
        let pay_type = sale_pay_type(f, service)?;
        let wallet = sale_wallet(f, service)?;
        let scene_text = f.req("scene_type")?;
        let scene_type = one_of(
            scene_text,
            "scene_type",
            service,
            SceneType::parse,
            |s| spec.accepts_scene_type(s),
            joined(spec.scene_types, SceneType::as_str),
            ReturnStatus::InvalidParameter,
        )?;
        let openid = f.opt_with("openid", OpenId::parse)?;
        let sub_openid = f.opt_with("sub_openid", OpenId::parse)?;
        match scene_type.buyer_field() {
            Some("sub_openid") if sub_openid.is_none() => return Err(RequestError::Missing("sub_openid")),
            Some("openid") if openid.is_none() => return Err(RequestError::Missing("openid")),
            _ => {}
        }
        let currency = match f.opt("fee_type")? {
            None => Currency::Hkd,
            Some(c) => c.parse().map_err(|_| RequestError::Currency(c.chars().take(5).collect()))?,
        };
        let return_url = f.opt_with("return_url", HttpUrl::parse)?;
        if let Some(u) = &return_url
            && (u.url().query().is_some() || u.url().fragment().is_some())
        {
            return Err(RequestError::ReturnUrlWithParameters);
        }
        let receipt = match f.opt("receipt")? {
            None => false,
            Some("Y") => true,
            Some(_) => return Err(RequestError::Field { field: "receipt", problem: FieldProblem::Invalid("Y") }),
        };
        // `lang` and `father_user_key` are signed like every field, and
        // read by nothing: the wallet's own page decides its language.
        Ok(Self {
            service,
            out_trade_no,
            amount,
            pay_type,
            wallet,
            scene_type,
            openid,
            sub_openid,
            buyer_type: f.opt_with("buyertype", BuyerType::parse)?,
            subject: f.opt_with("subject", Subject::parse)?,
            tid: f.opt_with("tid", Tid::parse)?,
            currency,
            notify_url: f.opt_with("notify_url", HttpUrl::parse)?,
            return_url,
            active_time: f.opt_with("active_time", parse_active_time)?.unwrap_or(ACTIVE_TIME_DEFAULT),
            receipt,
            goods_tag: f.opt_with("goods_tag", GoodsTag::parse)?,
            detail: object_field(f, "detail", DETAIL_MAX_CHARS)?,
            scene_info: object_field(f, "scene_info", SCENE_INFO_MAX_CHARS)?,
        })
    }

    pub(super) fn write(&self, p: &mut Params) {
        p.set("paytype", self.pay_type.as_str())
            .set("payment_type", self.wallet.as_str())
            .set("transaction_amount", self.amount.as_str())
            .set("out_trade_no", self.out_trade_no.as_str())
            .set("scene_type", self.scene_type.as_str());
        put(p, "openid", self.openid.as_ref().map(OpenId::as_str));
        put(p, "sub_openid", self.sub_openid.as_ref().map(OpenId::as_str));
        put(p, "buyertype", self.buyer_type.as_ref().map(BuyerType::as_str));
        put(p, "subject", self.subject.as_ref().map(Subject::as_str));
        put(p, "tid", self.tid.as_ref().map(Tid::as_str));
        p.set("fee_type", self.currency.code());
        put(p, "notify_url", self.notify_url.as_ref().map(HttpUrl::as_str));
        put(p, "return_url", self.return_url.as_ref().map(HttpUrl::as_str));
        if self.active_time != ACTIVE_TIME_DEFAULT {
            p.set("active_time", self.active_time.to_string());
        }
        if self.receipt {
            p.set("receipt", "Y");
        }
        put(p, "goods_tag", self.goods_tag.as_ref().map(GoodsTag::as_str));
        for (name, value) in [("detail", &self.detail), ("scene_info", &self.scene_info)] {
            if let Some(object) = value.as_ref().and_then(|o| Params::from_json(o.as_str().as_bytes()).ok()) {
                p.set_object(name, &object);
            }
        }
    }
}

/// Builds a [`JsapiOrder`] with named setters; [`JsapiOrderBuilder::build`]
/// judges it exactly as the gateway will.
///
/// Defaults: `paytype` is the service's; `payment_type` is the service's
/// only wallet when it has one; `fee_type` is HKD. Amounts are minor units.
///
/// ```
/// use vmp_protocol::catalogue::{SceneType, Service, Wallet};
/// use vmp_protocol::request::JsapiOrder;
/// use vmp_protocol::Amount;
///
/// let order = JsapiOrder::builder(Service::WechatJsapi)
///     .wallet(Wallet::WechatHk)
///     .scene_type(SceneType::Applets)
///     .sub_openid("oAbC-miniprogram-openid")
///     .out_trade_no("T2026010112000001")
///     .amount(Amount::from_minor(1250).unwrap())
///     .notify_url("https://shop.example/eft/notify")
///     .build()
///     .unwrap();
/// assert_eq!(order.amount.as_str(), "12.50");
///
/// let err = JsapiOrder::builder(Service::WechatJsapi).wallet(Wallet::WechatHk)
///     .scene_type(SceneType::Public).out_trade_no("T2").amount(Amount::from_minor(1).unwrap())
///     .build().unwrap_err();
/// assert_eq!(err.field(), "openid", "PUBLIC names the buyer by openid");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct JsapiOrderBuilder {
    service: Service,
    fields: Params,
    objects: Vec<(&'static str, String)>,
    error: Option<RequestError>,
}

impl JsapiOrderBuilder {
    fn set(mut self, name: &str, value: impl Into<String>) -> Self {
        self.fields.set(name, value);
        self
    }

    /// `out_trade_no` (required).
    pub fn out_trade_no(self, no: impl Into<String>) -> Self {
        self.set("out_trade_no", no)
    }

    /// `transaction_amount` (required).
    pub fn amount(mut self, amount: Amount) -> Self {
        set_amount(&mut self.fields, &mut self.error, "transaction_amount", amount);
        self
    }

    /// `payment_type` (required unless the service has one wallet only).
    pub fn wallet(self, wallet: Wallet) -> Self {
        self.set("payment_type", wallet.as_str())
    }

    /// `scene_type` (required).
    pub fn scene_type(self, scene_type: SceneType) -> Self {
        self.set("scene_type", scene_type.as_str())
    }

    /// `openid` (required for `PUBLIC`).
    pub fn openid(self, openid: impl Into<String>) -> Self {
        self.set("openid", openid)
    }

    /// `sub_openid` (required for `APPLETS`).
    pub fn sub_openid(self, sub_openid: impl Into<String>) -> Self {
        self.set("sub_openid", sub_openid)
    }

    /// `buyertype`.
    pub fn buyer_type(self, buyer_type: BuyerType) -> Self {
        self.set("buyertype", buyer_type.into_string())
    }

    /// `subject`.
    pub fn subject(self, subject: impl Into<String>) -> Self {
        self.set("subject", subject)
    }

    /// `tid`.
    pub fn tid(self, tid: impl Into<String>) -> Self {
        self.set("tid", tid)
    }

    /// `fee_type`.
    pub fn currency(self, currency: Currency) -> Self {
        self.set("fee_type", currency.code())
    }

    /// `notify_url`.
    pub fn notify_url(self, url: impl Into<String>) -> Self {
        self.set("notify_url", url)
    }

    /// `return_url`.
    pub fn return_url(self, url: impl Into<String>) -> Self {
        self.set("return_url", url)
    }

    /// `active_time` in seconds.
    pub fn active_time(self, seconds: u32) -> Self {
        self.set("active_time", seconds.to_string())
    }

    /// `receipt=Y`: WeChat Pay shows its invoice entry.
    pub fn receipt(self) -> Self {
        self.set("receipt", "Y")
    }

    /// `goods_tag`.
    pub fn goods_tag(self, tag: impl Into<String>) -> Self {
        self.set("goods_tag", tag)
    }

    /// `detail`: the JSON object's text (sent as an object).
    pub fn detail(mut self, json_object: impl Into<String>) -> Self {
        self.objects.push(("detail", json_object.into()));
        self
    }

    /// `scene_info`: the JSON object's text (sent as an object).
    pub fn scene_info(mut self, json_object: impl Into<String>) -> Self {
        self.objects.push(("scene_info", json_object.into()));
        self
    }

    /// The request, judged by the gateway's own rules.
    ///
    /// # Errors
    /// [`RequestError`] naming the field at fault (a missing required one
    /// included).
    pub fn build(self) -> Result<JsapiOrder, RequestError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let spec = self.service.spec();
        if !spec.is_ready() {
            return Err(RequestError::NotSupported(self.service));
        }
        if spec.op != crate::catalogue::Operation::Sale
            || spec.behaves_as().spec().scene != crate::catalogue::Scene::Jsapi
        {
            return Err(RequestError::WrongRequest { service: self.service, request: "a request of its own scene" });
        }
        let mut p = self.fields;
        if !p.contains("paytype")
            && let Some(pay_type) = spec.pay_type()
        {
            p.set("paytype", pay_type.as_str());
        }
        if let (false, [only]) = (p.contains("payment_type"), spec.wallets) {
            p.set("payment_type", only.as_str());
        }
        for (name, text) in self.objects {
            let object =
                JsonObject::parse(&text, usize::MAX).map_err(|problem| RequestError::Field { field: name, problem })?;
            match Params::from_json(object.as_str().as_bytes()) {
                Ok(o) => p.set_object(name, &o),
                Err(_) => p.set(name, text),
            };
        }
        JsapiOrder::parse(self.service, &p)
    }
}

/// A refund of a jsapi order, in the lowercase family: `refund_no`,
/// `transaction_amount` (this refund's amount), `total_fee`.
///
/// Required (what every real client sends): the order (`out_trade_no`,
/// `eft_trade_no` or `eftpay_trade_no`), `refund_no`,
/// `transaction_amount`, `total_fee`, `paytype` (RSM's batch refunds send
/// `payType`: either is read) and `payment_type`. `total_fee` is echoed
/// and never compared with the order: only the running total of refunds
/// counts (`18`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsapiRefund {
    /// The refund interface.
    pub service: Service,
    /// The order.
    pub order: TradeRef,
    /// `refund_no`, unique per merchant.
    pub refund_no: RefundNo,
    /// `transaction_amount`: this refund.
    pub amount: WireAmount,
    /// `total_fee` as sent.
    pub total_fee: WireAmount,
    /// `paytype` (or `payType`): of the order's family.
    pub pay_type: PayType,
    /// `payment_type`: of the order's family.
    pub wallet: Wallet,
    /// `buyertype`, echoed when sent.
    pub buyer_type: Option<BuyerType>,
    /// `tid`.
    pub tid: Option<Tid>,
    /// `refund_desc`.
    pub refund_desc: Option<Reason>,
    /// `notify_url` (read by `service.wechat.jsapi.ApplyRefund` only).
    pub notify_url: Option<HttpUrl>,
}

impl JsapiRefund {
    /// Starts a refund of `order` through `service`: see [`JsapiRefundBuilder`].
    pub fn builder(service: Service, order: impl Into<TradeRef>) -> JsapiRefundBuilder {
        JsapiRefundBuilder { service, order: order.into(), fields: Params::new(), error: None }
    }

    pub(super) fn parse(service: Service, p: &Params) -> Result<Self, RequestError> {
        let spec = service.spec();
        let f = Fields(p);
        let order = TradeRef::parse(f)?;
        let refund_no = f.req_with("refund_no", RefundNo::parse)?;
        let amount = |name: &'static str| {
            f.req(name).and_then(|t| WireAmount::parse(t).map_err(|error| RequestError::Amount { field: name, error }))
        };
        let (amount, total_fee) = (amount("transaction_amount")?, amount("total_fee")?);
        // Either spelling; when both are sent they must agree.
        let (lower, camel) = (f.opt("paytype")?, f.opt("payType")?);
        let (field, text) = match (lower, camel) {
            (Some(l), Some(c)) if l != c => {
                return Err(RequestError::Field {
                    field: "payType",
                    problem: FieldProblem::Invalid("differs from paytype"),
                });
            }
            (Some(l), _) => ("paytype", l),
            (None, Some(c)) => ("payType", c),
            (None, None) => return Err(RequestError::Missing("paytype")),
        };
        let pay_type =
            one_of(text, field, service, PayType::parse, |_| true, PayType::spellings(), ReturnStatus::InvalidPayType)?;
        // Any wallet of the service's families (the order's own is checked
        // by the gateway).
        let wallet = one_of(
            f.req("payment_type")?,
            "payment_type",
            service,
            Wallet::parse,
            |w| spec.wallets.is_empty() || spec.wallets.iter().any(|s| s.same_family(w)),
            joined(spec.wallets, Wallet::as_str),
            ReturnStatus::WalletRestricted,
        )?;
        Ok(Self {
            service,
            order,
            refund_no,
            amount,
            total_fee,
            pay_type,
            wallet,
            buyer_type: f.opt_with("buyertype", BuyerType::parse)?,
            tid: f.opt_with("tid", Tid::parse)?,
            refund_desc: f.opt_with("refund_desc", Reason::parse)?,
            notify_url: f.opt_with("notify_url", HttpUrl::parse)?,
        })
    }

    pub(super) fn write(&self, p: &mut Params) {
        self.order.write(p);
        p.set("refund_no", self.refund_no.as_str())
            .set("transaction_amount", self.amount.as_str())
            .set("total_fee", self.total_fee.as_str())
            .set("paytype", self.pay_type.as_str())
            .set("payment_type", self.wallet.as_str());
        put(p, "buyertype", self.buyer_type.as_ref().map(BuyerType::as_str));
        put(p, "tid", self.tid.as_ref().map(Tid::as_str));
        put(p, "refund_desc", self.refund_desc.as_ref().map(Reason::as_str));
        put(p, "notify_url", self.notify_url.as_ref().map(HttpUrl::as_str));
    }
}

/// Builds a [`JsapiRefund`], judged by the gateway's rules. `paytype`
/// follows from the wallet when not set.
///
/// ```
/// use vmp_protocol::catalogue::{Service, Wallet};
/// use vmp_protocol::request::{JsapiRefund, TradeRef};
/// use vmp_protocol::Amount;
/// let r = JsapiRefund::builder(Service::WechatJsapiRefund, TradeRef::out_trade_no("T1").unwrap())
///     .refund_no("B2026010209")
///     .amount(Amount::from_minor(500).unwrap())
///     .total_fee(Amount::from_minor(1250).unwrap())
///     .wallet(Wallet::WechatHk)
///     .build()
///     .unwrap();
/// assert_eq!(r.amount.as_str(), "5.00");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct JsapiRefundBuilder {
    service: Service,
    order: TradeRef,
    fields: Params,
    error: Option<RequestError>,
}

impl JsapiRefundBuilder {
    fn set(mut self, name: &str, value: impl Into<String>) -> Self {
        self.fields.set(name, value);
        self
    }

    fn amount_field(mut self, name: &'static str, amount: Amount) -> Self {
        set_amount(&mut self.fields, &mut self.error, name, amount);
        self
    }

    /// `refund_no` (required).
    pub fn refund_no(self, no: impl Into<String>) -> Self {
        self.set("refund_no", no)
    }

    /// `transaction_amount`: this refund (required).
    pub fn amount(self, amount: Amount) -> Self {
        self.amount_field("transaction_amount", amount)
    }

    /// `total_fee` (required; echoed, never compared).
    pub fn total_fee(self, amount: Amount) -> Self {
        self.amount_field("total_fee", amount)
    }

    /// `payment_type` (required): the order's wallet, or one of its family.
    pub fn wallet(self, wallet: Wallet) -> Self {
        self.set("payment_type", wallet.as_str())
    }

    /// `paytype` (default: the wallet's family).
    pub fn pay_type(self, pay_type: PayType) -> Self {
        self.set("paytype", pay_type.as_str())
    }

    /// `buyertype`.
    pub fn buyer_type(self, buyer_type: BuyerType) -> Self {
        self.set("buyertype", buyer_type.into_string())
    }

    /// `tid`.
    pub fn tid(self, tid: impl Into<String>) -> Self {
        self.set("tid", tid)
    }

    /// `refund_desc`.
    pub fn refund_desc(self, desc: impl Into<String>) -> Self {
        self.set("refund_desc", desc)
    }

    /// `notify_url` for an apply-refund's completion.
    pub fn notify_url(self, url: impl Into<String>) -> Self {
        self.set("notify_url", url)
    }

    /// The refund, judged by the gateway's own rules.
    ///
    /// # Errors
    /// [`RequestError`] naming the field at fault.
    pub fn build(self) -> Result<JsapiRefund, RequestError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let spec = self.service.spec();
        if !spec.is_ready() {
            return Err(RequestError::NotSupported(self.service));
        }
        if spec.op != crate::catalogue::Operation::Refund
            || spec.behaves_as().spec().scene != crate::catalogue::Scene::Jsapi
        {
            return Err(RequestError::WrongRequest { service: self.service, request: "a request of its own scene" });
        }
        let mut p = self.fields;
        if !p.contains("paytype")
            && let Some(w) = p.get("payment_type").and_then(Wallet::parse)
        {
            p.set("paytype", w.family().as_str());
        }
        self.order.write(&mut p);
        JsapiRefund::parse(self.service, &p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Endpoint;
    use crate::request::Request;

    /// The Tornado mini-program shop's sale, as it sends it.
    fn tornado() -> Params {
        Params::from_json(
            br#"{"service":"service.wechat.jsapi.PreOrder","user_confirm_key":"S0001234","paytype":"WeChat",
            "sub_openid":"oAbC-miniprogram-openid","transaction_amount":"12.5","out_trade_no":"T2026010112000001",
            "time":"20260101120000","payment_type":"WECHATHK","scene_type":"APPLETS","fee_type":"HKD",
            "notify_url":"https://shop.example/eft/notify","sign":"0000"}"#,
        )
        .unwrap()
    }

    fn sale(p: &Params) -> Result<JsapiOrder, RequestError> {
        match Request::parse(Endpoint::JsapiService, p)? {
            Request::JsapiOrder(o) => Ok(o),
            other => panic!("not a jsapi sale: {other:?}"),
        }
    }

    #[test]
    fn the_tornado_sale_is_read_with_its_float_amount() {
        let o = sale(&tornado()).unwrap();
        assert_eq!(o.amount.as_str(), "12.5");
        assert_eq!(o.amount.value().minor(), 1250);
        assert_eq!(o.scene_type, SceneType::Applets);
        assert_eq!(o.buyer().map(|(f, id)| (f, id.as_str())), Some(("sub_openid", "oAbC-miniprogram-openid")));
        assert_eq!((o.subject, o.buyer_type, o.active_time), (None, None, ACTIVE_TIME_DEFAULT));
        let mut p = tornado();
        p.set("transaction_amount", "100.0");
        assert_eq!(sale(&p).unwrap().amount.value().minor(), 10_000);
    }

    #[test]
    fn every_field_has_its_refusal() {
        let long_detail = format!(r#"{{"a":"{}"}}"#, "x".repeat(6000));
        let (long_tag, long_tid) = ("g".repeat(33), "1".repeat(21));
        let cases: Vec<(&str, Option<&str>, ReturnStatus, &str)> = vec![
            ("paytype", None, ReturnStatus::InvalidParameter, "paytype"),
            ("paytype", Some("Alipay"), ReturnStatus::InvalidPayType, "paytype"),
            ("paytype", Some("Nope"), ReturnStatus::InvalidPayType, "paytype"),
            ("paytype", Some("We\u{7}Chat"), ReturnStatus::InvalidParameter, "paytype"),
            ("payment_type", None, ReturnStatus::InvalidParameter, "payment_type"),
            ("payment_type", Some("ALIPAYHK"), ReturnStatus::WalletRestricted, "payment_type"),
            ("scene_type", None, ReturnStatus::InvalidParameter, "scene_type"),
            ("scene_type", Some("APP"), ReturnStatus::InvalidParameter, "scene_type"),
            ("scene_type", Some("PUBLIC"), ReturnStatus::InvalidParameter, "openid"),
            ("sub_openid", None, ReturnStatus::InvalidParameter, "sub_openid"),
            ("sub_openid", Some("has space"), ReturnStatus::InvalidParameter, "sub_openid"),
            ("transaction_amount", Some("12.555"), ReturnStatus::InvalidParameter, "transaction_amount"),
            ("transaction_amount", Some("0.0"), ReturnStatus::AmountOutOfRange, "transaction_amount"),
            ("out_trade_no", None, ReturnStatus::InvalidParameter, "out_trade_no"),
            ("fee_type", Some("USD"), ReturnStatus::CurrencyNotSupported, "fee_type"),
            ("notify_url", Some("ftp://x/"), ReturnStatus::InvalidParameter, "notify_url"),
            ("return_url", Some("https://shop.example/r?x=1"), ReturnStatus::InvalidParameter, "return_url"),
            ("active_time", Some("30"), ReturnStatus::InvalidParameter, "active_time"),
            ("receipt", Some("N"), ReturnStatus::InvalidParameter, "receipt"),
            ("goods_tag", Some(&long_tag), ReturnStatus::InvalidParameter, "goods_tag"),
            ("subject", Some("a\u{0}b"), ReturnStatus::InvalidParameter, "subject"),
            ("tid", Some(&long_tid), ReturnStatus::InvalidParameter, "tid"),
            ("buyertype", Some("androids"), ReturnStatus::InvalidParameter, "buyertype"),
            ("detail", Some("not json"), ReturnStatus::InvalidParameter, "detail"),
            ("detail", Some("[1,2]"), ReturnStatus::InvalidParameter, "detail"),
            ("detail", Some(&long_detail), ReturnStatus::InvalidParameter, "detail"),
            ("scene_info", Some("{"), ReturnStatus::InvalidParameter, "scene_info"),
        ];
        for (field, value, status, named) in cases {
            let mut p = tornado();
            match value {
                Some(v) => p.set(field, v),
                None => {
                    p.remove(field);
                    &mut p
                }
            };
            let err = sale(&p).expect_err(field);
            assert_eq!((err.return_status(), err.field()), (status, named), "{field}={value:?}: {err}");
            assert!(err.to_string().contains(named), "{field}: {err}");
        }
    }

    #[test]
    fn each_scene_names_its_buyer_and_alipay_takes_mini_programs_only() {
        let mut p = tornado();
        p.set("scene_type", "PUBLIC").set("openid", "oPublic-openid");
        let o = sale(&p).unwrap();
        assert_eq!(o.buyer().map(|(f, _)| f), Some("openid"));
        p.remove("openid");
        p.remove("sub_openid");
        p.set("scene_type", "H5");
        assert_eq!(sale(&p).unwrap().buyer(), None);
        let mut p = tornado();
        p.set("service", "service.alipay.jsapi.PreOrder").set("paytype", "Alipay").set("payment_type", "ALIPAYCN");
        assert!(sale(&p).is_ok());
        p.set("scene_type", "H5");
        assert_eq!(sale(&p).unwrap_err().field(), "scene_type");
        p.set("scene_type", "APPLETS").set("service", "service.alipayplus.jsapi.PreOrder").set("father_user_key", "P1");
        assert_eq!(sale(&p).unwrap().service, Service::AlipayPlusJsapi, "the new interface reads the same fields");
    }

    #[test]
    fn detail_is_an_object_sent_as_one_or_as_its_text() {
        let mut p = Params::from_json(br#"{"detail":{"goods_detail":[{"goods_id":"G1","quantity":1}]}}"#).unwrap();
        for (k, v) in tornado().iter() {
            p.set(k, v.as_str());
        }
        let o = sale(&p).unwrap();
        assert_eq!(
            o.detail.as_ref().map(JsonObject::as_str),
            Some(r#"{"goods_detail":[{"goods_id":"G1","quantity":1}]}"#)
        );
        let mut as_text = tornado();
        as_text.set("detail", r#"{"cost_price":1250}"#);
        assert!(sale(&as_text).unwrap().detail.is_some());
        let number = Params::from_json(br#"{"detail":5}"#).unwrap();
        let mut n = tornado();
        n.append(number);
        assert_eq!(sale(&n).unwrap_err().field(), "detail");
    }

    #[test]
    fn builders_round_trip_through_the_parser() {
        let order = JsapiOrder::builder(Service::WechatJsapi)
            .wallet(Wallet::WechatCn)
            .scene_type(SceneType::Public)
            .openid("oPublic")
            .out_trade_no("J-1")
            .amount(Amount::from_minor(1).unwrap())
            .subject("s")
            .tid("T1")
            .receipt()
            .goods_tag("tag")
            .detail(r#"{"goods_detail":[{"goods_id":"G1"}]}"#)
            .active_time(900)
            .build()
            .unwrap();
        let refund = JsapiRefund::builder(Service::WechatJsapiApplyRefund, TradeRef::out_trade_no("J-1").unwrap())
            .refund_no("R-1")
            .amount(Amount::from_minor(1).unwrap())
            .total_fee(Amount::from_minor(1).unwrap())
            .wallet(Wallet::WechatCn)
            .refund_desc("damaged")
            .notify_url("https://shop.example/n")
            .build()
            .unwrap();
        for r in [Request::JsapiOrder(order), Request::JsapiRefund(refund)] {
            let back = Request::parse(r.endpoint(), &r.to_params()).unwrap_or_else(|e| panic!("{r:?}: {e}"));
            assert_eq!(back, r);
        }
        let err = JsapiOrder::builder(Service::AlipayWap).build().unwrap_err();
        assert!(matches!(err, RequestError::WrongRequest { .. }), "{err}");
    }

    #[test]
    fn refunds_read_either_paytype_spelling_and_need_what_clients_send() {
        let parse = |extra: &[(&str, &str)]| {
            let mut p = Params::from_json(
                br#"{"service":"service.wechat.jsapi.Refund","out_trade_no":"T1","refund_no":"B1",
                "transaction_amount":"5.0","total_fee":"12.5","payment_type":"WECHATHK"}"#,
            )
            .unwrap();
            for (k, v) in extra {
                p.set(k, *v);
            }
            Request::parse(Endpoint::JsapiService, &p)
        };
        let Ok(Request::JsapiRefund(r)) = parse(&[("paytype", "WeChat")]) else { panic!() };
        assert_eq!((r.amount.as_str(), r.total_fee.as_str()), ("5.0", "12.5"));
        assert!(parse(&[("payType", "WeChat")]).is_ok(), "RSM's batch refund spelling");
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, ReturnStatus);
        let cases: [Case<'_>; 9] = [
            (&[], "paytype", ReturnStatus::InvalidParameter),
            (&[("paytype", "WeChat"), ("payType", "Alipay")], "payType", ReturnStatus::InvalidParameter),
            (&[("paytype", "Nope")], "paytype", ReturnStatus::InvalidPayType),
            (&[("payType", "Nope")], "payType", ReturnStatus::InvalidPayType),
            (&[("paytype", "WeChat"), ("payment_type", "ALIPAYHK")], "payment_type", ReturnStatus::WalletRestricted),
            (&[("paytype", "WeChat"), ("total_fee", "x")], "total_fee", ReturnStatus::InvalidParameter),
            (
                &[("paytype", "WeChat"), ("transaction_amount", "0")],
                "transaction_amount",
                ReturnStatus::AmountOutOfRange,
            ),
            (&[("paytype", "WeChat"), ("refund_desc", "a\u{7}")], "refund_desc", ReturnStatus::InvalidParameter),
            (&[("paytype", "WeChat"), ("eftpay_trade_no", "12 a")], "eftpay_trade_no", ReturnStatus::InvalidParameter),
        ];
        for (extra, field, status) in cases {
            let err = parse(extra).expect_err(field);
            assert_eq!((err.field(), err.return_status()), (field, status), "{extra:?}: {err}");
        }
    }
}
