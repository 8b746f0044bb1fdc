//! Numbers committed events (see `db::events::sequence`): woken by local commits, and polling so
//! events committed through other nodes are numbered within `POLL` too.

use std::time::Duration;

use diesel_async::AsyncConnection;

use crate::db;
use crate::service::Ctx;

/// Longest wait between two looks at unnumbered events.
pub const POLL: Duration = Duration::from_millis(20);
const BATCH: i64 = 5000;

pub async fn run(ctx: Ctx) {
    loop {
        tokio::select! {
            () = ctx.sequencer.notified() => {},
            () = tokio::time::sleep(POLL) => {},
        }
        if let Err(e) = step(&ctx).await {
            tracing::warn!(error = %format_args!("{e:#}"), "sequencing events failed");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Numbers batches until nothing is left (or another node holds the lock).
pub async fn step(ctx: &Ctx) -> anyhow::Result<()> {
    let mut conn = ctx.pool.get().await?;
    while db::events::pending(&mut conn).await? {
        let hunts = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                db::events::sequence(conn, BATCH).await
            })
            .await?;
        if hunts.is_empty() {
            break;
        }
    }
    Ok(())
}
