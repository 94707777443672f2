//! Merchant SDK for eftPay's VMP online payment API, and for OpenVMP.
//!
//! A [`Client`] signs typed requests with the merchant's secret, sends them
//! to the gateway, verifies the answer's signature and hands back typed
//! results; [`notify`] verifies what the gateway sends back (notifications
//! and `return_url` forms) and builds the signed acknowledgement. Signing
//! and verification come from [`vmp_protocol`], the same code the OpenVMP
//! gateway runs, so the two cannot disagree.
//!
//! ```no_run
//! use secrecy::SecretString;
//! use vmp_client::{Amount, Client, Currency, PlaceOrder, Service, Wallet};
//!
//! # async fn run() -> Result<(), vmp_client::ClientError> {
//! let client = Client::new(
//!     "http://127.0.0.1:8080",
//!     "MERCHANTKEY1",
//!     SecretString::from("the merchant secret"),
//! )?;
//! let amount = Amount::from_minor(1050).expect("positive"); // 10.50
//! let order = PlaceOrder::new(
//!     Service::AlipayWap,
//!     Wallet::AlipayHk,
//!     "ORDER-1001",
//!     amount,
//!     Currency::Hkd,
//!     "Two coffees",
//! )
//! .notify_url("https://shop.example/vmp/notify");
//! let placed = client.place_order(&order).await?;
//! println!("send the buyer to {}", placed.pay_apptrade);
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//! - [`Client`]: configuration, sending, answer verification.
//! - [`order`]: [`PlaceOrder`] (with [`Service`], [`Wallet`], [`PayScene`],
//!   [`BuyerType`]) and its answer [`OrderPlaced`].
//! - [`aftersale`]: [`Query`] (a sale or a refund), [`Refund`] (with
//!   [`RefundService`]), [`RefundStatusQuery`] and [`CloseOrder`] (with
//!   [`CloseService`]), all naming their order by [`OrderRef`], and their
//!   answers [`QueryAnswer`], [`RefundAnswer`], [`RefundStatusAnswer`],
//!   [`CloseAnswer`].
//! - [`error`]: [`ClientError`] and [`InvalidRequest`].
//! - [`notify`]: re-export of `vmp_protocol::notify`: verifying
//!   notifications and `return_url` forms, building the ack.
//! - `axum` (cargo feature `axum`): an extractor that verifies
//!   notifications and a signed-ack response.
//!
//! # Cargo features
//! - `rustls` (default): HTTPS through rustls, for the real eftPay hosts.
//! - `axum`: the `axum` module.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod aftersale;
mod client;
pub mod error;
pub mod order;

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;

pub use aftersale::{
    CloseAnswer, CloseOrder, CloseService, OrderRef, Query, QueryAnswer, QueryEndpoint, Refund, RefundAnswer,
    RefundService, RefundStatus, RefundStatusAnswer, RefundStatusQuery,
};
pub use client::{Client, DEFAULT_TIMEOUT, JSAPI_SERVICE_PATH, TRADE_QUERY_PATH};
pub use error::{ClientError, InvalidRequest};
pub use order::{BuyerType, OrderPlaced, PayScene, PlaceOrder, Service, Wallet};

pub use secrecy::SecretString;
pub use vmp_protocol::fields::Lang;
pub use vmp_protocol::notify;
pub use vmp_protocol::notify::{
    NotificationError, TradeNotification, TradeStatus, TradeType, ack, is_ack_success, verify_notification,
    verify_return_form,
};
pub use vmp_protocol::{Amount, Currency, Params, ReturnStatus};
