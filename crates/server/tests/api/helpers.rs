//! `spawn_app()`: the real gateway on 127.0.0.1:0 with a fresh on-disk store.

#![allow(dead_code)]

use std::path::PathBuf;

use secrecy::ExposeSecret;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use vmp_protocol::{Params, format_time, sign};
use vmp_server::merchant::{Merchant, MerchantStatus};
use vmp_server::store::NewMerchant;
use vmp_server::{AppState, Application, Settings};

pub const ENDPOINT: &str = "/VMP/Servlet/JSAPIService.do";

pub struct TestApp {
    pub base: String,
    pub key: String,
    pub secret: String,
    pub state: AppState,
    pub data_dir: PathBuf,
    pub client: reqwest::Client,
    /// The admin token this start generated (empty when it generated none).
    pub admin_token: String,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_path_buf();
    let mut app = spawn_in(path).await;
    app._dir = Some(dir);
    app
}

/// A fresh gateway with adjusted settings.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = spawn_in_with(dir.path().to_path_buf(), adjust).await;
    app._dir = Some(dir);
    app
}

/// Starts a gateway on an existing data directory (for restart tests).
pub async fn spawn_in(data_dir: PathBuf) -> TestApp {
    spawn_in_with(data_dir, |_| {}).await
}

/// [`spawn_in`] with adjusted settings.
pub async fn spawn_in_with(data_dir: PathBuf, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = Settings::new(data_dir.clone());
    settings.listen = "127.0.0.1:0".parse().expect("addr");
    settings.notifier.poll_interval = std::time::Duration::from_millis(50);
    settings.database_url = postgres_for(&data_dir).await.map(secrecy::SecretString::from);
    adjust(&mut settings);
    if settings.mode == vmp_server::Mode::Production && !settings.master_key.is_some() {
        // Production refuses to start without one.
        settings.master_key = test_master_key(&data_dir);
    }
    // A frozen clock (moved only by the sandbox API) makes schedules exact.
    let clock = vmp_server::Clock::fixed(OffsetDateTime::now_utc());
    let app = Application::build_with_clock(settings, clock).await.expect("gateway starts");
    let base = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    let (key, secret) = match app.bootstrap_merchant() {
        Some(m) => (m.key.clone(), m.secret.expose_secret().to_owned()),
        None => (String::new(), String::new()),
    };
    let admin_token = app.generated_admin_token().map(|t| t.expose_secret().to_owned()).unwrap_or_default();
    let (tx, rx) = oneshot::channel();
    let handle = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    TestApp {
        base,
        key,
        secret,
        state,
        data_dir,
        client: reqwest::Client::new(),
        admin_token,
        shutdown: Some(tx),
        handle: Some(handle),
        _dir: None,
    }
}

/// With `VMP_TEST_DATABASE_URL=postgres://…` set, every test app gets its
/// own fresh PostgreSQL database (remembered in the data directory, so a
/// restart test reopens the same one); otherwise the embedded SQLite store.
pub async fn postgres_for(data_dir: &std::path::Path) -> Option<String> {
    use sqlx::Connection;
    let base = std::env::var("VMP_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())?;
    let marker = data_dir.join("postgres-url");
    if let Ok(url) = std::fs::read_to_string(&marker) {
        return Some(url);
    }
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("random");
    let name = format!("vmp_test_{}", hex::encode(bytes));
    let mut admin = sqlx::PgConnection::connect(&base).await.expect("VMP_TEST_DATABASE_URL reachable");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let _ = admin.close().await;
    let mut url = url::Url::parse(&base).expect("URL");
    url.set_path(&format!("/{name}"));
    std::fs::create_dir_all(data_dir).expect("data dir");
    std::fs::write(&marker, url.as_str()).expect("remember the test database");
    Some(url.to_string())
}

/// A master key file in `data_dir` (created once, so a restart reuses it).
pub fn test_master_key(data_dir: &std::path::Path) -> vmp_server::vault::KeySource {
    use secrecy::ExposeSecret;
    let path = data_dir.join("master.key");
    if !path.exists() {
        std::fs::create_dir_all(data_dir).expect("data dir");
        let key = vmp_server::vault::MasterKey::generate().expect("random");
        std::fs::write(&path, format!("{}\n", key.encoded().expose_secret())).expect("key file");
    }
    vmp_server::vault::KeySource::File(path)
}

pub fn vmp_now() -> String {
    format_time(OffsetDateTime::now_utc())
}

impl TestApp {
    /// eftPay's example Place an Order request (docs/protocol.md), for this app's merchant, with a
    /// current `time`, signed.
    pub fn seed_request(&self, out_trade_no: &str) -> Params {
        let mut p = Params::from_json(
            r#"{"pay_scene":"WAP","user_confirm_key":"12345678","wallet":"ALIPAYHK","subject":"中文测试 test",
            "transaction_amount":"0.02","sign":"af8f9f9d60019ce649af1ddfefd2aae98fa71656278a6edf439948cab7dc69d9",
            "body":"中文测试 test","tid":"","payType":"Alipay","out_trade_no":"20190824010716",
            "service":"service.alipay.wap.PreOrder","buyerType":"andriod",
            "return_url":"https://vmp.eftpay.com.cn/VMP/notify/testing","time":"20190824010716"}"#
                .as_bytes(),
        )
        .expect("seed parses");
        p.set("user_confirm_key", &self.key).set("out_trade_no", out_trade_no).set("time", vmp_now());
        self.sign(&mut p);
        p
    }

    /// (Re-)signs with this app's merchant secret.
    pub fn sign(&self, p: &mut Params) {
        sign::sign_in_place(&self.secret, p);
    }

    pub async fn post_raw(&self, body: Vec<u8>, content_type: Option<&str>) -> Params {
        let mut req = self.client.post(format!("{}{ENDPOINT}", self.base)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = req.send().await.expect("request sent");
        assert_eq!(resp.status().as_u16(), 200, "VMP answers are always HTTP 200");
        let bytes = resp.bytes().await.expect("body");
        Params::from_json(&bytes)
            .unwrap_or_else(|e| panic!("answer is a JSON object ({e}): {}", String::from_utf8_lossy(&bytes)))
    }

    pub async fn post(&self, p: &Params) -> Params {
        self.post_raw(p.to_json().into_bytes(), None).await
    }

    /// Adds key and time, signs, posts to `path`.
    pub async fn call(&self, path: &str, fields: &[(&str, &str)]) -> Params {
        let mut p = Params::new().with("user_confirm_key", &self.key);
        for (k, v) in fields {
            p.set(*k, *v);
        }
        p.set("time", vmp_now());
        self.sign(&mut p);
        let resp = self.client.post(format!("{}{path}", self.base)).body(p.to_json()).send().await.unwrap();
        Params::from_json(&resp.bytes().await.unwrap()).unwrap()
    }

    /// [`TestApp::call`] to `JSAPIService.do`.
    pub async fn jsapi(&self, fields: &[(&str, &str)]) -> Params {
        self.call(ENDPOINT, fields).await
    }

    /// The sandbox API's pay (`body` as JSON): its HTTP status and answer.
    pub async fn sandbox_pay_with(&self, eft: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let resp =
            self.client.post(format!("{}/sandbox/orders/{eft}/pay", self.base)).json(&body).send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    /// One sweeper step at the gateway's time: expired orders are closed
    /// and due apply-refunds completed when it returns (no waiting).
    pub async fn sweep(&self) -> vmp_server::sweeper::Sweep {
        let sweeper = vmp_server::sweeper::Sweeper::new(self.state.clone(), Default::default());
        sweeper.run_once(self.state.clock().now()).await.expect("sweep")
    }

    /// Moves the gateway clock through the sandbox API.
    pub async fn advance_clock(&self, seconds: i64) {
        let resp = self
            .client
            .post(format!("{}/sandbox/clock/advance", self.base))
            .json(&serde_json::json!({ "seconds": seconds }))
            .send()
            .await
            .expect("request sent");
        assert_eq!(resp.status().as_u16(), 200);
    }

    /// Settles an order through the sandbox API ("success", "fail", …): 200,
    /// or 409 when the order was already final or had expired.
    pub async fn sandbox_pay(&self, eft: &str, outcome: &str) -> serde_json::Value {
        let resp = self
            .client
            .post(format!("{}/sandbox/orders/{eft}/pay", self.base))
            .json(&serde_json::json!({ "outcome": outcome }))
            .send()
            .await
            .expect("request sent");
        let status = resp.status().as_u16();
        let v: serde_json::Value = resp.json().await.expect("JSON answer");
        // 409 when the call changed nothing (already final, or expired).
        let want = if matches!(v["result"].as_str(), Some("already_final" | "expired")) { 409 } else { 200 };
        assert_eq!(status, want, "{v}");
        v
    }

    pub async fn order_count(&self) -> i64 {
        self.state.store().count_orders().await.expect("count")
    }

    pub async fn add_merchant(&self, key: &str, secret: &str, status: MerchantStatus) {
        let merchant = Merchant {
            key: key.into(),
            name: "test".into(),
            secret: secret.to_owned().into(),
            status,
            allowed_ports: vec![],
            previous: None,
        };
        self.state.store().add_merchant(NewMerchant { merchant, created_at: 0 }).await.expect("merchant added");
    }

    /// Stops the server, waits for it (and the store) to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.expect("server task").expect("server ran cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Asserts the answer's signature verifies with `secret`.
pub fn assert_signed(answer: &Params, secret: &str) {
    assert!(answer.contains("time") && answer.contains("sign"), "answer should be signed: {}", answer.to_json());
    assert_eq!(sign::verify(secret, answer), Ok(()), "answer signature: {}", answer.to_json());
}
