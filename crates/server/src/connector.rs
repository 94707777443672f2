//! The wallet seam (docs/architecture.md "Wallet connectors": a trait; the sandbox
//! connectors implement it").
//!
//! A connector stands for the wallet behind an order: it may refuse to open
//! a payment when the order is placed, and it decides what a buyer's action
//! on a pending order results in. The gateway keeps everything else (state
//! machine, storage, notifications); the sandbox implementation plays every
//! wallet, with the magic amounts of docs/protocol.md.

use vmp_protocol::Amount;
use vmp_protocol::catalogue::Wallet;
use vmp_protocol::sandbox::MagicOutcome;

use crate::domain::Order;

/// What the buyer (or the sandbox API acting for them) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuyerAction {
    /// Pay.
    Pay,
    /// The payment fails (declined card, insufficient balance, …).
    Fail,
    /// The buyer gives up; the order closes.
    Cancel,
}

impl BuyerAction {
    /// As the sandbox API and the order's timeline name it.
    pub fn as_str(self) -> &'static str {
        match self {
            BuyerAction::Pay => "success",
            BuyerAction::Fail => "fail",
            BuyerAction::Cancel => "cancel",
        }
    }
}

/// The wallet's answer to a buyer action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalletResult {
    /// Paid (`TRADE_SUCCESS`).
    Paid,
    /// The payment failed (`TRADE_FAIL`).
    Failed,
    /// The payment was abandoned or timed out (`TRADE_CLOSED`).
    Closed,
    /// The wallet answered with a server error and no state: nothing changes.
    NoState,
}

/// Why a wallet refused to open a payment at Place an Order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpenRefusal {
    /// The wallet produced no payment QR code (sandbox amount `.44`).
    #[error("no payment QR code")]
    NoQrCode,
}

/// The wallet behind an order.
pub trait WalletConnector: Send + Sync + 'static {
    /// Short name, for logs.
    fn id(&self) -> &'static str;
    /// Whether a buyer can pay an order of `wallet` through this connector
    /// (the pay page answers 503 naming the wallet when not).
    fn pays(&self, wallet: Wallet) -> bool;
    /// Asked before an order is stored (`order` is the record about to be
    /// stored, of any scene): may the wallet open this payment?
    ///
    /// # Errors
    /// [`OpenRefusal`] when the wallet refuses (answered `24`, nothing stored).
    fn open(&self, order: &Order) -> Result<(), OpenRefusal>;
    /// The outcome of a buyer's action on a pending, unexpired order.
    fn act(&self, order: &Order, action: BuyerAction) -> WalletResult;
    /// The wallet's own transaction number for an order it settled.
    fn transaction_id(&self, order: &Order) -> String;
}

/// Every wallet, simulated. With `magic` on (sandbox mode) it takes
/// payments and the last two decimals of the amount force the outcome
/// (eftPay's PayMe UAT table, applied to every wallet); otherwise the
/// buyer's action decides. Off (production mode) it pays no wallet: it
/// only names the transactions of expiries and merchant closes, since no
/// real wallet has a connector yet.
#[derive(Debug, Clone, Copy)]
pub struct SandboxWallets {
    magic: bool,
}

impl SandboxWallets {
    /// Sandbox wallets; `magic` turns the magic amounts on.
    pub fn new(magic: bool) -> Self {
        Self { magic }
    }

    fn magic(&self, minor: i64) -> Option<MagicOutcome> {
        if !self.magic {
            return None;
        }
        Amount::from_minor(minor).ok().and_then(MagicOutcome::of)
    }
}

impl WalletConnector for SandboxWallets {
    fn id(&self) -> &'static str {
        "sandbox"
    }

    fn pays(&self, _wallet: Wallet) -> bool {
        self.magic
    }

    fn open(&self, order: &Order) -> Result<(), OpenRefusal> {
        match self.magic(order.amount.minor()) {
            Some(MagicOutcome::NoQrCode) => Err(OpenRefusal::NoQrCode),
            _ => Ok(()),
        }
    }

    fn act(&self, order: &Order, action: BuyerAction) -> WalletResult {
        match (action, self.magic(order.amount.minor())) {
            (BuyerAction::Cancel, _) => WalletResult::Closed,
            (BuyerAction::Fail, _) => WalletResult::Failed,
            (BuyerAction::Pay, Some(MagicOutcome::NoState)) => WalletResult::NoState,
            (BuyerAction::Pay, Some(MagicOutcome::Timeout)) => WalletResult::Closed,
            (BuyerAction::Pay, Some(MagicOutcome::Failed)) => WalletResult::Failed,
            (BuyerAction::Pay, _) => WalletResult::Paid,
        }
    }

    fn transaction_id(&self, order: &Order) -> String {
        format!("SBX{}", order.eft_trade_no)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(amount_minor: i64) -> Order {
        let mut o = crate::domain::sample_order(
            vmp_protocol::catalogue::Service::AlipayWap,
            vmp_protocol::catalogue::Wallet::AlipayHk,
        );
        o.amount = Amount::from_minor(amount_minor).unwrap();
        o
    }

    #[test]
    fn magic_amounts_decide_what_pay_does_only_when_on() {
        let sandbox = SandboxWallets::new(true);
        let table = [
            (81, WalletResult::Paid),
            (80, WalletResult::Closed),
            (77, WalletResult::Failed),
            (45, WalletResult::NoState),
            (12, WalletResult::Paid),
        ];
        for (cents, want) in table {
            assert_eq!(sandbox.act(&order(100 + cents), BuyerAction::Pay), want, "{cents}");
        }
        assert_eq!(sandbox.act(&order(181), BuyerAction::Cancel), WalletResult::Closed);
        assert_eq!(sandbox.act(&order(181), BuyerAction::Fail), WalletResult::Failed);
        let plain = SandboxWallets::new(false);
        assert_eq!(plain.act(&order(177), BuyerAction::Pay), WalletResult::Paid);
        assert!(sandbox.pays(Wallet::AlipayHk) && !plain.pays(Wallet::AlipayHk), "production pays no wallet");
    }
}
