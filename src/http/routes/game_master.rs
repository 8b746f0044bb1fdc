//! Game-master actions: pause, resume, broadcast.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::ids::{HuntId, TeamId};
use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::{Caller, GameMasters};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::openapi::core_types;
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
    responses((status = 204, description = "Paused (or already paused)."),
        (status = 409, description = "`hunt_not_published`: only a published hunt can be paused.")))]
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
    responses((status = 204, description = "Published again (or not paused)."),
        (status = 409, description = "`hunt_not_published`: only a paused hunt can be resumed (a draft cannot).")))]
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
    /// 1 to 1000 characters once trimmed; may span lines.
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub message: String,
    /// Only this team of the hunt (404 if it is not one); every player of the hunt when absent or null.
    #[schema(value_type = Option<core_types::TeamId>)]
    pub team_id: Option<TeamId>,
}

impl Input for BroadcastRequest {
    const MULTILINE: &'static [&'static str] = &["/message"];
}

/// Sends a message to the hunt's players, or to one team.
#[utoipa::path(post, path = "/v1/hunts/{hunt_id}/broadcast", tag = "game master", security(("bearer" = ["owner", "game_master"])),
    params(("hunt_id" = uuid::Uuid, Path)), request_body = BroadcastRequest,
    responses((status = 204, description = "Sent (as a `broadcast` event).")))]
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
