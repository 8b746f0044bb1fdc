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
        ctx.limits.sweep();
        n = n.wrapping_add(1);
        if n % PURGE_EVERY_SWEEPS == 0 {
            let window = ctx.limits.config.login_failure_window;
            let purged = match ctx.pool.get().await {
                Ok(mut conn) => db::login_attempts::purge_expired(&mut conn, window).await,
                Err(e) => {
                    tracing::warn!(error = %e, "limits: no database connection to purge login counts");
                    continue;
                }
            };
            if let Err(e) = purged {
                tracing::warn!(error = %e, "limits: purging expired login counts failed");
            }
        }
    }
}
