//! The few primitives each backend provides; everything else is written
//! once on top of them ([`super::ops`]).
//!
//! A primitive runs one statement with borrowed bind values ([`Arg`]) and
//! maps rows through [`Row`]. Three connections implement [`Db`]: sqlx's
//! SQLite and PostgreSQL connections (reads, merchant administration, and
//! PostgreSQL's writer), and rusqlite's connection (the SQLite writer,
//! synchronous on its own thread: its futures complete without waiting).

use std::future::Future;

use rusqlite::types::{ToSqlOutput, ValueRef};
use sqlx::{Database, Executor, Row as _};

use super::StoreError;
use super::sql::Sql;

/// A bind value, borrowed from the record being written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    /// An integer.
    Int(i64),
    /// An integer or `NULL`.
    OptInt(Option<i64>),
    /// Text.
    Text(&'a str),
    /// Text or `NULL`.
    OptText(Option<&'a str>),
}

/// Typed column access by name, for each backend's row type.
pub(crate) trait Row {
    /// A `TEXT NOT NULL` column.
    fn text(&self, col: &str) -> Result<String, StoreError>;
    /// A nullable `TEXT` column.
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    /// A `BIGINT NOT NULL` column.
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    /// A nullable `BIGINT` column.
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
}

/// Maps one row to a value.
pub(crate) type MapRow<T> = fn(&dyn Row) -> Result<T, StoreError>;

/// One connection's statement primitives. Inside the writer they run in
/// the batch's transaction.
pub(crate) trait Db: Send {
    /// Runs a statement; how many rows it changed.
    fn execute(&mut self, sql: &'static Sql, args: &[Arg<'_>]) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Runs one statement once per argument list (prepared once); how many
    /// rows each run changed.
    fn execute_each<const N: usize>(
        &mut self,
        sql: &'static Sql,
        rows: &[[Arg<'_>; N]],
    ) -> impl Future<Output = Result<Vec<u64>, StoreError>> + Send;

    /// The first row, mapped.
    fn fetch_optional<T: Send>(
        &mut self,
        sql: &'static Sql,
        args: &[Arg<'_>],
        map: MapRow<T>,
    ) -> impl Future<Output = Result<Option<T>, StoreError>> + Send;

    /// Every row, mapped.
    fn fetch_all<T: Send>(
        &mut self,
        sql: &'static Sql,
        args: &[Arg<'_>],
        map: MapRow<T>,
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> + Send;
}

// ---- rusqlite: the SQLite writer's connection ----

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        // Borrowed: SQLite copies the text once, when it binds it.
        Ok(ToSqlOutput::Borrowed(match *self {
            Arg::Int(v) | Arg::OptInt(Some(v)) => ValueRef::Integer(v),
            Arg::Text(s) | Arg::OptText(Some(s)) => ValueRef::Text(s.as_bytes()),
            Arg::OptInt(None) | Arg::OptText(None) => ValueRef::Null,
        }))
    }
}

impl Row for rusqlite::Row<'_> {
    fn text(&self, col: &str) -> Result<String, StoreError> {
        Ok(self.get(col)?)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        Ok(self.get(col)?)
    }
    fn int(&self, col: &str) -> Result<i64, StoreError> {
        Ok(self.get(col)?)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.get(col)?)
    }
}

fn changed(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Statements come from the connection's cache (prepared once per
/// connection); nothing here waits, so each future is ready at once.
impl Db for rusqlite::Connection {
    async fn execute(&mut self, sql: &'static Sql, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        let n = self.prepare_cached(sql.sqlite())?.execute(rusqlite::params_from_iter(args))?;
        Ok(changed(n))
    }

    async fn execute_each<const N: usize>(
        &mut self,
        sql: &'static Sql,
        rows: &[[Arg<'_>; N]],
    ) -> Result<Vec<u64>, StoreError> {
        // Taken from the cache once for all rows: each cache lookup hashes
        // the whole SQL text, which showed in profiles of the order INSERT.
        let mut stmt = self.prepare_cached(sql.sqlite())?;
        let mut out = Vec::with_capacity(rows.len());
        for args in rows {
            out.push(changed(stmt.execute(rusqlite::params_from_iter(args))?));
        }
        Ok(out)
    }

    async fn fetch_optional<T: Send>(
        &mut self,
        sql: &'static Sql,
        args: &[Arg<'_>],
        map: MapRow<T>,
    ) -> Result<Option<T>, StoreError> {
        let mut stmt = self.prepare_cached(sql.sqlite())?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        rows.next()?.map(|r| map(r)).transpose()
    }

    async fn fetch_all<T: Send>(
        &mut self,
        sql: &'static Sql,
        args: &[Arg<'_>],
        map: MapRow<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.prepare_cached(sql.sqlite())?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(map(r)?);
        }
        Ok(out)
    }
}

// ---- sqlx: pools of both backends, PostgreSQL's writer ----

/// Implements [`Row`] and [`Db`] for a sqlx backend; `$text` picks the
/// statement text of its dialect.
macro_rules! sqlx_db {
    ($db:ty, $conn:ty, $row:ty, $text:ident) => {
        impl Row for $row {
            fn text(&self, col: &str) -> Result<String, StoreError> {
                Ok(self.try_get(col)?)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
                Ok(self.try_get(col)?)
            }
            fn int(&self, col: &str) -> Result<i64, StoreError> {
                Ok(self.try_get(col)?)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
                Ok(self.try_get(col)?)
            }
        }

        impl Db for $conn {
            async fn execute(&mut self, sql: &'static Sql, args: &[Arg<'_>]) -> Result<u64, StoreError> {
                Ok(Executor::execute(&mut *self, bind::<$db>(sql.$text(), args)).await?.rows_affected())
            }

            async fn execute_each<const N: usize>(
                &mut self,
                sql: &'static Sql,
                rows: &[[Arg<'_>; N]],
            ) -> Result<Vec<u64>, StoreError> {
                let mut out = Vec::with_capacity(rows.len());
                for args in rows {
                    out.push(Executor::execute(&mut *self, bind::<$db>(sql.$text(), args)).await?.rows_affected());
                }
                Ok(out)
            }

            async fn fetch_optional<T: Send>(
                &mut self,
                sql: &'static Sql,
                args: &[Arg<'_>],
                map: MapRow<T>,
            ) -> Result<Option<T>, StoreError> {
                let row = Executor::fetch_optional(&mut *self, bind::<$db>(sql.$text(), args)).await?;
                row.as_ref().map(|r| map(r)).transpose()
            }

            async fn fetch_all<T: Send>(
                &mut self,
                sql: &'static Sql,
                args: &[Arg<'_>],
                map: MapRow<T>,
            ) -> Result<Vec<T>, StoreError> {
                let rows = Executor::fetch_all(&mut *self, bind::<$db>(sql.$text(), args)).await?;
                rows.iter().map(|r| map(r)).collect()
            }
        }
    };
}

/// A query with its values bound (borrowed: sqlx encodes them at once).
fn bind<'q, DB>(text: &'static str, args: &[Arg<'_>]) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments>
where
    DB: Database,
    for<'e> i64: sqlx::Encode<'e, DB> + sqlx::Type<DB>,
    for<'e> Option<i64>: sqlx::Encode<'e, DB> + sqlx::Type<DB>,
    for<'e> &'e str: sqlx::Encode<'e, DB> + sqlx::Type<DB>,
    for<'e> Option<&'e str>: sqlx::Encode<'e, DB> + sqlx::Type<DB>,
{
    let mut q = sqlx::query::<DB>(text);
    for a in args {
        q = match *a {
            Arg::Int(v) => q.bind(v),
            Arg::OptInt(v) => q.bind(v),
            Arg::Text(s) => q.bind(s),
            Arg::OptText(s) => q.bind(s),
        };
    }
    q
}

sqlx_db!(sqlx::Sqlite, sqlx::SqliteConnection, sqlx::sqlite::SqliteRow, sqlite);
sqlx_db!(sqlx::Postgres, sqlx::PgConnection, sqlx::postgres::PgRow, postgres);
