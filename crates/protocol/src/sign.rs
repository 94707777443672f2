//! The VMP signature (docs/protocol.md "Signature").
//!
//! `sign = lowercase_hex(SHA-256(secret_code ‖ "k1=v1&k2=v2…"))` where the
//! pairs are every top-level parameter except `sign`, with empty and `null`
//! values left out, sorted by key in byte order, values raw (no URL encoding).
//! Plain SHA-256, not HMAC: that is what eftPay does.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::params::Params;

/// Name of the signature parameter.
pub const SIGN: &str = "sign";

/// Why a signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `sign` parameter (or an empty one).
    #[error("sign is missing")]
    Missing,
    /// `sign` is not 64 hexadecimal characters.
    #[error("sign must be 64 hexadecimal characters")]
    Malformed,
    /// `sign` is well-formed but does not match.
    #[error("sign does not match")]
    Mismatch,
}

/// Which values take part in the signing string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyValues {
    /// Leave out empty strings and `null` (eftPay's own behaviour; the default).
    Skip,
    /// Include empty strings as `key=` (what some third-party clients do).
    Include,
    /// Include empty strings as `key=` and `null` as `key=null` (a
    /// signer that prints every value it holds).
    IncludeNull,
}

/// The exact string that is hashed, secret excluded.
///
/// ```
/// use vmp_protocol::{sign::{signing_string, EmptyValues}, Params};
/// let p = Params::new().with("p2", "b").with("p0", "c").with("e", "").with("sign", "x");
/// assert_eq!(signing_string(&p, EmptyValues::Skip), "p0=c&p2=b");
/// assert_eq!(signing_string(&p, EmptyValues::Include), "e=&p0=c&p2=b");
/// ```
pub fn signing_string(params: &Params, empties: EmptyValues) -> String {
    signing_string_excluding(params, empties, &[])
}

/// [`signing_string`] leaving out the parameters named in `exclude` too
/// (e.g. `time`, for an idempotency fingerprint that a retry keeps).
pub fn signing_string_excluding(params: &Params, empties: EmptyValues, exclude: &[&str]) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .filter(|(k, _)| *k != SIGN && !exclude.contains(k))
        .filter(|(_, v)| match empties {
            EmptyValues::Skip => !v.is_empty(),
            EmptyValues::Include => v.kind() != crate::params::ValueKind::Null,
            EmptyValues::IncludeNull => true,
        })
        .map(|(k, v)| (k, if v.kind() == crate::params::ValueKind::Null { "null" } else { v.as_str() }))
        .collect();
    // `str` ordering is byte order, which is what eftPay uses ("payType" < "pay_scene").
    pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut out = String::with_capacity(pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

fn digest(secret: &str, params: &Params, empties: EmptyValues) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(secret.as_bytes());
    h.update(signing_string(params, empties).as_bytes());
    h.finalize().into()
}

/// Computes the signature of `params` (its `sign` entry, if any, is ignored).
///
/// ```
/// use vmp_protocol::{sign::sign, Params};
/// // The official vector from eftPay's DoSign page.
/// let p = Params::from_json(br#"{"p0":"c","p2":"b","p1":"a"}"#).unwrap();
/// assert_eq!(sign("testsignkey1234", &p),
///            "ed473ec9e423747a40b87403aa9814030861932d514dab000ed1f8a741f1d6df");
/// ```
pub fn sign(secret: &str, params: &Params) -> String {
    lower_hex(&digest(secret, params, EmptyValues::Skip))
}

/// Lowercase hex of a SHA-256 digest, the form of every `sign`.
///
/// ```
/// assert_eq!(vmp_protocol::sign::lower_hex(&[0xab; 32]), "ab".repeat(32));
/// ```
pub fn lower_hex(digest: &[u8; 32]) -> String {
    // By table into a presized string: this runs several times per order,
    // and the `hex` crate's encoder goes through a char iterator.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Signs `params` in place: sets (or replaces) its `sign` parameter.
pub fn sign_in_place(secret: &str, params: &mut Params) {
    let s = sign(secret, params);
    params.set(SIGN, s);
}

/// Verifies the `sign` parameter of `params`.
///
/// The comparison is case-insensitive on the hex digits and constant-time on
/// the digest. The canonical form (empty values skipped) is tried first; when
/// the message has empty values, the variant that includes them as `key=` is
/// also accepted, because some published clients sign that way, and when it
/// has `null` values, the one that signs them as `key=null`. Public evidence
/// does not settle which rule eftPay's own answers use (docs/protocol.md
/// "Signature"), so a verifier strict on one rule would reject real answers.
///
/// # Errors
/// [`SignatureError`] says whether `sign` was missing, malformed or wrong.
pub fn verify(secret: &str, params: &Params) -> Result<(), SignatureError> {
    let given = params.get(SIGN).ok_or(SignatureError::Missing)?;
    let given = decode_hex32(given).ok_or(SignatureError::Malformed)?;
    let skip = digest(secret, params, EmptyValues::Skip);
    if bool::from(skip.ct_eq(&given)) {
        return Ok(());
    }
    let has = |kind: crate::params::ValueKind| {
        params.iter().any(|(k, v)| k != SIGN && v.kind() == kind && v.as_str().is_empty())
    };
    let (has_empty, has_null) = (has(crate::params::ValueKind::String), has(crate::params::ValueKind::Null));
    if has_empty && bool::from(digest(secret, params, EmptyValues::Include).ct_eq(&given)) {
        return Ok(());
    }
    if has_null && bool::from(digest(secret, params, EmptyValues::IncludeNull).ct_eq(&given)) {
        return Ok(());
    }
    Err(SignatureError::Mismatch)
}

/// What the signature check computed for a message, for a developer whose
/// `sign` was refused (code `10`): the string that was hashed, with the
/// secret written as `<secret>`, the `sign` expected and the one received,
/// and, when the received one matches a common mistake, which one.
///
/// Built by [`hint`]. Its `Display` is what the gateway's console shows:
///
/// ```
/// use vmp_protocol::{sign::{hint, sign}, Params};
/// let p = Params::new().with("b", "2").with("a", "1").with("sign", "0".repeat(64));
/// let h = hint("s3cret", &p, |_, v| v.into());
/// assert_eq!(h.signed, "<secret>a=1&b=2");
/// assert_eq!(h.expected, sign("s3cret", &p));
/// assert_eq!(h.received.as_deref(), Some("0".repeat(64).as_str()));
/// assert!(h.to_string().starts_with("signed:   <secret>a=1&b=2\n"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHint {
    /// `<secret>` followed by the canonical signing string (empty values
    /// left out, keys in byte order), values as the caller chose to show them.
    pub signed: String,
    /// The `sign` of the canonical string.
    pub expected: String,
    /// The `sign` received, as sent (`None`: none was sent).
    pub received: Option<String>,
    /// The mistake the received `sign` matches, if it matches one
    /// ([`SignMistake`]).
    pub mistake: Option<SignMistake>,
}

/// A common way of signing wrongly that [`hint`] recognises: the received
/// `sign` is exactly what that mistake produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignMistake {
    /// The secret was appended to the string instead of put before it.
    SecretAppended,
    /// `&key=<secret>` was appended (another gateway's convention).
    KeySuffix,
    /// The keys were not sorted (signed in the order sent).
    Unsorted,
    /// Values were URL-encoded before signing.
    UrlEncoded,
    /// HMAC-SHA256 with the secret as key instead of plain SHA-256.
    Hmac,
}

impl fmt::Display for SignMistake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SecretAppended => "the secret was appended to the string; it must come first",
            Self::KeySuffix => "\"&key=<secret>\" was appended; the secret must come first, with no key name",
            Self::Unsorted => "the fields were signed in the order sent; sort the keys in byte order",
            Self::UrlEncoded => "values were URL-encoded before signing; sign the raw values",
            Self::Hmac => "HMAC-SHA256 was used; the signature is plain SHA-256 of secret + string",
        })
    }
}

impl fmt::Display for SignatureHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "signed:   {}", self.signed)?;
        writeln!(f, "expected: {}", self.expected)?;
        write!(f, "received: {}", self.received.as_deref().unwrap_or("(none)"))?;
        if let Some(m) = self.mistake {
            write!(f, "\nlikely:   {m}")?;
        }
        Ok(())
    }
}

/// Explains the signature of `params` under `secret` ([`SignatureHint`]).
/// `shown` maps each `(key, value)` to the text displayed for it (the
/// gateway masks card numbers and secrets a request carried); the expected
/// `sign` and the mistakes are computed from the real values. The secret
/// itself is never part of the result.
pub fn hint<'a>(
    secret: &str,
    params: &'a Params,
    shown: impl Fn(&'a str, &'a str) -> std::borrow::Cow<'a, str>,
) -> SignatureHint {
    let mut pairs: Vec<(&str, &str)> =
        params.iter().filter(|(k, v)| *k != SIGN && !v.is_empty()).map(|(k, v)| (k, v.as_str())).collect();
    pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut signed = String::from("<secret>");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            signed.push('&');
        }
        signed.push_str(k);
        signed.push('=');
        signed.push_str(&shown(k, v));
    }
    let received = params.get(SIGN).map(str::to_owned);
    let mistake = received.as_deref().and_then(decode_hex32).and_then(|given| mistake(secret, params, &given));
    SignatureHint { signed, expected: sign(secret, params), received, mistake }
}

/// Which common mistake, if any, produces `given`.
fn mistake(secret: &str, params: &Params, given: &[u8; 32]) -> Option<SignMistake> {
    let canonical = signing_string(params, EmptyValues::Skip);
    let sha = |parts: &[&[u8]]| -> [u8; 32] {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        h.finalize().into()
    };
    let joined = |pairs: &mut dyn Iterator<Item = (String, String)>| {
        pairs.map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
    };
    let non_empty = || params.iter().filter(|(k, v)| *k != SIGN && !v.is_empty());
    let unsorted = joined(&mut non_empty().map(|(k, v)| (k.to_owned(), v.as_str().to_owned())));
    let mut encoded: Vec<(String, String)> = non_empty()
        .map(|(k, v)| (k.to_owned(), url::form_urlencoded::byte_serialize(v.as_str().as_bytes()).collect()))
        .collect();
    encoded.sort_unstable();
    let encoded = joined(&mut encoded.into_iter());
    let s = secret.as_bytes();
    let candidates: [(SignMistake, [u8; 32]); 5] = [
        (SignMistake::SecretAppended, sha(&[canonical.as_bytes(), s])),
        (SignMistake::KeySuffix, sha(&[canonical.as_bytes(), b"&key=", s])),
        (SignMistake::Unsorted, sha(&[s, unsorted.as_bytes()])),
        (SignMistake::UrlEncoded, sha(&[s, encoded.as_bytes()])),
        (SignMistake::Hmac, hmac_sha256(s, canonical.as_bytes())),
    ];
    // A candidate equal to the canonical digest (nothing to encode, keys
    // sent sorted) is no mistake: that sign would have verified.
    let canonical_digest = digest(secret, params, EmptyValues::Skip);
    candidates.into_iter().find(|(_, d)| d != &canonical_digest && bool::from(d.ct_eq(given))).map(|(m, _)| m)
}

/// HMAC-SHA256 (RFC 2104), for recognising that one mistake only.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner: [u8; 32] = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize().into();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

fn decode_hex32(s: &str) -> Option<[u8; 32]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "testsignkey1234";

    #[test]
    fn hex_round_trips_every_byte_in_either_case() {
        for start in (0..=255u8).step_by(32) {
            let digest: [u8; 32] = std::array::from_fn(|i| start.wrapping_add(i as u8));
            let text = lower_hex(&digest);
            assert_eq!(text, hex::encode(digest));
            assert_eq!(decode_hex32(&text), Some(digest));
            assert_eq!(decode_hex32(&text.to_uppercase()), Some(digest));
        }
        for bad in [format!("{}g", "0".repeat(63)), format!("g{}", "0".repeat(63)), format!("{}é", "0".repeat(62))] {
            assert_eq!(decode_hex32(&bad), None, "{bad}");
        }
    }

    fn preorder_vector(subject: &str) -> Params {
        Params::new()
            .with("active_time", "1800")
            .with("buyerType", "others")
            .with("fee_type", "HKD")
            .with("lang", "en")
            .with("notify_url", "https://merchant.example/notify")
            .with("out_trade_no", "20240101120000")
            .with("payType", "Alipay")
            .with("pay_scene", "WEB")
            .with("return_url", "https://merchant.example/return")
            .with("service", "service.alipay.web.PreOrder")
            .with("subject", subject)
            .with("time", "20240101120000")
            .with("transaction_amount", "0.10")
            .with("user_confirm_key", "12345678")
            .with("wallet", "ALIPAYHK")
    }

    #[test]
    fn official_dosign_vector() {
        let p = Params::from_json(br#"{"p0":"c","p2":"b","p1":"a"}"#).unwrap();
        assert_eq!(signing_string(&p, EmptyValues::Skip), "p0=c&p1=a&p2=b");
        assert_eq!(sign(SECRET, &p), "ed473ec9e423747a40b87403aa9814030861932d514dab000ed1f8a741f1d6df");
    }

    #[test]
    fn derived_preorder_vectors() {
        let p = preorder_vector("Testing");
        assert!(
            signing_string(&p, EmptyValues::Skip)
                .starts_with("active_time=1800&buyerType=others&fee_type=HKD&lang=en&")
        );
        assert!(signing_string(&p, EmptyValues::Skip).contains("payType=Alipay&pay_scene=WEB"));
        assert_eq!(sign(SECRET, &p), "a11e5f92dd9d1ae9d2fe8edf329d3afbc2f392d635b90c949d6c4a3bef98ec45");
        assert_eq!(
            sign(SECRET, &preorder_vector("測試訂單")),
            "c3739a1fb7fb1cbf7a9754b169996b230c7cbb0c67e73366add9284a186baf7a"
        );
    }

    #[test]
    fn empty_tid_is_skipped_but_the_include_variant_also_verifies() {
        let p = preorder_vector("Testing").with("tid", "");
        assert_eq!(sign(SECRET, &p), "a11e5f92dd9d1ae9d2fe8edf329d3afbc2f392d635b90c949d6c4a3bef98ec45");
        assert_eq!(
            hex::encode(digest(SECRET, &p, EmptyValues::Include)),
            "4dad00355532d347c65d0f2d57cca9d7d13a240c304cc7afaf64f20af570d426"
        );
        let with_include_sign =
            p.clone().with("sign", "4dad00355532d347c65d0f2d57cca9d7d13a240c304cc7afaf64f20af570d426");
        assert_eq!(verify(SECRET, &with_include_sign), Ok(()));
    }

    #[test]
    fn an_answer_signed_with_empty_or_null_values_verifies_whichever_rule_signed_it() {
        // eftPay's answers carry "return_char":"" on 00, and one public
        // answer carries a null: each signing rule must verify.
        let answer = Params::from_json(
            br#"{"return_status":"00","return_char":"","refund_trade_no":null,"out_trade_no":"A1","time":"20240101120000"}"#,
        )
        .unwrap();
        for rule in [EmptyValues::Skip, EmptyValues::Include, EmptyValues::IncludeNull] {
            let signed = answer.clone().with(SIGN, lower_hex(&digest(SECRET, &answer, rule)));
            assert_eq!(verify(SECRET, &signed), Ok(()), "{rule:?}");
        }
        assert_eq!(
            signing_string(&answer, EmptyValues::IncludeNull),
            "out_trade_no=A1&refund_trade_no=null&return_char=&return_status=00&time=20240101120000"
        );
    }

    #[test]
    fn notify_and_ack_vectors() {
        let notify = Params::new()
            .with("currency", "HKD")
            .with("eft_trade_no", "E123")
            .with("eftpay_trade_no", "E123")
            .with("gmt_payment", "2024-01-01 12:01:02")
            .with("notify_type", "trade_status_sync")
            .with("out_trade_no", "20240101120000")
            .with("time", "20240101120103")
            .with("total_fee", "0.10")
            .with("trade_no", "T1")
            .with("trade_status", "TRADE_SUCCESS")
            .with("trade_type", "SALE")
            .with("transaction_id", "T1")
            .with("user_confirm_key", "12345678")
            .with("wallet", "ALIPAYHK");
        assert_eq!(sign(SECRET, &notify), "14d3fa5f71be09584a7acc9b40f6c599823e0272e39610d186cb27965da1a05a");
        let ack = Params::new().with("return_code", "success").with("time", "20240101120104");
        assert_eq!(sign(SECRET, &ack), "b38a7b2456e76803b10c55e7bf46b3374eb8dcabd01c8ca8d3d66314d35097aa");
    }

    #[test]
    fn the_hint_shows_the_string_with_the_secret_masked_and_both_signs() {
        let mut p = preorder_vector("Testing").with("tid", "");
        p.set(SIGN, "f".repeat(64));
        let h = hint(SECRET, &p, |_, v| v.into());
        assert_eq!(h.signed, format!("<secret>{}", signing_string(&p, EmptyValues::Skip)));
        assert!(!h.signed.contains(SECRET));
        assert_eq!(h.expected, "a11e5f92dd9d1ae9d2fe8edf329d3afbc2f392d635b90c949d6c4a3bef98ec45");
        assert_eq!(h.received.as_deref(), Some("f".repeat(64).as_str()));
        assert_eq!(h.mistake, None);
        let masked = hint(SECRET, &p, |k, v| if k == "subject" { "***".into() } else { v.into() });
        assert!(masked.signed.contains("&subject=***&"), "{}", masked.signed);
        assert_eq!(masked.expected, h.expected, "the expected sign is of the real values");
        let unsigned = Params::new().with("a", "1");
        assert_eq!(hint(SECRET, &unsigned, |_, v| v.into()).to_string().lines().nth(2), Some("received: (none)"));
    }

    #[test]
    fn the_hint_names_the_common_signing_mistakes() {
        let p = preorder_vector("a b&c").with("tid", "");
        let canonical = signing_string(&p, EmptyValues::Skip);
        let sha = |text: String| lower_hex(&Sha256::digest(text.as_bytes()).into());
        let mut reversed: Vec<(&str, &str)> =
            p.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k, v.as_str())).collect();
        reversed.reverse();
        let mut sent_reversed = Params::new();
        for (k, v) in &reversed {
            sent_reversed.set(*k, *v);
        }
        let mut sorted = reversed.clone();
        sorted.sort_unstable();
        let encoded = sorted
            .iter()
            .map(|(k, v)| format!("{k}={}", url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()))
            .collect::<Vec<_>>()
            .join("&");
        assert!(encoded.contains("subject=a+b%26c"), "{encoded}");
        let unsorted = reversed.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        let cases = [
            (p.clone(), sha(format!("{canonical}{SECRET}")), SignMistake::SecretAppended),
            (p.clone(), sha(format!("{canonical}&key={SECRET}")), SignMistake::KeySuffix),
            (sent_reversed, sha(format!("{SECRET}{unsorted}")), SignMistake::Unsorted),
            (p.clone(), sha(format!("{SECRET}{encoded}")), SignMistake::UrlEncoded),
            (p.clone(), lower_hex(&hmac_sha256(SECRET.as_bytes(), canonical.as_bytes())), SignMistake::Hmac),
        ];
        for (params, wrong, expected) in cases {
            let sent = params.with(SIGN, &wrong);
            assert_eq!(verify(SECRET, &sent), Err(SignatureError::Mismatch), "{expected:?}");
            assert_eq!(hint(SECRET, &sent, |_, v| v.into()).mistake, Some(expected), "{expected:?}");
        }
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn verify_accepts_uppercase_and_rejects_tampering() {
        let mut p = preorder_vector("Testing");
        sign_in_place(SECRET, &mut p);
        assert_eq!(verify(SECRET, &p), Ok(()));
        let upper = p.get(SIGN).unwrap().to_ascii_uppercase();
        assert_eq!(verify(SECRET, &p.clone().with(SIGN, upper)), Ok(()));
        assert_eq!(verify("other", &p), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, &p.clone().with("subject", "Testing!")), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, &p.clone().with(SIGN, "abc")), Err(SignatureError::Malformed));
        assert_eq!(verify(SECRET, &p.clone().with(SIGN, "z".repeat(64))), Err(SignatureError::Malformed));
        let mut unsigned = p.clone();
        unsigned.remove(SIGN);
        assert_eq!(verify(SECRET, &unsigned), Err(SignatureError::Missing));
    }
}
