//! The embedded SQLite store: WAL, `synchronous=FULL`.
//!
//! Reads and merchant administration go through a small sqlx pool. Every
//! other write goes through the group-commit writer ([`super::writer`]) on
//! its own synchronous connection and thread ([`super::sqlite_writer`]), so
//! one fsync covers a whole batch of concurrent writes. What the store does
//! is shared with PostgreSQL ([`super::SqlStore`]); this file only opens it.

use std::path::Path;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::sqlite_writer::SqliteWriter;
use super::writer::WriterHandle;
use super::{SqlStore, StoreError};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "openvmp.db";

/// SQLite store with a group-commit writer.
pub type SqliteStore = SqlStore<sqlx::Sqlite>;

fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
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
    /// When the directory cannot be created, the database cannot be opened
    /// or a migration fails.
    pub async fn open(data_dir: &Path, max_batch: usize) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        let options = connect_options(&data_dir.join(DB_FILE));
        // No ping before each use: a local file has no connection to lose,
        // and the ping is one more round trip to the connection's thread.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let writer = SqliteWriter::open(&data_dir.join(DB_FILE))?;
        Ok(Self {
            pool,
            writer: WriterHandle::spawn_on_thread(writer, max_batch),
            node_id: 1,
            vault: Default::default(),
        })
    }
}
