//! Merchant SDK for eftPay's VMP online payment API, and for OpenVMP.
//!
//! A [`Client`] signs typed requests with the merchant's secret, sends them
//! to the gateway, verifies the answer's signature and hands back typed
//! answers; [`notify`] verifies what the gateway sends back (notifications
//! and `return_url` forms) and builds the signed acknowledgement.
//!
//! The requests, answers and the vocabulary they use (services, wallets,
//! states) are `vmp_protocol`'s, re-exported here: the OpenVMP gateway
//! parses requests and writes answers with the very same types, so the two
//! cannot disagree.
//!
//! ```no_run
//! use vmp_client::{Amount, Client, PlaceOrder, SecretString, Service, Wallet};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new("http://127.0.0.1:8080", "MERCHANTKEY1", SecretString::from("the merchant secret"))?;
//! let order = PlaceOrder::builder(Service::AlipayWap)
//!     .wallet(Wallet::AlipayHk)
//!     .out_trade_no("ORDER-1001")
//!     .amount(Amount::from_minor(1050)?) // 10.50
//!     .subject("Two coffees")
//!     .notify_url("https://shop.example/vmp/notify")
//!     .build()?;
//! let placed = client.place_order(&order).await?;
//! println!("send the buyer to {}", placed.pay_apptrade);
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//! - [`Client`]: configuration, sending, answer verification,
//!   [`Client::verify_notification`]; the qrcode scene's calls
//!   ([`Client::place_qrcode_order`], [`Client::qrcode_query`],
//!   [`Client::qrcode_refund`], [`Client::qrcode_close`],
//!   [`Client::qrcode_cancel`], [`Client::verify_qrcode_notification`]) and
//!   the cashier's ([`Client::place_cashier_order`]).
//! - Requests ([`PlaceOrder`], [`Query`], [`Refund`], [`RefundStatusQuery`],
//!   [`CloseOrder`], each naming its order by a [`TradeRef`]) and their
//!   answers ([`OrderPlaced`], [`QueryAnswer`], [`RefundAnswer`],
//!   [`RefundStatusAnswer`], [`CloseAnswer`]), from `vmp_protocol`.
//! - The vocabulary: [`Service`] (every interface, with its table row),
//!   [`Wallet`], [`PayType`], [`PayScene`], [`TradeStatus`],
//!   [`RefundStatus`], [`ReturnStatus`].
//! - [`error`]: [`ClientError`] and [`InvalidRequest`].
//! - [`notify`]: verifying notifications and `return_url` forms, building
//!   the ack.
//! - The jsapi and app scenes: [`Client::place_jsapi_order`] ([`JsapiOrder`]
//!   → [`JsapiOrderPlaced`] with its [`PayPackage`]),
//!   [`Client::jsapi_refund`], [`Client::place_app_order`] ([`AppOrder`] →
//!   [`AppOrderPlaced`]), [`Client::verify_jsapi_notification`]
//!   ([`JsapiNotification`]).
//! - [`sandbox`]: OpenVMP's sandbox API for CI (settle orders, move the
//!   clock, fault rules); [`Client::with_sandbox_clock`] signs with the
//!   sandbox clock.
//! - `axum` (cargo feature `axum`): an extractor that verifies
//!   notifications and a signed-ack response.
//!
//! # Cargo features
//! - `rustls` (default): HTTPS through rustls, for the real eftPay hosts.
//! - `axum`: the `axum` module.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod cashier;
mod client;
pub mod error;
mod qrcode;
pub mod sandbox;
mod scenes;

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;

pub use client::{Client, DEFAULT_TIMEOUT};
pub use error::{ClientError, InvalidRequest};

pub use secrecy::SecretString;
pub use vmp_protocol::answer::{AnswerError, CloseAnswer, OrderPlaced, QueryAnswer, RefundAnswer, RefundStatusAnswer};
pub use vmp_protocol::answer::{AppOrderPlaced, JsapiOrderPlaced, JsapiRefundAnswer, PayPackage};
pub use vmp_protocol::catalogue::{Endpoint, PayScene, PayType, SceneType, Service, Wallet};
pub use vmp_protocol::fields::{BuyerType, Lang};
pub use vmp_protocol::notify;
pub use vmp_protocol::notify::{
    NotificationError, TradeNotification, ack, is_ack_success, verify_notification, verify_return_form,
};
pub use vmp_protocol::notify_jsapi::JsapiNotification;
pub use vmp_protocol::request::{
    AppOrder, CloseOrder, JsapiOrder, JsapiOrderBuilder, JsapiRefund, JsapiRefundBuilder, PlaceOrder,
    PlaceOrderBuilder, Query, Refund, RefundBuilder, RefundStatusQuery, Request, RequestError, TradeRef,
};
// The qrcode and cashier scenes.
pub use vmp_protocol::answer::{QrcodeCloseAnswer, QrcodeOrderPlaced, QrcodeQueryAnswer, QrcodeRefundAnswer};
pub use vmp_protocol::notify::{QrcodeNotification, verify_qrcode_notification};
pub use vmp_protocol::request::{
    CashierOrder, CashierOrderBuilder, NotifyTarget, QrcodeCancel, QrcodeClose, QrcodeOrder, QrcodeOrderBuilder,
    QrcodeQuery, QrcodeRefund, QrcodeRequest, WalletFields,
};
pub use vmp_protocol::status::{RefundStatus, TradeStatus, TradeType};
pub use vmp_protocol::{Amount, Currency, Params, ReturnStatus};
