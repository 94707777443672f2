//! The `payPackage` of a jsapi or app order, as the gateway issues it, and
//! its check on the sandbox's wallet pages (docs/protocol.md "The jsapi
//! scene", "The app scene").
//!
//! A real wallet signs its packages with keys eftPay holds; the sandbox
//! signs them with the gateway's pay-link key, each kind under a purpose
//! of its own ([`PayLinks::token_for`]), so a package can be neither forged
//! nor changed: WeChat Pay's `paySign` / `sign` cover WeChat's own sign text
//! (`signType` `HMAC-SHA256`, uppercase hex as WeChat writes it), Alipay's
//! app `orderStr` carries a `sign` over Alipay's sign text, and Alipay's
//! JSAPI `tradeNO` (which the wallet takes alone) ends in 9 check digits.
//! Every value is derived from the order, so a replayed sale gets the same
//! package.

use time::OffsetDateTime;
use vmp_protocol::Params;
use vmp_protocol::answer::{
    AlipayAppPackage, AlipayJsapiPackage, PayPackage, WECHAT_APP_PACKAGE, WechatAppPackage, WechatJsapiPackage,
};
use vmp_protocol::catalogue::{PayType, Scene};
use vmp_protocol::vmptime::VmpTime;

use crate::domain::{EftTradeNo, Order};
use crate::paylink::PayLinks;

/// `signType` of the sandbox's WeChat Pay packages.
pub const SIGN_TYPE: &str = "HMAC-SHA256";
/// Check digits at the end of a sandbox Alipay `tradeNO`.
const TRADE_NO_CHECK_DIGITS: usize = 9;

const WECHAT_JSAPI: &str = "wechat-jsapi";
const WECHAT_APP: &str = "wechat-app";
const ALIPAY_JSAPI: &str = "alipay-jsapi";
const ALIPAY_APP: &str = "alipay-app";

/// Why a package handed to a wallet page is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PackageRefusal {
    /// Its keys are no wallet's, or one is missing.
    #[error("this is no payPackage of WeChat Pay or Alipay")]
    Unreadable,
    /// Its signature (`paySign`, `sign`, the `tradeNO` check digits) does
    /// not verify: it was changed after the gateway issued it.
    #[error("the payPackage's signature does not verify: it was changed after the gateway issued it")]
    BadSignature,
    /// It verifies, but it is not what the gateway issued for the order it
    /// names (another scene's package, an unknown order).
    #[error("the payPackage is not the one issued for its order")]
    NotIssued,
}

/// `n` hex digits of a token, for ids that look like the wallet's.
fn hex_id(links: &PayLinks, purpose: &str, parts: &[&str], n: usize) -> String {
    links.token_for(purpose, parts).chars().take(n).collect()
}

/// `n` decimal digits derived from a token.
fn digits(links: &PayLinks, purpose: &str, parts: &[&str], n: usize) -> String {
    links.token_for(purpose, parts).bytes().take(n).map(|b| char::from(b'0' + b % 10)).collect()
}

/// The `prepay_id` of an order: `wx` and its `eft_trade_no`.
fn prepay_id(order: &Order) -> String {
    format!("wx{}", order.eft_trade_no)
}

/// The package the gateway issues for a jsapi or app order (by its
/// service's scene and its wallet's family).
pub fn issue(links: &PayLinks, order: &Order) -> PayPackage {
    let key = order.user_confirm_key.as_str();
    let eft = order.eft_trade_no.as_str();
    let nonce = hex_id(links, "nonce", &[eft], 32).to_uppercase();
    let timestamp = order.created_at.to_string();
    let app = order.service.spec().behaves_as().spec().scene == Scene::App;
    match (app, order.pay_type) {
        (false, Some(PayType::WeChat)) => {
            let mut p = WechatJsapiPackage {
                app_id: format!("wx{}", hex_id(links, "appId", &[key], 16)),
                time_stamp: timestamp,
                nonce_str: nonce,
                package: format!("prepay_id={}", prepay_id(order)),
                sign_type: SIGN_TYPE.to_owned(),
                pay_sign: String::new(),
            };
            p.pay_sign = links.token_for(WECHAT_JSAPI, &[&p.sign_text()]).to_uppercase();
            PayPackage::WechatJsapi(p)
        }
        (false, _) => PayPackage::AlipayJsapi(AlipayJsapiPackage {
            trade_no: format!("{eft}{}", digits(links, ALIPAY_JSAPI, &[eft], TRADE_NO_CHECK_DIGITS)),
        }),
        (true, Some(PayType::WeChat)) => {
            let mut p = WechatAppPackage {
                appid: format!("wx{}", hex_id(links, "app-appid", &[key], 16)),
                partnerid: format!("1{}", digits(links, "partnerid", &[key], 9)),
                prepayid: prepay_id(order),
                package: WECHAT_APP_PACKAGE.to_owned(),
                noncestr: nonce,
                timestamp,
                sign: String::new(),
            };
            p.sign = links.token_for(WECHAT_APP, &[&p.sign_text()]).to_uppercase();
            PayPackage::WechatApp(p)
        }
        (true, _) => {
            let fields = alipay_order_fields(links, order);
            let sign = links.token_for(ALIPAY_APP, &[&AlipayAppPackage::sign_text(&fields)]);
            PayPackage::AlipayApp(AlipayAppPackage::new(&fields, &sign))
        }
    }
}

/// The fields of an Alipay app order string (Alipay's `alipay.trade.app.pay`
/// request; `sign_type` names the sandbox's own signature).
fn alipay_order_fields(links: &PayLinks, order: &Order) -> Params {
    let mut biz = Params::new()
        .with("out_trade_no", order.eft_trade_no.as_str())
        .with("product_code", "QUICK_MSECURITY_PAY")
        .with("total_amount", order.amount.to_decimal_string())
        .with("timeout_express", format!("{}m", (order.active_time / 60).max(1)));
    if !order.subject.is_empty() {
        biz.set("subject", &order.subject);
    }
    let created = OffsetDateTime::from_unix_timestamp(order.created_at)
        .map(|t| VmpTime::from_datetime(t).to_gmt_string())
        .unwrap_or_default();
    Params::new()
        .with("app_id", format!("2021{}", digits(links, "alipay-app-id", &[order.user_confirm_key.as_str()], 12)))
        .with("biz_content", biz.to_json())
        .with("charset", "utf-8")
        .with("format", "JSON")
        .with("method", "alipay.trade.app.pay")
        .with("sign_type", SIGN_TYPE)
        .with("timestamp", created)
        .with("version", "1.0")
}

/// Checks a package a wallet page was handed and names the order it pays:
/// its signature first, then that it is exactly what [`issue`] gives for
/// that order (the caller compares, once it has the order).
///
/// # Errors
/// [`PackageRefusal`] says why it is refused.
pub fn check(links: &PayLinks, package: &PayPackage) -> Result<EftTradeNo, PackageRefusal> {
    let eft = match package {
        PayPackage::WechatJsapi(p) => {
            if !links.verify_for(WECHAT_JSAPI, &[&p.sign_text()], &p.pay_sign) {
                return Err(PackageRefusal::BadSignature);
            }
            p.prepay_id().and_then(|id| id.strip_prefix("wx")).ok_or(PackageRefusal::NotIssued)?.to_owned()
        }
        PayPackage::WechatApp(p) => {
            if !links.verify_for(WECHAT_APP, &[&p.sign_text()], &p.sign) {
                return Err(PackageRefusal::BadSignature);
            }
            p.prepayid.strip_prefix("wx").ok_or(PackageRefusal::NotIssued)?.to_owned()
        }
        PayPackage::AlipayJsapi(p) => {
            let n = p.trade_no.len();
            if n <= TRADE_NO_CHECK_DIGITS || !p.trade_no.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PackageRefusal::BadSignature);
            }
            let (eft, check) = p.trade_no.split_at(n - TRADE_NO_CHECK_DIGITS);
            // Constant time is moot for 9 digits anyone may try; equality suffices.
            if digits(links, ALIPAY_JSAPI, &[eft], TRADE_NO_CHECK_DIGITS) != check {
                return Err(PackageRefusal::BadSignature);
            }
            eft.to_owned()
        }
        PayPackage::AlipayApp(p) => {
            let fields = p.fields().map_err(|_| PackageRefusal::Unreadable)?;
            let sign = fields.get("sign").ok_or(PackageRefusal::BadSignature)?;
            if !links.verify_for(ALIPAY_APP, &[&AlipayAppPackage::sign_text(&fields)], sign) {
                return Err(PackageRefusal::BadSignature);
            }
            let biz = fields.get("biz_content").ok_or(PackageRefusal::NotIssued)?;
            let biz = Params::from_json(biz.as_bytes()).map_err(|_| PackageRefusal::NotIssued)?;
            biz.get("out_trade_no").ok_or(PackageRefusal::NotIssued)?.to_owned()
        }
        _ => return Err(PackageRefusal::Unreadable),
    };
    EftTradeNo::from_string(eft).map_err(|_| PackageRefusal::NotIssued)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmp_protocol::Amount;
    use vmp_protocol::catalogue::{Service, Wallet};

    fn order(service: Service, wallet: Wallet) -> Order {
        let mut o = crate::domain::sample_order(service, wallet);
        o.amount = Amount::from_minor(1250).unwrap();
        o.subject = "咖啡 & cake".into();
        o
    }

    #[test]
    fn each_scene_and_wallet_gets_its_wallets_package_which_checks_and_names_its_order() {
        let links = PayLinks::new(vec![3; 32]);
        for (service, wallet, kind) in [
            (Service::WechatJsapi, Wallet::WechatHk, "paySign"),
            (Service::AlipayPlusJsapi, Wallet::AlipayCn, "tradeNO"),
            (Service::AppPay, Wallet::WechatCn, "prepayid"),
            (Service::CommonAppPay, Wallet::AlipayHk, "orderStr"),
        ] {
            let o = order(service, wallet);
            let package = issue(&links, &o);
            assert!(package.to_params().contains(kind), "{service} {wallet}: {package:?}");
            assert_eq!(issue(&links, &o), package, "deterministic: a replay gets the same package");
            assert_eq!(check(&links, &package), Ok(o.eft_trade_no.clone()), "{service}");
            assert_eq!(check(&PayLinks::new(vec![4; 32]), &package), Err(PackageRefusal::BadSignature), "{service}");
        }
    }

    #[test]
    fn changing_any_key_of_a_package_breaks_its_signature() {
        let links = PayLinks::new(vec![3; 32]);
        for (service, wallet) in [
            (Service::WechatJsapi, Wallet::WechatHk),
            (Service::AlipayJsapi, Wallet::AlipayHk),
            (Service::AppPay, Wallet::WechatHk),
            (Service::AppPay, Wallet::AlipayHk),
        ] {
            let fields = issue(&links, &order(service, wallet)).to_params();
            for key in fields.keys() {
                let mut changed = fields.clone();
                let value = changed.get(key).unwrap_or_default().to_owned();
                // One character more, or the last digit changed.
                let tampered = match value.strip_suffix(|c: char| c.is_ascii_digit()) {
                    Some(head) if value.ends_with('1') => format!("{head}2"),
                    Some(head) => format!("{head}1"),
                    None => format!("{value}x"),
                };
                changed.set(key, tampered);
                let refused = PayPackage::from_params(&changed).map_err(|_| PackageRefusal::Unreadable);
                let refused = refused.and_then(|p| check(&links, &p));
                assert!(
                    matches!(refused, Err(PackageRefusal::BadSignature | PackageRefusal::Unreadable)),
                    "{service} {wallet} {key}: {refused:?}"
                );
            }
        }
        let PayPackage::AlipayApp(p) = issue(&links, &order(Service::AppPay, Wallet::AlipayHk)) else { panic!() };
        let amount_changed =
            PayPackage::AlipayApp(AlipayAppPackage { order_str: p.order_str.replace("12.50", "0.01") });
        assert!(p.order_str.contains("12.50"), "{}", p.order_str);
        assert_eq!(check(&links, &amount_changed), Err(PackageRefusal::BadSignature));
    }
}
