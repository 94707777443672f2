//! The VMP `time` parameter: `yyyyMMddHHmmss` wall-clock time in UTC+8.
//!
//! eftPay's docs name no zone, but live clients had to send Hong Kong time
//! (docs/protocol.md "Time"), so every `time` this crate reads or writes is
//! UTC+8.

use std::fmt;

use time::{
    Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, format_description::BorrowedFormatItem,
    macros::format_description, macros::offset,
};

/// UTC+8, the zone of every VMP `time`.
pub const VMP_OFFSET: UtcOffset = offset!(+8);

/// How far a request's `time` may be from the gateway clock (code `12`).
pub const TIME_WINDOW_SECONDS: i64 = 30 * 60;

const GMT_FORMAT: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// A parsed VMP `time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct VmpTime(OffsetDateTime);

/// `time` is not `yyyyMMddHHmmss` or is not a real date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("time must be yyyyMMddHHmmss (UTC+8)")]
pub struct TimeFormatError;

impl VmpTime {
    /// Parses `yyyyMMddHHmmss` as UTC+8.
    ///
    /// # Errors
    /// [`TimeFormatError`] unless the text is exactly 14 ASCII digits forming
    /// a valid date and time.
    pub fn parse(s: &str) -> Result<Self, TimeFormatError> {
        let digits = s.as_bytes();
        if digits.len() != 14 || !digits.iter().all(u8::is_ascii_digit) {
            return Err(TimeFormatError);
        }
        // Read field by field rather than through a format description: every
        // request carries a `time`. Same rules (a test checks both agree).
        let number =
            |at: usize, width: usize| digits[at..at + width].iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        let two = |at: usize| u8::try_from(number(at, 2)).map_err(|_| TimeFormatError);
        let month = Month::try_from(two(4)?).map_err(|_| TimeFormatError)?;
        let date = Date::from_calendar_date(i32::from(number(0, 4)), month, two(6)?).map_err(|_| TimeFormatError)?;
        let time = Time::from_hms(two(8)?, two(10)?, two(12)?).map_err(|_| TimeFormatError)?;
        Ok(Self(PrimitiveDateTime::new(date, time).assume_offset(VMP_OFFSET)))
    }

    /// Wraps an instant.
    pub fn from_datetime(at: OffsetDateTime) -> Self {
        Self(at)
    }

    /// The instant.
    pub fn datetime(self) -> OffsetDateTime {
        self.0
    }

    /// Seconds since the Unix epoch.
    pub fn unix(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// Whether this time is within ±[`TIME_WINDOW_SECONDS`] of `now`.
    pub fn within_window_of(self, now: OffsetDateTime) -> bool {
        (self.0 - now).whole_seconds().abs() <= TIME_WINDOW_SECONDS
    }

    /// `yyyy-MM-dd HH:mm:ss` in UTC+8, the form of `gmt_payment`.
    pub fn to_gmt_string(self) -> String {
        self.0.to_offset(VMP_OFFSET).format(GMT_FORMAT).unwrap_or_default()
    }
}

impl fmt::Display for VmpTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written digit by digit (no allocation): every signed answer carries
        // a `time`. Years outside 0..=9999 have no yyyy form.
        let t = self.0.to_offset(VMP_OFFSET);
        let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999).ok_or(fmt::Error)?;
        let mut buf = [0u8; 14];
        put_digits(
            &mut buf,
            &[
                (year, 4),
                (u32::from(u8::from(t.month())), 2),
                (t.day().into(), 2),
                (t.hour().into(), 2),
                (t.minute().into(), 2),
                (t.second().into(), 2),
            ],
        );
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

/// Writes each `(value, width)` as `width` zero-padded decimal digits, one
/// field after the other, from the start of `buf` (higher digits that do not
/// fit the width are dropped; bytes past `buf` are not written).
pub fn put_digits(buf: &mut [u8], fields: &[(u32, usize)]) {
    let mut at = 0;
    for &(mut value, width) in fields {
        for slot in buf.iter_mut().skip(at).take(width).rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
        at += width;
    }
}

/// Formats an instant as a VMP `time`.
pub fn format_time(at: OffsetDateTime) -> String {
    VmpTime(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// The format as a `time` description: the reference the hand-written
    /// parser and formatter are checked against.
    const FORMAT: &[BorrowedFormatItem<'static>] = format_description!("[year][month][day][hour][minute][second]");

    #[test]
    fn parses_as_utc_plus_8() {
        let t = VmpTime::parse("20240101120000").unwrap();
        assert_eq!(t.datetime(), datetime!(2024-01-01 04:00:00 UTC));
        assert_eq!(t.to_string(), "20240101120000");
        assert_eq!(format_time(datetime!(2024-01-01 04:00:00 UTC)), "20240101120000");
        assert_eq!(t.to_gmt_string(), "2024-01-01 12:00:00");
    }

    #[test]
    fn display_matches_the_format_description_and_round_trips() {
        // Every second of a leap day, month ends and a year boundary, plus
        // day offsets across four centuries.
        let mut at = datetime!(2023-12-31 15:59:00 UTC);
        for step in 0..5000i64 {
            let t = VmpTime::from_datetime(at);
            let text = t.to_string();
            let expected = at.to_offset(VMP_OFFSET).format(FORMAT).unwrap();
            assert_eq!(text, expected);
            assert_eq!(VmpTime::parse(&text).unwrap(), t);
            at += time::Duration::seconds(if step % 2 == 0 { 1 } else { 86_399 * 29 + 3_599 });
        }
        let mut out = String::new();
        let before_year_zero = VmpTime::from_datetime(datetime!(-0001-01-01 0:00 UTC));
        assert!(fmt::Write::write_fmt(&mut out, format_args!("{before_year_zero}")).is_err());
    }

    #[test]
    fn parse_agrees_with_the_format_description() {
        // Field values around every boundary: month 00/13, day 00/29/30/31/32
        // (leap and common years, centuries), hour 24, minute and second 60.
        let mut checked = 0;
        for year in [0, 1900, 2000, 2023, 2024, 2100, 9999] {
            for month in [0, 1, 2, 4, 12, 13] {
                for day in [0, 1, 28, 29, 30, 31, 32] {
                    for (h, m, sec) in [(0, 0, 0), (23, 59, 59), (24, 0, 0), (12, 60, 0), (12, 0, 60), (99, 99, 99)] {
                        let text = format!("{year:04}{month:02}{day:02}{h:02}{m:02}{sec:02}");
                        let reference = PrimitiveDateTime::parse(&text, FORMAT).map(|d| d.assume_offset(VMP_OFFSET));
                        assert_eq!(VmpTime::parse(&text).ok().map(VmpTime::datetime), reference.ok(), "{text}");
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 7 * 6 * 7 * 6);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "2024010112000",
            "202401011200000",
            "2024-01-01 12:0",
            "20241301120000",
            "20240230120000",
            "2024010112000a",
            "20240101250000",
            "+2024010112000",
        ] {
            assert_eq!(VmpTime::parse(bad), Err(TimeFormatError), "{bad}");
        }
    }

    #[test]
    fn window_is_thirty_minutes_either_way() {
        let now = datetime!(2024-01-01 04:00:00 UTC);
        assert!(VmpTime::parse("20240101123000").unwrap().within_window_of(now));
        assert!(VmpTime::parse("20240101113000").unwrap().within_window_of(now));
        assert!(!VmpTime::parse("20240101123001").unwrap().within_window_of(now));
        assert!(!VmpTime::parse("20240101112959").unwrap().within_window_of(now));
        // A client that sends UTC instead of UTC+8 lands 8 hours in the past.
        assert!(!VmpTime::parse("20240101040000").unwrap().within_window_of(now));
    }
}
