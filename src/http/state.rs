//! `AppState`: what every handler shares (the use cases' context, the node's live hub, the
//! OpenAPI text, the cache bounds). Built by `app`, which starts everything; nothing under `http`
//! builds one.

use std::sync::Arc;

use crate::cache::CacheConfig;
use crate::live::hub::Hub;
use crate::service::Ctx;

/// Shared by every handler; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub ctx: Ctx,
    /// This node's live feeds and WebSocket sessions.
    pub hub: Arc<Hub>,
    pub openapi_json: Arc<str>,
    /// Bounds and idle time of the node's caches, and how often they are swept.
    pub caches: CacheConfig,
}
