//! The push loop every node runs: expand new push jobs to devices, and with a VAPID subject send
//! what is due; rounds back to back while there is work, a short pause when there is none. Many
//! nodes share one outbox safely: claims skip rows another node holds (see `push::dispatch`).
//! Once a minute, notifications older than any TTL (left by a deployment with no sending node)
//! are deleted. Tests run [`step`] and [`sweep`] themselves, or wait on
//! [`crate::push::Push::rounds`].

use std::time::Duration;

use tokio::time::Instant;
use tracing::Instrument;

use crate::db;
use crate::push::dispatch;
use crate::service::Ctx;

/// Pause after a round that found nothing to do (the longest a new notification waits here).
pub const IDLE_POLL: Duration = Duration::from_millis(250);
/// How often stale notifications are deleted.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

pub async fn run(ctx: Ctx) {
    let mut swept = Instant::now();
    loop {
        let span = tracing::info_span!(
            "push_round",
            push.expanded = tracing::field::Empty,
            push.claimed = tracing::field::Empty,
        );
        let pause = match step(&ctx).instrument(span).await {
            Ok(r) if r.full() => Duration::ZERO,
            Ok(_) => IDLE_POLL,
            Err(e) => {
                tracing::warn!(error = %format_args!("{e:#}"), "a push round failed");
                Duration::from_secs(1)
            }
        };
        if swept.elapsed() >= SWEEP_EVERY {
            swept = Instant::now();
            if let Err(e) = sweep(&ctx).await {
                tracing::warn!(error = %format_args!("{e:#}"), "deleting stale push notifications failed");
            }
        }
        tokio::time::sleep(pause).await;
    }
}

/// One dispatch round on the node's clock (`push::dispatch::round`): expands, and with a VAPID
/// subject claims, sends and settles one batch. Counted in `Push::rounds` once over, failed or not.
pub async fn step(ctx: &Ctx) -> anyhow::Result<dispatch::Round> {
    let subject = ctx.push.settings.subject.as_deref();
    let round = dispatch::round(&ctx.push, &ctx.pool, subject, &*ctx.clock).await;
    ctx.push.round_done();
    round
}

/// Deletes the notifications stale on the node's clock; returns how many.
pub async fn sweep(ctx: &Ctx) -> anyhow::Result<usize> {
    let mut conn = ctx.pool.get().await?;
    let n = db::push_outbox::delete_stale(&mut conn, ctx.clock.now()).await?;
    if n > 0 {
        ctx.push
            .metrics
            .count(crate::push::PushOutcome::Expired, n as u64);
    }
    Ok(n)
}
