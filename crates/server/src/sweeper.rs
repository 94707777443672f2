//! The sweeper: durable time-driven changes, apart from delivery.
//!
//! [`Sweeper::run_once`] closes unpaid orders whose `active_time` ran out
//! ([`crate::domain::Order::expire`], notified as the service says) and
//! completes apply-refunds whose delay passed
//! ([`crate::domain::Refund::complete`]), and prunes the request log and
//! order events past their retention ([`crate::journal`]). The notifier then delivers what
//! these owe; the sweeper never sends anything. Until a sweep closes an
//! expired order, queries already report it closed
//! ([`crate::domain::Order::effective_state`]), so nothing waits on it.
//!
//! Every step is idempotent and safe on several instances at once: the
//! store applies a transition only to a still-pending order, and completes
//! a refund only while it is in progress.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

use crate::lifecycle;
use crate::state::AppState;
use crate::store::StoreError;

/// Sweeper tuning.
#[derive(Debug, Clone)]
pub struct SweeperSettings {
    /// How often to sweep when nothing (a sandbox clock move) wakes it.
    pub interval: Duration,
    /// Most orders, and most refunds, handled per step.
    pub batch: i64,
}

impl Default for SweeperSettings {
    fn default() -> Self {
        Self { interval: Duration::from_millis(500), batch: 200 }
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Orders this step closed as expired.
    pub expired: usize,
    /// Apply-refunds this step completed.
    pub refunds_completed: usize,
    /// Request log records and order events this step pruned (older than
    /// the journal's retention).
    pub journal_pruned: u64,
}

/// Closes expired orders and completes due apply-refunds.
pub struct Sweeper {
    state: AppState,
    settings: SweeperSettings,
    /// When the journal was last pruned (at most once a minute).
    pruned_at: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How often the journal is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

impl std::fmt::Debug for Sweeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sweeper").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Sweeper {
    /// A sweeper for `state`.
    pub fn new(state: AppState, settings: SweeperSettings) -> Self {
        Self { state, settings, pruned_at: std::sync::Mutex::new(None) }
    }

    /// One step, as of `now`. Wakes the notifier when it queued
    /// notifications.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn run_once(&self, now: OffsetDateTime) -> Result<Sweep, StoreError> {
        let store = self.state.store();
        let mut sweep = Sweep::default();
        for order in store.expired_pending(now.unix_timestamp(), self.settings.batch).await? {
            if lifecycle::expire(&self.state, &order, now).await? {
                tracing::info!(eft_trade_no = %order.eft_trade_no, "unpaid order expired");
                sweep.expired += 1;
            }
        }
        for refund in store.due_refunds(now.unix_timestamp(), self.settings.batch).await? {
            let Some(order) = store.order_by_eft_trade_no(refund.eft_trade_no.as_str()).await? else {
                continue;
            };
            let Ok(completion) = refund.complete(&order, now) else { continue };
            if store.complete_refund(completion).await? {
                tracing::info!(out_refund_no = %refund.out_refund_no, "apply-refund completed");
                sweep.refunds_completed += 1;
            }
        }
        if sweep.refunds_completed > 0 {
            self.state.wake_notifier();
        }
        if let Some(retention) = self.state.journal_settings().retention
            && self.prune_due()
        {
            let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
            let cutoff = now_ms.saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
            sweep.journal_pruned = store.prune_journal(cutoff, self.settings.batch.saturating_mul(50)).await?;
        }
        Ok(sweep)
    }

    /// Whether a minute passed since the last prune (the first step prunes).
    fn prune_due(&self) -> bool {
        let mut at = self.pruned_at.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if at.is_some_and(|t| t.elapsed() < PRUNE_EVERY) {
            return false;
        }
        *at = Some(std::time::Instant::now());
        true
    }

    /// Runs until `shutdown` turns true, sweeping every interval and
    /// whenever the (sandbox) clock moves.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let wake = self.state.sweeper_wake();
        loop {
            if *shutdown.borrow() {
                break;
            }
            if let Err(e) = self.run_once(self.state.clock().now()).await {
                if e.is_outage() {
                    tracing::debug!(error.message = %e, "sweep failed: the store is down; backing off");
                } else {
                    tracing::error!(error.message = %e, error.cause_chain = ?e, "sweep failed; backing off");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(self.settings.interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
