//! [`ClientError`]: what can go wrong on a call, one variant per layer.
//!
//! - [`ClientError::InvalidRequest`]: refused here, nothing was sent.
//! - [`ClientError::Transport`] / [`ClientError::Timeout`] /
//!   [`ClientError::HttpStatus`]: no VMP answer arrived; retrying the
//!   same request (same `out_trade_no`) is safe.
//! - [`ClientError::Decode`] / [`ClientError::BadAnswerSignature`]: an
//!   answer arrived but cannot be trusted or read.
//! - [`ClientError::Api`]: the gateway answered and refused.

use std::time::Duration;

use vmp_protocol::answer::AnswerError;
use vmp_protocol::{RequestError, ReturnStatus, SignatureError};

/// A failed call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The gateway answered with a `return_status` other than `00`.
    #[error("the gateway refused the request: return_status {status} ({message})")]
    Api {
        /// `return_status` as sent, e.g. `"10"` or `"-13"`.
        status: String,
        /// The typed code, when it is a known one.
        code: Option<ReturnStatus>,
        /// `return_char`: for humans only; eftPay says it may change and
        /// must not be branched on (branch on `code`).
        message: String,
    },
    /// The connection failed (refused, reset, DNS, TLS…).
    #[error("could not reach the gateway at {url}: {detail}")]
    Transport {
        /// The URL that was called.
        url: String,
        /// The innermost cause, in one line.
        detail: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// No complete answer within the configured timeout.
    #[error("the gateway did not answer within {}s", .after.as_secs_f64())]
    Timeout {
        /// The timeout that expired.
        after: Duration,
    },
    /// The gateway answered with an HTTP status other than 2xx (eftPay
    /// always answers 200, so this is usually a wrong `base_url` or a proxy).
    #[error("the gateway answered HTTP {status} instead of a VMP answer (check the base URL)")]
    HttpStatus {
        /// The HTTP status code.
        status: u16,
    },
    /// OpenVMP's sandbox API refused the call (`crate::sandbox`): 404 for
    /// an unknown order or merchant (or a gateway in production mode), 409
    /// for an order already final or expired, 400 for a bad value.
    #[error("the sandbox API answered HTTP {status}: {message}")]
    SandboxRefused {
        /// The HTTP status.
        status: u16,
        /// The gateway's explanation.
        message: String,
    },
    /// The answer could not be read as a VMP answer.
    #[error("could not read the gateway's answer: {message}")]
    Decode {
        /// What was wrong with it.
        message: String,
    },
    /// The answer's `sign` is missing or does not verify with the secret:
    /// it was not produced by a gateway holding this merchant's secret.
    #[error("the gateway's answer signature is invalid ({0}); check the secret and the base URL")]
    BadAnswerSignature(SignatureError),
    /// Refused before sending: the client is misconfigured.
    #[error("invalid request: {0}")]
    InvalidRequest(#[from] InvalidRequest),
    /// Refused before sending: the request breaks a rule of the API, as
    /// the gateway itself would judge it.
    #[error("invalid request: {0}")]
    Request(#[from] RequestError),
}

impl From<AnswerError> for ClientError {
    fn from(e: AnswerError) -> Self {
        ClientError::Decode { message: e.0 }
    }
}

impl ClientError {
    /// The typed `return_status` of an [`ClientError::Api`] error.
    pub fn api_code(&self) -> Option<ReturnStatus> {
        match self {
            Self::Api { code, .. } => *code,
            _ => None,
        }
    }

    /// Whether the request may not have reached the gateway or its answer
    /// was lost, so sending the same request again is the right move.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Transport { .. } | Self::Timeout { .. } | Self::HttpStatus { .. })
    }
}

/// Why the client refused to send anything: its configuration is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidRequest {
    /// The base URL is not an absolute `http`/`https` URL without query.
    #[error("base URL {0:?} must be an absolute http(s) URL without query or fragment")]
    BaseUrl(String),
    /// The `user_confirm_key` is empty, too long or has spaces.
    #[error("user_confirm_key is invalid: at most 12 printable ASCII characters")]
    UserConfirmKey,
    /// The user agent is not a valid HTTP header value.
    #[error("the user agent is not a valid HTTP header value")]
    UserAgent,
}
