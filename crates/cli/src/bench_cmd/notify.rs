//! The notification bench: a local receiver (127.0.0.1, answers `success`
//! to every correctly signed notification), N orders whose `notify_url`
//! points at it, settled through the sandbox API; measured until every
//! order's notification has been acknowledged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use axum::extract::State;
use axum::http::StatusCode;
use bytes::Bytes;
use hdrhistogram::Histogram;
use hyper::Method;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, oneshot};
use vmp_protocol::notify::verify_notification;

use super::load::{self, Answer, Inspect, Latency, Req, Source, Stop, Target};
use super::orders::{self, OrderPlan};
use super::report::PhaseReport;

/// Orders whose acknowledgement the receiver waits for.
struct Tracking {
    /// `eft_trade_no` → settle index.
    index: HashMap<String, usize>,
    /// First acknowledgement of each, in nanoseconds after `epoch` (0 = none yet).
    acked_at: Vec<AtomicU64>,
    /// When each settle request was sent, nanoseconds after `epoch`.
    settle_sent_at: Vec<AtomicU64>,
}

struct ReceiverState {
    secret: Arc<str>,
    epoch: Instant,
    tracking: OnceLock<Tracking>,
    distinct: AtomicUsize,
    deliveries: AtomicU64,
    rejected: AtomicU64,
    unexpected: AtomicU64,
    not_paid: AtomicU64,
    progress: Notify,
}

fn nanos_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX).max(1)
}

/// A running receiver; stops when dropped.
struct Receiver {
    url: String,
    state: Arc<ReceiverState>,
    _stop: oneshot::Sender<()>,
}

async fn start_receiver(secret: Arc<str>) -> anyhow::Result<Receiver> {
    let listener =
        tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.context("binding the notification receiver")?;
    let addr = listener.local_addr().context("receiver address")?;
    let state = Arc::new(ReceiverState {
        secret,
        epoch: Instant::now(),
        tracking: OnceLock::new(),
        distinct: AtomicUsize::new(0),
        deliveries: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
        unexpected: AtomicU64::new(0),
        not_paid: AtomicU64::new(0),
        progress: Notify::new(),
    });
    let app = axum::Router::new().route("/notify", axum::routing::post(receive)).with_state(Arc::clone(&state));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(Receiver { url: format!("http://{addr}/notify"), state, _stop: stop })
}

async fn receive(State(st): State<Arc<ReceiverState>>, body: Bytes) -> (StatusCode, &'static str) {
    st.deliveries.fetch_add(1, Ordering::Relaxed);
    let n = match verify_notification(&body, &st.secret, time::OffsetDateTime::now_utc()) {
        Ok(n) => n,
        Err(_) => {
            st.rejected.fetch_add(1, Ordering::Relaxed);
            return (StatusCode::BAD_REQUEST, "fail");
        }
    };
    if !n.trade_status.is_paid() {
        st.not_paid.fetch_add(1, Ordering::Relaxed);
    }
    let slot = st.tracking.get().and_then(|t| t.index.get(&n.eft_trade_no).map(|&j| &t.acked_at[j]));
    match slot {
        Some(at) => {
            if at.compare_exchange(0, nanos_since(st.epoch), Ordering::Relaxed, Ordering::Relaxed).is_ok() {
                st.distinct.fetch_add(1, Ordering::Relaxed);
                st.progress.notify_one();
            }
        }
        None => {
            st.unexpected.fetch_add(1, Ordering::Relaxed);
        }
    }
    (StatusCode::OK, "success")
}

/// What the notification bench measured.
#[derive(Debug, Serialize)]
pub struct NotifyReport {
    /// Orders placed for it.
    pub orders: usize,
    /// Placing them.
    pub place: PhaseReport,
    /// Settling them through the sandbox API.
    pub settle: PhaseReport,
    /// Orders whose notification must be acknowledged.
    pub expected: usize,
    /// Orders whose notification was acknowledged.
    pub acknowledged: usize,
    /// From the first settle request until the last first acknowledgement.
    pub all_acknowledged_after_s: f64,
    /// `acknowledged / all_acknowledged_after_s`.
    pub acknowledged_per_s: f64,
    /// From an order's settle request to its acknowledgement.
    pub settle_to_ack: Latency,
    /// Notification requests received (including repeats and refusals).
    pub deliveries: u64,
    /// Deliveries with a bad signature, stale time or unreadable body.
    pub rejected: u64,
    /// Deliveries for an order this bench did not settle.
    pub unexpected: u64,
    /// Deliveries whose trade_status was not TRADE_SUCCESS.
    pub not_paid: u64,
    /// Whether every notification was acknowledged before the wait ran out.
    pub complete: bool,
}

#[derive(Deserialize)]
struct SettleAnswer<'a> {
    #[serde(borrow)]
    result: std::borrow::Cow<'a, str>,
}

/// Runs the notification bench with `n` orders.
pub async fn run(
    target: &Target,
    plan: &OrderPlan,
    n: usize,
    concurrency: usize,
    wait: Duration,
) -> anyhow::Result<NotifyReport> {
    let receiver = start_receiver(Arc::clone(&plan.secret)).await?;
    let plan =
        OrderPlan { notify_url: Some(receiver.url.clone()), prefix: format!("{}N", plan.prefix), ..plan.clone() };

    let jsapi = target.uri(orders::JSAPI_PATH)?;
    let reqs = {
        let (plan, jsapi) = (plan.clone(), jsapi.clone());
        tokio::task::spawn_blocking(move || orders::presign(&plan, &jsapi, n)).await.context("pre-signing")?
    };
    let progress = Arc::new(AtomicU64::new(0));
    let placed = load::run(
        target,
        Source::List(Arc::new(reqs)),
        Stop { count: None, duration: None },
        concurrency,
        orders::inspect_orders(&plan),
        Arc::clone(&progress),
    )
    .await?;
    let place = PhaseReport::of(&placed);

    let st = &receiver.state;
    let mut settles = Vec::with_capacity(placed.ids.len());
    let mut index = HashMap::with_capacity(placed.ids.len());
    let body = Bytes::from_static(br#"{"outcome":"success"}"#);
    for (j, (_, eft)) in placed.ids.iter().enumerate() {
        // eft_trade_no is digits only (checked by the gateway's own format), but
        // it came over the wire: refuse anything that is not a clean path segment.
        if !eft.bytes().all(|b| b.is_ascii_alphanumeric()) {
            anyhow::bail!("the gateway answered an eft_trade_no that is not alphanumeric: {eft:?}");
        }
        settles.push(Req {
            method: Method::POST,
            uri: target.uri(&format!("/sandbox/orders/{eft}/pay"))?,
            body: body.clone(),
        });
        index.insert(eft.clone(), j);
    }
    let expected = index.len();
    let tracking = Tracking {
        index,
        acked_at: (0..expected).map(|_| AtomicU64::new(0)).collect(),
        settle_sent_at: (0..expected).map(|_| AtomicU64::new(0)).collect(),
    };
    if st.tracking.set(tracking).is_err() {
        return Err(anyhow!("notification receiver already in use"));
    }

    let epoch = st.epoch;
    let recorder = Arc::clone(st);
    let inspect: Inspect = Arc::new(move |j, sent, status, body| {
        if let Some(t) = recorder.tracking.get() {
            let at = u64::try_from(sent.saturating_duration_since(epoch).as_nanos()).unwrap_or(u64::MAX).max(1);
            if let Some(slot) = t.settle_sent_at.get(j) {
                slot.store(at, Ordering::Relaxed);
            }
        }
        let label = match serde_json::from_slice::<SettleAnswer<'_>>(body) {
            Ok(a) if status == 200 => a.result.into_owned(),
            _ => format!("HTTP {status}"),
        };
        Answer { label, id: None }
    });
    let settle_start = nanos_since(epoch);
    let settled = load::run(
        target,
        Source::List(Arc::new(settles)),
        Stop { count: None, duration: None },
        concurrency,
        inspect,
        progress,
    )
    .await?;
    let settle = PhaseReport::of(&settled);

    let deadline = tokio::time::Instant::now() + wait;
    while st.distinct.load(Ordering::Relaxed) < expected {
        let notified = st.progress.notified();
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            break;
        }
    }
    let acknowledged = st.distinct.load(Ordering::Relaxed);
    let t = st.tracking.get().ok_or_else(|| anyhow!("notification tracking lost"))?;
    let mut hist = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).map_err(|e| anyhow!("histogram: {e}"))?;
    let mut last_ack = settle_start;
    for (acked, sent) in t.acked_at.iter().zip(&t.settle_sent_at) {
        let (acked, sent) = (acked.load(Ordering::Relaxed), sent.load(Ordering::Relaxed));
        if acked == 0 {
            continue;
        }
        last_ack = last_ack.max(acked);
        if sent != 0 {
            hist.saturating_record((acked.saturating_sub(sent) / 1000).max(1));
        }
    }
    let after = Duration::from_nanos(last_ack.saturating_sub(settle_start)).as_secs_f64();
    Ok(NotifyReport {
        orders: n,
        place,
        settle,
        expected,
        acknowledged,
        all_acknowledged_after_s: after,
        acknowledged_per_s: if after > 0.0 { acknowledged as f64 / after } else { 0.0 },
        settle_to_ack: Latency::of(&hist),
        deliveries: st.deliveries.load(Ordering::Relaxed),
        rejected: st.rejected.load(Ordering::Relaxed),
        unexpected: st.unexpected.load(Ordering::Relaxed),
        not_paid: st.not_paid.load(Ordering::Relaxed),
        complete: acknowledged == expected && expected == n,
    })
}
