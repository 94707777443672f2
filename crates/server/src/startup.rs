//! [`Application`]: open the store, bind, serve until told to stop.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::{Mode, Settings};
use crate::ids::EftTradeNoGenerator;
use crate::merchant::{Merchant, MerchantStatus, generate_key, generate_secret};
use crate::notifier::Notifier;
use crate::paylink::{LINK_KEY_SETTING, PayLinks};
use crate::state::AppState;
use crate::store::{NewMerchant, Store};
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
    notifier: Notifier,
    sweeper: Sweeper,
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
        let (store, drawn_node_id) = crate::store::open(
            &settings.data_dir,
            settings.database_url.as_ref().map(secrecy::ExposeSecret::expose_secret),
            settings.max_batch,
        )
        .await?;
        let node_id = settings.node_id.unwrap_or(drawn_node_id);

        let bootstrap = if settings.bootstrap_merchant && settings.mode == Mode::Sandbox {
            bootstrap_merchant(store.as_ref(), &clock).await?
        } else {
            None
        };

        let mut fresh_key = [0u8; 32];
        getrandom::fill(&mut fresh_key).map_err(|e| anyhow::anyhow!("random source: {e}"))?;
        let link_key = store
            .setting_or_init(LINK_KEY_SETTING, hex::encode(fresh_key))
            .await
            .context("loading the pay-link key")?;
        let link_key = hex::decode(link_key).context("stored pay-link key is not hex")?;

        let listener =
            TcpListener::bind(settings.listen).await.with_context(|| format!("binding {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let limits = settings.limits();
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
        .with_merchant_cache_ttl(settings.merchant_cache_ttl);
        let notifier = Notifier::new(state.clone(), settings.notifier.clone())?;
        let sweeper = Sweeper::new(state.clone(), settings.sweeper.clone());
        Ok(Self { listener, addr, state, bootstrap, notifier, sweeper })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Shared state (store, clock), for embedding and tests.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The sandbox merchant created by this start, if any.
    pub fn bootstrap_merchant(&self) -> Option<&BootstrapMerchant> {
        self.bootstrap.as_ref()
    }

    /// Serves until `shutdown` resolves, lets in-flight requests finish,
    /// then flushes the store.
    ///
    /// # Errors
    /// When serving fails.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let app = crate::http::router(self.state.clone());
        let (stop_tx, stop_rx) = watch::channel(false);
        let worker = tokio::spawn(self.notifier.run(stop_rx.clone()));
        let sweeper = tokio::spawn(self.sweeper.run(stop_rx));
        let served = axum::serve(self.listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
        // HTTP has drained; now stop the sweeper and the worker between
        // steps (deliveries in flight finish) before the store closes.
        let _ = stop_tx.send(true);
        if let Err(e) = sweeper.await {
            tracing::error!(error.message = %e, "sweeper task failed");
        }
        if let Err(e) = worker.await {
            tracing::error!(error.message = %e, "notifier task failed");
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
    };
    store.add_merchant(NewMerchant { merchant, created_at: clock.now().unix_timestamp() }).await?;
    tracing::info!(merchant = %key, "created the sandbox merchant");
    Ok(Some(BootstrapMerchant { key, secret }))
}
