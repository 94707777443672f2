//! Merchants: who may call the API, and with which secret.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use vmp_protocol::{Params, sign};

use crate::store::{PromoteOutcome, Store, StoreError};

/// Whether a merchant may use the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MerchantStatus {
    /// Requests are served.
    Active,
    /// Requests are refused with code `22`.
    Disabled,
}

impl MerchantStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            MerchantStatus::Active => "active",
            MerchantStatus::Disabled => "disabled",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(MerchantStatus::Active),
            "disabled" => Some(MerchantStatus::Disabled),
            _ => None,
        }
    }
}

/// A merchant, with its signing secret. `Debug` masks the secret.
#[derive(Clone)]
pub struct Merchant {
    /// `user_confirm_key`.
    pub key: String,
    /// Display name.
    pub name: String,
    /// The `secret_code` that signs this merchant's messages. Empty means
    /// "not configured" (code `-11`).
    pub secret: SecretString,
    /// Active or disabled.
    pub status: MerchantStatus,
    /// Ports other than 80/443 allowed for this merchant's URLs in production.
    pub allowed_ports: Vec<u16>,
    /// The secret a rotation replaced, while it is still accepted
    /// ([`rotate_secret`]); `None` outside a rotation.
    pub previous: Option<PreviousSecret>,
}

/// The secret a rotation replaced: requests signed with it still verify
/// until `until`, and until promotion it keeps signing what the gateway
/// sends on its own (notifications, `return_url` payloads), so the
/// merchant's receivers keep working while it rolls the new secret out.
#[derive(Clone)]
pub struct PreviousSecret {
    /// The old secret.
    pub secret: SecretString,
    /// End of the overlap, unix seconds (gateway clock): from then on only
    /// the new secret counts.
    pub until: i64,
    /// Whether it still signs notifications and `return_url` payloads
    /// (cleared by [`promote_secret`]).
    pub signs: bool,
}

impl fmt::Debug for Merchant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Merchant")
            .field("key", &self.key)
            .field("name", &self.name)
            .field("secret", &"[REDACTED]")
            .field("status", &self.status)
            .field("allowed_ports", &self.allowed_ports)
            .field("previous", &self.previous)
            .finish()
    }
}

impl fmt::Debug for PreviousSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreviousSecret")
            .field("secret", &"[REDACTED]")
            .field("until", &self.until)
            .field("signs", &self.signs)
            .finish()
    }
}

/// Which of a merchant's secrets: the current one or, during a rotation's
/// overlap, the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSlot {
    /// [`Merchant::secret`].
    Current,
    /// [`PreviousSecret::secret`].
    Previous,
}

/// Parses the stored `allowed_ports` list (`"8080,8443"`).
pub fn parse_ports(s: &str) -> Vec<u16> {
    s.split(',').filter_map(|p| p.trim().parse().ok()).collect()
}

/// The stored form of a port list.
pub fn format_ports(ports: &[u16]) -> String {
    ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
}

impl Merchant {
    /// Whether a secret is configured.
    pub fn has_secret(&self) -> bool {
        !self.secret.expose_secret().is_empty()
    }

    /// The previous secret, if its overlap has not ended at `now`.
    fn live_previous(&self, now: i64) -> Option<&PreviousSecret> {
        self.previous.as_ref().filter(|p| now < p.until)
    }

    /// The secret in `slot` (the current one when there is no previous one).
    pub fn secret_in(&self, slot: SecretSlot) -> &SecretString {
        match (slot, &self.previous) {
            (SecretSlot::Previous, Some(p)) => &p.secret,
            _ => &self.secret,
        }
    }

    /// The slot whose secret signs what the gateway sends on its own at
    /// `now`: the previous secret during an overlap until it is promoted,
    /// else the current one.
    pub fn sending_slot(&self, now: i64) -> SecretSlot {
        match self.live_previous(now) {
            Some(p) if p.signs => SecretSlot::Previous,
            _ => SecretSlot::Current,
        }
    }

    /// The secret that signs notifications and `return_url` payloads at `now`.
    pub fn sending_secret(&self, now: i64) -> &SecretString {
        self.secret_in(self.sending_slot(now))
    }

    /// The secrets a merchant's signature may use at `now`: the current
    /// one, and the previous one during an overlap.
    pub fn accepted_secrets(&self, now: i64) -> impl Iterator<Item = &SecretString> {
        std::iter::once(&self.secret).chain(self.live_previous(now).map(|p| &p.secret))
    }

    /// Verifies `params`' `sign` with the current secret, then (during an
    /// overlap) the previous one; the slot whose secret verified.
    ///
    /// # Errors
    /// The current secret's error when neither verifies.
    pub fn verify(&self, params: &Params, now: i64) -> Result<SecretSlot, sign::SignatureError> {
        let current = sign::verify(self.secret.expose_secret(), params);
        match (current, self.live_previous(now)) {
            (Ok(()), _) => Ok(SecretSlot::Current),
            (Err(e), Some(p)) => {
                sign::verify(p.secret.expose_secret(), params).map(|()| SecretSlot::Previous).or(Err(e))
            }
            (Err(e), None) => Err(e),
        }
    }
}

/// A merchant as one request knows it, with the secret that signs the
/// answer: the one that verified the request, or before verification the
/// one the gateway sends with. Derefs to the [`Merchant`].
#[derive(Debug, Clone)]
pub struct Caller {
    /// The merchant (shared with the cache).
    pub merchant: Arc<Merchant>,
    /// Which secret signs the answer.
    pub slot: SecretSlot,
}

impl Caller {
    /// The secret that signs the answer.
    pub fn secret(&self) -> &SecretString {
        self.merchant.secret_in(self.slot)
    }
}

impl std::ops::Deref for Caller {
    type Target = Merchant;
    fn deref(&self) -> &Merchant {
        &self.merchant
    }
}

/// How long both secrets verify after a rotation: 1 minute to 30 days,
/// written like `90s`, `30m`, `24h` or `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overlap(u32);

impl Overlap {
    /// Shortest overlap (seconds).
    pub const MIN_SECS: u32 = 60;
    /// Longest overlap (seconds): 30 days.
    pub const MAX_SECS: u32 = 30 * 86_400;

    /// An overlap of `secs` seconds.
    ///
    /// # Errors
    /// Outside [`Overlap::MIN_SECS`]..=[`Overlap::MAX_SECS`].
    pub fn from_secs(secs: u32) -> Result<Self, OverlapError> {
        if (Self::MIN_SECS..=Self::MAX_SECS).contains(&secs) { Ok(Self(secs)) } else { Err(OverlapError) }
    }

    /// Its length in seconds.
    pub fn secs(self) -> u32 {
        self.0
    }
}

impl Default for Overlap {
    /// 24 hours.
    fn default() -> Self {
        Self(86_400)
    }
}

/// An overlap that is not a duration from 1 minute to 30 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the overlap must be from 1m to 30d, written like 90s, 30m, 24h or 7d")]
pub struct OverlapError;

impl FromStr for Overlap {
    type Err = OverlapError;
    fn from_str(s: &str) -> Result<Self, OverlapError> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: u32 = num.parse().map_err(|_| OverlapError)?;
        let mult = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(OverlapError),
        };
        Self::from_secs(n.checked_mul(mult).ok_or(OverlapError)?)
    }
}

/// Why a secret could not be changed. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum SecretChangeError {
    /// No merchant has this key.
    #[error("no merchant with user_confirm_key {0}")]
    NoSuchMerchant(String),
    /// `promote` without a rotation in progress.
    #[error("merchant {0} has no secret rotation in progress (nothing to promote)")]
    NoRotation(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The OS random source failed.
    #[error("random source: {0}")]
    Random(#[from] std::io::Error),
}

/// Gives merchant `key` a new secret and returns it (show it once). With
/// an `overlap`, the old secret keeps verifying requests for that long and
/// keeps signing notifications and `return_url` payloads until
/// [`promote_secret`] or the overlap's end; without one (a reset), the old
/// secret stops at once. Rotating again during an overlap that was not
/// promoted replaces the unpromoted new secret and keeps the old one.
/// `now` is the gateway clock (unix seconds). The one function behind
/// `vmp merchant rotate-secret`/`reset-secret` and the console.
///
/// # Errors
/// [`SecretChangeError`]; nothing changes then.
pub async fn rotate_secret(
    store: &dyn Store,
    key: &str,
    overlap: Option<Overlap>,
    now: i64,
) -> Result<SecretString, SecretChangeError> {
    let secret = generate_secret()?;
    let until = overlap.map(|o| now + i64::from(o.secs()));
    if !store.replace_secret(key, &secret, until, now).await? {
        return Err(SecretChangeError::NoSuchMerchant(key.to_owned()));
    }
    Ok(secret)
}

/// Ends the old secret's signing role: from now on notifications and
/// `return_url` payloads are signed with the new secret (requests signed
/// with the old one still verify until the overlap ends).
///
/// # Errors
/// No such merchant, no rotation in progress, or the store fails.
pub async fn promote_secret(store: &dyn Store, key: &str, now: i64) -> Result<(), SecretChangeError> {
    match store.promote_secret(key, now).await? {
        PromoteOutcome::Promoted => Ok(()),
        PromoteOutcome::NoRotation => Err(SecretChangeError::NoRotation(key.to_owned())),
        PromoteOutcome::NotFound => Err(SecretChangeError::NoSuchMerchant(key.to_owned())),
    }
}

/// A merchant as listed by operators (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantSummary {
    /// `user_confirm_key`.
    pub key: String,
    /// Display name.
    pub name: String,
    /// Active or disabled.
    pub status: MerchantStatus,
    /// Creation time, unix seconds.
    pub created_at: i64,
}

const ALPHANUM: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

fn random_bytes<const N: usize>() -> std::io::Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(b)
}

/// A fresh `user_confirm_key`: `OV` and 10 random digits (12 characters).
///
/// # Errors
/// When the OS random source fails.
pub fn generate_key() -> std::io::Result<String> {
    let bytes = random_bytes::<10>()?;
    Ok(format!("OV{}", bytes.iter().map(|b| char::from(b'0' + b % 10)).collect::<String>()))
}

/// A fresh 32-character secret (about 186 bits).
///
/// # Errors
/// When the OS random source fails.
pub fn generate_secret() -> std::io::Result<SecretString> {
    let bytes = random_bytes::<32>()?;
    // 256 is a multiple of 8 but not of 57; the tiny bias is irrelevant at 32 chars.
    let s: String = bytes.iter().map(|b| char::from(ALPHANUM[usize::from(*b) % ALPHANUM.len()])).collect();
    Ok(SecretString::from(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let m = Merchant {
            key: "OV1".into(),
            name: "n".into(),
            secret: SecretString::from("super-secret-value"),
            status: MerchantStatus::Active,
            allowed_ports: Vec::new(),
            previous: Some(PreviousSecret { secret: SecretString::from("old-secret-value"), until: 1, signs: true }),
        };
        let shown = format!("{m:?}");
        assert!(!shown.contains("super-secret-value") && !shown.contains("old-secret-value"), "{shown}");
        assert!(shown.contains("OV1"));
    }

    fn rotated(until: i64, signs: bool) -> Merchant {
        Merchant {
            key: "K".into(),
            name: "n".into(),
            secret: SecretString::from("new"),
            status: MerchantStatus::Active,
            allowed_ports: Vec::new(),
            previous: Some(PreviousSecret { secret: SecretString::from("old"), until, signs }),
        }
    }

    fn signed(secret: &str) -> Params {
        let mut p = Params::new().with("a", "1");
        sign::sign_in_place(secret, &mut p);
        p
    }

    #[test]
    fn both_secrets_verify_during_the_overlap_and_only_the_new_one_after() {
        let m = rotated(100, true);
        assert_eq!(m.verify(&signed("new"), 99), Ok(SecretSlot::Current));
        assert_eq!(m.verify(&signed("old"), 99), Ok(SecretSlot::Previous));
        assert!(m.verify(&signed("other"), 99).is_err());
        assert_eq!(m.verify(&signed("new"), 100), Ok(SecretSlot::Current));
        assert!(m.verify(&signed("old"), 100).is_err(), "the overlap ended");
        assert_eq!(m.accepted_secrets(99).count(), 2);
        assert_eq!(m.accepted_secrets(100).count(), 1);
    }

    #[test]
    fn the_old_secret_signs_outbound_until_promotion_or_the_overlap_end() {
        let table = [(true, 99, "old"), (true, 100, "new"), (false, 99, "new"), (false, 100, "new")];
        for (signs, now, want) in table {
            assert_eq!(rotated(100, signs).sending_secret(now).expose_secret(), want, "signs={signs} now={now}");
        }
    }

    #[test]
    fn overlaps_parse_within_range_and_refuse_the_rest() {
        assert_eq!("24h".parse::<Overlap>().map(Overlap::secs), Ok(86_400));
        assert_eq!("90s".parse::<Overlap>().map(Overlap::secs), Ok(90));
        assert_eq!("30d".parse::<Overlap>().map(Overlap::secs), Ok(30 * 86_400));
        assert_eq!(Overlap::default().secs(), 86_400);
        for bad in ["", "59s", "31d", "0h", "24", "1w", "-1h", "h", "99999999999d"] {
            assert_eq!(bad.parse::<Overlap>(), Err(OverlapError), "{bad:?}");
        }
    }

    #[test]
    fn generated_credentials_have_the_documented_shape() {
        let k = generate_key().unwrap();
        assert_eq!(k.len(), 12);
        assert!(k.starts_with("OV") && k[2..].bytes().all(|b| b.is_ascii_digit()));
        let s = generate_secret().unwrap();
        assert_eq!(s.expose_secret().len(), 32);
        assert_ne!(s.expose_secret(), generate_secret().unwrap().expose_secret());
    }
}
