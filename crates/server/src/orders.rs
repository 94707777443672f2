//! Place an Order, the domain operation: store durably, answer.

use sha2::{Digest, Sha256};

use vmp_protocol::answer::OrderPlaced;
use vmp_protocol::fields::{AppLink, AppScheme, Body, EftTradeNo, HttpUrl, PackageName, Tid, UserConfirmKey};
use vmp_protocol::request::PlaceOrder;
use vmp_protocol::sign::{EmptyValues, lower_hex, signing_string_excluding};
use vmp_protocol::{Params, VmpTime};

use crate::config::Mode;
use crate::domain::Order;
use crate::error::ApiError;
use crate::merchant::Merchant;
use crate::netguard;
use crate::scenes::{Sale, pending_order};
use crate::state::AppState;
use crate::store::{PlaceOutcome, StoreError};

/// Fingerprint of a request for idempotency: every signed field except
/// `time` and `sign`, which a client's retry legitimately changes.
pub fn request_fingerprint(params: &Params) -> String {
    lower_hex(&Sha256::digest(signing_string_excluding(params, EmptyValues::Skip, &["time"]).as_bytes()).into())
}

/// Stores an order; answers only after the durable commit.
///
/// An identical re-submission (same `fingerprint`, see
/// [`request_fingerprint`]) gets the first order's answer again (same
/// `eft_trade_no`, same `pay_apptrade`); any other request reusing the
/// `out_trade_no` gets `03`. `sent_at` is the request's `time`.
///
/// # Errors
/// [`ApiError::UrlRefused`] for a production URL rule, `24` when the
/// wallet refuses, [`ApiError::DuplicateOrder`], [`ApiError::Store`] when
/// the commit fails.
pub async fn place_order(
    state: &AppState,
    merchant: &Merchant,
    req: PlaceOrder,
    fingerprint: String,
    sent_at: VmpTime,
) -> Result<OrderPlaced, ApiError> {
    check_urls(state, merchant, [("notify_url", req.notify_url.as_ref()), ("return_url", req.return_url.as_ref())])?;
    let record = record(state, merchant, req, fingerprint, sent_at)?;
    answer_for(state, store(state, record).await?)
}

/// The production rule for merchant URLs (docs/protocol.md "Place an
/// Order": ports 80/443 unless allow-listed, no private addresses), for a
/// sale of any scene.
///
/// # Errors
/// [`ApiError::UrlRefused`] naming the field.
pub fn check_urls<'a>(
    state: &AppState,
    merchant: &Merchant,
    urls: impl IntoIterator<Item = (&'static str, Option<&'a HttpUrl>)>,
) -> Result<(), ApiError> {
    if state.mode() == Mode::Production {
        for (field, url) in urls {
            if let Some(url) = url {
                netguard::check_url(url.url(), &merchant.allowed_ports).map_err(|e| ApiError::UrlRefused(field, e))?;
            }
        }
    }
    Ok(())
}

/// The order to store for a Place an Order request (web, wap, app), issued
/// its `eft_trade_no` now. `sent_at` is the request's `time`.
///
/// # Errors
/// [`ApiError::Store`] when the merchant's key is not a `user_confirm_key`.
pub fn record(
    state: &AppState,
    merchant: &Merchant,
    req: PlaceOrder,
    fingerprint: String,
    sent_at: VmpTime,
) -> Result<Order, ApiError> {
    // Moved field by field: the request's text goes into the record uncopied.
    let PlaceOrder {
        service,
        out_trade_no,
        amount,
        pay_type,
        buyer_type,
        subject,
        wallet,
        body,
        pay_scene,
        currency,
        tid,
        notify_url,
        return_url,
        active_time,
        lang,
        scheme,
        package_name,
        app_link,
    } = req;
    let sale = Sale { service, out_trade_no, amount, currency, subject: subject.into_string(), active_time };
    Ok(Order {
        pay_type: Some(pay_type),
        wallet: Some(wallet),
        pay_scene: Some(pay_scene),
        buyer_type: buyer_type.into_string(),
        body: body.map(Body::into_string),
        tid: tid.map(Tid::into_string),
        notify_url: notify_url.map(HttpUrl::into_string),
        return_url: return_url.map(HttpUrl::into_string),
        lang: lang.map(|l| l.code().to_owned()),
        scheme: scheme.map(AppScheme::into_string),
        package_name: package_name.map(PackageName::into_string),
        app_link: app_link.map(AppLink::into_string),
        ..pending_order(state, merchant, sale, fingerprint, sent_at)?
    })
}

/// The merchant's key as an order stores it.
///
/// # Errors
/// [`ApiError::Store`] when it is not a `user_confirm_key`.
pub fn merchant_key(merchant: &Merchant) -> Result<UserConfirmKey, ApiError> {
    Ok(UserConfirmKey::parse(&merchant.key).map_err(|_| StoreError::Corrupt("merchants.user_confirm_key"))?)
}

/// Stores a new order of any scene once its wallet agrees to open it;
/// resolves after the durable commit. An identical re-submission (same
/// fingerprint, see [`request_fingerprint`]) gets the stored order back;
/// any other request reusing the `out_trade_no` is `03`.
///
/// # Errors
/// `24` when the wallet refuses, [`ApiError::DuplicateOrder`],
/// [`ApiError::Store`] when the commit fails.
pub async fn store(state: &AppState, record: Order) -> Result<Order, ApiError> {
    state.wallets().open(&record).map_err(|_| ApiError::UpstreamNoQrCode)?;
    let fingerprint = record.fingerprint.clone();
    match state.store().place_order(record).await? {
        PlaceOutcome::Created(r) => {
            // Debug, not info: the store is the record of every order, and a
            // line per order is gigabytes a day at full load.
            tracing::debug!(eft_trade_no = %r.eft_trade_no, out_trade_no = %r.out_trade_no, merchant = %r.user_confirm_key, "order placed");
            Ok(r)
        }
        PlaceOutcome::Existing(r) if r.fingerprint == fingerprint => {
            tracing::info!(eft_trade_no = %r.eft_trade_no, out_trade_no = %r.out_trade_no, "identical re-submission replayed");
            Ok(r)
        }
        PlaceOutcome::Existing(_) => Err(ApiError::DuplicateOrder),
    }
}

/// The answer fields for a stored order (deterministic, so replays match).
///
/// # Errors
/// [`ApiError::Store`] when the stored number is not an `eft_trade_no`.
pub fn answer_for(state: &AppState, o: Order) -> Result<OrderPlaced, ApiError> {
    let pay_apptrade = state.links().url(
        state.public_url(),
        o.user_confirm_key.as_str(),
        o.out_trade_no.as_str(),
        o.eft_trade_no.as_str(),
    );
    let eft_trade_no = EftTradeNo::from_string(o.eft_trade_no.into_string())
        .map_err(|_| StoreError::Corrupt("orders.eft_trade_no"))?;
    Ok(OrderPlaced {
        pay_apptrade,
        user_confirm_key: o.user_confirm_key.into_string(),
        out_trade_no: o.out_trade_no,
        eft_trade_no,
        pay_type: o.pay_type.map(|p| p.as_str().to_owned()),
        buyer_type: Some(o.buyer_type),
        wallet: o.wallet.map(|w| w.as_str().to_owned()),
        fee_type: Some(o.currency.code().to_owned()),
        transaction_amount: Some(o.amount_text),
        tid: o.tid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_time_and_sign_only() {
        let a =
            Params::new().with("out_trade_no", "1").with("time", "20240101000000").with("sign", "x").with("tid", "");
        let b = Params::new().with("out_trade_no", "1").with("time", "20240101000100").with("sign", "y");
        assert_eq!(request_fingerprint(&a), request_fingerprint(&b));
        let c = b.clone().with("subject", "other");
        assert_ne!(request_fingerprint(&b), request_fingerprint(&c));
    }
}
