//! The VMP `time` parameter: `yyyyMMddHHmmss` wall-clock time in UTC+8.
//!
//! eftPay's docs name no zone, but live clients had to send Hong Kong time
//! (protocol reference §6), so every `time` this crate reads or writes is
//! UTC+8.

use std::fmt;

use time::{
    OffsetDateTime, PrimitiveDateTime, UtcOffset, format_description::BorrowedFormatItem, macros::format_description,
    macros::offset,
};

/// UTC+8, the zone of every VMP `time`.
pub const VMP_OFFSET: UtcOffset = offset!(+8);

/// How far a request's `time` may be from the gateway clock (code `12`).
pub const TIME_WINDOW_SECONDS: i64 = 30 * 60;

const FORMAT: &[BorrowedFormatItem<'static>] = format_description!("[year][month][day][hour][minute][second]");
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
        if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TimeFormatError);
        }
        let dt = PrimitiveDateTime::parse(s, FORMAT).map_err(|_| TimeFormatError)?;
        Ok(Self(dt.assume_offset(VMP_OFFSET)))
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
        let fields = [
            (year, 4),
            (u32::from(u8::from(t.month())), 2),
            (t.day().into(), 2),
            (t.hour().into(), 2),
            (t.minute().into(), 2),
            (t.second().into(), 2),
        ];
        let mut at = 0;
        for (mut value, width) in fields {
            for i in (0..width).rev() {
                buf[at + i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
            at += width;
        }
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
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
