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
//! never takes the others down with it.
//!
//! PostgreSQL's writer is a Tokio task running sqlx ([`SqlxWriter`]). The
//! SQLite writer runs the same loop on a thread of its own with a
//! synchronous connection (`sqlite_writer`): with sqlx, every statement
//! would be a hop to sqlx's SQLite thread and back, and on a busy machine
//! each hop waits for a core, once per statement of every batch.

use std::future::Future;
use std::sync::Arc;

use sqlx::{Connection, Database};
use tokio::sync::{mpsc, oneshot};

use super::{
    AttemptRecord, NewNotification, NewRefund, NotificationRow, OrderRecord, PlaceOutcome, RefundOutcome,
    SettleOutcome, Settlement, StoreError, WriterStats,
};

/// Where a write's result goes.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// What inserting one order did.
pub(crate) enum Inserted {
    /// The order is new; the caller's record is what was stored.
    New,
    /// `(merchant, out_trade_no)` already existed; this is the stored order.
    Existing(Box<OrderRecord>),
}

/// Runs a batch of writes in one transaction and commits once.
pub(crate) trait Apply: Send + 'static {
    /// One result per write, in order; an error rolls the whole batch back.
    fn apply(&mut self, ops: &[WriteOp]) -> impl Future<Output = Result<Vec<OpResult>, StoreError>> + Send;
    /// Closes the connection.
    fn close(self) -> impl Future<Output = ()> + Send;
}

/// The SQL of each write for a sqlx backend. Every function runs inside the
/// batch's transaction.
pub(crate) trait Backend: Send + Sync + 'static {
    /// The sqlx database.
    type Db: Database;

    /// Inserts an order unless `(merchant, out_trade_no)` exists.
    fn insert_order(
        c: &mut <Self::Db as Database>::Connection,
        o: &OrderRecord,
    ) -> impl Future<Output = Result<Result<Inserted, StoreError>, sqlx::Error>> + Send;
    /// Inserts several orders; one result per order, in order. Backends may
    /// override this with one multi-row statement (one round trip).
    fn insert_orders(
        c: &mut <Self::Db as Database>::Connection,
        orders: &[&OrderRecord],
    ) -> impl Future<Output = Result<Vec<Result<Inserted, StoreError>>, sqlx::Error>> + Send {
        async move {
            let mut out = Vec::with_capacity(orders.len());
            for o in orders {
                out.push(Self::insert_order(&mut *c, o).await?);
            }
            Ok(out)
        }
    }
    /// Moves a pending order to a final state, with its outbox row.
    fn settle(
        c: &mut <Self::Db as Database>::Connection,
        s: &Settlement,
    ) -> impl Future<Output = Result<SettleOutcome, sqlx::Error>> + Send;
    /// Leases due notifications.
    fn claim(
        c: &mut <Self::Db as Database>::Connection,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<NotificationRow>, sqlx::Error>> + Send;
    /// Records an attempt and reschedules.
    fn record_attempt(
        c: &mut <Self::Db as Database>::Connection,
        a: &AttemptRecord,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Applies a refund (checks and insert).
    fn refund(
        c: &mut <Self::Db as Database>::Connection,
        n: &NewRefund,
    ) -> impl Future<Output = Result<RefundOutcome, sqlx::Error>> + Send;
    /// Completes an apply-refund, with its outbox row.
    fn complete_refund(
        c: &mut <Self::Db as Database>::Connection,
        id: i64,
        at: i64,
        n: Option<&NewNotification>,
    ) -> impl Future<Output = Result<bool, sqlx::Error>> + Send;
    /// The readiness probe's write.
    fn probe(
        c: &mut <Self::Db as Database>::Connection,
        at: i64,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

/// One write for the writer, with where to send its result.
pub(crate) enum WriteOp {
    PlaceOrder(Box<OrderRecord>, Reply<PlaceOutcome>),
    Settle(Box<Settlement>, Reply<SettleOutcome>),
    Claim {
        now: i64,
        lease_until: i64,
        limit: i64,
        reply: Reply<Vec<NotificationRow>>,
    },
    Attempt(Box<AttemptRecord>, Reply<()>),
    Refund(Box<NewRefund>, Reply<RefundOutcome>),
    CompleteRefund {
        id: i64,
        at: i64,
        notification: Option<Box<NewNotification>>,
        reply: Reply<bool>,
    },
    /// The readiness probe's trivial write.
    Probe {
        at: i64,
        reply: Reply<()>,
    },
}

/// A write's result before it is sent.
// Results live for one batch; boxing them would only add allocations.
#[allow(clippy::large_enum_variant)]
pub(crate) enum OpResult {
    PlaceOrder(Result<Inserted, StoreError>),
    Settle(SettleOutcome),
    Claim(Vec<NotificationRow>),
    Attempt,
    Refund(RefundOutcome),
    CompleteRefund(bool),
    Probe,
}

impl WriteOp {
    pub(crate) fn is_order(&self) -> bool {
        matches!(self, WriteOp::PlaceOrder(..))
    }

    async fn run<B: Backend>(&self, c: &mut <B::Db as Database>::Connection) -> Result<OpResult, sqlx::Error> {
        Ok(match self {
            WriteOp::PlaceOrder(o, _) => OpResult::PlaceOrder(B::insert_order(c, o).await?),
            WriteOp::Settle(s, _) => OpResult::Settle(B::settle(c, s).await?),
            WriteOp::Claim { now, lease_until, limit, .. } => {
                OpResult::Claim(B::claim(c, *now, *lease_until, *limit).await?)
            }
            WriteOp::Attempt(a, _) => {
                B::record_attempt(c, a).await?;
                OpResult::Attempt
            }
            WriteOp::Refund(n, _) => OpResult::Refund(B::refund(c, n).await?),
            WriteOp::CompleteRefund { id, at, notification, .. } => {
                OpResult::CompleteRefund(B::complete_refund(c, *id, *at, notification.as_deref()).await?)
            }
            WriteOp::Probe { at, .. } => {
                B::probe(c, *at).await?;
                OpResult::Probe
            }
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
                    OpResult::PlaceOrder(Ok(Inserted::New)) => Ok(PlaceOutcome::Created(*o)),
                    OpResult::PlaceOrder(Ok(Inserted::Existing(r))) => Ok(PlaceOutcome::Existing(*r)),
                    OpResult::PlaceOrder(Err(e)) => Err(e),
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
            WriteOp::CompleteRefund { reply, .. } => {
                drop(reply.send(pick(result, |v| if let OpResult::CompleteRefund(x) = v { Some(x) } else { None })))
            }
            WriteOp::Probe { reply, .. } => {
                drop(reply.send(pick(result, |v| matches!(v, OpResult::Probe).then_some(()))))
            }
        }
    }
}

/// The writer of a sqlx backend: its connection.
pub(crate) struct SqlxWriter<B: Backend>(pub(crate) <B::Db as Database>::Connection);

impl<B: Backend> Apply for SqlxWriter<B> {
    async fn apply(&mut self, ops: &[WriteOp]) -> Result<Vec<OpResult>, StoreError> {
        Ok(apply::<B>(&mut self.0, ops).await?)
    }

    async fn close(self) {
        let _ = self.0.close().await;
    }
}

/// Runs writes in one transaction and commits once.
async fn apply<B: Backend>(
    conn: &mut <B::Db as Database>::Connection,
    ops: &[WriteOp],
) -> Result<Vec<OpResult>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    // New orders go first, all together: no other write in a batch can
    // depend on them (a client learns an order's number only after its
    // commit), and one statement for all of them saves round trips.
    let orders: Vec<&OrderRecord> =
        ops.iter().filter_map(|op| if let WriteOp::PlaceOrder(o, _) = op { Some(&**o) } else { None }).collect();
    let mut placed = if orders.is_empty() { Vec::new() } else { B::insert_orders(&mut tx, &orders).await? }.into_iter();
    let mut results = Vec::with_capacity(ops.len());
    for op in ops {
        results.push(match op {
            WriteOp::PlaceOrder(..) => {
                OpResult::PlaceOrder(placed.next().unwrap_or(Err(StoreError::Corrupt("missing insert result"))))
            }
            other => other.run::<B>(&mut tx).await?,
        });
    }
    tx.commit().await?;
    Ok(results)
}

/// The writer task: runs until every sender is gone and the queue is empty.
pub(crate) async fn writer_loop<A: Apply>(
    mut writer: A,
    mut rx: mpsc::Receiver<WriteOp>,
    max_batch: usize,
    stats: Arc<WriterStats>,
) {
    let mut batch: Vec<WriteOp> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let started = crate::metrics::now();
        let applied = writer.apply(&batch).await;
        crate::metrics::store_commit(started, batch.len(), applied.is_ok());
        match applied {
            Ok(results) => {
                stats.record(batch.len(), batch.iter().filter(|op| op.is_order()).count());
                for (op, r) in batch.drain(..).zip(results) {
                    op.answer(Ok(r));
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
                            stats.record(1, usize::from(op.is_order()));
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

/// A running writer task and the way to reach it.
pub(crate) struct WriterHandle {
    /// `None` once closed: new writes are refused.
    sender: std::sync::Mutex<Option<mpsc::Sender<WriteOp>>>,
    task: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    stats: Arc<WriterStats>,
}

impl WriterHandle {
    /// Starts `writer` as a Tokio task (its connection awaits the network).
    pub(crate) fn spawn<A: Apply>(writer: A, max_batch: usize) -> Self {
        Self::start(|rx, stats| tokio::spawn(writer_loop(writer, rx, max_batch.max(1), stats)))
    }

    /// Starts `writer` on a thread of its own (its connection blocks): a
    /// blocking batch then never holds up a Tokio worker, and waking the
    /// writer does not queue behind request tasks.
    pub(crate) fn spawn_on_thread<A: Apply>(writer: A, max_batch: usize) -> Self {
        let runtime = tokio::runtime::Handle::current();
        Self::start(|rx, stats| {
            tokio::task::spawn_blocking(move || runtime.block_on(writer_loop(writer, rx, max_batch.max(1), stats)))
        })
    }

    fn start(run: impl FnOnce(mpsc::Receiver<WriteOp>, Arc<WriterStats>) -> tokio::task::JoinHandle<()>) -> Self {
        let stats = Arc::new(WriterStats::default());
        // Bounded: when the database falls behind, callers wait here
        // instead of queueing without limit.
        let (tx, rx) = mpsc::channel(8192);
        let task = run(rx, Arc::clone(&stats));
        Self { sender: std::sync::Mutex::new(Some(tx)), task: tokio::sync::Mutex::new(Some(task)), stats }
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

    /// Refuses new writes, lets the queue drain, and waits for the task.
    pub(crate) async fn close(&self) {
        drop(self.sender.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take());
        if let Some(task) = self.task.lock().await.take() {
            let _ = task.await;
        }
    }
}
