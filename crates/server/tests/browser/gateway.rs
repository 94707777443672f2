//! The real gateway on 127.0.0.1:0 (a small copy of `tests/api/helpers.rs`)
//! and a local merchant that records what reaches its `notify_url` and
//! `return_url`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::Html;
use axum::routing::post;
use secrecy::ExposeSecret;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use vmp_protocol::{Params, format_time, sign};
use vmp_server::{Application, Clock, Settings};

use crate::cdp::WAIT;

/// A running gateway with its bootstrap merchant.
pub struct Gateway {
    pub base: String,
    pub secret: String,
    pub key: String,
    /// The admin token the start generated.
    pub admin_token: String,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Gateway {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A gateway with adjusted settings (a production one has no merchant).
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut settings = Settings::new(dir.path());
        settings.listen = "127.0.0.1:0".parse().expect("addr");
        settings.notifier.poll_interval = Duration::from_millis(50);
        adjust(&mut settings);
        if settings.mode == vmp_server::Mode::Production && !settings.master_key.is_some() {
            // Production refuses to start without a master key.
            let key = vmp_server::vault::MasterKey::generate().expect("random");
            let path = dir.path().join("master.key");
            std::fs::write(&path, format!("{}\n", key.encoded().expose_secret())).expect("key file");
            settings.master_key = vmp_server::vault::KeySource::File(path);
        }
        // A frozen clock keeps the pages' "time left" stable for screenshots.
        let clock = Clock::fixed(OffsetDateTime::now_utc());
        let app = Application::build_with_clock(settings, clock).await.expect("gateway starts");
        let base = format!("http://{}", app.local_addr());
        let (key, secret) =
            app.bootstrap_merchant().map(|m| (m.key.clone(), m.secret.expose_secret().to_owned())).unwrap_or_default();
        let admin_token = app.generated_admin_token().map(|t| t.expose_secret().to_owned()).unwrap_or_default();
        let (tx, rx) = oneshot::channel();
        tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        Self { base, secret, key, admin_token, client: reqwest::Client::new(), shutdown: Some(tx), _dir: dir }
    }

    /// POSTs a Place an Order (or any) request as given; the answer.
    pub async fn post(&self, p: &Params) -> Params {
        let resp = self
            .client
            .post(format!("{}/VMP/Servlet/JSAPIService.do", self.base))
            .body(p.to_json())
            .send()
            .await
            .expect("request sent");
        Params::from_json(&resp.bytes().await.expect("answer")).expect("answer is JSON")
    }

    /// `fields` with the merchant's key and the time, signed.
    fn signed(&self, mut p: Params) -> Params {
        p.set("user_confirm_key", &self.key).set("time", format_time(OffsetDateTime::now_utc()));
        sign::sign_in_place(&self.secret, &mut p);
        p
    }

    /// The signed Place an Order request of `order` (what [`Gateway::place`] sends).
    pub fn request(&self, order: &Order<'_>) -> Params {
        let mut p = Params::new();
        p.set("service", order.service)
            .set("payType", order.pay_type)
            .set("wallet", order.wallet)
            .set("pay_scene", order.pay_scene)
            .set("out_trade_no", order.out_trade_no)
            .set("transaction_amount", order.amount)
            .set("subject", order.subject)
            .set("body", order.subject)
            .set("buyerType", "android")
            .set("tid", "");
        if let Some(url) = order.return_url {
            p.set("return_url", url);
        }
        if let Some(url) = order.notify_url {
            p.set("notify_url", url);
        }
        if let Some(lang) = order.lang {
            p.set("lang", lang);
        }
        self.signed(p)
    }

    /// Sends any sale's `fields` to `JSAPIService.do` with the merchant's
    /// key, the time and the signature; returns the `00` answer.
    pub async fn send(&self, fields: Params) -> Params {
        let answer = self.post(&self.signed(fields)).await;
        assert_eq!(answer.get("return_status"), Some("00"), "order placed: {}", answer.to_json());
        answer
    }

    /// Places an order (Place an Order, signed with the merchant secret) and
    /// returns its `pay_apptrade` link.
    pub async fn place(&self, order: &Order<'_>) -> String {
        let answer = self.post(&self.request(order)).await;
        assert_eq!(answer.get("return_status"), Some("00"), "order placed: {}", answer.to_json());
        let link = answer.get("pay_apptrade").expect("pay_apptrade").to_owned();
        assert!(link.starts_with(&self.base), "the pay link points at this gateway: {link}");
        link
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// What to order; [`Order::new`] fills in the rest.
#[derive(Clone, Copy)]
pub struct Order<'a> {
    pub service: &'a str,
    pub pay_type: &'a str,
    pub wallet: &'a str,
    pub pay_scene: &'a str,
    pub out_trade_no: &'a str,
    pub amount: &'a str,
    pub subject: &'a str,
    pub return_url: Option<&'a str>,
    pub notify_url: Option<&'a str>,
    /// `lang` (`cn`, `hk`, `en`): kept by OCT, MPGS and AE orders.
    pub lang: Option<&'a str>,
}

impl<'a> Order<'a> {
    pub fn new(
        service: &'a str,
        pay_type: &'a str,
        wallet: &'a str,
        pay_scene: &'a str,
        out_trade_no: &'a str,
    ) -> Self {
        Self {
            service,
            pay_type,
            wallet,
            pay_scene,
            out_trade_no,
            amount: "88.00",
            subject: "OpenVMP demo order",
            return_url: None,
            notify_url: None,
            lang: None,
        }
    }
}

/// One POST that reached the merchant.
#[derive(Clone, Debug)]
pub struct Received {
    pub content_type: String,
    pub body: Bytes,
}

#[derive(Default)]
struct Inbox {
    notify: Mutex<Vec<Received>>,
    ret: Mutex<Vec<Received>>,
}

/// The merchant's site: `POST /notify` acknowledges with `success`,
/// `POST /return` shows a "thank you" page (`data-page-kind="merchant"`).
pub struct Merchant {
    pub notify_url: String,
    pub return_url: String,
    inbox: Arc<Inbox>,
}

impl Merchant {
    pub async fn start() -> Self {
        let inbox = Arc::new(Inbox::default());
        let app =
            Router::new().route("/notify", post(notify)).route("/return", post(back)).with_state(Arc::clone(&inbox));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind merchant");
        let addr = listener.local_addr().expect("merchant addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { notify_url: format!("http://{addr}/notify"), return_url: format!("http://{addr}/return"), inbox }
    }

    /// Waits (at most [`WAIT`]) for the first notification.
    pub async fn notification(&self) -> Received {
        wait_first(&self.inbox.notify, "a notification at notify_url").await
    }

    /// Waits (at most [`WAIT`]) until `n` notifications arrived; all of them.
    pub async fn notifications(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + WAIT;
        loop {
            let got = self.inbox.notify.lock().expect("inbox lock").clone();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "{n} notifications did not arrive within {WAIT:?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits (at most [`WAIT`]) for the first return_url form POST.
    pub async fn returned(&self) -> Received {
        wait_first(&self.inbox.ret, "the browser's form POST at return_url").await
    }
}

async fn wait_first(list: &Mutex<Vec<Received>>, what: &str) -> Received {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(first) = list.lock().expect("inbox lock").first() {
            return first.clone();
        }
        assert!(Instant::now() < deadline, "no {what} within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn record(list: &Mutex<Vec<Received>>, headers: &HeaderMap, body: Bytes) {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    list.lock().expect("inbox lock").push(Received { content_type, body });
}

async fn notify(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: Bytes) -> &'static str {
    record(&inbox.notify, &headers, body);
    "success"
}

async fn back(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: Bytes) -> Html<&'static str> {
    record(&inbox.ret, &headers, body);
    Html(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Merchant</title></head>\
         <body data-page-kind=\"merchant\"><h1>Thank you for your order</h1></body></html>",
    )
}
