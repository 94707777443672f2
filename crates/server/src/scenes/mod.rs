//! The scenes beyond the web and wap ones, each a domain module over the
//! same orders, store and lifecycle: [`qrcode`] (point of sale) and
//! [`cashier`] (eftPay's hosted cashier). The request path calls them from
//! its one `match` (`http/jsapi.rs`).

pub mod cashier;
pub mod qrcode;
