//! Sandbox outcomes: the "magic amounts" that force a payment result.
//!
//! eftPay's PAYME UAT lets the two decimal places of `transaction_amount`
//! decide what happens (docs/protocol.md "Sandbox magic amounts"). OpenVMP's
//! sandbox applies the same table to every wallet, so a merchant learns one
//! table. Any other amount settles as the buyer (or the sandbox API) chooses.

use crate::amount::Amount;

/// What a magic amount forces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MagicOutcome {
    /// `.81`: paying succeeds (`TRADE_SUCCESS`).
    Success,
    /// `.80`: the wallet times out; the order closes (`TRADE_CLOSED`).
    Timeout,
    /// `.77`: the payment fails (`TRADE_FAIL`).
    Failed,
    /// `.44`: server error, no payment QR code: Place an Order itself is
    /// answered `24` and nothing is stored.
    NoQrCode,
    /// `.45`: server error, no state: the order is placed but paying reports
    /// a server error and the order never leaves the pending state (until it
    /// expires).
    NoState,
}

impl MagicOutcome {
    /// The magic outcome of an amount, if its decimals are magic.
    pub fn of(amount: Amount) -> Option<Self> {
        match amount.cents() {
            81 => Some(Self::Success),
            80 => Some(Self::Timeout),
            77 => Some(Self::Failed),
            44 => Some(Self::NoQrCode),
            45 => Some(Self::NoState),
            _ => None,
        }
    }

    /// The documented table: decimals, outcome, description.
    pub const TABLE: [(u8, MagicOutcome, &'static str); 5] = [
        (81, MagicOutcome::Success, "successful transaction (TRADE_SUCCESS)"),
        (80, MagicOutcome::Timeout, "timeout transaction (TRADE_CLOSED when the buyer pays)"),
        (77, MagicOutcome::Failed, "failed transaction (TRADE_FAIL when the buyer pays)"),
        (44, MagicOutcome::NoQrCode, "server error, no payment QR code (Place an Order answers 24)"),
        (45, MagicOutcome::NoState, "server error, no state (paying errors; order stays pending until it expires)"),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_table() {
        let of = |s: &str| MagicOutcome::of(Amount::parse(s).unwrap());
        assert_eq!(of("0.81"), Some(MagicOutcome::Success));
        assert_eq!(of("12.80"), Some(MagicOutcome::Timeout));
        assert_eq!(of("0.77"), Some(MagicOutcome::Failed));
        assert_eq!(of("0.44"), Some(MagicOutcome::NoQrCode));
        assert_eq!(of("3.45"), Some(MagicOutcome::NoState));
        assert_eq!(of("0.8"), Some(MagicOutcome::Timeout), "0.8 has decimals 80");
        assert_eq!(of("0.02"), None);
        assert_eq!(of("81"), None, "81.00 has decimals 00");
    }
}
