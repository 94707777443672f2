//! The eftPay "VMP" merchant protocol, without I/O.
//!
//! Everything here is pure: parsing and validating wire messages, the
//! signature algorithm, the service catalogue, return codes and the `time`
//! format. The clock is always a parameter; the gateway (`vmp-server`) and
//! the merchant SDK (`vmp-client`) share this crate so they can never
//! disagree on a signature.
//!
//! # Layout
//! - [`params`] — [`Params`], a message's top-level parameters as received.
//! - [`sign`] — the SHA-256 signature, signing and verification.
//! - [`vmptime`] — `yyyyMMddHHmmss` in UTC+8 and the ±30 minute window.
//! - [`amount`] — [`Amount`] in minor units and [`Currency`].
//! - [`fields`] — constrained field newtypes (ids, lengths, URLs, `lang`).
//! - [`catalogue`] — the vocabulary: one row per interface of every scene
//!   ([`Service`]), wallets, payment types, pay scenes, endpoints.
//! - [`status`] — `trade_status`, `trade_type`, `refund_status`.
//! - [`codes`] — [`ReturnStatus`], every `return_status` code and eftPay's text for it.
//! - [`request`] — [`Request`]: every operation, parsed by the gateway and built by the SDK.
//! - [`answer`] — the typed answers, and building signed and unsigned answers.
//! - [`notify`] — notifications (`trade_status_sync`), their verification and ack.
//! - [`notify_jsapi`] — the jsapi scene's notification.
//! - [`mod@wire_enum`] — how the vocabulary's enums are written.
//! - [`retry`] — the notification retry schedule (pure policy).
//! - [`sandbox`] — magic amounts that force sandbox outcomes.
//! - [`faults`] — sandbox fault rules and the `X-VMP-Sandbox-Fault` header.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod amount;
pub mod answer;
pub mod catalogue;
pub mod codes;
pub mod faults;
pub mod fields;
pub mod notify;
pub mod notify_jsapi;
pub mod params;
pub mod request;
pub mod retry;
pub mod sandbox;
pub mod sign;
pub mod status;
pub mod vmptime;
pub mod wire_enum;

pub use amount::{Amount, Currency};
pub use catalogue::{Endpoint, PayScene, PayType, SceneType, Service, ServiceSpec, Wallet};
pub use codes::ReturnStatus;
pub use notify::{NotificationError, TradeNotification, TradeStatus, TradeType};
pub use params::{ParamValue, Params, ParamsError};
pub use request::{Request, RequestError};
pub use sign::SignatureError;
pub use vmptime::{VmpTime, format_time};
