//! The gateway clock, injected everywhere time matters (docs/architecture.md "Invariants").

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::{Duration, OffsetDateTime};

/// A clock: the system time plus an offset that sandbox mode can advance,
/// or a fixed instant for tests.
#[derive(Debug, Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `None`: system time. `Some(t)`: frozen at unix second `t` (tests).
    fixed: Option<i64>,
    offset_seconds: AtomicI64,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { inner: Arc::new(Inner { fixed: None, offset_seconds: AtomicI64::new(0) }) }
    }

    /// A clock frozen at `at` (it still moves with [`Clock::advance`]).
    pub fn fixed(at: OffsetDateTime) -> Self {
        Self { inner: Arc::new(Inner { fixed: Some(at.unix_timestamp()), offset_seconds: AtomicI64::new(0) }) }
    }

    /// Now, by this clock.
    pub fn now(&self) -> OffsetDateTime {
        let base = match self.inner.fixed {
            Some(t) => OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH),
            None => OffsetDateTime::now_utc(),
        };
        base + Duration::seconds(self.inner.offset_seconds.load(Ordering::Relaxed))
    }

    /// How far the clock has been moved ahead in total, seconds.
    pub fn offset_seconds(&self) -> i64 {
        self.inner.offset_seconds.load(Ordering::Relaxed)
    }

    /// Moves the clock forward by `seconds` (sandbox clock control), unless
    /// that would put it more than [`MAX_OFFSET_SECONDS`] ahead in total.
    /// Unbounded, repeated moves would reach the end of the representable
    /// calendar, where every date computation fails.
    ///
    /// # Errors
    /// [`OffsetLimit`] (with the current offset) when the move is refused;
    /// the clock is then unchanged.
    pub fn advance(&self, seconds: i64) -> Result<(), OffsetLimit> {
        self.inner
            .offset_seconds
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| {
                now.checked_add(seconds).filter(|total| (0..=MAX_OFFSET_SECONDS).contains(total))
            })
            .map(drop)
            .map_err(|current| OffsetLimit { current_seconds: current })
    }
}

/// How far the sandbox clock may run ahead of real time in total: 10 years
/// (expiry, retries and refunds need days; a restart sets it back to zero).
pub const MAX_OFFSET_SECONDS: i64 = 10 * 366 * 24 * 3600;

/// A clock move refused by [`Clock::advance`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetLimit {
    /// How far ahead the clock already is, in seconds.
    pub current_seconds: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn fixed_clock_advances() {
        let c = Clock::fixed(datetime!(2024-01-01 00:00:00 UTC));
        c.advance(90).unwrap();
        assert_eq!(c.now(), datetime!(2024-01-01 00:01:30 UTC));
    }

    #[test]
    fn total_offset_is_capped_and_a_refused_move_changes_nothing() {
        let c = Clock::fixed(datetime!(2024-01-01 00:00:00 UTC));
        c.advance(MAX_OFFSET_SECONDS - 10).unwrap();
        let before = c.now();
        assert_eq!(c.advance(11), Err(OffsetLimit { current_seconds: MAX_OFFSET_SECONDS - 10 }));
        assert_eq!(c.advance(i64::MAX), Err(OffsetLimit { current_seconds: MAX_OFFSET_SECONDS - 10 }));
        assert_eq!(c.now(), before);
        c.advance(10).unwrap();
        assert_eq!(c.now(), before + Duration::seconds(10));
    }
}
