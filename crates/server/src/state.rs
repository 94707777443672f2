//! [`AppState`]: what every handler shares.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::Mode;
use crate::connector::{SandboxWallets, WalletConnector};
use crate::ids::EftTradeNoGenerator;
use crate::merchant::Merchant;
use crate::paylink::PayLinks;
use crate::ratelimit::Limits;
use crate::store::{Store, StoreError};

/// Shared, cheaply cloneable application state.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Clock,
    ids: EftTradeNoGenerator,
    links: PayLinks,
    public_url: url::Url,
    mode: Mode,
    wake: Arc<Notify>,
    sweep: Arc<Notify>,
    limits: Limits,
    merchants: MerchantCache,
    wallets: Arc<dyn WalletConnector>,
    readiness: crate::readiness::Readiness,
    faults: crate::faults::FaultBook,
    journal: crate::journal::JournalSettings,
    latency: crate::journal::LatencyMemo,
}

/// Most merchants kept in the cache before it starts over.
const MERCHANT_CACHE_MAX: usize = 10_000;

/// When a merchant (or its absence) was read, and what was read.
type CachedMerchant = (Instant, Option<Arc<Merchant>>);

/// Merchants (and unknown keys) as recently read from the store. Every API
/// request needs its merchant; reading it from the database each time was
/// the largest single cost of a request. Entries live `ttl`, so a change made
/// with `vmp merchant …` (another process) applies within that time.
struct MerchantCache {
    ttl: Duration,
    entries: RwLock<HashMap<String, CachedMerchant>>,
}

impl AppState {
    /// Assembles the state.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Clock,
        ids: EftTradeNoGenerator,
        links: PayLinks,
        public_url: url::Url,
        mode: Mode,
        limits: Limits,
    ) -> Self {
        let merchants = MerchantCache { ttl: Duration::from_secs(1), entries: RwLock::new(HashMap::new()) };
        let (wake, sweep) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let wallets: Arc<dyn WalletConnector> = Arc::new(SandboxWallets::new(mode == Mode::Sandbox));
        let readiness = crate::readiness::Readiness::default();
        let journal = crate::journal::JournalSettings::for_mode(mode);
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                ids,
                links,
                public_url,
                mode,
                wake,
                sweep,
                limits,
                merchants,
                wallets,
                readiness,
                faults: crate::faults::FaultBook::default(),
                journal,
                latency: crate::journal::LatencyMemo::default(),
            }),
        }
    }

    /// Sets how long a merchant read from the store is reused (0 = always read).
    #[must_use]
    pub fn with_merchant_cache_ttl(self, ttl: Duration) -> Self {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                inner.merchants.ttl = ttl;
                Self { inner: Arc::new(inner) }
            }
            Err(inner) => Self { inner },
        }
    }

    /// Sets whether and how long the request log and order events are kept
    /// (default: [`crate::journal::JournalSettings::for_mode`]).
    #[must_use]
    pub fn with_journal(self, journal: crate::journal::JournalSettings) -> Self {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                inner.journal = journal;
                Self { inner: Arc::new(inner) }
            }
            Err(inner) => Self { inner },
        }
    }

    /// Whether and how long the journal is kept.
    pub fn journal_settings(&self) -> crate::journal::JournalSettings {
        self.inner.journal
    }

    /// Latencies of recent accepted Place an Order requests.
    pub fn latency_memo(&self) -> &crate::journal::LatencyMemo {
        &self.inner.latency
    }

    /// The merchant with this key, from the cache when fresh.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn merchant(&self, key: &str) -> Result<Option<Arc<Merchant>>, StoreError> {
        let cache = &self.inner.merchants;
        if !cache.ttl.is_zero() {
            let entries = cache.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((at, m)) = entries.get(key)
                && at.elapsed() < cache.ttl
            {
                return Ok(m.clone());
            }
        }
        // Shared, not copied, between the cache and every request using it.
        let found = self.inner.store.merchant(key).await?.map(Arc::new);
        if !cache.ttl.is_zero() {
            let mut entries = cache.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            if entries.len() >= MERCHANT_CACHE_MAX {
                entries.clear();
            }
            entries.insert(key.to_owned(), (Instant::now(), found.clone()));
        }
        Ok(found)
    }

    /// Whether this instance should get traffic (`/readyz`).
    pub fn readiness(&self) -> &crate::readiness::Readiness {
        &self.inner.readiness
    }

    /// The sandbox fault rules in memory (`crate::faults`).
    pub fn faults(&self) -> &crate::faults::FaultBook {
        &self.inner.faults
    }

    /// The wallets behind orders.
    pub fn wallets(&self) -> &dyn WalletConnector {
        self.inner.wallets.as_ref()
    }

    /// Request rate limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The gateway clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The `eft_trade_no` generator.
    pub fn ids(&self) -> &EftTradeNoGenerator {
        &self.inner.ids
    }

    /// The pay-link signer.
    pub fn links(&self) -> &PayLinks {
        &self.inner.links
    }

    /// Public base URL for links.
    pub fn public_url(&self) -> &url::Url {
        &self.inner.public_url
    }

    /// Sandbox or production.
    pub fn mode(&self) -> Mode {
        self.inner.mode
    }

    /// Tells the notifier there may be work (a new outbox row, a clock move).
    pub fn wake_notifier(&self) {
        self.inner.wake.notify_one();
    }

    /// The handle the notifier waits on.
    pub fn notifier_wake(&self) -> Arc<Notify> {
        Arc::clone(&self.inner.wake)
    }

    /// Tells the sweeper to look now (the sandbox clock moved).
    pub fn wake_sweeper(&self) {
        self.inner.sweep.notify_one();
    }

    /// The handle the sweeper waits on.
    pub fn sweeper_wake(&self) -> Arc<Notify> {
        Arc::clone(&self.inner.sweep)
    }
}
