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
use vmp_protocol::faults::AnswerFault;
use vmp_protocol::fields::UserConfirmKey;
use vmp_protocol::request::{Request, check_envelope};
use vmp_protocol::{Endpoint, Params, VmpTime};

use super::{read_body, render};
use crate::error::ApiError;
use crate::faults::{self, Injected};
use crate::journal::Exchange;
use crate::merchant::{Caller, Merchant, MerchantStatus};
use crate::state::AppState;
use crate::{aftersale, orders, scenes};

/// Any `.do` under `/VMP/Servlet/`: known servlets are served, unknown ones
/// get the JSON `-13` every eftPay client can read (not an empty 404).
/// What the request log keeps is gathered in an [`Exchange`] and written
/// by [`render`].
pub(crate) async fn servlet(State(state): State<AppState>, Path(name): Path<String>, req: HttpRequest) -> Response {
    // The peer address is known when the server runs with connect info.
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let fault = faults::from_headers(&state, req.headers());
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
    let (mut ex, mut injected) = (Exchange::new(name), None);
    let result = match fault {
        Ok(fault) => handle(&state, body, endpoint, &mut ex, (fault, &mut injected)).await,
        Err(e) => Err(e),
    };
    faults::delay(&injected).await;
    if let Some(fault) = &injected {
        ex.injected = Some(fault.to_string());
    }
    faults::mark(render(&state, result, ex), injected)
}

/// The request's `X-VMP-Sandbox-Fault` header, and where the fault that
/// was applied (if any) is recorded (`crate::faults`).
type Faults<'a> = (Option<AnswerFault>, &'a mut Option<Injected>);

async fn handle(
    state: &AppState,
    body: Body,
    endpoint: Endpoint,
    ex: &mut Exchange,
    (fault, injected): Faults<'_>,
) -> Result<Params, ApiError> {
    let bytes = read_body(body).await?;
    let params = Params::from_json(ex.body.insert(bytes))?;
    let params = &*ex.params.insert(params);
    crate::metrics::note_service(params.get("service"));
    check_envelope(params)?;
    let (merchant, sent_at) = authenticate(state, params, &mut ex.merchant).await?;
    let request = Request::parse(endpoint, params)?;
    ex.place_order = matches!(request, Request::PlaceOrder(_));
    // Sandbox faults: nothing but an atomic load unless a rule or the header exists.
    if fault.is_some() || state.faults().any() {
        faults::inject(state, &merchant, request.service().spec().op, fault, injected).await?;
    }
    // Idempotency compares what was signed, minus what a retry changes.
    let fingerprint = || orders::request_fingerprint(params);
    Ok(match request {
        Request::PlaceOrder(r) => orders::place_order(state, &merchant, r, fingerprint(), sent_at).await?.into_params(),
        Request::Query(q) => aftersale::query(state, &merchant, &q).await?.to_params(),
        Request::Refund(r) => aftersale::refund(state, &merchant, &r, fingerprint()).await?.to_params(),
        Request::RefundStatus(q) => aftersale::refund_status(state, &merchant, &q).await?.to_params(),
        Request::Close(c) => aftersale::close(state, &merchant, &c).await?.to_params(),
        Request::Qrcode(r) => scenes::qrcode::handle(state, &merchant, r, fingerprint, sent_at).await?,
        Request::Cashier(r) => scenes::cashier::place(state, &merchant, r, fingerprint(), sent_at).await?.into_params(),
        Request::JsapiOrder(r) => {
            scenes::jsapi::place_order(state, &merchant, r, fingerprint(), sent_at).await?.to_params()
        }
        Request::JsapiRefund(r) => scenes::jsapi::refund(state, &merchant, &r, fingerprint()).await?.to_params(),
        Request::AppOrder(r) => {
            scenes::app::place_order(state, &merchant, r, fingerprint(), sent_at).await?.to_params()
        }
        _ => return Err(ApiError::Request(vmp_protocol::RequestError::NotSupported(request.service()))),
    })
}

/// Merchant lookup, status, `time` window and signature, in that order. The
/// merchant is handed out as soon as it is known so refusals can be signed:
/// with the secret the gateway sends with until the signature is checked,
/// then with the secret that verified it (during a rotation's overlap,
/// either). Returns the merchant and the request's `time`.
async fn authenticate(
    state: &AppState,
    params: &Params,
    out: &mut Option<Caller>,
) -> Result<(Arc<Merchant>, VmpTime), ApiError> {
    let key = params.get("user_confirm_key").ok_or(ApiError::MissingKey)?;
    // Checked before the lookup: no database ever sees a malformed key.
    UserConfirmKey::parse(key).map_err(|_| ApiError::UnknownMerchant)?;
    let merchant = state.merchant(key).await?.ok_or(ApiError::UnknownMerchant)?;
    let now = state.clock().now();
    let caller =
        out.insert(Caller { slot: merchant.sending_slot(now.unix_timestamp()), merchant: Arc::clone(&merchant) });
    if merchant.status == MerchantStatus::Disabled {
        return Err(ApiError::MerchantDisabled(merchant.key.clone()));
    }
    if !merchant.has_secret() {
        return Err(ApiError::NoSecret);
    }
    let time = VmpTime::parse(params.get("time").ok_or(ApiError::BadTime)?).map_err(|_| ApiError::BadTime)?;
    if !time.within_window_of(now) {
        return Err(ApiError::TimeOutOfWindow);
    }
    caller.slot = merchant.verify(params, now.unix_timestamp())?;
    if let Some(limiter) = &state.limits().per_merchant
        && !limiter.allow(&merchant.key)
    {
        return Err(ApiError::RateLimited(limiter.per_second()));
    }
    Ok((merchant, time))
}
