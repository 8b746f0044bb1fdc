//! Teams: create, join by invite code, and the team's progress.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::ids::{HuntId, TargetId, TeamId};
use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::{Caller, Players};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::openapi::core_types;
use crate::input::Input;
use crate::service;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_team))
        .routes(routes!(join_team))
        .routes(routes!(get_progress))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeamRequest {
    /// A name (see the document's description): 1 to 40 characters, unique in the hunt ignoring
    /// case and look-alike letters.
    #[schema(min_length = 1, max_length = 40, pattern = r"\S")]
    pub name: String,
}

impl Input for CreateTeamRequest {}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateTeamResponse {
    #[schema(value_type = core_types::TeamId)]
    pub team_id: TeamId,
    /// 8 characters; share it so friends can join.
    #[schema(pattern = "^[A-HJ-NP-Z2-9]{8}$")]
    pub invite_code: String,
}

/// Creates a team in a hunt (teaser or live); the creator is captain and first member.
#[utoipa::path(post, path = "/v1/hunts/{hunt_id}/teams", tag = "teams", security(("bearer" = ["player"])),
    params(("hunt_id" = uuid::Uuid, Path)), request_body = CreateTeamRequest,
    responses((status = 201, body = CreateTeamResponse),
        (status = 409, description = "`team_name_taken` (the name or a look-alike is taken in this hunt), `already_in_team`, `hunt_closed` (the hunt has ended).")))]
async fn create_team(
    State(state): State<AppState>,
    caller: Caller<Players>,
    ApiPath(hunt): ApiPath<HuntId>,
    ApiJson(req): ApiJson<CreateTeamRequest>,
) -> Result<(StatusCode, Json<CreateTeamResponse>), AppError> {
    let (team_id, invite_code) =
        service::teams::create_team(&state.ctx, caller.principal, hunt, &req.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreateTeamResponse {
            team_id,
            invite_code,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinTeamRequest {
    /// Read trimmed, ignoring case.
    pub invite_code: String,
}

impl Input for JoinTeamRequest {}

#[derive(Debug, Serialize, ToSchema)]
pub struct JoinTeamResponse {
    #[schema(value_type = core_types::TeamId)]
    pub team_id: TeamId,
    #[schema(value_type = core_types::HuntId)]
    pub hunt_id: HuntId,
}

/// Joins a team by invite code: one team per player per hunt (409 `already_in_team`), 409 `team_full`.
#[utoipa::path(post, path = "/v1/teams/join", tag = "teams", security(("bearer" = ["player"])), request_body = JoinTeamRequest,
    responses((status = 200, body = JoinTeamResponse),
        (status = 404, description = "`not_found`: no team has this invite code (or its hunt is not published)."),
        (status = 409, description = "`already_in_team`, `team_full`, `hunt_closed` (the hunt has ended).")))]
async fn join_team(
    State(state): State<AppState>,
    caller: Caller<Players>,
    ApiJson(req): ApiJson<JoinTeamRequest>,
) -> Result<Json<JoinTeamResponse>, AppError> {
    let (team_id, hunt_id) =
        service::teams::join_team(&state.ctx, caller.principal, &req.invite_code).await?;
    Ok(Json(JoinTeamResponse { team_id, hunt_id }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FoundTargetResponse {
    #[schema(value_type = core_types::TargetId)]
    pub id: TargetId,
    pub name: String,
    pub points: i32,
    pub found_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgressResponse {
    #[schema(value_type = core_types::TeamId)]
    pub team_id: TeamId,
    pub team_name: String,
    pub members: i32,
    pub score: i64,
    /// Oldest first. Names only: never positions.
    pub found: Vec<FoundTargetResponse>,
}

/// The calling player's team progress in this hunt.
#[utoipa::path(get, path = "/v1/hunts/{hunt_id}/progress", tag = "teams", security(("bearer" = ["player"])),
    params(("hunt_id" = uuid::Uuid, Path)),
    responses((status = 200, body = ProgressResponse),
        (status = 403, description = "Also `not_in_hunt`: the player has no team in this hunt.")))]
async fn get_progress(
    State(state): State<AppState>,
    caller: Caller<Players>,
    ApiPath(hunt): ApiPath<HuntId>,
) -> Result<Json<ProgressResponse>, AppError> {
    let p = service::teams::progress(&state.ctx, caller.principal, hunt).await?;
    Ok(Json(ProgressResponse {
        team_id: p.team,
        team_name: p.name,
        members: p.members,
        score: p.score,
        found: p
            .found
            .into_iter()
            .map(|f| FoundTargetResponse {
                id: f.id,
                name: f.name,
                points: f.points,
                found_at: f.found_at,
            })
            .collect(),
    }))
}
