//! The hosted page behind `pay_apptrade`: GET shows the checkout for the
//! order's wallet and scene; POST applies the buyer's choice (sandbox mode).

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use qrcode::QrCode;
use qrcode::render::svg;
use secrecy::ExposeSecret;
use serde::Deserialize;
use vmp_protocol::fields::{OutTradeNo, UserConfirmKey};

use super::pages::{self, CardProblem, CardRetry, LinkFields, PageKind, Qr, Texts, texts_for};
use crate::domain::{Order, OrderState};
use crate::journal::{self, EventKind};
use crate::lifecycle::{self, ActionResult, BuyerAction};
use crate::paylink::PAY_PAGE_PATH;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub(crate) struct LinkQuery {
    userkey: Option<String>,
    #[serde(rename = "outTradeNo")]
    out_trade_no: Option<String>,
    sign: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ActionForm {
    userkey: Option<String>,
    #[serde(rename = "outTradeNo")]
    out_trade_no: Option<String>,
    sign: Option<String>,
    outcome: Option<String>,
    card_number: Option<String>,
    card_expiry: Option<String>,
    card_cvc: Option<String>,
}

/// Finds the order a link points at, if its token is right. "No such
/// order" and "wrong token" look the same from outside.
pub(crate) async fn linked_order(
    state: &AppState,
    headers: &HeaderMap,
    userkey: Option<String>,
    out: Option<String>,
    sign: Option<String>,
) -> Result<(Order, String), Response> {
    let (Some(userkey), Some(out), Some(sign)) = (userkey, out, sign) else { return Err(not_found(headers)) };
    // Malformed ids can't name an order; they never reach the database.
    if UserConfirmKey::parse(&userkey).is_err() || OutTradeNo::parse(&out).is_err() {
        return Err(not_found(headers));
    }
    let order = match state.store().order_by_out_trade_no(&userkey, &out).await {
        Ok(Some(o)) => o,
        Ok(None) => return Err(not_found(headers)),
        Err(e) => {
            tracing::error!(error.message = %e, "pay page lookup failed");
            return Err(error_page(StatusCode::SERVICE_UNAVAILABLE, texts_for(None, headers), |t| t.retry));
        }
    };
    if !state.links().verify(
        order.user_confirm_key.as_str(),
        order.out_trade_no.as_str(),
        order.eft_trade_no.as_str(),
        &sign,
    ) {
        return Err(not_found(headers));
    }
    Ok((order, sign))
}

pub(crate) async fn pay_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LinkQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else { return not_found(&headers) };
    let (order, sign) = match linked_order(&state, &headers, q.userkey, q.out_trade_no, q.sign).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let t = texts_for(order.lang.as_deref(), &headers);
    let now = state.clock().now();
    let shown = if order.effective_state(now.unix_timestamp()) == OrderState::Pending { "checkout" } else { "result" };
    journal::event(
        &state,
        order.eft_trade_no.as_str(),
        EventKind::PageView,
        serde_json::json!({ "page": PageKind::of(&order).name(), "shown": shown }),
    );
    if shown == "result" {
        return page(pages::result(&order, t, now, None));
    }
    if !payable(&state, &order) {
        return no_connector(&order, t);
    }
    let url = PageKind::of(&order).shows_qr().then(|| {
        state.links().url(
            state.public_url(),
            order.user_confirm_key.as_str(),
            order.out_trade_no.as_str(),
            order.eft_trade_no.as_str(),
        )
    });
    let svg = url.as_deref().map(qr_svg);
    let qr = url.as_deref().zip(svg.as_deref()).map(|(url, svg)| Qr { svg, url });
    let link = LinkFields {
        userkey: order.user_confirm_key.as_str(),
        out_trade_no: order.out_trade_no.as_str(),
        sign: &sign,
        action: PAY_PAGE_PATH,
    };
    // The cashier, until its buyer chooses a wallet (http/cashier_page.rs).
    if PageKind::of(&order) == PageKind::Cashier {
        return page(super::cashier_page::page(&order, t, &link, now));
    }
    page(pages::checkout(PageKind::of(&order), &order, t, &link, qr.as_ref(), None, now))
}

pub(crate) async fn pay_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return error_page(StatusCode::BAD_REQUEST, texts_for(None, &headers), |t| t.malformed_form);
    };
    let (order, sign) = match linked_order(&state, &headers, f.userkey, f.out_trade_no, f.sign).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let t = texts_for(order.lang.as_deref(), &headers);
    if !payable(&state, &order) {
        return no_connector(&order, t);
    }
    let action = match f.outcome.as_deref() {
        Some("success") => BuyerAction::Pay,
        Some("fail") => BuyerAction::Fail,
        Some("cancel") => BuyerAction::Cancel,
        _ => return error_page(StatusCode::BAD_REQUEST, t, |t| t.unknown_outcome),
    };
    let now = state.clock().now();
    let mut action = action;
    let mut card_scheme = None;
    let kind = PageKind::of(&order);
    if kind.is_card() && action == BuyerAction::Pay && order.state == OrderState::Pending {
        match check_card(kind, f.card_number.as_deref(), f.card_expiry.as_deref(), f.card_cvc.as_deref()) {
            Ok(CardCheck::Approved(scheme)) => card_scheme = Some(scheme.to_owned()),
            Ok(CardCheck::Declined) => action = BuyerAction::Fail,
            Err(problem) => {
                let link = LinkFields {
                    userkey: order.user_confirm_key.as_str(),
                    out_trade_no: order.out_trade_no.as_str(),
                    sign: &sign,
                    action: PAY_PAGE_PATH,
                };
                // Shown again with the problem next to its field and the
                // expiry as typed; never the number or the security code.
                let retry = CardRetry { problem, expiry: f.card_expiry.as_deref().unwrap_or_default() };
                return page(pages::checkout(kind, &order, t, &link, None, Some(&retry), now));
            }
        }
    }
    let outcome = lifecycle::buyer_action(&state, &order, action, card_scheme).await;
    // What the buyer chose and what came of it; never the card's details.
    if let Ok(result) = &outcome {
        journal::event(
            &state,
            order.eft_trade_no.as_str(),
            EventKind::BuyerAction,
            serde_json::json!({ "action": f.outcome.as_deref().unwrap_or_default(), "result": result.describe() }),
        );
    }
    let final_order = match outcome {
        Ok(ActionResult::Settled(o) | ActionResult::AlreadyFinal(o) | ActionResult::Expired(o)) => o,
        Ok(ActionResult::WalletNotChosen) => {
            return error_page(StatusCode::BAD_REQUEST, t, |t| t.choose_wallet_first);
        }
        Ok(ActionResult::ServerErrorNoState) => {
            return page(pages::result(&order, t, now, Some(t.server_no_state)));
        }
        Err(e) => {
            tracing::error!(error.message = %e, "buyer action failed");
            return error_page(StatusCode::SERVICE_UNAVAILABLE, t, |t| t.retry);
        }
    };
    back_to_merchant(&state, t, &final_order).await
}

/// After a final outcome: BOCPay `APP` returns to `app_link`; otherwise the
/// browser POSTs the signed payload to `return_url`; without either, a
/// result page.
async fn back_to_merchant(state: &AppState, t: &Texts, order: &Order) -> Response {
    let now = state.clock().now();
    let target = if PageKind::of(order) == PageKind::BocpayApp {
        order.app_link.as_deref().or(order.return_url.as_deref())
    } else {
        order.return_url.as_deref()
    };
    let Some(target) = target else { return page(pages::result(order, t, now, None)) };
    let payload = match signed_payload(state, order).await {
        Some(p) => p,
        None => return page(pages::result(order, t, now, None)),
    };
    if PageKind::of(order) == PageKind::BocpayApp && order.app_link.is_some() {
        // An app link gets the signed parameters in its query; the app verifies them.
        let mut location = target.to_owned();
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(payload.iter().map(|(k, v)| (k, v.as_str())))
            .finish();
        location.push(if location.contains('?') { '&' } else { '?' });
        location.push_str(&query);
        return Redirect::to(&location).into_response();
    }
    page(pages::return_form(order, t, now, target, &payload))
}

async fn signed_payload(state: &AppState, order: &Order) -> Option<vmp_protocol::Params> {
    let now = state.clock().now();
    let mut payload = crate::scenes::sale_notification(order, now);
    payload.set("time", vmp_protocol::vmptime::format_time(now));
    // The merchant's secret signs what the browser carries back (during a
    // rotation, the one notifications are signed with).
    let merchant = state.merchant(order.user_confirm_key.as_str()).await.ok()??;
    vmp_protocol::sign::sign_in_place(merchant.sending_secret(now.unix_timestamp()).expose_secret(), &mut payload);
    Some(payload)
}

enum CardCheck {
    Approved(&'static str),
    Declined,
}

/// Sandbox card rules: Luhn-valid numbers of the page's schemes pay, the
/// documented decline numbers fail. The number is checked and dropped; only
/// the scheme is kept.
fn check_card(
    kind: PageKind,
    number: Option<&str>,
    expiry: Option<&str>,
    cvc: Option<&str>,
) -> Result<CardCheck, CardProblem> {
    let digits: String = number.unwrap_or_default().chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if digits.len() < 13
        || digits.len() > 19
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !crate::journal::luhn(&digits)
    {
        return Err(CardProblem::Number);
    }
    let expiry = expiry.unwrap_or_default().trim();
    let valid_expiry = expiry.len() == 5
        && expiry.as_bytes()[2] == b'/'
        && expiry[..2].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
        && expiry[3..].parse::<u8>().is_ok();
    if !valid_expiry {
        return Err(CardProblem::Expiry);
    }
    let cvc = cvc.unwrap_or_default().trim();
    let scheme = match digits.as_bytes()[0] {
        b'4' => "VISA",
        b'5' | b'2' => "MASTERCARD",
        b'3' if digits.starts_with("34") || digits.starts_with("37") => "AMEX",
        _ => return Err(CardProblem::Scheme),
    };
    let cvc_len = if scheme == "AMEX" { 4 } else { 3 };
    if cvc.len() != cvc_len || !cvc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CardProblem::Cvc);
    }
    let accepted = match kind {
        PageKind::Mpgs => scheme != "AMEX",
        PageKind::Amex => scheme == "AMEX",
        _ => false,
    };
    if !accepted {
        return Err(CardProblem::Scheme);
    }
    if matches!(digits.as_str(), "4000000000000002" | "340000000000009") {
        return Ok(CardCheck::Declined);
    }
    Ok(CardCheck::Approved(scheme))
}

pub(crate) fn qr_svg(content: &str) -> String {
    match QrCode::new(content.as_bytes()) {
        Ok(code) => code.render::<svg::Color<'_>>().min_dimensions(200, 200).build(),
        Err(_) => String::new(),
    }
}

pub(crate) fn page(html: String) -> Response {
    let mut resp = Html(html).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Whether a connector here can pay the order: its wallet's, or for a
/// cashier order whose buyer has not chosen yet, any wallet the cashier
/// offers.
fn payable(state: &AppState, order: &Order) -> bool {
    match order.wallet {
        Some(wallet) => state.wallets().pays(wallet),
        None => vmp_protocol::Service::cashier_wallets().into_iter().any(|w| state.wallets().pays(w)),
    }
}

/// 503: the order's wallet has no connector here (production mode).
fn no_connector(order: &Order, t: &Texts) -> Response {
    with_status(StatusCode::SERVICE_UNAVAILABLE, pages::no_connector(order, t))
}

/// 404: the link names no order, or its token is wrong (the same page, in
/// the browser's language).
pub(crate) fn not_found(headers: &HeaderMap) -> Response {
    with_status(StatusCode::NOT_FOUND, pages::invalid_link(texts_for(None, headers)))
}

/// An error page saying `text` in `t`'s language.
pub(crate) fn error_page(status: StatusCode, t: &'static Texts, text: fn(&'static Texts) -> &'static str) -> Response {
    with_status(status, pages::message("error", t, text(t)))
}

fn with_status(status: StatusCode, html: String) -> Response {
    let mut resp = page(html);
    *resp.status_mut() = status;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_cards() {
        assert!(matches!(
            check_card(PageKind::Mpgs, Some("4111 1111 1111 1111"), Some("12/30"), Some("123")),
            Ok(CardCheck::Approved("VISA"))
        ));
        assert!(matches!(
            check_card(PageKind::Mpgs, Some("5123450000000008"), Some("01/29"), Some("999")),
            Ok(CardCheck::Approved("MASTERCARD"))
        ));
        assert!(matches!(
            check_card(PageKind::Mpgs, Some("4000000000000002"), Some("12/30"), Some("123")),
            Ok(CardCheck::Declined)
        ));
        assert!(matches!(
            check_card(PageKind::Amex, Some("378282246310005"), Some("12/30"), Some("1234")),
            Ok(CardCheck::Approved("AMEX"))
        ));
        assert!(matches!(
            check_card(PageKind::Amex, Some("340000000000009"), Some("12/30"), Some("1234")),
            Ok(CardCheck::Declined)
        ));
        assert!(check_card(PageKind::Mpgs, Some("4111111111111112"), Some("12/30"), Some("123")).is_err(), "Luhn");
        assert!(
            check_card(PageKind::Mpgs, Some("378282246310005"), Some("12/30"), Some("1234")).is_err(),
            "AmEx on MPGS"
        );
        assert!(
            check_card(PageKind::Amex, Some("4111111111111111"), Some("12/30"), Some("123")).is_err(),
            "Visa on AE"
        );
        assert!(check_card(PageKind::Mpgs, Some("4111111111111111"), Some("13/30"), Some("123")).is_err(), "month");
        assert!(check_card(PageKind::Mpgs, Some("4111111111111111"), Some("12/30"), Some("12")).is_err(), "cvc");
        assert!(check_card(PageKind::Mpgs, None, None, None).is_err());
    }
}
