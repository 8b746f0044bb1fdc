//! Background loops every node runs; each is safe to run on many nodes at once (advisory locks,
//! conditional updates, primary keys). Each loop repeats a public `step` (one pass, at the node's
//! `Clock`), which tests call to run the job deterministically after moving a fake clock instead
//! of waiting for the loop's tick.

pub mod limits;
pub mod phases;
pub mod push;
pub mod sequencer;
pub mod telemetry;
pub mod timed_clues;

use std::time::Duration;

use crate::service::Ctx;

/// How often the schedule-driven jobs look.
pub const SCHEDULE_TICK: Duration = Duration::from_millis(500);

/// Starts every job on the current runtime.
pub fn spawn_all(ctx: &Ctx) {
    tokio::spawn(sequencer::run(ctx.clone()));
    tokio::spawn(phases::run(ctx.clone()));
    tokio::spawn(timed_clues::run(ctx.clone()));
    if ctx.push.settings.subject.is_none() {
        tracing::warn!(
            "NENUFAR_VAPID_SUBJECT is not set: this node queues push notifications but sends none"
        );
    }
    tokio::spawn(push::run(ctx.clone()));
    tokio::spawn(telemetry::run(ctx.clone()));
}
