//! Teams: create (the creator is captain and first member), join by invite code, the team's progress.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use rand::Rng;

use super::Ctx;
use crate::db;
use crate::db::teams::FoundTarget;
use crate::domain::account::Principal;
use crate::domain::event::NewEvent;
use crate::domain::hunt::{HuntStatus, Phase};
use crate::domain::ids::{HuntId, PlayerId, TeamId};
use crate::domain::name::Name;
use crate::error::{AppError, is_unique_violation};
use crate::ids::RandomId;

/// Invite codes avoid look-alike characters (0/O, 1/I).
const INVITE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const INVITE_LEN: usize = 8;

fn invite_code() -> String {
    let mut rng = rand::rng();
    (0..INVITE_LEN)
        .map(|_| INVITE_ALPHABET[rng.random_range(0..INVITE_ALPHABET.len())] as char)
        .collect()
}

/// The calling player, or 403.
pub fn player_of(principal: Principal) -> Result<PlayerId, AppError> {
    match principal {
        Principal::Player { id } => Ok(id),
        Principal::Staff { .. } => Err(AppError::Forbidden("players only")),
    }
}

/// A hunt players can form teams in: published or paused, not ended. Returns its team size cap.
async fn joinable(
    conn: &mut diesel_async::AsyncPgConnection,
    hunt: HuntId,
    now: DateTime<Utc>,
) -> Result<i32, AppError> {
    use crate::db::schema::hunts;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    type Row = (
        String,
        DateTime<Utc>,
        DateTime<Utc>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        i32,
    );
    let row: Option<Row> = hunts::table
        .find(hunt.0)
        .select((
            hunts::status,
            hunts::teaser_at,
            hunts::live_at,
            hunts::ends_at,
            hunts::archive_at,
            hunts::team_max_size,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((status, teaser_at, live_at, ends_at, archive_at, max)) = row else {
        return Err(AppError::NotFound("hunt"));
    };
    if HuntStatus::parse(&status).is_none_or(|s| s == HuntStatus::Draft) {
        return Err(AppError::NotFound("hunt"));
    }
    let schedule = crate::domain::hunt::Schedule {
        teaser_at,
        live_at,
        ends_at,
        archive_at,
    };
    match schedule.phase_at(now) {
        Phase::Teaser | Phase::Live => Ok(max),
        Phase::Upcoming => Err(AppError::NotFound("hunt")),
        Phase::Ended | Phase::Archived => {
            Err(AppError::conflict("hunt_closed", "this hunt has ended"))
        }
    }
}

fn team_error(e: diesel::result::Error) -> AppError {
    if is_unique_violation(&e, Some("team_members_pkey")) {
        AppError::conflict("already_in_team", "you already have a team in this hunt")
    } else if is_unique_violation(&e, Some("teams_invite_code_key")) {
        AppError::conflict(
            "invite_code_collision",
            "drew an invite code already in use",
        )
    } else if is_unique_violation(&e, Some("teams_hunt_name_key")) {
        AppError::conflict(
            "team_name_taken",
            "a team of this hunt already has this name",
        )
    } else {
        e.into()
    }
}

/// Longest team name, characters (after normalisation).
pub const MAX_TEAM_NAME_CHARS: usize = 40;

/// Creates a team; the creator becomes captain and member. The name follows `domain::name`
/// (normalised, no invisible characters or mixed-script look-alikes) and is unique in the hunt
/// on its look-alike key (409 `team_name_taken`).
pub async fn create_team(
    ctx: &Ctx,
    principal: Principal,
    hunt: HuntId,
    name: &str,
) -> Result<(TeamId, String), AppError> {
    let player = player_of(principal)?;
    let name =
        Name::parse(name, MAX_TEAM_NAME_CHARS).map_err(|e| AppError::invalid_field("/name", e))?;
    let now = ctx.clock.now();
    let mut conn = ctx.pool.get().await?;
    for _ in 0..5 {
        let code = invite_code();
        let name = name.clone();
        let result = conn
            .transaction::<_, AppError, _>(async move |conn| {
                let max = joinable(conn, hunt, now).await?;
                let team = TeamId::new_random();
                db::teams::insert(conn, team, hunt, &name, &code, player)
                    .await
                    .map_err(team_error)?;
                db::teams::add_member(conn, hunt, team, player)
                    .await
                    .map_err(team_error)?;
                if !db::teams::claim_seat(conn, team, max).await? {
                    return Err(AppError::conflict("team_full", "this team is full"));
                }
                let handle = db::accounts::player_handle(conn, player)
                    .await?
                    .unwrap_or_default();
                let events = [
                    NewEvent::team_created(team, name.as_str().to_owned()),
                    NewEvent::member_joined(team, player, handle),
                ];
                db::events::append(conn, hunt, &events).await?;
                Ok((team, code))
            })
            .await;
        match result {
            Err(AppError::Conflict {
                code: "invite_code_collision",
                ..
            }) => continue,
            other => {
                ctx.sequencer.notify_one();
                return other;
            }
        }
    }
    Err(AppError::Internal(anyhow::anyhow!(
        "could not draw a free invite code"
    )))
}

/// Joins the team an invite code opens.
pub async fn join_team(
    ctx: &Ctx,
    principal: Principal,
    code: &str,
) -> Result<(TeamId, HuntId), AppError> {
    let player = player_of(principal)?;
    let code = code.trim().to_uppercase();
    let now = ctx.clock.now();
    let mut conn = ctx.pool.get().await?;
    let joined = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let (team, hunt) = db::teams::by_invite_code(conn, &code)
                .await?
                .ok_or(AppError::NotFound("invite code"))?;
            let max = joinable(conn, hunt, now).await?;
            db::teams::add_member(conn, hunt, team, player)
                .await
                .map_err(team_error)?;
            if !db::teams::claim_seat(conn, team, max).await? {
                return Err(AppError::conflict("team_full", "this team is full"));
            }
            let handle = db::accounts::player_handle(conn, player)
                .await?
                .unwrap_or_default();
            db::events::append(conn, hunt, &[NewEvent::member_joined(team, player, handle)])
                .await?;
            Ok((team, hunt))
        })
        .await;
    if joined.is_ok() {
        ctx.sequencer.notify_one();
    }
    joined
}

/// A team's progress as its members see it.
#[derive(Debug, Clone)]
pub struct Progress {
    pub team: TeamId,
    pub name: String,
    pub score: i64,
    pub members: i32,
    pub found: Vec<FoundTarget>,
}

/// The player's team in a hunt: 404 for a hunt players cannot see (unknown or draft), as every
/// route answers; 403 `not_in_hunt` for a visible hunt without the player's team.
pub async fn team_of(
    conn: &mut diesel_async::AsyncPgConnection,
    hunt: HuntId,
    player: PlayerId,
) -> Result<TeamId, AppError> {
    if let Some(team) = db::teams::membership(conn, hunt, player).await? {
        return Ok(team);
    }
    if db::hunts::is_visible_to_players(conn, hunt).await? {
        Err(AppError::NotInHunt)
    } else {
        Err(AppError::NotFound("hunt"))
    }
}

/// The calling player's team progress in a hunt.
pub async fn progress(ctx: &Ctx, principal: Principal, hunt: HuntId) -> Result<Progress, AppError> {
    let player = player_of(principal)?;
    let mut conn = ctx.pool.get().await?;
    let team = team_of(&mut conn, hunt, player).await?;
    let (name, score, members, found) = db::teams::progress(&mut conn, team).await?;
    Ok(Progress {
        team,
        name,
        score,
        members,
        found,
    })
}
