//! The developer console's back end: access ([`auth`]), the operations
//! shared by the HTML console and the JSON API ([`service`]), what they
//! show ([`views`]) and the JSON API itself (`api`, under `/admin/api/`,
//! described by the OpenAPI document it serves at
//! `/admin/api/openapi.json`, generated from the handlers).
//!
//! # Layout
//! - [`Admin`] — the state the console and the API share.
//! - [`router`] — `/`, `/console/…` (`crate::console`) and `/admin/api/…`,
//!   with the security headers every answer of theirs carries.

mod api;
pub mod auth;
pub mod service;
pub mod views;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, header};
use axum::response::{Redirect, Response};
use axum::routing::get;

use crate::state::AppState;

pub use auth::AdminAuth;

/// What the console and the admin API share.
#[derive(Clone)]
pub struct Admin {
    /// The gateway.
    pub(crate) state: AppState,
    /// Tokens, sessions, CSRF.
    pub(crate) auth: Arc<AdminAuth>,
    /// The notification client (test notifications).
    pub(crate) http: reqwest::Client,
    /// The OpenAPI document, rendered once the router is built.
    pub(crate) openapi: Arc<OnceLock<String>>,
}

impl Admin {
    /// The console's state for `state`.
    pub fn new(state: AppState, auth: AdminAuth, http: reqwest::Client) -> Self {
        Self { state, auth: Arc::new(auth), http, openapi: Arc::new(OnceLock::new()) }
    }
}

/// The peer address of a request (the listener adds it).
pub(crate) fn peer<B>(req: &Request<B>) -> Option<SocketAddr> {
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

/// `GET /` (to the console), the console and the admin API.
pub fn router(admin: Admin) -> Router {
    let (api, doc) = api::router().split_for_parts();
    let _ = admin.openapi.set(doc.to_pretty_json().unwrap_or_else(|_| "{}".to_owned()));
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .merge(api)
        .merge(crate::console::router())
        .layer(axum::middleware::map_response(security_headers))
        .with_state(admin)
}

/// The headers every console page and API answer carries: no script, no
/// framing, no sniffing, no referrer, no caching.
async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
             base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
