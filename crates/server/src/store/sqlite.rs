//! The embedded SQLite store: WAL, `synchronous=FULL`.
//!
//! Reads and merchant administration go through a small sqlx pool. Every
//! other write goes through the group-commit writer ([`super::writer`]) on
//! its own synchronous connection and thread ([`super::sqlite_writer`]), so
//! one fsync covers a whole batch of concurrent writes. What the store does
//! is shared with PostgreSQL ([`super::SqlStore`]); this file only opens it.
//!
//! Creating a store also writes a marker file ([`STORE_MARKER`]) into the
//! data directory. A directory with the marker but without the database
//! lost its store (deleted, a volume not mounted, the wrong path): opening
//! it is refused ([`StoreError::Missing`]) unless the caller asks for an
//! empty store, instead of silently starting one with a new sandbox
//! merchant. Once open, no connection creates the file again: if it is
//! removed while the gateway runs, the writer notices
//! ([`super::sqlite_writer`]) and the store refuses every operation.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

use super::sqlite_writer::SqliteWriter;
use super::writer::WriterHandle;
use super::{Health, SqlStore, StoreError};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "openvmp.db";

/// File written into the data directory when a store is created there: its
/// presence says the directory held a store. Not matched by `openvmp.db*`,
/// so removing the database files leaves it.
pub const STORE_MARKER: &str = ".openvmp-store";

/// What the marker says to whoever finds it.
const MARKER_TEXT: &str = "This directory holds an OpenVMP store (openvmp.db, with its -wal and -shm files).\n\
If openvmp.db is missing, `vmp serve` refuses to start: restore it from a backup,\n\
or start once with `vmp serve --init` to begin with an empty store.\n";

/// SQLite store with a group-commit writer.
pub type SqliteStore = SqlStore<sqlx::Sqlite>;

fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        // Created once, explicitly, in `open_with`: a pool connection opened
        // later must fail on a removed file, not create an empty one.
        .create_if_missing(false)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // Space freed by the pool's writes (merchant administration, secrets
        // re-sealed) is zeroed, so a replaced secret does not linger in the
        // file; the order writer has its own connection.
        .pragma("secure_delete", "ON")
        .disable_statement_logging()
}

impl SqlStore<sqlx::Sqlite> {
    /// Opens (creating if needed) the store in `data_dir`, runs migrations
    /// and starts the writer task. Must be called inside a Tokio runtime.
    ///
    /// # Errors
    /// When the directory cannot be created, the database cannot be opened,
    /// a migration fails, or the directory held a store whose database is
    /// missing ([`StoreError::Missing`]).
    pub async fn open(data_dir: &Path, max_batch: usize) -> Result<Self, StoreError> {
        Self::open_with(data_dir, max_batch, false).await
    }

    /// [`Self::open`]; with `init`, a directory whose store is missing gets
    /// an empty one instead of an error.
    ///
    /// # Errors
    /// As [`Self::open`].
    pub async fn open_with(data_dir: &Path, max_batch: usize, init: bool) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(DB_FILE);
        if !path.try_exists()? {
            if data_dir.join(STORE_MARKER).try_exists()? && !init {
                return Err(StoreError::Missing(path));
            }
            connect_options(&path).create_if_missing(true).connect().await?.close().await?;
        }
        let options = connect_options(&path);
        // No ping before each use: a local file has no connection to lose,
        // and the ping is one more round trip to the connection's thread.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let health = Arc::new(Health::default());
        let writer = SqliteWriter::open(&path, Arc::clone(&health))?;
        // Also for a store created before markers existed.
        write_marker(data_dir)?;
        Ok(Self {
            pool,
            writer: WriterHandle::spawn_on_thread(writer, max_batch),
            node_id: 1,
            health,
            vault: Default::default(),
        })
    }
}

/// Writes the marker (durably: the file and its directory entry) unless it
/// is there.
fn write_marker(data_dir: &Path) -> std::io::Result<()> {
    let marker = data_dir.join(STORE_MARKER);
    if marker.try_exists()? {
        return Ok(());
    }
    let mut file = std::fs::File::create(&marker)?;
    file.write_all(MARKER_TEXT.as_bytes())?;
    file.sync_all()?;
    // The directory entry of the marker (and of the database created just
    // before it) reaches the disk too.
    std::fs::File::open(data_dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn a_store_made_before_markers_is_marked_when_opened_and_then_guarded() {
        // Arrange: a store without its marker (as written before markers existed).
        let dir = tempfile::tempdir().unwrap();
        SqliteStore::open(dir.path(), 1).await.unwrap().close().await.unwrap();
        std::fs::remove_file(dir.path().join(STORE_MARKER)).unwrap();

        // Act
        SqliteStore::open(dir.path(), 1).await.unwrap().close().await.unwrap();
        std::fs::remove_file(dir.path().join(DB_FILE)).unwrap();
        let reopened = SqliteStore::open(dir.path(), 1).await;

        // Assert
        assert!(matches!(reopened, Err(StoreError::Missing(ref p)) if p.ends_with(DB_FILE)));
        assert!(!dir.path().join(DB_FILE).exists());
        SqliteStore::open_with(dir.path(), 1, true).await.unwrap().close().await.unwrap();
    }
}
