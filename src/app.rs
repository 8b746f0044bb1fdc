//! `AppState`: built once per node from the config (pool, index cache, clock, metrics, OpenAPI text).

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::db;
use crate::service::Ctx;
use crate::service::index_cache::IndexCache;
use crate::service::token_cache::TokenCache;
use crate::telemetry::Metrics;

/// Shared by every handler; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub ctx: Ctx,
    pub openapi_json: Arc<str>,
}

impl AppState {
    /// Builds the state on a pool, with the system clock.
    pub fn new(pool: db::Pool) -> Self {
        Self::with_clock(pool, Arc::new(SystemClock))
    }

    /// Builds the state with another clock (tests).
    pub fn with_clock(pool: db::Pool, clock: Arc<dyn Clock>) -> Self {
        let ctx = Ctx {
            pool,
            indexes: Arc::new(IndexCache::default()),
            tokens: Arc::new(TokenCache::default()),
            clock,
            metrics: Arc::new(Metrics::default()),
        };
        Self { ctx, openapi_json: crate::http::openapi_json().into() }
    }
}
