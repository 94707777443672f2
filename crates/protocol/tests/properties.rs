//! Property tests with hostile input (issue #7): the parameter parser, the
//! signer, the Place an Order and after-sale field rules and amounts never
//! panic, and every refusal is one of the codes the README documents.
//!
//! The reference models below are written from README.md ("Place an Order:
//! fields and rules", "Return codes the gateway emits"), not from the code.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value};
use vmp_protocol::catalogue::{Endpoint, Operation, Service};
use vmp_protocol::params::ValueKind;
use vmp_protocol::request::{PlaceOrder, Request, RequestError, check_envelope};
use vmp_protocol::sign::{self, SignatureError};
use vmp_protocol::{Amount, Params, ParamsError, ReturnStatus};

const DOCUMENTED: [&str; 21] = PlaceOrder::DOCUMENTED;

/// How the gateway reads a request posted to `endpoint`: the envelope's
/// fields must be strings, then the operation's rules.
fn parse(endpoint: Endpoint, p: &Params) -> Result<Request, RequestError> {
    check_envelope(p)?;
    Request::parse(endpoint, p)
}

/// The ready interfaces of one operation on `JSAPIService.do`.
fn ready(op: Operation) -> impl Iterator<Item = Service> {
    Service::ALL.iter().copied().filter(move |s| {
        let spec = s.spec();
        spec.op == op && spec.is_ready() && spec.name.is_some()
    })
}

/// The codes of README's "Return codes the gateway emits" table.
const README_CODES: [&str; 21] = [
    "00", "02", "03", "05", "09", "10", "12", "14", "15", "16", "18", "20", "22", "24", "31", "54", "-1", "-11", "-13",
    "-16", "-24",
];

const BOM: char = '\u{feff}';

/// Cases per property: enough to find shallow bugs, small enough for CI on 2 cores.
const CASES: u32 = 256;

/// Strings an attacker sends to every text field.
const HOSTILE: &[&str] = &[
    "'; DROP TABLE orders; --",
    "\" OR 1=1 --",
    "x'OR'1'='1",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "a\u{0}b",
    "\u{1b}[31mred",
    "\u{202e}evil",
    "\u{feff}",
    "\r\n",
    "%00",
    "../../etc/passwd",
    "${jndi:ldap://x/a}",
    "{{7*7}}",
    "\\u0000",
    "中文测试",
    "😀",
    "\u{fffd}",
    "\u{85}",
    "\u{2028}",
    "null",
    "",
    " ",
    "0",
    "-1",
    "1e400",
    "NaN",
];

// ---------------------------------------------------------------- strategies

/// Any text: printable Unicode, raw `char`s (control characters, surrogate
/// neighbours, private use), printable ASCII, hostile fragments, runs of one
/// character around the field limits, and huge values.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "\\PC{0,30}",
        3 => vec(any::<char>(), 0..30).prop_map(String::from_iter),
        2 => "[ -~]{0,40}",
        3 => select(HOSTILE).prop_map(str::to_owned),
        2 => (select(vec!['x', '中', '😀', ' ', '\u{7}', '\u{202e}']), 0..300usize)
            .prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
        1 => (any::<char>(), 1_000..70_000usize).prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
    ]
    .boxed()
}

/// Keys: empty, control characters, documented names and their case variants, anything.
fn key() -> BoxedStrategy<String> {
    let mut names: Vec<String> = DOCUMENTED.iter().map(|s| (*s).to_owned()).collect();
    names.extend(DOCUMENTED.iter().map(|s| s.to_uppercase()));
    names.extend(["PayType", "Sign", "SIGN", "sign ", " sign", "sign\u{0}"].map(str::to_owned));
    prop_oneof![
        1 => Just(String::new()),
        3 => "[a-zA-Z_]{1,12}",
        3 => select(names),
        2 => vec(any::<char>(), 0..8).prop_map(String::from_iter),
        1 => "\\PC{1,20}",
    ]
    .boxed()
}

fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        text().prop_map(Value::String),
    ]
    .boxed()
}

/// Any JSON value, nested up to 6 levels.
fn json_value() -> BoxedStrategy<Value> {
    json_leaf()
        .prop_recursive(6, 48, 6, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..6).prop_map(Value::Array),
                vec((key(), inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
        .boxed()
}

/// A top-level JSON object with arbitrary keys and values (no repeated keys:
/// a `Map` cannot hold them).
fn json_object() -> BoxedStrategy<Map<String, Value>> {
    vec((key(), json_value()), 0..16).prop_map(|kv| kv.into_iter().collect()).boxed()
}

/// Encodes `value` as JSON text, compact or pretty.
fn encode(value: &Value, pretty: bool) -> String {
    if pretty { serde_json::to_string_pretty(value).unwrap() } else { serde_json::to_string(value).unwrap() }
}

// ---------------------------------------------------------------- the parser

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// Arbitrary bytes: never a panic, and the error kinds mean what they say.
    #[test]
    fn from_json_never_panics_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..512)) {
        match Params::from_json(&bytes) {
            Err(ParamsError::NotUtf8) => prop_assert!(std::str::from_utf8(&bytes).is_err()),
            Err(ParamsError::Empty) => {
                let text = String::from_utf8_lossy(&bytes);
                prop_assert!(text.trim_start_matches(BOM).trim().is_empty(), "not empty: {:?}", text);
            }
            Err(_) | Ok(_) => {}
        }
    }

    /// Valid JSON objects with bytes flipped, inserted or cut: never a panic.
    #[test]
    fn from_json_never_panics_on_corrupted_json(
        obj in json_object(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..8),
    ) {
        let mut bytes = encode(&Value::Object(obj), false).into_bytes();
        for (at, byte, op) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 if i < bytes.len() => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ if i < bytes.len() => { bytes.truncate(i); }
                _ => {}
            }
        }
        if let Err(ParamsError::NotUtf8) = Params::from_json(&bytes) {
            prop_assert!(std::str::from_utf8(&bytes).is_err());
        }
    }

    /// Every JSON object is accepted, keeps its keys in order, strings as their
    /// content, `null` as not sent, other values as their JSON text; and the
    /// result round-trips through `to_json`.
    #[test]
    fn every_json_object_parses_exactly_and_round_trips(obj in json_object(), pretty in any::<bool>()) {
        let text = encode(&Value::Object(obj.clone()), pretty);
        let p = Params::from_json(text.as_bytes()).unwrap();
        prop_assert_eq!(p.len(), obj.len());
        prop_assert!(p.keys().eq(obj.keys().map(String::as_str)));
        for (k, v) in &obj {
            let got = p.get_raw(k).unwrap();
            match v {
                Value::Null => {
                    prop_assert_eq!(got.kind(), ValueKind::Null);
                    prop_assert_eq!(p.get(k), None);
                }
                Value::String(s) => {
                    prop_assert_eq!(got.kind(), ValueKind::String);
                    prop_assert_eq!(got.as_str(), s.as_str());
                }
                other => {
                    prop_assert_eq!(got.kind(), ValueKind::Other);
                    // The same JSON value (compared after one parse, so float
                    // spelling cannot matter).
                    let reparsed: Value = serde_json::from_str(got.as_str()).unwrap();
                    let expected: Value = serde_json::from_str(&encode(other, false)).unwrap();
                    prop_assert_eq!(reparsed, expected);
                }
            }
        }
        let again = Params::from_json(p.to_json().as_bytes()).unwrap();
        prop_assert_eq!(&again, &p);
        prop_assert_eq!(again.to_json(), p.to_json());
    }

    /// Parameters built in code (any keys, any text) survive `to_json`.
    #[test]
    fn built_params_round_trip(pairs in vec((key(), text()), 0..12)) {
        let mut p = Params::new();
        for (k, v) in &pairs {
            p.set(k, v);
        }
        prop_assert_eq!(Params::from_json(p.to_json().as_bytes()).unwrap(), p);
    }

    /// Any JSON that is not an object is refused as such.
    #[test]
    fn non_objects_are_refused(value in json_value().prop_filter("not an object", |v| !v.is_object())) {
        prop_assert_eq!(Params::from_json(encode(&value, false).as_bytes()), Err(ParamsError::NotAnObject));
    }

    /// A repeated top-level key is refused, and the error names that key.
    #[test]
    fn a_repeated_key_is_refused_and_named(
        keys in prop::collection::btree_set(key(), 1..8),
        dup in any::<prop::sample::Index>(),
        values in vec(text(), 9),
    ) {
        let keys: Vec<String> = keys.into_iter().collect();
        let repeated = keys[dup.index(keys.len())].clone();
        let mut text = String::from("{");
        for (i, k) in keys.iter().chain(std::iter::once(&repeated)).enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&serde_json::to_string(k).unwrap());
            text.push(':');
            text.push_str(&serde_json::to_string(&values[i]).unwrap());
        }
        text.push('}');
        prop_assert_eq!(Params::from_json(text.as_bytes()), Err(ParamsError::DuplicateKey(repeated)));
    }

    /// Nesting within serde_json's recursion limit is kept; deeper nesting is
    /// refused as malformed, never a stack overflow.
    #[test]
    fn deep_nesting_is_bounded(depth in 0..3_000usize, arrays in any::<bool>()) {
        let (open, close) = if arrays { ("[", "]") } else { ("{\"a\":", "}") };
        let text = format!("{{\"x\":{}1{}}}", open.repeat(depth), close.repeat(depth));
        let r = Params::from_json(text.as_bytes());
        if depth <= 100 {
            prop_assert!(r.is_ok(), "depth {}: {:?}", depth, r);
        } else if depth >= 200 {
            prop_assert!(matches!(r, Err(ParamsError::Malformed(_))), "depth {}: {:?}", depth, r);
        }
    }
}

/// A number inside an object or array keeps its value: README says
/// non-string values are signed as the JSON text received, so a nested
/// number must not come back as a neighbouring float.
#[test]
fn nested_numbers_keep_their_value() {
    let sent = "-7.808119496422729e+205";
    let p = Params::from_json(format!(r#"{{"x":[{sent}],"y":{{"a":{sent}}}}}"#).as_bytes()).unwrap();
    let want: f64 = sent.parse().unwrap();
    let x = p.get("x").unwrap();
    let got: f64 = x.trim_start_matches('[').trim_end_matches(']').parse().unwrap();
    assert_eq!(got.to_bits(), want.to_bits(), "x became {x}");
    let y = p.get("y").unwrap();
    let got: f64 = y.trim_start_matches(r#"{"a":"#).trim_end_matches('}').parse().unwrap();
    assert_eq!(got.to_bits(), want.to_bits(), "y became {y}");
    // ...and passing through the gateway again changes nothing.
    assert_eq!(Params::from_json(p.to_json().as_bytes()).unwrap(), p);
}

/// The key in a repeated-key refusal is the whole key, even when the key
/// itself looks like part of serde_json's error position text.
#[test]
fn a_repeated_key_that_contains_at_line_is_named_in_full() {
    let body = br#"{"a at line 1":"1","a at line 1":"2"}"#;
    assert_eq!(Params::from_json(body), Err(ParamsError::DuplicateKey("a at line 1".into())));
}

// ---------------------------------------------------------------- the signer

fn sign_key() -> BoxedStrategy<String> {
    key().prop_filter("not the sign field", |k| k != sign::SIGN).boxed()
}

fn signed_params() -> BoxedStrategy<(String, Params)> {
    (text(), vec((sign_key(), text()), 1..12))
        .prop_map(|(secret, pairs)| {
            let mut p = Params::new();
            for (k, v) in &pairs {
                p.set(k, v);
            }
            sign::sign_in_place(&secret, &mut p);
            (secret, p)
        })
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// Whatever is signed verifies, also with the hex in upper case and after
    /// a trip through JSON.
    #[test]
    fn what_is_signed_verifies((secret, p) in signed_params()) {
        prop_assert_eq!(sign::verify(&secret, &p), Ok(()));
        let upper = p.get(sign::SIGN).unwrap().to_ascii_uppercase();
        prop_assert_eq!(sign::verify(&secret, &p.clone().with(sign::SIGN, upper)), Ok(()));
        let wire = Params::from_json(p.to_json().as_bytes()).unwrap();
        prop_assert_eq!(sign::verify(&secret, &wire), Ok(()));
    }

    /// Changing the value of any one field breaks the signature.
    #[test]
    fn any_single_value_change_breaks_the_signature(
        (secret, p) in signed_params(),
        which in any::<prop::sample::Index>(),
        new_value in text(),
    ) {
        let fields: Vec<(String, String)> =
            p.iter().filter(|(k, _)| *k != sign::SIGN).map(|(k, v)| (k.to_owned(), v.as_str().to_owned())).collect();
        let (k, old) = &fields[which.index(fields.len())];
        prop_assume!(new_value != *old);
        let changed = p.clone().with(k, new_value);
        prop_assert_eq!(sign::verify(&secret, &changed), Err(SignatureError::Mismatch));
    }

    /// Adding a non-empty field, removing a non-empty one, or another secret
    /// breaks the signature.
    #[test]
    fn additions_removals_and_other_secrets_break_the_signature(
        (secret, p) in signed_params(),
        extra in (sign_key(), text().prop_filter("non-empty", |v| !v.is_empty())),
        which in any::<prop::sample::Index>(),
        other_secret in text(),
    ) {
        if !p.contains(&extra.0) {
            let added = p.clone().with(&extra.0, &extra.1);
            prop_assert_eq!(sign::verify(&secret, &added), Err(SignatureError::Mismatch));
        }
        let non_empty: Vec<String> =
            p.iter().filter(|(k, v)| *k != sign::SIGN && !v.is_empty()).map(|(k, _)| k.to_owned()).collect();
        if !non_empty.is_empty() {
            let mut removed = p.clone();
            removed.remove(&non_empty[which.index(non_empty.len())]);
            prop_assert_eq!(sign::verify(&secret, &removed), Err(SignatureError::Mismatch));
        }
        if other_secret != secret {
            prop_assert_eq!(sign::verify(&other_secret, &p), Err(SignatureError::Mismatch));
        }
    }

    /// Renaming a key breaks the signature (keys and values without the
    /// separators `=` and `&`, which the scheme itself cannot tell apart).
    #[test]
    fn renaming_a_key_breaks_the_signature(
        secret in text(),
        pairs in vec(("[a-zA-Z_]{1,8}", "[a-zA-Z0-9 ._-]{1,8}"), 1..8),
        which in any::<prop::sample::Index>(),
        new_key in "[a-zA-Z_]{1,8}",
    ) {
        let mut p = Params::new();
        for (k, v) in &pairs {
            p.set(k, v);
        }
        prop_assume!(!p.contains(&new_key) && !p.contains(sign::SIGN) && new_key != sign::SIGN);
        sign::sign_in_place(&secret, &mut p);
        let keys: Vec<String> = p.keys().filter(|k| *k != sign::SIGN).map(str::to_owned).collect();
        let old_key = &keys[which.index(keys.len())];
        let mut renamed = Params::new();
        for (k, v) in p.iter() {
            renamed.set(if k == old_key { new_key.as_str() } else { k }, v.as_str());
        }
        prop_assert_eq!(sign::verify(&secret, &renamed), Err(SignatureError::Mismatch));
    }

    /// A tampered `sign`: one hex digit changed is a mismatch; anything that
    /// is not 64 hex digits is malformed; no `sign` at all is missing.
    #[test]
    fn tampered_signs_are_refused_with_their_reason(
        (secret, p) in signed_params(),
        at in 0..64usize,
        garbage in text(),
    ) {
        let good = p.get(sign::SIGN).unwrap().to_owned();
        let mut flipped: Vec<char> = good.chars().collect();
        flipped[at] = if flipped[at] == '0' { '1' } else { '0' };
        let flipped: String = flipped.into_iter().collect();
        prop_assert_eq!(sign::verify(&secret, &p.clone().with(sign::SIGN, flipped)), Err(SignatureError::Mismatch));

        let with_garbage = p.clone().with(sign::SIGN, &garbage);
        let want = if garbage.is_empty() {
            Err(SignatureError::Missing)
        } else if garbage.len() != 64 || !garbage.bytes().all(|b| b.is_ascii_hexdigit()) {
            Err(SignatureError::Malformed)
        } else if garbage.eq_ignore_ascii_case(&good) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        };
        prop_assert_eq!(sign::verify(&secret, &with_garbage), want);

        let mut unsigned = p.clone();
        unsigned.remove(sign::SIGN);
        prop_assert_eq!(sign::verify(&secret, &unsigned), Err(SignatureError::Missing));
    }

    /// Verifying arbitrary received parameters never panics.
    #[test]
    fn verify_never_panics_on_received_params(obj in json_object(), secret in text()) {
        let p = Params::from_json(encode(&Value::Object(obj), false).as_bytes()).unwrap();
        let _ = sign::verify(&secret, &p);
        let _ = sign::sign(&secret, &p);
    }
}

// ---------------------------------------------------------------- requests

/// eftPay's example Place an Order request (docs/protocol.md).
fn preorder_seed() -> Map<String, Value> {
    serde_json::from_str(
        r#"{"pay_scene":"WAP","user_confirm_key":"12345678","wallet":"ALIPAYHK","subject":"中文测试 test",
        "transaction_amount":"0.02","sign":"af8f9f9d60019ce649af1ddfefd2aae98fa71656278a6edf439948cab7dc69d9",
        "body":"中文测试 test","tid":"","payType":"Alipay","out_trade_no":"20190824010716",
        "service":"service.alipay.wap.PreOrder","buyerType":"andriod",
        "return_url":"https://vmp.eftpay.com.cn/VMP/notify/testing","time":"20190824010716"}"#,
    )
    .unwrap()
}

fn ops_seed() -> Map<String, Value> {
    serde_json::from_str(
        r#"{"querytype":"OUT_TRADE","out_trade_no":"A1","refund_no":"R1","out_refund_no":"R1",
        "return_amount":"0.50","total_fee":"1.00","wallet":"ALIPAYHK","payType":"Alipay","buyerType":"others",
        "reason":"returned","user_confirm_key":"12345678","time":"20190824010716"}"#,
    )
    .unwrap()
}

const OPS_FIELDS: &[&str] = &[
    "querytype",
    "eft_trade_no",
    "out_trade_no",
    "refund_no",
    "out_refund_no",
    "return_amount",
    "total_fee",
    "wallet",
    "payType",
    "buyerType",
    "reason",
    "notify_url",
    "pay_scene",
];

#[derive(Debug, Clone)]
enum Mutation {
    Set(String, Value),
    Remove(String),
}

fn mutations(fields: &'static [&'static str]) -> BoxedStrategy<Vec<Mutation>> {
    let name = prop_oneof![3 => select(fields).prop_map(str::to_owned), 1 => key()];
    let value = prop_oneof![4 => text().prop_map(Value::String), 1 => json_value()];
    let one = prop_oneof![
        4 => (name.clone(), value).prop_map(|(k, v)| Mutation::Set(k, v)),
        1 => name.prop_map(Mutation::Remove),
    ];
    vec(one, 1..6).boxed()
}

fn mutated(mut base: Map<String, Value>, muts: &[Mutation]) -> Params {
    for m in muts {
        match m {
            Mutation::Set(k, v) => {
                base.insert(k.clone(), v.clone());
            }
            Mutation::Remove(k) => {
                base.shift_remove(k);
            }
        }
    }
    Params::from_json(encode(&Value::Object(base), false).as_bytes()).unwrap()
}

fn assert_defined(status: ReturnStatus, text: &str) -> Result<(), TestCaseError> {
    prop_assert!(README_CODES.contains(&status.code()), "code {} is not in the README table", status.code());
    prop_assert_ne!(status.code(), "00", "a refusal is never 00");
    prop_assert!(!text.is_empty(), "return_char is empty");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// Place an Order validation never panics, and every refusal is a
    /// documented code with a reason.
    #[test]
    fn preorder_refusals_are_documented_codes(muts in mutations(&DOCUMENTED)) {
        let p = mutated(preorder_seed(), &muts);
        if let Err(e) = parse(Endpoint::JsapiService, &p) {
            assert_defined(e.return_status(), &e.return_char())?;
        }
    }

    /// The same for the Query, RefundStatusQuery, Refund and Close parsers, on
    /// every refund and close service.
    #[test]
    fn after_sale_refusals_are_documented_codes(muts in mutations(OPS_FIELDS)) {
        let p = mutated(ops_seed(), &muts);
        if let Err(e) = parse(Endpoint::TradeQuery, &p) {
            assert_defined(e.return_status(), &e.return_char())?;
        }
        let services = ready(Operation::Refund).chain(ready(Operation::Close)).chain([Service::RefundStatusQuery]);
        for service in services {
            let mut p = p.clone();
            p.set("service", service.label());
            if let Err(e) = parse(Endpoint::JsapiService, &p) {
                assert_defined(e.return_status(), &e.return_char())?;
            }
        }
    }
}

/// README's rule for a text field: at most `max` characters, no control
/// characters; `token` fields are also printable ASCII without spaces.
#[derive(Debug, Clone, Copy)]
struct TextRule {
    field: &'static str,
    max: usize,
    token: bool,
    required: bool,
}

const TEXT_RULES: [TextRule; 8] = [
    TextRule { field: "out_trade_no", max: 28, token: true, required: true },
    TextRule { field: "buyerType", max: 7, token: false, required: true },
    TextRule { field: "subject", max: 256, token: false, required: true },
    TextRule { field: "body", max: 128, token: false, required: false },
    TextRule { field: "tid", max: 20, token: false, required: false },
    TextRule { field: "scheme", max: 128, token: true, required: false },
    TextRule { field: "packageName", max: 128, token: true, required: false },
    TextRule { field: "app_link", max: 240, token: true, required: false },
];

impl TextRule {
    fn accepts(self, v: &str) -> bool {
        if v.is_empty() {
            return !self.required; // empty counts as not sent
        }
        v.chars().count() <= self.max
            && !v.chars().any(char::is_control)
            && (!self.token || v.chars().all(|c| c.is_ascii_graphic()))
    }
}

/// Text whose length sits around `max` characters.
fn around_limit(max: usize) -> BoxedStrategy<String> {
    (select(vec!['a', '中', '😀', ' ', '-', '\u{202e}']), max.saturating_sub(2)..=max + 2, text())
        .prop_map(|(c, n, tail)| {
            let mut s: String = std::iter::repeat_n(c, n).collect();
            // Sometimes end in hostile text, keeping the length near the limit.
            if n % 2 == 0 {
                let keep = n.saturating_sub(tail.chars().count());
                s = s.chars().take(keep).chain(tail.chars()).collect();
            }
            s
        })
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// Each text field of Place an Order follows README's rule exactly: what
    /// the rule allows is accepted, anything else is `-13` naming the field.
    #[test]
    fn text_fields_follow_the_readme_rules(
        rule in select(TEXT_RULES.to_vec()),
        value in prop_oneof![3 => text(), 2 => select(TEXT_RULES.iter().map(|r| r.max).collect::<Vec<_>>()).prop_flat_map(around_limit)],
    ) {
        let mut seed = preorder_seed();
        seed.insert(rule.field.to_owned(), Value::String(value.clone()));
        let p = Params::from_json(encode(&Value::Object(seed), false).as_bytes()).unwrap();
        match parse(Endpoint::JsapiService, &p) {
            Ok(_) => prop_assert!(rule.accepts(&value), "{} = {:?} should be refused", rule.field, value),
            Err(e) => {
                prop_assert!(!rule.accepts(&value), "{} = {:?} should be accepted: {}", rule.field, value, e);
                prop_assert_eq!(e.return_status(), ReturnStatus::InvalidParameter);
                prop_assert!(e.to_string().contains(rule.field), "{} not named in {:?}", rule.field, e.to_string());
                prop_assert!(e.return_char().contains(rule.field), "{} not named in {:?}", rule.field, e.return_char());
            }
        }
    }

    /// A documented field sent as a number, boolean, array or object is `-13`.
    #[test]
    fn documented_fields_must_be_strings(
        field in select(DOCUMENTED.to_vec()),
        value in json_value().prop_filter("not a string or null", |v| !v.is_string() && !v.is_null()),
    ) {
        let mut seed = preorder_seed();
        seed.insert(field.to_owned(), value);
        let p = Params::from_json(encode(&Value::Object(seed), false).as_bytes()).unwrap();
        // `lang` is read only where the page has a language choice; Alipay
        // wap has none, so any value is ignored. `sign` is the signature
        // check's (`10`, in the gateway's hostile-input tests).
        prop_assume!(field != "lang" && field != "sign");
        let e = parse(Endpoint::JsapiService, &p).unwrap_err();
        prop_assert_eq!(e.return_status(), ReturnStatus::InvalidParameter);
        prop_assert!(e.to_string().contains(field));
    }
}

// ---------------------------------------------------------------- amounts

/// README: `digits[.d[d]]`, at most 8 characters, greater than 0. Returns
/// the amount in cents.
fn model_amount(s: &str) -> Option<i64> {
    if s.chars().count() > 8 {
        return None;
    }
    let digits = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
    let (int, frac) = match s.split_once('.') {
        None => (s, ""),
        Some((i, f)) if (1..=2).contains(&f.len()) && digits(f) => (i, f),
        Some(_) => return None,
    };
    if !digits(int) {
        return None;
    }
    let cents: i64 = format!("{int}{frac:0<2}").parse().ok()?;
    (cents > 0).then_some(cents)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn amounts_agree_with_the_readme_model(
        s in prop_oneof![
            "[0-9]{1,9}(\\.[0-9]{0,3})?",
            "[0-9.]{0,10}",
            "[-+0-9., eE]{0,10}",
            "\\PC{0,10}",
            select(HOSTILE).prop_map(str::to_owned),
        ],
    ) {
        prop_assert_eq!(Amount::parse(&s).ok().map(Amount::minor), model_amount(&s), "{:?}", s);
    }
}
