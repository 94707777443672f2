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

use vmp_protocol::ops::OpsError;
use vmp_protocol::{PreOrderError, ReturnStatus, SignatureError};

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
    /// Refused before sending: the request breaks a rule of the API page.
    #[error("invalid request: {0}")]
    InvalidRequest(#[from] InvalidRequest),
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

/// Why a request was refused before anything was sent.
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
    /// The wallet is not one of the service's.
    #[error("wallet {wallet} is not supported by {service}; use {allowed}")]
    Wallet {
        /// The service.
        service: &'static str,
        /// The wallet asked for.
        wallet: &'static str,
        /// The service's wallets, `/`-separated.
        allowed: String,
    },
    /// The `pay_scene` is not one of the service's.
    #[error("pay_scene {pay_scene} is not supported by {service}; use {allowed}")]
    PayScene {
        /// The service.
        service: &'static str,
        /// The scene asked for.
        pay_scene: &'static str,
        /// The service's scenes, `/`-separated.
        allowed: String,
    },
    /// `lang` was set for a service whose page has one language only.
    #[error("lang is not supported by {0} (only OCT, MPGS and AE pages take cn/en/hk)")]
    Lang(&'static str),
    /// A field that only applies to other services or wallets was set.
    #[error("{field} does not apply here: {reason}")]
    NotApplicable {
        /// The wire name of the field.
        field: &'static str,
        /// Where the field applies.
        reason: &'static str,
    },
    /// The catalogue does not list the service (a bug in this crate).
    #[error("service {0} is missing from the protocol catalogue")]
    UnknownService(&'static str),
    /// A field breaks the API page's rules (length, characters, URL form,
    /// amount format…), as the gateway itself would judge it.
    #[error("{0}")]
    Field(PreOrderError),
    /// A query, refund, refund-status or close request breaks a rule
    /// (missing order reference, over-long `out_refund_no`, amount text
    /// longer than 8 characters…), as the gateway itself would judge it.
    #[error("{0}")]
    Operation(OpsError),
    /// The catalogue has no service of this kind for the wallet (a bug in
    /// this crate: every wallet has a refund and a close service).
    #[error("no {operation} service for wallet {wallet}")]
    NoServiceForWallet {
        /// `refund` or `close`.
        operation: &'static str,
        /// The wallet.
        wallet: &'static str,
    },
}
