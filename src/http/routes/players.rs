//! Player sign-up.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::ids::PlayerId;
use crate::error::AppError;
use crate::http::AppState;
use crate::http::extract::ApiJson;
use crate::http::openapi::core_types;
use crate::input::Input;
use crate::limits::addr::ClientAddr;
use crate::service;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(register_player))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterPlayerRequest {
    /// 1 to 32 of `[A-Za-z0-9_.-]`, unique (case-insensitive).
    #[schema(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9_.-]{1,32}$")]
    pub handle: String,
}

impl Input for RegisterPlayerRequest {}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterPlayerResponse {
    #[schema(value_type = core_types::PlayerId)]
    pub player_id: PlayerId,
    /// Bearer token, valid 90 days.
    #[schema(pattern = "^nfp_")]
    pub token: String,
}

/// Registers a player. Sign-ups are limited per address (429 `rate_limited` with `Retry-After`).
#[utoipa::path(post, path = "/v1/players", tag = "players", request_body = RegisterPlayerRequest,
    responses((status = 201, body = RegisterPlayerResponse),
        (status = 409, description = "`handle_taken`: another player has this handle (ignoring case).")))]
async fn register_player(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(req): ApiJson<RegisterPlayerRequest>,
) -> Result<(StatusCode, Json<RegisterPlayerResponse>), AppError> {
    state.ctx.limits.check_signup(addr.key())?;
    let (player_id, token) = service::auth::register_player(&state.ctx, &req.handle).await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisterPlayerResponse { player_id, token }),
    ))
}
