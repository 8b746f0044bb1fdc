//! What live play reads from the log on behalf of someone: who a caller is to a hunt (their
//! [`Viewer`]: a player's team in a hunt players can see, or staff of its brand), and the events
//! they may see after an offset. The WebSocket sessions and the leaderboard route both ask here.

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
