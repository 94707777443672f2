//! The qrcode scene (a QR code shown at the till): [`Client`] calls that
//! place a sale, query, refund, close and cancel it, and verify its
//! notification. The requests and answers are `vmp_protocol`'s, so they
//! follow the gateway's rules exactly (docs/protocol.md "The qrcode scene").
//!
//! ```no_run
//! use vmp_client::{Amount, Client, QrcodeOrder, QrcodeQuery, SecretString, Service, Wallet};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new("http://127.0.0.1:8080", "MERCHANTKEY1", SecretString::from("the merchant secret"))?;
//! let sale = QrcodeOrder::builder(Service::WechatQrcode)
//!     .wallet(Wallet::WechatHk)
//!     .out_trade_no("TILL3-000123")
//!     .amount(Amount::from_minor(4200)?)
//!     .subject("Two lunches")
//!     .tid("TILL3")
//!     .build()?;
//! let placed = client.place_qrcode_order(&sale).await?;
//! println!("show this as a QR code: {}", placed.qr_code);
//! // Poll until the buyer has paid (or the order is final).
//! let query = QrcodeQuery::new(Service::WechatQrcodeQuery, &placed)?;
//! let status = client.qrcode_query(&query).await?.trade_status;
//! println!("{status}");
//! # Ok(())
//! # }
//! ```

use vmp_protocol::answer::{QrcodeCloseAnswer, QrcodeOrderPlaced, QrcodeQueryAnswer, QrcodeRefundAnswer};
use vmp_protocol::notify::{NotificationError, QrcodeNotification, verify_qrcode_notification};
use vmp_protocol::request::{
    QrcodeCancel, QrcodeClose, QrcodeOrder, QrcodeQuery, QrcodeRefund, QrcodeRequest, Request,
};

use crate::client::Client;
use crate::error::ClientError;

impl Client {
    /// Places a qrcode sale (`service.*.qrcode.PreOrder`) and returns the
    /// verified answer: show [`QrcodeOrderPlaced::qr_code`] as a QR code
    /// for the buyer's wallet. Idempotent at the gateway, like
    /// [`Client::place_order`].
    ///
    /// # Errors
    /// As [`Client::send`]; the gateway's refusals include `03` (reused
    /// `out_trade_no`), `-16` (`payment_type`), `20` (`paytype`) and `24`
    /// (the wallet gave no QR code).
    pub async fn place_qrcode_order(&self, order: &QrcodeOrder) -> Result<QrcodeOrderPlaced, ClientError> {
        let answer = self.send(&Request::Qrcode(QrcodeRequest::PlaceOrder(order.clone()))).await?;
        Ok(QrcodeOrderPlaced::for_request(&answer, order, self.user_confirm_key())?)
    }

    /// Queries a qrcode order (or one of its refunds) through a
    /// `service.*.qrcode.Query`; what a till polls until `TRADE_SUCCESS`.
    ///
    /// # Errors
    /// As [`Client::send`]; the gateway's refusals include `05` (no such
    /// order or refund) and `-16` (the service is not of the order's wallet).
    pub async fn qrcode_query(&self, query: &QrcodeQuery) -> Result<QrcodeQueryAnswer, ClientError> {
        let answer = self.send(&Request::Qrcode(QrcodeRequest::Query(query.clone()))).await?;
        Ok(QrcodeQueryAnswer::for_request(&answer, query, self.user_confirm_key())?)
    }

    /// Refunds a paid qrcode order in full or in part. Safe to retry: the
    /// same `refund_no` with the same fields is answered again and refunds
    /// nothing more.
    ///
    /// # Errors
    /// As [`Client::send`]; the gateway's refusals include `31`, `16` (not
    /// paid), `15` (closed, fully refunded), `18` (over what is left) and
    /// `14` (`refund_no` used for a different refund).
    pub async fn qrcode_refund(&self, refund: &QrcodeRefund) -> Result<QrcodeRefundAnswer, ClientError> {
        let answer = self.send(&Request::Qrcode(QrcodeRequest::Refund(refund.clone()))).await?;
        Ok(QrcodeRefundAnswer::for_request(&answer, refund, self.user_confirm_key())?)
    }

    /// Closes an unpaid qrcode order (the till gave up): it can no longer
    /// be paid.
    ///
    /// # Errors
    /// As [`Client::send`]; the gateway's refusals include `05` and `54`
    /// (already paid: refund or cancel it instead).
    pub async fn qrcode_close(&self, close: &QrcodeClose) -> Result<QrcodeCloseAnswer, ClientError> {
        let answer = self.send(&Request::Qrcode(QrcodeRequest::Close(close.clone()))).await?;
        Ok(QrcodeCloseAnswer::for_request(&answer, close, self.user_confirm_key())?)
    }

    /// Cancels (reverses) a paid qrcode order in full through
    /// `QRcodeTradeCancel.do`; the order is then `TRADE_CLOSED`.
    ///
    /// # Errors
    /// As [`Client::send`]; the gateway's refusals include `31` (no such
    /// order), `16` (not paid: close it instead), `15` (closed: cancelled
    /// already or fully refunded) and `-16` (a wallet of another family).
    pub async fn qrcode_cancel(&self, cancel: &QrcodeCancel) -> Result<QrcodeCloseAnswer, ClientError> {
        let answer = self.send(&Request::Qrcode(QrcodeRequest::Cancel(cancel.clone()))).await?;
        Ok(QrcodeCloseAnswer::for_cancel(&answer, cancel, self.user_confirm_key())?)
    }

    /// Verifies a qrcode sale's notification (JSON POSTed to `notify_url`)
    /// with this client's secret and clock: signature, ±30 minutes, fields.
    ///
    /// # Errors
    /// [`NotificationError`]: malformed, badly signed or stale.
    pub fn verify_qrcode_notification(&self, body: &[u8]) -> Result<QrcodeNotification, NotificationError> {
        self.with_secret(|secret, now| verify_qrcode_notification(body, secret, now))
    }
}
