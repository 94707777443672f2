//! The API's vocabulary, written once: wallets, payment types, pay scenes,
//! endpoints, and one row per interface ([`Service`]) of every scene.
//!
//! The gateway dispatches on this table, the SDK builds requests from it,
//! and `docs/protocol.md` explains each choice it encodes. Adding a
//! service is one row of `services!` below; a row marked
//! [`Support::Planned`] is known (its requests answer `-13` "not supported
//! yet") until the issue named there implements it.
//!
//! ```
//! use vmp_protocol::catalogue::{Operation, PayScene, PayType, Service, Wallet};
//! let s = Service::from_name("service.alipay.wap.PreOrder").unwrap();
//! assert_eq!(s, Service::AlipayWap);
//! let spec = s.spec();
//! assert_eq!(spec.op, Operation::Sale);
//! assert_eq!(spec.pay_types, [PayType::Alipay]);
//! assert!(spec.accepts_wallet(Wallet::AlipayHk));
//! assert_eq!(spec.default_pay_scene(), Some(PayScene::Wap));
//! assert!(spec.refunds.contains(&Service::AlipayWapRefund));
//! ```

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::wire_enum;

wire_enum! {
    /// `payType` (camelCase scenes) / `paytype` (qrcode, jsapi): the
    /// payment product.
    pub enum PayType ("payType") {
        /// `Alipay`.
        Alipay = "Alipay",
        /// `WeChat`.
        WeChat = "WeChat",
        /// `UnionPay`.
        UnionPay = "UnionPay",
        /// `ICBC`.
        Icbc = "ICBC",
        /// `OCT`, Octopus.
        Oct = "OCT",
        /// `Mpgs`, Visa/Mastercard through MPGS.
        Mpgs = "Mpgs",
        /// `AE`, American Express.
        Ae = "AE",
        /// `PAYME`.
        Payme = "PAYME",
        /// `BOCVMP`, BOCPay on the VMP host.
        Bocvmp = "BOCVMP",
        /// `BOCPay`, BOCPay as RSM's batch refunds name it.
        BocPay = "BOCPay",
        /// `Jetco`.
        Jetco = "Jetco",
        /// `ATOME`.
        Atome = "ATOME",
        /// `FPS`, Hong Kong's Faster Payment System.
        Fps = "FPS",
        /// `GBPAY`.
        Gbpay = "GBPAY",
        /// `ECNY`, e-CNY.
        Ecny = "ECNY",
    }
}

wire_enum! {
    /// `wallet` (camelCase scenes) / `payment_type` (qrcode, jsapi).
    pub enum Wallet ("wallet") {
        /// `ALIPAYCN`, Alipay mainland.
        AlipayCn = "ALIPAYCN",
        /// `ALIPAYHK`, AlipayHK.
        AlipayHk = "ALIPAYHK",
        /// `ALIPAYBOTH`: one QR code both Alipay apps scan (qrcode only).
        AlipayBoth = "ALIPAYBOTH",
        /// `WECHATCN`, WeChat Pay mainland.
        WechatCn = "WECHATCN",
        /// `WECHATHK`, WeChat Pay HK.
        WechatHk = "WECHATHK",
        /// `ICBCWAP`, ICBC.
        IcbcWap = "ICBCWAP",
        /// `UNIONPAY`.
        UnionPay = "UNIONPAY",
        /// `OCT`, Octopus.
        Oct = "OCT",
        /// `MPGS`, Visa/Mastercard.
        Mpgs = "MPGS",
        /// `AE`, American Express.
        Ae = "AE",
        /// `PAYME`.
        Payme = "PAYME",
        /// `BOCVMPUPI`, BOCPay (Place an Order's name).
        BocVmpUpi = "BOCVMPUPI",
        /// `BOCPAYUPI`, BOCPay (`service.bocpayupi.wap.*`).
        BocPayUpi = "BOCPAYUPI",
        /// `BOCVMPUPW`, BOCPay as RSM's refunds name it.
        BocVmpUpw = "BOCVMPUPW",
        /// `JETCOHK`, JETCO.
        JetcoHk = "JETCOHK",
        /// `ATOME`.
        Atome = "ATOME",
        /// `FPS`.
        Fps = "FPS",
        /// `GBPAY`.
        Gbpay = "GBPAY",
        /// `ECNY`, e-CNY.
        Ecny = "ECNY",
    }
}

impl Wallet {
    /// The wallet's family: the `payType` of its orders. Refunds accept any
    /// wallet of the order's family (eftPay's batch refunds send `ALIPAYHK`
    /// for every Alipay order); the three BOCPay spellings are one family.
    ///
    /// ```
    /// use vmp_protocol::catalogue::{PayType, Wallet};
    /// assert_eq!(Wallet::AlipayCn.family(), PayType::Alipay);
    /// assert_eq!(Wallet::BocPayUpi.family(), Wallet::BocVmpUpi.family());
    /// ```
    pub const fn family(self) -> PayType {
        match self {
            Wallet::AlipayCn | Wallet::AlipayHk | Wallet::AlipayBoth => PayType::Alipay,
            Wallet::WechatCn | Wallet::WechatHk => PayType::WeChat,
            Wallet::IcbcWap => PayType::Icbc,
            Wallet::UnionPay => PayType::UnionPay,
            Wallet::Oct => PayType::Oct,
            Wallet::Mpgs => PayType::Mpgs,
            Wallet::Ae => PayType::Ae,
            Wallet::Payme => PayType::Payme,
            Wallet::BocVmpUpi | Wallet::BocPayUpi | Wallet::BocVmpUpw => PayType::Bocvmp,
            Wallet::JetcoHk => PayType::Jetco,
            Wallet::Atome => PayType::Atome,
            Wallet::Fps => PayType::Fps,
            Wallet::Gbpay => PayType::Gbpay,
            Wallet::Ecny => PayType::Ecny,
        }
    }

    /// Whether `other` is of the same family (see [`Wallet::family`]).
    pub fn same_family(self, other: Wallet) -> bool {
        self.family() == other.family()
    }
}

impl PayType {
    /// The family a `payType` spelling stands for (`BOCPay` is `BOCVMP`).
    pub const fn family(self) -> PayType {
        match self {
            PayType::BocPay => PayType::Bocvmp,
            other => other,
        }
    }
}

wire_enum! {
    /// `pay_scene`: where the buyer pays (camelCase scenes).
    pub enum PayScene ("pay_scene") {
        /// `WEB`, eftPay's default: a desktop page (QR code to scan).
        Web = "WEB",
        /// `WAP`: a mobile browser.
        Wap = "WAP",
        /// `WXWEB`: inside WeChat's browser.
        WxWeb = "WXWEB",
        /// `ONLINE_WEB`: UnionPay's online cashier.
        OnlineWeb = "ONLINE_WEB",
        /// `APP`: a link into the wallet's app.
        App = "APP",
        /// `H5`: BOCPay launched from a mobile browser.
        H5 = "H5",
        /// `TOKEN_APPLE_PAY`: Apple Pay tokenization.
        TokenApplePay = "TOKEN_APPLE_PAY",
    }
}

wire_enum! {
    /// The servlet a request is POSTed to, under `{domain}/VMP/Servlet/`.
    pub enum Endpoint ("endpoint") {
        /// `JSAPIService.do`: most interfaces; dispatched on `service`.
        JsapiService = "JSAPIService.do",
        /// `QRcodeTradeQuery.do`: the trade query of web, wap, cashier, app, jsapi.
        TradeQuery = "QRcodeTradeQuery.do",
        /// `QRcodeTradeCancel.do`: reversal of a paid QR-code order.
        TradeCancel = "QRcodeTradeCancel.do",
        /// `AppTradePay.do`: the app scene's sale.
        AppTradePay = "AppTradePay.do",
        /// `AppTradeRefund.do`: the app scene's refund.
        AppTradeRefund = "AppTradeRefund.do",
        /// `AppTradeApplyRefund.do`: the app scene's apply-refund.
        AppTradeApplyRefund = "AppTradeApplyRefund.do",
        /// `CommonAppTradePay.do`: the "new interface" app sale.
        CommonAppTradePay = "CommonAppTradePay.do",
        /// `CommonAppTradeRefund.do`: the "new interface" app refund.
        CommonAppTradeRefund = "CommonAppTradeRefund.do",
        /// `CommonTradeQuery.do`: the "new interface" query.
        CommonTradeQuery = "CommonTradeQuery.do",
    }
}

impl Endpoint {
    /// The path on a gateway, e.g. `/VMP/Servlet/JSAPIService.do`.
    pub fn path(self) -> String {
        format!("{SERVLET_PREFIX}{}", self.as_str())
    }
}

/// Where every endpoint lives on a gateway.
pub const SERVLET_PREFIX: &str = "/VMP/Servlet/";

wire_enum! {
    /// How a merchant's integration reaches the buyer (eftPay's "scenes").
    pub enum Scene ("scene") {
        /// Desktop web: a QR code page, or a card form.
        Web = "web",
        /// Mobile browser.
        Wap = "wap",
        /// eftPay's hosted cashier: the buyer picks the wallet.
        Cashier = "cashier",
        /// Merchant-presented QR code (point of sale).
        Qrcode = "qrcode",
        /// Inside the wallet: WeChat official account / mini-program, Alipay JSAPI.
        Jsapi = "jsapi",
        /// The wallet's mobile SDK in the merchant's app.
        App = "app",
        /// Apple Pay tokenization.
        Tokenization = "tokenization",
    }
}

wire_enum! {
    /// What an interface does.
    pub enum Operation ("operation") {
        /// Place an order (a "PreOrder").
        Sale = "sale",
        /// Refund a paid order.
        Refund = "refund",
        /// Query an order or one of its refunds.
        Query = "query",
        /// Where a refund is (`service.unified.RefundStatusQuery`).
        RefundStatusQuery = "refund-status",
        /// Close an unpaid order.
        Close = "close",
        /// Reverse a paid QR-code order (`QRcodeTradeCancel.do`).
        Cancel = "cancel",
    }
}

/// Which spelling of the common fields a scene uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// web, wap, cashier, app, tokenization: `payType`, `buyerType`,
    /// `wallet`, `out_refund_no`, `return_amount`, `eft_trade_no`.
    Camel,
    /// qrcode, jsapi: `paytype`, `buyertype`, `payment_type`, `refund_no`,
    /// `transaction_amount` (refund amount), `eftpay_trade_no`.
    Lower,
}

/// Whether the gateway notifies the merchant of a sale's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Notify {
    /// Notified, retried until acknowledged (or the schedule runs out).
    Retried,
    /// Notified with one attempt only (eftPay: online UnionPay, NUVEI).
    Once,
    /// Never notified: the merchant polls the query (eftPay: OCT, JETCO,
    /// PayMe and FPS QR codes).
    Never,
}

/// How far the gateway implements an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Support {
    /// Served.
    Ready,
    /// Known, answered `-13` "not supported yet"; the text names the issue
    /// that brings it.
    Planned(&'static str),
}

/// How sure the table is of a row (`docs/protocol.md` "Evidence").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Evidence {
    /// eftPay's published documents.
    Doc,
    /// Public client code that talks to the live gateway.
    Code,
    /// Recorded live gateway answers.
    Data,
    /// Chosen by analogy; no eftPay material shows it.
    Guess,
}

/// One interface: everything the table knows of it.
#[derive(Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The row's id.
    pub id: Service,
    /// The `service` value; `None` for interfaces chosen by their endpoint
    /// alone (`QRcodeTradeQuery.do`, `AppTradePay.do`, …).
    pub name: Option<&'static str>,
    /// Where it is POSTed.
    pub endpoint: Endpoint,
    /// Its scene.
    pub scene: Scene,
    /// What it does.
    pub op: Operation,
    /// Which field spelling it takes.
    pub family: Family,
    /// Accepted `payType`s (the first is the one sent); empty: none is
    /// sent (the cashier) or any (generic services).
    pub pay_types: &'static [PayType],
    /// Sale: accepted wallets. Refund, close: wallets whose orders it
    /// takes. Empty: any.
    pub wallets: &'static [Wallet],
    /// Sale: accepted `pay_scene`s, the first is the default.
    pub pay_scenes: &'static [PayScene],
    /// Sale: whether the hosted page honours `lang` (`lang` is accepted on
    /// every interface and ignored where this is `false`).
    pub lang: bool,
    /// Sale: the refund services of its orders.
    pub refunds: &'static [Service],
    /// Sale: the close services of its orders.
    pub closes: &'static [Service],
    /// Refund: an "apply" refund (answered `APPLY_SUCCESS`, completed later).
    pub apply: bool,
    /// Sale: whether its outcome is notified.
    pub notify: Notify,
    /// A "new interface" name served as this other interface.
    pub alias_of: Option<Service>,
    /// Served, or planned.
    pub support: Support,
    /// How sure the row is.
    pub evidence: Evidence,
    /// What it is, in a few words.
    pub description: &'static str,
}

impl ServiceSpec {
    const fn new(
        op: Operation,
        scene: Scene,
        endpoint: Endpoint,
        name: Option<&'static str>,
        description: &'static str,
    ) -> Self {
        let family = match scene {
            Scene::Qrcode | Scene::Jsapi => Family::Lower,
            _ => Family::Camel,
        };
        Self {
            id: Service::CommonQuery,
            name,
            endpoint,
            scene,
            op,
            family,
            pay_types: &[],
            wallets: &[],
            pay_scenes: &[],
            lang: false,
            refunds: &[],
            closes: &[],
            apply: false,
            notify: Notify::Retried,
            alias_of: None,
            support: Support::Ready,
            evidence: Evidence::Doc,
            description,
        }
    }

    const fn with_id(mut self, id: Service) -> Self {
        self.id = id;
        self
    }

    const fn pay(mut self, pay_types: &'static [PayType], wallets: &'static [Wallet]) -> Self {
        self.pay_types = pay_types;
        self.wallets = wallets;
        self
    }

    const fn scenes(mut self, pay_scenes: &'static [PayScene]) -> Self {
        self.pay_scenes = pay_scenes;
        self
    }

    const fn with_lang(mut self) -> Self {
        self.lang = true;
        self
    }

    const fn after(mut self, refunds: &'static [Service], closes: &'static [Service]) -> Self {
        self.refunds = refunds;
        self.closes = closes;
        self
    }

    const fn applied(mut self) -> Self {
        self.apply = true;
        self
    }

    const fn notified(mut self, notify: Notify) -> Self {
        self.notify = notify;
        self
    }

    const fn alias(mut self, of: Service) -> Self {
        self.alias_of = Some(of);
        self
    }

    const fn planned(mut self, issue: &'static str) -> Self {
        self.support = Support::Planned(issue);
        self
    }

    const fn seen(mut self, evidence: Evidence) -> Self {
        self.evidence = evidence;
        self
    }

    /// The `pay_scene` used when a sale sends none.
    pub fn default_pay_scene(&self) -> Option<PayScene> {
        self.pay_scenes.first().copied()
    }

    /// The `payType` a sale sends (the first accepted spelling).
    pub fn pay_type(&self) -> Option<PayType> {
        self.pay_types.first().copied()
    }

    /// Whether `wallet` is accepted (an empty list accepts any).
    pub fn accepts_wallet(&self, wallet: Wallet) -> bool {
        self.wallets.is_empty() || self.wallets.contains(&wallet)
    }

    /// Whether `scene` is accepted by this sale.
    pub fn accepts_pay_scene(&self, scene: PayScene) -> bool {
        self.pay_scenes.contains(&scene)
    }

    /// Whether `pay_type` is accepted (an empty list accepts any).
    pub fn accepts_pay_type(&self, pay_type: PayType) -> bool {
        self.pay_types.is_empty() || self.pay_types.contains(&pay_type)
    }

    /// Whether the gateway serves it.
    pub fn is_ready(&self) -> bool {
        self.support == Support::Ready
    }

    /// The interface whose behaviour this one has (itself unless an alias).
    pub fn behaves_as(&self) -> Service {
        self.alias_of.unwrap_or(self.id)
    }

    /// The `service` value, or the endpoint for endpoint-only interfaces.
    pub fn label(&self) -> &'static str {
        match self.name {
            Some(n) => n,
            None => self.endpoint.as_str(),
        }
    }
}

const fn sale(scene: Scene, name: &'static str, description: &'static str) -> ServiceSpec {
    ServiceSpec::new(Operation::Sale, scene, Endpoint::JsapiService, Some(name), description)
}

const fn refund(scene: Scene, name: &'static str, wallets: &'static [Wallet]) -> ServiceSpec {
    ServiceSpec::new(Operation::Refund, scene, Endpoint::JsapiService, Some(name), "refund").pay(&[], wallets)
}

const fn close(scene: Scene, name: &'static str, wallets: &'static [Wallet]) -> ServiceSpec {
    ServiceSpec::new(Operation::Close, scene, Endpoint::JsapiService, Some(name), "close an unpaid order")
        .pay(&[], wallets)
}

const fn query(scene: Scene, name: &'static str, wallets: &'static [Wallet]) -> ServiceSpec {
    ServiceSpec::new(Operation::Query, scene, Endpoint::JsapiService, Some(name), "query").pay(&[], wallets)
}

const fn at(op: Operation, scene: Scene, endpoint: Endpoint, description: &'static str) -> ServiceSpec {
    ServiceSpec::new(op, scene, endpoint, None, description)
}

/// Defines [`Service`] and its table from one list of rows.
macro_rules! services {
    ( $( $(#[$doc:meta])* $id:ident = $spec:expr; )+ ) => {
        /// Every interface of the API, one per row of the table (see the
        /// module documentation). [`Service::spec`] says everything about it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Service {
            $( $(#[$doc])* $id, )+
        }

        static SPECS: &[ServiceSpec] = &[ $( $spec.with_id(Service::$id), )+ ];

        impl Service {
            /// Every interface, in table order.
            pub const ALL: &'static [Service] = &[ $( Service::$id ),+ ];
        }
    };
}

use Scene::{App as AppScene, Cashier, Jsapi, Qrcode, Tokenization, Wap as WapScene, Web as WebScene};
use Service as S;
use Wallet as W;

const ALIPAY: &[Wallet] = &[W::AlipayCn, W::AlipayHk];
const ALIPAY_QR: &[Wallet] = &[W::AlipayCn, W::AlipayHk, W::AlipayBoth];
const WECHAT: &[Wallet] = &[W::WechatCn, W::WechatHk];
const BOCPAY: &[Wallet] = &[W::BocVmpUpi, W::BocPayUpi, W::BocVmpUpw];
const APP_WALLETS: &[Wallet] = &[W::AlipayCn, W::AlipayHk, W::WechatCn, W::WechatHk];
const ALIPAY_PT: &[PayType] = &[PayType::Alipay];
const WECHAT_PT: &[PayType] = &[PayType::WeChat];
const UNIONPAY: &[Wallet] = &[W::UnionPay];
const UNIONPAY_PT: &[PayType] = &[PayType::UnionPay];

const QRCODE_ISSUE: &str = "#19 (qrcode and cashier scenes)";
const JSAPI_ISSUE: &str = "#20 (jsapi, app and new-interface scenes)";
const NOT_PLANNED: &str = "no issue yet";

services! {
    // ---- web / wap sales: Place an Order's ten, then the web scene's own ----
    /// `service.alipay.wap.PreOrder`: Alipay in a mobile browser.
    AlipayWap = sale(WapScene, "service.alipay.wap.PreOrder", "Alipay wap interface")
        .pay(ALIPAY_PT, ALIPAY).scenes(&[PayScene::Wap])
        .after(&[S::AlipayWapRefund, S::AlipayWebRefund, S::CommonRefund], &[S::AlipayWapClose, S::CommonClose]);
    /// `service.wechat.web.MobileH5`: WeChat Pay H5 outside WeChat.
    WechatMobileH5 = sale(WapScene, "service.wechat.web.MobileH5", "Non-WeChat mobile browser H5 interface")
        .pay(WECHAT_PT, WECHAT).scenes(&[PayScene::Web])
        .after(&[S::WechatWebRefund, S::WechatWebApplyRefund, S::CommonRefund], &[S::WechatWebClose, S::CommonClose]);
    /// `service.wechat.oauth2.Authorize`: WeChat Pay inside WeChat (official account H5).
    WechatOauth2 = sale(WebScene, "service.wechat.oauth2.Authorize", "WeChat public H5 interface")
        .pay(WECHAT_PT, WECHAT).scenes(&[PayScene::WxWeb])
        .after(&[S::WechatWebRefund, S::WechatWebApplyRefund, S::CommonRefund], &[S::WechatWebClose, S::CommonClose]);
    /// `service.icbc.wap.PreOrder`: ICBC.
    IcbcWap = sale(WapScene, "service.icbc.wap.PreOrder", "ICBC wap interface")
        .pay(&[PayType::Icbc], &[W::IcbcWap]).scenes(&[PayScene::Web])
        .after(&[S::IcbcWapRefund, S::CommonRefund], &[S::IcbcWapClose, S::CommonClose]);
    /// `service.unionpay.online.web.PreOrder`: UnionPay's online cashier (notified once).
    UnionPayOnline = sale(WebScene, "service.unionpay.online.web.PreOrder", "UnionPay online cashier interface")
        .pay(UNIONPAY_PT, UNIONPAY).scenes(&[PayScene::OnlineWeb])
        .after(&[S::UnionPayOnlineRefund, S::CommonRefund], &[S::UnionPayOnlineClose, S::CommonClose])
        .notified(Notify::Once);
    /// `service.oct.online.PreOrder`: Octopus (never notified; merchants query).
    OctOnline = sale(WebScene, "service.oct.online.PreOrder", "Octopus online payment interface")
        .pay(&[PayType::Oct], &[W::Oct]).scenes(&[PayScene::Web]).with_lang()
        .after(&[S::OctOnlineRefund, S::CommonRefund], &[S::OctOnlineClose, S::CommonClose])
        .notified(Notify::Never);
    /// `service.mpgs.web.PreOrder`: Visa and Mastercard through MPGS.
    MpgsWeb = sale(WebScene, "service.mpgs.web.PreOrder", "MPGS's VISA, Master payment")
        .pay(&[PayType::Mpgs], &[W::Mpgs]).scenes(&[PayScene::Web]).with_lang()
        .after(&[S::MpgsWebRefund, S::CommonRefund], &[S::MpgsWebClose, S::CommonClose]);
    /// `service.ae.web.PreOrder`: American Express.
    AeWeb = sale(WebScene, "service.ae.web.PreOrder", "AE payment")
        .pay(&[PayType::Ae], &[W::Ae]).scenes(&[PayScene::Web]).with_lang()
        .after(&[S::AeWebRefund, S::CommonRefund], &[S::AeWebClose, S::CommonClose]);
    /// `service.payme.web.PreOrder`: PayMe (QR page on WEB, app link on APP).
    PaymeWeb = sale(WebScene, "service.payme.web.PreOrder", "PayMe web payment interface")
        .pay(&[PayType::Payme], &[W::Payme]).scenes(&[PayScene::Web, PayScene::App])
        .after(&[S::PaymeWebRefund, S::CommonRefund], &[S::PaymeWebClose, S::CommonClose]);
    /// `service.bocvmp.upi.wap.PreOrder`: BOCPay (H5 or APP).
    BocVmpUpiWap = sale(WapScene, "service.bocvmp.upi.wap.PreOrder", "BOCPay wap interface")
        .pay(&[PayType::Bocvmp], &[W::BocVmpUpi]).scenes(&[PayScene::H5, PayScene::App])
        .after(&[S::BocVmpUpiWapRefund, S::CommonRefund], &[S::BocVmpUpiWapClose, S::CommonClose]);
    /// `service.alipay.web.PreOrder`: Alipay on a desktop page (QR code).
    AlipayWeb = sale(WebScene, "service.alipay.web.PreOrder", "Alipay web (PC) interface")
        .pay(ALIPAY_PT, &[W::AlipayHk, W::AlipayCn]).scenes(&[PayScene::Web])
        .after(&[S::AlipayWebRefund, S::AlipayWapRefund, S::CommonRefund], &[S::CommonClose])
        .seen(Evidence::Code);
    /// `service.wechat.web.PreOrder`: WeChat Pay Native on a desktop page (QR code).
    WechatWeb = sale(WebScene, "service.wechat.web.PreOrder", "WeChat Pay web (PC, Native QR) interface")
        .pay(WECHAT_PT, &[W::WechatHk, W::WechatCn]).scenes(&[PayScene::Web, PayScene::Wap])
        .after(&[S::WechatWebRefund, S::WechatWebApplyRefund, S::CommonRefund], &[S::WechatWebClose, S::CommonClose])
        .seen(Evidence::Code);
    /// `service.unionpay.web.PreOrder`: UnionPay web (BOCVMP's).
    UnionPayWeb = sale(WebScene, "service.unionpay.web.PreOrder", "UnionPay web interface")
        .pay(UNIONPAY_PT, UNIONPAY).scenes(&[PayScene::Web])
        .after(&[S::UnionPayWebRefund, S::CommonRefund], &[S::CommonClose])
        .seen(Evidence::Code);
    /// `service.jetco.wap.PreOrder`: JETCO (never notified).
    JetcoWap = sale(WapScene, "service.jetco.wap.PreOrder", "JETCO wap interface")
        .pay(&[PayType::Jetco], &[W::JetcoHk]).scenes(&[PayScene::Wap])
        .after(&[S::JetcoWapRefund, S::CommonRefund], &[S::CommonClose])
        .notified(Notify::Never).seen(Evidence::Code);
    /// `service.bocpayupi.wap.PreOrder`: BOCPay (`BOCPAYUPI`).
    BocPayUpiWap = sale(WapScene, "service.bocpayupi.wap.PreOrder", "BOCPay UPI wap interface")
        .pay(&[PayType::Bocvmp, PayType::BocPay], &[W::BocPayUpi]).scenes(&[PayScene::App, PayScene::H5])
        .after(&[S::BocPayUpiWapRefund, S::CommonRefund], &[S::BocVmpUpiWapClose, S::CommonClose])
        .seen(Evidence::Code);
    /// `service.alipayplus.web.PreOrder`: the "new interface" Alipay web sale.
    AlipayPlusWeb = sale(WebScene, "service.alipayplus.web.PreOrder", "Alipay+ web interface (new interface)")
        .pay(ALIPAY_PT, ALIPAY).scenes(&[PayScene::Web])
        .after(&[S::AlipayPlusWebRefund, S::CommonRefund], &[S::CommonClose])
        .alias(S::AlipayWeb).seen(Evidence::Code).planned(JSAPI_ISSUE);
    /// `service.mpgs.token.ApplePay`: Apple Pay token payment.
    MpgsApplePay = sale(Tokenization, "service.mpgs.token.ApplePay", "Apple Pay tokenization")
        .pay(&[PayType::Mpgs], &[W::Mpgs]).scenes(&[PayScene::TokenApplePay])
        .after(&[S::MpgsWebRefund], &[])
        .planned(NOT_PLANNED);

    // ---- web / wap refunds ----
    /// `service.alipay.wap.Refund`.
    AlipayWapRefund = refund(WapScene, "service.alipay.wap.Refund", ALIPAY);
    /// `service.alipay.web.Refund`.
    AlipayWebRefund = refund(WebScene, "service.alipay.web.Refund", ALIPAY);
    /// `service.wechat.web.Refund`.
    WechatWebRefund = refund(WebScene, "service.wechat.web.Refund", WECHAT);
    /// `service.wechat.web.ApplyRefund`: answered `APPLY_SUCCESS`, completed later.
    WechatWebApplyRefund = refund(WebScene, "service.wechat.web.ApplyRefund", WECHAT).applied();
    /// `service.icbc.wap.Refund`.
    IcbcWapRefund = refund(WapScene, "service.icbc.wap.Refund", &[W::IcbcWap]);
    /// `service.unionpay.online.web.Refund`.
    UnionPayOnlineRefund = refund(WebScene, "service.unionpay.online.web.Refund", UNIONPAY);
    /// `service.unionpay.web.Refund`.
    UnionPayWebRefund = refund(WebScene, "service.unionpay.web.Refund", UNIONPAY).seen(Evidence::Code);
    /// `service.jetco.wap.Refund`.
    JetcoWapRefund = refund(WapScene, "service.jetco.wap.Refund", &[W::JetcoHk]).seen(Evidence::Code);
    /// `service.oct.online.Refund`.
    OctOnlineRefund = refund(WebScene, "service.oct.online.Refund", &[W::Oct]).seen(Evidence::Code);
    /// `service.mpgs.web.Refund`.
    MpgsWebRefund = refund(WebScene, "service.mpgs.web.Refund", &[W::Mpgs]).seen(Evidence::Code);
    /// `service.ae.web.Refund` (name by analogy).
    AeWebRefund = refund(WebScene, "service.ae.web.Refund", &[W::Ae]).seen(Evidence::Guess);
    /// `service.payme.web.Refund` (name by analogy).
    PaymeWebRefund = refund(WebScene, "service.payme.web.Refund", &[W::Payme]).seen(Evidence::Guess);
    /// `service.bocvmp.upi.wap.Refund` (name by analogy).
    BocVmpUpiWapRefund = refund(WapScene, "service.bocvmp.upi.wap.Refund", BOCPAY).seen(Evidence::Guess);
    /// `service.bocpayupi.wap.Refund`.
    BocPayUpiWapRefund = refund(WapScene, "service.bocpayupi.wap.Refund", BOCPAY).seen(Evidence::Code);
    /// `service.atome.v2.wap.Refund`.
    AtomeV2WapRefund = refund(WapScene, "service.atome.v2.wap.Refund", &[W::Atome]).planned(NOT_PLANNED);
    /// `service.atome.web.Refund`.
    AtomeWebRefund = refund(WebScene, "service.atome.web.Refund", &[W::Atome])
        .seen(Evidence::Code).planned(NOT_PLANNED);
    /// `service.alipayplus.web.Refund` ("new interface").
    AlipayPlusWebRefund = refund(WebScene, "service.alipayplus.web.Refund", ALIPAY)
        .alias(S::AlipayWebRefund).seen(Evidence::Code).planned(JSAPI_ISSUE);
    /// `service.common.Refund`: any wallet.
    CommonRefund = refund(WebScene, "service.common.Refund", &[]).seen(Evidence::Code);

    // ---- web / wap close (eftPay documents Close for QR codes only; these are by analogy) ----
    /// `service.alipay.wap.Close` (name by analogy).
    AlipayWapClose = close(WapScene, "service.alipay.wap.Close", ALIPAY).seen(Evidence::Guess);
    /// `service.wechat.web.Close` (name by analogy).
    WechatWebClose = close(WebScene, "service.wechat.web.Close", WECHAT).seen(Evidence::Guess);
    /// `service.icbc.wap.Close` (name by analogy).
    IcbcWapClose = close(WapScene, "service.icbc.wap.Close", &[W::IcbcWap]).seen(Evidence::Guess);
    /// `service.unionpay.online.web.Close` (name by analogy).
    UnionPayOnlineClose = close(WebScene, "service.unionpay.online.web.Close", UNIONPAY).seen(Evidence::Guess);
    /// `service.oct.online.Close` (name by analogy).
    OctOnlineClose = close(WebScene, "service.oct.online.Close", &[W::Oct]).seen(Evidence::Guess);
    /// `service.mpgs.web.Close` (name by analogy).
    MpgsWebClose = close(WebScene, "service.mpgs.web.Close", &[W::Mpgs]).seen(Evidence::Guess);
    /// `service.ae.web.Close` (name by analogy).
    AeWebClose = close(WebScene, "service.ae.web.Close", &[W::Ae]).seen(Evidence::Guess);
    /// `service.payme.web.Close` (name by analogy).
    PaymeWebClose = close(WebScene, "service.payme.web.Close", &[W::Payme]).seen(Evidence::Guess);
    /// `service.bocvmp.upi.wap.Close` (name by analogy).
    BocVmpUpiWapClose = close(WapScene, "service.bocvmp.upi.wap.Close", BOCPAY).seen(Evidence::Guess);
    /// `service.common.Close`: any wallet (name by analogy).
    CommonClose = close(WebScene, "service.common.Close", &[]).seen(Evidence::Guess);

    // ---- queries ----
    /// `QRcodeTradeQuery.do`: the query of web, wap, cashier, app and jsapi orders.
    TradeQuery = at(Operation::Query, WebScene, Endpoint::TradeQuery, "trade query");
    /// `service.common.Query` on `JSAPIService.do` ("new interface"): as `QRcodeTradeQuery.do`.
    CommonQuery = query(WebScene, "service.common.Query", &[]).alias(S::TradeQuery).seen(Evidence::Code);
    /// `service.unified.RefundStatusQuery`: where a refund is.
    RefundStatusQuery = ServiceSpec::new(Operation::RefundStatusQuery, AppScene, Endpoint::JsapiService,
        Some("service.unified.RefundStatusQuery"), "refund status query");

    // ---- cashier ----
    /// `service.united.wap.PreOrder`: eftPay's cashier; the buyer picks the wallet.
    UnitedWap = sale(Cashier, "service.united.wap.PreOrder", "hosted cashier")
        .scenes(&[PayScene::Wap])
        .after(&[S::UnitedWapRefund, S::CommonRefund], &[S::CommonClose])
        .planned(QRCODE_ISSUE);
    /// `service.united.wap.Refund`: the cashier's refund.
    UnitedWapRefund = refund(Cashier, "service.united.wap.Refund", &[]).planned(QRCODE_ISSUE);

    // ---- qrcode (merchant-presented QR), lowercase family ----
    /// `service.alipay.qrcode.PreOrder`.
    AlipayQrcode = sale(Qrcode, "service.alipay.qrcode.PreOrder", "Alipay QR code")
        .pay(ALIPAY_PT, ALIPAY_QR)
        .after(&[S::AlipayQrcodeRefund], &[S::AlipayQrcodeClose, S::QrcodeCancel]).planned(QRCODE_ISSUE);
    /// `service.alipay.qrcode.Refund`.
    AlipayQrcodeRefund = refund(Qrcode, "service.alipay.qrcode.Refund", ALIPAY_QR).planned(QRCODE_ISSUE);
    /// `service.alipay.qrcode.Query`.
    AlipayQrcodeQuery = query(Qrcode, "service.alipay.qrcode.Query", ALIPAY_QR).planned(QRCODE_ISSUE);
    /// `service.alipay.qrcode.Close`.
    AlipayQrcodeClose = close(Qrcode, "service.alipay.qrcode.Close", ALIPAY_QR).planned(QRCODE_ISSUE);
    /// `service.wechat.qrcode.PreOrder`.
    WechatQrcode = sale(Qrcode, "service.wechat.qrcode.PreOrder", "WeChat Pay QR code")
        .pay(WECHAT_PT, &[W::WechatHk, W::WechatCn])
        .after(&[S::WechatQrcodeRefund], &[S::WechatQrcodeClose, S::QrcodeCancel]).planned(QRCODE_ISSUE);
    /// `service.wechat.qrcode.Refund`.
    WechatQrcodeRefund = refund(Qrcode, "service.wechat.qrcode.Refund", WECHAT).planned(QRCODE_ISSUE);
    /// `service.wechat.qrcode.Query`.
    WechatQrcodeQuery = query(Qrcode, "service.wechat.qrcode.Query", WECHAT).planned(QRCODE_ISSUE);
    /// `service.wechat.qrcode.Close`.
    WechatQrcodeClose = close(Qrcode, "service.wechat.qrcode.Close", WECHAT).planned(QRCODE_ISSUE);
    /// `service.unionpay.qrcode.csb.PreOrder`: UnionPay customer-scans-business.
    UnionPayQrcode = sale(Qrcode, "service.unionpay.qrcode.csb.PreOrder", "UnionPay QR code (CSB)")
        .pay(UNIONPAY_PT, UNIONPAY)
        .after(&[S::UnionPayQrcodeRefund, S::UnionPayQrcodeRefundAlt], &[S::UnionPayQrcodeClose, S::QrcodeCancel])
        .planned(QRCODE_ISSUE);
    /// `service.unionpay.qrcode.csb.Refund`.
    UnionPayQrcodeRefund = refund(Qrcode, "service.unionpay.qrcode.csb.Refund", UNIONPAY).planned(QRCODE_ISSUE);
    /// `service.unionpay.qrcode.Refund` (RSM's other spelling).
    UnionPayQrcodeRefundAlt = refund(Qrcode, "service.unionpay.qrcode.Refund", UNIONPAY)
        .seen(Evidence::Code).planned(QRCODE_ISSUE);
    /// `service.unionpay.qrcode.csb.Query`.
    UnionPayQrcodeQuery = query(Qrcode, "service.unionpay.qrcode.csb.Query", UNIONPAY).planned(QRCODE_ISSUE);
    /// `service.unionpay.qrcode.csb.Close`.
    UnionPayQrcodeClose = close(Qrcode, "service.unionpay.qrcode.csb.Close", UNIONPAY).planned(QRCODE_ISSUE);
    /// `service.atome.v1.qrcode.PreOrder`.
    AtomeQrcode = sale(Qrcode, "service.atome.v1.qrcode.PreOrder", "ATOME QR code")
        .pay(&[PayType::Atome], &[W::Atome])
        .after(&[S::AtomeQrcodeRefund], &[S::AtomeQrcodeClose, S::QrcodeCancel]).seen(Evidence::Data)
        .planned(QRCODE_ISSUE);
    /// `service.atome.v1.qrcode.Refund`.
    AtomeQrcodeRefund = refund(Qrcode, "service.atome.v1.qrcode.Refund", &[W::Atome]).planned(QRCODE_ISSUE);
    /// `service.atome.v1.qrcode.Query`.
    AtomeQrcodeQuery = query(Qrcode, "service.atome.v1.qrcode.Query", &[W::Atome]).planned(QRCODE_ISSUE);
    /// `service.atome.v1.qrcode.Close`.
    AtomeQrcodeClose = close(Qrcode, "service.atome.v1.qrcode.Close", &[W::Atome]).planned(QRCODE_ISSUE);
    /// `api.service.gbpay.qrcode.cash.PreOrder`.
    GbpayQrcode = sale(Qrcode, "api.service.gbpay.qrcode.cash.PreOrder", "GBPAY QR code")
        .pay(&[PayType::Gbpay], &[W::Gbpay])
        .after(&[S::GbpayQrcodeRefund], &[S::GbpayQrcodeClose, S::QrcodeCancel]).planned(QRCODE_ISSUE);
    /// `api.service.gbpay.qrcode.cash.Refund`.
    GbpayQrcodeRefund = refund(Qrcode, "api.service.gbpay.qrcode.cash.Refund", &[W::Gbpay]).planned(QRCODE_ISSUE);
    /// `api.service.gbpay.qrcode.cash.Query`.
    GbpayQrcodeQuery = query(Qrcode, "api.service.gbpay.qrcode.cash.Query", &[W::Gbpay]).planned(QRCODE_ISSUE);
    /// `api.service.gbpay.qrcode.cash.Close` (name by analogy).
    GbpayQrcodeClose = close(Qrcode, "api.service.gbpay.qrcode.cash.Close", &[W::Gbpay])
        .seen(Evidence::Guess).planned(QRCODE_ISSUE);
    /// `service.payme.qrcode.PreOrder` (never notified).
    PaymeQrcode = sale(Qrcode, "service.payme.qrcode.PreOrder", "PayMe QR code")
        .pay(&[PayType::Payme], &[W::Payme])
        .after(&[S::PaymeQrcodeRefund], &[S::QrcodeCancel]).notified(Notify::Never).planned(QRCODE_ISSUE);
    /// `service.payme.qrcode.Refund`.
    PaymeQrcodeRefund = refund(Qrcode, "service.payme.qrcode.Refund", &[W::Payme]).planned(QRCODE_ISSUE);
    /// `service.payme.qrcode.Query`.
    PaymeQrcodeQuery = query(Qrcode, "service.payme.qrcode.Query", &[W::Payme]).planned(QRCODE_ISSUE);
    /// `service.fps.qrcode.PreOrder` (never notified; no refund service).
    FpsQrcode = sale(Qrcode, "service.fps.qrcode.PreOrder", "FPS QR code")
        .pay(&[PayType::Fps], &[W::Fps])
        .after(&[], &[S::QrcodeCancel]).notified(Notify::Never).planned(QRCODE_ISSUE);
    /// `service.fps.qrcode.Query`.
    FpsQrcodeQuery = query(Qrcode, "service.fps.qrcode.Query", &[W::Fps]).planned(QRCODE_ISSUE);
    /// `service.ecny.qrcode.PreOrder` (name by analogy).
    EcnyQrcode = sale(Qrcode, "service.ecny.qrcode.PreOrder", "e-CNY QR code")
        .pay(&[PayType::Ecny], &[W::Ecny])
        .after(&[], &[S::QrcodeCancel]).seen(Evidence::Guess).planned(QRCODE_ISSUE);
    /// `service.alipayplus.qrcode.PreOrder` ("new interface").
    AlipayPlusQrcode = sale(Qrcode, "service.alipayplus.qrcode.PreOrder", "Alipay+ QR code (new interface)")
        .pay(ALIPAY_PT, ALIPAY)
        .after(&[S::AlipayPlusQrcodeRefund], &[S::AlipayPlusQrcodeClose])
        .alias(S::AlipayQrcode).seen(Evidence::Code).planned(JSAPI_ISSUE);
    /// `service.alipayplus.qrcode.Refund`.
    AlipayPlusQrcodeRefund = refund(Qrcode, "service.alipayplus.qrcode.Refund", ALIPAY)
        .alias(S::AlipayQrcodeRefund).seen(Evidence::Code).planned(JSAPI_ISSUE);
    /// `service.alipayplus.qrcode.Query`.
    AlipayPlusQrcodeQuery = query(Qrcode, "service.alipayplus.qrcode.Query", ALIPAY)
        .alias(S::AlipayQrcodeQuery).seen(Evidence::Code).planned(JSAPI_ISSUE);
    /// `service.alipayplus.qrcode.Close`.
    AlipayPlusQrcodeClose = close(Qrcode, "service.alipayplus.qrcode.Close", ALIPAY)
        .alias(S::AlipayQrcodeClose).seen(Evidence::Code).planned(JSAPI_ISSUE);
    /// `QRcodeTradeCancel.do`: reverses a paid QR-code order in full and closes it.
    QrcodeCancel = at(Operation::Cancel, Qrcode, Endpoint::TradeCancel, "QR code cancel (reversal)")
        .seen(Evidence::Code).planned(QRCODE_ISSUE);

    // ---- jsapi (inside WeChat / Alipay), lowercase family ----
    /// `service.wechat.jsapi.PreOrder`: official account and mini-program.
    WechatJsapi = sale(Jsapi, "service.wechat.jsapi.PreOrder", "WeChat Pay JSAPI")
        .pay(WECHAT_PT, WECHAT)
        .after(&[S::WechatJsapiRefund, S::WechatJsapiApplyRefund], &[]).planned(JSAPI_ISSUE);
    /// `service.alipay.jsapi.PreOrder`.
    AlipayJsapi = sale(Jsapi, "service.alipay.jsapi.PreOrder", "Alipay JSAPI")
        .pay(ALIPAY_PT, ALIPAY)
        .after(&[S::AlipayJsapiRefund], &[]).planned(JSAPI_ISSUE);
    /// `service.alipayplus.jsapi.PreOrder` ("new interface").
    AlipayPlusJsapi = sale(Jsapi, "service.alipayplus.jsapi.PreOrder", "Alipay+ JSAPI (new interface)")
        .pay(ALIPAY_PT, ALIPAY)
        .after(&[S::AlipayPlusJsapiRefund], &[])
        .alias(S::AlipayJsapi).seen(Evidence::Code).planned(JSAPI_ISSUE);
    /// `service.wechat.jsapi.Refund`.
    WechatJsapiRefund = refund(Jsapi, "service.wechat.jsapi.Refund", WECHAT).planned(JSAPI_ISSUE);
    /// `service.wechat.jsapi.ApplyRefund`.
    WechatJsapiApplyRefund = refund(Jsapi, "service.wechat.jsapi.ApplyRefund", WECHAT)
        .applied().planned(JSAPI_ISSUE);
    /// `service.alipay.jsapi.Refund`.
    AlipayJsapiRefund = refund(Jsapi, "service.alipay.jsapi.Refund", ALIPAY).planned(JSAPI_ISSUE);
    /// `service.alipayplus.jsapi.Refund`.
    AlipayPlusJsapiRefund = refund(Jsapi, "service.alipayplus.jsapi.Refund", ALIPAY)
        .alias(S::AlipayJsapiRefund).seen(Evidence::Code).planned(JSAPI_ISSUE);

    // ---- app (the wallet's SDK in the merchant's app), by endpoint ----
    /// `AppTradePay.do`: WeChat Pay and Alipay app payments.
    AppPay = at(Operation::Sale, AppScene, Endpoint::AppTradePay, "app payment")
        .pay(&[PayType::Alipay, PayType::WeChat], APP_WALLETS).scenes(&[PayScene::App])
        .after(&[S::AppRefund, S::AppApplyRefund], &[]).planned(JSAPI_ISSUE);
    /// `AppTradeRefund.do`.
    AppRefund = at(Operation::Refund, AppScene, Endpoint::AppTradeRefund, "app refund")
        .pay(&[], APP_WALLETS).planned(JSAPI_ISSUE);
    /// `AppTradeApplyRefund.do` (WeChat; a plain refund for Alipay).
    AppApplyRefund = at(Operation::Refund, AppScene, Endpoint::AppTradeApplyRefund, "app apply-refund")
        .pay(&[], APP_WALLETS).applied().planned(JSAPI_ISSUE);
    /// `CommonAppTradePay.do` ("new interface").
    CommonAppPay = at(Operation::Sale, AppScene, Endpoint::CommonAppTradePay, "app payment (new interface)")
        .pay(&[PayType::Alipay, PayType::WeChat], APP_WALLETS).scenes(&[PayScene::App])
        .after(&[S::CommonAppRefund], &[])
        .alias(S::AppPay).seen(Evidence::Code).planned(JSAPI_ISSUE);
    /// `CommonAppTradeRefund.do` ("new interface").
    CommonAppRefund = at(Operation::Refund, AppScene, Endpoint::CommonAppTradeRefund, "app refund (new interface)")
        .pay(&[], APP_WALLETS).alias(S::AppRefund).seen(Evidence::Code).planned(JSAPI_ISSUE);
    /// `CommonTradeQuery.do` ("new interface"): the jsapi and app query.
    CommonTradeQuery = at(Operation::Query, AppScene, Endpoint::CommonTradeQuery, "trade query (new interface)")
        .alias(S::TradeQuery).seen(Evidence::Code).planned(JSAPI_ISSUE);
}

static BY_NAME: LazyLock<HashMap<&'static str, Service>> =
    LazyLock::new(|| SPECS.iter().filter_map(|s| s.name.map(|n| (n, s.id))).collect());

impl Service {
    /// The row.
    pub fn spec(self) -> &'static ServiceSpec {
        &SPECS[self as usize]
    }

    /// The interface a `service` value names (exact, case-sensitive).
    pub fn from_name(name: &str) -> Option<Service> {
        BY_NAME.get(name).copied()
    }

    /// The interface an endpoint without `service` stands for
    /// (`QRcodeTradeQuery.do`, `AppTradePay.do`, …); `None` for
    /// `JSAPIService.do`, which dispatches on `service`.
    pub fn for_endpoint(endpoint: Endpoint) -> Option<Service> {
        SPECS.iter().find(|s| s.endpoint == endpoint && s.name.is_none()).map(|s| s.id)
    }

    /// The `service` value, or the endpoint name for endpoint-only interfaces.
    pub fn label(self) -> &'static str {
        self.spec().label()
    }

    /// The ready sales of the web and wap scenes (the hosted pay pages).
    pub fn web_sales() -> impl Iterator<Item = Service> {
        SPECS
            .iter()
            .filter(|s| s.op == Operation::Sale && s.is_ready() && matches!(s.scene, Scene::Web | Scene::Wap))
            .map(|s| s.id)
    }

    /// The first ready refund service that takes orders of `wallet`
    /// (`apply`: an apply-refund), wallet-specific before generic.
    pub fn refund_for_wallet(wallet: Wallet, apply: bool) -> Option<Service> {
        SPECS
            .iter()
            .filter(|s| {
                s.op == Operation::Refund && s.is_ready() && s.apply == apply && s.endpoint == Endpoint::JsapiService
            })
            .find(|s| s.wallets.contains(&wallet))
            .map(|s| s.id)
    }

    /// The first ready close service of `wallet`'s orders, wallet-specific
    /// before generic.
    pub fn close_for_wallet(wallet: Wallet) -> Option<Service> {
        SPECS
            .iter()
            .filter(|s| s.op == Operation::Close && s.is_ready())
            .find(|s| s.wallets.contains(&wallet))
            .map(|s| s.id)
    }
}

/// The table as Markdown, one line per interface: what `docs/protocol.md`
/// shows between its `services` markers (a test keeps the two equal).
pub fn markdown_table() -> String {
    let list = |items: Vec<&str>| if items.is_empty() { "—".to_owned() } else { items.join(", ") };
    let mut out = String::from(
        "| service / endpoint | scene | operation | payType | wallets | pay_scene | lang | refund, close | notified | status | evidence |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for spec in SPECS {
        let name = match spec.name {
            Some(n) => format!("`{n}`"),
            None => format!("`{}` (no `service`)", spec.endpoint),
        };
        let after: Vec<&str> = spec.refunds.iter().chain(spec.closes).map(|s| s.label()).collect();
        let notify = match (spec.op, spec.notify) {
            (Operation::Sale, Notify::Retried) => "yes",
            (Operation::Sale, Notify::Once) => "once",
            (Operation::Sale, Notify::Never) => "no",
            _ => "",
        };
        let status = match (spec.support, spec.alias_of) {
            (Support::Planned(issue), _) => format!("planned: {issue}"),
            (Support::Ready, Some(of)) => format!("as `{}`", of.label()),
            (Support::Ready, None) => "served".to_owned(),
        };
        let evidence = match spec.evidence {
            Evidence::Doc => "doc",
            Evidence::Code => "code",
            Evidence::Data => "data",
            Evidence::Guess => "guess",
        };
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {notify} | {status} | {evidence} |\n",
            spec.scene,
            spec.op,
            list(spec.pay_types.iter().map(|p| p.as_str()).collect()),
            list(spec.wallets.iter().map(|w| w.as_str()).collect()),
            list(spec.pay_scenes.iter().map(|p| p.as_str()).collect()),
            if spec.lang { "cn, en, hk" } else { "" },
            list(after),
        ));
    }
    out
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

impl std::str::FromStr for Service {
    type Err = crate::wire_enum::UnknownValue;

    /// Reads a `service` value (exact spelling).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Service::from_name(s).ok_or_else(|| crate::wire_enum::UnknownValue {
            what: "service",
            value: s.chars().take(40).collect(),
            allowed: "a service of the catalogue (see `vmp_protocol::catalogue`)".to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_its_own_id_and_names_are_unique() {
        let mut names = std::collections::HashSet::new();
        for (i, s) in Service::ALL.iter().enumerate() {
            let spec = s.spec();
            assert_eq!(spec.id, *s, "row {i}");
            if let Some(name) = spec.name {
                assert!(names.insert(name), "{name} twice");
                assert_eq!(Service::from_name(name), Some(*s));
                assert_eq!(spec.endpoint, Endpoint::JsapiService, "{name}: named interfaces are on JSAPIService.do");
            }
        }
        for e in Endpoint::ALL {
            if *e != Endpoint::JsapiService {
                let s = Service::for_endpoint(*e).unwrap_or_else(|| panic!("{e} has no row"));
                assert_eq!(s.spec().endpoint, *e);
            }
        }
    }

    #[test]
    fn the_api_page_tables_are_encoded() {
        // Place an Order's ten services: payType, wallets, scenes, lang.
        type Row = (&'static str, PayType, &'static [Wallet], &'static [PayScene], bool);
        let page: [Row; 10] = [
            ("service.alipay.wap.PreOrder", PayType::Alipay, ALIPAY, &[PayScene::Wap], false),
            ("service.wechat.web.MobileH5", PayType::WeChat, WECHAT, &[PayScene::Web], false),
            ("service.wechat.oauth2.Authorize", PayType::WeChat, WECHAT, &[PayScene::WxWeb], false),
            ("service.icbc.wap.PreOrder", PayType::Icbc, &[W::IcbcWap], &[PayScene::Web], false),
            ("service.unionpay.online.web.PreOrder", PayType::UnionPay, UNIONPAY, &[PayScene::OnlineWeb], false),
            ("service.oct.online.PreOrder", PayType::Oct, &[W::Oct], &[PayScene::Web], true),
            ("service.mpgs.web.PreOrder", PayType::Mpgs, &[W::Mpgs], &[PayScene::Web], true),
            ("service.ae.web.PreOrder", PayType::Ae, &[W::Ae], &[PayScene::Web], true),
            ("service.payme.web.PreOrder", PayType::Payme, &[W::Payme], &[PayScene::Web, PayScene::App], false),
            (
                "service.bocvmp.upi.wap.PreOrder",
                PayType::Bocvmp,
                &[W::BocVmpUpi],
                &[PayScene::H5, PayScene::App],
                false,
            ),
        ];
        for (name, pay_type, wallets, scenes, lang) in page {
            let spec = Service::from_name(name).unwrap_or_else(|| panic!("{name}")).spec();
            assert_eq!(spec.pay_type(), Some(pay_type), "{name}");
            assert_eq!(spec.wallets, wallets, "{name}");
            assert_eq!(spec.pay_scenes, scenes, "{name}");
            assert_eq!(spec.lang, lang, "{name}");
            assert!(spec.is_ready(), "{name}");
        }
    }

    #[test]
    fn sales_point_at_refunds_and_closes_that_take_their_wallets() {
        for s in Service::ALL {
            let spec = s.spec();
            if spec.op != Operation::Sale {
                assert!(spec.refunds.is_empty() && spec.closes.is_empty(), "{s}");
                continue;
            }
            for r in spec.refunds {
                assert_eq!(r.spec().op, Operation::Refund, "{s} → {r}");
                for w in spec.wallets {
                    assert!(r.spec().accepts_wallet(*w) || !r.spec().is_ready(), "{s} → {r} refuses {w}");
                }
            }
            for c in spec.closes {
                assert!(matches!(c.spec().op, Operation::Close | Operation::Cancel), "{s} → {c}");
            }
            if !spec.pay_types.is_empty() {
                for w in spec.wallets {
                    assert!(spec.pay_types.iter().any(|p| p.family() == w.family()), "{s}: {w} is of no payType");
                }
            }
            if spec.is_ready() {
                assert!(!spec.pay_scenes.is_empty(), "{s}: a ready sale has a default pay_scene");
            }
        }
    }

    #[test]
    fn aliases_behave_as_a_row_of_the_same_operation() {
        for s in Service::ALL {
            if let Some(of) = s.spec().alias_of {
                assert_eq!(of.spec().op, s.spec().op, "{s}");
                assert!(of.spec().alias_of.is_none(), "{s}: alias of an alias");
            }
        }
    }

    #[test]
    fn wallet_defaults_pick_the_specific_service() {
        assert_eq!(Service::refund_for_wallet(W::AlipayHk, false), Some(S::AlipayWapRefund));
        assert_eq!(Service::refund_for_wallet(W::WechatCn, true), Some(S::WechatWebApplyRefund));
        assert_eq!(Service::refund_for_wallet(W::AlipayHk, true), None);
        assert_eq!(Service::refund_for_wallet(W::JetcoHk, false), Some(S::JetcoWapRefund));
        assert_eq!(Service::close_for_wallet(W::Mpgs), Some(S::MpgsWebClose));
        assert_eq!(Service::close_for_wallet(W::JetcoHk), None);
    }

    /// `docs/protocol.md` shows the table as it is: regenerate it with
    /// `VMP_UPDATE_DOCS=1 cargo test -p vmp-protocol --lib catalogue`.
    #[test]
    fn docs_protocol_md_shows_this_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/protocol.md");
        let doc = std::fs::read_to_string(&path).unwrap_or_default();
        let (begin, end) = ("<!-- services:begin -->\n", "<!-- services:end -->");
        let (Some(b), Some(e)) = (doc.find(begin), doc.find(end)) else {
            panic!("docs/protocol.md has no {begin:?} … {end:?} markers");
        };
        let table = markdown_table();
        if doc[b + begin.len()..e] != table {
            if std::env::var("VMP_UPDATE_DOCS").as_deref() == Ok("1") {
                let updated = format!("{}{table}{}", &doc[..b + begin.len()], &doc[e..]);
                std::fs::write(&path, updated).unwrap();
            } else {
                panic!(
                    "docs/protocol.md's service table is out of date: run VMP_UPDATE_DOCS=1 cargo test -p vmp-protocol --lib catalogue"
                );
            }
        }
    }

    #[test]
    fn wire_enums_read_their_exact_spelling() {
        assert_eq!("ALIPAYHK".parse::<Wallet>(), Ok(W::AlipayHk));
        assert!("alipayhk".parse::<Wallet>().is_err());
        assert_eq!(PayScene::parse("ONLINE_WEB"), Some(PayScene::OnlineWeb));
        let err = "x".parse::<PayType>().unwrap_err().to_string();
        assert!(err.contains("Alipay/WeChat"), "{err}");
        assert_eq!(Endpoint::TradeQuery.path(), "/VMP/Servlet/QRcodeTradeQuery.do");
    }
}
