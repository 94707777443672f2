//! `POST /VMP/Servlet/{servlet}`: every merchant API request, on the path
//! docs/architecture.md "Request path" describes:
//!
//! body → [`Params`] → merchant → `time` window → signature → [`Request`]
//! (the catalogue's interface and its typed fields) → one `match` → the
//! domain operation → its typed answer → signed [`Params`].

use axum::body::Body;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Request as HttpRequest, State};
use axum::response::Response;
use secrecy::ExposeSecret;
use vmp_protocol::fields::UserConfirmKey;
use vmp_protocol::request::{Request, check_envelope};
use vmp_protocol::{Endpoint, Params, VmpTime, sign};

use super::{read_body, render};
use crate::error::ApiError;
use crate::journal::Exchange;
use crate::merchant::{Merchant, MerchantStatus};
use crate::state::AppState;
use crate::{aftersale, orders};

/// Any `.do` under `/VMP/Servlet/`: known servlets are served, unknown ones
/// get the JSON `-13` every eftPay client can read (not an empty 404).
/// What the request log keeps is gathered in an [`Exchange`] and written
/// by [`render`].
pub(crate) async fn servlet(State(state): State<AppState>, Path(name): Path<String>, req: HttpRequest) -> Response {
    // The peer address is known when the server runs with connect info.
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let body = req.into_body();
    if let (Some(limiter), Some(addr)) = (&state.limits().per_ip, peer)
        && !limiter.allow(&addr.ip().to_string())
    {
        // Not recorded: a flood must not fill the request log.
        let mut ex = Exchange::new(name);
        ex.recorded = false;
        return render(&state, Err(ApiError::RateLimited(limiter.per_second())), ex);
    }
    let Some(endpoint) = Endpoint::parse(&name) else {
        let unknown = ApiError::UnknownEndpoint(name.clone());
        return render(&state, Err(unknown), Exchange::new(name));
    };
    let mut ex = Exchange::new(name);
    let result = handle(&state, body, endpoint, &mut ex).await;
    render(&state, result, ex)
}

async fn handle(state: &AppState, body: Body, endpoint: Endpoint, ex: &mut Exchange) -> Result<Params, ApiError> {
    let bytes = read_body(body).await?;
    let params = Params::from_json(ex.body.insert(bytes))?;
    let params = &*ex.params.insert(params);
    crate::metrics::note_service(params.get("service"));
    check_envelope(params)?;
    let (merchant, sent_at) = authenticate(state, params, &mut ex.merchant).await?;
    let request = Request::parse(endpoint, params)?;
    ex.place_order = matches!(request, Request::PlaceOrder(_));
    // Idempotency compares what was signed, minus what a retry changes.
    let fingerprint = || orders::request_fingerprint(params);
    Ok(match request {
        Request::PlaceOrder(r) => orders::place_order(state, &merchant, r, fingerprint(), sent_at).await?.into_params(),
        Request::Query(q) => aftersale::query(state, &merchant, &q).await?.to_params(),
        Request::Refund(r) => aftersale::refund(state, &merchant, &r, fingerprint()).await?.to_params(),
        Request::RefundStatus(q) => aftersale::refund_status(state, &merchant, &q).await?.to_params(),
        Request::Close(c) => aftersale::close(state, &merchant, &c).await?.to_params(),
        _ => return Err(ApiError::Request(vmp_protocol::RequestError::NotSupported(request.service()))),
    })
}

/// Merchant lookup, status, `time` window and signature, in that order. The
/// merchant is handed out as soon as it is known so refusals can be signed.
/// Returns the merchant and the request's `time`.
async fn authenticate(
    state: &AppState,
    params: &Params,
    out: &mut Option<Arc<Merchant>>,
) -> Result<(Arc<Merchant>, VmpTime), ApiError> {
    let key = params.get("user_confirm_key").ok_or(ApiError::MissingKey)?;
    // Checked before the lookup: no database ever sees a malformed key.
    UserConfirmKey::parse(key).map_err(|_| ApiError::UnknownMerchant)?;
    let merchant = state.merchant(key).await?.ok_or(ApiError::UnknownMerchant)?;
    *out = Some(Arc::clone(&merchant));
    if merchant.status == MerchantStatus::Disabled {
        return Err(ApiError::MerchantDisabled(merchant.key.clone()));
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
    Ok((merchant, time))
}
