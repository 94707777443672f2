//! Place an Order: [`PlaceOrder`], the sale of the web and wap scenes (the
//! request eftPay's Place an Order page documents, `service.*.PreOrder` on
//! `JSAPIService.do`; docs/protocol.md "Place an Order").

use crate::amount::{Currency, WireAmount};
use crate::catalogue::{PayScene, PayType, Service, Wallet};
use crate::fields::{
    ACTIVE_TIME_DEFAULT, AppLink, AppScheme, Body, BuyerType, HttpUrl, Lang, OutTradeNo, PackageName, Subject, Tid,
    parse_active_time,
};
use crate::params::Params;

use super::{Fields, RequestError, clip, put};

/// A validated Place an Order request. Built by the gateway with
/// [`Request::parse`](super::Request::parse) and by the SDK with
/// [`PlaceOrder::builder`]; both go through the same rules.
///
/// Required on the wire (eftPay leaves its "Requirement" column
/// empty; this is what every real client sends): `service`,
/// `transaction_amount`, `out_trade_no`, `payType`, `buyerType`, `wallet`,
/// `subject` (plus the envelope). `lang` is accepted on every service and
/// kept only where the service's page has a language choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    /// The interface.
    pub service: Service,
    /// The merchant's order number, unique per merchant.
    pub out_trade_no: OutTradeNo,
    /// `transaction_amount`, echoed exactly as sent.
    pub amount: WireAmount,
    /// `payType`, one the service takes.
    pub pay_type: PayType,
    /// `buyerType` as sent (not checked against a list: eftPay's own
    /// example sends `andriod`).
    pub buyer_type: BuyerType,
    /// `subject`.
    pub subject: Subject,
    /// `wallet`, one the service takes.
    pub wallet: Wallet,
    /// `body`.
    pub body: Option<Body>,
    /// `pay_scene`, or the service's default when none was sent.
    pub pay_scene: PayScene,
    /// `fee_type`, HKD when none was sent.
    pub currency: Currency,
    /// `tid`.
    pub tid: Option<Tid>,
    /// `notify_url`.
    pub notify_url: Option<HttpUrl>,
    /// `return_url` (no query string: "cannot carry parameters").
    pub return_url: Option<HttpUrl>,
    /// `active_time` in seconds, 1800 when none was sent.
    pub active_time: u32,
    /// `lang`, where the service's page honours it; `None` elsewhere
    /// (whatever was sent).
    pub lang: Option<Lang>,
    /// `scheme`.
    pub scheme: Option<AppScheme>,
    /// `packageName`.
    pub package_name: Option<PackageName>,
    /// `app_link`.
    pub app_link: Option<AppLink>,
}

impl PlaceOrder {
    /// Every parameter eftPay documents for Place an Order (each
    /// must be a JSON string when sent).
    pub const DOCUMENTED: [&'static str; 21] = [
        "service",
        "user_confirm_key",
        "transaction_amount",
        "out_trade_no",
        "payType",
        "buyerType",
        "subject",
        "wallet",
        "body",
        "pay_scene",
        "fee_type",
        "tid",
        "notify_url",
        "return_url",
        "active_time",
        "lang",
        "scheme",
        "packageName",
        "app_link",
        "time",
        "sign",
    ];

    /// Starts a request for `service`: see [`PlaceOrderBuilder`].
    pub fn builder(service: Service) -> PlaceOrderBuilder {
        PlaceOrderBuilder { service, fields: Params::new(), error: None }
    }

    /// Reads a Place an Order request for `service` (a sale of the table).
    ///
    /// # Errors
    /// [`RequestError`] naming the parameter at fault.
    pub(crate) fn parse(service: Service, p: &Params) -> Result<Self, RequestError> {
        let spec = service.spec();
        let f = Fields(p);
        let amount = sale_amount(f)?;
        let out_trade_no = f.req_with("out_trade_no", OutTradeNo::parse)?;
        let name = service.label();
        let pay_type_text = f.req("payType")?;
        let pay_type = PayType::parse(pay_type_text).filter(|p| spec.accepts_pay_type(*p)).ok_or_else(|| {
            RequestError::PayType {
                given: clip(pay_type_text, 20),
                service: name,
                allowed: spec.pay_types.iter().map(|p| p.as_str()).collect::<Vec<_>>().join("/"),
            }
        })?;
        let buyer_type = f.req_with("buyerType", BuyerType::parse)?;
        let subject = f.req_with("subject", Subject::parse)?;
        let wallet_text = f.req("wallet")?;
        let wallet =
            Wallet::parse(wallet_text).filter(|w| spec.accepts_wallet(*w)).ok_or_else(|| RequestError::Wallet {
                given: clip(wallet_text, 20),
                service: name,
                allowed: spec.wallets.iter().map(|w| w.as_str()).collect::<Vec<_>>().join("/"),
            })?;
        let pay_scene = pay_scene(f, service)?;
        let currency = currency(f)?;
        let return_url = return_url(f)?;
        // `lang` is signed like every field but read only where the page
        // has a language choice; elsewhere any value is ignored.
        let lang = if spec.lang {
            f.opt_with("lang", |s| Lang::parse(s).ok_or(crate::fields::FieldProblem::Invalid("cn, en or hk")))?
        } else {
            None
        };
        Ok(Self {
            service,
            out_trade_no,
            amount,
            pay_type,
            buyer_type,
            subject,
            wallet,
            body: f.opt_with("body", Body::parse)?,
            pay_scene,
            currency,
            tid: f.opt_with("tid", Tid::parse)?,
            notify_url: f.opt_with("notify_url", HttpUrl::parse)?,
            return_url,
            active_time: f.opt_with("active_time", parse_active_time)?.unwrap_or(ACTIVE_TIME_DEFAULT),
            lang,
            scheme: f.opt_with("scheme", AppScheme::parse)?,
            package_name: f.opt_with("packageName", PackageName::parse)?,
            app_link: f.opt_with("app_link", AppLink::parse)?,
        })
    }

    pub(super) fn write(&self, p: &mut Params) {
        p.set("transaction_amount", self.amount.as_str())
            .set("out_trade_no", self.out_trade_no.as_str())
            .set("payType", self.pay_type.as_str())
            .set("buyerType", self.buyer_type.as_str())
            .set("subject", self.subject.as_str())
            .set("wallet", self.wallet.as_str());
        put(p, "body", self.body.as_ref().map(Body::as_str));
        p.set("pay_scene", self.pay_scene.as_str()).set("fee_type", self.currency.code());
        put(p, "tid", self.tid.as_ref().map(Tid::as_str));
        put(p, "notify_url", self.notify_url.as_ref().map(HttpUrl::as_str));
        put(p, "return_url", self.return_url.as_ref().map(HttpUrl::as_str));
        if self.active_time != ACTIVE_TIME_DEFAULT {
            p.set("active_time", self.active_time.to_string());
        }
        put(p, "lang", self.lang.map(Lang::code));
        put(p, "scheme", self.scheme.as_ref().map(AppScheme::as_str));
        put(p, "packageName", self.package_name.as_ref().map(PackageName::as_str));
        put(p, "app_link", self.app_link.as_ref().map(AppLink::as_str));
    }
}

/// `transaction_amount` of a sale.
pub(super) fn sale_amount(f: Fields<'_>) -> Result<WireAmount, RequestError> {
    WireAmount::parse(f.req("transaction_amount")?)
        .map_err(|error| RequestError::Amount { field: "transaction_amount", error })
}

/// `pay_scene`: one of the service's, its first when none was sent.
pub(super) fn pay_scene(f: Fields<'_>, service: Service) -> Result<PayScene, RequestError> {
    let spec = service.spec();
    match f.opt("pay_scene")? {
        None => spec.default_pay_scene().ok_or(RequestError::Missing("pay_scene")),
        Some(text) => {
            PayScene::parse(text).filter(|s| spec.accepts_pay_scene(*s)).ok_or_else(|| RequestError::PayScene {
                given: clip(text, 20),
                service: service.label(),
                allowed: spec.pay_scenes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("/"),
            })
        }
    }
}

/// `fee_type`: HKD or CNY, HKD when none was sent.
pub(super) fn currency(f: Fields<'_>) -> Result<Currency, RequestError> {
    match f.opt("fee_type")? {
        None => Ok(Currency::Hkd),
        Some(c) => c.parse().map_err(|_| RequestError::Currency(c.chars().take(5).collect())),
    }
}

/// `return_url`, which "cannot carry parameters" (no query, no fragment).
pub(super) fn return_url(f: Fields<'_>) -> Result<Option<HttpUrl>, RequestError> {
    let return_url = f.opt_with("return_url", HttpUrl::parse)?;
    if let Some(u) = &return_url
        && (u.url().query().is_some() || u.url().fragment().is_some())
    {
        return Err(RequestError::ReturnUrlWithParameters);
    }
    Ok(return_url)
}

/// Builds a [`PlaceOrder`] with named setters; [`PlaceOrderBuilder::build`]
/// judges it exactly as the gateway will.
///
/// Defaults: `payType` is the service's; `wallet` is the service's only
/// one when it has one; `buyerType` is `others`; `fee_type` is HKD;
/// `pay_scene` is the service's first. Amounts are minor units, never
/// floats.
///
/// ```
/// use vmp_protocol::catalogue::{Service, Wallet};
/// use vmp_protocol::fields::Lang;
/// use vmp_protocol::request::PlaceOrder;
/// use vmp_protocol::Amount;
///
/// let order = PlaceOrder::builder(Service::MpgsWeb)
///     .out_trade_no("ORDER-7")
///     .amount(Amount::from_minor(8800).unwrap())
///     .subject("Concert ticket")
///     .lang(Lang::En)
///     .return_url("https://shop.example/paid")
///     .build()
///     .unwrap();
/// assert_eq!(order.wallet, Wallet::Mpgs); // the service's only wallet
/// assert_eq!(order.amount.as_str(), "88.00");
///
/// let err = PlaceOrder::builder(Service::AlipayWap).out_trade_no("X").subject("s")
///     .amount(Amount::from_minor(1).unwrap()).wallet(Wallet::WechatHk).build().unwrap_err();
/// assert!(err.to_string().contains("wallet"), "{err}");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct PlaceOrderBuilder {
    service: Service,
    fields: Params,
    error: Option<RequestError>,
}

impl PlaceOrderBuilder {
    sale_setters!();

    /// The service, the fields set and the first error, for another
    /// request type's build (the app scene's).
    pub(super) fn into_parts(self) -> (Service, Params, Option<RequestError>) {
        (self.service, self.fields, self.error)
    }

    /// `wallet` (required unless the service has one wallet only).
    pub fn wallet(self, wallet: Wallet) -> Self {
        self.set("wallet", wallet.as_str())
    }

    /// `payType`, when the service takes more than one spelling.
    pub fn pay_type(self, pay_type: PayType) -> Self {
        self.set("payType", pay_type.as_str())
    }

    /// `buyerType` (`BuyerType::ios()`, `android()`, `others()`).
    pub fn buyer_type(self, buyer_type: BuyerType) -> Self {
        self.set("buyerType", buyer_type.into_string())
    }

    /// `pay_scene`.
    pub fn pay_scene(self, scene: PayScene) -> Self {
        self.set("pay_scene", scene.as_str())
    }

    /// `body`.
    pub fn body(self, body: impl Into<String>) -> Self {
        self.set("body", body)
    }

    /// `return_url`.
    pub fn return_url(self, url: impl Into<String>) -> Self {
        self.set("return_url", url)
    }

    /// `lang` (kept where the service's page has a language choice).
    pub fn lang(self, lang: Lang) -> Self {
        self.set("lang", lang.code())
    }

    /// `scheme`.
    pub fn scheme(self, scheme: impl Into<String>) -> Self {
        self.set("scheme", scheme)
    }

    /// `packageName`.
    pub fn package_name(self, name: impl Into<String>) -> Self {
        self.set("packageName", name)
    }

    /// `app_link`.
    pub fn app_link(self, link: impl Into<String>) -> Self {
        self.set("app_link", link)
    }

    /// The request, judged by the gateway's own rules.
    ///
    /// # Errors
    /// [`RequestError`] naming the field at fault (a missing required one
    /// included).
    pub fn build(self) -> Result<PlaceOrder, RequestError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let spec = self.service.spec();
        let mut p = self.fields;
        let mut default = |name: &str, value: Option<&str>| {
            if let (false, Some(v)) = (p.contains(name), value) {
                p.set(name, v);
            }
        };
        default("payType", spec.pay_type().map(PayType::as_str));
        default("wallet", (spec.wallets.len() == 1).then(|| spec.wallets[0].as_str()));
        default("buyerType", Some("others"));
        if !spec.is_ready() {
            return Err(RequestError::NotSupported(self.service));
        }
        if spec.op != crate::catalogue::Operation::Sale {
            return Err(RequestError::UnknownService(self.service.label().to_owned()));
        }
        // The other scenes' sales have requests of their own.
        match spec.behaves_as().spec().scene {
            crate::catalogue::Scene::Qrcode => {
                return Err(RequestError::WrongRequest { service: self.service, request: "QrcodeOrder" });
            }
            crate::catalogue::Scene::Cashier => {
                return Err(RequestError::WrongRequest { service: self.service, request: "CashierOrder" });
            }
            crate::catalogue::Scene::Jsapi => {
                return Err(RequestError::WrongRequest { service: self.service, request: "JsapiOrder" });
            }
            crate::catalogue::Scene::App => {
                return Err(RequestError::WrongRequest { service: self.service, request: "AppOrder (build_app)" });
            }
            _ => {}
        }
        PlaceOrder::parse(self.service, &p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Amount;
    use crate::catalogue::Endpoint;
    use crate::codes::ReturnStatus;
    use crate::request::Request;

    fn seed() -> Params {
        // eftPay's example request (docs/protocol.md).
        Params::from_json(
            r#"{"pay_scene":"WAP","user_confirm_key":"12345678","wallet":"ALIPAYHK","subject":"中文测试 test",
            "transaction_amount":"0.02","sign":"af8f9f9d60019ce649af1ddfefd2aae98fa71656278a6edf439948cab7dc69d9",
            "body":"中文测试 test","tid":"","payType":"Alipay","out_trade_no":"20190824010716",
            "service":"service.alipay.wap.PreOrder","buyerType":"andriod",
            "return_url":"https://vmp.eftpay.com.cn/VMP/notify/testing","time":"20190824010716"}"#
                .as_bytes(),
        )
        .unwrap()
    }

    fn parse(p: &Params) -> Result<PlaceOrder, RequestError> {
        match Request::parse(Endpoint::JsapiService, p)? {
            Request::PlaceOrder(o) => Ok(o),
            other => panic!("not a sale: {other:?}"),
        }
    }

    #[test]
    fn the_seed_example_is_valid() {
        let r = parse(&seed()).unwrap();
        assert_eq!(r.service, Service::AlipayWap);
        assert_eq!(r.amount.value().minor(), 2);
        assert_eq!(r.amount.as_str(), "0.02");
        assert_eq!(r.buyer_type.as_str(), "andriod");
        assert_eq!(r.tid, None);
        assert_eq!(r.currency, Currency::Hkd);
        assert_eq!(r.active_time, 1800);
        assert_eq!(r.pay_scene, PayScene::Wap);
    }

    #[test]
    fn every_rule_has_its_own_answer() {
        let (long_no, long_subject, long_body, long_tid) =
            ("9".repeat(29), "x".repeat(257), "x".repeat(129), "1".repeat(21));
        let cases: Vec<(&str, &str, Option<&str>, ReturnStatus, &str)> = vec![
            ("missing subject", "subject", None, ReturnStatus::InvalidParameter, "subject"),
            ("empty out_trade_no", "out_trade_no", Some(""), ReturnStatus::InvalidParameter, "out_trade_no"),
            ("long out_trade_no", "out_trade_no", Some(&long_no), ReturnStatus::InvalidParameter, "out_trade_no"),
            ("long subject", "subject", Some(&long_subject), ReturnStatus::InvalidParameter, "subject"),
            ("long body", "body", Some(&long_body), ReturnStatus::InvalidParameter, "body"),
            ("long tid", "tid", Some(&long_tid), ReturnStatus::InvalidParameter, "tid"),
            ("long buyerType", "buyerType", Some("androidx"), ReturnStatus::InvalidParameter, "buyerType"),
            (
                "three decimals",
                "transaction_amount",
                Some("1.234"),
                ReturnStatus::InvalidParameter,
                "transaction_amount",
            ),
            ("negative", "transaction_amount", Some("-1"), ReturnStatus::InvalidParameter, "transaction_amount"),
            ("zero", "transaction_amount", Some("0"), ReturnStatus::AmountOutOfRange, "transaction_amount"),
            ("exponent", "transaction_amount", Some("1e2"), ReturnStatus::InvalidParameter, "transaction_amount"),
            ("leading space", "transaction_amount", Some(" 1"), ReturnStatus::InvalidParameter, "transaction_amount"),
            ("wrong payType", "payType", Some("WeChat"), ReturnStatus::InvalidPayType, "payType"),
            ("wrong wallet", "wallet", Some("WECHATHK"), ReturnStatus::WalletRestricted, "wallet"),
            ("unknown wallet", "wallet", Some("ALIPAY"), ReturnStatus::WalletRestricted, "wallet"),
            ("wrong pay_scene", "pay_scene", Some("WEB"), ReturnStatus::PaySceneNotSupported, "pay_scene"),
            ("bad currency", "fee_type", Some("USD"), ReturnStatus::CurrencyNotSupported, "fee_type"),
            ("bad notify_url", "notify_url", Some("ftp://x/"), ReturnStatus::InvalidParameter, "notify_url"),
            (
                "return_url with query",
                "return_url",
                Some("https://m.example/r?a=1"),
                ReturnStatus::InvalidParameter,
                "return_url",
            ),
            ("bad active_time", "active_time", Some("ten"), ReturnStatus::InvalidParameter, "active_time"),
            ("control char", "subject", Some("a\u{7}b"), ReturnStatus::InvalidParameter, "subject"),
            ("unknown service", "service", Some("service.alipay.wap.Nope"), ReturnStatus::InvalidParameter, "service"),
        ];
        for (what, key, value, status, named) in cases {
            let mut p = seed();
            match value {
                Some(v) => {
                    p.set(key, v);
                }
                None => {
                    p.remove(key);
                }
            }
            let err = parse(&p).expect_err(what);
            assert_eq!(err.return_status(), status, "{what}: {err}");
            assert_eq!(err.field(), named, "{what}: {err}");
            assert!(err.to_string().contains(named), "{what}: {err} should name {named}");
            assert!(err.return_char().chars().count() <= 100, "{what}");
        }
    }

    #[test]
    fn lang_is_accepted_everywhere_and_kept_where_the_page_has_a_choice() {
        let mut p = seed();
        p.set("lang", "en");
        assert_eq!(parse(&p).map(|o| o.lang), Ok(None), "Alipay wap: accepted, ignored");
        p.set("lang", "fr");
        assert_eq!(parse(&p).map(|o| o.lang), Ok(None), "an ignored value is not judged");
        p.set("service", "service.mpgs.web.PreOrder")
            .set("payType", "Mpgs")
            .set("wallet", "MPGS")
            .set("pay_scene", "WEB");
        assert_eq!(parse(&p).unwrap_err().field(), "lang", "MPGS honours lang, so fr is refused");
        p.set("lang", "hk");
        assert_eq!(parse(&p).unwrap().lang, Some(Lang::Hk));
    }

    #[test]
    fn non_string_values_are_refused_for_documented_fields() {
        let mut p = Params::from_json(br#"{"transaction_amount":0.02}"#).unwrap();
        for (k, v) in seed().iter() {
            if k != "transaction_amount" {
                p.set(k, v.as_str());
            }
        }
        assert_eq!(parse(&p).unwrap_err(), RequestError::NotAString("transaction_amount"));
    }

    #[test]
    fn pay_scene_defaults_per_service() {
        let mut p = seed();
        p.remove("pay_scene");
        p.set("service", "service.bocvmp.upi.wap.PreOrder").set("payType", "BOCVMP").set("wallet", "BOCVMPUPI");
        assert_eq!(parse(&p).unwrap().pay_scene, PayScene::H5);
    }

    #[test]
    fn the_web_scene_sale_services_take_their_wallets_and_scenes() {
        let cases = [
            ("service.alipay.web.PreOrder", "Alipay", "ALIPAYCN", "WEB"),
            ("service.wechat.web.PreOrder", "WeChat", "WECHATHK", "WAP"),
            ("service.unionpay.web.PreOrder", "UnionPay", "UNIONPAY", "WEB"),
            ("service.jetco.wap.PreOrder", "Jetco", "JETCOHK", "WAP"),
            ("service.bocpayupi.wap.PreOrder", "BOCVMP", "BOCPAYUPI", "APP"),
            ("service.bocpayupi.wap.PreOrder", "BOCPay", "BOCPAYUPI", "H5"),
        ];
        for (service, pay_type, wallet, scene) in cases {
            let mut p = seed();
            p.set("service", service).set("payType", pay_type).set("wallet", wallet).set("pay_scene", scene);
            let o = parse(&p).unwrap_or_else(|e| panic!("{service}: {e}"));
            assert_eq!(o.service.label(), service);
        }
    }

    #[test]
    fn every_ready_sale_round_trips_through_the_builder() {
        for s in Service::web_sales() {
            let spec = s.spec();
            for w in spec.wallets {
                for scene in spec.pay_scenes {
                    let o = PlaceOrder::builder(s)
                        .wallet(*w)
                        .pay_scene(*scene)
                        .out_trade_no("A-1")
                        .amount(Amount::from_minor(1234).unwrap())
                        .subject("s")
                        .build()
                        .unwrap_or_else(|e| panic!("{s} {w} {scene}: {e}"));
                    let back = parse(&Request::PlaceOrder(o.clone()).to_params()).unwrap();
                    assert_eq!(back, o, "{s}");
                }
            }
        }
    }

    #[test]
    fn large_amounts_are_sent_in_a_form_that_fits_eight_characters() {
        let with = |minor| {
            PlaceOrder::builder(Service::OctOnline)
                .out_trade_no("BIG1")
                .subject("s")
                .amount(Amount::from_minor(minor).unwrap())
                .build()
                .map(|o| o.amount.into_string())
        };
        assert_eq!(with(9_999_999).as_deref(), Ok("99999.99"));
        assert_eq!(with(15_000_000).as_deref(), Ok("150000"));
        assert_eq!(with(12_345_650).as_deref(), Ok("123456.5"));
        let err = with(123_456_789).unwrap_err();
        assert_eq!(err.field(), "transaction_amount");
    }

    #[test]
    fn the_builder_names_what_is_missing() {
        let err = PlaceOrder::builder(Service::AlipayWap).wallet(Wallet::AlipayHk).subject("s").build().unwrap_err();
        assert_eq!(err, RequestError::Missing("transaction_amount"));
        let err = PlaceOrder::builder(Service::AlipayWap)
            .amount(Amount::from_minor(5).unwrap())
            .out_trade_no("A")
            .subject("s")
            .build()
            .unwrap_err();
        assert_eq!(err, RequestError::Missing("wallet"), "Alipay has two wallets: no default");
        let err = PlaceOrder::builder(Service::MpgsApplePay).build().unwrap_err();
        assert_eq!(err, RequestError::NotSupported(Service::MpgsApplePay));
        for (other_scene, request) in [
            (Service::WechatJsapi, "JsapiOrder"),
            (Service::WechatQrcode, "QrcodeOrder"),
            (Service::UnitedWap, "CashierOrder"),
        ] {
            let err = PlaceOrder::builder(other_scene).build().unwrap_err();
            assert_eq!(err, RequestError::WrongRequest { service: other_scene, request }, "{other_scene}");
        }
        let err = PlaceOrder::builder(Service::AlipayWapRefund).build().unwrap_err();
        assert_eq!(err, RequestError::UnknownService(Service::AlipayWapRefund.label().to_owned()));
    }
}
