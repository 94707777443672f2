//! The VMP signature (docs/protocol.md "Signature").
//!
//! `sign = lowercase_hex(SHA-256(secret_code ‖ "k1=v1&k2=v2…"))` where the
//! pairs are every top-level parameter except `sign`, with empty and `null`
//! values left out, sorted by key in byte order, values raw (no URL encoding).
//! Plain SHA-256, not HMAC: that is what eftPay does.

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
