//! What `/metrics` reads when scraped: the values other parts of the node keep themselves (pool,
//! caches, index builds, limiters, hashing pool, push outcomes and outbox depth), set on the
//! node's recorder (`telemetry`), then the recorder's text. It lives with the routes because it
//! reads the whole node; `telemetry` below it knows nothing of services.

use crate::live::hub::Hub;
use crate::service::Ctx;
use crate::telemetry::recorder::names::*;

/// The exposition text of the node of `ctx` and `hub`.
pub async fn scrape(ctx: &Ctx, hub: &Hub) -> String {
    let m = &ctx.metrics;
    let pool = ctx.pool.status();
    m.set_gauge(DB_POOL_SIZE, &[], pool.size as f64);
    m.set_gauge(DB_POOL_AVAILABLE, &[], pool.available as f64);
    m.set_gauge(INDEXED_HUNTS, &[], ctx.indexes.len() as f64);
    m.set_counter(INDEX_REBUILDS, &[], ctx.indexes.builds());
    for (cache, entries) in crate::cache::node::entries(ctx, hub) {
        m.set_gauge(CACHE_ENTRIES, &[("cache", cache)], entries as f64);
    }
    ctx.limits.report(m);
    ctx.passwords.report(m);
    let depth = crate::service::push::queue_depth(ctx).await;
    ctx.push.metrics.report(m, depth);
    m.render()
}
