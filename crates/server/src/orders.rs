//! Place an Order, the domain operation: validate, store durably, answer.

use sha2::{Digest, Sha256};
use time::Duration;
use vmp_protocol::fields::{AppLink, AppScheme, Body, HttpUrl, PackageName, Tid};
use vmp_protocol::sign::{EmptyValues, lower_hex, signing_string_excluding};
use vmp_protocol::{Params, PreOrderAnswer, PreOrderRequest};

use crate::config::Mode;
use crate::domain::{Order, OrderState};
use crate::error::ApiError;
use crate::merchant::Merchant;
use crate::netguard;
use crate::state::AppState;
use crate::store::{PlaceOutcome, StoreError};

/// Fingerprint of a request for idempotency: every signed field except
/// `time` and `sign`, which a client's retry legitimately changes.
pub fn request_fingerprint(params: &Params) -> String {
    lower_hex(&Sha256::digest(signing_string_excluding(params, EmptyValues::Skip, &["time"]).as_bytes()).into())
}

/// Validates and stores an order; answers only after the durable commit.
///
/// An identical re-submission (same fingerprint) gets the first order's
/// answer again (same `eft_trade_no`, same `pay_apptrade`); any other
/// request reusing the `out_trade_no` gets `03`.
///
/// # Errors
/// [`ApiError::PreOrder`] for invalid fields, [`ApiError::DuplicateOrder`],
/// [`ApiError::Store`] when the commit fails.
pub async fn place_order(state: &AppState, merchant: &Merchant, params: &Params) -> Result<PreOrderAnswer, ApiError> {
    let req = PreOrderRequest::try_from(params)?;
    if state.mode() == Mode::Production {
        for (field, url) in [("notify_url", &req.notify_url), ("return_url", &req.return_url)] {
            if let Some(url) = url {
                netguard::check_url(url.url(), &merchant.allowed_ports).map_err(|e| ApiError::UrlRefused(field, e))?;
            }
        }
    }
    state.wallets().open(&req).map_err(|_| ApiError::UpstreamNoQrCode)?;
    let fingerprint = request_fingerprint(params);
    let now = state.clock().now();
    // Moved field by field: the request's text goes into the record uncopied.
    let PreOrderRequest {
        service,
        user_confirm_key,
        amount_text,
        amount,
        out_trade_no,
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
        time,
    } = req;
    // The request is checked against the catalogue already; a value it
    // does not know would be a table out of step, not a client's mistake.
    let typed = |what| move || ApiError::Store(StoreError::Corrupt(what));
    let record = Order {
        eft_trade_no: state.ids().next(now),
        user_confirm_key,
        out_trade_no,
        fingerprint,
        service: vmp_protocol::Service::from_name(service.name).ok_or_else(typed("service"))?,
        pay_type: vmp_protocol::PayType::parse(pay_type).ok_or_else(typed("payType"))?,
        wallet: vmp_protocol::Wallet::parse(wallet).ok_or_else(typed("wallet"))?,
        pay_scene: vmp_protocol::PayScene::parse(pay_scene).ok_or_else(typed("pay_scene"))?,
        buyer_type: buyer_type.into_string(),
        amount,
        amount_text,
        currency,
        subject: subject.into_string(),
        body: body.map(Body::into_string),
        tid: tid.map(Tid::into_string),
        notify_url: notify_url.map(HttpUrl::into_string),
        return_url: return_url.map(HttpUrl::into_string),
        lang: lang.map(|l| l.code().to_owned()),
        scheme: scheme.map(AppScheme::into_string),
        package_name: package_name.map(PackageName::into_string),
        app_link: app_link.map(AppLink::into_string),
        active_time: i64::from(active_time),
        request_time: time.to_string(),
        created_at: now.unix_timestamp(),
        expires_at: (now + Duration::seconds(i64::from(active_time))).unix_timestamp(),
        state: OrderState::Pending,
        final_at: None,
        transaction_id: None,
        card_scheme: None,
        refunded_minor: 0,
    };
    let fingerprint = record.fingerprint.clone();
    let stored = match state.store().place_order(record).await? {
        PlaceOutcome::Created(r) => {
            // Debug, not info: the store is the record of every order, and a
            // line per order is gigabytes a day at full load.
            tracing::debug!(eft_trade_no = %r.eft_trade_no, out_trade_no = %r.out_trade_no, merchant = %r.user_confirm_key, "order placed");
            r
        }
        PlaceOutcome::Existing(r) if r.fingerprint == fingerprint => {
            tracing::info!(eft_trade_no = %r.eft_trade_no, out_trade_no = %r.out_trade_no, "identical re-submission replayed");
            r
        }
        PlaceOutcome::Existing(_) => return Err(ApiError::DuplicateOrder),
    };
    Ok(answer_for(state, stored))
}

/// The answer fields for a stored order (deterministic, so replays match).
pub fn answer_for(state: &AppState, o: Order) -> PreOrderAnswer {
    PreOrderAnswer {
        pay_apptrade: state.links().url(
            state.public_url(),
            o.user_confirm_key.as_str(),
            o.out_trade_no.as_str(),
            o.eft_trade_no.as_str(),
        ),
        user_confirm_key: o.user_confirm_key.into_string(),
        out_trade_no: o.out_trade_no.into_string(),
        eft_trade_no: o.eft_trade_no.into_string(),
        pay_type: o.pay_type.as_str().to_owned(),
        buyer_type: o.buyer_type,
        wallet: o.wallet.as_str().to_owned(),
        fee_type: o.currency.code().to_owned(),
        transaction_amount: o.amount_text,
        tid: o.tid.unwrap_or_default(),
    }
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
