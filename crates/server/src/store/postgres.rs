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

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Row};

use super::writer::{Apply, OpResult, WriteOp, WriterHandle, run_batch};
use super::{SqlStore, StoreError};

/// PostgreSQL store with a group-commit writer.
pub type PgStore = SqlStore<sqlx::Postgres>;

impl SqlStore<sqlx::Postgres> {
    /// Connects, runs migrations (safe when several instances start at
    /// once: the migrator holds an advisory lock) and starts the writer.
    ///
    /// # Errors
    /// When the database is unreachable or a migration fails.
    pub async fn open(options: PgConnectOptions, max_batch: usize) -> Result<Self, StoreError> {
        let options = options.disable_statement_logging();
        let pool = PgPoolOptions::new().max_connections(8).min_connections(1).connect_with(options.clone()).await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let next: i64 = sqlx::query("SELECT nextval('gateway_node_ids') AS n").fetch_one(&pool).await?.try_get("n")?;
        let node_id = u8::try_from(next.rem_euclid(100)).unwrap_or(0);
        let conn = options.connect().await?;
        Ok(Self { pool, writer: WriterHandle::spawn(PgWriter(conn), max_batch), node_id, vault: Default::default() })
    }
}

/// The writer's connection: a batch is a sqlx transaction on it.
pub(crate) struct PgWriter(PgConnection);

impl Apply for PgWriter {
    async fn apply(&mut self, ops: &[WriteOp]) -> Result<Vec<OpResult>, StoreError> {
        let mut tx = self.0.begin().await?;
        let results = run_batch(&mut *tx, ops).await?;
        tx.commit().await?;
        Ok(results)
    }

    async fn close(self) {
        let _ = self.0.close().await;
    }
}
