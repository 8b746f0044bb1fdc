//! The node's caches as a whole: one sweep over all of them (idle entries, archived hunts,
//! expired tokens and VAPID headers) and their `nenufar_cache_entries{cache="..."}` gauges.
//! `AppState::start_background` runs the sweep every `NENUFAR_CACHE_SWEEP_S`; tests call it
//! (`sweep_at` to take idle times as passed).

use std::collections::HashSet;
use std::time::Instant;

use std::sync::Arc;

use crate::domain::hunt::Phase;
use crate::domain::ids::HuntId;
use crate::live::hub::Hub;
use crate::service::Ctx;

/// What one sweep let go of, per cache.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Swept {
    pub gates: usize,
    pub indexes: usize,
    pub memberships: usize,
    pub feeds: usize,
    pub tokens: usize,
    pub vapid_headers: usize,
}

/// Lets go of every idle entry and everything that belongs to an archived hunt, on every cache of
/// the node. Gates know each hunt's schedule: a hunt whose gate says archived loses its index,
/// memberships and feed at once (a feed also knows it from the `phase_changed` it read).
pub async fn sweep(ctx: &Ctx, hub: &Hub) -> Swept {
    sweep_at(ctx, hub, Instant::now()).await
}

/// [`sweep`] with idle times measured at the monotonic instant `now` (tests pass one ahead of the
/// present instead of waiting); archived hunts and expired entries are judged on the node's clock.
pub async fn sweep_at(ctx: &Ctx, hub: &Hub, now: Instant) -> Swept {
    let wall = ctx.clock.now();
    let archived = archived(ctx, hub, wall).await;
    let mut swept = Swept {
        gates: ctx
            .gates
            .cache()
            .sweep(now, |hunt, _| archived.contains(hunt))
            .len(),
        ..Swept::default()
    };
    swept.indexes = ctx
        .indexes
        .cache()
        .sweep(now, |hunt, _| archived.contains(hunt))
        .len();
    swept.memberships = ctx
        .members
        .cache()
        .sweep(now, |(hunt, _), _| archived.contains(hunt))
        .len();
    swept.tokens = ctx.tokens.sweep(wall);
    swept.vapid_headers = ctx.push.sweep_headers(wall);
    swept.feeds = hub.sweep(now, |hunt| archived.contains(&hunt)).await;
    swept
}

/// The hunts held by any cache that are archived at `wall`: as the cached gates say, as the feeds
/// read it, and as PostgreSQL says (the schedule may have changed through another node). One
/// query per sweep; if it fails, idle times still apply.
async fn archived(ctx: &Ctx, hub: &Hub, wall: chrono::DateTime<chrono::Utc>) -> HashSet<HuntId> {
    let mut archived: HashSet<HuntId> = ctx
        .gates
        .cache()
        .keys_where(|_, gate| gate.schedule.phase_at(wall) == Phase::Archived)
        .into_iter()
        .collect();
    archived.extend(hub.feeds().iter().filter(|f| f.archived()).map(|f| f.hunt));
    let mut held: HashSet<HuntId> = ctx
        .gates
        .cache()
        .keys_where(|_, _| true)
        .into_iter()
        .collect();
    held.extend(ctx.indexes.cache().keys_where(|_, _| true));
    held.extend(
        ctx.members
            .cache()
            .keys_where(|_, _| true)
            .into_iter()
            .map(|(h, _)| h),
    );
    held.extend(hub.feeds().iter().map(|f| f.hunt));
    let ids: Vec<uuid::Uuid> = held.difference(&archived).map(|h| h.0).collect();
    let stored = async {
        let mut conn = ctx.pool.get().await?;
        anyhow::Ok(crate::db::hunts::archived_among(&mut conn, &ids, wall).await?)
    };
    match stored.await {
        Ok(hunts) => archived.extend(hunts),
        Err(e) => tracing::warn!(error = ?e, "reading archived hunts for the cache sweep failed"),
    }
    archived
}

/// `(cache, entries)` for every cache of the node, for `/metrics`.
pub fn entries(ctx: &Ctx, hub: &Hub) -> Vec<(&'static str, usize)> {
    vec![
        (ctx.gates.cache().name(), ctx.gates.cache().len()),
        (ctx.indexes.cache().name(), ctx.indexes.cache().len()),
        (ctx.members.cache().name(), ctx.members.cache().len()),
        (ctx.tokens.cache().name(), ctx.tokens.cache().len()),
        (hub.cache().name(), hub.cache().len()),
        ("vapid_headers", ctx.push.header_entries()),
    ]
}

/// Sweeps every `every` until the process ends.
pub async fn run(ctx: Ctx, hub: Arc<Hub>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let swept = sweep(&ctx, &hub).await;
        tracing::debug!(?swept, "caches swept");
    }
}
