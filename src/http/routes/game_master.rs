//! Game-master actions: pause, resume, broadcast.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::ids::{HuntId, TeamId};
use crate::error::AppError;
use crate::http::auth::{Caller, GameMasters};
use crate::http::error::ErrorBody;
use crate::http::extract::{ApiJson, ApiPath};
use crate::input::Input;
use crate::service;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(broadcast))
}

/// Pauses a published hunt: check-ins answer `not_live`, reason `paused` (owner or game master).
#[utoipa::path(post, path = "/v1/hunts/{hunt_id}/pause", tag = "game master", security(("bearer" = ["owner", "game_master"])),
    params(("hunt_id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn pause(
    State(state): State<AppState>,
    caller: Caller<GameMasters>,
    ApiPath(hunt): ApiPath<HuntId>,
) -> Result<StatusCode, AppError> {
    service::game_master::set_paused(&state.ctx, caller.principal, hunt, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resumes a paused hunt.
#[utoipa::path(post, path = "/v1/hunts/{hunt_id}/resume", tag = "game master", security(("bearer" = ["owner", "game_master"])),
    params(("hunt_id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn resume(
    State(state): State<AppState>,
    caller: Caller<GameMasters>,
    ApiPath(hunt): ApiPath<HuntId>,
) -> Result<StatusCode, AppError> {
    service::game_master::set_paused(&state.ctx, caller.principal, hunt, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BroadcastRequest {
    /// 1 to 1000 characters.
    pub message: String,
    /// Only this team; every player of the hunt when absent.
    pub team_id: Option<TeamId>,
}

impl Input for BroadcastRequest {
    const MULTILINE: &'static [&'static str] = &["/message"];
}

/// Sends a message to the hunt's players, or to one team.
#[utoipa::path(post, path = "/v1/hunts/{hunt_id}/broadcast", tag = "game master", security(("bearer" = ["owner", "game_master"])),
    params(("hunt_id" = uuid::Uuid, Path)), request_body = BroadcastRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn broadcast(
    State(state): State<AppState>,
    caller: Caller<GameMasters>,
    ApiPath(hunt): ApiPath<HuntId>,
    ApiJson(req): ApiJson<BroadcastRequest>,
) -> Result<StatusCode, AppError> {
    let principal = caller.principal;
    service::game_master::broadcast(&state.ctx, principal, hunt, &req.message, req.team_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
