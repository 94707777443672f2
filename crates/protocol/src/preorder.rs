//! Place an Order (`service.*.PreOrder` and friends on `JSAPIService.do`):
//! the typed request, its validation rules and the answer's fields.

use crate::amount::{Amount, AmountError, Currency};
use crate::codes::ReturnStatus;
use crate::fields::{
    ACTIVE_TIME_DEFAULT, AppLink, AppScheme, Body, BuyerType, FieldProblem, HttpUrl, Lang, OutTradeNo, PackageName,
    Subject, Tid, UserConfirmKey, parse_active_time,
};
use crate::legacy::{ServiceSpec, pre_order_service};
use crate::params::{Params, ValueKind};
use crate::vmptime::VmpTime;

/// Parameters a Place an Order request must carry (the API page leaves its
/// "Requirement" column empty; these are what every real client sends).
pub const REQUIRED: [&str; 10] = [
    "service",
    "user_confirm_key",
    "transaction_amount",
    "out_trade_no",
    "payType",
    "buyerType",
    "wallet",
    "subject",
    "time",
    "sign",
];

/// Every documented Place an Order parameter. Each must be a JSON string
/// when present.
pub const DOCUMENTED: [&str; 21] = [
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

/// Why a Place an Order request was refused. Each variant maps to one
/// `return_status` ([`PreOrderError::return_status`]); `Display` is the
/// `return_char`, and always names the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreOrderError {
    /// A required parameter is absent or empty.
    #[error("parameter error: {0} is required")]
    Missing(&'static str),
    /// A documented parameter was sent as a JSON number, object, etc.
    #[error("parameter error: {0} must be a JSON string")]
    NotAString(&'static str),
    /// A parameter value breaks its rule.
    #[error("parameter error: check {field} ({problem})")]
    Field {
        /// Wire name.
        field: &'static str,
        /// What is wrong.
        problem: FieldProblem,
    },
    /// `transaction_amount` is not a valid amount string.
    #[error("parameter error: check transaction_amount ({0})")]
    AmountFormat(AmountError),
    /// `transaction_amount` is zero.
    #[error("amount out of range: transaction_amount must be greater than 0")]
    AmountZero,
    /// `payType` is not the one this service takes.
    #[error("payType must be {expected} for {service}")]
    PayType {
        /// The service's payType.
        expected: &'static str,
        /// The service.
        service: &'static str,
    },
    /// `wallet` is not one this service takes.
    #[error("wallet not supported by this service; supported wallet is {allowed}")]
    Wallet {
        /// Accepted wallets, `/`-separated.
        allowed: String,
    },
    /// `pay_scene` is not one this service takes.
    #[error("pay_scene not supported by this service; use {allowed}")]
    PayScene {
        /// Accepted scenes, `/`-separated.
        allowed: String,
    },
    /// `lang` is not `cn`, `en` or `hk`.
    #[error("parameter error: check lang (cn, en or hk)")]
    Lang,
    /// `lang` was sent to a service whose page has one language only.
    #[error("parameter error: lang is not supported by {0}")]
    LangNotSupported(&'static str),
    /// `fee_type` is not HKD or CNY.
    #[error("currency not supported: fee_type must be HKD or CNY")]
    Currency,
    /// `return_url` carries a query string or fragment.
    #[error("parameter error: return_url cannot carry parameters")]
    ReturnUrlWithParameters,
}

impl PreOrderError {
    /// The `return_status` for this refusal.
    pub fn return_status(&self) -> ReturnStatus {
        match self {
            Self::Missing(_) | Self::NotAString(_) | Self::Field { .. } | Self::AmountFormat(_) => {
                ReturnStatus::InvalidParameter
            }
            Self::Lang | Self::LangNotSupported(_) | Self::ReturnUrlWithParameters => ReturnStatus::InvalidParameter,
            Self::AmountZero => ReturnStatus::AmountOutOfRange,
            Self::PayType { .. } => ReturnStatus::InvalidPayType,
            Self::Wallet { .. } => ReturnStatus::WalletRestricted,
            Self::PayScene { .. } => ReturnStatus::PaySceneNotSupported,
            Self::Currency => ReturnStatus::CurrencyNotSupported,
        }
    }
}

/// A validated Place an Order request.
#[derive(Debug, Clone)]
pub struct PreOrderRequest {
    /// The service, from the catalogue.
    pub service: &'static ServiceSpec,
    /// The merchant's key.
    pub user_confirm_key: UserConfirmKey,
    /// The amount as sent (echoed verbatim in answers).
    pub amount_text: String,
    /// The amount in minor units.
    pub amount: Amount,
    /// The merchant's order number.
    pub out_trade_no: OutTradeNo,
    /// `payType` (the catalogue's spelling).
    pub pay_type: &'static str,
    /// `buyerType` as sent.
    pub buyer_type: BuyerType,
    /// `subject`.
    pub subject: Subject,
    /// `wallet` (the catalogue's spelling).
    pub wallet: &'static str,
    /// `body`, when sent.
    pub body: Option<Body>,
    /// `pay_scene`, or the service's default.
    pub pay_scene: &'static str,
    /// `fee_type`, default HKD.
    pub currency: Currency,
    /// `tid`, when sent.
    pub tid: Option<Tid>,
    /// `notify_url`, when sent.
    pub notify_url: Option<HttpUrl>,
    /// `return_url`, when sent.
    pub return_url: Option<HttpUrl>,
    /// `active_time` in seconds, default 1800.
    pub active_time: u32,
    /// `lang`, when sent.
    pub lang: Option<Lang>,
    /// `scheme`, when sent.
    pub scheme: Option<AppScheme>,
    /// `packageName`, when sent.
    pub package_name: Option<PackageName>,
    /// `app_link`, when sent.
    pub app_link: Option<AppLink>,
    /// `time`.
    pub time: VmpTime,
}

fn field<T>(name: &'static str, r: Result<T, FieldProblem>) -> Result<T, PreOrderError> {
    r.map_err(|problem| PreOrderError::Field { field: name, problem })
}

fn optional<'a>(p: &'a Params, name: &'static str) -> Option<&'a str> {
    p.get(name)
}

fn required<'a>(p: &'a Params, name: &'static str) -> Result<&'a str, PreOrderError> {
    p.get(name).ok_or(PreOrderError::Missing(name))
}

impl TryFrom<&Params> for PreOrderRequest {
    type Error = PreOrderError;

    /// Validates every rule of the API page. The signature, merchant and
    /// `time` window are the caller's business (they need the merchant).
    fn try_from(p: &Params) -> Result<Self, PreOrderError> {
        for name in DOCUMENTED {
            if let Some(v) = p.get_raw(name)
                && v.kind() == ValueKind::Other
            {
                return Err(PreOrderError::NotAString(name));
            }
        }
        for name in REQUIRED {
            required(p, name)?;
        }
        let service_name = required(p, "service")?;
        let service = pre_order_service(service_name).ok_or(PreOrderError::Field {
            field: "service",
            problem: FieldProblem::Invalid("not a Place an Order service"),
        })?;
        let user_confirm_key = field("user_confirm_key", UserConfirmKey::parse(required(p, "user_confirm_key")?))?;
        let out_trade_no = field("out_trade_no", OutTradeNo::parse(required(p, "out_trade_no")?))?;

        let pay_type = required(p, "payType")?;
        if pay_type != service.pay_type {
            return Err(PreOrderError::PayType { expected: service.pay_type, service: service.name });
        }
        let wallet = service
            .accepts_wallet(required(p, "wallet")?)
            .ok_or_else(|| PreOrderError::Wallet { allowed: service.wallets.join("/") })?;
        let pay_scene = match optional(p, "pay_scene") {
            None => service.default_pay_scene(),
            Some(s) => service
                .accepts_pay_scene(s)
                .ok_or_else(|| PreOrderError::PayScene { allowed: service.pay_scenes.join("/") })?,
        };

        let amount_text = required(p, "transaction_amount")?;
        let amount = match Amount::parse(amount_text) {
            Ok(a) => a,
            Err(AmountError::Zero) => return Err(PreOrderError::AmountZero),
            Err(e) => return Err(PreOrderError::AmountFormat(e)),
        };
        let currency = match optional(p, "fee_type") {
            None => Currency::Hkd,
            Some(c) => c.parse().map_err(|_| PreOrderError::Currency)?,
        };

        let buyer_type = field("buyerType", BuyerType::parse(required(p, "buyerType")?))?;
        let subject = field("subject", Subject::parse(required(p, "subject")?))?;
        let body = optional(p, "body").map(|s| field("body", Body::parse(s))).transpose()?;
        let tid = optional(p, "tid").map(|s| field("tid", Tid::parse(s))).transpose()?;
        let notify_url = optional(p, "notify_url").map(|s| field("notify_url", HttpUrl::parse(s))).transpose()?;
        let return_url = optional(p, "return_url").map(|s| field("return_url", HttpUrl::parse(s))).transpose()?;
        if let Some(u) = &return_url
            && (u.url().query().is_some() || u.url().fragment().is_some())
        {
            return Err(PreOrderError::ReturnUrlWithParameters);
        }
        let active_time = match optional(p, "active_time") {
            None => ACTIVE_TIME_DEFAULT,
            Some(s) => field("active_time", parse_active_time(s))?,
        };
        let lang = match optional(p, "lang") {
            None => None,
            Some(s) => {
                let lang = Lang::parse(s).ok_or(PreOrderError::Lang)?;
                if !service.supports_lang {
                    return Err(PreOrderError::LangNotSupported(service.name));
                }
                Some(lang)
            }
        };
        let scheme = optional(p, "scheme").map(|s| field("scheme", AppScheme::parse(s))).transpose()?;
        let package_name =
            optional(p, "packageName").map(|s| field("packageName", PackageName::parse(s))).transpose()?;
        let app_link = optional(p, "app_link").map(|s| field("app_link", AppLink::parse(s))).transpose()?;
        let time = VmpTime::parse(required(p, "time")?).map_err(|_| PreOrderError::Field {
            field: "time",
            problem: FieldProblem::Invalid("yyyyMMddHHmmss, UTC+8"),
        })?;

        Ok(Self {
            service,
            user_confirm_key,
            amount_text: amount_text.to_owned(),
            amount,
            out_trade_no,
            pay_type: service.pay_type,
            buyer_type,
            subject,
            wallet,
            body,
            pay_scene,
            currency,
            tid,
            notify_url,
            return_url,
            active_time,
            lang,
            scheme,
            package_name,
            app_link,
            time,
        })
    }
}

/// The business fields of a successful Place an Order answer, in the order
/// the gateway writes them. `return_status`, `return_char`, `time` and
/// `sign` are added by [`crate::answer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreOrderAnswer {
    /// Where the buyer pays.
    pub pay_apptrade: String,
    /// Echo of the request.
    pub user_confirm_key: String,
    /// Echo of the request.
    pub out_trade_no: String,
    /// The gateway's order number (digits).
    pub eft_trade_no: String,
    /// Echo of the request.
    pub pay_type: String,
    /// Echo of the request.
    pub buyer_type: String,
    /// Echo of the request.
    pub wallet: String,
    /// The currency code.
    pub fee_type: String,
    /// The amount string as sent.
    pub transaction_amount: String,
    /// Echo of the request (empty when not sent).
    pub tid: String,
}

impl PreOrderAnswer {
    /// The fields as wire parameters (moved, not copied).
    pub fn into_params(self) -> Params {
        Params::new()
            .with("pay_apptrade", self.pay_apptrade)
            .with("user_confirm_key", self.user_confirm_key)
            .with("out_trade_no", self.out_trade_no)
            .with("eft_trade_no", self.eft_trade_no)
            .with("payType", self.pay_type)
            .with("buyerType", self.buyer_type)
            .with("wallet", self.wallet)
            .with("fee_type", self.fee_type)
            .with("transaction_amount", self.transaction_amount)
            .with("tid", self.tid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> Params {
        // The API page's example request.
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

    #[test]
    fn the_seed_example_is_valid() {
        let r = PreOrderRequest::try_from(&seed()).unwrap();
        assert_eq!(r.service.name, "service.alipay.wap.PreOrder");
        assert_eq!(r.amount.minor(), 2);
        assert_eq!(r.amount_text, "0.02");
        assert_eq!(r.buyer_type.as_str(), "andriod");
        assert_eq!(r.tid, None);
        assert_eq!(r.currency, Currency::Hkd);
        assert_eq!(r.active_time, 1800);
        assert_eq!(r.pay_scene, "WAP");
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
            ("letters", "transaction_amount", Some("abc"), ReturnStatus::InvalidParameter, "transaction_amount"),
            ("leading space", "transaction_amount", Some(" 1"), ReturnStatus::InvalidParameter, "transaction_amount"),
            ("wrong payType", "payType", Some("WeChat"), ReturnStatus::InvalidPayType, "payType"),
            ("wrong wallet", "wallet", Some("WECHATHK"), ReturnStatus::WalletRestricted, "wallet"),
            ("wrong pay_scene", "pay_scene", Some("WEB"), ReturnStatus::PaySceneNotSupported, "pay_scene"),
            ("bad lang", "lang", Some("fr"), ReturnStatus::InvalidParameter, "lang"),
            ("lang on alipay", "lang", Some("en"), ReturnStatus::InvalidParameter, "lang"),
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
            ("bad time", "time", Some("2019-08-24"), ReturnStatus::InvalidParameter, "time"),
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
            let err = PreOrderRequest::try_from(&p).expect_err(what);
            assert_eq!(err.return_status(), status, "{what}: {err}");
            let text = err.to_string();
            let named_ok = text.contains(named)
                || (key == "wallet" && text.contains("wallet"))
                || (key == "fee_type" && text.contains("fee_type"));
            assert!(named_ok, "{what}: {text:?} should name {named}");
            assert!(text.chars().count() <= 100, "{what}: return_char over 100 chars: {text}");
        }
    }

    #[test]
    fn non_string_values_are_refused_for_documented_fields() {
        let mut p = Params::from_json(br#"{"transaction_amount":0.02}"#).unwrap();
        for (k, v) in seed().iter() {
            if k != "transaction_amount" {
                p.set(k, v.as_str());
            }
        }
        assert_eq!(PreOrderRequest::try_from(&p).unwrap_err(), PreOrderError::NotAString("transaction_amount"));
    }

    #[test]
    fn lang_is_accepted_where_the_page_supports_it() {
        let mut p = seed();
        p.set("service", "service.mpgs.web.PreOrder")
            .set("payType", "Mpgs")
            .set("wallet", "MPGS")
            .set("pay_scene", "WEB")
            .set("lang", "hk");
        assert_eq!(PreOrderRequest::try_from(&p).unwrap().lang, Some(Lang::Hk));
    }

    #[test]
    fn pay_scene_defaults_per_service() {
        let mut p = seed();
        p.remove("pay_scene");
        p.set("service", "service.bocvmp.upi.wap.PreOrder").set("payType", "BOCVMP").set("wallet", "BOCVMPUPI");
        assert_eq!(PreOrderRequest::try_from(&p).unwrap().pay_scene, "H5");
    }
}
