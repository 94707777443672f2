//! Constrained field values, parsed at the boundary into newtypes.
//!
//! Lengths are counted in characters (eftPay's `String(n)`), not bytes,
//! so a 256-character Chinese `subject` is accepted.

use std::fmt;

/// What is wrong with one field value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    /// Longer than the field's maximum, in characters.
    #[error("at most {0} characters")]
    TooLong(usize),
    /// Present but not acceptable; the text says why.
    #[error("{0}")]
    Invalid(&'static str),
}

pub(crate) fn check_text(s: &str, max: usize) -> Result<(), FieldProblem> {
    if s.chars().count() > max {
        return Err(FieldProblem::TooLong(max));
    }
    if s.chars().any(char::is_control) {
        return Err(FieldProblem::Invalid("must not contain control characters"));
    }
    Ok(())
}

fn check_token(s: &str, max: usize) -> Result<(), FieldProblem> {
    // An empty value is "not sent" on the wire; a number or key that is
    // built must name something.
    if s.is_empty() {
        return Err(FieldProblem::Invalid("must not be empty"));
    }
    check_text(s, max)?;
    if !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FieldProblem::Invalid("printable ASCII without spaces only"));
    }
    Ok(())
}

macro_rules! text_field {
    ($(#[$meta:meta])* $name:ident, $wire:literal, $max:expr, $check:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Wire name of the field.
            pub const FIELD: &'static str = $wire;
            /// Maximum length in characters.
            pub const MAX_CHARS: usize = $max;

            /// Validates and wraps a value.
            ///
            /// # Errors
            /// [`FieldProblem`] when the value is too long or has forbidden characters.
            pub fn parse(s: &str) -> Result<Self, FieldProblem> {
                $check(s, $max)?;
                Ok(Self(s.to_owned()))
            }

            /// [`Self::parse`] of text already owned: validated, not copied.
            ///
            /// # Errors
            /// As [`Self::parse`].
            pub fn from_string(s: String) -> Result<Self, FieldProblem> {
                $check(&s, $max)?;
                Ok(Self(s))
            }

            /// The value as sent.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value as sent, moved out.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.0).finish()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

text_field!(
    /// `user_confirm_key`: the merchant's key id, `String(12)`.
    UserConfirmKey, "user_confirm_key", 12, check_token);
text_field!(
    /// `out_trade_no`: the merchant's order number, `String(28)`, unique per merchant.
    OutTradeNo, "out_trade_no", 28, check_token);
text_field!(
    /// `buyerType`: device type, `String(7)`. Echoed, not checked against a
    /// list: eftPay's own example sends `andriod`.
    BuyerType, "buyerType", 7, check_text);
text_field!(
    /// `subject`: transaction information, `String(256)`.
    Subject, "subject", 256, check_text);
text_field!(
    /// `body`: goods description, `String(128)`.
    Body, "body", 128, check_text);
text_field!(
    /// `tid`: merchant terminal number, `String(20)`.
    Tid, "tid", 20, check_text);
text_field!(
    /// `scheme`: app scheme for webview payments (UnionPay).
    AppScheme, "scheme", 128, check_token);
text_field!(
    /// `packageName`: app package name for webview payments (UnionPay).
    PackageName, "packageName", 128, check_token);
text_field!(
    /// `app_link`: where BOCPay returns after payment with `pay_scene=APP`.
    AppLink, "app_link", 240, check_token);
text_field!(
    /// `eft_trade_no` (also `eftpay_trade_no`): the gateway's order number,
    /// `String(28)`.
    EftTradeNo, "eft_trade_no", 28, check_token);
text_field!(
    /// `out_refund_no` / `refund_no`: the merchant's refund number,
    /// `String(28)`, unique per merchant.
    RefundNo, "out_refund_no", 28, check_token);
text_field!(
    /// `reason` of a refund, `String(256)` (also the jsapi scene's
    /// `refund_desc`).
    Reason, "reason", 256, check_text);

// ---- the jsapi scene (docs/protocol.md "The jsapi scene") ----
text_field!(
    /// `openid` / `sub_openid`: the buyer's id in the wallet (a WeChat
    /// official account's or mini-program's openid, the Alipay user id),
    /// at most 128 printable ASCII characters.
    OpenId, "openid", 128, check_token);
text_field!(
    /// `goods_tag`: WeChat Pay's coupon tag, `String(32)`.
    GoodsTag, "goods_tag", 32, check_text);

impl BuyerType {
    /// `ios`.
    pub fn ios() -> Self {
        Self("ios".to_owned())
    }

    /// `android`.
    pub fn android() -> Self {
        Self("android".to_owned())
    }

    /// `others`, what a client sends when it does not know.
    pub fn others() -> Self {
        Self("others".to_owned())
    }
}

/// `notify_url` / `return_url`: an absolute `http`/`https` URL, at most 240
/// characters, as sent.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpUrl {
    text: String,
    url: url::Url,
}

/// Maximum length of `notify_url` and `return_url`.
pub const URL_MAX_CHARS: usize = 240;

impl HttpUrl {
    /// Validates an absolute `http`/`https` URL with a host.
    ///
    /// # Errors
    /// [`FieldProblem`] when too long, not a URL, not http(s) or without a host.
    pub fn parse(s: &str) -> Result<Self, FieldProblem> {
        check_token(s, URL_MAX_CHARS)?;
        let url = url::Url::parse(s).map_err(|_| FieldProblem::Invalid("must be an absolute http(s) URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FieldProblem::Invalid("must be an http or https URL"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(FieldProblem::Invalid("must name a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FieldProblem::Invalid("must not carry credentials"));
        }
        Ok(Self { text: s.to_owned(), url })
    }

    /// The URL as sent.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The URL as sent, moved out.
    pub fn into_string(self) -> String {
        self.text
    }

    /// The parsed URL.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// The port, explicit or the scheme's default.
    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(0)
    }
}

impl fmt::Debug for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HttpUrl").field(&self.text).finish()
    }
}

/// `lang`: the language of the hosted page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// `cn`, Simplified Chinese.
    Cn,
    /// `en`, English.
    En,
    /// `hk`, Traditional Chinese.
    Hk,
}

impl Lang {
    /// Parses `cn`, `en` or `hk` (exact, lowercase).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "cn" => Some(Lang::Cn),
            "en" => Some(Lang::En),
            "hk" => Some(Lang::Hk),
            _ => None,
        }
    }

    /// The wire value.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Cn => "cn",
            Lang::En => "en",
            Lang::Hk => "hk",
        }
    }
}

/// Default `active_time`: 30 minutes.
pub const ACTIVE_TIME_DEFAULT: u32 = 1800;
/// Smallest accepted `active_time`, in seconds.
pub const ACTIVE_TIME_MIN: u32 = 60;
/// Largest accepted `active_time`, in seconds (7 days).
pub const ACTIVE_TIME_MAX: u32 = 7 * 24 * 3600;

/// Parses `active_time` (seconds, digits only, within the accepted range).
///
/// # Errors
/// [`FieldProblem::Invalid`] when not digits or out of range.
pub fn parse_active_time(s: &str) -> Result<u32, FieldProblem> {
    if s.is_empty() || s.len() > 7 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldProblem::Invalid("seconds, digits only"));
    }
    let v: u32 = s.parse().map_err(|_| FieldProblem::Invalid("seconds, digits only"))?;
    if !(ACTIVE_TIME_MIN..=ACTIVE_TIME_MAX).contains(&v) {
        return Err(FieldProblem::Invalid("between 60 and 604800 seconds"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters_not_bytes() {
        let chinese = "中".repeat(256);
        assert!(Subject::parse(&chinese).is_ok());
        assert_eq!(Subject::parse(&"中".repeat(257)), Err(FieldProblem::TooLong(256)));
        assert!(OutTradeNo::parse(&"a".repeat(28)).is_ok());
        assert_eq!(OutTradeNo::parse(&"a".repeat(29)), Err(FieldProblem::TooLong(28)));
        assert_eq!(UserConfirmKey::parse(&"k".repeat(13)), Err(FieldProblem::TooLong(12)));
        assert!(BuyerType::parse("andriod").is_ok());
        assert_eq!(BuyerType::parse("androids"), Err(FieldProblem::TooLong(7)));
    }

    #[test]
    fn an_empty_id_names_nothing() {
        assert_eq!(OutTradeNo::parse(""), Err(FieldProblem::Invalid("must not be empty")));
        assert!(EftTradeNo::parse("").is_err() && RefundNo::parse("").is_err());
        assert!(Subject::parse("").is_ok(), "free text may be empty (then it is not sent)");
    }

    #[test]
    fn control_characters_and_spaces_in_ids_are_refused() {
        assert!(Subject::parse("a\u{0}b").is_err());
        assert!(Subject::parse("line\nbreak").is_err());
        assert!(OutTradeNo::parse("A 1").is_err());
        assert!(OutTradeNo::parse("订单1").is_err());
        assert!(Subject::parse("<script>alert(1)</script> ' OR 1=1 --").is_ok());
    }

    #[test]
    fn urls() {
        assert!(HttpUrl::parse("https://merchant.example/notify").is_ok());
        assert_eq!(HttpUrl::parse("http://127.0.0.1:9000/n").unwrap().port(), 9000);
        assert_eq!(HttpUrl::parse("https://m.example/n").unwrap().port(), 443);
        for bad in
            ["ftp://x.example/", "/relative", "https://", "javascript:alert(1)", "https://u:p@x.example/", "notaurl"]
        {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(HttpUrl::parse(&format!("https://x.example/{}", "a".repeat(240))), Err(FieldProblem::TooLong(240)));
    }

    #[test]
    fn active_time_range() {
        assert_eq!(parse_active_time("1800"), Ok(1800));
        assert_eq!(parse_active_time("60"), Ok(60));
        for bad in ["", "59", "-1", "1e3", "604801", "abc", " 60", "99999999"] {
            assert!(parse_active_time(bad).is_err(), "{bad}");
        }
    }
}
