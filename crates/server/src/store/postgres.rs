//! The PostgreSQL store, for several gateway instances on one database.
//!
//! Same type, same operations and same group-commit writer as SQLite
//! ([`super::SqlStore`], [`super::ops`]); this file opens it and runs the
//! writer's transactions on a sqlx connection. What makes it safe across
//! instances is in the SQL ([`super::sql`]): unique constraints decide
//! races, a refund locks its order row (`FOR UPDATE`), and notifications
//! are claimed with `FOR UPDATE SKIP LOCKED` plus a lease, so each attempt
//! is sent by one instance and a dead instance's leases run out for
//! another to take over.
//!
//! Losing the database (a terminated backend, a restart, a network cut)
//! never needs a gateway restart:
//! - the writer's connection ([`PgWriter`]) is dropped on the first sign of
//!   loss and opened again, at once and then with a capped backoff
//!   ([`Backoff`]), whether or not writes come; meanwhile writes fail at
//!   once ([`StoreError::Unavailable`], answered `-1`) instead of waiting;
//! - the read pool tests a connection before handing it out and opens new
//!   ones by itself, waiting at most [`ACQUIRE_TIMEOUT`]; while the
//!   writer's last attempt to reconnect failed, reads fail at once too
//!   ([`Health`]), so every request is answered `-1` promptly and the
//!   outage is logged by the writer, not by each request;
//! - opening the store (connect, migrations under the migrator's advisory
//!   lock, the node id) is retried as a whole on a lost or refused
//!   connection for up to [`STARTUP_WAIT`]; a lost session releases its
//!   advisory lock, and each migration commits with its bookkeeping row, so
//!   a retry resumes where the last one stopped.
//!
//! The notifier and the sweeper hold no connection of their own: they go
//! through the pool and the writer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Row};

use super::writer::{Apply, OpResult, WriteOp, WriterHandle, run_batch};
use super::{Health, SqlStore, StoreError};

/// PostgreSQL store with a group-commit writer.
pub type PgStore = SqlStore<sqlx::Postgres>;

/// How long opening the store keeps retrying a database that cannot be
/// reached (not yet up, restarting).
pub(crate) const STARTUP_WAIT: Duration = Duration::from_secs(30);
/// Longest wait for a pooled connection (reads, merchant administration):
/// while the database is down, a request fails after this instead of
/// waiting for sqlx's default 30 s.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest wait for one new connection of the writer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a batch may take from BEGIN to the end of COMMIT. A database
/// that stops answering (a network cut) would otherwise hold the writer,
/// and every write behind it, for as long as TCP takes to give up.
const BATCH_TIMEOUT: Duration = Duration::from_secs(10);
/// `application_name` of the writer's connection (`pg_stat_activity`).
pub const WRITER_APPLICATION_NAME: &str = "openvmp-writer";

impl SqlStore<sqlx::Postgres> {
    /// Connects, runs migrations (safe when several instances start at
    /// once: the migrator holds an advisory lock) and starts the writer.
    /// A database that cannot be reached, or a connection lost on the way,
    /// is retried with a capped backoff for up to `STARTUP_WAIT`.
    ///
    /// # Errors
    /// When the database stays unreachable, refuses the login, or a
    /// migration fails.
    pub async fn open(options: PgConnectOptions, max_batch: usize) -> Result<Self, StoreError> {
        let options = options.disable_statement_logging();
        let deadline = Instant::now() + STARTUP_WAIT;
        let mut backoff = Backoff::default();
        loop {
            match Self::open_once(&options, max_batch).await {
                Ok(store) => return Ok(store),
                Err(e) if is_loss(&e) && Instant::now() < deadline => {
                    let delay = backoff.failed();
                    tracing::warn!(
                        error.message = %e,
                        error.cause_chain = ?e,
                        retry_in_ms = delay.as_millis(),
                        "PostgreSQL not reachable while opening the store; retrying"
                    );
                    tokio::time::sleep(delay).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn open_once(options: &PgConnectOptions, max_batch: usize) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let next: i64 = sqlx::query("SELECT nextval('gateway_node_ids') AS n").fetch_one(&pool).await?.try_get("n")?;
        let node_id = u8::try_from(next.rem_euclid(100)).unwrap_or(0);
        let health = Arc::new(Health::default());
        let writer =
            PgWriter::connect(options.clone().application_name(WRITER_APPLICATION_NAME), Arc::clone(&health)).await?;
        Ok(Self { pool, writer: WriterHandle::spawn(writer, max_batch), node_id, health, vault: Default::default() })
    }
}

/// Whether `e` says the connection to the database is gone (or could not
/// be made), rather than that one statement failed on a working one.
fn is_loss(e: &StoreError) -> bool {
    use sqlx::migrate::MigrateError;
    match e {
        StoreError::Database(e)
        | StoreError::Migrate(MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _)) => is_sqlx_loss(e),
        StoreError::Unavailable => true,
        _ => false,
    }
}

fn is_sqlx_loss(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed => true,
        // Class 08: connection exception. 57P01 admin shutdown (a
        // terminated backend, a fast shutdown), 57P02 crash shutdown,
        // 57P03 cannot connect now (starting up, shutting down).
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03"))
        }
        _ => false,
    }
}

/// When to try the next reconnect: the first at once, then after 100 ms,
/// doubling up to 2 s, so a database that comes back is written to again
/// within about 2 s, and one that stays down costs one connection attempt
/// every 2 s.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    failures: u32,
    next_at: Option<Instant>,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(2);

    /// Whether an attempt may be made now.
    fn due(&self, now: Instant) -> bool {
        self.next_at.is_none_or(|at| now >= at)
    }

    /// Records a failed attempt; the delay before the next one.
    fn failed(&mut self) -> Duration {
        let delay = Self::FIRST.saturating_mul(1 << self.failures.min(8)).min(Self::MAX);
        self.failures = self.failures.saturating_add(1);
        self.next_at = Some(Instant::now() + delay);
        delay
    }

    /// Failed attempts since the last success.
    fn failures(&self) -> u32 {
        self.failures
    }
}

/// The writer's connection: a batch is a sqlx transaction on it. `None`
/// while the database is unreachable; the next batch due under the
/// backoff connects again.
pub(crate) struct PgWriter {
    options: PgConnectOptions,
    conn: Option<PgConnection>,
    backoff: Backoff,
    /// When the connection was lost, while it is.
    down_since: Option<Instant>,
    /// Told when the database cannot be reached, so reads fail at once.
    health: Arc<Health>,
}

/// Where a batch failed.
enum Failure {
    /// At `BEGIN`: nothing of the batch ran.
    Begin(sqlx::Error),
    /// In a statement: the transaction is rolled back.
    Batch(StoreError),
    /// At `COMMIT`: if the connection broke, the outcome is unknown.
    Commit(sqlx::Error),
    /// The batch ran out of [`BATCH_TIMEOUT`]: the outcome is unknown.
    TimedOut,
}

impl PgWriter {
    async fn connect(options: PgConnectOptions, health: Arc<Health>) -> Result<Self, StoreError> {
        let conn = connect(&options).await?;
        Ok(Self { options, conn: Some(conn), backoff: Backoff::default(), down_since: None, health })
    }

    /// The connection, opened again if it was lost and the backoff allows.
    async fn connection(&mut self) -> Result<&mut PgConnection, StoreError> {
        if self.conn.is_none() {
            if !self.backoff.due(Instant::now()) {
                return Err(StoreError::Unavailable);
            }
            match connect(&self.options).await {
                Ok(conn) => {
                    let down_ms = self.down_since.take().map(|t| t.elapsed().as_millis());
                    tracing::info!(down_ms, attempts = self.backoff.failures() + 1, "store writer reconnected");
                    self.backoff = Backoff::default();
                    self.health.set_reachable(true);
                    self.conn = Some(conn);
                }
                Err(e) => {
                    let delay = self.backoff.failed();
                    self.health.set_reachable(false);
                    // Logged at 1, 2, 4, 8… failures: an outage of an hour
                    // writes about a dozen lines, not thousands.
                    if self.backoff.failures().is_power_of_two() {
                        tracing::warn!(
                            error.message = %e,
                            failures = self.backoff.failures(),
                            retry_in_ms = delay.as_millis(),
                            "store writer cannot reach PostgreSQL; writes fail (-1) until it can"
                        );
                    }
                    return Err(StoreError::Unavailable);
                }
            }
        }
        self.conn.as_mut().ok_or(StoreError::Unavailable)
    }

    /// Drops the connection after `e`, logging the loss.
    fn lost(&mut self, e: &dyn std::fmt::Display, phase: &'static str, writes: usize) {
        self.conn = None;
        self.down_since.get_or_insert_with(Instant::now);
        let outcome = match phase {
            "commit" | "timeout" => "unknown (it may have committed); its writes were answered -1, a retry is safe",
            "idle" => "lost while idle; the next batch runs on a new connection",
            _ => "rolled back; its writes were answered -1",
        };
        tracing::error!(
            error.message = %e,
            phase,
            writes,
            outcome,
            "store writer lost its PostgreSQL connection; reconnecting"
        );
    }

    /// What a failure means for the batch, dropping a lost connection.
    fn failed(&mut self, failure: Failure, writes: usize) -> StoreError {
        match failure {
            Failure::Begin(e) if is_sqlx_loss(&e) => self.lost_with(&e, "begin", writes),
            Failure::Commit(e) if is_sqlx_loss(&e) => self.lost_with(&e, "commit", writes),
            Failure::Batch(StoreError::Database(e)) if is_sqlx_loss(&e) => self.lost_with(&e, "batch", writes),
            Failure::TimedOut => {
                self.lost(&format_args!("no answer within {BATCH_TIMEOUT:?}"), "timeout", writes);
                StoreError::Unavailable
            }
            // The server answered with an error: the transaction is rolled
            // back and the connection still serves.
            Failure::Begin(e) | Failure::Commit(e) => StoreError::Database(e),
            Failure::Batch(e) => e,
        }
    }

    fn lost_with(&mut self, e: &sqlx::Error, phase: &'static str, writes: usize) -> StoreError {
        self.lost(e, phase, writes);
        StoreError::Unavailable
    }
}

async fn connect(options: &PgConnectOptions) -> Result<PgConnection, sqlx::Error> {
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Ok(connected) => connected,
        Err(_) => Err(sqlx::Error::Io(std::io::ErrorKind::TimedOut.into())),
    }
}

/// One batch in one transaction.
async fn attempt(conn: &mut PgConnection, ops: &[WriteOp]) -> Result<Vec<OpResult>, Failure> {
    let run = async {
        let mut tx = conn.begin().await.map_err(Failure::Begin)?;
        let results = run_batch(&mut *tx, ops).await.map_err(Failure::Batch)?;
        tx.commit().await.map_err(Failure::Commit)?;
        Ok(results)
    };
    tokio::time::timeout(BATCH_TIMEOUT, run).await.unwrap_or(Err(Failure::TimedOut))
}

impl Apply for PgWriter {
    async fn apply(&mut self, ops: &[WriteOp]) -> Result<Vec<OpResult>, StoreError> {
        let reused = self.conn.is_some();
        let failure = match attempt(self.connection().await?, ops).await {
            Ok(results) => return Ok(results),
            Err(failure) => failure,
        };
        match failure {
            // A connection that sat idle was closed under it (its backend
            // terminated, the server restarted): nothing of the batch ran,
            // so it runs once more on a new connection, at once.
            Failure::Begin(e) if reused && is_sqlx_loss(&e) => {
                self.lost(&e, "idle", 0);
                match attempt(self.connection().await?, ops).await {
                    Ok(results) => Ok(results),
                    Err(failure) => Err(self.failed(failure, ops.len())),
                }
            }
            failure => Err(self.failed(failure, ops.len())),
        }
    }

    async fn close(self) {
        if let Some(conn) = self.conn {
            let _ = conn.close().await;
        }
    }

    fn reconnect_at(&self) -> Option<Instant> {
        match self.conn {
            Some(_) => None,
            None => Some(self.backoff.next_at.unwrap_or_else(Instant::now)),
        }
    }

    async fn reconnect(&mut self) {
        // Failures are logged and counted by `connection`.
        let _ = self.connection().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnects_are_tried_at_once_then_backed_off_up_to_two_seconds() {
        let mut b = Backoff::default();
        assert!(b.due(Instant::now()), "the first attempt is not delayed");
        let delays: Vec<u128> = (0..8).map(|_| b.failed().as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
        assert!(!b.due(Instant::now()));
        assert!(b.due(Instant::now() + Duration::from_secs(2)));
        for _ in 0..100 {
            b.failed();
        }
        assert_eq!(b.failed(), Backoff::MAX, "no overflow after many failures");
    }

    #[test]
    fn a_lost_connection_is_told_from_a_failed_statement() {
        let io = sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into());
        assert!(is_sqlx_loss(&io));
        assert!(is_loss(&StoreError::Database(io)));
        assert!(is_loss(&StoreError::Migrate(sqlx::migrate::MigrateError::Execute(sqlx::Error::PoolTimedOut))));
        assert!(!is_sqlx_loss(&sqlx::Error::RowNotFound));
        assert!(!is_loss(&StoreError::Corrupt("x")));
    }
}
