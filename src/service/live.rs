//! What live play reads and writes in PostgreSQL: who a caller is to a hunt (their [`Viewer`]: a
//! player's team in a hunt players can see, or staff of its brand), the events they may see after
//! an offset, the feeds' leaderboard snapshots, and which players hold a live socket on this node
//! (presence, read by the push expansion). The WebSocket sessions, the feeds and the leaderboard
//! route all go through here; `live` itself never queries.

use super::Ctx;
use crate::db;
use crate::domain::account::Principal;
use crate::domain::event::{Event, Viewer};
use crate::domain::ids::HuntId;
use crate::error::AppError;

/// Who `principal` is to `hunt`: a player (with their team, if any) in a hunt players can see,
/// or staff of the hunt's organisation. `NotFound` for drafts and unknown hunts (players) and
/// another brand's hunts (staff).
pub async fn viewer(ctx: &Ctx, principal: Principal, hunt: HuntId) -> Result<Viewer, AppError> {
    match principal {
        Principal::Player { id } => {
            let mut conn = ctx.pool.get().await?;
            if !db::hunts::is_visible_to_players(&mut conn, hunt).await? {
                return Err(AppError::NotFound("hunt"));
            }
            let team = db::teams::membership(&mut conn, hunt, id).await?;
            Ok(Viewer::Player { player: id, team })
        }
        Principal::Staff { .. } => {
            super::hunts::get_hunt(ctx, principal, hunt).await?;
            Ok(Viewer::Staff)
        }
    }
}

/// Numbered events of `hunt` after `after` that `viewer` may see, in offset order, at most
/// `limit`; `None`: every event (a node's own feed). A pooled connection is held for the read only.
pub async fn events_after(
    pool: &db::Pool,
    hunt: HuntId,
    after: i64,
    limit: i64,
    viewer: Option<&Viewer>,
) -> Result<Vec<Event>, AppError> {
    let mut conn = pool.get().await?;
    Ok(db::events::read(&mut conn, hunt, after, limit, viewer).await?)
}

/// As [`events_after`], each event with the time its transaction appended it (the feeds measure
/// their delivery lag from it).
pub async fn events_after_timed(
    pool: &db::Pool,
    hunt: HuntId,
    after: i64,
    limit: i64,
    viewer: Option<&Viewer>,
) -> Result<Vec<(Event, chrono::DateTime<chrono::Utc>)>, AppError> {
    let mut conn = pool.get().await?;
    Ok(db::events::read_timed(&mut conn, hunt, after, limit, viewer).await?)
}

/// The hunt's stored leaderboard snapshot in `format`: the offset it includes and its text.
pub async fn snapshot(
    pool: &db::Pool,
    hunt: HuntId,
    format: i32,
) -> Result<Option<(i64, String)>, AppError> {
    let mut conn = pool.get().await?;
    Ok(db::snapshots::load(&mut conn, hunt, format).await?)
}

/// Stores a leaderboard snapshot through `through` (unless a newer one is stored); whether it was
/// written.
pub async fn store_snapshot(
    pool: &db::Pool,
    hunt: HuntId,
    through: i64,
    format: i32,
    state: &str,
) -> Result<bool, AppError> {
    let mut conn = pool.get().await?;
    Ok(db::snapshots::store(&mut conn, hunt, through, format, state).await?)
}

/// Records that `present` hold a live socket on `node` and that `gone` no longer do.
pub async fn mark_presence(
    pool: &db::Pool,
    node: uuid::Uuid,
    present: &[uuid::Uuid],
    gone: &[uuid::Uuid],
) -> Result<(), AppError> {
    let mut conn = pool.get().await?;
    db::push::present(&mut conn, node, present).await?;
    if !gone.is_empty() {
        db::push::absent(&mut conn, node, gone).await?;
    }
    Ok(())
}

/// Refreshes the presence rows of `node`'s players, and deletes the node's rows that were not
/// refreshed in time.
pub async fn refresh_presence(
    pool: &db::Pool,
    node: uuid::Uuid,
    players: &[uuid::Uuid],
) -> Result<(), AppError> {
    let mut conn = pool.get().await?;
    db::push::present(&mut conn, node, players).await?;
    db::push::absent(&mut conn, node, &[]).await?;
    Ok(())
}
