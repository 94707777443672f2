//! Merchants: who may call the API, and with which secret.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

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
}

impl fmt::Debug for Merchant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Merchant")
            .field("key", &self.key)
            .field("name", &self.name)
            .field("secret", &"[REDACTED]")
            .field("status", &self.status)
            .field("allowed_ports", &self.allowed_ports)
            .finish()
    }
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
        };
        let shown = format!("{m:?}");
        assert!(!shown.contains("super-secret-value"), "{shown}");
        assert!(shown.contains("OV1"));
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
