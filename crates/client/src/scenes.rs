//! The jsapi and app scenes' calls (docs/protocol.md "The jsapi scene",
//! "The app scene"): placing their orders (answered with the wallet's
//! `payPackage`), refunding jsapi orders in the lowercase family, and
//! verifying the jsapi scene's notification. Queries, closes and app
//! refunds are [`Client::query`], [`Client::close_order`] and
//! [`Client::refund`] (with [`Service::AppRefund`](crate::Service::AppRefund)
//! and friends).

use vmp_protocol::answer::{AppOrderPlaced, JsapiOrderPlaced, JsapiRefundAnswer};
use vmp_protocol::notify::NotificationError;
use vmp_protocol::notify_jsapi::{JsapiNotification, verify_jsapi_notification};
use vmp_protocol::request::{AppOrder, JsapiOrder, JsapiRefund, Request};

use crate::{Client, ClientError};

impl Client {
    /// Places a jsapi order (WeChat official account or mini-program,
    /// Alipay JSAPI) and returns the verified answer: hand its
    /// `pay_package` to the wallet's JavaScript bridge. Idempotent like
    /// [`Client::place_order`].
    ///
    /// ```no_run
    /// # async fn run(client: vmp_client::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use vmp_client::{Amount, JsapiOrder, PayPackage, SceneType, Service, Wallet};
    /// let order = JsapiOrder::builder(Service::WechatJsapi)
    ///     .wallet(Wallet::WechatHk)
    ///     .scene_type(SceneType::Applets)
    ///     .sub_openid("oAbC-miniprogram-openid")
    ///     .out_trade_no("T2026010112000001")
    ///     .amount(Amount::parse("12.50")?)
    ///     .notify_url("https://shop.example/eft/notify")
    ///     .build()?;
    /// let placed = client.place_jsapi_order(&order).await?;
    /// if let PayPackage::WechatJsapi(p) = &placed.pay_package {
    ///     println!("wx.requestPayment({{timeStamp: {:?}, package: {:?}, …}})", p.time_stamp, p.package);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Client::send`].
    pub async fn place_jsapi_order(&self, order: &JsapiOrder) -> Result<JsapiOrderPlaced, ClientError> {
        let answer = self.send(&Request::JsapiOrder(order.clone())).await?;
        Ok(JsapiOrderPlaced::for_request(&answer, order, self.user_confirm_key())?)
    }

    /// Refunds a jsapi order (`service.wechat.jsapi.Refund`,
    /// `…ApplyRefund`, `service.alipay.jsapi.Refund`, the alipayplus one).
    /// Safe to retry with the same `refund_no` and fields.
    ///
    /// # Errors
    /// As [`Client::refund`].
    pub async fn jsapi_refund(&self, refund: &JsapiRefund) -> Result<JsapiRefundAnswer, ClientError> {
        let answer = self.send(&Request::JsapiRefund(refund.clone())).await?;
        Ok(JsapiRefundAnswer::for_request(&answer, refund, self.user_confirm_key())?)
    }

    /// Places an app order (`AppTradePay.do`, or `CommonAppTradePay.do`)
    /// and returns the verified answer: hand its `pay_package` to the
    /// wallet's SDK in the app. Idempotent like [`Client::place_order`].
    ///
    /// # Errors
    /// As [`Client::send`].
    pub async fn place_app_order(&self, order: &AppOrder) -> Result<AppOrderPlaced, ClientError> {
        let answer = self.send(&Request::AppOrder(order.clone())).await?;
        Ok(AppOrderPlaced::for_request(&answer, order, self.user_confirm_key())?)
    }

    /// Verifies a jsapi notification body (POSTed to a jsapi order's
    /// `notify_url`) with this client's secret and clock. Book the order as
    /// paid only on [`JsapiNotification::is_paid_sale`].
    ///
    /// # Errors
    /// [`NotificationError`]: malformed, badly signed or stale.
    pub fn verify_jsapi_notification(&self, body: &[u8]) -> Result<JsapiNotification, NotificationError> {
        let (secret, now) = self.secret_and_now();
        verify_jsapi_notification(body, secret, now)
    }
}
