//! Who may use the console and the admin API, and proof that a form was
//! sent by the console itself (docs/architecture.md "The developer console").
//!
//! - **The admin token.** From `--admin-token-file`, or generated at the
//!   first start and printed once; only its SHA-256 is stored (gateway
//!   setting `admin_token_sha256`). A presented token is hashed and compared
//!   in constant time.
//! - **Open access.** In sandbox mode, a request from a loopback address
//!   whose `Host` is a loopback name (`127.0.0.1`, `localhost`, `[::1]`)
//!   needs no token. The `Host` check keeps a web page on another site
//!   from reaching the console through DNS rebinding. In production the
//!   token is always required.
//! - **Sessions.** The console keeps who it is talking to in a cookie
//!   (`vmp_console`, `HttpOnly`, `SameSite=Strict`): a random nonce, an
//!   expiry, the access level (`t` token, `o` open, `a` anonymous: the login
//!   form only), MACed with the console key (gateway setting `console_key`)
//!   and bound to the token's hash, so replacing the token ends every
//!   session.
//! - **CSRF.** Every state-changing form carries `csrf`, an HMAC of the
//!   session's nonce; a POST whose `csrf` does not match its session changes
//!   nothing. The JSON API needs a bearer token or, open, a JSON body
//!   (`content-type: application/json` cannot be sent across sites without
//!   a preflight the gateway never grants), and refuses open requests a
//!   browser marks `Sec-Fetch-Site: cross-site`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE, HOST};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use vmp_protocol::sign::lower_hex;

use crate::config::Mode;
use crate::store::Store;

type HmacSha256 = Hmac<Sha256>;

/// The gateway setting holding the admin token's SHA-256 (hex).
pub const TOKEN_SETTING: &str = "admin_token_sha256";
/// The gateway setting holding the console's session key (hex).
pub const CONSOLE_KEY_SETTING: &str = "console_key";
/// The console's cookie.
pub const COOKIE_NAME: &str = "vmp_console";
/// How long a token session lasts.
const TOKEN_SESSION_SECONDS: u64 = 12 * 3600;
/// How long an open or anonymous session lasts.
const OPEN_SESSION_SECONDS: u64 = 24 * 3600;

/// What a session may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Only log in (a form needs a CSRF token before anyone is known).
    Anonymous,
    /// Open access (sandbox, loopback).
    Open,
    /// Signed in with the admin token.
    Token,
}

impl Level {
    fn code(self) -> &'static str {
        match self {
            Level::Anonymous => "a",
            Level::Open => "o",
            Level::Token => "t",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "a" => Some(Level::Anonymous),
            "o" => Some(Level::Open),
            "t" => Some(Level::Token),
            _ => None,
        }
    }
}

/// A console session, read from its cookie or just issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    nonce: String,
    /// What it may do.
    pub level: Level,
    /// `Set-Cookie` to send when the session is new.
    pub set_cookie: Option<String>,
}

/// Why a request may not use the console or the API. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// No token, and this is no open context.
    TokenRequired,
    /// A token was presented and it is wrong.
    TokenRefused,
    /// An open request a browser sent from another site.
    CrossSite,
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Denied::TokenRequired => {
                "admin token required: send Authorization: Bearer <token> (the console asks for it at /console/login); \
                 in sandbox mode, requests from loopback to a loopback host name need none"
            }
            Denied::TokenRefused => "admin token refused: it is not this gateway's admin token; nothing was changed",
            Denied::CrossSite => "refused: a cross-site request needs the admin token; nothing was changed",
        })
    }
}

/// The console's keys and the admin token's hash.
pub struct AdminAuth {
    token_hash: [u8; 32],
    key: HmacSha256,
    mode: Mode,
    secure_cookie: bool,
}

impl std::fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminAuth").field("mode", &self.mode).finish_non_exhaustive()
    }
}

fn random_hex<const N: usize>() -> anyhow::Result<String> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("random source: {e}"))?;
    Ok(hex::encode(b))
}

fn sha256(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl AdminAuth {
    /// Loads the token (from `token_file`, else the stored hash, else a new
    /// one) and the console key. Returns the token when this start
    /// generated it: the caller prints it once; it is never stored.
    ///
    /// # Errors
    /// An unreadable or too short token file, or a failing store.
    pub async fn load(
        store: &dyn Store,
        mode: Mode,
        token_file: Option<&Path>,
        secure_cookie: bool,
    ) -> anyhow::Result<(Self, Option<SecretString>)> {
        let key_hex =
            store.setting_or_init(CONSOLE_KEY_SETTING, random_hex::<32>()?).await.context("loading the console key")?;
        let key_bytes = hex::decode(key_hex).context("stored console key is not hex")?;
        let key = <HmacSha256 as KeyInit>::new_from_slice(&key_bytes)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        let (token_hash, generated) = match token_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the admin token file {}", path.display()))?;
                let token = text.trim();
                if token.len() < 16 || !token.bytes().all(|b| b.is_ascii_graphic()) {
                    anyhow::bail!(
                        "the admin token in {} must be at least 16 printable ASCII characters, no spaces",
                        path.display()
                    );
                }
                (sha256(token), None)
            }
            None => {
                let fresh = format!("vmpadm_{}", random_hex::<20>()?);
                let fresh_hash = hex::encode(sha256(&fresh));
                let stored = store
                    .setting_or_init(TOKEN_SETTING, fresh_hash.clone())
                    .await
                    .context("loading the admin token")?;
                let hash: [u8; 32] = hex::decode(&stored)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .context("stored admin token hash is not 32 bytes of hex")?;
                // Printed only by the start that stored it.
                let generated = (stored == fresh_hash).then(|| SecretString::from(fresh));
                (hash, generated)
            }
        };
        Ok((Self { token_hash, key, mode, secure_cookie }, generated))
    }

    /// Whether `presented` is the admin token (constant time on the hashes).
    pub fn token_ok(&self, presented: &str) -> bool {
        bool::from(sha256(presented.trim()).ct_eq(&self.token_hash))
    }

    fn mac_hex(&self, parts: &[&str]) -> String {
        let mut mac = self.key.clone();
        for p in parts {
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p.as_bytes());
        }
        lower_hex(&mac.finalize().into_bytes().into())
    }

    /// A new session of `level`, with its cookie.
    ///
    /// # Errors
    /// When the random source fails.
    pub fn new_session(&self, level: Level) -> anyhow::Result<Session> {
        let nonce = random_hex::<16>()?;
        let ttl = if level == Level::Token { TOKEN_SESSION_SECONDS } else { OPEN_SESSION_SECONDS };
        let expires = (unix_now() + ttl).to_string();
        let token_hash = hex::encode(self.token_hash);
        let mac = self.mac_hex(&["session", &nonce, &expires, level.code(), &token_hash]);
        let value = format!("v1.{nonce}.{expires}.{}.{mac}", level.code());
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        let cookie = format!("{COOKIE_NAME}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={ttl}{secure}");
        Ok(Session { nonce, level, set_cookie: Some(cookie) })
    }

    /// The session a request's cookie carries, if it is valid and unexpired.
    pub fn session(&self, headers: &HeaderMap) -> Option<Session> {
        let value = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().strip_prefix(COOKIE_NAME)?.strip_prefix('='))
            .next()?;
        let mut parts = value.split('.');
        let (v, nonce, expires, level, mac) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if v != "v1" || parts.next().is_some() || nonce.len() != 32 {
            return None;
        }
        let level = Level::parse(level)?;
        let token_hash = hex::encode(self.token_hash);
        let expected = self.mac_hex(&["session", nonce, expires, level.code(), &token_hash]);
        if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return None;
        }
        if expires.parse::<u64>().ok()? <= unix_now() {
            return None;
        }
        Some(Session { nonce: nonce.to_owned(), level, set_cookie: None })
    }

    /// The CSRF token of a session (what its forms carry).
    pub fn csrf(&self, session: &Session) -> String {
        self.mac_hex(&["csrf", &session.nonce])[..32].to_owned()
    }

    /// Whether a form's `csrf` belongs to `session` (constant time).
    pub fn csrf_ok(&self, session: &Session, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| bool::from(self.csrf(session).as_bytes().ct_eq(p.trim().as_bytes())))
    }

    /// Whether this request may use the console without a token: sandbox
    /// mode, a loopback peer, and a loopback `Host`.
    pub fn open(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> bool {
        self.mode == Mode::Sandbox
            && peer.is_some_and(|p| p.ip().is_loopback())
            && headers.get(HOST).and_then(|h| h.to_str().ok()).is_some_and(loopback_host)
    }

    /// The console session of a request: its valid token session, or in an
    /// open context its open session (a new one when it has none).
    ///
    /// # Errors
    /// [`Denied::TokenRequired`] when neither applies.
    pub fn console_session(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Result<Session, Denied> {
        let open = self.open(headers, peer);
        match self.session(headers) {
            Some(s) if s.level == Level::Token => Ok(s),
            Some(s) if s.level == Level::Open && open => Ok(s),
            _ if open => self.new_session(Level::Open).map_err(|_| Denied::TokenRequired),
            _ => Err(Denied::TokenRequired),
        }
    }

    /// Whether a JSON API request may proceed.
    ///
    /// # Errors
    /// [`Denied`] says why not.
    pub fn api(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Result<(), Denied> {
        if let Some(auth) = headers.get(AUTHORIZATION) {
            let presented = auth.to_str().ok().and_then(|a| a.strip_prefix("Bearer ")).unwrap_or_default();
            return if self.token_ok(presented) { Ok(()) } else { Err(Denied::TokenRefused) };
        }
        if !self.open(headers, peer) {
            return Err(Denied::TokenRequired);
        }
        let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).unwrap_or("none");
        if matches!(site, "cross-site" | "same-site") {
            return Err(Denied::CrossSite);
        }
        Ok(())
    }

    /// A clone of the token hash, for tests of secrets never being stored.
    #[cfg(test)]
    fn token_hash_hex(&self) -> String {
        hex::encode(self.token_hash)
    }
}

/// A loopback host name, with or without a port.
fn loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    matches!(name.to_ascii_lowercase().as_str(), "127.0.0.1" | "localhost" | "::1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn auth(mode: Mode) -> AdminAuth {
        AdminAuth {
            token_hash: sha256("vmpadm_correct_token_123"),
            key: <HmacSha256 as KeyInit>::new_from_slice(b"k").unwrap(),
            mode,
            secure_cookie: false,
        }
    }

    fn headers(pairs: &[(axum::http::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_loopback_host_names_are_loopback() {
        for (host, ok) in [
            ("127.0.0.1:8080", true),
            ("localhost", true),
            ("LOCALHOST:1", true),
            ("[::1]:8080", true),
            ("example.com", false),
            ("127.0.0.1.evil.example:80", false),
            ("localhost.evil.example", false),
            ("", false),
        ] {
            assert_eq!(loopback_host(host), ok, "{host}");
        }
    }

    #[test]
    fn sessions_verify_only_unaltered_and_csrf_is_bound_to_the_session() {
        let a = auth(Mode::Sandbox);
        let s = a.new_session(Level::Token).unwrap();
        let cookie = s.set_cookie.clone().unwrap();
        let value = cookie.split(';').next().unwrap().to_owned();
        let read = a.session(&headers(&[(COOKIE, &value)])).unwrap();
        assert_eq!(read.level, Level::Token);
        assert!(a.csrf_ok(&read, Some(&a.csrf(&s))));
        let other = a.new_session(Level::Token).unwrap();
        assert!(!a.csrf_ok(&read, Some(&a.csrf(&other))), "another session's csrf");
        assert!(!a.csrf_ok(&read, None));
        let forged = value.replace(".t.", ".o.");
        assert!(a.session(&headers(&[(COOKIE, &forged)])).is_none(), "level changed");
        let mut other_token = auth(Mode::Sandbox);
        other_token.token_hash = sha256("another token entirely");
        assert!(other_token.session(&headers(&[(COOKIE, &value)])).is_none(), "a new token ends sessions");
        assert!(!a.token_hash_hex().is_empty());
    }

    #[test]
    fn the_api_wants_the_token_unless_open_and_not_cross_site() {
        let loopback: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let remote: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        let a = auth(Mode::Sandbox);
        let local = headers(&[(HOST, "127.0.0.1:8080")]);
        assert_eq!(a.api(&local, Some(loopback)), Ok(()));
        assert_eq!(a.api(&local, Some(remote)), Err(Denied::TokenRequired));
        assert_eq!(a.api(&headers(&[(HOST, "rebound.example")]), Some(loopback)), Err(Denied::TokenRequired));
        let cross =
            headers(&[(HOST, "localhost"), (axum::http::HeaderName::from_static("sec-fetch-site"), "cross-site")]);
        assert_eq!(a.api(&cross, Some(loopback)), Err(Denied::CrossSite));
        let bearer = headers(&[(HOST, "x"), (AUTHORIZATION, "Bearer vmpadm_correct_token_123")]);
        assert_eq!(a.api(&bearer, Some(remote)), Ok(()));
        let wrong = headers(&[(HOST, "localhost"), (AUTHORIZATION, "Bearer nope")]);
        assert_eq!(a.api(&wrong, Some(loopback)), Err(Denied::TokenRefused), "a wrong token never falls back to open");
        assert_eq!(auth(Mode::Production).api(&local, Some(loopback)), Err(Denied::TokenRequired));
    }
}
