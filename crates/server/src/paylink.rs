//! `pay_apptrade` links and their unforgeable `sign` token.
//!
//! The link has the API page's shape,
//! `{public_url}/VMP/wap/payPage?userkey=…&outTradeNo=…&sign=…`. Its `sign`
//! is HMAC-SHA256 under a gateway-wide key that no merchant knows, over the
//! merchant key, `out_trade_no` and `eft_trade_no`, so a link can be
//! neither forged nor re-pointed at another order. (Unlike the merchant
//! signature, this one is private to the gateway, so it uses a real MAC.)

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Path of the hosted pay page.
pub const PAY_PAGE_PATH: &str = "/VMP/wap/payPage";

/// Name of the gateway setting holding the link key.
pub const LINK_KEY_SETTING: &str = "pay_link_key";

/// Signs and checks pay-page links.
pub struct PayLinks {
    key: SecretBox<Vec<u8>>,
}

impl std::fmt::Debug for PayLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PayLinks([REDACTED])")
    }
}

impl PayLinks {
    /// Uses `key` (any length; 32 random bytes in practice).
    pub fn new(key: Vec<u8>) -> Self {
        Self { key: SecretBox::new(Box::new(key)) }
    }

    fn mac(&self, userkey: &str, out_trade_no: &str, eft_trade_no: &str) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(self.key.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        for part in ["payPage", userkey, out_trade_no, eft_trade_no] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// The token for one order (64 lowercase hex characters).
    pub fn token(&self, userkey: &str, out_trade_no: &str, eft_trade_no: &str) -> String {
        hex::encode(self.mac(userkey, out_trade_no, eft_trade_no).finalize().into_bytes())
    }

    /// Whether `given` is the token of this order (constant-time).
    pub fn verify(&self, userkey: &str, out_trade_no: &str, eft_trade_no: &str, given: &str) -> bool {
        let Ok(bytes) = hex::decode(given) else {
            return false;
        };
        self.mac(userkey, out_trade_no, eft_trade_no).verify_slice(&bytes).is_ok()
    }

    /// The full `pay_apptrade` URL.
    pub fn url(&self, public_url: &url::Url, userkey: &str, out_trade_no: &str, eft_trade_no: &str) -> String {
        let mut u = public_url.clone();
        let base = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{base}{PAY_PAGE_PATH}"));
        u.set_fragment(None);
        u.query_pairs_mut()
            .clear()
            .append_pair("userkey", userkey)
            .append_pair("outTradeNo", out_trade_no)
            .append_pair("sign", &self.token(userkey, out_trade_no, eft_trade_no));
        u.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_binds_every_part_and_the_key() {
        let links = PayLinks::new(vec![7; 32]);
        let t = links.token("K1", "O1", "E1");
        assert_eq!(t.len(), 64);
        assert!(links.verify("K1", "O1", "E1", &t));
        assert!(!links.verify("K1", "O2", "E1", &t));
        assert!(!links.verify("K2", "O1", "E1", &t));
        assert!(!links.verify("K1", "O1", "E2", &t));
        assert!(!links.verify("K1", "O1", "E1", "nothex"));
        assert!(!PayLinks::new(vec![8; 32]).verify("K1", "O1", "E1", &t));
        // Length-prefixing keeps ("K1","O1") and ("K","1O1") apart.
        assert_ne!(links.token("K", "1O1", "E1"), t);
    }

    #[test]
    fn url_has_the_seed_shape_and_escapes_values() {
        let links = PayLinks::new(vec![1; 32]);
        let base = url::Url::parse("https://pay.example/").unwrap();
        let u = links.url(&base, "12345678", "A&B=C", "E1");
        assert!(
            u.starts_with("https://pay.example/VMP/wap/payPage?userkey=12345678&outTradeNo=A%26B%3DC&sign="),
            "{u}"
        );
        assert!(!format!("{links:?}").contains('1'));
    }
}
