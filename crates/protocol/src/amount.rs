//! Money: amounts in integer minor units with their currency, parsed from the
//! wire's decimal strings. No floating point anywhere.

use std::fmt;
use std::str::FromStr;

/// A currency accepted by Place an Order (`fee_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Currency {
    /// Hong Kong dollar, the default.
    Hkd,
    /// Chinese yuan.
    Cny,
}

impl Currency {
    /// The ISO code as sent on the wire.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Hkd => "HKD",
            Currency::Cny => "CNY",
        }
    }

    /// Number of decimal places of the minor unit (both have 2).
    pub fn exponent(self) -> u32 {
        2
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// `fee_type` names no supported currency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported currency (HKD or CNY)")]
pub struct UnsupportedCurrency;

impl FromStr for Currency {
    type Err = UnsupportedCurrency;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "HKD" => Ok(Currency::Hkd),
            "CNY" => Ok(Currency::Cny),
            _ => Err(UnsupportedCurrency),
        }
    }
}

/// Why an amount string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Longer than the wire's 8 characters.
    #[error("at most 8 characters")]
    TooLong,
    /// Not `digits` or `digits.d` / `digits.dd`.
    #[error("digits with at most 2 decimals")]
    Format,
    /// More than two decimal places.
    #[error("at most 2 decimals")]
    TooManyDecimals,
    /// Zero.
    #[error("must be greater than 0")]
    Zero,
    /// A sum longer than [`SUM_MAX_LEN`] characters.
    #[error("at most 15 characters")]
    SumTooLong,
    /// A negative number of minor units.
    #[error("must not be negative")]
    Negative,
}

/// Maximum length of an amount string on the wire (`String(8)`).
pub const AMOUNT_MAX_LEN: usize = 8;

/// Maximum length of a sum the gateway computes ([`Amount::parse_sum`]):
/// enough for any total of amounts of at most 8 characters.
pub const SUM_MAX_LEN: usize = 15;

/// A positive amount in minor units (cents), as parsed from the wire.
///
/// ```
/// use vmp_protocol::Amount;
/// assert_eq!(Amount::parse("0.02").unwrap().minor(), 2);
/// assert_eq!(Amount::parse("50").unwrap().minor(), 5000);
/// assert_eq!(Amount::parse("1.5").unwrap().minor(), 150);
/// assert!(Amount::parse("1.234").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(i64);

impl Amount {
    /// Parses `digits[.d[d]]`, at most 8 characters, greater than zero.
    ///
    /// # Errors
    /// [`AmountError`] names the rule that failed.
    pub fn parse(s: &str) -> Result<Self, AmountError> {
        if s.len() > AMOUNT_MAX_LEN {
            return Err(AmountError::TooLong);
        }
        Self::parse_digits(s)
    }

    /// Parses a sum the gateway computed, such as a query's `refund_amount`
    /// (the refunds of an order so far): the same format as [`Amount::parse`],
    /// but not bound by the 8 characters of a merchant's amount, since a
    /// total of such amounts can be longer (`150000.00`).
    ///
    /// ```
    /// use vmp_protocol::Amount;
    /// assert_eq!(Amount::parse_sum("150000.00").unwrap().minor(), 15_000_000);
    /// assert!(Amount::parse("150000.00").is_err());
    /// ```
    ///
    /// # Errors
    /// [`AmountError`] names the rule that failed.
    pub fn parse_sum(s: &str) -> Result<Self, AmountError> {
        if s.len() > SUM_MAX_LEN {
            return Err(AmountError::SumTooLong);
        }
        Self::parse_digits(s)
    }

    /// `digits[.d[d]]`, greater than zero; the caller bounds the length
    /// (at most [`SUM_MAX_LEN`] digits cannot overflow an `i64` of cents).
    fn parse_digits(s: &str) -> Result<Self, AmountError> {
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountError::Format);
        }
        let frac = match frac {
            None => "",
            Some(f) if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(AmountError::Format);
            }
            Some(f) if f.len() > 2 => return Err(AmountError::TooManyDecimals),
            Some(f) => f,
        };
        // At most 15 digits in total, so this cannot overflow an i64.
        let mut minor: i64 = 0;
        for b in int.bytes() {
            minor = minor * 10 + i64::from(b - b'0');
        }
        let mut digits = frac.bytes();
        for _ in 0..2 {
            minor = minor * 10 + digits.next().map_or(0, |b| i64::from(b - b'0'));
        }
        if minor == 0 {
            return Err(AmountError::Zero);
        }
        Ok(Self(minor))
    }

    /// Wraps a positive number of minor units.
    ///
    /// ```
    /// use vmp_protocol::{Amount, amount::AmountError};
    /// assert_eq!(Amount::from_minor(1050).map(Amount::minor), Ok(1050));
    /// assert_eq!(Amount::from_minor(0), Err(AmountError::Zero));
    /// assert_eq!(Amount::from_minor(-5), Err(AmountError::Negative));
    /// ```
    ///
    /// # Errors
    /// [`AmountError::Zero`] or [`AmountError::Negative`]: amounts are
    /// positive.
    pub fn from_minor(minor: i64) -> Result<Self, AmountError> {
        match minor {
            0 => Err(AmountError::Zero),
            m if m < 0 => Err(AmountError::Negative),
            m => Ok(Self(m)),
        }
    }

    /// The amount in minor units.
    pub fn minor(self) -> i64 {
        self.0
    }

    /// The last two digits of the minor units: the sandbox's "magic decimals".
    pub fn cents(self) -> u8 {
        // rem_euclid(100) of a positive i64 fits in u8.
        u8::try_from(self.0.rem_euclid(100)).unwrap_or(0)
    }

    /// Canonical decimal text with two places, e.g. `0.10`.
    pub fn to_decimal_string(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }

    /// The text to send: two places (`88.00`) when that fits the wire's 8
    /// characters, else the shortest exact form (`150000`, `123456.5`);
    /// `None` when no form fits (such as `1234567.89`).
    ///
    /// ```
    /// use vmp_protocol::Amount;
    /// let wire = |minor| Amount::from_minor(minor).unwrap().to_wire_string();
    /// assert_eq!(wire(8800).as_deref(), Some("88.00"));
    /// assert_eq!(wire(15_000_000).as_deref(), Some("150000"));
    /// assert_eq!(wire(12_345_650).as_deref(), Some("123456.5"));
    /// assert_eq!(wire(123_456_789), None);
    /// ```
    pub fn to_wire_string(self) -> Option<String> {
        let two = self.to_decimal_string();
        if two.len() <= AMOUNT_MAX_LEN {
            return Some(two);
        }
        let (int, cents) = (self.0 / 100, self.0 % 100);
        let short = match cents {
            0 => int.to_string(),
            c if c % 10 == 0 => format!("{int}.{}", c / 10),
            _ => two,
        };
        (short.len() <= AMOUNT_MAX_LEN).then_some(short)
    }
}

/// An amount as it travels: the exact text (echoed verbatim in answers and
/// signed as text) and its value in minor units.
///
/// ```
/// use vmp_protocol::{Amount, amount::WireAmount};
/// let sent = WireAmount::parse("1.5").unwrap();
/// assert_eq!(sent.as_str(), "1.5");
/// assert_eq!(sent.value().minor(), 150);
/// let built = WireAmount::from_amount(Amount::from_minor(15_000_000).unwrap()).unwrap();
/// assert_eq!(built.as_str(), "150000");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WireAmount {
    value: Amount,
    text: String,
}

impl WireAmount {
    /// Reads a merchant's amount ([`Amount::parse`]: at most 8 characters).
    ///
    /// # Errors
    /// [`AmountError`] names the rule that failed.
    pub fn parse(text: &str) -> Result<Self, AmountError> {
        Ok(Self { value: Amount::parse(text)?, text: text.to_owned() })
    }

    /// Reads a sum the gateway computed ([`Amount::parse_sum`]).
    ///
    /// # Errors
    /// [`AmountError`] names the rule that failed.
    pub fn parse_sum(text: &str) -> Result<Self, AmountError> {
        Ok(Self { value: Amount::parse_sum(text)?, text: text.to_owned() })
    }

    /// The text to send for `value` ([`Amount::to_wire_string`]).
    ///
    /// # Errors
    /// [`AmountError::TooLong`] when no exact form fits 8 characters.
    pub fn from_amount(value: Amount) -> Result<Self, AmountError> {
        Ok(Self { value, text: value.to_wire_string().ok_or(AmountError::TooLong)? })
    }

    /// A total as the gateway writes it: two decimals, any length.
    pub fn sum(value: Amount) -> Self {
        Self { value, text: value.to_decimal_string() }
    }

    /// The value.
    pub fn value(&self) -> Amount {
        self.value
    }

    /// The text as sent.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The text as sent, moved out.
    pub fn into_string(self) -> String {
        self.text
    }
}

impl PartialEq<Amount> for WireAmount {
    fn eq(&self, other: &Amount) -> bool {
        self.value == *other
    }
}

impl fmt::Display for WireAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_forms_real_clients_send() {
        for (s, minor) in [
            ("0.02", 2),
            ("0.1", 10),
            ("50", 5000),
            ("1.00", 100),
            ("1.0", 100),
            ("99999.99", 9_999_999),
            ("99999999", 9_999_999_900),
            ("007", 700),
        ] {
            assert_eq!(Amount::parse(s).map(Amount::minor), Ok(minor), "{s}");
        }
    }

    #[test]
    fn rejects_bad_amounts_with_a_reason() {
        let cases = [
            ("1.234", AmountError::TooManyDecimals),
            ("-1", AmountError::Format),
            ("0", AmountError::Zero),
            ("0.00", AmountError::Zero),
            ("1e2", AmountError::Format),
            ("abc", AmountError::Format),
            (" 1", AmountError::Format),
            ("1 ", AmountError::Format),
            ("", AmountError::Format),
            (".5", AmountError::Format),
            ("1.", AmountError::Format),
            ("+1", AmountError::Format),
            ("1,00", AmountError::Format),
            ("１", AmountError::Format),
            ("123456789", AmountError::TooLong),
            ("1.2.3", AmountError::Format),
        ];
        for (s, want) in cases {
            assert_eq!(Amount::parse(s), Err(want), "{s:?}");
        }
    }

    #[test]
    fn magic_decimals() {
        assert_eq!(Amount::parse("0.81").unwrap().cents(), 81);
        assert_eq!(Amount::parse("12.8").unwrap().cents(), 80);
        assert_eq!(Amount::parse("3").unwrap().cents(), 0);
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,12}") {
            let _ = Amount::parse(&s);
        }

        #[test]
        fn canonical_text_round_trips(minor in 1i64..=9_999_999) {
            let a = Amount::from_minor(minor).unwrap();
            prop_assert_eq!(Amount::parse(&a.to_decimal_string()), Ok(a));
        }

        #[test]
        fn wire_text_round_trips_whenever_one_fits(minor in 1i64..=99_999_999_999) {
            let a = Amount::from_minor(minor).unwrap();
            match a.to_wire_string() {
                Some(text) => prop_assert_eq!(Amount::parse(&text), Ok(a)),
                // Nothing fits: even the shortest exact form is too long.
                None => {
                    let int_len = (minor / 100).to_string().len();
                    let frac_len = match minor % 100 { 0 => 0, c if c % 10 == 0 => 2, _ => 3 };
                    prop_assert!(int_len + frac_len > AMOUNT_MAX_LEN, "{minor}");
                }
            }
        }

        #[test]
        fn sums_round_trip(minor in 1i64..=999_999_999_999) {
            let a = Amount::from_minor(minor).unwrap();
            prop_assert_eq!(Amount::parse_sum(&a.to_decimal_string()), Ok(a));
        }
    }
}
