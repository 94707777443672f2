//! The gateway clock, injected everywhere time matters (DESIGN.md invariant 6).

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

    /// Moves the clock forward by `seconds` (sandbox clock control).
    pub fn advance(&self, seconds: i64) {
        self.inner.offset_seconds.fetch_add(seconds, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn fixed_clock_advances() {
        let c = Clock::fixed(datetime!(2024-01-01 00:00:00 UTC));
        c.advance(90);
        assert_eq!(c.now(), datetime!(2024-01-01 00:01:30 UTC));
    }
}
