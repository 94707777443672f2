//! Black-box tests of the gateway over HTTP: one binary, one module per feature.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

mod aftersale;
mod app;
mod cashier;
mod console;
mod faults;
mod helpers;
mod hostile;
mod jsapi;
mod lifecycle;
mod limits;
mod pay_page;
mod place_order;
mod qrcode;
mod readiness;
mod receiver;
mod reconnect;
mod secrets;
mod ssrf;
mod store;
