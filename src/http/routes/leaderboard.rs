//! Leaderboards (teams, players), computed on this node from the event log (from the hunt's
//! snapshot plus the events after it); freeze and reveal.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::event::Viewer;
use crate::domain::ids::HuntId;
use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::{Auth, Caller, GameMasters};
use crate::http::extract::{ApiPath, ApiQuery};
use crate::service;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_leaderboard))
        .routes(routes!(freeze))
        .routes(routes!(unfreeze))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LeaderboardQuery {
    /// Teams (the default) or players.
    #[param(inline, value_type = Option<BoardKind>, nullable = false)]
    pub kind: Option<String>,
    /// Entries in the page.
    #[param(nullable = false, minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<u32>,
    /// `me`: the window around the caller's team (or the caller, for `kind=player`); players only.
    #[param(inline, value_type = Option<Around>, nullable = false)]
    pub around: Option<String>,
}

/// Which board: a schema only (the query is read as text and checked in the handler).
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BoardKind {
    Team,
    Player,
}

/// Where the page starts: a schema only, like `BoardKind`.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Around {
    Me,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeaderboardEntry {
    /// 1 for the first.
    #[schema(minimum = 1)]
    pub rank: u32,
    pub name: String,
    pub score: i64,
    /// The team (kind=team) or the player (kind=player).
    pub id: uuid::Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeaderboardResponse {
    pub entries: Vec<LeaderboardEntry>,
    /// Whether a game master froze the board: players then see it as it was at the freeze (and
    /// `offset` is the freeze's), staff still see the live board.
    pub frozen: bool,
    /// The last event offset this board includes.
    pub offset: i64,
}

/// The hunt's leaderboard: score descending, ties to whoever reached the score first.
#[utoipa::path(get, path = "/v1/hunts/{hunt_id}/leaderboard", tag = "leaderboard", security(("bearer" = ["player", "owner", "editor", "game_master"])),
    params(("hunt_id" = uuid::Uuid, Path), LeaderboardQuery),
    responses((status = 200, body = LeaderboardResponse)))]
async fn get_leaderboard(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(hunt): ApiPath<HuntId>,
    ApiQuery(q): ApiQuery<LeaderboardQuery>,
) -> Result<Json<LeaderboardResponse>, AppError> {
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(query_field("/limit", "must be in [1, 100]"));
    }
    let players = match q.kind.as_deref() {
        None | Some("team") => false,
        Some("player") => true,
        Some(_) => return Err(query_field("/kind", "must be team or player")),
    };
    let around_me = match q.around.as_deref() {
        None => false,
        Some("me") => true,
        Some(_) => return Err(query_field("/around", "must be me")),
    };
    let (me, staff) = match service::live::viewer(&state.ctx, principal, hunt).await? {
        Viewer::Player { player, team } => (Some((player, team)), false),
        Viewer::Staff => (None, true),
    };
    if around_me && me.is_none() {
        return Err(query_field("/around", "around=me is for players"));
    }
    let feed = state.hub.current(&state.ctx.pool, hunt).await?;
    let read = |boards: &crate::live::boards::Boards, frozen: bool, offset: i64| {
        let rank_of_me = match (around_me, me, players) {
            (true, Some((id, _)), true) => boards.players.rank(id),
            (true, Some((_, Some(team))), false) => boards.teams.rank(team),
            _ => None,
        };
        let from = rank_of_me.map_or(0, |r| r.saturating_sub(1).saturating_sub(limit / 2));
        let entries = if players {
            boards
                .player_page(from, limit)
                .into_iter()
                .map(|(s, name)| LeaderboardEntry {
                    rank: s.rank,
                    name,
                    score: s.score,
                    id: s.member.0,
                })
                .collect()
        } else {
            boards
                .team_page(from, limit)
                .into_iter()
                .map(|(s, name)| LeaderboardEntry {
                    rank: s.rank,
                    name,
                    score: s.score,
                    id: s.member.0,
                })
                .collect()
        };
        LeaderboardResponse {
            entries,
            frozen,
            offset,
        }
    };
    let response = if staff {
        feed.with_live_boards(read)
    } else {
        feed.with_boards(read)
    };
    Ok(Json(response))
}

/// Freezes the leaderboard players see (owner or game master).
#[utoipa::path(post, path = "/v1/hunts/{hunt_id}/leaderboard/freeze", tag = "leaderboard", security(("bearer" = ["owner", "game_master"])),
    params(("hunt_id" = uuid::Uuid, Path)),
    responses((status = 204, description = "Frozen (or already frozen).")))]
async fn freeze(
    State(state): State<AppState>,
    caller: Caller<GameMasters>,
    ApiPath(hunt): ApiPath<HuntId>,
) -> Result<axum::http::StatusCode, AppError> {
    service::game_master::set_frozen(&state.ctx, caller.principal, hunt, true).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Reveals the leaderboard again; subscribers get the current board.
#[utoipa::path(post, path = "/v1/hunts/{hunt_id}/leaderboard/unfreeze", tag = "leaderboard", security(("bearer" = ["owner", "game_master"])),
    params(("hunt_id" = uuid::Uuid, Path)),
    responses((status = 204, description = "Revealed (or not frozen).")))]
async fn unfreeze(
    State(state): State<AppState>,
    caller: Caller<GameMasters>,
    ApiPath(hunt): ApiPath<HuntId>,
) -> Result<axum::http::StatusCode, AppError> {
    service::game_master::set_frozen(&state.ctx, caller.principal, hunt, false).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// A 400 naming a query parameter.
fn query_field(field: &str, reason: &str) -> AppError {
    crate::input::FieldError::new(crate::input::Location::Query, field, reason).into()
}
