//! Game-master actions on a live hunt: pause, resume, broadcast, freeze and unfreeze the leaderboard.

use diesel_async::AsyncConnection;

use super::Ctx;
use crate::db;
use crate::db::hunts::HuntRecord;
use crate::domain::account::{Principal, Role};
use crate::domain::event::{NewEvent, StatusChange};
use crate::domain::hunt::HuntStatus;
use crate::domain::ids::{HuntId, OrgId, TeamId};
use crate::error::AppError;

/// Owners and game masters run live hunts.
fn game_master_org(principal: Principal) -> Result<OrgId, AppError> {
    match principal {
        Principal::Staff {
            org,
            role: Role::Owner | Role::GameMaster,
            ..
        } => Ok(org),
        Principal::Staff { .. } => Err(AppError::Forbidden("owners and game masters only")),
        Principal::Player { .. } => Err(AppError::Forbidden("staff only")),
    }
}

/// Pauses (`true`) or resumes a published hunt; paused hunts answer check-ins `not_live`, reason `paused`.
pub async fn set_paused(
    ctx: &Ctx,
    principal: Principal,
    hunt: HuntId,
    paused: bool,
) -> Result<HuntRecord, AppError> {
    let org = game_master_org(principal)?;
    let mut conn = ctx.pool.get().await?;
    let record = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let current = db::hunts::get_for_org(conn, org, hunt, true)
                .await?
                .ok_or(AppError::NotFound("hunt"))?;
            let (from, to) = if paused {
                (HuntStatus::Published, HuntStatus::Paused)
            } else {
                (HuntStatus::Paused, HuntStatus::Published)
            };
            if current.status == to {
                return Ok(current);
            }
            if current.status != from {
                return Err(AppError::conflict(
                    "hunt_not_published",
                    "only a published hunt can be paused or resumed",
                ));
            }
            let record = db::hunts::set_status(conn, hunt, to).await?;
            let status = if paused {
                StatusChange::Paused
            } else {
                StatusChange::Resumed
            };
            db::events::append(conn, hunt, &[NewEvent::status_changed(status)]).await?;
            Ok(record)
        })
        .await?;
    ctx.sequencer.notify_one();
    Ok(record)
}

/// Sends a message to every player of the hunt, or to one team.
pub async fn broadcast(
    ctx: &Ctx,
    principal: Principal,
    hunt: HuntId,
    message: &str,
    team: Option<TeamId>,
) -> Result<(), AppError> {
    let org = game_master_org(principal)?;
    let message = message.trim();
    if message.is_empty() || message.chars().count() > 1000 {
        return Err(AppError::invalid_field(
            "/message",
            "must have 1 to 1000 characters",
        ));
    }
    let mut conn = ctx.pool.get().await?;
    if !db::hunts::belongs_to_org(&mut conn, org, hunt).await? {
        return Err(AppError::NotFound("hunt"));
    }
    if let Some(team) = team {
        if !db::teams::belongs_to(&mut conn, hunt, team).await? {
            return Err(AppError::NotFound("team"));
        }
    }
    let event = NewEvent::broadcast(message.to_owned(), team);
    db::events::append(&mut conn, hunt, &[event]).await?;
    ctx.sequencer.notify_one();
    Ok(())
}

/// Freezes (`true`) or reveals the leaderboard. While frozen, players see the board as it was.
pub async fn set_frozen(
    ctx: &Ctx,
    principal: Principal,
    hunt: HuntId,
    frozen: bool,
) -> Result<(), AppError> {
    let org = game_master_org(principal)?;
    let mut conn = ctx.pool.get().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let current = db::hunts::get_for_org(conn, org, hunt, true)
            .await?
            .ok_or(AppError::NotFound("hunt"))?;
        let was = db::hunts::frozen_at(conn, current.id).await?;
        if was.is_some() == frozen {
            return Ok(());
        }
        db::hunts::set_frozen(conn, hunt, frozen).await?;
        db::events::append(conn, hunt, &[NewEvent::leaderboard(frozen)]).await?;
        Ok(())
    })
    .await?;
    ctx.sequencer.notify_one();
    Ok(())
}
