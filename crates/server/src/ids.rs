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
use vmp_protocol::vmptime::VMP_OFFSET;

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
    pub fn next(&self, now: OffsetDateTime) -> String {
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
        format!(
            "{:02}{:02}{:02}{:02}{:02}{:02}{:02}{:03}{:06}",
            self.node_id,
            at.year().rem_euclid(100),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.millisecond(),
            seq
        )
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
            let n = g.next(at);
            assert!(n.len() <= 28 && n.bytes().all(|b| b.is_ascii_digit()), "{n}");
            assert!(seen.insert(n));
        }
        assert!(g.next(t).starts_with("0724010112"));
    }

    #[test]
    fn node_ids_separate_instances() {
        let t = datetime!(2024-01-01 04:00:00 UTC);
        assert_ne!(EftTradeNoGenerator::new(1).next(t), EftTradeNoGenerator::new(2).next(t));
    }
}
