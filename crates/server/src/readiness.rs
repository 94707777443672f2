//! `GET /readyz`: whether this instance should get traffic.
//!
//! `/healthz` says the process serves HTTP (liveness) and touches nothing.
//! `/readyz` answers 200 only when a trivial write goes through the store's
//! group-commit writer and commits within [`PROBE_TIMEOUT`] — so the store
//! is writable, the writer task alive, and the schema migrated (migrations
//! run before the listener is bound, so a process that answers has them
//! done) — and the instance is not shutting down. Otherwise 503 with a
//! short JSON reason.
//!
//! A verdict is reused for [`FRESH_FOR`] and only one probe runs at a time,
//! so a load balancer polling it costs at most one small commit per second.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;
use crate::store::StoreError;

/// How long a verdict is reused.
pub const FRESH_FOR: Duration = Duration::from_secs(1);
/// How long the probe's write may take before the store counts as stuck.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the instance is not ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    /// The probe's write failed.
    StoreNotWritable,
    /// The probe's write did not commit in time.
    StoreTimedOut,
    /// The group-commit writer is gone.
    WriterStopped,
    /// The database cannot be reached; the writer is reconnecting.
    StoreUnreachable,
    /// The SQLite database file was removed or replaced while running.
    StoreLost,
    /// Shutdown has begun.
    ShuttingDown,
}

impl NotReady {
    /// The reason as sent.
    pub fn reason(self) -> &'static str {
        match self {
            Self::StoreNotWritable => "store not writable",
            Self::StoreTimedOut => "store write timed out",
            Self::WriterStopped => "store writer stopped",
            Self::StoreUnreachable => "store unreachable",
            Self::StoreLost => "store file removed or replaced",
            Self::ShuttingDown => "shutting down",
        }
    }
}

/// The cached readiness of one instance.
#[derive(Debug, Default)]
pub struct Readiness {
    last: Mutex<Option<(Instant, Result<(), NotReady>)>>,
    /// Only one probe in flight; others wait for its verdict.
    probing: tokio::sync::Mutex<()>,
    shutting_down: AtomicBool,
}

impl Readiness {
    /// Marks the instance as shutting down: `/readyz` answers 503 from now on.
    pub fn shutting_down(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
    }

    fn fresh(&self) -> Option<Result<(), NotReady>> {
        let last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        last.as_ref().filter(|(at, _)| at.elapsed() < FRESH_FOR).map(|(_, v)| *v)
    }

    /// The verdict, probing the store when the last one is stale.
    pub async fn check(&self, state: &AppState) -> Result<(), NotReady> {
        if self.shutting_down.load(Ordering::Relaxed) {
            return Err(NotReady::ShuttingDown);
        }
        if let Some(v) = self.fresh() {
            return v;
        }
        let _probing = self.probing.lock().await;
        if let Some(v) = self.fresh() {
            return v;
        }
        let at = state.clock().now().unix_timestamp();
        let verdict = match tokio::time::timeout(PROBE_TIMEOUT, state.store().probe_write(at)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(StoreError::WriterStopped)) => Err(NotReady::WriterStopped),
            // Logged once by the store, not at every probe.
            Ok(Err(StoreError::Unavailable)) => Err(NotReady::StoreUnreachable),
            Ok(Err(StoreError::StoreLost)) => Err(NotReady::StoreLost),
            Ok(Err(e)) => {
                crate::metrics::database_error("readiness");
                tracing::warn!(error.message = %e, error.cause_chain = ?e, "readiness probe: store write failed");
                Err(NotReady::StoreNotWritable)
            }
            Err(_) => Err(NotReady::StoreTimedOut),
        };
        *self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((Instant::now(), verdict));
        verdict
    }
}

/// `GET /readyz`.
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    match state.readiness().check(&state).await {
        Ok(()) => (StatusCode::OK, axum::Json(serde_json::json!({"status": "ready"}))).into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "unavailable", "reason": why.reason()})),
        )
            .into_response(),
    }
}
