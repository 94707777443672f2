//! Token-bucket rate limits, per client IP and per merchant.
//!
//! In-memory and per instance: with N instances behind a load balancer the
//! effective limit is N times the configured one. The per-IP key is the
//! peer address of the TCP connection (a proxy's `X-Forwarded-For` is not
//! trusted). The merchant limit is applied only after the signature has
//! verified, so nobody can spend a merchant's quota with forged requests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most keys tracked before idle ones are dropped (bounds memory).
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// A token bucket per key: `rate` requests per second, bursts of `2 × rate`.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// A limiter allowing `per_second` requests per key on average.
    pub fn new(per_second: u32) -> Self {
        let rate = f64::from(per_second.max(1));
        Self { rate, burst: rate * 2.0, buckets: Mutex::new(HashMap::new()) }
    }

    /// The configured rate.
    pub fn per_second(&self) -> u32 {
        // The rate came from a u32.
        self.rate as u32
    }

    /// Takes one token for `key` at `now`; `false` when the key is over its rate.
    pub fn allow_at(&self, key: &str, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            buckets.retain(|_, b| now.duration_since(b.last) < Duration::from_secs(10));
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket { tokens: self.burst, last: now });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// [`RateLimiter::allow_at`] now.
    pub fn allow(&self, key: &str) -> bool {
        self.allow_at(key, Instant::now())
    }
}

/// The gateway's limits; `None` means unlimited.
#[derive(Debug, Default)]
pub struct Limits {
    /// Per client IP address.
    pub per_ip: Option<RateLimiter>,
    /// Per merchant (`user_confirm_key`), after authentication.
    pub per_merchant: Option<RateLimiter>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills_at_the_rate() {
        let l = RateLimiter::new(5);
        let t0 = Instant::now();
        let allowed = (0..20).filter(|_| l.allow_at("a", t0)).count();
        assert_eq!(allowed, 10, "burst of 2 × rate");
        assert!(!l.allow_at("a", t0));
        assert!(l.allow_at("b", t0), "keys are independent");
        assert!(l.allow_at("a", t0 + Duration::from_millis(200)), "one token per 200 ms at 5/s");
        assert!(!l.allow_at("a", t0 + Duration::from_millis(250)));
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..20).filter(|_| l.allow_at("a", later)).count(), 10, "refills up to the burst only");
    }
}
