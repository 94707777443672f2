//! The group-commit writer, shared by both backends.
//!
//! One task owns one connection (an [`Apply`]). It takes the first queued write, drains
//! whatever else is already queued (up to `max_batch`), runs them all in one
//! transaction and commits once (one fsync / WAL flush for the batch), then
//! answers every waiter. Under load, batches grow by themselves while the
//! previous commit is in flight; when idle, a lone write commits at once.
//!
//! If a batch fails (a deadlock between instances on PostgreSQL, a
//! transient error), every write of it is retried alone, so one bad write
//! never takes the others down with it. If the store itself is down
//! ([`StoreError::is_outage`]: the PostgreSQL connection is lost and being
//! re-established, or the SQLite file was removed), every write of the
//! batch fails at once and none is retried here: a batch whose connection
//! broke during COMMIT may have committed, so only the client, whose
//! retries are idempotent, may send it again.
//!
//! What a batch does is written once ([`run_batch`] over the operations of
//! `ops`); only opening and closing its transaction is per backend
//! ([`Apply`]). PostgreSQL's writer is a Tokio task running sqlx
//! (`postgres::PgWriter`). The SQLite writer runs the same loop on a thread of its
//! own with a synchronous connection (`sqlite_writer`): with sqlx, every
//! statement would be a hop to sqlx's SQLite thread and back, and on a busy
//! machine each hop waits for a core, once per statement of every batch.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::db::Db;
use super::ops::{self, Inserted};
use super::{ChoiceOutcome, PlaceOutcome, RefundOutcome, SettleOutcome, StoreError, WriterStats};
use crate::domain::{
    AttemptRecord, NewCancel, NewRefund, Notification, Order, RefundCompletion, Transition, WalletChoice,
};
use crate::journal::{FLUSH_AFTER, JournalBuffer, JournalEntry};

/// Where a write's result goes.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// Runs a batch of writes in one transaction and commits once: the
/// per-dialect part of the writer (how a transaction begins and ends).
pub(crate) trait Apply: Send + 'static {
    /// One result per write, in order; an error rolls the whole batch back.
    fn apply(&mut self, ops: &[WriteOp]) -> impl Future<Output = Result<Vec<OpResult>, StoreError>> + Send;
    /// Closes the connection.
    fn close(self) -> impl Future<Output = ()> + Send;
    /// When the connection is lost: when to try to open it again, even if
    /// no write comes (so the store is usable again as soon as the database
    /// is, for reads and readiness too). `None`: connected, or nothing to
    /// reopen (SQLite).
    fn reconnect_at(&self) -> Option<std::time::Instant> {
        None
    }
    /// One attempt to open the connection again.
    fn reconnect(&mut self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}

/// One write for the writer, with where to send its result. Adding a write
/// is a variant here, its function in [`ops`], and nothing per backend.
pub(crate) enum WriteOp {
    PlaceOrder(Box<Order>, Reply<PlaceOutcome>),
    Settle(Box<Transition>, Reply<SettleOutcome>),
    Claim {
        now: i64,
        lease_until: i64,
        limit: i64,
        reply: Reply<Vec<Notification>>,
    },
    Attempt(Box<AttemptRecord>, Reply<()>),
    Refund(Box<NewRefund>, Reply<RefundOutcome>),
    CompleteRefund(Box<RefundCompletion>, Reply<bool>),
    /// A qrcode cancel (issue #19).
    Cancel(Box<NewCancel>, Reply<RefundOutcome>),
    /// A cashier buyer's wallet (issue #19).
    ChooseWallet(Box<WalletChoice>, Reply<ChoiceOutcome>),
    /// The readiness probe's trivial write.
    Probe {
        at: i64,
        reply: Reply<()>,
    },
    /// Journal records, taken from the queue by the writer itself.
    Journal(Vec<JournalEntry>),
    /// Commit the journal's queue now (with `Some`: and say when done).
    Flush(Option<Reply<()>>),
    DeliverNow {
        id: i64,
        now: i64,
        reply: Reply<bool>,
    },
    Resend {
        id: i64,
        now: i64,
        reply: Reply<Option<i64>>,
    },
    PruneJournal {
        before_ms: i64,
        limit: i64,
        reply: Reply<u64>,
    },
    ResetMerchant {
        key: String,
        reply: Reply<u64>,
    },
}

/// A write's result before it is sent.
// Results live for one batch; boxing them would only add allocations.
#[allow(clippy::large_enum_variant)]
pub(crate) enum OpResult {
    PlaceOrder(Result<Inserted, StoreError>),
    Settle(SettleOutcome),
    Claim(Vec<Notification>),
    Attempt,
    Refund(RefundOutcome),
    CompleteRefund(bool),
    ChooseWallet(ChoiceOutcome),
    Probe,
    Done,
    DeliverNow(bool),
    Resend(Option<i64>),
    Count(u64),
}

impl WriteOp {
    pub(crate) fn is_order(&self) -> bool {
        matches!(self, WriteOp::PlaceOrder(..))
    }

    /// A flush writes nothing of its own (the journal rides in its batch).
    fn is_flush(&self) -> bool {
        matches!(self, WriteOp::Flush(_))
    }

    /// Journal records or a flush: not one of the gateway's own writes.
    fn is_journal(&self) -> bool {
        matches!(self, WriteOp::Flush(_) | WriteOp::Journal(_))
    }

    /// Runs every write but a new order (those go first, together).
    async fn run<D: Db>(&self, db: &mut D) -> Result<OpResult, StoreError> {
        Ok(match self {
            WriteOp::PlaceOrder(..) => return Err(StoreError::Corrupt("order outside the order insert")),
            WriteOp::Settle(t, _) => OpResult::Settle(ops::settle(db, t).await?),
            WriteOp::Claim { now, lease_until, limit, .. } => {
                OpResult::Claim(ops::claim(db, *now, *lease_until, *limit).await?)
            }
            WriteOp::Attempt(a, _) => {
                ops::record_attempt(db, a).await?;
                OpResult::Attempt
            }
            WriteOp::Refund(n, _) => OpResult::Refund(ops::refund(db, n).await?),
            WriteOp::CompleteRefund(c, _) => OpResult::CompleteRefund(ops::complete_refund(db, c).await?),
            WriteOp::Cancel(c, _) => OpResult::Refund(ops::cancel(db, c).await?),
            WriteOp::ChooseWallet(c, _) => OpResult::ChooseWallet(ops::choose_wallet(db, c).await?),
            WriteOp::Probe { at, .. } => {
                ops::probe(db, *at).await?;
                OpResult::Probe
            }
            WriteOp::Journal(entries) => {
                ops::journal(db, entries).await?;
                OpResult::Done
            }
            WriteOp::Flush(_) => OpResult::Done,
            WriteOp::DeliverNow { id, now, .. } => OpResult::DeliverNow(ops::deliver_now(db, *id, *now).await?),
            WriteOp::Resend { id, now, .. } => OpResult::Resend(ops::resend(db, *id, *now).await?),
            WriteOp::PruneJournal { before_ms, limit, .. } => {
                OpResult::Count(ops::prune_journal(db, *before_ms, *limit).await?)
            }
            WriteOp::ResetMerchant { key, .. } => OpResult::Count(ops::reset_merchant(db, key).await?),
        })
    }

    /// Sends the result to the waiter (who may have gone away: not an error).
    fn answer(self, result: Result<OpResult, StoreError>) {
        fn pick<T>(r: Result<OpResult, StoreError>, f: impl FnOnce(OpResult) -> Option<T>) -> Result<T, StoreError> {
            r.and_then(|v| f(v).ok_or(StoreError::Corrupt("writer result kind")))
        }
        match self {
            WriteOp::PlaceOrder(o, tx) => {
                // A new order is answered with the caller's own record (it is
                // what was stored), not a copy of it.
                let r = result.and_then(|v| match v {
                    OpResult::PlaceOrder(inserted) => inserted.map(|i| i.outcome(*o)),
                    _ => Err(StoreError::Corrupt("writer result kind")),
                });
                drop(tx.send(r));
            }
            WriteOp::Settle(_, tx) => {
                drop(tx.send(pick(result, |v| if let OpResult::Settle(x) = v { Some(x) } else { None })))
            }
            WriteOp::Claim { reply, .. } => {
                drop(reply.send(pick(result, |v| if let OpResult::Claim(x) = v { Some(x) } else { None })))
            }
            WriteOp::Attempt(_, tx) => drop(tx.send(pick(result, |v| matches!(v, OpResult::Attempt).then_some(())))),
            WriteOp::Refund(_, tx) => {
                drop(tx.send(pick(result, |v| if let OpResult::Refund(x) = v { Some(x) } else { None })))
            }
            WriteOp::CompleteRefund(_, tx) => {
                drop(tx.send(pick(result, |v| if let OpResult::CompleteRefund(x) = v { Some(x) } else { None })))
            }
            WriteOp::Cancel(_, tx) => {
                drop(tx.send(pick(result, |v| if let OpResult::Refund(x) = v { Some(x) } else { None })))
            }
            WriteOp::ChooseWallet(_, tx) => {
                drop(tx.send(pick(result, |v| if let OpResult::ChooseWallet(x) = v { Some(x) } else { None })))
            }
            WriteOp::Probe { reply, .. } => {
                drop(reply.send(pick(result, |v| matches!(v, OpResult::Probe).then_some(()))))
            }
            WriteOp::Journal(_) | WriteOp::Flush(None) => {
                if let Err(e) = result {
                    tracing::error!(error.message = %e, "journal records could not be written; dropped");
                }
            }
            WriteOp::Flush(Some(reply)) => {
                drop(reply.send(pick(result, |v| matches!(v, OpResult::Done).then_some(()))))
            }
            WriteOp::DeliverNow { reply, .. } => {
                drop(reply.send(pick(result, |v| if let OpResult::DeliverNow(x) = v { Some(x) } else { None })))
            }
            WriteOp::Resend { reply, .. } => {
                drop(reply.send(pick(result, |v| if let OpResult::Resend(x) = v { Some(x) } else { None })))
            }
            WriteOp::PruneJournal { reply, .. } | WriteOp::ResetMerchant { reply, .. } => {
                drop(reply.send(pick(result, |v| if let OpResult::Count(x) = v { Some(x) } else { None })))
            }
        }
    }
}

/// The writes of one batch, inside the transaction the caller opened: the
/// same for both backends. New orders go first, all together: no other
/// write in a batch can depend on them (a client learns an order's number
/// only after its commit), and one prepared statement serves them all.
pub(crate) async fn run_batch<D: Db>(db: &mut D, ops: &[WriteOp]) -> Result<Vec<OpResult>, StoreError> {
    let orders: Vec<&Order> =
        ops.iter().filter_map(|op| if let WriteOp::PlaceOrder(o, _) = op { Some(&**o) } else { None }).collect();
    let mut placed = if orders.is_empty() { Vec::new() } else { ops::insert_orders(db, &orders).await? }.into_iter();
    let mut results = Vec::with_capacity(ops.len());
    for op in ops {
        results.push(match op {
            WriteOp::PlaceOrder(..) => {
                OpResult::PlaceOrder(placed.next().unwrap_or(Err(StoreError::Corrupt("missing insert result"))))
            }
            other => other.run(db).await?,
        });
    }
    Ok(results)
}

/// The writer task: runs until every sender is gone and the queue is empty.
pub(crate) async fn writer_loop<A: Apply>(
    mut writer: A,
    mut rx: mpsc::Receiver<WriteOp>,
    max_batch: usize,
    stats: Arc<WriterStats>,
    journal: Arc<JournalBuffer>,
) {
    // One more than a batch: the journal's records ride along.
    let mut batch: Vec<WriteOp> = Vec::with_capacity(max_batch + 1);
    loop {
        let first = match writer.reconnect_at() {
            None => rx.recv().await,
            Some(at) => tokio::select! {
                op = rx.recv() => op,
                () = tokio::time::sleep_until(at.into()) => {
                    writer.reconnect().await;
                    continue;
                }
            },
        };
        let Some(first) = first else { break };
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        // Journal records ride along with whatever commits anyway.
        let queued = journal.take();
        if !queued.is_empty() {
            batch.push(WriteOp::Journal(queued));
        } else if batch.iter().all(WriteOp::is_flush) {
            for op in batch.drain(..) {
                op.answer(Ok(OpResult::Done));
            }
            continue;
        }
        let started = crate::metrics::now();
        let applied = writer.apply(&batch).await;
        crate::metrics::store_commit(started, batch.len(), applied.is_ok());
        match applied {
            Ok(results) => {
                // The counters describe the gateway's own writes, not the journal's.
                let counted = batch.iter().filter(|op| !op.is_journal()).count();
                if counted > 0 {
                    stats.record(counted, batch.iter().filter(|op| op.is_order()).count());
                }
                for (op, r) in batch.drain(..).zip(results) {
                    op.answer(Ok(r));
                }
            }
            Err(e) if e.is_outage() => {
                // The database is unreachable or its file lost: the
                // connection logged it once. No write of the batch is
                // retried here (one lost during COMMIT may have committed);
                // each gets the error, and a client's retry is idempotent.
                for op in batch.drain(..) {
                    op.answer(Err(same_outage(&e)));
                }
            }
            Err(e) if batch.len() > 1 => {
                tracing::warn!(
                    error.message = %e,
                    error.cause_chain = ?e,
                    batch = batch.len(),
                    "batch failed; retrying its writes one by one"
                );
                for op in batch.drain(..) {
                    match writer.apply(std::slice::from_ref(&op)).await {
                        Ok(mut r) => {
                            if !op.is_journal() {
                                stats.record(1, usize::from(op.is_order()));
                            }
                            let r = r.pop().ok_or(StoreError::Corrupt("empty result"));
                            op.answer(r);
                        }
                        Err(e) => {
                            tracing::error!(error.message = %e, error.cause_chain = ?e, "write failed");
                            op.answer(Err(e));
                        }
                    }
                }
            }
            Err(e) => {
                // A batch of one: its write gets the error.
                tracing::error!(error.message = %e, error.cause_chain = ?e, "write failed");
                if let Some(op) = batch.pop() {
                    op.answer(Err(e));
                }
            }
        }
    }
    writer.close().await;
}

/// The outage `e` again, for each waiter of a failed batch.
fn same_outage(e: &StoreError) -> StoreError {
    match e {
        StoreError::StoreLost => StoreError::StoreLost,
        _ => StoreError::Unavailable,
    }
}

/// Commits journal records [`FLUSH_AFTER`] after they arrive when no other
/// write comes to carry them; ends when the writer is closed.
async fn flusher(sender: mpsc::WeakSender<WriteOp>, journal: Arc<JournalBuffer>) {
    loop {
        journal.arrived().await;
        tokio::time::sleep(FLUSH_AFTER).await;
        let Some(sender) = sender.upgrade() else { return };
        if !journal.is_empty() && sender.send(WriteOp::Flush(None)).await.is_err() {
            return;
        }
    }
}

/// A running writer task and the way to reach it.
pub(crate) struct WriterHandle {
    /// `None` once closed: new writes are refused.
    sender: std::sync::Mutex<Option<mpsc::Sender<WriteOp>>>,
    task: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    stats: Arc<WriterStats>,
    journal: Arc<JournalBuffer>,
}

impl WriterHandle {
    /// Starts `writer` as a Tokio task (its connection awaits the network).
    pub(crate) fn spawn<A: Apply>(writer: A, max_batch: usize) -> Self {
        Self::start(|rx, stats, journal| tokio::spawn(writer_loop(writer, rx, max_batch.max(1), stats, journal)))
    }

    /// Starts `writer` on a thread of its own (its connection blocks): a
    /// blocking batch then never holds up a Tokio worker, and waking the
    /// writer does not queue behind request tasks.
    pub(crate) fn spawn_on_thread<A: Apply>(writer: A, max_batch: usize) -> Self {
        let runtime = tokio::runtime::Handle::current();
        Self::start(|rx, stats, journal| {
            tokio::task::spawn_blocking(move || {
                runtime.block_on(writer_loop(writer, rx, max_batch.max(1), stats, journal))
            })
        })
    }

    fn start(
        run: impl FnOnce(mpsc::Receiver<WriteOp>, Arc<WriterStats>, Arc<JournalBuffer>) -> tokio::task::JoinHandle<()>,
    ) -> Self {
        let stats = Arc::new(WriterStats::default());
        let journal = Arc::new(JournalBuffer::default());
        // Bounded: when the database falls behind, callers wait here
        // instead of queueing without limit.
        let (tx, rx) = mpsc::channel(8192);
        tokio::spawn(flusher(tx.downgrade(), Arc::clone(&journal)));
        let task = run(rx, Arc::clone(&stats), Arc::clone(&journal));
        Self { sender: std::sync::Mutex::new(Some(tx)), task: tokio::sync::Mutex::new(Some(task)), stats, journal }
    }

    /// The journal's queue.
    pub(crate) fn journal(&self) -> &JournalBuffer {
        &self.journal
    }

    /// Queues a write and waits for its commit.
    pub(crate) async fn write<T>(&self, op: impl FnOnce(Reply<T>) -> WriteOp) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let sender = self.sender.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let sender = sender.ok_or(StoreError::WriterStopped)?;
        sender.send(op(reply)).await.map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }

    /// Group-commit counters.
    pub(crate) fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Refuses new writes, lets the queue drain (the journal's too), and
    /// waits for the task.
    pub(crate) async fn close(&self) {
        if !self.journal.is_empty() {
            let _ = self.write(|reply| WriteOp::Flush(Some(reply))).await;
        }
        drop(self.sender.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take());
        // The flusher wakes, finds the writer gone and ends.
        self.journal.push_wake();
        if let Some(task) = self.task.lock().await.take() {
            let _ = task.await;
        }
    }
}
