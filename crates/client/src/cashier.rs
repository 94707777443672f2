//! The cashier scene (`service.united.wap.PreOrder`): the buyer picks the
//! wallet on the gateway's hosted page. Refund and query cashier orders
//! with [`Client::refund`] (`service.united.wap.Refund` or
//! `service.common.Refund`) and [`Client::query`]; their answers and
//! notifications name the wallet the buyer chose.
//!
//! ```no_run
//! use vmp_client::{Amount, CashierOrder, Client, SecretString};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new("http://127.0.0.1:8080", "MERCHANTKEY1", SecretString::from("the merchant secret"))?;
//! let order = CashierOrder::builder()
//!     .out_trade_no("ORDER-77")
//!     .amount(Amount::from_minor(1990)?)
//!     .subject("Gift card")
//!     .return_url("https://shop.example/paid")
//!     .build()?;
//! let placed = client.place_cashier_order(&order).await?;
//! println!("send the buyer to {}", placed.pay_apptrade);
//! # Ok(())
//! # }
//! ```

use vmp_protocol::answer::OrderPlaced;
use vmp_protocol::request::{CashierOrder, Request};

use crate::client::Client;
use crate::error::ClientError;

impl Client {
    /// Places a cashier sale and returns the verified answer: send the
    /// buyer to [`OrderPlaced::pay_apptrade`], the hosted cashier.
    /// Idempotent at the gateway, like [`Client::place_order`].
    ///
    /// # Errors
    /// As [`Client::send`]; the gateway's refusals include `03` (reused
    /// `out_trade_no`) and `02` (`pay_scene` other than `WAP`).
    pub async fn place_cashier_order(&self, order: &CashierOrder) -> Result<OrderPlaced, ClientError> {
        let answer = self.send(&Request::Cashier(order.clone())).await?;
        Ok(OrderPlaced::for_cashier(&answer, order, self.user_confirm_key())?)
    }
}
