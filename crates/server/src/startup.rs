//! [`Application`]: open the store, bind, serve until told to stop.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::{HttpLimits, Mode, SandboxMerchant, Settings};
use crate::ids::EftTradeNoGenerator;
use crate::merchant::{Merchant, MerchantStatus, generate_key, generate_secret};
use crate::notifier::Notifier;
use crate::paylink::{LINK_KEY_SETTING, PayLinks};
use crate::state::AppState;
use crate::store::{EnsuredMerchant, NewMerchant, Store};
use crate::sweeper::Sweeper;

/// Credentials of the sandbox merchant created on first start.
pub struct BootstrapMerchant {
    /// `user_confirm_key`.
    pub key: String,
    /// Its secret (shown once, on the console, never logged).
    pub secret: SecretString,
}

impl std::fmt::Debug for BootstrapMerchant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapMerchant").field("key", &self.key).field("secret", &"[REDACTED]").finish()
    }
}

/// A bound, ready-to-run gateway.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    state: AppState,
    bootstrap: Option<BootstrapMerchant>,
    sandbox_merchant: Option<(String, EnsuredMerchant)>,
    notifier: Notifier,
    sweeper: Sweeper,
    http: HttpLimits,
    metrics: Option<MetricsListener>,
    admin: crate::admin::Admin,
    admin_token: Option<SecretString>,
}

/// The metrics listener and what it renders.
struct MetricsListener {
    listener: TcpListener,
    addr: SocketAddr,
    handle: metrics_exporter_prometheus::PrometheusHandle,
}

impl Application {
    /// Opens the store in `settings.data_dir`, binds `settings.listen`, and
    /// prepares the routes, using the system clock.
    ///
    /// # Errors
    /// When the store cannot be opened or the address cannot be bound.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Clock::system()).await
    }

    /// [`Application::build`] with an injected clock.
    ///
    /// # Errors
    /// As [`Application::build`].
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        // Configuration mistakes first, before anything is opened.
        if settings.sandbox_merchant.is_some() && settings.mode != Mode::Sandbox {
            anyhow::bail!("--sandbox-merchant is for sandbox mode only: fixed credentials have no place in production");
        }
        if !settings.master_key.is_some() {
            anyhow::ensure!(
                settings.mode == Mode::Sandbox,
                "production mode needs a master key to encrypt secrets at rest: give --master-key-file or VMP_MASTER_KEY \
                 (make one with `vmp admin new-master-key`)"
            );
            tracing::warn!(
                "no master key: merchant secrets and the pay-link key are stored in clear (sandbox only; give \
                 --master-key-file or VMP_MASTER_KEY to encrypt them)"
            );
        }
        let (store, drawn_node_id) = crate::store::open_with(
            &settings.data_dir,
            settings.database_url.as_ref().map(secrecy::ExposeSecret::expose_secret),
            settings.max_batch,
            settings.master_key.clone(),
            settings.init,
        )
        .await?;
        let node_id = settings.node_id.unwrap_or(drawn_node_id);

        let mut fresh_key = [0u8; 32];
        getrandom::fill(&mut fresh_key).map_err(|e| anyhow::anyhow!("random source: {e}"))?;
        let link_key = store
            .secret_setting_or_init(LINK_KEY_SETTING, SecretString::from(hex::encode(fresh_key)))
            .await
            .context("loading the pay-link key")?;
        let link_key = hex::decode(link_key.expose_secret()).context("stored pay-link key is not hex")?;

        let listener =
            TcpListener::bind(settings.listen).await.with_context(|| format!("binding {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let metrics = match settings.metrics_listen {
            Some(at) => {
                let listener =
                    TcpListener::bind(at).await.with_context(|| format!("binding the metrics listener {at}"))?;
                let addr = listener.local_addr()?;
                let handle = crate::metrics::install().context("installing the metrics recorder")?;
                Some(MetricsListener { listener, addr, handle })
            }
            None => None,
        };
        // Merchants are created only once every address is bound: a start that
        // fails to bind never creates a merchant whose secret nobody saw.
        let sandbox_merchant = match &settings.sandbox_merchant {
            Some(m) => Some((m.key.clone(), ensure_sandbox_merchant(store.as_ref(), &clock, m).await?)),
            None => None,
        };
        let bootstrap = if settings.bootstrap_merchant && settings.mode == Mode::Sandbox {
            bootstrap_merchant(store.as_ref(), &clock).await?
        } else {
            None
        };
        let limits = settings.limits();
        let journal = settings.journal();
        let public_url = match settings.public_url {
            Some(u) => u,
            None => url::Url::parse(&format!("http://{addr}")).context("deriving the public URL")?,
        };
        let state = AppState::new(
            store,
            clock,
            EftTradeNoGenerator::new(node_id),
            PayLinks::new(link_key),
            public_url,
            settings.mode,
            limits,
        )
        .with_merchant_cache_ttl(settings.merchant_cache_ttl)
        .with_journal(journal);
        crate::faults::refresh(&state).await.context("loading the sandbox fault rules")?;
        let notifier = Notifier::new(state.clone(), settings.notifier.clone())?;
        let sweeper = Sweeper::new(state.clone(), settings.sweeper.clone());
        let (auth, admin_token) = crate::admin::AdminAuth::load(
            state.store().as_ref(),
            settings.mode,
            settings.admin_token_file.as_deref(),
            state.public_url().scheme() == "https",
        )
        .await?;
        let admin_http = crate::notifier::http_client(&settings.notifier, settings.mode)?;
        let admin = crate::admin::Admin::new(state.clone(), auth, admin_http);
        Ok(Self {
            listener,
            addr,
            state,
            bootstrap,
            sandbox_merchant,
            notifier,
            sweeper,
            http: settings.http,
            metrics,
            admin,
            admin_token,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound address of the metrics listener, when there is one.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|m| m.addr)
    }

    /// Shared state (store, clock), for embedding and tests.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The admin token, when this start generated it (printed once by
    /// `vmp serve`; only its hash is stored).
    pub fn generated_admin_token(&self) -> Option<&SecretString> {
        self.admin_token.as_ref()
    }

    /// The sandbox merchant created by this start, if any.
    pub fn bootstrap_merchant(&self) -> Option<&BootstrapMerchant> {
        self.bootstrap.as_ref()
    }

    /// The fixed-credentials merchant of [`Settings::sandbox_merchant`]:
    /// its key and what this start did to it.
    pub fn sandbox_merchant(&self) -> Option<(&str, EnsuredMerchant)> {
        self.sandbox_merchant.as_ref().map(|(k, e)| (k.as_str(), *e))
    }

    /// Serves until `shutdown` resolves, lets in-flight requests finish
    /// (for at most the drain timeout, then closes what is left), then
    /// flushes the store.
    ///
    /// # Errors
    /// When serving fails.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let app = crate::http::router(self.state.clone()).merge(crate::admin::router(self.admin));
        let (stop_tx, stop_rx) = watch::channel(false);
        let worker = tokio::spawn(self.notifier.run(stop_rx.clone()));
        let sweeper = tokio::spawn(self.sweeper.run(stop_rx.clone()));
        let faults = tokio::spawn(crate::faults::keep_fresh(self.state.clone(), stop_rx.clone()));
        let max_connections = crate::listener::max_connections(self.http.max_connections);
        tracing::info!(
            max_connections,
            header_timeout_s = self.http.header_timeout.as_secs_f64(),
            idle_timeout_s = self.http.idle_timeout().as_secs_f64(),
            body_timeout_s = self.http.body_timeout.as_secs_f64(),
            max_header_bytes = self.http.max_header_bytes,
            "serving HTTP"
        );
        if max_connections < self.http.max_connections {
            tracing::warn!(
                configured = self.http.max_connections,
                max_connections,
                "max connections lowered to fit the open-file limit"
            );
        }
        // One shutdown signal, seen by the gateway and the metrics listeners.
        let (http_stop_tx, http_stop_rx) = watch::channel(false);
        let state = self.state.clone();
        tokio::spawn(async move {
            shutdown.await;
            state.readiness().shutting_down();
            let _ = http_stop_tx.send(true);
        });
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let metrics = self.metrics.map(|m| {
            tokio::spawn(crate::metrics::refresh_owed(self.state.clone(), stop_rx.clone()));
            let limits = self.http.clone();
            let stop = stopped(http_stop_rx.clone());
            tokio::spawn(async move {
                crate::listener::serve(m.listener, crate::metrics::router(m.handle), &limits, false, stop).await
            })
        });
        let record_requests = metrics.is_some();
        let served =
            crate::listener::serve(self.listener, app, &self.http, record_requests, stopped(http_stop_rx)).await;
        if let Some(task) = metrics
            && let Err(e) = task.await
        {
            tracing::error!(error.message = %e, "metrics listener failed");
        }
        // HTTP has drained; now stop the sweeper and the worker between
        // steps (deliveries in flight finish) before the store closes.
        let _ = stop_tx.send(true);
        if let Err(e) = sweeper.await {
            tracing::error!(error.message = %e, "sweeper task failed");
        }
        if let Err(e) = worker.await {
            tracing::error!(error.message = %e, "notifier task failed");
        }
        if let Err(e) = faults.await {
            tracing::error!(error.message = %e, "fault rule refresh task failed");
        }
        self.state.store().close().await.context("closing the store")?;
        let w = self.state.store().writer_stats();
        tracing::info!(
            commits = w.commits(),
            writes = w.writes(),
            largest_batch = w.largest_batch(),
            order_commits = w.order_commits(),
            orders = w.order_writes(),
            "store closed (group commit: writes per commit = writes / commits)"
        );
        served.context("serving HTTP")
    }
}

async fn ensure_sandbox_merchant(
    store: &dyn Store,
    clock: &Clock,
    m: &SandboxMerchant,
) -> anyhow::Result<EnsuredMerchant> {
    let merchant = Merchant {
        key: m.key.clone(),
        name: "Sandbox merchant (fixed credentials)".into(),
        secret: m.secret.clone(),
        status: MerchantStatus::Active,
        allowed_ports: Vec::new(),
        previous: None,
    };
    let done = store
        .ensure_merchant(NewMerchant { merchant, created_at: clock.now().unix_timestamp() })
        .await
        .context("creating the --sandbox-merchant merchant")?;
    // The key only: the secret is the caller's and is never logged.
    tracing::info!(merchant = %m.key, result = ?done, "sandbox merchant with fixed credentials ready");
    Ok(done)
}

async fn bootstrap_merchant(store: &dyn Store, clock: &Clock) -> anyhow::Result<Option<BootstrapMerchant>> {
    if !store.list_merchants().await?.is_empty() {
        return Ok(None);
    }
    let key = generate_key()?;
    let secret = generate_secret()?;
    let merchant = Merchant {
        key: key.clone(),
        name: "Sandbox merchant".into(),
        secret: secret.clone(),
        status: MerchantStatus::Active,
        allowed_ports: Vec::new(),
        previous: None,
    };
    store.add_merchant(NewMerchant { merchant, created_at: clock.now().unix_timestamp() }).await?;
    tracing::info!(merchant = %key, "created the sandbox merchant");
    Ok(Some(BootstrapMerchant { key, secret }))
}
