//! The top of the house: builds a node's state from its settings (pool, caches, clock, metrics,
//! limits, push, the OpenAPI text) and starts its background work (jobs, the LISTEN relay, the
//! cache sweep). It uses every layer; no layer uses it (`main`, tests and benches start here).

use std::sync::Arc;

use crate::cache::CacheConfig;
use crate::clock::{Clock, SystemClock};
use crate::db;
use crate::limits::Limiters;
use crate::limits::config::LimitsConfig;
use crate::live::hub::Hub;
use crate::push::{Push, PushSettings};
use crate::service::Ctx;
use crate::service::checkin_cache::{HuntGates, Memberships};
use crate::service::checkin_writer::CheckinWriter;
use crate::service::index_cache::IndexCache;
use crate::service::passwords::Passwords;
use crate::service::token_cache::TokenCache;
use crate::telemetry::Metrics;

pub use crate::http::AppState;

impl AppState {
    /// Builds the state on a pool, with the system clock.
    pub fn new(pool: db::Pool) -> Self {
        Self::with_clock(pool, Arc::new(SystemClock))
    }

    /// Builds the state with another clock (tests).
    pub fn with_clock(pool: db::Pool, clock: Arc<dyn Clock>) -> Self {
        let metrics = Arc::new(Metrics::new());
        let sequencer = Arc::new(tokio::sync::Notify::new());
        let writer = CheckinWriter::new(pool.clone(), metrics.clone(), sequencer.clone());
        let limits = LimitsConfig::default();
        let ctx = Ctx {
            pool,
            indexes: Arc::new(IndexCache::default()),
            gates: Arc::new(HuntGates::default()),
            members: Arc::new(Memberships::default()),
            writer: Arc::new(writer),
            tokens: Arc::new(TokenCache::default()),
            clock,
            metrics,
            sequencer,
            push: Arc::new(Push::new(PushSettings::default())),
            passwords: Arc::new(Passwords::new(
                limits.password_threads,
                limits.password_queue,
            )),
            limits: Arc::new(Limiters::new(limits)),
        };
        let hub = Arc::new(Hub::new(ctx.pool.clone(), ctx.metrics.live()));
        Self {
            ctx,
            hub,
            openapi_json: crate::http::openapi_json().into(),
            caches: CacheConfig::default(),
        }
    }

    /// Sets the bounds and idle time of the node's caches (before any use and `start_background`).
    pub fn with_caches(mut self, caches: CacheConfig) -> Self {
        self.ctx.indexes = Arc::new(IndexCache::new(&caches));
        self.ctx.gates = Arc::new(HuntGates::new(&caches));
        self.ctx.members = Arc::new(Memberships::new(&caches));
        self.ctx.tokens = Arc::new(TokenCache::new(&caches));
        self.hub = Arc::new(Hub::with_caches(
            self.ctx.pool.clone(),
            &caches,
            self.ctx.metrics.live(),
        ));
        self.caches = caches;
        self
    }

    /// Sweeps every cache of the node now (idle entries, archived hunts); see `cache::node`.
    pub async fn sweep_caches(&self) -> crate::cache::node::Swept {
        crate::cache::node::sweep(&self.ctx, &self.hub).await
    }

    /// Sweeps every cache as if the monotonic clock stood at `now` (see `cache::node::sweep_at`).
    pub async fn sweep_caches_at(&self, now: std::time::Instant) -> crate::cache::node::Swept {
        crate::cache::node::sweep_at(&self.ctx, &self.hub, now).await
    }

    /// Sets how this node pushes (before `start_background`).
    pub fn with_push(mut self, settings: PushSettings) -> Self {
        self.ctx.push = Arc::new(Push::new(settings));
        self
    }

    /// Sets this node's limits and its password-hashing pool (before serving).
    pub fn with_limits(mut self, config: LimitsConfig) -> Self {
        self.ctx.passwords = Arc::new(Passwords::new(
            config.password_threads,
            config.password_queue,
        ));
        self.ctx.limits = Arc::new(Limiters::new(config));
        self
    }

    /// Starts the node's background work: jobs, and the LISTEN relay on `database_url`.
    pub fn start_background(&self, database_url: String) {
        crate::jobs::spawn_all(&self.ctx);
        tokio::spawn(crate::jobs::limits::run(self.ctx.clone()));
        tokio::spawn(crate::live::relay::run(database_url, self.hub.clone()));
        tokio::spawn(crate::cache::node::run(
            self.ctx.clone(),
            self.hub.clone(),
            self.caches.sweep_every,
        ));
    }
}
