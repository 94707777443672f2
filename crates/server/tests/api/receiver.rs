//! A local merchant endpoint on 127.0.0.1:0 that records what the gateway
//! sends and answers as told (fail N times, hang, ack).

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use tokio::sync::Mutex;
use vmp_protocol::Params;

#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// Fail this many times (HTTP 500), then acknowledge with signed JSON.
    FailThenAck(usize),
    /// Acknowledge with the plain text `success`.
    PlainSuccess,
    /// Never answer (the gateway must time out).
    Hang,
}

struct Inner {
    behaviour: Behaviour,
    secret: String,
    calls: AtomicUsize,
    bodies: Mutex<Vec<Bytes>>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Inner>,
}

impl Receiver {
    pub async fn start(behaviour: Behaviour, secret: &str) -> Self {
        let inner = Arc::new(Inner {
            behaviour,
            secret: secret.to_owned(),
            calls: AtomicUsize::new(0),
            bodies: Mutex::new(Vec::new()),
        });
        let app =
            Router::new().route("/notify", post(handle)).route("/return", post(handle)).with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url: format!("http://{addr}/notify"), inner }
    }

    pub fn calls(&self) -> usize {
        self.inner.calls.load(Ordering::SeqCst)
    }

    pub async fn bodies(&self) -> Vec<Bytes> {
        self.inner.bodies.lock().await.clone()
    }

    /// Waits (polling, bounded) until at least `n` calls arrived.
    pub async fn wait_for_calls(&self, n: usize) {
        for _ in 0..400 {
            if self.calls() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("expected {n} calls, got {}", self.calls());
    }
}

async fn handle(State(inner): State<Arc<Inner>>, body: Bytes) -> (StatusCode, String) {
    inner.bodies.lock().await.push(body);
    let n = inner.calls.fetch_add(1, Ordering::SeqCst) + 1;
    match inner.behaviour {
        Behaviour::FailThenAck(fails) if n <= fails => (StatusCode::INTERNAL_SERVER_ERROR, "try later".into()),
        Behaviour::FailThenAck(_) => {
            let ack = vmp_protocol::notify::ack(&inner.secret, true, time::OffsetDateTime::now_utc());
            (StatusCode::OK, ack.to_json())
        }
        Behaviour::PlainSuccess => (StatusCode::OK, "success".into()),
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            (StatusCode::OK, String::new())
        }
    }
}

/// Parses a recorded body as JSON parameters.
pub fn params(body: &Bytes) -> Params {
    Params::from_json(body).unwrap()
}
