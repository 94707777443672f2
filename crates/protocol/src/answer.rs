//! Building gateway answers: `return_status`, `return_char`, the body
//! fields, then `time` and `sign` when the code is `>= 00`.

use time::OffsetDateTime;

use crate::codes::ReturnStatus;
use crate::params::Params;
use crate::sign::sign_in_place;
use crate::vmptime::format_time;

/// Most characters `return_char` may carry (`String(100)`).
pub const RETURN_CHAR_MAX: usize = 100;

/// Cuts `text` to at most [`RETURN_CHAR_MAX`] characters.
pub fn clip_return_char(text: &str) -> String {
    text.chars().take(RETURN_CHAR_MAX).collect()
}

/// A signed answer: `return_status`, `return_char` (empty on `00`), the body
/// fields, `time` (UTC+8) and `sign` over all of it.
pub fn signed(secret: &str, status: ReturnStatus, return_char: &str, body: Params, now: OffsetDateTime) -> Params {
    let mut out = Params::new().with("return_status", status.code()).with("return_char", clip_return_char(return_char));
    out.append(body);
    out.set("time", format_time(now));
    sign_in_place(secret, &mut out);
    out
}

/// An unsigned answer, for negative codes or when no merchant is known.
pub fn unsigned(status: ReturnStatus, return_char: &str) -> Params {
    Params::new().with("return_status", status.code()).with("return_char", clip_return_char(return_char))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::verify;
    use time::macros::datetime;

    #[test]
    fn signed_answer_verifies_and_keeps_empty_fields_on_the_wire() {
        let body = Params::new().with("tid", "").with("out_trade_no", "1");
        let a = signed("s3cret", ReturnStatus::Accepted, "", body, datetime!(2024-01-01 04:00:00 UTC));
        let keys: Vec<&str> = a.keys().collect();
        assert_eq!(keys, ["return_status", "return_char", "tid", "out_trade_no", "time", "sign"]);
        assert_eq!(a.get("return_status"), Some("00"));
        assert!(a.contains("return_char"));
        assert!(a.contains("tid"));
        assert_eq!(a.get("time"), Some("20240101120000"));
        assert_eq!(verify("s3cret", &a), Ok(()));
    }

    #[test]
    fn return_char_is_clipped() {
        let a = unsigned(ReturnStatus::InvalidParameter, &"x".repeat(300));
        assert_eq!(a.get("return_char").unwrap().len(), 100);
        assert!(!a.contains("sign"));
    }
}
