//! Helpers shared by the SDK's test binaries.

#![allow(dead_code)]

use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::oneshot;
use vmp_client::{Amount, Client, Params, PayPackage, SecretString, TradeNotification, TradeStatus, TradeType};
use vmp_protocol::VmpTime;
use vmp_server::{Application, Settings};

/// A paid-sale notification of order `ORDER-1` (HKD 10.50), stamped `at`.
pub fn paid_notification(at: OffsetDateTime) -> TradeNotification {
    TradeNotification {
        user_confirm_key: "KEY1".into(),
        trade_no: "T1".into(),
        transaction_id: "T1".into(),
        out_trade_no: "ORDER-1".into(),
        eft_trade_no: "0100000000000001".into(),
        eftpay_trade_no: "0100000000000001".into(),
        total_fee: "10.50".into(),
        amount: Amount::from_minor(1050).unwrap(),
        currency: "HKD".into(),
        trade_status: TradeStatus::TradeSuccess,
        gmt_payment: "2024-01-01 11:59:58".into(),
        wallet: "ALIPAYHK".into(),
        tid: None,
        trade_type: TradeType::Sale,
        card_scheme: None,
        time: VmpTime::from_datetime(at),
    }
}

/// Bound on every HTTP call a test makes.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// The real gateway on a free port of 127.0.0.1 with a fresh store and its
/// sandbox merchant; stops when dropped.
pub struct Gateway {
    pub state: vmp_server::AppState,
    pub base_url: String,
    pub key: String,
    pub secret: String,
    pub http: reqwest::Client,
    /// The SDK client of the sandbox merchant ([`Gateway::client`] makes
    /// another).
    pub client: Client,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

impl Gateway {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::new(dir.path());
        settings.listen = "127.0.0.1:0".parse().unwrap();
        let app = Application::build(settings).await.unwrap();
        let base_url = format!("http://{}", app.local_addr());
        let merchant = app.bootstrap_merchant().unwrap();
        let key = merchant.key.clone();
        let secret = secrecy::ExposeSecret::expose_secret(&merchant.secret).to_owned();
        let state = app.state().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::builder().timeout(CALL_TIMEOUT).build().unwrap();
        let client =
            Client::new(&base_url, &key, SecretString::from(secret.clone())).unwrap().with_timeout(CALL_TIMEOUT);
        Self { state, base_url, key, secret, http, client, _stop: stop, _dir: dir }
    }

    /// An SDK client for the sandbox merchant.
    pub fn client(&self) -> Client {
        Client::new(&self.base_url, &self.key, SecretString::from(self.secret.clone()))
            .unwrap()
            .with_timeout(CALL_TIMEOUT)
    }

    /// POSTs JSON to the sandbox API; returns the answer's fields. 200, or
    /// 409 when a settlement changed nothing (already final, or expired).
    pub async fn sandbox(&self, path: &str, body: &str) -> Params {
        let resp = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let answer = Params::from_json(&resp.bytes().await.unwrap()).unwrap();
        let unchanged = matches!(answer.get("result"), Some("already_final" | "expired"));
        assert_eq!(status, if unchanged { 409 } else { 200 }, "{path}: {}", answer.to_json());
        answer
    }

    /// The sandbox wallet page at `path` with `package`'s keys as its
    /// query: what the shop's page hands the wallet.
    pub fn wallet_url(&self, path: &str, package: &PayPackage) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(package.to_params().iter().map(|(k, v)| (k, v.as_str())))
            .finish();
        format!("{}{path}?{query}", self.base_url)
    }

    /// The buyer pays the order `eft_trade_no` through the sandbox API.
    pub async fn pay(&self, eft_trade_no: &str) -> Params {
        self.sandbox(&format!("/sandbox/orders/{eft_trade_no}/pay"), r#"{"outcome":"success"}"#).await
    }
}
