//! Receiving notifications in an axum app (cargo feature `axum`).
//!
//! Put a [`NotificationReceiver`] in the router state (directly or through
//! `FromRef`) and take a [`VerifiedNotification`] in the handler: it reads
//! the body, verifies it (JSON from `notify_url`, or the form the buyer's
//! browser posts to `return_url`) and rejects anything unverifiable with
//! `400 Bad Request` before the handler runs. Answer with
//! [`VerifiedNotification::ack`] once the result is stored.
//!
//! ```no_run
//! use axum::{routing::post, Router};
//! use vmp_client::axum::{Ack, NotificationReceiver, VerifiedNotification};
//! use vmp_client::SecretString;
//!
//! async fn notify(n: VerifiedNotification) -> Ack {
//!     if n.notification.is_paid_sale() {
//!         // Persist "order n.notification.out_trade_no is paid" here,
//!         // idempotently: the same notification may arrive twice.
//!     }
//!     n.ack()
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let receiver = NotificationReceiver::new(SecretString::from("the merchant secret"));
//! let app = Router::new().route("/vmp/notify", post(notify)).with_state(receiver);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await
//! # }
//! ```

use std::fmt;
use std::sync::Arc;

/// The largest notification body read (the gateway's own request limit).
pub const NOTIFICATION_BODY_LIMIT: usize = 64 * 1024;

use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use vmp_protocol::Params;
use vmp_protocol::notify::{self, NotificationError, TradeNotification};

type ClockFn = dyn Fn() -> OffsetDateTime + Send + Sync;

/// The merchant's secret and clock, for verifying deliveries and signing
/// acks. Cheap to clone; `Debug` never shows the secret.
#[derive(Clone)]
pub struct NotificationReceiver {
    secret: SecretString,
    clock: Arc<ClockFn>,
}

impl fmt::Debug for NotificationReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotificationReceiver").field("secret", &"[REDACTED]").finish_non_exhaustive()
    }
}

impl NotificationReceiver {
    /// A receiver verifying with `secret` against the system clock.
    pub fn new(secret: SecretString) -> Self {
        Self { secret, clock: Arc::new(OffsetDateTime::now_utc) }
    }

    /// Replaces the clock used for the ±30 minute window and ack `time`.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Verifies a delivery body: a form when `headers` say
    /// `application/x-www-form-urlencoded`, JSON otherwise.
    ///
    /// # Errors
    /// [`NotificationError`] as `vmp_protocol::notify::verify_params`.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(TradeNotification, DeliveryKind), NotificationError> {
        let now = (self.clock)();
        let secret = self.secret.expose_secret();
        if is_form(headers) {
            notify::verify_return_form(body, secret, now).map(|n| (n, DeliveryKind::ReturnForm))
        } else {
            notify::verify_notification(body, secret, now).map(|n| (n, DeliveryKind::Notify))
        }
    }

    /// The signed acknowledgement, `success` or `false`, stamped now.
    pub fn ack(&self, success: bool) -> Ack {
        Ack(notify::ack(self.secret.expose_secret(), success, (self.clock)()))
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
}

/// How a verified payload arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKind {
    /// JSON POSTed by the gateway to `notify_url`.
    Notify,
    /// A form POSTed by the buyer's browser to `return_url`.
    ReturnForm,
}

/// An extractor: a notification (or `return_url` form) whose signature and
/// `time` window have been verified.
#[derive(Debug, Clone)]
pub struct VerifiedNotification {
    /// The verified fields.
    pub notification: TradeNotification,
    /// Where it came from.
    pub kind: DeliveryKind,
    receiver: NotificationReceiver,
}

impl VerifiedNotification {
    /// The signed `success` ack: "stored, stop sending".
    pub fn ack(&self) -> Ack {
        self.receiver.ack(true)
    }

    /// The signed `false` ack: "not stored, send again later".
    pub fn nack(&self) -> Ack {
        self.receiver.ack(false)
    }
}

impl<S> FromRequest<S> for VerifiedNotification
where
    NotificationReceiver: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = NotificationRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let receiver = NotificationReceiver::from_ref(state);
        let headers = req.headers().clone();
        // A notification is a few hundred bytes; anything near the limit is
        // not one, and is not worth reading (or parsing) further.
        let body = axum::body::to_bytes(req.into_body(), NOTIFICATION_BODY_LIMIT)
            .await
            .map_err(|e| NotificationRejection::Body(format!("{e} (at most {NOTIFICATION_BODY_LIMIT} bytes)")))?;
        let (notification, kind) = receiver.verify(&headers, &body).map_err(NotificationRejection::Invalid)?;
        Ok(Self { notification, kind, receiver })
    }
}

/// Why [`VerifiedNotification`] refused a request; answers `400 Bad
/// Request` with a one-line reason (the gateway will deliver again).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationRejection {
    /// The body could not be read (too large, connection error).
    #[error("notification body could not be read: {0}")]
    Body(String),
    /// The body was read but did not verify.
    #[error("{0}")]
    Invalid(NotificationError),
}

impl IntoResponse for NotificationRejection {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, self.to_string()).into_response()
    }
}

/// A signed acknowledgement, answered as `200` JSON:
/// `{"return_code":"success","time":"…","sign":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack(pub Params);

impl IntoResponse for Ack {
    fn into_response(self) -> Response {
        let mut resp = self.0.to_json().into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=UTF-8"));
        resp
    }
}
