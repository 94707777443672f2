//! `POST /VMP/Servlet/JSAPIService.do` and `QRcodeTradeQuery.do`: the
//! request path of DESIGN.md.
//!
//! body → [`Params`] → merchant → `time` window → signature → service
//! dispatch → domain → signed answer.

use axum::body::Body;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use secrecy::ExposeSecret;
use vmp_protocol::fields::UserConfirmKey;
use vmp_protocol::{Params, VmpTime, ops, pre_order_service, sign};

use super::{read_body, render};
use crate::error::ApiError;
use crate::merchant::{Merchant, MerchantStatus};
use crate::state::AppState;
use crate::{aftersale, orders};

/// Which servlet a request came to.
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    /// `JSAPIService.do`: dispatch on `service`.
    JsApi,
    /// `QRcodeTradeQuery.do`: a query, no `service`.
    TradeQuery,
}

pub(crate) async fn jsapi_service(State(state): State<AppState>, req: Request) -> Response {
    serve(state, req, Endpoint::JsApi).await
}

pub(crate) async fn trade_query(State(state): State<AppState>, req: Request) -> Response {
    serve(state, req, Endpoint::TradeQuery).await
}

async fn serve(state: AppState, req: Request, endpoint: Endpoint) -> Response {
    // The peer address is known when the server runs with connect info.
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let body = req.into_body();
    if let (Some(limiter), Some(addr)) = (&state.limits().per_ip, peer)
        && !limiter.allow(&addr.ip().to_string())
    {
        return render(&state, Err(ApiError::RateLimited(limiter.per_second())), None);
    }
    let mut merchant = None;
    let result = handle(&state, body, endpoint, &mut merchant).await;
    render(&state, result, merchant.as_deref())
}

async fn handle(
    state: &AppState,
    body: Body,
    endpoint: Endpoint,
    merchant_out: &mut Option<Arc<Merchant>>,
) -> Result<Params, ApiError> {
    let bytes = read_body(body).await?;
    let params = Params::from_json(&bytes)?;
    crate::metrics::note_service(params.get("service"));
    let merchant = authenticate(state, &params, merchant_out).await?;
    if let Endpoint::TradeQuery = endpoint {
        return aftersale::query(state, &merchant, &params).await;
    }
    let service = params.get("service").ok_or(ApiError::MissingService)?;
    if pre_order_service(service).is_some() {
        return Ok(orders::place_order(state, &merchant, &params).await?.into_params());
    }
    if let Some(refund) = ops::refund_service(service) {
        return aftersale::refund(state, &merchant, refund, &params).await;
    }
    if let Some(wallets) = ops::close_service(service) {
        return aftersale::close(state, &merchant, wallets, &params).await;
    }
    match service {
        ops::SERVICE_COMMON_QUERY => aftersale::query(state, &merchant, &params).await,
        ops::SERVICE_REFUND_STATUS_QUERY => aftersale::refund_status(state, &merchant, &params).await,
        _ => Err(ApiError::UnknownService),
    }
}

/// Merchant lookup, status, `time` window and signature, in that order. The
/// merchant is handed out as soon as it is known so refusals can be signed.
async fn authenticate(
    state: &AppState,
    params: &Params,
    out: &mut Option<Arc<Merchant>>,
) -> Result<Arc<Merchant>, ApiError> {
    let key = params.get("user_confirm_key").ok_or(ApiError::MissingKey)?;
    // Checked before the lookup: no database ever sees a malformed key.
    UserConfirmKey::parse(key).map_err(|_| ApiError::UnknownMerchant)?;
    let merchant = state.merchant(key).await?.ok_or(ApiError::UnknownMerchant)?;
    *out = Some(Arc::clone(&merchant));
    if merchant.status == MerchantStatus::Disabled {
        return Err(ApiError::MerchantDisabled);
    }
    if !merchant.has_secret() {
        return Err(ApiError::NoSecret);
    }
    let time = VmpTime::parse(params.get("time").ok_or(ApiError::BadTime)?).map_err(|_| ApiError::BadTime)?;
    if !time.within_window_of(state.clock().now()) {
        return Err(ApiError::TimeOutOfWindow);
    }
    sign::verify(merchant.secret.expose_secret(), params)?;
    if let Some(limiter) = &state.limits().per_merchant
        && !limiter.allow(&merchant.key)
    {
        return Err(ApiError::RateLimited(limiter.per_second()));
    }
    Ok(merchant)
}
