//! The SQLite writer: one synchronous connection on the writer's own thread.
//!
//! Reads stay on sqlx's pool ([`super::SqliteStore`]); every write the
//! group-commit loop batches runs here. A batch is one `BEGIN IMMEDIATE`,
//! its statements (prepared once, cached) and one `COMMIT`, all on this
//! thread: no statement waits for another thread to be scheduled.
//!
//! rusqlite and sqlx link the same `libsqlite3-sys` (see the workspace
//! manifest), so both sides run the same SQLite library.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::StoreError;
use super::writer::{Apply, OpResult, WriteOp, run_batch};

/// Prepared statements kept per connection (there are about a dozen).
const STATEMENT_CACHE: usize = 32;

/// The writer's connection.
pub(crate) struct SqliteWriter {
    conn: Connection,
}

impl SqliteWriter {
    /// Opens the database the pool created and migrated, with the same
    /// settings: WAL, `synchronous=FULL`, foreign keys, a busy timeout.
    pub(crate) fn open(path: &Path) -> Result<Self, rusqlite::Error> {
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(rusqlite::Error::InvalidParameterName(format!("journal_mode is {mode}, not WAL")));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Self { conn })
    }
}

impl Apply for SqliteWriter {
    /// Runs `ops` in one transaction; nothing of it stays on error. Blocks
    /// this thread: the writer runs on a thread of its own
    /// (`WriterHandle::spawn_on_thread`), and the statements' futures are
    /// ready at once (see [`super::db::Db`] for rusqlite).
    async fn apply(&mut self, ops: &[WriteOp]) -> Result<Vec<OpResult>, StoreError> {
        // IMMEDIATE: take the write lock at BEGIN, so a batch never fails
        // half-way on a lock upgrade (the pool also writes, rarely).
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        match run_batch(&mut self.conn, ops).await {
            Ok(results) => match self.conn.execute_batch("COMMIT") {
                Ok(()) => Ok(results),
                Err(e) => {
                    self.rollback();
                    Err(e.into())
                }
            },
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }

    async fn close(self) {
        if let Err((_, e)) = self.conn.close() {
            tracing::warn!(error.message = %e, "closing the writer's connection failed");
        }
    }
}

impl SqliteWriter {
    fn rollback(&self) {
        if !self.conn.is_autocommit()
            && let Err(e) = self.conn.execute_batch("ROLLBACK")
        {
            tracing::error!(error.message = %e, "rolling back the writer's batch failed");
        }
    }
}
