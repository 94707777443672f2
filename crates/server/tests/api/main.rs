//! Black-box tests of the gateway over HTTP: one binary, one module per feature.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

mod aftersale;
mod console;
mod helpers;
mod hostile;
mod lifecycle;
mod limits;
mod pay_page;
mod place_order;
mod readiness;
mod receiver;
mod ssrf;
mod store;
