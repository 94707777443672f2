//! Place an Order: the typed request [`PlaceOrder`] and its answer
//! [`OrderPlaced`].
//!
//! The ten services of the API page are the [`Service`] enum. A service
//! implies its `payType`; its wallets, `pay_scene`s and whether it takes
//! `lang` come from `vmp_protocol`'s catalogue (the table the gateway
//! validates with), and are checked before anything is sent.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;
use vmp_protocol::fields::Lang;
use vmp_protocol::legacy::{ServiceSpec, pre_order_service};
use vmp_protocol::vmptime::format_time;
use vmp_protocol::{Amount, Currency, PRE_ORDER_SERVICES, Params, PreOrderRequest};

use crate::error::InvalidRequest;

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in the API page's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire value.
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }

        impl FromStr for $name {
            type Err = String;

            /// Parses the wire value (exact spelling).
            fn from_str(s: &str) -> Result<Self, String> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.code() == s)
                    .ok_or_else(|| {
                        let all: Vec<&str> = Self::ALL.iter().map(|v| v.code()).collect();
                        format!("unknown {} {s:?}; one of {}", $what, all.join(", "))
                    })
            }
        }
    };
}

// The refund and close service enums (`aftersale`) are wire enums too.
pub(crate) use wire_enum;

wire_enum!(
    /// The ten Place an Order services of the API page (`service`).
    Service, "service" {
        /// `service.alipay.wap.PreOrder`, Alipay wap (payType `Alipay`).
        AlipayWap => "service.alipay.wap.PreOrder",
        /// `service.wechat.web.MobileH5`, WeChat H5 outside WeChat (`WeChat`).
        WechatMobileH5 => "service.wechat.web.MobileH5",
        /// `service.wechat.oauth2.Authorize`, WeChat official-account H5 (`WeChat`).
        WechatOauth2 => "service.wechat.oauth2.Authorize",
        /// `service.icbc.wap.PreOrder`, ICBC wap (`ICBC`).
        IcbcWap => "service.icbc.wap.PreOrder",
        /// `service.unionpay.online.web.PreOrder`, UnionPay online cashier (`UnionPay`).
        UnionPayOnline => "service.unionpay.online.web.PreOrder",
        /// `service.oct.online.PreOrder`, Octopus online (`OCT`).
        OctOnline => "service.oct.online.PreOrder",
        /// `service.mpgs.web.PreOrder`, MPGS VISA/Master (`Mpgs`).
        MpgsWeb => "service.mpgs.web.PreOrder",
        /// `service.ae.web.PreOrder`, American Express (`AE`).
        AeWeb => "service.ae.web.PreOrder",
        /// `service.payme.web.PreOrder`, PayMe web (`PAYME`).
        PaymeWeb => "service.payme.web.PreOrder",
        /// `service.bocvmp.upi.wap.PreOrder`, BOCPay wap (`BOCVMP`).
        BocVmpUpiWap => "service.bocvmp.upi.wap.PreOrder",
    }
);

impl Service {
    /// The wire `service` name.
    pub fn name(self) -> &'static str {
        self.code()
    }

    /// The `payType` this service implies.
    pub fn pay_type(self) -> &'static str {
        match self {
            Service::AlipayWap => "Alipay",
            Service::WechatMobileH5 | Service::WechatOauth2 => "WeChat",
            Service::IcbcWap => "ICBC",
            Service::UnionPayOnline => "UnionPay",
            Service::OctOnline => "OCT",
            Service::MpgsWeb => "Mpgs",
            Service::AeWeb => "AE",
            Service::PaymeWeb => "PAYME",
            Service::BocVmpUpiWap => "BOCVMP",
        }
    }

    /// The catalogue entry (wallets, scenes, `lang`), shared with the gateway.
    pub fn spec(self) -> Option<&'static ServiceSpec> {
        pre_order_service(self.name())
    }

    /// The wallets this service accepts.
    pub fn wallets(self) -> Vec<Wallet> {
        self.spec().map(|s| s.wallets.iter().filter_map(|w| w.parse::<Wallet>().ok()).collect()).unwrap_or_default()
    }

    /// The `pay_scene` sent when none is chosen (the first of the page's list).
    pub fn default_pay_scene(self) -> Option<PayScene> {
        self.spec().and_then(|s| s.pay_scenes.first()).and_then(|s| s.parse().ok())
    }

    /// Whether the hosted page honours `lang`.
    pub fn supports_lang(self) -> bool {
        self.spec().is_some_and(|s| s.supports_lang)
    }
}

wire_enum!(
    /// `wallet`: the wallet types of the API page's service table.
    Wallet, "wallet" {
        /// `ALIPAYCN`, Alipay mainland.
        AlipayCn => "ALIPAYCN",
        /// `ALIPAYHK`, AlipayHK.
        AlipayHk => "ALIPAYHK",
        /// `WECHATCN`, WeChat Pay mainland.
        WechatCn => "WECHATCN",
        /// `WECHATHK`, WeChat Pay HK.
        WechatHk => "WECHATHK",
        /// `ICBCWAP`, ICBC.
        IcbcWap => "ICBCWAP",
        /// `UNIONPAY`, UnionPay.
        UnionPay => "UNIONPAY",
        /// `OCT`, Octopus.
        Oct => "OCT",
        /// `MPGS`, VISA/Master through MPGS.
        Mpgs => "MPGS",
        /// `AE`, American Express.
        Ae => "AE",
        /// `PAYME`, PayMe.
        Payme => "PAYME",
        /// `BOCVMPUPI`, BOCPay.
        BocVmpUpi => "BOCVMPUPI",
    }
);

impl Wallet {
    /// The `payType` of this wallet's orders, from the catalogue (every
    /// service taking a wallet has the same `payType`).
    ///
    /// ```
    /// use vmp_client::Wallet;
    /// assert_eq!(Wallet::WechatHk.pay_type(), Some("WeChat"));
    /// assert_eq!(Wallet::Mpgs.pay_type(), Some("Mpgs"));
    /// ```
    pub fn pay_type(self) -> Option<&'static str> {
        PRE_ORDER_SERVICES.iter().find(|s| s.wallets.contains(&self.code())).map(|s| s.pay_type)
    }
}

wire_enum!(
    /// `pay_scene`: the payment scene (`WEB` unless the service says otherwise).
    PayScene, "pay_scene" {
        /// `WEB`, the default.
        Web => "WEB",
        /// `WAP` (Alipay wap).
        Wap => "WAP",
        /// `WXWEB` (WeChat official-account H5).
        WxWeb => "WXWEB",
        /// `ONLINE_WEB` (UnionPay online).
        OnlineWeb => "ONLINE_WEB",
        /// `APP` (PayMe app link; BOCPay returning to `app_link`).
        App => "APP",
        /// `H5` (BOCPay launched from a mobile browser).
        H5 => "H5",
    }
);

wire_enum!(
    /// `buyerType`: the buyer's device.
    BuyerType, "buyerType" {
        /// `ios`.
        Ios => "ios",
        /// `android`.
        Android => "android",
        /// `others`, the default.
        Others => "others",
    }
);

/// A Place an Order request (`service.*.PreOrder` on `JSAPIService.do`).
///
/// Required fields go to [`PlaceOrder::new`]; the rest are consuming
/// setters. Amounts are [`Amount`] minor units with a [`Currency`], never
/// floats. `payType` follows from the service; `time`, `user_confirm_key`
/// and `sign` are added by the [`crate::Client`]. Empty optional values are
/// never sent.
///
/// ```
/// use vmp_client::{Amount, Currency, Lang, PlaceOrder, Service, Wallet};
/// let order = PlaceOrder::new(Service::MpgsWeb, Wallet::Mpgs, "ORDER-7",
///         Amount::parse("88.00").unwrap(), Currency::Hkd, "Concert ticket")
///     .lang(Lang::En)
///     .return_url("https://shop.example/paid");
/// let now = time::macros::datetime!(2024-01-01 04:00:00 UTC);
/// let params = order.to_params("MERCHANTKEY1", now).unwrap();
/// assert_eq!(params.get("payType"), Some("Mpgs"));
/// assert_eq!(params.get("transaction_amount"), Some("88.00"));
/// assert_eq!(params.get("time"), Some("20240101120000")); // UTC+8
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    service: Service,
    wallet: Wallet,
    out_trade_no: String,
    amount: Amount,
    currency: Currency,
    subject: String,
    buyer_type: BuyerType,
    pay_scene: Option<PayScene>,
    body: Option<String>,
    tid: Option<String>,
    notify_url: Option<String>,
    return_url: Option<String>,
    active_time: Option<u32>,
    lang: Option<Lang>,
    scheme: Option<String>,
    package_name: Option<String>,
    app_link: Option<String>,
}

impl PlaceOrder {
    /// A request with the required fields; `buyerType` defaults to `others`
    /// and `pay_scene` to the service's default.
    pub fn new(
        service: Service,
        wallet: Wallet,
        out_trade_no: impl Into<String>,
        amount: Amount,
        currency: Currency,
        subject: impl Into<String>,
    ) -> Self {
        Self {
            service,
            wallet,
            out_trade_no: out_trade_no.into(),
            amount,
            currency,
            subject: subject.into(),
            buyer_type: BuyerType::Others,
            pay_scene: None,
            body: None,
            tid: None,
            notify_url: None,
            return_url: None,
            active_time: None,
            lang: None,
            scheme: None,
            package_name: None,
            app_link: None,
        }
    }

    /// `buyerType`: the buyer's device.
    #[must_use]
    pub fn buyer_type(mut self, buyer_type: BuyerType) -> Self {
        self.buyer_type = buyer_type;
        self
    }

    /// `pay_scene`; must be one of the service's (checked before sending).
    #[must_use]
    pub fn pay_scene(mut self, pay_scene: PayScene) -> Self {
        self.pay_scene = Some(pay_scene);
        self
    }

    /// `body`: goods description, at most 128 characters.
    #[must_use]
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// `tid`: merchant terminal number, at most 20 characters.
    #[must_use]
    pub fn tid(mut self, tid: impl Into<String>) -> Self {
        self.tid = Some(tid.into());
        self
    }

    /// `notify_url`: where the gateway POSTs the signed notification.
    #[must_use]
    pub fn notify_url(mut self, url: impl Into<String>) -> Self {
        self.notify_url = Some(url.into());
        self
    }

    /// `return_url`: where the buyer's browser lands (form POST) after
    /// paying; it cannot carry query parameters.
    #[must_use]
    pub fn return_url(mut self, url: impl Into<String>) -> Self {
        self.return_url = Some(url.into());
        self
    }

    /// `active_time`: how long the pay link is valid, in seconds (default
    /// 1800 at the gateway).
    #[must_use]
    pub fn active_time(mut self, seconds: u32) -> Self {
        self.active_time = Some(seconds);
        self
    }

    /// `lang` of the hosted page (only OCT, MPGS and AE take it).
    #[must_use]
    pub fn lang(mut self, lang: Lang) -> Self {
        self.lang = Some(lang);
        self
    }

    /// `scheme`: the app's scheme for webview payments (UnionPay only).
    #[must_use]
    pub fn scheme(mut self, scheme: impl Into<String>) -> Self {
        self.scheme = Some(scheme.into());
        self
    }

    /// `packageName`: the app's package for webview payments (UnionPay only).
    #[must_use]
    pub fn package_name(mut self, package_name: impl Into<String>) -> Self {
        self.package_name = Some(package_name.into());
        self
    }

    /// `app_link`: where BOCPay returns after paying (wallet `BOCVMPUPI` only).
    #[must_use]
    pub fn app_link(mut self, app_link: impl Into<String>) -> Self {
        self.app_link = Some(app_link.into());
        self
    }

    /// The service.
    pub fn service(&self) -> Service {
        self.service
    }

    /// The merchant's order number.
    pub fn out_trade_no(&self) -> &str {
        &self.out_trade_no
    }

    /// Checks the request and returns its unsigned wire parameters, with
    /// `time` set from `now` (written in UTC+8).
    ///
    /// The checks are the service's wallet / `pay_scene` / `lang` combos and
    /// the fields that only apply to some services, then every rule the
    /// gateway itself applies (`vmp_protocol`'s Place an Order validator).
    ///
    /// # Errors
    /// [`InvalidRequest`] naming the first rule broken.
    pub fn to_params(&self, user_confirm_key: &str, now: OffsetDateTime) -> Result<Params, InvalidRequest> {
        let service = self.service.name();
        let spec = self.service.spec().ok_or(InvalidRequest::UnknownService(service))?;
        let wallet = spec.accepts_wallet(self.wallet.code()).ok_or_else(|| InvalidRequest::Wallet {
            service,
            wallet: self.wallet.code(),
            allowed: spec.wallets.join("/"),
        })?;
        let pay_scene = match self.pay_scene {
            None => spec.default_pay_scene(),
            Some(scene) => spec.accepts_pay_scene(scene.code()).ok_or_else(|| InvalidRequest::PayScene {
                service,
                pay_scene: scene.code(),
                allowed: spec.pay_scenes.join("/"),
            })?,
        };
        if self.lang.is_some() && !spec.supports_lang {
            return Err(InvalidRequest::Lang(service));
        }
        let unionpay_only = "only with service.unionpay.online.web.PreOrder (webview payments)";
        if self.service != Service::UnionPayOnline {
            if non_empty(&self.scheme).is_some() {
                return Err(InvalidRequest::NotApplicable { field: "scheme", reason: unionpay_only });
            }
            if non_empty(&self.package_name).is_some() {
                return Err(InvalidRequest::NotApplicable { field: "packageName", reason: unionpay_only });
            }
        }
        if self.wallet != Wallet::BocVmpUpi && non_empty(&self.app_link).is_some() {
            return Err(InvalidRequest::NotApplicable { field: "app_link", reason: "only with wallet BOCVMPUPI" });
        }

        // The API page's field order; empty values are never sent.
        let mut p = Params::new()
            .with("service", service)
            .with("user_confirm_key", user_confirm_key)
            .with("transaction_amount", wire_amount(self.amount))
            .with("out_trade_no", &self.out_trade_no)
            .with("payType", spec.pay_type)
            .with("buyerType", self.buyer_type.code())
            .with("subject", &self.subject)
            .with("wallet", wallet);
        let optional: [(&str, Option<String>); 11] = [
            ("body", non_empty(&self.body)),
            ("pay_scene", Some(pay_scene.to_owned())),
            ("fee_type", Some(self.currency.code().to_owned())),
            ("tid", non_empty(&self.tid)),
            ("notify_url", non_empty(&self.notify_url)),
            ("return_url", non_empty(&self.return_url)),
            ("active_time", self.active_time.map(|s| s.to_string())),
            ("lang", self.lang.map(|l| l.code().to_owned())),
            ("scheme", non_empty(&self.scheme)),
            ("packageName", non_empty(&self.package_name)),
            ("app_link", non_empty(&self.app_link)),
        ];
        for (name, value) in optional {
            if let Some(v) = value {
                p.set(name, v);
            }
        }
        p.set("time", format_time(now));

        // Judge it exactly as the gateway will. The validator wants a `sign`
        // to be present; its value is not looked at.
        let probe = p.clone().with("sign", "0".repeat(64));
        PreOrderRequest::try_from(&probe).map_err(InvalidRequest::Field)?;
        Ok(p)
    }
}

/// An amount as sent: two places when they fit the wire's 8 characters,
/// else the shortest exact form (`150000`). An amount with no form that fits
/// is sent as `to_decimal_string`, for the validator to refuse by name.
pub(crate) fn wire_amount(a: Amount) -> String {
    a.to_wire_string().unwrap_or_else(|| a.to_decimal_string())
}

pub(crate) fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_deref().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// A successful Place an Order answer (`return_status` `00`), signature
/// verified.
///
/// `00` only means "accepted": the order is paid when a verified
/// notification (or a query) says `TRADE_SUCCESS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPlaced {
    /// Where the buyer pays: redirect or link to it.
    pub pay_apptrade: String,
    /// The gateway's order number.
    pub eft_trade_no: String,
    /// The merchant's order number (checked to match the request).
    pub out_trade_no: String,
    /// The merchant's key (checked to match the client's).
    pub user_confirm_key: String,
    /// `payType` echoed.
    pub pay_type: Option<String>,
    /// `buyerType` echoed.
    pub buyer_type: Option<String>,
    /// `wallet` echoed.
    pub wallet: Option<String>,
    /// `fee_type` (currency code) echoed.
    pub fee_type: Option<String>,
    /// `transaction_amount` echoed, as text.
    pub transaction_amount: Option<String>,
    /// `tid` echoed when the request had one.
    pub tid: Option<String>,
    /// The answer's `time` (UTC+8).
    pub time: Option<String>,
    /// The whole verified answer, in received order, for fields this struct
    /// does not name.
    pub answer: Params,
}

impl OrderPlaced {
    pub(crate) fn from_answer(answer: Params, out_trade_no: &str, user_confirm_key: &str) -> Result<Self, String> {
        let need = |name: &str| answer.get(name).map(str::to_owned).ok_or_else(|| format!("the answer has no {name}"));
        let got_no = need("out_trade_no")?;
        if got_no != out_trade_no {
            return Err(format!("the answer is for out_trade_no {got_no:?}, not {out_trade_no:?}"));
        }
        // Older gateways may not echo the key; when echoed it must match.
        let key = answer.get("user_confirm_key").unwrap_or(user_confirm_key);
        if key != user_confirm_key {
            return Err(format!("the answer is for user_confirm_key {key:?}"));
        }
        let opt = |name: &str| answer.get(name).map(str::to_owned);
        Ok(Self {
            pay_apptrade: need("pay_apptrade")?,
            eft_trade_no: need("eft_trade_no")?,
            out_trade_no: got_no,
            user_confirm_key: key.to_owned(),
            pay_type: opt("payType"),
            buyer_type: opt("buyerType"),
            wallet: opt("wallet"),
            fee_type: opt("fee_type"),
            transaction_amount: opt("transaction_amount"),
            tid: opt("tid"),
            time: opt("time"),
            answer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2024-01-01 04:00:00 UTC);

    fn order(service: Service, wallet: Wallet) -> PlaceOrder {
        PlaceOrder::new(service, wallet, "ORDER-1", Amount::from_minor(10).unwrap(), Currency::Hkd, "Testing")
    }

    #[test]
    fn the_service_enum_is_the_catalogue() {
        assert_eq!(Service::ALL.len(), PRE_ORDER_SERVICES.len());
        for s in Service::ALL {
            let spec = s.spec().unwrap_or_else(|| panic!("{s} not in the catalogue"));
            assert_eq!(spec.pay_type, s.pay_type(), "{s}");
            assert_eq!(s.wallets().len(), spec.wallets.len(), "{s}: wallets");
            assert!(s.default_pay_scene().is_some(), "{s}: scene");
            for scene in spec.pay_scenes {
                assert!(scene.parse::<PayScene>().is_ok(), "{s}: {scene}");
            }
            assert_eq!(s.name().parse::<Service>(), Ok(*s));
        }
    }

    #[test]
    fn parameters_follow_the_page_and_never_carry_empty_values() {
        let p = order(Service::AlipayWap, Wallet::AlipayHk).body("").tid("").to_params("KEY1", NOW).unwrap();
        assert_eq!(
            p.keys().collect::<Vec<_>>(),
            [
                "service",
                "user_confirm_key",
                "transaction_amount",
                "out_trade_no",
                "payType",
                "buyerType",
                "subject",
                "wallet",
                "pay_scene",
                "fee_type",
                "time"
            ]
        );
        assert!(p.iter().all(|(_, v)| !v.as_str().is_empty()));
        assert_eq!(p.get("transaction_amount"), Some("0.10"));
        assert_eq!(p.get("pay_scene"), Some("WAP"));
        assert_eq!(p.get("time"), Some("20240101120000"));
    }

    #[test]
    fn large_amounts_are_sent_in_a_form_that_fits_eight_characters() {
        let with = |minor| {
            PlaceOrder::new(
                Service::OctOnline,
                Wallet::Oct,
                "BIG1",
                Amount::from_minor(minor).unwrap(),
                Currency::Hkd,
                "s",
            )
            .to_params("KEY1", NOW)
        };
        assert_eq!(with(9_999_999).unwrap().get("transaction_amount"), Some("99999.99"));
        assert_eq!(with(15_000_000).unwrap().get("transaction_amount"), Some("150000"));
        assert_eq!(with(12_345_650).unwrap().get("transaction_amount"), Some("123456.5"));
        assert_eq!(with(9_999_999_900).unwrap().get("transaction_amount"), Some("99999999"));
        // No form fits: refused before sending, naming the field.
        let err = with(123_456_789).unwrap_err().to_string();
        assert!(err.contains("transaction_amount") && err.contains("8"), "{err}");
    }

    #[test]
    fn wrong_combinations_are_refused_before_sending() {
        let cases: Vec<(PlaceOrder, &str)> = vec![
            (order(Service::AlipayWap, Wallet::WechatHk), "wallet"),
            (order(Service::AlipayWap, Wallet::AlipayHk).pay_scene(PayScene::Web), "pay_scene"),
            (order(Service::PaymeWeb, Wallet::Payme).pay_scene(PayScene::H5), "pay_scene"),
            (order(Service::AlipayWap, Wallet::AlipayHk).lang(Lang::En), "lang"),
            (order(Service::MpgsWeb, Wallet::Mpgs).scheme("myapp"), "scheme"),
            (order(Service::PaymeWeb, Wallet::Payme).package_name("com.x"), "packageName"),
            (order(Service::OctOnline, Wallet::Oct).app_link("myapp://back"), "app_link"),
            (order(Service::OctOnline, Wallet::Oct).return_url("https://m.example/r?x=1"), "return_url"),
            (order(Service::OctOnline, Wallet::Oct).notify_url("ftp://m.example/"), "notify_url"),
            (order(Service::OctOnline, Wallet::Oct).active_time(5), "active_time"),
            (order(Service::OctOnline, Wallet::Oct).tid("1".repeat(21)), "tid"),
            (
                PlaceOrder::new(
                    Service::OctOnline,
                    Wallet::Oct,
                    "",
                    Amount::from_minor(1).unwrap(),
                    Currency::Hkd,
                    "s",
                ),
                "out_trade_no",
            ),
            (
                PlaceOrder::new(
                    Service::OctOnline,
                    Wallet::Oct,
                    "1",
                    Amount::from_minor(1_000_000_001).unwrap(),
                    Currency::Hkd,
                    "s",
                ),
                "transaction_amount",
            ),
        ];
        for (o, field) in cases {
            let err = o.to_params("KEY1", NOW).expect_err(field);
            assert!(err.to_string().contains(field), "{field}: {err}");
        }
    }

    #[test]
    fn allowed_combinations_pass() {
        for s in Service::ALL {
            let spec = s.spec().unwrap();
            for w in s.wallets() {
                for scene in spec.pay_scenes {
                    let o = order(*s, w).pay_scene(scene.parse().unwrap());
                    assert!(o.to_params("KEY1", NOW).is_ok(), "{s} {w} {scene}");
                }
            }
        }
        assert!(
            order(Service::UnionPayOnline, Wallet::UnionPay)
                .scheme("myapp")
                .package_name("com.shop.app")
                .to_params("K", NOW)
                .is_ok()
        );
        assert!(
            order(Service::BocVmpUpiWap, Wallet::BocVmpUpi)
                .pay_scene(PayScene::App)
                .app_link("myapp://paid")
                .to_params("K", NOW)
                .is_ok()
        );
        assert!(order(Service::AeWeb, Wallet::Ae).lang(Lang::Hk).to_params("K", NOW).is_ok());
    }

    #[test]
    fn wire_enums_parse_their_codes_only() {
        assert_eq!("ALIPAYHK".parse::<Wallet>(), Ok(Wallet::AlipayHk));
        assert!("alipayhk".parse::<Wallet>().is_err());
        assert_eq!("ONLINE_WEB".parse::<PayScene>(), Ok(PayScene::OnlineWeb));
        assert_eq!("ios".parse::<BuyerType>(), Ok(BuyerType::Ios));
        let err = "x".parse::<Service>().unwrap_err();
        assert!(err.contains("service.alipay.wap.PreOrder"), "{err}");
    }
}
