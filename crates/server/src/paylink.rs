//! `pay_apptrade` links and their unforgeable `sign` token.
//!
//! The link has the shape eftPay's Place an Order page shows (docs/protocol.md),
//! `{public_url}/VMP/wap/payPage?userkey=…&outTradeNo=…&sign=…`. Its `sign`
//! is HMAC-SHA256 under a gateway-wide key that no merchant knows, over the
//! merchant key, `out_trade_no` and `eft_trade_no`, so a link can be
//! neither forged nor re-pointed at another order. (Unlike the merchant
//! signature, this one is private to the gateway, so it uses a real MAC.)

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;
use vmp_protocol::sign::lower_hex;

type HmacSha256 = Hmac<Sha256>;

/// Path of the hosted pay page.
pub const PAY_PAGE_PATH: &str = "/VMP/wap/payPage";

/// Path of the sandbox's stand-in for a wallet's scan-to-pay screen: what
/// a qrcode sale's `qr_code` opens (docs/protocol.md "The qrcode scene").
/// Its links carry the same token as `pay_apptrade` links.
pub const QR_SCAN_PATH: &str = "/VMP/qrcode/scan";

/// Name of the gateway setting holding the link key.
pub const LINK_KEY_SETTING: &str = "pay_link_key";

/// Signs and checks pay-page links.
pub struct PayLinks {
    /// HMAC state already keyed (the key's inner and outer pads hashed):
    /// each link clones it instead of re-deriving it from the key. It is as
    /// secret as the key, hence the redacting `Debug` below.
    keyed: HmacSha256,
}

impl std::fmt::Debug for PayLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PayLinks([REDACTED])")
    }
}

impl PayLinks {
    /// Uses `key` (any length; 32 random bytes in practice).
    pub fn new(key: Vec<u8>) -> Self {
        let key = SecretBox::new(Box::new(key));
        // HMAC accepts keys of any length, so this cannot fail.
        let keyed = <HmacSha256 as KeyInit>::new_from_slice(key.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        Self { keyed }
    }

    /// The MAC of `parts` for one `purpose`, each length-prefixed so no two
    /// lists of parts share a MAC.
    fn mac(&self, purpose: &str, parts: &[&str]) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        for part in std::iter::once(&purpose).chain(parts) {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// The token for one order (64 lowercase hex characters).
    pub fn token(&self, userkey: &str, out_trade_no: &str, eft_trade_no: &str) -> String {
        self.token_for("payPage", &[userkey, out_trade_no, eft_trade_no])
    }

    /// Whether `given` is the token of this order (constant-time).
    pub fn verify(&self, userkey: &str, out_trade_no: &str, eft_trade_no: &str, given: &str) -> bool {
        self.verify_for("payPage", &[userkey, out_trade_no, eft_trade_no], given)
    }

    /// A token over `parts` for another `purpose` than pay links (the
    /// `payPackage` signatures of `crate::scenes::packages`): the same
    /// gateway key, kept apart by the purpose. 64 lowercase hex characters.
    pub fn token_for(&self, purpose: &str, parts: &[&str]) -> String {
        lower_hex(&self.mac(purpose, parts).finalize().into_bytes().into())
    }

    /// Whether `given` (hex, either case) is [`PayLinks::token_for`] of
    /// `parts` (constant-time).
    pub fn verify_for(&self, purpose: &str, parts: &[&str], given: &str) -> bool {
        let Ok(bytes) = hex::decode(given) else {
            return false;
        };
        self.mac(purpose, parts).verify_slice(&bytes).is_ok()
    }

    /// The full `pay_apptrade` URL.
    ///
    /// `public_url`'s query and fragment are dropped; its path, without a
    /// trailing `/`, prefixes [`PAY_PAGE_PATH`]. Values are form-encoded.
    pub fn url(&self, public_url: &url::Url, userkey: &str, out_trade_no: &str, eft_trade_no: &str) -> String {
        self.url_at(public_url, PAY_PAGE_PATH, userkey, out_trade_no, eft_trade_no)
    }

    /// [`PayLinks::url`] with another page's path (e.g. [`QR_SCAN_PATH`]).
    pub fn url_at(
        &self,
        public_url: &url::Url,
        path: &str,
        userkey: &str,
        out_trade_no: &str,
        eft_trade_no: &str,
    ) -> String {
        // Built as text (one allocation) rather than through `Url` setters:
        // this runs for every order answer.
        let base = public_url[..url::Position::AfterPath].trim_end_matches('/');
        let mut out = String::with_capacity(base.len() + path.len() + userkey.len() + out_trade_no.len() + 112);
        out.push_str(base);
        out.push_str(path);
        out.push_str("?userkey=");
        out.extend(url::form_urlencoded::byte_serialize(userkey.as_bytes()));
        out.push_str("&outTradeNo=");
        out.extend(url::form_urlencoded::byte_serialize(out_trade_no.as_bytes()));
        out.push_str("&sign=");
        out.push_str(&self.token(userkey, out_trade_no, eft_trade_no));
        out
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
        // Another purpose never shares a token with a link.
        assert_ne!(links.token_for("wechat-jsapi", &["K1", "O1", "E1"]), t);
        let other = links.token_for("wechat-jsapi", &["x"]);
        assert!(links.verify_for("wechat-jsapi", &["x"], &other.to_uppercase()), "hex of either case");
        assert!(!links.verify_for("wechat-app", &["x"], &other));
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

    #[test]
    fn url_keeps_a_path_prefix_and_drops_query_and_fragment() {
        let links = PayLinks::new(vec![1; 32]);
        for base in ["https://pay.example/gw", "https://pay.example/gw/", "https://pay.example/gw/?x=1#top"] {
            let u = links.url(&url::Url::parse(base).unwrap(), "1 2", "O+1", "E1");
            assert!(u.starts_with("https://pay.example/gw/VMP/wap/payPage?userkey=1+2&outTradeNo=O%2B1&sign="), "{u}");
            let parsed = url::Url::parse(&u).unwrap();
            let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
            assert_eq!(pairs[0], ("userkey".to_owned(), "1 2".to_owned()));
            assert_eq!(pairs[1], ("outTradeNo".to_owned(), "O+1".to_owned()));
            assert!(links.verify("1 2", "O+1", "E1", &pairs[2].1));
            assert_eq!(parsed.fragment(), None);
        }
    }
}
