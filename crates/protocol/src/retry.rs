//! The notification retry policy: a pure schedule of delays.
//!
//! eftPay publishes no schedule; it only says it keeps retrying until the
//! merchant acknowledges. OpenVMP's default is the one below (16 attempts
//! over about 24 hours), and it is configurable.

use std::fmt;
use std::str::FromStr;

/// Delays, in seconds, before the 2nd, 3rd, … attempt.
pub const DEFAULT_SCHEDULE: [u32; 15] =
    [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600];

/// When to try a notification again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<u32>,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self { delays: DEFAULT_SCHEDULE.to_vec() }
    }
}

/// A schedule string that is not a comma-separated list of durations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("retry schedule must be comma-separated durations like 15s,30s,3m,1h: {0}")]
pub struct ScheduleError(String);

impl RetrySchedule {
    /// A schedule from explicit delays in seconds (may be empty: one attempt only).
    pub fn new(delays: Vec<u32>) -> Self {
        Self { delays }
    }

    /// The delays in seconds.
    pub fn delays(&self) -> &[u32] {
        &self.delays
    }

    /// Most attempts a notification gets (first attempt included).
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.delays.len()).unwrap_or(u32::MAX - 1) + 1
    }

    /// Seconds to wait after `attempts_made` failed attempts, or `None` to
    /// give up.
    pub fn next_delay(&self, attempts_made: u32) -> Option<u32> {
        let i = usize::try_from(attempts_made).ok()?.checked_sub(1)?;
        self.delays.get(i).copied()
    }
}

fn parse_duration(s: &str) -> Option<u32> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u32 = num.parse().ok()?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return None,
    };
    n.checked_mul(mult)
}

impl FromStr for RetrySchedule {
    type Err = ScheduleError;
    /// Parses `15s,15s,30s,3m,…` (units s, m, h; bare numbers are seconds).
    fn from_str(s: &str) -> Result<Self, ScheduleError> {
        if s.trim().is_empty() {
            return Ok(Self::new(Vec::new()));
        }
        s.split(',')
            .map(|part| parse_duration(part).ok_or_else(|| ScheduleError(part.to_owned())))
            .collect::<Result<_, _>>()
            .map(Self::new)
    }
}

impl fmt::Display for RetrySchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .delays
            .iter()
            .map(|d| match d {
                d if d % 3600 == 0 => format!("{}h", d / 3600),
                d if d % 60 == 0 => format!("{}m", d / 60),
                d => format!("{d}s"),
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_table() {
        let s = RetrySchedule::default();
        let table = [
            (1, Some(15)),
            (2, Some(15)),
            (3, Some(30)),
            (4, Some(180)),
            (5, Some(600)),
            (10, Some(3600)),
            (15, Some(21600)),
            (16, None),
            (0, None),
        ];
        for (made, want) in table {
            assert_eq!(s.next_delay(made), want, "after {made} attempts");
        }
        assert_eq!(s.max_attempts(), 16);
        assert_eq!(s.to_string(), "15s,15s,30s,3m,10m,20m,30m,30m,30m,1h,3h,3h,3h,6h,6h");
    }

    #[test]
    fn parses_and_round_trips() {
        let s: RetrySchedule = "15s,15s,30s,3m,10m,20m,30m,30m,30m,1h,3h,3h,3h,6h,6h".parse().unwrap();
        assert_eq!(s, RetrySchedule::default());
        assert_eq!("5, 10".parse::<RetrySchedule>().unwrap().delays(), [5, 10]);
        assert_eq!("".parse::<RetrySchedule>().unwrap().max_attempts(), 1);
        for bad in ["1x", "m", "-5", "1.5s", "99999999999h"] {
            assert!(bad.parse::<RetrySchedule>().is_err(), "{bad}");
        }
    }
}
