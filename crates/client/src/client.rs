//! [`Client`]: holds the merchant's credentials and talks to the gateway.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use vmp_protocol::answer::{CloseAnswer, OrderPlaced, QueryAnswer, RefundAnswer, RefundStatusAnswer};
use vmp_protocol::fields::UserConfirmKey;
use vmp_protocol::notify::{self, NotificationError, TradeNotification};
use vmp_protocol::request::{CloseOrder, PlaceOrder, Query, Refund, RefundStatusQuery, Request, envelope};
use vmp_protocol::{Params, ReturnStatus, sign};

use crate::error::{ClientError, InvalidRequest};

/// How long a call may take, connection to last byte, unless changed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest answer read, in bytes; VMP answers are a few hundred.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

type ClockFn = dyn Fn() -> OffsetDateTime + Send + Sync;

/// A VMP API client for one merchant.
///
/// Cheap to clone (the connection pool is shared). `Debug` never shows
/// the secret.
///
/// ```
/// use vmp_client::{Client, SecretString};
/// let client = Client::new("https://vmp.eftpay.com.cn", "MERCHANTKEY1",
///     SecretString::from("s3cret"))
///     .unwrap()
///     .with_timeout(std::time::Duration::from_secs(10))
///     .with_user_agent("my-shop/2.1");
/// assert!(!format!("{client:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    user_confirm_key: String,
    secret: SecretString,
    timeout: Duration,
    user_agent: String,
    clock: Arc<ClockFn>,
    /// With [`Client::with_sandbox_clock`]: the sandbox API and the
    /// gateway clock's offset from `clock`, in seconds, as last read.
    sandbox_clock: Option<(crate::sandbox::Sandbox, Arc<AtomicI64>)>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("user_confirm_key", &self.user_confirm_key)
            .field("secret", &"[REDACTED]")
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the gateway at `base_url` (scheme, host and optional
    /// port, e.g. `http://127.0.0.1:8080` or `https://vmp.eftpay.com.cn`;
    /// endpoint paths such as `/VMP/Servlet/JSAPIService.do` are appended).
    ///
    /// # Errors
    /// [`ClientError::InvalidRequest`] for a bad base URL or
    /// `user_confirm_key`; [`ClientError::Transport`] when the HTTP stack
    /// cannot be set up (e.g. no TLS roots).
    pub fn new(
        base_url: impl AsRef<str>,
        user_confirm_key: impl Into<String>,
        secret: SecretString,
    ) -> Result<Self, ClientError> {
        let base_url = normalise_base_url(base_url.as_ref())?;
        let user_confirm_key = user_confirm_key.into();
        UserConfirmKey::parse(&user_confirm_key).map_err(|_| InvalidRequest::UserConfirmKey)?;
        if user_confirm_key.is_empty() {
            return Err(InvalidRequest::UserConfirmKey.into());
        }
        let http = reqwest::Client::builder()
            // A VMP call is one POST; following a redirect would turn it
            // into a GET somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| transport(&base_url, e))?;
        Ok(Self {
            http,
            base_url,
            user_confirm_key,
            secret,
            timeout: DEFAULT_TIMEOUT,
            user_agent: concat!("vmp-client/", env!("CARGO_PKG_VERSION")).to_owned(),
            clock: Arc::new(OffsetDateTime::now_utc),
            sandbox_clock: None,
        })
    }

    /// Sets the timeout of each call (connection to last byte of the answer).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the `User-Agent` header (default `vmp-client/VERSION`). An
    /// invalid header value makes calls fail with
    /// [`InvalidRequest::UserAgent`].
    #[must_use]
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Replaces the clock that stamps `time` (default: the system clock).
    /// Whatever the clock's offset, `time` is written in UTC+8.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Follows an OpenVMP sandbox's clock (sandbox mode only): before each
    /// call the client reads `GET /sandbox/clock` and stamps `time` with
    /// the gateway's time, so moving the sandbox clock forward never makes
    /// the client's requests stale (`12`).
    /// [`Client::verify_notification`] uses the time last read (refresh it
    /// with [`Client::sync_sandbox_clock`]).
    ///
    /// # Errors
    /// [`ClientError::Transport`] when the HTTP stack cannot be set up.
    pub fn with_sandbox_clock(mut self) -> Result<Self, ClientError> {
        let sandbox = crate::sandbox::Sandbox::new(&self.base_url)?;
        self.sandbox_clock = Some((sandbox, Arc::new(AtomicI64::new(0))));
        Ok(self)
    }

    /// Reads the sandbox clock now (with [`Client::with_sandbox_clock`];
    /// otherwise returns this client's own time) and returns it.
    ///
    /// # Errors
    /// As [`crate::sandbox::Sandbox::clock`].
    pub async fn sync_sandbox_clock(&self) -> Result<OffsetDateTime, ClientError> {
        let Some((sandbox, offset)) = &self.sandbox_clock else { return Ok(self.now()) };
        let gateway = sandbox.clock().await?;
        offset.store((gateway - (self.clock)()).whole_seconds(), Ordering::Relaxed);
        Ok(gateway)
    }

    /// Now, by this client: its clock, plus the sandbox clock's offset when
    /// it follows one.
    pub fn now(&self) -> OffsetDateTime {
        let offset = self.sandbox_clock.as_ref().map_or(0, |(_, o)| o.load(Ordering::Relaxed));
        (self.clock)() + time::Duration::seconds(offset)
    }

    /// Uses a preconfigured `reqwest::Client` (proxies, custom roots…).
    /// Redirects should stay disabled on it.
    #[must_use]
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The merchant's `user_confirm_key`.
    pub fn user_confirm_key(&self) -> &str {
        &self.user_confirm_key
    }

    /// The signed parameters a request is POSTed with (its fields, the
    /// envelope and `sign`), without sending it. The request is first
    /// judged by the gateway's own parser, so what would be refused is
    /// never sent.
    ///
    /// # Errors
    /// [`ClientError::Request`] naming the field the gateway would refuse.
    pub fn prepare(&self, request: &Request) -> Result<Params, ClientError> {
        let fields = request.to_params();
        Request::parse(request.endpoint(), &fields)?;
        let mut params = envelope(fields, &self.user_confirm_key, self.now());
        sign::sign_in_place(self.secret.expose_secret(), &mut params);
        Ok(params)
    }

    /// Sends any request and returns the verified answer's parameters,
    /// for fields the typed answers do not name.
    ///
    /// # Errors
    /// See [`ClientError`]: `Request` (refused here, nothing sent),
    /// `Transport`, `Timeout`, `HttpStatus`, `Decode`, `BadAnswerSignature`,
    /// and `Api` for every `return_status` other than `00`.
    pub async fn send(&self, request: &Request) -> Result<Params, ClientError> {
        if self.sandbox_clock.is_some() {
            self.sync_sandbox_clock().await?;
        }
        let params = self.prepare(request)?;
        self.call(&request.endpoint().path(), &params).await
    }

    /// Places an order: signs it, POSTs it to `JSAPIService.do`, verifies
    /// the answer's signature and that it is about this order, and returns
    /// the pay link. Build the order with [`PlaceOrder::builder`], which
    /// judges it by the gateway's rules before anything is sent.
    ///
    /// The call is idempotent at the gateway: re-sending the same order
    /// (same `out_trade_no`, same fields) after a [`ClientError::Transport`]
    /// or [`ClientError::Timeout`] returns the first answer again.
    ///
    /// ```no_run
    /// # async fn run(client: vmp_client::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use vmp_client::{Amount, PlaceOrder, ReturnStatus, Service, Wallet};
    /// let order = PlaceOrder::builder(Service::PaymeWeb)
    ///     .out_trade_no("ORDER-9")
    ///     .amount(Amount::parse("0.81")?)
    ///     .subject("Sandbox success")
    ///     .build()?;
    /// match client.place_order(&order).await {
    ///     Ok(placed) => println!("{}", placed.pay_apptrade),
    ///     Err(e) if e.api_code() == Some(ReturnStatus::DuplicateOrder) => {
    ///         eprintln!("ORDER-9 was already used for another order")
    ///     }
    ///     Err(e) => return Err(e.into()),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Client::send`].
    pub async fn place_order(&self, order: &PlaceOrder) -> Result<OrderPlaced, ClientError> {
        let answer = self.send(&Request::PlaceOrder(order.clone())).await?;
        Ok(OrderPlaced::for_request(&answer, order, &self.user_confirm_key)?)
    }

    /// Queries an order (the sale) or one of its refunds, and checks the
    /// answer is about the order (and refund) asked for. A query changes
    /// nothing, so it is always safe to repeat. An unpaid order past its
    /// `active_time` is reported `TRADE_CLOSED`.
    ///
    /// ```no_run
    /// # async fn run(client: vmp_client::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use vmp_client::{Query, ReturnStatus, TradeRef};
    /// match client.query(&Query::sale(TradeRef::out_trade_no("ORDER-9")?)).await {
    ///     Ok(q) if q.trade_status.is_paid() => println!("paid {}", q.transaction_amount),
    ///     Ok(q) => println!("not paid: {}", q.trade_status),
    ///     Err(e) if e.api_code() == Some(ReturnStatus::TradeNotExist) => println!("no such order"),
    ///     Err(e) => return Err(e.into()),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Client::send`]; the gateway's refusals include `05` (no such
    /// order, or no such refund of it).
    pub async fn query(&self, query: &Query) -> Result<QueryAnswer, ClientError> {
        let answer = self.send(&Request::Query(query.clone())).await?;
        Ok(QueryAnswer::for_request(&answer, query, &self.user_confirm_key)?)
    }

    /// Refunds a paid order in full or in part. Safe to retry: the same
    /// refund (same `out_refund_no`, same fields) sent again is answered
    /// like the first time and refunds nothing more.
    ///
    /// ```no_run
    /// # async fn run(client: vmp_client::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use vmp_client::{Amount, Refund, ReturnStatus, TradeRef, Wallet};
    /// let refund = Refund::builder(TradeRef::out_trade_no("ORDER-9")?)
    ///     .out_refund_no("REFUND-9-1")
    ///     .amount(Amount::parse("2.00")?)
    ///     .wallet(Wallet::AlipayHk)
    ///     .build()?;
    /// match client.refund(&refund).await {
    ///     Ok(r) => println!("{}: {}", r.out_refund_no, r.trade_status),
    ///     Err(e) if e.api_code() == Some(ReturnStatus::RefundExceedsAmount) => {
    ///         eprintln!("more than what is left to refund")
    ///     }
    ///     Err(e) => return Err(e.into()),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Client::send`]; the gateway's refusals include `31` (no such
    /// order), `16` (not paid), `15` (closed or fully refunded), `18` (over
    /// the amount left), `14` (`out_refund_no` already used for a different
    /// refund) and `-16` (`wallet` not of the order's family).
    pub async fn refund(&self, refund: &Refund) -> Result<RefundAnswer, ClientError> {
        let answer = self.send(&Request::Refund(refund.clone())).await?;
        Ok(RefundAnswer::for_request(&answer, refund, &self.user_confirm_key)?)
    }

    /// Asks where a refund is (`service.unified.RefundStatusQuery`):
    /// `PROCESSING` until an apply-refund completes, then `SUCCESS`.
    ///
    /// # Errors
    /// As [`Client::send`]; the gateway's refusals include `05` (no such
    /// order or refund).
    pub async fn refund_status(&self, query: &RefundStatusQuery) -> Result<RefundStatusAnswer, ClientError> {
        let answer = self.send(&Request::RefundStatus(query.clone())).await?;
        Ok(RefundStatusAnswer::for_request(&answer, query, &self.user_confirm_key)?)
    }

    /// Closes an unpaid order so it can no longer be paid. Closing it again
    /// is answered like the first time.
    ///
    /// # Errors
    /// As [`Client::send`]; the gateway's refusals include `05` (no such
    /// order), `54` (already paid) and `-16` (the service or `wallet` is not
    /// the order's).
    pub async fn close_order(&self, close: &CloseOrder) -> Result<CloseAnswer, ClientError> {
        let answer = self.send(&Request::Close(close.clone())).await?;
        Ok(CloseAnswer::for_request(&answer, close, &self.user_confirm_key)?)
    }

    /// Verifies a notification body the gateway POSTed to the merchant's
    /// `notify_url` with this client's secret and clock: the signature
    /// (either signing rule), the ±30 minute window, and the fields.
    ///
    /// ```
    /// use vmp_client::{Client, SecretString};
    /// let client = Client::new("http://127.0.0.1:8080", "K1", SecretString::from("s3cret")).unwrap();
    /// assert!(client.verify_notification(br#"{"notify_type":"trade_status_sync"}"#).is_err());
    /// ```
    ///
    /// # Errors
    /// [`NotificationError`]: malformed, badly signed or stale.
    pub fn verify_notification(&self, body: &[u8]) -> Result<TradeNotification, NotificationError> {
        notify::verify_notification(body, self.secret.expose_secret(), self.now())
    }

    /// Runs `verify` with the secret and the clock's now (for the scenes'
    /// notification checks in other modules of the SDK).
    pub(crate) fn with_secret<T>(&self, verify: impl FnOnce(&str, OffsetDateTime) -> T) -> T {
        verify(self.secret.expose_secret(), (self.clock)())
    }

    /// The merchant's secret and the clock's now, for verifying what the
    /// gateway sends (the scenes' methods in `scenes.rs`).
    pub(crate) fn secret_and_now(&self) -> (&str, OffsetDateTime) {
        (self.secret.expose_secret(), (self.clock)())
    }

    /// POSTs signed `params` to `path` and returns the verified answer when
    /// its `return_status` is `00`.
    async fn call(&self, path: &str, params: &Params) -> Result<Params, ClientError> {
        let user_agent = HeaderValue::try_from(self.user_agent.as_str()).map_err(|_| InvalidRequest::UserAgent)?;
        let url = format!("{}{path}", self.base_url);
        let sent = self
            .http
            .post(&url)
            .timeout(self.timeout)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, user_agent)
            .body(params.to_json())
            .send()
            .await;
        let mut response = sent.map_err(|e| self.request_error(&url, e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ClientError::HttpStatus { status: status.as_u16() });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.request_error(&url, e))? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(ClientError::Decode { message: format!("answer larger than {MAX_ANSWER_BYTES} bytes") });
            }
            body.extend_from_slice(&chunk);
        }
        self.check_answer(&body)
    }

    /// Reads and verifies an answer body.
    ///
    /// Answers with `return_status >= 00` are signed and must verify, with
    /// one exception: a `10` (signature refused) answer is signed with the
    /// secret the gateway holds, which by definition is not ours, so it is
    /// reported as the refusal it is. Negative codes are unsigned.
    fn check_answer(&self, body: &[u8]) -> Result<Params, ClientError> {
        let answer = Params::from_json(body).map_err(|e| ClientError::Decode { message: e.to_string() })?;
        let status = answer
            .get("return_status")
            .ok_or_else(|| ClientError::Decode { message: "the answer has no return_status".to_owned() })?
            .to_owned();
        let code = ReturnStatus::from_code(&status);
        let api_error = |answer: &Params| ClientError::Api {
            status: status.clone(),
            code,
            message: answer.get("return_char").unwrap_or_default().to_owned(),
        };
        if !status.starts_with('-')
            && let Err(e) = sign::verify(self.secret.expose_secret(), &answer)
        {
            return Err(if code == Some(ReturnStatus::SignatureError) {
                api_error(&answer)
            } else {
                ClientError::BadAnswerSignature(e)
            });
        }
        if code == Some(ReturnStatus::Accepted) { Ok(answer) } else { Err(api_error(&answer)) }
    }

    fn request_error(&self, url: &str, e: reqwest::Error) -> ClientError {
        if e.is_timeout() { ClientError::Timeout { after: self.timeout } } else { transport(url, e) }
    }
}

pub(crate) fn transport(url: &str, e: reqwest::Error) -> ClientError {
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    ClientError::Transport { url: url.to_owned(), detail, source: e }
}

pub(crate) fn normalise_base_url(s: &str) -> Result<String, InvalidRequest> {
    let bad = || InvalidRequest::BaseUrl(without_credentials(s));
    let url = url::Url::parse(s).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none_or(str::is_empty)
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(bad());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// `s` with any `user:password@` before the host shown as `***@`: a refused
/// URL is echoed in errors, and it may be refused for carrying credentials.
fn without_credentials(s: &str) -> String {
    let Some(scheme_end) = s.find("://").map(|i| i + 3) else { return s.to_owned() };
    let rest = &s[scheme_end..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_len].rfind('@') {
        Some(at) => format!("{}***{}", &s[..scheme_end], &rest[at..]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client::new("http://127.0.0.1:9", "KEY1", SecretString::from("s3cret-value")).unwrap()
    }

    #[test]
    fn base_urls_are_normalised_and_checked() {
        for (given, want) in [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
            ("https://vmp.eftpay.com.cn", "https://vmp.eftpay.com.cn"),
            ("https://gw.example/prefix/", "https://gw.example/prefix"),
        ] {
            assert_eq!(normalise_base_url(given).unwrap(), want, "{given}");
        }
        for bad in ["", "vmp.eftpay.com.cn", "ftp://x.example", "http://x.example/?a=1", "http://u:p@x.example"] {
            assert!(normalise_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_refused_base_url_is_echoed_without_its_credentials() {
        for (given, shown) in [
            ("http://merchant:hunter2@gw.example/vmp", "http://***@gw.example/vmp"),
            ("https://a@b:pw@gw.example", "https://***@gw.example"),
            ("http://u:hunter2@[::1", "http://***@[::1"),
            ("ftp://gw.example/a@b", "ftp://gw.example/a@b"),
        ] {
            let err = normalise_base_url(given).unwrap_err().to_string();
            assert!(err.contains(shown) && !err.contains("hunter2") && !err.contains(":pw"), "{given}: {err}");
        }
    }

    #[test]
    fn keys_are_checked() {
        for bad in ["", "with space", "thirteen-char"] {
            assert!(Client::new("http://127.0.0.1:9", bad, SecretString::from("s")).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let text = format!("{:?}", client());
        assert!(!text.contains("s3cret-value"), "{text}");
        assert!(text.contains("[REDACTED]"));
        assert!(text.contains("KEY1"));
    }

    #[test]
    fn answers_are_verified_before_they_are_believed() {
        let c = client();
        let signed = |p: Params, secret: &str| {
            let mut p = p;
            sign::sign_in_place(secret, &mut p);
            p.to_json()
        };
        let ok = Params::new().with("return_status", "00").with("return_char", "").with("time", "20240101120000");
        assert!(c.check_answer(signed(ok.clone(), "s3cret-value").as_bytes()).is_ok());
        assert!(matches!(
            c.check_answer(signed(ok.clone(), "other").as_bytes()),
            Err(ClientError::BadAnswerSignature(_))
        ));
        assert!(matches!(
            c.check_answer(ok.to_json().as_bytes()),
            Err(ClientError::BadAnswerSignature(vmp_protocol::SignatureError::Missing))
        ));
        let dup = ok.clone().with("return_status", "03");
        assert!(matches!(
            c.check_answer(signed(dup.clone(), "other").as_bytes()),
            Err(ClientError::BadAnswerSignature(_))
        ));
        assert_eq!(
            c.check_answer(signed(dup, "s3cret-value").as_bytes()).unwrap_err().api_code(),
            Some(ReturnStatus::DuplicateOrder)
        );
        // A `10` cannot verify with our secret: it is reported as a `10`.
        let refused = ok.clone().with("return_status", "10");
        assert_eq!(
            c.check_answer(signed(refused, "gateway-secret").as_bytes()).unwrap_err().api_code(),
            Some(ReturnStatus::SignatureError)
        );
        // Negative codes are unsigned.
        let neg = Params::new().with("return_status", "-13").with("return_char", "parameter error");
        let err = c.check_answer(neg.to_json().as_bytes()).unwrap_err();
        assert!(
            matches!(&err, ClientError::Api { status, code: Some(ReturnStatus::InvalidParameter), message } if status == "-13" && message == "parameter error"),
            "{err:?}"
        );
        for bad in [&b"<html>"[..], b"", br#"{"a":"1"}"#] {
            assert!(matches!(c.check_answer(bad), Err(ClientError::Decode { .. })), "{bad:?}");
        }
    }
}
