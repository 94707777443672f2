//! The app scene (the wallet's SDK in the merchant's mobile app):
//! [`AppOrder`], the sale of `AppTradePay.do` and of the "new interface"
//! `CommonAppTradePay.do` (docs/protocol.md "The app scene"). Its refunds
//! are the camelCase [`Refund`](super::Refund) on `AppTradeRefund.do`,
//! `AppTradeApplyRefund.do` and `CommonAppTradeRefund.do`.

use crate::catalogue::{Operation, PayType, Scene, Service, Wallet};
use crate::codes::ReturnStatus;
use crate::fields::{ACTIVE_TIME_DEFAULT, FieldProblem};
use crate::params::Params;

use super::{PlaceOrder, PlaceOrderBuilder, RequestError, clip};

/// `active_time` of a WeChat Pay app order that sends none (eftPay: 900).
pub const WECHAT_APP_ACTIVE_TIME: u32 = 900;

/// An app sale (build one with [`AppOrder::builder`]): eftPay's Place an Order fields (camelCase, no `service`),
/// WeChat Pay and Alipay only, `pay_scene` `APP`, answered with the
/// `payPackage` the wallet's mobile SDK takes instead of a pay link.
///
/// Its own rules on top of Place an Order's: `wallet` must be of the
/// `payType`'s family (`-16`); `active_time` defaults to 900 seconds for
/// WeChat Pay and 1800 for Alipay, and Alipay's must be a multiple of 60.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppOrder {
    /// The order's fields, read by Place an Order's rules.
    pub order: PlaceOrder,
}

/// The `active_time` an app order of `wallet` gets when it sends none.
pub const fn default_active_time(wallet: Wallet) -> u32 {
    match wallet.family() {
        PayType::WeChat => WECHAT_APP_ACTIVE_TIME,
        _ => ACTIVE_TIME_DEFAULT,
    }
}

impl AppOrder {
    /// Starts a request for `service` (`Service::AppPay` or
    /// `Service::CommonAppPay`) with Place an Order's setters; finish it
    /// with [`PlaceOrderBuilder::build_app`].
    pub fn builder(service: Service) -> PlaceOrderBuilder {
        PlaceOrder::builder(service)
    }

    pub(super) fn parse(service: Service, p: &Params) -> Result<Self, RequestError> {
        let mut order = PlaceOrder::parse(service, p)?;
        if !order.wallet.same_family_as(order.pay_type) {
            let family: Vec<&str> = service
                .spec()
                .wallets
                .iter()
                .filter(|w| w.same_family_as(order.pay_type))
                .map(|w| w.as_str())
                .collect();
            return Err(RequestError::NotAllowed {
                field: "wallet",
                given: clip(order.wallet.as_str(), 20),
                service: service.label(),
                allowed: family.join("/"),
                status: ReturnStatus::WalletRestricted,
            });
        }
        match p.get("active_time") {
            None => order.active_time = default_active_time(order.wallet),
            Some(_) if order.pay_type == PayType::Alipay && !order.active_time.is_multiple_of(60) => {
                return Err(RequestError::Field {
                    field: "active_time",
                    problem: FieldProblem::Invalid("Alipay: a multiple of 60 seconds"),
                });
            }
            Some(_) => {}
        }
        Ok(Self { order })
    }

    pub(super) fn write(&self, p: &mut Params) {
        self.order.write(p);
        // Place an Order leaves out its own default (1800); the app's
        // default depends on the wallet.
        if self.order.active_time == default_active_time(self.order.wallet) {
            p.remove("active_time");
        } else {
            p.set("active_time", self.order.active_time.to_string());
        }
    }
}

impl PlaceOrderBuilder {
    /// Finishes an app sale ([`AppOrder::builder`]), judged exactly as the
    /// gateway will: `payType` follows from the wallet, `buyerType` is
    /// `others` and `pay_scene` `APP` unless set.
    ///
    /// ```
    /// use vmp_protocol::catalogue::{PayType, Service, Wallet};
    /// use vmp_protocol::request::AppOrder;
    /// use vmp_protocol::Amount;
    /// let app = AppOrder::builder(Service::AppPay)
    ///     .wallet(Wallet::WechatHk)
    ///     .out_trade_no("APP-1")
    ///     .amount(Amount::from_minor(10).unwrap())
    ///     .subject("Testing")
    ///     .build_app()
    ///     .unwrap();
    /// assert_eq!(app.order.pay_type, PayType::WeChat);
    /// assert_eq!(app.order.active_time, 900, "WeChat Pay's default");
    /// ```
    ///
    /// # Errors
    /// [`RequestError`] naming the field at fault.
    pub fn build_app(self) -> Result<AppOrder, RequestError> {
        let (service, mut p, error) = self.into_parts();
        if let Some(e) = error {
            return Err(e);
        }
        let spec = service.spec();
        if !spec.is_ready() {
            return Err(RequestError::NotSupported(service));
        }
        if spec.op != Operation::Sale || spec.behaves_as().spec().scene != Scene::App {
            return Err(RequestError::WrongRequest { service, request: "a request of its own scene" });
        }
        if !p.contains("payType")
            && let Some(w) = p.get("wallet").and_then(Wallet::parse)
        {
            p.set("payType", w.family().as_str());
        }
        if !p.contains("buyerType") {
            p.set("buyerType", "others");
        }
        AppOrder::parse(service, &p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Endpoint, PayScene};
    use crate::request::Request;

    /// RSM's app sale, as it sends it.
    fn rsm() -> Params {
        Params::from_json(
            br#"{"body":"Testing","buyerType":"android","fee_type":"HKD","out_trade_no":"20260101120000",
            "payType":"WeChat","pay_scene":"APP","subject":"Testing","tid":"123456","time":"20260101120000",
            "transaction_amount":"0.10","user_confirm_key":"S0001234","wallet":"WECHATHK","sign":"0"}"#,
        )
        .unwrap()
    }

    fn sale(endpoint: Endpoint, p: &Params) -> Result<AppOrder, RequestError> {
        match Request::parse(endpoint, p)? {
            Request::AppOrder(o) => Ok(o),
            other => panic!("not an app sale: {other:?}"),
        }
    }

    #[test]
    fn the_rsm_sale_is_read_on_both_servlets_with_wechats_default_active_time() {
        for endpoint in [Endpoint::AppTradePay, Endpoint::CommonAppTradePay] {
            let o = sale(endpoint, &rsm()).unwrap();
            assert_eq!(o.order.active_time, 900);
            assert_eq!(o.order.pay_scene, PayScene::App);
        }
        let mut p = rsm();
        p.set("payType", "Alipay").set("wallet", "ALIPAYCN");
        assert_eq!(sale(Endpoint::AppTradePay, &p).unwrap().order.active_time, 1800);
    }

    #[test]
    fn app_rules_on_top_of_place_an_orders() {
        let cases: [(&str, &str, ReturnStatus, &str); 6] = [
            ("wallet", "ALIPAYHK", ReturnStatus::WalletRestricted, "wallet"),
            ("wallet", "UNIONPAY", ReturnStatus::WalletRestricted, "wallet"),
            ("payType", "UnionPay", ReturnStatus::InvalidPayType, "payType"),
            ("pay_scene", "WEB", ReturnStatus::PaySceneNotSupported, "pay_scene"),
            ("active_time", "59", ReturnStatus::InvalidParameter, "active_time"),
            ("subject", "", ReturnStatus::InvalidParameter, "subject"),
        ];
        for (field, value, status, named) in cases {
            let mut p = rsm();
            p.set(field, value);
            let err = sale(Endpoint::AppTradePay, &p).expect_err(field);
            assert_eq!((err.return_status(), err.field()), (status, named), "{field}={value}: {err}");
        }
        let mut p = rsm();
        p.set("payType", "Alipay").set("wallet", "ALIPAYHK").set("active_time", "90");
        assert_eq!(sale(Endpoint::AppTradePay, &p).unwrap_err().field(), "active_time", "Alipay: multiples of 60");
        p.set("active_time", "120");
        assert_eq!(sale(Endpoint::AppTradePay, &p).unwrap().order.active_time, 120);
        p.set("payType", "WeChat").set("wallet", "WECHATCN").set("active_time", "90");
        assert_eq!(sale(Endpoint::AppTradePay, &p).unwrap().order.active_time, 90, "WeChat Pay takes any");
    }

    #[test]
    fn the_builder_round_trips_every_default() {
        for (wallet, seconds) in
            [(Wallet::WechatHk, None), (Wallet::AlipayCn, Some(1800)), (Wallet::WechatCn, Some(1800))]
        {
            let mut b = AppOrder::builder(Service::CommonAppPay)
                .wallet(wallet)
                .out_trade_no("APP-2")
                .amount(crate::Amount::from_minor(250).unwrap())
                .subject("s");
            if let Some(s) = seconds {
                b = b.active_time(s);
            }
            let r = Request::AppOrder(b.build_app().unwrap());
            assert_eq!(r.endpoint(), Endpoint::CommonAppTradePay);
            assert_eq!(Request::parse(r.endpoint(), &r.to_params()).unwrap(), r, "{wallet} {seconds:?}");
        }
        assert!(matches!(AppOrder::builder(Service::WechatJsapi).build(), Err(RequestError::WrongRequest { .. })));
    }
}
