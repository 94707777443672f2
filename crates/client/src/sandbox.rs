//! OpenVMP's sandbox API, for a merchant's CI (OpenVMP in sandbox mode
//! only; eftPay has no such API, and a production OpenVMP answers 404).
//!
//! [`Sandbox`] settles an order as its buyer would, reads and moves the
//! gateway clock, and sets the merchant's fault rules (answers with a
//! chosen `return_status` or late, notifications dropped, doubled, late,
//! out of order or wrongly signed: README "Testing your integration in CI").
//!
//! ```no_run
//! use vmp_client::sandbox::{Outcome, Sandbox, SandboxOrder};
//! use vmp_protocol::faults::FaultRule;
//!
//! # async fn run() -> Result<(), vmp_client::ClientError> {
//! let sandbox = Sandbox::new("http://127.0.0.1:8080")?;
//! // The next refund of merchant CI1 is answered 51, and nothing is refunded.
//! let rule = FaultRule::from_json(br#"{"operation":"refund","return_status":"51"}"#).expect("a valid rule");
//! sandbox.add_fault("CI1", &rule).await?;
//! let settled = sandbox.pay(&SandboxOrder::out_trade_no("CI1", "ORDER-1"), Outcome::Success).await?;
//! assert_eq!(settled.trade_status, "TRADE_SUCCESS");
//! sandbox.advance(900).await?; // expiry, retries and apply-refunds, 15 minutes on
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use vmp_protocol::VmpTime;
use vmp_protocol::faults::{FaultRule, FaultRuleSpec};

use crate::client::{normalise_base_url, transport};
use crate::error::ClientError;

/// How long a sandbox call may take.
const SANDBOX_TIMEOUT: Duration = Duration::from_secs(30);

/// A client of one gateway's sandbox API. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Sandbox {
    http: reqwest::Client,
    base_url: url::Url,
}

/// What the buyer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Pays (the magic amounts still apply: `.77` fails, `.80` closes, `.45` errs).
    Success,
    /// The payment fails (`TRADE_FAIL`).
    Fail,
    /// Gives up (`TRADE_CLOSED`).
    Cancel,
}

impl Outcome {
    /// The sandbox API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Fail => "fail",
            Self::Cancel => "cancel",
        }
    }
}

/// An order, named by the gateway's number or by the merchant's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxOrder {
    /// By `eft_trade_no`.
    Eft(String),
    /// By the merchant's key and `out_trade_no`.
    Out {
        /// `user_confirm_key`.
        key: String,
        /// `out_trade_no`.
        out_trade_no: String,
    },
}

impl SandboxOrder {
    /// The order with this `eft_trade_no`.
    pub fn eft_trade_no(eft_trade_no: impl Into<String>) -> Self {
        Self::Eft(eft_trade_no.into())
    }

    /// The merchant's order with this `out_trade_no`.
    pub fn out_trade_no(key: impl Into<String>, out_trade_no: impl Into<String>) -> Self {
        Self::Out { key: key.into(), out_trade_no: out_trade_no.into() }
    }
}

/// What settling did.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Settled {
    /// The gateway's order number.
    pub eft_trade_no: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// `settled`, or `server_error_no_state` (magic amount `.45`).
    pub result: String,
    /// The order's `trade_status` now.
    pub trade_status: String,
}

#[derive(Deserialize)]
struct Clock {
    now: String,
}

#[derive(Deserialize)]
struct FaultList {
    faults: Vec<FaultRuleSpec>,
}

#[derive(Deserialize)]
struct Cleared {
    cleared: u64,
}

#[derive(Deserialize)]
struct Refusal {
    error: String,
}

impl Sandbox {
    /// The sandbox API of the gateway at `base_url`.
    ///
    /// # Errors
    /// [`ClientError::InvalidRequest`] for a bad base URL;
    /// [`ClientError::Transport`] when the HTTP stack cannot be set up.
    pub fn new(base_url: impl AsRef<str>) -> Result<Self, ClientError> {
        let base = normalise_base_url(base_url.as_ref())?;
        let base_url = url::Url::parse(&base).map_err(|_| crate::InvalidRequest::BaseUrl(base.clone()))?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(SANDBOX_TIMEOUT)
            .build()
            .map_err(|e| transport(&base, e))?;
        Ok(Self { http, base_url })
    }

    /// The URL of a sandbox path; each segment is percent-encoded.
    fn url(&self, segments: &[&str]) -> url::Url {
        let mut url = self.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        url: url::Url,
        body: Option<String>,
    ) -> Result<T, ClientError> {
        let mut req = self.http.request(method, url.clone());
        if let Some(body) = body {
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json").body(body);
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() { ClientError::Timeout { after: SANDBOX_TIMEOUT } } else { transport(url.as_str(), e) }
        })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| transport(url.as_str(), e))?;
        if !status.is_success() {
            let message = serde_json::from_slice::<Refusal>(&bytes)
                .map(|r| r.error)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).chars().take(200).collect());
            return Err(ClientError::SandboxRefused { status: status.as_u16(), message });
        }
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode { message: e.to_string() })
    }

    /// Settles an order as its buyer would (`POST /sandbox/orders/…/pay`).
    ///
    /// # Errors
    /// [`ClientError::SandboxRefused`] with status 409 when the order was
    /// already final or had expired (the message says its state), 404 when
    /// there is no such order (or the gateway runs in production mode).
    pub async fn pay(&self, order: &SandboxOrder, outcome: Outcome) -> Result<Settled, ClientError> {
        let url = match order {
            SandboxOrder::Eft(eft) => self.url(&["sandbox", "orders", eft, "pay"]),
            SandboxOrder::Out { key, out_trade_no } => {
                self.url(&["sandbox", "merchants", key, "orders", out_trade_no, "pay"])
            }
        };
        let body = serde_json::json!({ "outcome": outcome.as_str() }).to_string();
        self.call(reqwest::Method::POST, url, Some(body)).await
    }

    /// The gateway's clock (`GET /sandbox/clock`).
    ///
    /// # Errors
    /// As [`Sandbox::pay`]; [`ClientError::Decode`] for an unreadable time.
    pub async fn clock(&self) -> Result<OffsetDateTime, ClientError> {
        let c: Clock = self.call(reqwest::Method::GET, self.url(&["sandbox", "clock"]), None).await?;
        read_time(&c.now)
    }

    /// Moves the gateway clock forward (1 s to 31 days at a time) and
    /// returns the new time.
    ///
    /// # Errors
    /// [`ClientError::SandboxRefused`]: 400 for a move out of range, 409
    /// past the 10-year limit.
    pub async fn advance(&self, seconds: i64) -> Result<OffsetDateTime, ClientError> {
        let body = serde_json::json!({ "seconds": seconds }).to_string();
        let c: Clock = self.call(reqwest::Method::POST, self.url(&["sandbox", "clock", "advance"]), Some(body)).await?;
        read_time(&c.now)
    }

    /// Adds a fault rule for the merchant; returns it as stored (with its `id`).
    ///
    /// # Errors
    /// [`ClientError::SandboxRefused`]: 404 for an unknown merchant, 400
    /// for a rule the gateway refuses.
    pub async fn add_fault(&self, key: &str, rule: &FaultRule) -> Result<FaultRuleSpec, ClientError> {
        let url = self.url(&["sandbox", "merchants", key, "faults"]);
        self.call(reqwest::Method::POST, url, Some(rule.to_json())).await
    }

    /// The merchant's fault rules, oldest first.
    ///
    /// # Errors
    /// As [`Sandbox::add_fault`].
    pub async fn faults(&self, key: &str) -> Result<Vec<FaultRuleSpec>, ClientError> {
        let list: FaultList =
            self.call(reqwest::Method::GET, self.url(&["sandbox", "merchants", key, "faults"]), None).await?;
        Ok(list.faults)
    }

    /// Deletes the merchant's fault rules, or the one with `id`; how many.
    ///
    /// # Errors
    /// As [`Sandbox::add_fault`]; 404 for an `id` the merchant has no rule with.
    pub async fn clear_faults(&self, key: &str, id: Option<i64>) -> Result<u64, ClientError> {
        let id = id.map(|i| i.to_string());
        let url = match &id {
            Some(id) => self.url(&["sandbox", "merchants", key, "faults", id]),
            None => self.url(&["sandbox", "merchants", key, "faults"]),
        };
        let cleared: Cleared = self.call(reqwest::Method::DELETE, url, None).await?;
        Ok(cleared.cleared)
    }
}

fn read_time(text: &str) -> Result<OffsetDateTime, ClientError> {
    VmpTime::parse(text)
        .map(VmpTime::datetime)
        .map_err(|e| ClientError::Decode { message: format!("the sandbox clock {text:?}: {e}") })
}
