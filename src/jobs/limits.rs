//! Keeps the limiters bounded: forgets rate-limiter keys back at full burst, and deletes failed-login
//! counts whose window has passed (any node may do it; the delete is idempotent).

use std::time::Duration;

use crate::db;
use crate::service::Ctx;

/// How often limiter keys at full burst are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(10);
/// Sweeps between two deletions of expired failed-login counts.
const PURGE_EVERY_SWEEPS: u32 = 60;

/// Runs until the node stops.
pub async fn run(ctx: Ctx) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n: u32 = 0;
    loop {
        tick.tick().await;
        n = n.wrapping_add(1);
        if let Err(e) = step(&ctx, n % PURGE_EVERY_SWEEPS == 0).await {
            tracing::warn!(error = %format_args!("{e:#}"), "limits: purging expired login counts failed");
        }
    }
}

/// One sweep: forgets limiter keys back at full burst, and with `purge` deletes the failed-login
/// counts whose window has passed (on PostgreSQL's clock, see `clock`); returns how many went.
pub async fn step(ctx: &Ctx, purge: bool) -> anyhow::Result<usize> {
    ctx.limits.sweep();
    if !purge {
        return Ok(0);
    }
    let window = ctx.limits.config.login_failure_window;
    let mut conn = ctx
        .pool
        .get()
        .await
        .map_err(|e| anyhow::anyhow!("no database connection to purge login counts: {e}"))?;
    Ok(db::login_attempts::purge_expired(&mut conn, window).await?)
}
