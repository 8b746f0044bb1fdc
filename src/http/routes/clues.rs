//! Clues: staff create them; players list what their team can read or buy, and buy.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::clue::ClueRule;
use crate::domain::ids::{HuntId, TargetId};
use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::{Caller, Editors, Players};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::openapi::core_types;
use crate::http::openapi::schemas::ClueRule as ClueRuleSchema;
use crate::input::Input;
use crate::service;
use crate::service::clues::PlayerClue;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_clue, list_clues))
        .routes(routes!(buy_clue))
}

/// Exactly one of the three (its schema is `openapi::schemas::ClueRule`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClueRuleRequest {
    /// Revealed to every team at this time.
    pub at: Option<DateTime<Utc>>,
    /// Revealed to a team when it finds this target.
    pub after_target: Option<TargetId>,
    /// Sold to a team for this many points.
    pub cost: Option<i32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClueRequest {
    /// 1 to 2000 characters once trimmed; may span lines.
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub text: String,
    /// An `http` or `https` URL of at most 2000 bytes.
    #[schema(format = "uri", max_length = 2000, pattern = "^https?://")]
    pub media_url: Option<String>,
    #[schema(value_type = ClueRuleSchema)]
    pub rule: ClueRuleRequest,
}

impl Input for CreateClueRequest {
    const MULTILINE: &'static [&'static str] = &["/text"];
}

/// A clue as staff wrote it: exactly one of `at`, `after_target`, `cost` is set, the rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClueResponse {
    pub id: uuid::Uuid,
    pub text: String,
    pub media_url: Option<String>,
    pub at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<core_types::TargetId>)]
    pub after_target: Option<TargetId>,
    pub cost: Option<i32>,
}

/// Creates a clue (owner or editor).
#[utoipa::path(post, path = "/v1/hunts/{hunt_id}/clues", tag = "clues", security(("bearer" = ["owner", "editor"])),
    params(("hunt_id" = uuid::Uuid, Path)), request_body = CreateClueRequest,
    responses((status = 201, body = ClueResponse)))]
async fn create_clue(
    State(state): State<AppState>,
    caller: Caller<Editors>,
    ApiPath(hunt): ApiPath<HuntId>,
    ApiJson(req): ApiJson<CreateClueRequest>,
) -> Result<(StatusCode, Json<ClueResponse>), AppError> {
    let rule = match (req.rule.at, req.rule.after_target, req.rule.cost) {
        (Some(at), None, None) => ClueRule::At(at),
        (None, Some(t), None) => ClueRule::AfterTarget(t),
        (None, None, Some(c)) => ClueRule::Cost(c),
        _ => {
            return Err(AppError::invalid_field(
                "/rule",
                "must have exactly one of at, after_target, cost",
            ));
        }
    };
    let c = service::clues::create_clue(
        &state.ctx,
        caller.principal,
        hunt,
        &req.text,
        req.media_url,
        rule,
    )
    .await?;
    let (at, after_target, cost) = match c.rule {
        ClueRule::At(at) => (Some(at), None, None),
        ClueRule::AfterTarget(t) => (None, Some(t), None),
        ClueRule::Cost(cost) => (None, None, Some(cost)),
    };
    Ok((
        StatusCode::CREATED,
        Json(ClueResponse {
            id: c.id,
            text: c.text,
            media_url: c.media_url,
            at,
            after_target,
            cost,
        }),
    ))
}

/// A clue as the team sees it: text once revealed; only the price while it is for sale.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlayerClueResponse {
    pub id: uuid::Uuid,
    pub revealed: bool,
    /// When the team got it; null while it is for sale.
    pub revealed_at: Option<DateTime<Utc>>,
    /// Null while it is for sale.
    pub text: Option<String>,
    pub media_url: Option<String>,
    /// Its price in points, for a clue that is sold (null for the others).
    pub cost: Option<i32>,
}

impl From<PlayerClue> for PlayerClueResponse {
    fn from(c: PlayerClue) -> Self {
        Self {
            id: c.id,
            revealed: c.revealed_at.is_some(),
            revealed_at: c.revealed_at,
            text: c.text,
            media_url: c.media_url,
            cost: c.cost,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlayerCluesResponse {
    pub clues: Vec<PlayerClueResponse>,
}

/// The team's revealed clues and the clues it can buy.
#[utoipa::path(get, path = "/v1/hunts/{hunt_id}/clues", tag = "clues", security(("bearer" = ["player"])),
    params(("hunt_id" = uuid::Uuid, Path)),
    responses((status = 200, body = PlayerCluesResponse),
        (status = 403, description = "Also `not_in_hunt`: the player has no team in this hunt.")))]
async fn list_clues(
    State(state): State<AppState>,
    caller: Caller<Players>,
    ApiPath(hunt): ApiPath<HuntId>,
) -> Result<Json<PlayerCluesResponse>, AppError> {
    let clues = service::clues::list_clues(&state.ctx, caller.principal, hunt).await?;
    Ok(Json(PlayerCluesResponse {
        clues: clues.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BuyClueResponse {
    pub clue: PlayerClueResponse,
    /// The team's score after paying.
    pub team_score: i64,
}

/// Buys a clue with the team's points: 409 `not_enough_points`, `clue_already_revealed`, `clue_not_for_sale`.
#[utoipa::path(post, path = "/v1/hunts/{hunt_id}/clues/{clue_id}/buy", tag = "clues", security(("bearer" = ["player"])),
    params(("hunt_id" = uuid::Uuid, Path), ("clue_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "Bought: the points are spent once, whoever of the team asks.", body = BuyClueResponse),
        (status = 403, description = "Also `not_in_hunt`: the player has no team in this hunt."),
        (status = 409, description = "`not_enough_points`, `clue_already_revealed` (the team has it already), `clue_not_for_sale`.")))]
async fn buy_clue(
    State(state): State<AppState>,
    caller: Caller<Players>,
    ApiPath((hunt, clue)): ApiPath<(HuntId, uuid::Uuid)>,
) -> Result<Json<BuyClueResponse>, AppError> {
    let (c, team_score) =
        service::clues::buy_clue(&state.ctx, caller.principal, hunt, clue).await?;
    Ok(Json(BuyClueResponse {
        clue: c.into(),
        team_score,
    }))
}
