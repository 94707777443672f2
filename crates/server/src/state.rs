//! [`AppState`]: what every handler shares.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::Mode;
use crate::ids::EftTradeNoGenerator;
use crate::paylink::PayLinks;
use crate::ratelimit::Limits;
use crate::store::Store;

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
    limits: Limits,
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
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                ids,
                links,
                public_url,
                mode,
                wake: Arc::new(Notify::new()),
                limits,
            }),
        }
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
}
