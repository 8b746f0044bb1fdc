//! What `/metrics` reads when scraped: the values other parts of the node keep themselves (pool,
//! caches, index builds, limiters, hashing pool, push outcomes and outbox depth), set on the
//! node's recorder, then the recorder's text.

use super::recorder::names::*;
use crate::app::AppState;

/// The exposition text of `state`'s node.
pub async fn scrape(state: &AppState) -> String {
    let ctx = &state.ctx;
    let m = &ctx.metrics;
    let pool = ctx.pool.status();
    m.set_gauge(DB_POOL_SIZE, &[], pool.size as f64);
    m.set_gauge(DB_POOL_AVAILABLE, &[], pool.available as f64);
    m.set_gauge(INDEXED_HUNTS, &[], ctx.indexes.len() as f64);
    m.set_counter(INDEX_REBUILDS, &[], ctx.indexes.builds());
    for (cache, entries) in crate::cache::node::entries(state) {
        m.set_gauge(CACHE_ENTRIES, &[("cache", cache)], entries as f64);
    }
    ctx.limits.report(m);
    ctx.passwords.report(m);
    let depth = crate::service::push::queue_depth(ctx).await;
    ctx.push.metrics.report(m, depth);
    m.render()
}
