//! Hostile requests (issue #7): a corpus of well over 200 requests — SQL and
//! HTML fragments, control characters, an RTL override and over-long values
//! in every text field, wrong JSON types, case-variant and repeated keys,
//! deep nesting, thousands of extra keys, invalid UTF-8, oversized, empty and
//! non-object bodies — on Place an Order and on query, refund, refund status
//! and close; and (issue #19) on the qrcode scene's sale, query, refund,
//! close and cancel and the cashier's sale.
//!
//! Every entry is built so that README's rules refuse it: either it is signed
//! correctly and a field rule trips, or it is deliberately not signed
//! correctly. Each must get HTTP 200, a JSON answer with the code README's
//! rules give it, a non-empty `return_char` of at most 100 characters and a
//! signature exactly when the code is `>= 00`; and the store must not change.
//! Hostile values the rules *allow* (SQL text in `subject`, say) are sent in
//! a separate test and must be stored and echoed verbatim, and escaped on
//! the pay page.
//!
//! The expected codes come from README ("Place an Order: fields and rules",
//! "Return codes the gateway emits", "Query, refund, refund status, close"),
//! not from the gateway's code.

use vmp_protocol::params::ValueKind;
use vmp_protocol::{Params, sign};

use crate::helpers::{ENDPOINT, TestApp, assert_signed, spawn_app, vmp_now};

const QUERY_ENDPOINT: &str = "/VMP/Servlet/QRcodeTradeQuery.do";
const CANCEL_ENDPOINT: &str = "/VMP/Servlet/QRcodeTradeCancel.do";

/// Signs the requests that must fail the signature check.
const WRONG_SECRET: &str = "not-the-merchant-secret-0123456789";

/// README's "Return codes the gateway emits".
const README_CODES: [&str; 21] = [
    "00", "02", "03", "05", "09", "10", "12", "14", "15", "16", "18", "20", "22", "24", "31", "54", "-1", "-11", "-13",
    "-16", "-24",
];

/// README: a body over 64 KiB is refused (`-13`).
const BODY_LIMIT: usize = 64 * 1024;

/// One hostile request and the code README's rules give it.
struct Case {
    name: String,
    path: &'static str,
    body: Vec<u8>,
    expect: &'static str,
}

/// A hostile value that README's rules allow in a field.
struct Legal {
    field: &'static str,
    value: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// Signed with the merchant's secret: a field rule must trip.
    Signed,
    /// Signed with another secret: the signature check must trip.
    Forged,
}

impl Auth {
    fn name(self) -> &'static str {
        match self {
            Auth::Signed => "signed",
            Auth::Forged => "forged",
        }
    }
}

/// The code for a request signed with the wrong secret and `field` hostile:
/// merchant and `time` are checked before the signature.
fn forged_code(field: &str) -> &'static str {
    match field {
        "user_confirm_key" | "time" => "-13",
        _ => "10",
    }
}

/// The hostile values sent to every text field; `limit` is the field's
/// README length (values one character over it, ASCII and wide).
fn hostile_values(limit: usize) -> Vec<(&'static str, String)> {
    vec![
        ("SQL drop", "'; DROP TABLE orders; --".to_owned()),
        ("SQL or", "\" OR 1=1 --".to_owned()),
        ("SQL quotes without spaces", "x'OR'1'='1".to_owned()),
        ("HTML script", "<script>alert(1)</script>".to_owned()),
        ("HTML img onerror", "<img src=x onerror=alert(1)>".to_owned()),
        ("NUL", "a\u{0}b".to_owned()),
        ("ESC sequence", "a\u{1b}[2Jb".to_owned()),
        ("CRLF header injection", "x\r\nX-Injected: 1".to_owned()),
        ("DEL", "a\u{7f}b".to_owned()),
        ("RTL override", "\u{202e}gnp.exe".to_owned()),
        ("limit+1 ASCII", "x".repeat(limit + 1)),
        ("limit+1 wide", "中".repeat(limit + 1)),
    ]
}

/// README: `digits[.d[d]]`, at most 8 characters; the amount in cents
/// (zero included, which is `09` rather than a format error).
fn amount_cents(v: &str) -> Option<i64> {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if v.chars().count() > 8 {
        return None;
    }
    let (int, frac) = v.split_once('.').unwrap_or((v, "00"));
    if !digits(int) || !digits(frac) || frac.len() > 2 {
        return None;
    }
    format!("{int}{frac:0<2}").parse().ok()
}

/// README's text rule: at most `max` characters, no control characters;
/// `token` fields printable ASCII without spaces. Empty counts as not sent.
fn text_rule(v: &str, max: usize, token: bool, required: bool) -> Option<&'static str> {
    if v.is_empty() {
        return required.then_some("-13");
    }
    let ok = v.chars().count() <= max
        && !v.chars().any(char::is_control)
        && (!token || v.chars().all(|c| c.is_ascii_graphic()));
    (!ok).then_some("-13")
}

fn one_of(v: &str, allowed: &[&str], code: &'static str, required: bool) -> Option<&'static str> {
    if v.is_empty() {
        return required.then_some("-13");
    }
    (!allowed.contains(&v)).then_some(code)
}

/// Place an Order fields with their README length (or a nominal one).
const PREORDER_FIELDS: [(&str, usize); 21] = [
    ("service", 64),
    ("user_confirm_key", 12),
    ("transaction_amount", 8),
    ("out_trade_no", 28),
    ("payType", 20),
    ("buyerType", 7),
    ("wallet", 20),
    ("subject", 256),
    ("time", 14),
    ("sign", 64),
    ("body", 128),
    ("pay_scene", 20),
    ("fee_type", 3),
    ("tid", 20),
    ("notify_url", 240),
    ("return_url", 240),
    ("active_time", 7),
    ("lang", 2),
    ("scheme", 128),
    ("packageName", 128),
    ("app_link", 240),
];

/// The code README gives a correctly signed seed request (Alipay, WAP) with
/// `field` set to `v`, or `None` when the rules allow the value.
fn preorder_code(field: &str, v: &str) -> Option<&'static str> {
    match field {
        // Unknown merchant; `time` not yyyyMMddHHmmss; unknown service.
        "user_confirm_key" | "time" | "service" => Some("-13"),
        "sign" => Some("10"),
        "transaction_amount" => match amount_cents(v) {
            None => Some("-13"),
            Some(0) => Some("09"),
            Some(_) => None,
        },
        "out_trade_no" => text_rule(v, 28, true, true),
        "payType" => one_of(v, &["Alipay"], "20", true),
        "buyerType" => text_rule(v, 7, false, true),
        "wallet" => one_of(v, &["ALIPAYCN", "ALIPAYHK"], "-16", true),
        "subject" => text_rule(v, 256, false, true),
        "body" => text_rule(v, 128, false, false),
        "pay_scene" => one_of(v, &["WAP"], "02", false),
        "fee_type" => one_of(v, &["HKD", "CNY"], "-24", false),
        "tid" => text_rule(v, 20, false, false),
        // No hostile value in this corpus is an absolute http(s) URL.
        "notify_url" | "return_url" => (!v.is_empty()).then_some("-13"),
        "active_time" => {
            let ok = v.is_empty()
                || (v.bytes().all(|b| b.is_ascii_digit())
                    && v.len() <= 7
                    && v.parse::<u32>().is_ok_and(|s| (60..=604_800).contains(&s)));
            (!ok).then_some("-13")
        }
        // The seed's Alipay service has no language choice: lang is accepted
        // and ignored whatever it holds (real clients send lang=en on every
        // sale); MPGS, which has one, is covered in place_order.rs.
        "lang" => None,
        "scheme" | "packageName" => text_rule(v, 128, true, false),
        "app_link" => text_rule(v, 240, true, false),
        other => unreachable!("no rule for {other}"),
    }
}

/// Field-specific hostile values, on top of [`hostile_values`].
fn special_values(field: &str) -> Vec<(&'static str, String)> {
    let v = |pairs: &[(&'static str, &str)]| pairs.iter().map(|(n, s)| (*n, (*s).to_owned())).collect();
    match field {
        "service" => v(&[
            ("upper case", "SERVICE.ALIPAY.WAP.PREORDER"),
            ("trailing space", "service.alipay.wap.PreOrder "),
            ("trailing NUL", "service.alipay.wap.PreOrder\u{0}"),
            ("path traversal", "../../service.alipay.wap.PreOrder"),
        ]),
        "user_confirm_key" => v(&[("SQL tautology", "' OR '1'='1"), ("LIKE wildcard", "%"), ("SQL comment", "OV--")]),
        "transaction_amount" => v(&[
            ("nine digits", "123456789"),
            ("three decimals", "1.234"),
            ("negative", "-1"),
            ("exponent", "1e2"),
            ("zero", "0"),
            ("zero cents", "0.00"),
            ("leading space", " 1"),
            ("full-width digit", "１"),
            ("hex", "0x10"),
            ("NaN", "NaN"),
        ]),
        "payType" => v(&[("lower case", "alipay"), ("upper case", "ALIPAY")]),
        "wallet" => v(&[("lower case", "alipayhk"), ("two wallets", "ALIPAYHK,ALIPAYCN")]),
        "pay_scene" => v(&[("lower case", "wap"), ("another service's scene", "WEB")]),
        "fee_type" => v(&[("lower case", "hkd"), ("USD", "USD")]),
        "lang" => v(&[("upper case", "EN"), ("unknown", "fr")]),
        "active_time" => v(&[("59", "59"), ("604801", "604801"), ("negative", "-1"), ("exponent", "1e3")]),
        "time" => v(&[("with a space", "20261126 142200"), ("fourteen nines", "99999999999999")]),
        "sign" => v(&[
            ("63 hex digits", &"a".repeat(63)),
            ("64 non-hex", &"z".repeat(64)),
            ("wrong but well-formed", &"0".repeat(64)),
        ]),
        "notify_url" | "return_url" => v(&[
            ("javascript URL", "javascript:alert(1)"),
            ("file URL", "file:///etc/passwd"),
            ("credentials", "https://user:pw@evil.example/"),
            ("no host", "http://"),
            ("scheme-relative", "//evil.example/x"),
            ("space", "https://evil.example/a b"),
            ("data URL", "data:text/html,<script>alert(1)</script>"),
            ("gopher", "gopher://evil.example/"),
        ]),
        _ => Vec::new(),
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// `p` as JSON text with `field`'s value replaced by raw JSON text (appended
/// when absent).
fn with_raw(p: &Params, field: &str, raw: &str) -> String {
    let mut parts = Vec::new();
    let mut seen = false;
    for (k, v) in p.iter() {
        let value = if k == field {
            seen = true;
            raw.to_owned()
        } else {
            match v.kind() {
                ValueKind::String => json_str(v.as_str()),
                ValueKind::Null => "null".to_owned(),
                ValueKind::Other => v.as_str().to_owned(),
            }
        };
        parts.push(format!("{}:{value}", json_str(k)));
    }
    if !seen {
        parts.push(format!("{}:{raw}", json_str(field)));
    }
    format!("{{{}}}", parts.join(","))
}

/// `text` with `marker` replaced by raw bytes (for invalid UTF-8).
fn splice(text: &str, marker: &str, bytes: &[u8]) -> Vec<u8> {
    let (before, after) = text.split_once(marker).unwrap();
    [before.as_bytes(), bytes, after.as_bytes()].concat()
}

fn authenticate(app: &TestApp, p: &mut Params, auth: Auth) {
    match auth {
        Auth::Signed => app.sign(p),
        Auth::Forged => sign::sign_in_place(WRONG_SECRET, p),
    }
}

/// Signs `p` with its raw values as sent (numbers, objects…), via a parse.
fn signed_raw(app: &TestApp, text: &str, auth: Auth) -> Vec<u8> {
    let mut p = Params::from_json(text.as_bytes()).unwrap();
    authenticate(app, &mut p, auth);
    p.to_json().into_bytes()
}

// ------------------------------------------------------------ Place an Order

fn preorder_corpus(app: &TestApp) -> (Vec<Case>, Vec<Legal>) {
    let mut cases = Vec::new();
    let mut legal = Vec::new();
    let mut n = 0;
    let seed = |n: &mut usize| {
        *n += 1;
        app.seed_request(&format!("HOSTILE-{n}"))
    };

    // Every field × every hostile value, signed and forged.
    for (field, limit) in PREORDER_FIELDS {
        let mut values = hostile_values(limit);
        values.extend(special_values(field));
        for (what, value) in values {
            for auth in [Auth::Signed, Auth::Forged] {
                let expect = match auth {
                    Auth::Signed => preorder_code(field, &value),
                    Auth::Forged => Some(forged_code(field)),
                };
                let Some(expect) = expect else {
                    legal.push(Legal { field, value: value.clone() });
                    continue;
                };
                let mut p = seed(&mut n);
                if field == "sign" {
                    authenticate(app, &mut p, auth);
                    p.set("sign", &value);
                } else {
                    p.set(field, &value);
                    authenticate(app, &mut p, auth);
                }
                cases.push(Case {
                    name: format!("place order: {field} = {what} ({})", auth.name()),
                    path: ENDPOINT,
                    body: p.to_json().into_bytes(),
                    expect,
                });
            }
        }
    }

    // A stale time is checked before the signature: 12 either way.
    for auth in [Auth::Signed, Auth::Forged] {
        let mut p = seed(&mut n);
        p.set("time", "20200101000000");
        authenticate(app, &mut p, auth);
        cases.push(Case {
            name: format!("place order: time six years old ({})", auth.name()),
            path: ENDPOINT,
            body: p.to_json().into_bytes(),
            expect: "12",
        });
    }

    // Wrong JSON types for every documented field, signed over their text
    // (`lang` is not read on the seed's service: see `preorder_code`).
    let now = vmp_now();
    for (field, _) in PREORDER_FIELDS.into_iter().filter(|(f, _)| *f != "lang") {
        let mut types: Vec<(&str, String)> = vec![
            ("number", "1".to_owned()),
            ("float", "0.02".to_owned()),
            ("bool", "true".to_owned()),
            ("array", format!("[{}]", json_str("x"))),
            ("object", r#"{"a":"b"}"#.to_owned()),
            ("nested array", "[[[[\"ALIPAYHK\"]]]]".to_owned()),
        ];
        if field == "time" {
            types.push(("number that is the current time", now.clone()));
        }
        for (what, raw) in types {
            let p = seed(&mut n);
            let body = signed_raw(app, &with_raw(&p, field, &raw), Auth::Signed);
            let body = if field == "sign" {
                with_raw(&Params::from_json(&body).unwrap(), "sign", &raw).into_bytes()
            } else {
                body
            };
            let expect = if field == "sign" { "10" } else { "-13" };
            cases.push(Case { name: format!("place order: {field} as {what}"), path: ENDPOINT, body, expect });
        }
        // null is "not sent": refused only where the field is required.
        if preorder_code(field, "").is_some() {
            let p = seed(&mut n);
            let mut body = signed_raw(app, &with_raw(&p, field, "null"), Auth::Signed);
            if field == "sign" {
                body = with_raw(&Params::from_json(&body).unwrap(), "sign", "null").into_bytes();
            }
            cases.push(Case {
                name: format!("place order: {field} as null"),
                path: ENDPOINT,
                body,
                expect: preorder_code(field, "").unwrap(),
            });
        }
    }

    // Case-variant keys: a required field sent only under another spelling.
    for field in [
        "service",
        "user_confirm_key",
        "transaction_amount",
        "out_trade_no",
        "payType",
        "buyerType",
        "wallet",
        "subject",
        "time",
        "sign",
    ] {
        let mut first_upper = field.to_owned();
        first_upper[..1].make_ascii_uppercase();
        for variant in [field.to_uppercase(), first_upper, field.to_lowercase()] {
            if variant == field {
                continue;
            }
            let mut p = seed(&mut n);
            let value = p.remove(field).unwrap().as_str().to_owned();
            let body = if field == "sign" {
                app.sign(&mut p);
                let good = p.remove("sign").unwrap().as_str().to_owned();
                p.set(&variant, good);
                p.to_json().into_bytes()
            } else {
                p.set(&variant, value);
                app.sign(&mut p);
                p.to_json().into_bytes()
            };
            let expect = if field == "sign" { "10" } else { "-13" };
            cases.push(Case { name: format!("place order: {field} only as {variant}"), path: ENDPOINT, body, expect });
        }
    }
    // Case-variant duplicate keys: the real key wrong, its variant right.
    for (field, wrong, expect) in [
        ("payType", "alipay", "20"),
        ("wallet", "alipayhk", "-16"),
        ("pay_scene", "wap", "02"),
        ("fee_type", "hkd", "-24"),
        ("service", "Service.Alipay.Wap.PreOrder", "-13"),
        ("transaction_amount", "0", "09"),
    ] {
        let mut p = seed(&mut n);
        let right = p.get(field).unwrap_or("HKD").to_owned();
        p.set(field, wrong).set(field.to_uppercase(), right);
        app.sign(&mut p);
        cases.push(Case {
            name: format!("place order: {field} = {wrong:?} next to {} = the right value", field.to_uppercase()),
            path: ENDPOINT,
            body: p.to_json().into_bytes(),
            expect,
        });
    }

    // Exact duplicate keys, same and different value (signature irrelevant:
    // the body is refused first).
    let p = seed(&mut n);
    let text = p.to_json();
    for (k, v) in p.iter() {
        for (what, dup) in [("same value", json_str(v.as_str())), ("other value", json_str("other"))] {
            let body = format!("{},{}:{dup}}}", &text[..text.len() - 1], json_str(k));
            cases.push(Case {
                name: format!("place order: {k} twice ({what})"),
                path: ENDPOINT,
                body: body.into_bytes(),
                expect: "-13",
            });
        }
    }

    // Deep nesting.
    let deep = |depth: usize, open: &str, close: &str| format!("{}1{}", open.repeat(depth), close.repeat(depth));
    for (what, field, raw) in [
        ("1000 nested arrays in an extra key", "extra", deep(1000, "[", "]")),
        ("1000 nested objects in an extra key", "extra", deep(1000, "{\"a\":", "}")),
        ("1000 nested arrays in subject", "subject", deep(1000, "[", "]")),
        ("1000 nested objects in transaction_amount", "transaction_amount", deep(1000, "{\"a\":", "}")),
    ] {
        let p = seed(&mut n);
        cases.push(Case {
            name: format!("place order: {what}"),
            path: ENDPOINT,
            body: with_raw(&p, field, &raw).into_bytes(),
            expect: "-13",
        });
    }
    for (what, field, raw, expect, auth) in [
        ("100 nested arrays in subject", "subject", deep(100, "[", "]"), "-13", Auth::Signed),
        ("100 nested objects in body", "body", deep(100, "{\"a\":", "}"), "-13", Auth::Signed),
        ("100 nested arrays in an extra key", "extra", deep(100, "[", "]"), "10", Auth::Forged),
    ] {
        let p = seed(&mut n);
        cases.push(Case {
            name: format!("place order: {what} ({})", auth.name()),
            path: ENDPOINT,
            body: signed_raw(app, &with_raw(&p, field, &raw), auth),
            expect,
        });
    }
    let top = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    cases.push(Case {
        name: "place order: 1000 nested arrays".into(),
        path: ENDPOINT,
        body: top.into_bytes(),
        expect: "-13",
    });

    // 2000 extra keys: accepted as extra parameters, so combined with a
    // zero amount (signed) or a forged signature.
    for (what, expect, auth) in [("and a zero amount", "09", Auth::Signed), ("forged", "10", Auth::Forged)] {
        let mut p = seed(&mut n);
        for i in 0..2000 {
            p.set(format!("extra_{i:04}"), format!("<i>{i}'"));
        }
        if auth == Auth::Signed {
            p.set("transaction_amount", "0");
        }
        authenticate(app, &mut p, auth);
        assert!(p.to_json().len() < BODY_LIMIT, "2000 extra keys fit the body limit");
        cases.push(Case {
            name: format!("place order: 2000 extra keys {what}"),
            path: ENDPOINT,
            body: p.to_json().into_bytes(),
            expect,
        });
    }

    // Invalid UTF-8 in a value and in a key, and UTF-16.
    let mut p = seed(&mut n);
    p.set("subject", "@@SUBJECT@@").set("@@KEY@@", "x");
    let text = p.to_json();
    for (what, bytes) in [
        ("0xFF", &b"\xff"[..]),
        ("overlong '/'", b"\xc0\xaf"),
        ("UTF-16 surrogate", b"\xed\xa0\x80"),
        ("truncated sequence", b"\xe4\xb8"),
        ("above U+10FFFF", b"\xf4\x90\x80\x80"),
        ("lone continuation byte", b"\x80"),
    ] {
        for marker in ["@@SUBJECT@@", "@@KEY@@"] {
            cases.push(Case {
                name: format!(
                    "place order: invalid UTF-8 ({what}) in {}",
                    if marker == "@@KEY@@" { "a key" } else { "subject" }
                ),
                path: ENDPOINT,
                body: splice(&text, marker, bytes),
                expect: "-13",
            });
        }
    }
    for (what, escape) in [("lone high surrogate escape", r"\ud800"), ("lone low surrogate escape", r"\udc00x")] {
        cases.push(Case {
            name: format!("place order: {what} in subject"),
            path: ENDPOINT,
            body: text.replace("@@SUBJECT@@", escape).into_bytes(),
            expect: "-13",
        });
    }
    let utf16: Vec<u8> =
        [0xFF, 0xFE].into_iter().chain(seed(&mut n).to_json().encode_utf16().flat_map(u16::to_le_bytes)).collect();
    cases.push(Case { name: "place order: UTF-16LE body".into(), path: ENDPOINT, body: utf16, expect: "-13" });

    // Bodies over 64 KiB.
    for (what, field) in [("1 MB subject", "subject"), ("1 MB extra key", "extra")] {
        let mut p = seed(&mut n);
        p.set(field, "x".repeat(1 << 20));
        app.sign(&mut p);
        cases.push(Case {
            name: format!("place order: {what} (signed)"),
            path: ENDPOINT,
            body: p.to_json().into_bytes(),
            expect: "-13",
        });
    }
    let mut padded = seed(&mut n).to_json().into_bytes();
    padded.resize(BODY_LIMIT + 1, b' ');
    cases.push(Case {
        name: "place order: valid request padded with spaces to 64 KiB + 1".into(),
        path: ENDPOINT,
        body: padded,
        expect: "-13",
    });

    // Not a JSON object at all.
    let good = seed(&mut n).to_json();
    let form = "service=service.alipay.wap.PreOrder&user_confirm_key=x&transaction_amount=1";
    for (what, body) in [
        ("empty body", String::new()),
        ("whitespace body", " \r\n\t ".to_owned()),
        ("byte-order mark only", "\u{feff}".to_owned()),
        ("NUL body", "\u{0}".to_owned()),
        ("empty array", "[]".to_owned()),
        ("request inside an array", format!("[{good}]")),
        ("string", json_str(&good)),
        ("number", "42".to_owned()),
        ("huge number", "1e999".to_owned()),
        ("true", "true".to_owned()),
        ("null", "null".to_owned()),
        ("truncated", good[..good.len() - 1].to_owned()),
        ("trailing comma", format!("{},}}", &good[..good.len() - 1])),
        ("trailing garbage", format!("{good} x")),
        ("two objects", format!("{good}{good}")),
        ("comment", format!("/* hi */{good}")),
        ("single quotes", good.replace('"', "'")),
        ("unquoted key", format!("{{service:1,{}", &good[1..])),
        ("NaN value", format!("{},\"x\":NaN}}", &good[..good.len() - 1])),
        ("form-urlencoded", form.to_owned()),
        ("XML", "<?xml version=\"1.0\"?><request><service>x</service></request>".to_owned()),
        ("SQL", "'; DROP TABLE orders; --".to_owned()),
        ("HTML", "<html><script>alert(1)</script></html>".to_owned()),
    ] {
        cases.push(Case {
            name: format!("place order: {what}"),
            path: ENDPOINT,
            body: body.into_bytes(),
            expect: "-13",
        });
    }
    (cases, legal)
}

// ------------------------------------------------------------ after the sale

/// How README's rules judge one after-sale field, for a request about an
/// order that exists (`PAID` or `PENDING`).
#[derive(Clone, Copy)]
enum OpsRule {
    /// Names the order; a well-formed value names no order: `missing`.
    TradeRef { max: usize, missing: &'static str },
    /// Printable ASCII without spaces, at most 28; a well-formed value is
    /// `otherwise` (`None`: the request would succeed, so it is only forged).
    Token { otherwise: Option<&'static str> },
    /// Must be the order's: too long or control characters `-13`, else `code`.
    OrdersValue { code: &'static str },
    /// A text field the rules allow up to `max` characters.
    Text { max: usize },
    /// An amount: malformed `-13`, zero `09`, else allowed.
    Amount,
    /// Always refused with `code` (no hostile value is valid).
    Always(&'static str),
}

impl OpsRule {
    fn code(self, v: &str) -> Option<&'static str> {
        let control_or_long = |max: usize| v.chars().count() > max || v.chars().any(char::is_control);
        match self {
            OpsRule::TradeRef { max, missing } => {
                if control_or_long(max) || !v.chars().all(|c| c.is_ascii_graphic()) {
                    Some("-13")
                } else {
                    Some(missing)
                }
            }
            OpsRule::Token { otherwise } => match text_rule(v, 28, true, true) {
                Some(code) => Some(code),
                None => otherwise,
            },
            OpsRule::OrdersValue { code } => Some(if control_or_long(20) { "-13" } else { code }),
            OpsRule::Text { max } => text_rule(v, max, false, false),
            OpsRule::Amount => match amount_cents(v) {
                None => Some("-13"),
                Some(0) => Some("09"),
                Some(_) => None,
            },
            OpsRule::Always(code) => Some(code),
        }
    }
}

struct OpsGroup {
    name: &'static str,
    path: &'static str,
    base: Vec<(&'static str, String)>,
    fields: Vec<(&'static str, OpsRule)>,
}

fn ops_groups(paid: &str, pending: &str) -> Vec<OpsGroup> {
    let s = |v: &str| v.to_owned();
    let query_fields = vec![
        ("querytype", OpsRule::Always("-13")),
        ("out_trade_no", OpsRule::TradeRef { max: 28, missing: "05" }),
        ("eft_trade_no", OpsRule::TradeRef { max: 28, missing: "05" }),
        ("refund_no", OpsRule::Token { otherwise: Some("05") }),
        ("user_confirm_key", OpsRule::Always("-13")),
        ("time", OpsRule::Always("-13")),
        ("sign", OpsRule::Always("10")),
    ];
    vec![
        OpsGroup {
            name: "refund",
            path: ENDPOINT,
            base: vec![
                ("service", s("service.alipay.wap.Refund")),
                ("out_trade_no", s(paid)),
                ("out_refund_no", s("HOSTILE-R1")),
                ("return_amount", s("1.00")),
                ("total_fee", s("10.00")),
                ("wallet", s("ALIPAYHK")),
                ("payType", s("Alipay")),
                ("buyerType", s("others")),
                ("reason", s("returned")),
            ],
            fields: vec![
                ("service", OpsRule::Always("-13")),
                ("out_trade_no", OpsRule::TradeRef { max: 28, missing: "31" }),
                ("eft_trade_no", OpsRule::TradeRef { max: 28, missing: "31" }),
                ("out_refund_no", OpsRule::Token { otherwise: None }),
                ("return_amount", OpsRule::Amount),
                // Malformed, zero, or not the order's amount.
                ("total_fee", OpsRule::Always("-13")),
                ("wallet", OpsRule::OrdersValue { code: "-16" }),
                ("payType", OpsRule::OrdersValue { code: "20" }),
                ("buyerType", OpsRule::Text { max: 7 }),
                ("reason", OpsRule::Text { max: 256 }),
                ("notify_url", OpsRule::Always("-13")),
                ("user_confirm_key", OpsRule::Always("-13")),
                ("time", OpsRule::Always("-13")),
                ("sign", OpsRule::Always("10")),
            ],
        },
        OpsGroup {
            name: "QRcodeTradeQuery.do",
            path: QUERY_ENDPOINT,
            base: vec![("querytype", s("OUT_TRADE")), ("out_trade_no", s(paid))],
            fields: query_fields.clone(),
        },
        OpsGroup {
            name: "service.common.Query",
            path: ENDPOINT,
            base: vec![
                ("service", s("service.common.Query")),
                ("querytype", s("OUT_TRADE")),
                ("out_trade_no", s(paid)),
            ],
            fields: query_fields,
        },
        OpsGroup {
            name: "refund status",
            path: ENDPOINT,
            base: vec![
                ("service", s("service.unified.RefundStatusQuery")),
                ("querytype", s("OUT_TRADE")),
                ("out_trade_no", s(paid)),
                ("refund_no", s("HOSTILE-R1")),
            ],
            fields: vec![
                ("querytype", OpsRule::Always("-13")),
                ("out_trade_no", OpsRule::TradeRef { max: 28, missing: "05" }),
                ("refund_no", OpsRule::Token { otherwise: Some("05") }),
            ],
        },
        OpsGroup {
            name: "close",
            path: ENDPOINT,
            base: vec![
                ("service", s("service.alipay.wap.Close")),
                ("out_trade_no", s(pending)),
                ("wallet", s("ALIPAYHK")),
            ],
            fields: vec![
                ("service", OpsRule::Always("-13")),
                ("out_trade_no", OpsRule::TradeRef { max: 28, missing: "05" }),
                ("eft_trade_no", OpsRule::TradeRef { max: 28, missing: "05" }),
                ("wallet", OpsRule::OrdersValue { code: "-16" }),
                ("user_confirm_key", OpsRule::Always("-13")),
                ("sign", OpsRule::Always("10")),
            ],
        },
    ]
    .into_iter()
    .chain(scene_groups(paid, pending))
    .collect()
}

/// The qrcode and cashier scenes (README "qrcode at the till", "cashier"):
/// their sales (nothing may be stored) and the qrcode scene's after-sale
/// requests about the same two orders (refunds find orders by family, so
/// the Alipay qrcode services take the Alipay wap orders).
fn scene_groups(paid: &str, pending: &str) -> Vec<OpsGroup> {
    let s = |v: &str| v.to_owned();
    let lower_wallet = || {
        vec![
            ("payment_type", OpsRule::OrdersValue { code: "-16" }),
            ("paytype", OpsRule::OrdersValue { code: "20" }),
            ("user_confirm_key", OpsRule::Always("-13")),
            ("time", OpsRule::Always("-13")),
            ("sign", OpsRule::Always("10")),
        ]
    };
    let with = |mut fields: Vec<(&'static str, OpsRule)>| {
        fields.extend(lower_wallet());
        fields
    };
    vec![
        OpsGroup {
            name: "qrcode sale",
            path: ENDPOINT,
            base: vec![
                ("service", s("service.alipay.qrcode.PreOrder")),
                ("transaction_amount", s("1.00")),
                ("out_trade_no", s("HOSTILE-QR-SALE")),
                ("paytype", s("Alipay")),
                ("payment_type", s("ALIPAYHK")),
                ("buyertype", s("others")),
                ("subject", s("POS Transaction")),
                ("tid", s("T0001")),
            ],
            fields: vec![
                ("service", OpsRule::Always("-13")),
                ("transaction_amount", OpsRule::Amount),
                ("out_trade_no", OpsRule::Token { otherwise: None }),
                // Any value but the service's own is refused, as on the web scene.
                ("paytype", OpsRule::Always("20")),
                ("payment_type", OpsRule::Always("-16")),
                ("buyertype", OpsRule::Text { max: 7 }),
                ("subject", OpsRule::Text { max: 256 }),
                ("tid", OpsRule::Text { max: 20 }),
                // No hostile value is an absolute URL or a path starting with `/`.
                ("notify_url", OpsRule::Always("-13")),
                ("fee_type", OpsRule::Always("-24")),
                ("active_time", OpsRule::Always("-13")),
                ("user_confirm_key", OpsRule::Always("-13")),
                ("sign", OpsRule::Always("10")),
            ],
        },
        OpsGroup {
            name: "cashier sale",
            path: ENDPOINT,
            base: vec![
                ("service", s("service.united.wap.PreOrder")),
                ("transaction_amount", s("1.00")),
                ("out_trade_no", s("HOSTILE-CASHIER")),
                ("buyerType", s("android")),
                ("subject", s("Testing")),
                ("pay_scene", s("WAP")),
            ],
            fields: vec![
                ("service", OpsRule::Always("-13")),
                ("transaction_amount", OpsRule::Amount),
                ("out_trade_no", OpsRule::Token { otherwise: None }),
                ("buyerType", OpsRule::Text { max: 7 }),
                ("subject", OpsRule::Text { max: 256 }),
                ("body", OpsRule::Text { max: 128 }),
                ("pay_scene", OpsRule::Always("02")),
                ("fee_type", OpsRule::Always("-24")),
                ("tid", OpsRule::Text { max: 20 }),
                ("notify_url", OpsRule::Always("-13")),
                ("return_url", OpsRule::Always("-13")),
                ("active_time", OpsRule::Always("-13")),
                ("user_confirm_key", OpsRule::Always("-13")),
                ("sign", OpsRule::Always("10")),
            ],
        },
        OpsGroup {
            name: "qrcode refund",
            path: ENDPOINT,
            base: vec![
                ("service", s("service.alipay.qrcode.Refund")),
                ("out_trade_no", s(paid)),
                ("refund_no", s("HOSTILE-QR1")),
                ("transaction_amount", s("1.00")),
                ("paytype", s("Alipay")),
                ("payment_type", s("ALIPAYHK")),
                ("buyertype", s("others")),
            ],
            fields: with(vec![
                ("service", OpsRule::Always("-13")),
                ("out_trade_no", OpsRule::TradeRef { max: 28, missing: "31" }),
                ("eftpay_trade_no", OpsRule::TradeRef { max: 28, missing: "31" }),
                ("eft_trade_no", OpsRule::TradeRef { max: 28, missing: "31" }),
                ("refund_no", OpsRule::Token { otherwise: None }),
                ("transaction_amount", OpsRule::Amount),
                ("buyertype", OpsRule::Text { max: 7 }),
            ]),
        },
        OpsGroup {
            name: "qrcode query",
            path: ENDPOINT,
            base: vec![
                ("service", s("service.alipay.qrcode.Query")),
                ("querytype", s("OUT_TRADE")),
                ("out_trade_no", s(paid)),
            ],
            fields: with(vec![
                ("querytype", OpsRule::Always("-13")),
                ("out_trade_no", OpsRule::TradeRef { max: 28, missing: "05" }),
                ("eftpay_trade_no", OpsRule::TradeRef { max: 28, missing: "05" }),
                ("refund_no", OpsRule::Token { otherwise: Some("05") }),
            ]),
        },
        OpsGroup {
            name: "qrcode close",
            path: ENDPOINT,
            base: vec![("service", s("service.alipay.qrcode.Close")), ("out_trade_no", s(pending))],
            fields: with(vec![
                ("service", OpsRule::Always("-13")),
                ("out_trade_no", OpsRule::TradeRef { max: 28, missing: "05" }),
                ("eftpay_trade_no", OpsRule::TradeRef { max: 28, missing: "05" }),
            ]),
        },
        OpsGroup {
            name: "QRcodeTradeCancel.do",
            path: CANCEL_ENDPOINT,
            base: vec![("out_trade_no", s(paid)), ("paytype", s("Alipay")), ("payment_type", s("ALIPAYHK"))],
            fields: with(vec![
                ("out_trade_no", OpsRule::TradeRef { max: 28, missing: "31" }),
                ("eftpay_trade_no", OpsRule::TradeRef { max: 28, missing: "31" }),
                ("eft_trade_no", OpsRule::TradeRef { max: 28, missing: "31" }),
            ]),
        },
    ]
}

fn ops_request(app: &TestApp, base: &[(&'static str, String)]) -> Params {
    let mut p = Params::new().with("user_confirm_key", &app.key);
    for (k, v) in base {
        p.set(*k, v);
    }
    p.set("time", vmp_now());
    p
}

/// After-sale requests about `paid` (a paid order) and `pending` (an unpaid
/// one); with the `out_refund_no`s they use.
fn ops_corpus(app: &TestApp, paid: &str, pending: &str) -> (Vec<Case>, Vec<String>) {
    let mut cases = Vec::new();
    let mut refund_nos = vec!["HOSTILE-R1".to_owned()];
    for group in ops_groups(paid, pending) {
        for (field, rule) in &group.fields {
            for (what, value) in hostile_values(28) {
                for auth in [Auth::Signed, Auth::Forged] {
                    let expect = match auth {
                        Auth::Signed => rule.code(&value),
                        Auth::Forged => Some(forged_code(field)),
                    };
                    // Allowed values would succeed when signed: forged only.
                    let Some(expect) = expect else { continue };
                    let mut p = ops_request(app, &group.base);
                    if *field == "sign" {
                        authenticate(app, &mut p, auth);
                        p.set("sign", &value);
                    } else {
                        p.set(*field, &value);
                        authenticate(app, &mut p, auth);
                    }
                    if *field == "out_refund_no" || *field == "refund_no" {
                        refund_nos.push(value.clone());
                    }
                    cases.push(Case {
                        name: format!("{}: {field} = {what} ({})", group.name, auth.name()),
                        path: group.path,
                        body: p.to_json().into_bytes(),
                        expect,
                    });
                }
            }
        }
        // Structure: a reference sent as a non-string, repeated, or only
        // under a case variant; a nested reference.
        let base = ops_request(app, &group.base);
        let first = group.base.iter().find(|(k, _)| *k != "service").map(|(k, _)| *k).unwrap_or("out_trade_no");
        for (what, raw) in [("number", "1"), ("array", "[\"x\"]"), ("object", "{\"out_trade_no\":\"x\"}")] {
            cases.push(Case {
                name: format!("{}: {first} as {what}", group.name),
                path: group.path,
                body: signed_raw(app, &with_raw(&base, first, raw), Auth::Signed),
                expect: "-13",
            });
        }
        let mut signed = base.clone();
        app.sign(&mut signed);
        let text = signed.to_json();
        cases.push(Case {
            name: format!("{}: out_trade_no twice", group.name),
            path: group.path,
            body: format!("{},\"out_trade_no\":\"x\"}}", &text[..text.len() - 1]).into_bytes(),
            expect: "-13",
        });
        cases.push(Case {
            name: format!("{}: 1000 nested arrays in {first}", group.name),
            path: group.path,
            body: with_raw(&base, first, &format!("{}{}", "[".repeat(1000), "]".repeat(1000))).into_bytes(),
            expect: "-13",
        });
        let mut upper = base.clone();
        let value = upper.remove("out_trade_no").unwrap().as_str().to_owned();
        upper.set("OUT_TRADE_NO", value);
        app.sign(&mut upper);
        cases.push(Case {
            name: format!("{}: out_trade_no only as OUT_TRADE_NO", group.name),
            path: group.path,
            body: upper.to_json().into_bytes(),
            expect: "-13",
        });
        let mut big = base.clone();
        big.set("reason", "x".repeat(1 << 20));
        app.sign(&mut big);
        cases.push(Case {
            name: format!("{}: 1 MB body", group.name),
            path: group.path,
            body: big.to_json().into_bytes(),
            expect: "-13",
        });
    }
    // Refund amounts and a refund of the unpaid order.
    for (what, amount, expect) in [("over the order amount", "10.01", "18"), ("zero", "0.00", "09")] {
        let mut p = ops_request(
            app,
            &[
                ("service", "service.alipay.wap.Refund".into()),
                ("out_trade_no", paid.into()),
                ("out_refund_no", "HOSTILE-R2".into()),
                ("return_amount", amount.into()),
                ("wallet", "ALIPAYHK".into()),
            ],
        );
        app.sign(&mut p);
        cases.push(Case {
            name: format!("refund: amount {what}"),
            path: ENDPOINT,
            body: p.to_json().into_bytes(),
            expect,
        });
    }
    refund_nos.push("HOSTILE-R2".into());
    for body in ["", "[]", "null"] {
        cases.push(Case {
            name: format!("QRcodeTradeQuery.do: body {body:?}"),
            path: QUERY_ENDPOINT,
            body: body.as_bytes().to_vec(),
            expect: "-13",
        });
    }
    (cases, refund_nos)
}

// ------------------------------------------------------------ running

/// Sends every case; returns one line per answer that breaks the contract.
async fn run(app: &TestApp, cases: &[Case]) -> Vec<String> {
    let mut problems = Vec::new();
    for case in cases {
        let resp = app.client.post(format!("{}{}", app.base, case.path)).body(case.body.clone()).send().await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{}: no answer ({e})", case.name));
                continue;
            }
        };
        let status = resp.status().as_u16();
        let content_type =
            resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let bytes = resp.bytes().await.unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let short: String = text.chars().take(300).collect();
        if status != 200 {
            problems.push(format!("{}: HTTP {status}: {short}", case.name));
            continue;
        }
        if !content_type.starts_with("application/json") {
            problems.push(format!("{}: content-type {content_type:?}", case.name));
        }
        let Ok(answer) = Params::from_json(&bytes) else {
            problems.push(format!("{}: answer is not a JSON object: {short}", case.name));
            continue;
        };
        let code = answer.get("return_status").unwrap_or_default();
        let return_char = answer.get("return_char").unwrap_or_default();
        let mut wrong = Vec::new();
        if !README_CODES.contains(&code) {
            wrong.push(format!("undocumented code {code:?}"));
        }
        if code != case.expect {
            wrong.push(format!("expected {}", case.expect));
        }
        if return_char.is_empty() || return_char.chars().count() > 100 {
            wrong.push(format!("return_char has {} characters", return_char.chars().count()));
        }
        if code.starts_with('-') {
            if answer.contains("sign") {
                wrong.push("a negative code is signed".into());
            }
        } else if sign::verify(&app.secret, &answer).is_err() || !answer.contains("time") {
            wrong.push("a code >= 00 is not signed with the merchant's secret".into());
        }
        if !wrong.is_empty() {
            problems.push(format!("{}: {} — answer {}", case.name, wrong.join(", "), answer.to_json()));
        }
    }
    problems
}

fn report(problems: &[String], total: usize) {
    assert!(
        problems.is_empty(),
        "{} of {total} hostile requests were answered wrongly:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// After the corpus, an ordinary order is still accepted and signed.
async fn gateway_still_serves(app: &TestApp, out_trade_no: &str) {
    let answer = app.post(&app.seed_request(out_trade_no)).await;
    assert_eq!(answer.get("return_status"), Some("00"), "{}", answer.to_json());
    assert_signed(&answer, &app.secret);
}

#[tokio::test]
async fn hostile_place_order_requests_get_their_documented_code_and_store_nothing() {
    let app = spawn_app().await;
    let (cases, _) = preorder_corpus(&app);
    assert!(cases.len() >= 200, "the corpus has only {} requests", cases.len());

    let problems = run(&app, &cases).await;

    report(&problems, cases.len());
    assert_eq!(app.order_count().await, 0, "a hostile request stored an order");
    gateway_still_serves(&app, "AFTER-THE-CORPUS").await;
    assert_eq!(app.order_count().await, 1);
}

#[tokio::test]
async fn hostile_after_sale_requests_get_their_documented_code_and_change_nothing() {
    let app = spawn_app().await;
    // A paid order to refund and query, an unpaid one to close.
    let mut paid = app.seed_request("HOSTILE-PAID");
    paid.set("transaction_amount", "10.00");
    app.sign(&mut paid);
    let answer = app.post(&paid).await;
    assert_eq!(answer.get("return_status"), Some("00"), "{}", answer.to_json());
    let eft = answer.get("eft_trade_no").unwrap().to_owned();
    let settled = app.client.post(format!("{}/sandbox/orders/{eft}/pay", app.base)).body(r#"{"outcome":"success"}"#);
    let settled: serde_json::Value =
        settled.header("content-type", "application/json").send().await.unwrap().json().await.unwrap();
    assert_eq!(settled["trade_status"], "TRADE_SUCCESS");
    assert_eq!(app.post(&app.seed_request("HOSTILE-PENDING")).await.get("return_status"), Some("00"));
    let (cases, refund_nos) = ops_corpus(&app, "HOSTILE-PAID", "HOSTILE-PENDING");
    assert!(cases.len() >= 200, "the corpus has only {} requests", cases.len());

    let problems = run(&app, &cases).await;

    report(&problems, cases.len());
    let store = app.state.store();
    assert_eq!(app.order_count().await, 2, "a hostile request stored an order");
    assert_eq!(store.refunds_total(&eft).await.unwrap(), 0, "a hostile request refunded");
    for no in &refund_nos {
        assert!(store.refund_by_out_refund_no(&app.key, no).await.unwrap().is_none(), "refund {no:?} was stored");
    }
    let paid = store.order_by_out_trade_no(&app.key, "HOSTILE-PAID").await.unwrap().unwrap();
    assert_eq!((paid.state.as_str(), paid.refunded_minor), ("TRADE_SUCCESS", 0));
    let pending = store.order_by_out_trade_no(&app.key, "HOSTILE-PENDING").await.unwrap().unwrap();
    assert_eq!(pending.state, "PENDING", "a hostile close closed the order");
    gateway_still_serves(&app, "AFTER-THE-CORPUS").await;
}

#[tokio::test]
async fn hostile_text_the_rules_allow_is_stored_echoed_and_escaped_verbatim() {
    let app = spawn_app().await;
    let (_, mut legal) = preorder_corpus(&app);
    // Characters that mean something in the pay link's query string.
    for v in ["A&outTradeNo=B", "A#frag", "A%26B", "A+B", "A?sign=0", "<b>x</b>"] {
        legal.push(Legal { field: "out_trade_no", value: v.to_owned() });
    }
    legal.retain(|l| !["transaction_amount", "pay_scene", "fee_type", "payType", "wallet"].contains(&l.field));
    let fields: std::collections::BTreeSet<&str> = legal.iter().map(|l| l.field).collect();
    for want in ["subject", "body", "tid", "out_trade_no", "scheme", "packageName", "app_link"] {
        assert!(fields.contains(want), "no allowed hostile value for {want}");
    }

    for (i, Legal { field, value }) in legal.iter().enumerate() {
        let out = if *field == "out_trade_no" { value.clone() } else { format!("LEGAL-{i}") };
        let mut p = app.seed_request(&out);
        p.set(*field, value);
        app.sign(&mut p);
        let answer = app.post(&p).await;
        assert_eq!(answer.get("return_status"), Some("00"), "{field} = {value:?}: {}", answer.to_json());
        assert_signed(&answer, &app.secret);
        assert_eq!(answer.get("out_trade_no"), Some(out.as_str()));
        if ["buyerType", "tid"].contains(field) {
            assert_eq!(answer.get(field), Some(value.as_str()), "{field} echoed verbatim");
        }
        let order = app.state.store().order_by_out_trade_no(&app.key, &out).await.unwrap().unwrap();
        if *field == "lang" {
            assert_eq!(order.lang, None, "lang = {value:?} is ignored where the page has no language choice");
            continue;
        }
        let stored = match *field {
            "out_trade_no" => Some(order.out_trade_no.as_str().to_owned()),
            "buyerType" => Some(order.buyer_type.clone()),
            "subject" => Some(order.subject.clone()),
            "body" => order.body.clone(),
            "tid" => order.tid.clone(),
            "scheme" => order.scheme.clone(),
            "packageName" => order.package_name.clone(),
            "app_link" => order.app_link.clone(),
            "active_time" => Some(order.active_time.to_string()),
            other => panic!("no stored column for {other}"),
        };
        assert_eq!(stored.as_deref(), Some(value.as_str()), "{field} stored verbatim");

        let link = answer.get("pay_apptrade").unwrap();
        let page = app.client.get(link).send().await.unwrap();
        assert_eq!(page.status().as_u16(), 200, "pay page of {field} = {value:?}: {link}");
        let html = page.text().await.unwrap();
        for raw in ["<script>alert(1)</script>", "<img src=x onerror", "<b>x</b>"] {
            assert!(!(value.contains(raw) && html.contains(raw)), "{field} = {value:?} reaches the page unescaped");
        }
    }
    assert_eq!(app.order_count().await, i64::try_from(legal.len()).unwrap());
}

#[tokio::test]
async fn hostile_pay_page_links_and_sandbox_ids_are_simply_not_found() {
    let app = spawn_app().await;
    let answer = app.post(&app.seed_request("HOSTILE-LINK")).await;
    assert_eq!(answer.get("return_status"), Some("00"), "{}", answer.to_json());
    let eft = answer.get("eft_trade_no").unwrap().to_owned();
    let link = url::Url::parse(answer.get("pay_apptrade").unwrap()).unwrap();
    let good: std::collections::HashMap<String, String> = link.query_pairs().into_owned().collect();
    let mut problems = Vec::new();
    for (what, value) in hostile_values(28) {
        for param in ["userkey", "outTradeNo", "sign"] {
            let mut url = link.clone();
            url.query_pairs_mut().clear();
            for name in ["userkey", "outTradeNo", "sign"] {
                url.query_pairs_mut().append_pair(name, if name == param { &value } else { &good[name] });
            }
            let status = app.client.get(url.as_str()).send().await.unwrap().status().as_u16();
            if status != 404 {
                problems.push(format!("pay page with {param} = {what}: HTTP {status}"));
            }
        }
        let mut url = url::Url::parse(&app.base).unwrap();
        url.path_segments_mut().unwrap().extend(["sandbox", "orders", &value, "pay"]);
        let resp = app.client.post(url.as_str()).header("content-type", "application/json");
        let status = resp.body(r#"{"outcome":"success"}"#).send().await.unwrap().status().as_u16();
        if status != 404 {
            problems.push(format!("sandbox pay of eft_trade_no = {what}: HTTP {status}"));
        }
    }
    assert!(problems.is_empty(), "hostile links answered other than 404:\n{}", problems.join("\n"));
    let order = app.state.store().order_by_eft_trade_no(&eft).await.unwrap().unwrap();
    assert_eq!(order.state, "PENDING", "a hostile link changed the order");
}

// ------------------------------------------------------------ jsapi and app sales

const APP_ENDPOINT: &str = "/VMP/Servlet/AppTradePay.do";

/// The jsapi sale's fields (docs/protocol.md "The jsapi scene") with their
/// length: the Tornado shop's sale plus every optional field.
const JSAPI_FIELDS: [(&str, usize); 20] = [
    ("transaction_amount", 8),
    ("out_trade_no", 28),
    ("paytype", 20),
    ("payment_type", 20),
    ("scene_type", 20),
    ("sub_openid", 128),
    ("openid", 128),
    ("buyertype", 7),
    ("subject", 256),
    ("tid", 20),
    ("fee_type", 3),
    ("notify_url", 240),
    ("return_url", 240),
    ("active_time", 7),
    ("receipt", 1),
    ("goods_tag", 32),
    ("detail", 6000),
    ("scene_info", 256),
    ("lang", 2),
    ("father_user_key", 12),
];

/// The Tornado mini-program shop's sale, for this app's merchant, unsigned.
fn jsapi_seed(app: &TestApp, out: &str) -> Params {
    let mut p = Params::from_json(
        br#"{"service":"service.wechat.jsapi.PreOrder","paytype":"WeChat","sub_openid":"oAbC-miniprogram-openid",
        "transaction_amount":"12.5","payment_type":"WECHATHK","scene_type":"APPLETS","fee_type":"HKD"}"#,
    )
    .unwrap();
    p.set("user_confirm_key", &app.key).set("out_trade_no", out).set("time", vmp_now());
    p
}

/// RSM's app sale (`AppTradePay.do`, no `service`), unsigned.
fn app_seed(app: &TestApp, out: &str) -> Params {
    let mut p = Params::from_json(
        br#"{"body":"Testing","buyerType":"android","fee_type":"HKD","payType":"WeChat","pay_scene":"APP",
        "subject":"Testing","tid":"123456","transaction_amount":"0.10","wallet":"WECHATHK"}"#,
    )
    .unwrap();
    p.set("user_confirm_key", &app.key).set("out_trade_no", out).set("time", vmp_now());
    p
}

/// A code list of the lowercase family: empty `-13` (required), malformed
/// text (control characters, over 20) `-13`, another value `code`.
fn code_list(v: &str, allowed: &[&str], code: &'static str) -> Option<&'static str> {
    if v.is_empty() || v.chars().count() > 20 || v.chars().any(char::is_control) {
        return Some("-13");
    }
    (!allowed.contains(&v)).then_some(code)
}

/// The code the rules give the jsapi seed with `field` set to `v`.
fn jsapi_code(field: &str, v: &str) -> Option<&'static str> {
    match field {
        "transaction_amount" | "out_trade_no" | "tid" | "subject" | "fee_type" | "notify_url" | "return_url"
        | "active_time" => preorder_code(field, v),
        "paytype" => code_list(v, &["WeChat"], "20"),
        "payment_type" => code_list(v, &["WECHATCN", "WECHATHK"], "-16"),
        // PUBLIC would need an openid, so only the seed's and H5 pass.
        "scene_type" => one_of(v, &["APPLETS", "H5"], "-13", true),
        "sub_openid" => text_rule(v, 128, true, true),
        "openid" => text_rule(v, 128, true, false),
        "buyertype" => text_rule(v, 7, false, false),
        "goods_tag" => text_rule(v, 32, false, false),
        "receipt" => one_of(v, &["Y"], "-13", false),
        // No hostile value is a JSON object.
        "detail" | "scene_info" => (!v.is_empty()).then_some("-13"),
        "lang" | "father_user_key" => None,
        other => unreachable!("no rule for {other}"),
    }
}

/// The code the rules give the app seed with `field` set to `v`.
fn app_code(field: &str, v: &str) -> Option<&'static str> {
    match field {
        "payType" => one_of(v, &["Alipay", "WeChat"], "20", true),
        "wallet" => one_of(v, &["ALIPAYCN", "ALIPAYHK", "WECHATCN", "WECHATHK"], "-16", true),
        "pay_scene" => one_of(v, &["APP"], "02", false),
        // The servlet names the interface; a `service` is an extra parameter.
        "service" => None,
        other => preorder_code(other, v),
    }
}

fn scene_corpus(app: &TestApp) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut n = 0;
    type Seed = fn(&TestApp, &str) -> Params;
    type Rule = fn(&str, &str) -> Option<&'static str>;
    type Scene = (&'static str, &'static str, Seed, Rule, Vec<(&'static str, usize)>);
    let scenes: [Scene; 2] = [
        ("jsapi sale", ENDPOINT, jsapi_seed, jsapi_code, JSAPI_FIELDS.to_vec()),
        ("app sale", APP_ENDPOINT, app_seed, app_code, PREORDER_FIELDS.to_vec()),
    ];
    for (scene, path, seed, rule, fields) in scenes {
        for (field, limit) in fields {
            if ["user_confirm_key", "time", "sign"].contains(&field) {
                continue; // the envelope: Place an Order's corpus covers it
            }
            let mut values = hostile_values(limit);
            values.extend(special_values(field));
            for (what, value) in values {
                for auth in [Auth::Signed, Auth::Forged] {
                    let expect = match auth {
                        Auth::Signed => rule(field, &value),
                        Auth::Forged => Some(forged_code(field)),
                    };
                    let Some(expect) = expect else { continue };
                    n += 1;
                    let mut p = seed(app, &format!("HOSTILE-S{n}"));
                    p.set(field, &value);
                    authenticate(app, &mut p, auth);
                    cases.push(Case {
                        name: format!("{scene}: {field} = {what} ({})", auth.name()),
                        path,
                        body: p.to_json().into_bytes(),
                        expect,
                    });
                }
            }
            // Every field but the object ones and the ignored ones must be a
            // JSON string; an object field takes no number.
            let ignored = rule(field, "x\u{0}").is_none();
            for (what, raw) in [("number", "1"), ("bool", "true"), ("array", "[\"x\"]"), ("object", r#"{"a":"b"}"#)] {
                if ignored || (what == "object" && ["detail", "scene_info"].contains(&field)) {
                    continue;
                }
                n += 1;
                let p = seed(app, &format!("HOSTILE-S{n}"));
                cases.push(Case {
                    name: format!("{scene}: {field} as {what}"),
                    path,
                    body: signed_raw(app, &with_raw(&p, field, raw), Auth::Signed),
                    expect: "-13",
                });
            }
        }
    }
    cases
}

#[tokio::test]
async fn hostile_jsapi_and_app_sales_get_their_documented_code_and_store_nothing() {
    let app = spawn_app().await;
    let cases = scene_corpus(&app);
    assert!(cases.len() >= 200, "the corpus has only {} requests", cases.len());

    let problems = run(&app, &cases).await;

    report(&problems, cases.len());
    assert_eq!(app.order_count().await, 0, "a hostile request stored an order");
    let mut jsapi = jsapi_seed(&app, "AFTER-THE-SCENE-CORPUS");
    app.sign(&mut jsapi);
    assert_eq!(app.post(&jsapi).await.get("return_status"), Some("00"));
}
