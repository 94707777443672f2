//! Gateway settings. The `vmp` binary fills them from flags and `VMP_*`
//! environment variables; tests build them directly.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Whether sandbox conveniences are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Sandbox wallets, magic amounts, loopback notify URLs allowed (default).
    #[default]
    Sandbox,
    /// Sandbox routes off; notify/return URLs restricted.
    Production,
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sandbox" => Ok(Mode::Sandbox),
            "production" => Ok(Mode::Production),
            other => Err(format!("unknown mode {other:?} (sandbox or production)")),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Sandbox => "sandbox",
            Mode::Production => "production",
        })
    }
}

/// Everything the gateway needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Directory of the embedded SQLite store (created if missing). A
    /// directory that held a store whose database is now missing is
    /// refused, unless [`Settings::init`].
    pub data_dir: PathBuf,
    /// Create an empty SQLite store even in a data directory whose store
    /// was lost (`vmp serve --init`). Default `false`. PostgreSQL ignores it.
    pub init: bool,
    /// Public base URL used to build `pay_apptrade` links. `None`: derived
    /// from the bound address (`http://127.0.0.1:PORT`).
    pub public_url: Option<url::Url>,
    /// Sandbox or production.
    pub mode: Mode,
    /// This instance's number (0–99), the first digits of every
    /// `eft_trade_no` it issues; distinct per instance sharing a store.
    /// `None`: 1 on SQLite; on PostgreSQL, drawn from a database sequence
    /// at start, so instances never need to be numbered by hand.
    pub node_id: Option<u8>,
    /// `postgres://…` to use PostgreSQL (several instances on one database)
    /// instead of the embedded SQLite store in `data_dir`. Never logged.
    pub database_url: Option<secrecy::SecretString>,
    /// Most writes committed in one transaction by the group-commit writer.
    pub max_batch: usize,
    /// Whether to create a sandbox merchant when the store has none.
    pub bootstrap_merchant: bool,
    /// Notification delivery tuning.
    pub notifier: crate::notifier::NotifierSettings,
    /// Expiry and apply-refund sweep tuning.
    pub sweeper: crate::sweeper::SweeperSettings,
    /// Requests per second per client IP (`None`: the mode's default —
    /// unlimited in sandbox, 2000 in production; `Some(0)`: unlimited).
    pub rate_limit_ip: Option<u32>,
    /// Requests per second per merchant (`None`: unlimited in sandbox,
    /// 1000 in production; `Some(0)`: unlimited).
    pub rate_limit_merchant: Option<u32>,
    /// How long a merchant read from the store is reused; changes made by
    /// `vmp merchant …` apply within this time. Default 1 s.
    pub merchant_cache_ttl: std::time::Duration,
    /// Connection limits and timeouts of the HTTP listener.
    pub http: HttpLimits,
    /// Where to serve Prometheus metrics (`GET /metrics`); `None`: no
    /// metrics listener and no metrics recorder.
    pub metrics_listen: Option<SocketAddr>,
    /// The master keys that encrypt secrets at rest ([`crate::vault`]).
    /// Required in production; without one (sandbox) secrets are stored in
    /// clear. Default: none.
    pub master_key: crate::vault::KeySource,
    /// A merchant with fixed credentials, created (or given this secret)
    /// at start in sandbox mode: CI knows its key and secret in advance.
    pub sandbox_merchant: Option<SandboxMerchant>,
    /// Days the request log (and order events) are kept: `None`: the mode's
    /// default (7 in sandbox, off in production); `Some(0)`: off.
    pub request_log_days: Option<u32>,
    /// A file holding the admin token of the console and the admin API;
    /// `None`: one is generated at the first start and printed once.
    pub admin_token_file: Option<PathBuf>,
}

/// Fixed sandbox credentials (`vmp serve --sandbox-merchant KEY:SECRET`).
/// `Debug` never shows the secret.
#[derive(Clone)]
pub struct SandboxMerchant {
    /// `user_confirm_key`.
    pub key: String,
    /// Its secret.
    pub secret: secrecy::SecretString,
}

impl fmt::Debug for SandboxMerchant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxMerchant").field("key", &self.key).field("secret", &"[REDACTED]").finish()
    }
}

/// Longest merchant secret accepted from the command line or environment.
pub const SECRET_MAX_CHARS: usize = 128;

impl SandboxMerchant {
    /// Reads `KEY:SECRET` (split at the first `:`): a valid
    /// `user_confirm_key`, and a secret of 1 to [`SECRET_MAX_CHARS`]
    /// characters without spaces or control characters. The error never
    /// contains the secret.
    ///
    /// # Errors
    /// A message saying which half is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some((key, secret)) = text.split_once(':') else {
            return Err("expected KEY:SECRET".to_owned());
        };
        let key = vmp_protocol::fields::UserConfirmKey::parse(key)
            .map_err(|e| format!("invalid user_confirm_key: {e}"))?
            .as_str()
            .to_owned();
        if key.is_empty() {
            return Err("invalid user_confirm_key: empty".to_owned());
        }
        if !secret_is_valid(secret) {
            return Err(format!("invalid secret: 1 to {SECRET_MAX_CHARS} characters, no spaces or control characters"));
        }
        Ok(Self { key, secret: secrecy::SecretString::from(secret.to_owned()) })
    }
}

/// Whether `secret` is acceptable as a merchant secret: 1 to
/// [`SECRET_MAX_CHARS`] characters, no spaces or control characters, not
/// starting as a sealed value does (`vmp-sealed:v`).
pub fn secret_is_valid(secret: &str) -> bool {
    !secret.is_empty()
        && secret.chars().count() <= SECRET_MAX_CHARS
        && !secret.chars().any(|c| c.is_control() || c.is_whitespace())
        // A secret that reads as a sealed value would be taken for one.
        && !secret.starts_with(crate::vault::SEALED_PREFIX)
}

/// Limits of the HTTP listener: how long a client may take, how much it may
/// send before its request is known, and how many connections are served at
/// once. Every timeout closes only the connection that ran out of time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// Time allowed for a request's line and headers: from accept for the
    /// first request of a connection (a client that sends nothing is closed
    /// after it), from the first byte for later ones. Default 10 s.
    pub header_timeout: Duration,
    /// How long a keep-alive connection may wait for the first byte of its
    /// next request. `None`: the header timeout. Default `None`.
    pub idle_timeout: Option<Duration>,
    /// Time allowed for a request's body, from the end of its headers.
    /// Default 10 s.
    pub body_timeout: Duration,
    /// Most bytes of request line plus headers; more is answered 431 and
    /// the connection closed. Default 16 KiB.
    pub max_header_bytes: usize,
    /// Most connections served at once; more are accepted and closed at
    /// once. Lowered at start to fit the open-file limit. Default 10,000.
    pub max_connections: usize,
    /// How long shutdown waits for open connections to finish their
    /// requests before closing them. Default 30 s.
    pub drain_timeout: Duration,
}

impl HttpLimits {
    /// The effective idle keep-alive timeout.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout.unwrap_or(self.header_timeout)
    }
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: None,
            body_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_connections: 10_000,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

impl Settings {
    /// Defaults: 127.0.0.1:8080, `./vmp-data`, sandbox.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: data_dir.into(),
            init: false,
            public_url: None,
            mode: Mode::Sandbox,
            node_id: None,
            database_url: None,
            max_batch: 256,
            bootstrap_merchant: true,
            notifier: crate::notifier::NotifierSettings::default(),
            sweeper: crate::sweeper::SweeperSettings::default(),
            rate_limit_ip: None,
            rate_limit_merchant: None,
            merchant_cache_ttl: std::time::Duration::from_secs(1),
            http: HttpLimits::default(),
            metrics_listen: None,
            master_key: crate::vault::KeySource::None,
            sandbox_merchant: None,
            request_log_days: None,
            admin_token_file: None,
        }
    }
}

impl Settings {
    /// The effective limits for this mode.
    pub fn limits(&self) -> crate::ratelimit::Limits {
        let pick = |explicit: Option<u32>, production_default: u32| {
            let rate = explicit.unwrap_or(if self.mode == Mode::Production { production_default } else { 0 });
            (rate > 0).then(|| crate::ratelimit::RateLimiter::new(rate))
        };
        crate::ratelimit::Limits {
            per_ip: pick(self.rate_limit_ip, 2000),
            per_merchant: pick(self.rate_limit_merchant, 1000),
        }
    }
}

impl Settings {
    /// Whether and how long the request log is kept.
    pub fn journal(&self) -> crate::journal::JournalSettings {
        match self.request_log_days {
            None => crate::journal::JournalSettings::for_mode(self.mode),
            Some(0) => crate::journal::JournalSettings { retention: None },
            Some(days) => {
                crate::journal::JournalSettings { retention: Some(Duration::from_secs(u64::from(days) * 24 * 3600)) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_database_password() {
        let mut s = Settings::new("/tmp/x");
        s.database_url = Some(secrecy::SecretString::from("postgres://vmp:db-pass-123@db.example/vmp"));
        assert!(!format!("{s:?}").contains("db-pass-123"));
        let key = crate::vault::MasterKey::parse(&"ab".repeat(32), "test").unwrap();
        s.master_key = crate::vault::KeySource::Keys(std::sync::Arc::new(vec![key]));
        assert!(!format!("{s:?}").contains("abab"));
        s.sandbox_merchant = Some(SandboxMerchant::parse("CI1:fixed-secret-789").unwrap());
        assert!(!format!("{s:?}").contains("fixed-secret-789"));
    }

    #[test]
    fn sandbox_credentials_are_checked_without_echoing_the_secret() {
        let m = SandboxMerchant::parse("CI1:a:b").unwrap();
        assert_eq!(m.key, "CI1");
        assert_eq!(secrecy::ExposeSecret::expose_secret(&m.secret), "a:b");
        for bad in
            ["CI1", ":hidden-1", "CI1:", "thirteen-char:hidden-2", "K 1:hidden-3", "CI1:hid den-4", "CI1:hid\tden-5"]
        {
            let err = SandboxMerchant::parse(bad).expect_err(bad);
            assert!(!err.contains("hid"), "{bad}: {err}");
        }
    }
}
