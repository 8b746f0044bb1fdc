//! Announces phase changes (teaser, live, ended, archived) with exactly one `phase_changed` per
//! change, whatever the number of nodes: the conditional update of `announced_phase` decides.

use diesel_async::AsyncConnection;

use super::SCHEDULE_TICK;
use crate::db;
use crate::domain::event::NewEvent;
use crate::domain::hunt::{Phase, Schedule};
use crate::domain::ids::HuntId;
use crate::service::Ctx;

pub async fn run(ctx: Ctx) {
    loop {
        if let Err(e) = step(&ctx).await {
            tracing::warn!(error = %format_args!("{e:#}"), "announcing phases failed");
        }
        tokio::time::sleep(SCHEDULE_TICK).await;
    }
}

/// One pass over the published hunts; returns how many phases this node announced.
pub async fn step(ctx: &Ctx) -> anyhow::Result<usize> {
    let now = ctx.clock.now();
    let mut conn = ctx.pool.get().await?;
    let mut announced = 0;
    for c in db::hunts::phase_candidates(&mut conn).await? {
        let schedule = Schedule {
            teaser_at: c.teaser_at,
            live_at: c.live_at,
            ends_at: c.ends_at,
            archive_at: c.archive_at,
        };
        let phase = schedule.phase_at(now);
        if c.announced_phase.as_deref() == Some(phase.as_str()) {
            continue;
        }
        let hunt = HuntId(c.id);
        let from = c.announced_phase.clone();
        let did = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                if !db::hunts::announce_phase(conn, hunt, from.as_deref(), phase.as_str()).await? {
                    return Ok(false);
                }
                let previous = from.as_deref().and_then(Phase::parse);
                let event = NewEvent::phase_changed(phase, previous);
                db::events::append(conn, hunt, &[event]).await?;
                Ok(true)
            })
            .await?;
        if did {
            announced += 1;
        }
    }
    if announced > 0 {
        ctx.sequencer.notify_one();
    }
    Ok(announced)
}
