//! The push dispatcher loop every node with a VAPID subject runs: rounds back to back while the
//! outbox has due notifications, a short pause when it is empty. Many nodes drain one outbox
//! safely: claims skip rows another node holds (see `push::dispatch`).

use std::time::Duration;

use crate::push::dispatch;
use crate::service::Ctx;

/// Pause after a round that found nothing due (the longest a new notification waits here).
pub const IDLE_POLL: Duration = Duration::from_millis(250);

pub async fn run(ctx: Ctx, subject: String) {
    loop {
        let pause = match dispatch::round(&ctx.push, &ctx.pool, &subject).await {
            Ok(r) if r.claimed as i64 == dispatch::BATCH => Duration::ZERO,
            Ok(_) => IDLE_POLL,
            Err(e) => {
                tracing::warn!(error = ?e, "a push dispatch round failed");
                Duration::from_secs(1)
            }
        };
        tokio::time::sleep(pause).await;
    }
}
