//! The SQLite writer: one synchronous connection on the writer's own thread.
//!
//! Reads stay on sqlx's pool ([`super::SqliteStore`]); every write the
//! group-commit loop batches runs here. A batch is one `BEGIN IMMEDIATE`,
//! its statements (prepared once, cached) and one `COMMIT`, all on this
//! thread: no statement waits for another thread to be scheduled.
//!
//! rusqlite and sqlx link the same `libsqlite3-sys` (see the workspace
//! manifest), so both sides run the same SQLite library.
//!
//! After each COMMIT, before anyone is answered, the writer checks that the
//! database file it writes is still the one at its path (device and inode:
//! one `stat`, once per batch, not per write). If the file was removed or
//! replaced, SQLite would go on writing to the unlinked file, and
//! everything answered `00` would be gone at the next start; instead the
//! batch and every operation after it fail ([`StoreError::StoreLost`]), and
//! the loss is logged once.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::writer::{Apply, OpResult, WriteOp, run_batch};
use super::{Health, StoreError};

/// Prepared statements kept per connection (there are about a dozen).
const STATEMENT_CACHE: usize = 32;

/// The writer's connection.
pub(crate) struct SqliteWriter {
    conn: Connection,
    path: PathBuf,
    /// The database file as opened.
    file: FileId,
    /// Shared with the store: marked lost once the file is found gone.
    health: Arc<Health>,
}

/// What tells one file from another at the same path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The file now at `path` (an error when there is none).
    fn of(path: &Path) -> std::io::Result<Self> {
        let meta = std::fs::metadata(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Ok(Self { dev: meta.dev(), ino: meta.ino() })
        }
        #[cfg(not(unix))]
        {
            // Elsewhere only a removed file is noticed.
            let _ = meta;
            Ok(Self { dev: 0, ino: 0 })
        }
    }
}

impl SqliteWriter {
    /// Opens the database the pool created and migrated, with the same
    /// settings: WAL, `synchronous=FULL`, foreign keys, a busy timeout.
    /// `health` is marked lost when the file is found removed or replaced.
    pub(crate) fn open(path: &Path, health: Arc<Health>) -> Result<Self, StoreError> {
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(rusqlite::Error::InvalidParameterName(format!("journal_mode is {mode}, not WAL")).into());
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let file = FileId::of(path)?;
        Ok(Self { conn, path: path.to_owned(), file, health })
    }

    /// Whether the database file is still the one this connection writes;
    /// the first time it is not, marks the store lost and logs it.
    fn still_in_place(&self) -> bool {
        let now = FileId::of(&self.path);
        if now.as_ref().is_ok_and(|id| *id == self.file) {
            return true;
        }
        if self.health.mark_lost() {
            let what = match now {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => "removed".to_owned(),
                Err(e) => format!("unreadable ({e})"),
                Ok(_) => "replaced by another file".to_owned(),
            };
            tracing::error!(
                path = %self.path.display(),
                "the store's database file was {what} while the gateway ran: every request now fails (-1) and \
                 /readyz answers 503; stop the gateway, restore the file from a backup (or start with --init \
                 for an empty store)"
            );
        }
        false
    }
}

impl Apply for SqliteWriter {
    /// Runs `ops` in one transaction; nothing of it stays on error. Blocks
    /// this thread: the writer runs on a thread of its own
    /// (`WriterHandle::spawn_on_thread`), and the statements' futures are
    /// ready at once (see [`super::db::Db`] for rusqlite).
    async fn apply(&mut self, ops: &[WriteOp]) -> Result<Vec<OpResult>, StoreError> {
        self.health.check()?;
        // IMMEDIATE: take the write lock at BEGIN, so a batch never fails
        // half-way on a lock upgrade (the pool also writes, rarely).
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        match run_batch(&mut self.conn, ops).await {
            Ok(results) => match self.conn.execute_batch("COMMIT") {
                // Committed, but to a file that is gone: not durable.
                Ok(()) if !self.still_in_place() => Err(StoreError::StoreLost),
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
