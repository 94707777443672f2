//! `eft_trade_no`: the gateway's order number.
//!
//! Digits only, 23 long (the wire allows 28): `NN` node id, then
//! `yyMMddHHmmssSSS` (UTC+8, milliseconds), then a 6-digit sequence. Two
//! instances never collide because their node ids differ; one instance
//! never repeats because the (time, sequence) pair only moves forward, even
//! if the wall clock steps back. The store's primary key is the last line
//! of defence.

use std::sync::Mutex;

use time::OffsetDateTime;
use vmp_protocol::vmptime::{VMP_OFFSET, put_digits};

use crate::domain::EftTradeNo;

/// Issues `eft_trade_no` values for one gateway instance.
#[derive(Debug)]
pub struct EftTradeNoGenerator {
    node_id: u8,
    state: Mutex<(i128, u32)>,
}

const SEQ_LIMIT: u32 = 1_000_000;

impl EftTradeNoGenerator {
    /// A generator for instance `node_id` (0–99; larger values are reduced mod 100).
    pub fn new(node_id: u8) -> Self {
        Self { node_id: node_id % 100, state: Mutex::new((0, 0)) }
    }

    /// The next number, given the current time.
    pub fn next(&self, now: OffsetDateTime) -> EftTradeNo {
        let now_ms = now.unix_timestamp_nanos() / 1_000_000;
        let (ms, seq) = {
            let mut st = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if now_ms > st.0 {
                *st = (now_ms, 0);
            } else {
                st.1 += 1;
                if st.1 >= SEQ_LIMIT {
                    *st = (st.0 + 1, 0);
                }
            }
            *st
        };
        let at = OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).unwrap_or(now).to_offset(VMP_OFFSET);
        let mut digits = [0u8; 23];
        put_digits(
            &mut digits,
            &[
                (u32::from(self.node_id), 2),
                (at.year().rem_euclid(100).unsigned_abs(), 2),
                (u32::from(u8::from(at.month())), 2),
                (at.day().into(), 2),
                (at.hour().into(), 2),
                (at.minute().into(), 2),
                (at.second().into(), 2),
                (at.millisecond().into(), 3),
                (seq, 6),
            ],
        );
        let digits: String = digits.iter().map(|&d| char::from(d)).collect();
        // 23 digits by construction.
        EftTradeNo::from_string(digits).unwrap_or_else(|_| unreachable!("an eft_trade_no is 23 digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use time::macros::datetime;

    #[test]
    fn digits_only_and_unique_even_when_the_clock_stands_still_or_steps_back() {
        let g = EftTradeNoGenerator::new(7);
        let t = datetime!(2024-01-01 04:00:00 UTC);
        let mut seen = HashSet::new();
        for i in 0..5000 {
            let at = if i % 2 == 0 { t } else { t - time::Duration::seconds(5) };
            let n = g.next(at).into_string();
            assert!(n.len() <= 28 && n.bytes().all(|b| b.is_ascii_digit()), "{n}");
            assert!(seen.insert(n));
        }
        assert!(g.next(t).as_str().starts_with("0724010112"));
    }

    #[test]
    fn fields_are_node_time_in_utc8_to_the_millisecond_then_sequence() {
        let g = EftTradeNoGenerator::new(7);
        let t = datetime!(2024-12-31 16:05:09.123 UTC);
        assert_eq!(g.next(t), "07250101000509123000000");
        assert_eq!(g.next(t), "07250101000509123000001");
        assert_eq!(EftTradeNoGenerator::new(42).next(t + time::Duration::milliseconds(1)), "42250101000509124000000");
    }

    #[test]
    fn node_ids_separate_instances() {
        let t = datetime!(2024-01-01 04:00:00 UTC);
        assert_ne!(EftTradeNoGenerator::new(1).next(t), EftTradeNoGenerator::new(2).next(t));
    }
}
