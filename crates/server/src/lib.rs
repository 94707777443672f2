//! The OpenVMP gateway as a library: a wire-compatible implementation of
//! eftPay's VMP merchant API.
//!
//! [`Application::build`] opens the store, binds (port 0 allowed) and
//! [`Application::run_until_stopped`] serves until a shutdown future fires.
//!
//! # Layout
//! - [`config`] — [`Settings`] and [`Mode`].
//! - [`startup`] — [`Application`].
//! - [`state`] — [`AppState`] shared by handlers.
//! - `http` — routes, body reading, answer rendering, pages.
//! - [`html`] — escaping for every page the gateway (and `vmp listen`) writes.
//! - [`orders`] — Place an Order as a domain operation.
//! - [`domain`] — orders, refunds and the outbox as typed values, and
//!   the rules that move them.
//! - [`lifecycle`] — the order state machine at work.
//! - [`connector`] — the wallet seam and the sandbox wallets.
//! - [`aftersale`] — query, refund, refund status and close.
//! - [`scenes`] — what differs by scene: the qrcode, cashier, jsapi and app
//!   operations, the `payPackage`s, the notification of each scene.
//! - [`admin`] — the developer console's access, operations and JSON API
//!   (`/admin/api/`); `console` — its HTML pages (`/console`).
//! - [`notifier`] — the notification outbox worker (delivery only).
//! - [`sweeper`] — expiry of unpaid orders, completion of apply-refunds.
//! - [`faults`] — sandbox fault rules: injected answers and notification faults.
//! - [`handler_check`] — grades a merchant's notify handler (`vmp check-handler`).
//! - [`netguard`] — where notifications may go (SSRF protection).
//! - [`ratelimit`] — per-IP and per-merchant request limits.
//! - [`listener`] — the HTTP accept loop: timeouts, header and connection
//!   limits, draining on shutdown.
//! - [`readiness`] — `/readyz`, a cached write probe through the store.
//! - [`metrics`] — Prometheus metrics (only with a metrics listener).
//! - [`store`] — the [`store::Store`] trait, one implementation for SQLite
//!   and PostgreSQL, and the group-commit writer.
//! - [`journal`] — the request log and order events the console shows.
//! - [`merchant`], [`ids`], [`paylink`], [`clock`] — supporting types.
//! - [`vault`] — encryption at rest of merchant secrets and the pay-link key.
//! - [`error`] — [`error::ApiError`], mapped to `return_status` in one place.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod aftersale;
pub mod clock;
pub mod config;
pub mod connector;
mod console;
pub mod domain;
pub mod error;
pub mod faults;
pub mod handler_check;
pub mod html;
mod http;
pub mod ids;
pub mod journal;
pub mod lifecycle;
pub mod listener;
pub mod merchant;
pub mod metrics;
pub mod netguard;
pub mod notifier;
pub mod orders;
pub mod paylink;
pub mod ratelimit;
pub mod readiness;
pub mod scenes;
pub mod startup;
pub mod state;
pub mod store;
pub mod sweeper;
pub mod vault;

pub use clock::Clock;
pub use config::{HttpLimits, Mode, SandboxMerchant, Settings};
pub use startup::{Application, BootstrapMerchant};
pub use state::AppState;
