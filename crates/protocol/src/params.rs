//! [`Params`]: the top-level parameters of one VMP message, as received.
//!
//! eftPay signs the *text* of every top-level value, so the gateway must keep
//! each value exactly as the merchant sent it: strings as their decoded
//! content, other JSON values (numbers, booleans, objects, arrays) as their
//! compact JSON text in received key order. Received key order is kept too,
//! so logs and replays show the message as it came.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// The kind of JSON value a parameter held on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A JSON string; the text is its decoded content.
    String,
    /// JSON `null`; treated as absent (and never signed).
    Null,
    /// A number, boolean, object or array; the text is its compact JSON form.
    Other,
}

/// One top-level parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamValue {
    text: String,
    kind: ValueKind,
}

impl ParamValue {
    /// The text that is signed and validated.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// What JSON type the value had on the wire.
    pub fn kind(&self) -> ValueKind {
        self.kind
    }

    /// `true` for `null` and for the empty string: such values are left out of
    /// the signature and count as "not sent".
    pub fn is_empty(&self) -> bool {
        self.kind == ValueKind::Null || self.text.is_empty()
    }
}

/// Why a request body could not be read as VMP parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    /// The body is empty (or only whitespace).
    #[error("request body is empty")]
    Empty,
    /// The body is not valid UTF-8.
    #[error("request body is not valid UTF-8")]
    NotUtf8,
    /// The body is valid UTF-8 but not valid JSON.
    #[error("request body is not valid JSON: {0}")]
    Malformed(String),
    /// The body is JSON, but not an object.
    #[error("request body must be a JSON object")]
    NotAnObject,
    /// The same key appears twice at the top level.
    #[error("parameter {0} appears more than once")]
    DuplicateKey(String),
}

/// The top-level parameters of a VMP message, in received order.
///
/// ```
/// use vmp_protocol::Params;
/// let p = Params::from_json(br#"{"b":"2","a":1.50,"c":null}"#).unwrap();
/// assert_eq!(p.get("a"), Some("1.50"));
/// assert_eq!(p.get("c"), None); // null counts as not sent
/// assert_eq!(p.keys().collect::<Vec<_>>(), ["b", "a", "c"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    entries: Vec<(Key, ParamValue)>,
}

/// A parameter name: the protocol's own names are shared static text, so
/// reading a request or building an answer allocates nothing per key.
type Key = Cow<'static, str>;

/// The key for `name`: borrowed when it is one of the protocol's names.
fn key(name: &str) -> Key {
    known_key(name).map_or_else(|| Cow::Owned(name.to_owned()), Cow::Borrowed)
}

/// The static copy of `name` when the protocol defines it (requests,
/// answers, notifications).
fn known_key(name: &str) -> Option<&'static str> {
    // Each name is written once: the arm returns the very literal it matched.
    macro_rules! known {
        ($($k:literal),* $(,)?) => {
            match name {
                $($k => Some($k),)*
                _ => None,
            }
        };
    }
    known!(
        "service",
        "user_confirm_key",
        "transaction_amount",
        "out_trade_no",
        "payType",
        "buyerType",
        "wallet",
        "subject",
        "body",
        "pay_scene",
        "time",
        "sign",
        "lang",
        "tid",
        "fee_type",
        "notify_url",
        "return_url",
        "active_time",
        "scheme",
        "packageName",
        "app_link",
        "return_status",
        "return_char",
        "pay_apptrade",
        "eft_trade_no",
        "querytype",
        "trade_status",
        "trade_type",
        "total_fee",
        "currency",
        "transaction_id",
        "trade_time",
        "gmt_payment",
        "notify_type",
        "return_code",
        "refund_amount",
        "out_refund_no",
        "reason"
    )
}

/// Up to this many keys, a repeated key is found by scanning (cheapest for
/// real messages, which have about 10–40); beyond it, by a hash set, so a
/// body of many thousands of keys costs linear time, not quadratic.
const SCAN_KEYS: usize = 32;

/// The keys read so far, for finding a repeated one while parsing.
#[derive(Default)]
pub(crate) struct SeenKeys(Option<HashSet<Key>>);

impl SeenKeys {
    /// Whether `name` is among `entries`, the keys kept so far.
    fn contains(&self, entries: &[(Key, ParamValue)], name: &str) -> bool {
        match &self.0 {
            Some(set) => set.contains(name),
            None => entries.iter().any(|(k, _)| k == name),
        }
    }

    /// Notes the key just pushed onto `entries`.
    fn pushed(&mut self, entries: &[(Key, ParamValue)]) {
        match &mut self.0 {
            Some(set) => {
                if let Some((k, _)) = entries.last() {
                    set.insert(k.clone());
                }
            }
            None if entries.len() > SCAN_KEYS => self.0 = Some(entries.iter().map(|(k, _)| k.clone()).collect()),
            None => {}
        }
    }
}

impl Params {
    /// Appends a string parameter unless `name` is already there (then
    /// `false`, nothing changed); for parsers, with the keys they have seen.
    pub(crate) fn push_new(&mut self, name: &str, value: String, seen: &mut SeenKeys) -> bool {
        if seen.contains(&self.entries, name) {
            return false;
        }
        self.entries.push((key(name), ParamValue { text: value, kind: ValueKind::String }));
        seen.pushed(&self.entries);
        true
    }

    /// An empty parameter list, for building outgoing messages.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a request body.
    ///
    /// # Errors
    /// [`ParamsError`] when the body is empty, not UTF-8, not JSON, not a JSON
    /// object, or repeats a top-level key.
    pub fn from_json(body: &[u8]) -> Result<Self, ParamsError> {
        let text = std::str::from_utf8(body).map_err(|_| ParamsError::NotUtf8)?;
        // A UTF-8 byte-order mark is tolerated: some Windows clients add one.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text.trim().is_empty() {
            return Err(ParamsError::Empty);
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let parsed = de.deserialize_any(TopLevel);
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => {
                let msg = e.to_string();
                return Err(if msg.starts_with(NOT_OBJECT_MARK) {
                    ParamsError::NotAnObject
                } else {
                    ParamsError::Malformed(msg)
                });
            }
        };
        de.end().map_err(|e| ParamsError::Malformed(e.to_string()))?;
        // A repeated key is reported only once the whole body is known to be
        // well-formed JSON, and by its exact name.
        match parsed.duplicate {
            Some(key) => Err(ParamsError::DuplicateKey(key)),
            None => Ok(Params { entries: parsed.entries }),
        }
    }

    /// The value of `key` when it was sent and is not empty or `null`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.get_raw(key).filter(|v| !v.is_empty()).map(ParamValue::as_str)
    }

    /// The value of `key` as received, including empty strings and `null`.
    pub fn get_raw(&self, key: &str) -> Option<&ParamValue> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether `key` was sent at all (even empty).
    pub fn contains(&self, key: &str) -> bool {
        self.get_raw(key).is_some()
    }

    /// Keys in received order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| &**k)
    }

    /// `(key, value)` pairs in received order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ParamValue)> {
        self.entries.iter().map(|(k, v)| (&**k, v))
    }

    /// Number of top-level parameters.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sets a string parameter, replacing an existing one in place or appending.
    pub fn set(&mut self, name: impl AsRef<str>, value: impl Into<String>) -> &mut Self {
        let name = name.as_ref();
        let value = ParamValue { text: value.into(), kind: ValueKind::String };
        match self.entries.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key(name), value)),
        }
        self
    }

    /// Builder form of [`Params::set`].
    #[must_use]
    pub fn with(mut self, name: impl AsRef<str>, value: impl Into<String>) -> Self {
        self.set(name, value);
        self
    }

    /// Sets a parameter to a JSON object holding `object`'s parameters
    /// (e.g. a `payPackage`). Like any non-string value it is sent, and
    /// signed, as its compact JSON text in insertion order.
    ///
    /// ```
    /// use vmp_protocol::Params;
    /// let inner = Params::new().with("appId", "wx1").with("package", "prepay_id=wx2");
    /// let p = Params::new().with("a", "1").with_object("payPackage", &inner);
    /// assert_eq!(p.to_json(), r#"{"a":"1","payPackage":{"appId":"wx1","package":"prepay_id=wx2"}}"#);
    /// assert_eq!(p.get("payPackage"), Some(r#"{"appId":"wx1","package":"prepay_id=wx2"}"#));
    /// assert_eq!(p.object("payPackage"), Some(inner));
    /// ```
    pub fn set_object(&mut self, name: impl AsRef<str>, object: &Params) -> &mut Self {
        let name = name.as_ref();
        let value = ParamValue { text: object.to_json(), kind: ValueKind::Other };
        match self.entries.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key(name), value)),
        }
        self
    }

    /// Builder form of [`Params::set_object`].
    #[must_use]
    pub fn with_object(mut self, name: impl AsRef<str>, object: &Params) -> Self {
        self.set_object(name, object);
        self
    }

    /// The parameters of `key`'s value when it is a JSON object (sent as
    /// one, not as a string holding one); `None` otherwise.
    pub fn object(&self, key: &str) -> Option<Params> {
        self.get_raw(key)
            .filter(|v| v.kind == ValueKind::Other && v.text.starts_with('{'))
            .and_then(|v| Params::from_json(v.text.as_bytes()).ok())
    }

    /// Moves every parameter of `other` in after these (a key both have
    /// takes `other`'s value, in place), without copying any text.
    pub fn append(&mut self, other: Params) {
        self.entries.reserve(other.entries.len());
        for (key, value) in other.entries {
            match self.entries.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => self.entries.push((key, value)),
            }
        }
    }

    /// Removes a parameter, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<ParamValue> {
        let pos = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(pos).1)
    }

    /// Compact JSON object text: string values as JSON strings, other values
    /// as their JSON text, in insertion order.
    pub fn to_json(&self) -> String {
        let mut out =
            String::with_capacity(16 + self.entries.iter().map(|(k, v)| k.len() + v.text.len() + 6).sum::<usize>());
        out.push('{');
        for (i, (k, v)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_string(&mut out, k);
            out.push(':');
            match v.kind {
                ValueKind::String => push_json_string(&mut out, &v.text),
                ValueKind::Null => out.push_str("null"),
                // Already valid JSON text, checked when it was parsed.
                ValueKind::Other => out.push_str(&v.text),
            }
        }
        out.push('}');
        out
    }
}

/// Appends `s` as a JSON string, escaped exactly as `serde_json` does (`"`,
/// `\\`, and control characters; nothing else), without an intermediate
/// allocation: every answer and notification is written through here.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    // Almost every value needs no escape: tell that in one branch-free pass
    // (which the compiler vectorises) and copy it whole.
    if !s.bytes().fold(false, |any, b| any | (b < 0x20) | (b == b'"') | (b == b'\\')) {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut clean = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[clean..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(escape);
        }
        clean = i + 1;
    }
    out.push_str(&s[clean..]);
    out.push('"');
}

/// A key as read from the wire: borrowed when the protocol knows the name.
struct KeySeed(Key);

impl<'de> de::Deserialize<'de> for KeySeed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeySeed;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a parameter name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeySeed, E> {
                Ok(KeySeed(key(v)))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<KeySeed, E> {
                Ok(KeySeed(known_key(&v).map_or(Cow::Owned(v), Cow::Borrowed)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

const NOT_OBJECT_MARK: &str = "\u{1}not-object";

struct TopLevel;

/// What the visitor collected: the entries, and the first repeated key.
struct Parsed {
    entries: Vec<(Key, ParamValue)>,
    duplicate: Option<String>,
}

impl<'de> Visitor<'de> for TopLevel {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let mut entries: Vec<(Key, ParamValue)> = Vec::with_capacity(map.size_hint().unwrap_or(16).min(64));
        let mut duplicate = None;
        let mut seen = SeenKeys::default();
        while let Some(name) = map.next_key::<KeySeed>()? {
            let name = name.0;
            if seen.contains(&entries, &name) {
                // Keep reading, so malformed JSON later on is still reported as such.
                map.next_value::<de::IgnoredAny>()?;
                duplicate.get_or_insert(name.into_owned());
                continue;
            }
            // Raw text first, so numbers keep their exact spelling (`0.10`
            // stays `0.10`), which is what a signer on the other side used.
            let raw: &RawValue = map.next_value()?;
            let text = raw.get();
            let value = match text.as_bytes().first() {
                // Without a backslash, a (validated) JSON string is its text
                // between the quotes: no second parse.
                Some(b'"') if text.len() >= 2 && !text.contains('\\') => {
                    ParamValue { text: text[1..text.len() - 1].to_owned(), kind: ValueKind::String }
                }
                Some(b'"') => {
                    ParamValue { text: serde_json::from_str(text).map_err(de::Error::custom)?, kind: ValueKind::String }
                }
                Some(b'n') => ParamValue { text: String::new(), kind: ValueKind::Null },
                Some(b'{' | b'[') => {
                    let v: Value = serde_json::from_str(text).map_err(de::Error::custom)?;
                    ParamValue { text: v.to_string(), kind: ValueKind::Other }
                }
                _ => ParamValue { text: text.to_owned(), kind: ValueKind::Other },
            };
            entries.push((name, value));
            seen.pushed(&entries);
        }
        Ok(Parsed { entries, duplicate })
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Parsed, A::Error> {
        Err(de::Error::custom(NOT_OBJECT_MARK))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Parsed, E> {
        Err(E::custom(NOT_OBJECT_MARK))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Parsed, E> {
        Err(E::custom(NOT_OBJECT_MARK))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Parsed, E> {
        Err(E::custom(NOT_OBJECT_MARK))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Parsed, E> {
        Err(E::custom(NOT_OBJECT_MARK))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Parsed, E> {
        Err(E::custom(NOT_OBJECT_MARK))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Parsed, E> {
        Err(E::custom(NOT_OBJECT_MARK))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_is_found_in_long_bodies_too() {
        // Past SCAN_KEYS the keys are looked up in a hash set: same answers.
        let json = |keys: &[String]| {
            let fields: Vec<String> = keys.iter().map(|k| format!("\"{k}\":\"v\"")).collect();
            format!("{{{}}}", fields.join(","))
        };
        let mut keys: Vec<String> = (0..200).map(|i| format!("k{i}")).collect();
        keys.push("sign".into());
        let p = Params::from_json(json(&keys).as_bytes()).unwrap();
        assert_eq!(p.len(), 201);
        assert!(p.keys().eq(keys.iter().map(String::as_str)), "received order kept");
        for repeated in ["k0", "k31", "k32", "k40", "k199", "sign"] {
            let mut with_repeat = keys.clone();
            with_repeat.insert(150, repeated.to_owned());
            assert_eq!(
                Params::from_json(json(&with_repeat).as_bytes()),
                Err(ParamsError::DuplicateKey(repeated.to_owned())),
                "{repeated}"
            );
        }
        let mut form = Params::new();
        let mut seen = SeenKeys::default();
        for k in &keys {
            assert!(form.push_new(k, "v".into(), &mut seen), "{k}");
        }
        assert!(!form.push_new("k33", "other".into(), &mut seen));
        assert!(!form.push_new("k3", "other".into(), &mut seen));
        assert_eq!(form.get("k33"), Some("v"), "a refused key changes nothing");
        assert_eq!(form.len(), 201);
    }

    #[test]
    fn string_values_are_decoded_with_and_without_escapes() {
        let p = Params::from_json(br#"{"a":"plain 0.10","b":"tab\tquote\"\u00e9","c":"","d":"\\"}"#).unwrap();
        assert_eq!(p.get("a"), Some("plain 0.10"));
        assert_eq!(p.get("b"), Some("tab\tquote\"\u{e9}"));
        assert_eq!(p.get_raw("c").map(ParamValue::kind), Some(ValueKind::String));
        assert_eq!(p.get("d"), Some("\\"));
        // A raw control character inside a string is not JSON, backslash or not.
        assert!(matches!(Params::from_json(b"{\"a\":\"x\ny\"}"), Err(ParamsError::Malformed(_))));
        assert!(matches!(Params::from_json(b"{\"a\":\"x\x01y\\n\"}"), Err(ParamsError::Malformed(_))));
    }

    #[test]
    fn json_strings_are_escaped_exactly_as_serde_json_does() {
        let mut samples: Vec<String> = (0u8..=0x7f).map(|b| char::from(b).to_string()).collect();
        samples.extend(
            ["", "plain", "中文测试 test", "a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}/é😀", "\u{0}x\u{0}", "end\\"]
                .map(str::to_owned),
        );
        samples.push((0u8..=0x7f).map(char::from).collect());
        for s in &samples {
            let mut out = String::new();
            push_json_string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn keeps_received_order_and_raw_text_of_non_strings() {
        let p = Params::from_json(br#"{"z":"1","obj":{"b":1,"a":[1, 2]},"n":0.10,"t":true}"#).unwrap();
        assert_eq!(p.keys().collect::<Vec<_>>(), ["z", "obj", "n", "t"]);
        assert_eq!(p.get("obj"), Some(r#"{"b":1,"a":[1,2]}"#));
        assert_eq!(p.get("n"), Some("0.10"));
        assert_eq!(p.get_raw("t").unwrap().kind(), ValueKind::Other);
    }

    #[test]
    fn rejects_each_kind_of_bad_body_with_its_own_error() {
        let cases: &[(&[u8], ParamsError)] = &[
            (b"", ParamsError::Empty),
            (b"  \n", ParamsError::Empty),
            (b"\xff\xfe{}", ParamsError::NotUtf8),
            (b"[1,2]", ParamsError::NotAnObject),
            (b"\"text\"", ParamsError::NotAnObject),
            (b"42", ParamsError::NotAnObject),
            (b"null", ParamsError::NotAnObject),
            (br#"{"a":"1","a":"2"}"#, ParamsError::DuplicateKey("a".into())),
        ];
        for (body, want) in cases {
            assert_eq!(&Params::from_json(body).unwrap_err(), want, "body {body:?}");
        }
        for bad in [&b"{"[..], b"{\"a\":}", b"{} {}", b"{\"a\":\"1\"} x"] {
            assert!(matches!(Params::from_json(bad), Err(ParamsError::Malformed(_))), "{bad:?}");
        }
    }

    #[test]
    fn every_documented_order_parameter_is_a_shared_key() {
        // The name lists live with their messages; this keeps the shared set
        // from falling behind them (a miss costs an allocation, not a bug).
        for name in crate::request::PlaceOrder::DOCUMENTED {
            assert_eq!(known_key(name), Some(name));
        }
        assert_eq!(known_key("not_a_vmp_name"), None);
    }

    #[test]
    fn case_variant_keys_are_different_keys() {
        let p = Params::from_json(br#"{"payType":"Alipay","paytype":"WeChat"}"#).unwrap();
        assert_eq!(p.get("payType"), Some("Alipay"));
        assert_eq!(p.get("paytype"), Some("WeChat"));
    }

    #[test]
    fn to_json_round_trips() {
        let p = Params::from_json(r#"{"s":"中文 \"q\"","n":1.50,"e":""}"#.as_bytes()).unwrap();
        let again = Params::from_json(p.to_json().as_bytes()).unwrap();
        assert_eq!(p, again);
    }
}
