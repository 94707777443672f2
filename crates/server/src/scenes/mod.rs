//! The scenes beyond the web and wap ones, each a domain module over the
//! same orders, store and lifecycle: [`qrcode`] (point of sale) and
//! [`cashier`] (eftPay's hosted cashier). The request path calls them from
//! its one `match` (`http/jsapi.rs`).

pub mod cashier;
pub mod qrcode;

use time::Duration;
use vmp_protocol::amount::WireAmount;
use vmp_protocol::fields::{OutTradeNo, Subject};
use vmp_protocol::vmptime::VmpTime;
use vmp_protocol::{Currency, Service};

use crate::domain::{Order, OrderState};
use crate::error::ApiError;
use crate::merchant::Merchant;
use crate::orders::merchant_key;
use crate::state::AppState;

/// What every scene's sale has.
pub(crate) struct Sale {
    pub(crate) service: Service,
    pub(crate) out_trade_no: OutTradeNo,
    pub(crate) amount: WireAmount,
    pub(crate) currency: Currency,
    pub(crate) subject: Subject,
    pub(crate) active_time: u32,
}

/// A new pending order of `sale`, numbered and timed now; everything a
/// scene may add (wallet, pay_scene, tid, URLs, …) is empty, for the scene
/// to fill in.
///
/// # Errors
/// [`ApiError::Store`] when the merchant's stored key is corrupt.
pub(crate) fn pending_order(
    state: &AppState,
    merchant: &Merchant,
    sale: Sale,
    fingerprint: String,
    sent_at: VmpTime,
) -> Result<Order, ApiError> {
    let now = state.clock().now();
    let active_time = i64::from(sale.active_time);
    Ok(Order {
        eft_trade_no: state.ids().next(now),
        user_confirm_key: merchant_key(merchant)?,
        out_trade_no: sale.out_trade_no,
        fingerprint,
        service: sale.service,
        pay_type: None,
        wallet: None,
        pay_scene: None,
        buyer_type: String::new(),
        amount: sale.amount.value(),
        amount_text: sale.amount.into_string(),
        currency: sale.currency,
        subject: sale.subject.into_string(),
        body: None,
        tid: None,
        notify_url: None,
        return_url: None,
        lang: None,
        scheme: None,
        package_name: None,
        app_link: None,
        active_time,
        request_time: sent_at.to_string(),
        created_at: now.unix_timestamp(),
        expires_at: (now + Duration::seconds(active_time)).unix_timestamp(),
        state: OrderState::Pending,
        final_at: None,
        transaction_id: None,
        card_scheme: None,
        refunded_minor: 0,
    })
}
