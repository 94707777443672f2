//! The cashier sale's answer: an [`OrderPlaced`] whose `pay_apptrade` is
//! the hosted cashier page, with `payType` and `wallet` empty (the buyer
//! has not chosen yet).

use crate::params::Params;
use crate::request::CashierOrder;

use super::{AnswerError, OrderPlaced};

impl OrderPlaced {
    /// Reads a cashier sale's answer and checks it is about `request` of
    /// merchant `key`.
    ///
    /// # Errors
    /// [`AnswerError`] when unreadable or about another order or merchant.
    pub fn for_cashier(p: &Params, request: &CashierOrder, key: &str) -> Result<Self, AnswerError> {
        Self::for_order(p, &request.out_trade_no, key)
    }
}
