//! Reveals timed clues when due, once per team even with every node running this loop.

use super::SCHEDULE_TICK;
use crate::db;
use crate::service::Ctx;

pub async fn run(ctx: Ctx) {
    loop {
        if let Err(e) = step(&ctx).await {
            tracing::warn!(error = %format_args!("{e:#}"), "revealing timed clues failed");
        }
        tokio::time::sleep(SCHEDULE_TICK).await;
    }
}

/// One pass; returns how many reveals this node made.
pub async fn step(ctx: &Ctx) -> anyhow::Result<usize> {
    let mut conn = ctx.pool.get().await?;
    let n = db::clues::reveal_due(&mut conn, ctx.clock.now()).await?;
    if n > 0 {
        ctx.sequencer.notify_one();
    }
    Ok(n)
}
