//! Hunts: staff create, list, read, change and publish; players search nearby.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::hunt::{HuntStatus, Phase, Rules};
use crate::domain::ids::HuntId;
use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::{Caller, Editors, Players, Staff};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::openapi::core_types;
use crate::http::openapi::schemas::{GeoJsonMultiPolygon, HuntArea};
use crate::input::merge::{Nulls, merge_patch};
use crate::input::{self, Input, Location};
use crate::service;
use crate::service::hunts::{HuntInput, HuntRecord};
use crate::spatial::geojson::multipolygon_value;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_hunt, list_hunts))
        .routes(routes!(list_nearby_hunts))
        .routes(routes!(get_hunt, update_hunt))
        .routes(routes!(publish_hunt))
}

/// What a hunt's 400 can say beyond the generic codes: its area refused.
const AREA_REFUSED: &str = "Also for the area: `invalid_geojson` (every problem in `details.errors`) and \
    `unsupported_geometry` (a shape that is not a Polygon or MultiPolygon).";

/// A hunt's editable fields: the body of a creation, and the shape a PATCH is merged into.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    description = "A hunt's editable fields. The schedule must hold `teaser_at <= live_at < ends_at <= archive_at` \
    (400 `invalid_request` naming the field at fault); publishing also needs `ends_at` in the future."
)]
pub struct CreateHuntRequest {
    /// Shown to players; a name (see the document's description): 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: String,
    /// Shown to players; a name: 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub city: String,
    #[schema(value_type = HuntArea)]
    pub area: serde_json::Map<String, serde_json::Value>,
    /// When players can see the hunt (phase `teaser`); at most `live_at`.
    pub teaser_at: DateTime<Utc>,
    /// When check-ins open (phase `live`); before `ends_at`.
    pub live_at: DateTime<Utc>,
    /// When check-ins close (phase `ended`).
    pub ends_at: DateTime<Utc>,
    /// When the hunt is archived; not before `ends_at`; never when absent.
    pub archive_at: Option<DateTime<Utc>>,
    /// Absent rules take their defaults.
    #[serde(default)]
    #[schema(value_type = core_types::Rules)]
    pub rules: Rules,
}

impl Input for CreateHuntRequest {}

impl From<HuntInput> for CreateHuntRequest {
    fn from(h: HuntInput) -> Self {
        Self {
            title: h.title,
            city: h.city,
            area: match h.area {
                serde_json::Value::Object(m) => m,
                _ => serde_json::Map::new(),
            },
            teaser_at: h.schedule.teaser_at,
            live_at: h.schedule.live_at,
            ends_at: h.schedule.ends_at,
            archive_at: h.schedule.archive_at,
            rules: h.rules,
        }
    }
}

impl From<CreateHuntRequest> for HuntInput {
    fn from(req: CreateHuntRequest) -> Self {
        Self {
            title: req.title,
            city: req.city,
            area: serde_json::Value::Object(req.area),
            schedule: crate::domain::hunt::Schedule {
                teaser_at: req.teaser_at,
                live_at: req.live_at,
                ends_at: req.ends_at,
                archive_at: req.archive_at,
            },
            rules: req.rules,
        }
    }
}

/// A JSON Merge Patch (RFC 7396) of a hunt: at every depth an absent field is kept and a present
/// one replaces it (`area` is replaced whole); `null` clears `archive_at` and is refused on every
/// other field. The merged hunt is then read like a creation. Unknown keys are 400 at any depth.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateHuntRequest {
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: Option<String>,
    #[schema(nullable = false, min_length = 1, max_length = 100, pattern = r"\S")]
    pub city: Option<String>,
    /// Replaced whole.
    #[schema(value_type = HuntArea, required = false)]
    pub area: Option<serde_json::Value>,
    #[schema(nullable = false)]
    pub teaser_at: Option<DateTime<Utc>>,
    #[schema(nullable = false)]
    pub live_at: Option<DateTime<Utc>>,
    #[schema(nullable = false)]
    pub ends_at: Option<DateTime<Utc>>,
    /// `null` clears it (never archived).
    pub archive_at: Option<DateTime<Utc>>,
    /// Merged rule by rule; a rule absent is kept.
    #[schema(value_type = Option<core_types::Rules>, nullable = false)]
    pub rules: Option<Rules>,
}

/// What `PATCH /v1/hunts/{hunt_id}` reads: any JSON object, merged as [`UpdateHuntRequest`] says.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct HuntPatch(serde_json::Map<String, serde_json::Value>);

impl Input for HuntPatch {}

/// A hunt as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct HuntResponse {
    #[schema(value_type = core_types::HuntId)]
    pub id: HuntId,
    pub title: String,
    pub city: String,
    #[schema(value_type = GeoJsonMultiPolygon)]
    pub area: serde_json::Value,
    pub teaser_at: DateTime<Utc>,
    pub live_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub archive_at: Option<DateTime<Utc>>,
    #[schema(value_type = core_types::HuntStatus)]
    pub status: HuntStatus,
    #[schema(value_type = core_types::Phase)]
    pub phase: Phase,
    #[schema(value_type = core_types::Rules)]
    pub rules: Rules,
    /// Changes with every target change.
    pub targets_version: i64,
    /// A game master froze the leaderboard: players see it as it was at the freeze.
    pub leaderboard_frozen: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl HuntResponse {
    fn new(h: HuntRecord, now: DateTime<Utc>) -> Self {
        Self {
            id: h.id,
            title: h.title,
            city: h.city,
            area: multipolygon_value(&h.area),
            teaser_at: h.schedule.teaser_at,
            live_at: h.schedule.live_at,
            ends_at: h.schedule.ends_at,
            archive_at: h.schedule.archive_at,
            status: h.status,
            phase: h.schedule.phase_at(now),
            rules: h.rules,
            targets_version: h.targets_version,
            leaderboard_frozen: h.leaderboard_frozen,
            created_at: h.created_at,
            updated_at: h.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HuntListResponse {
    pub hunts: Vec<HuntResponse>,
}

/// Creates a draft hunt (owner or editor).
#[utoipa::path(post, path = "/v1/hunts", tag = "hunts", request_body = CreateHuntRequest, security(("bearer" = ["owner", "editor"])),
    responses((status = 201, body = HuntResponse), (status = 400, description = AREA_REFUSED)))]
async fn create_hunt(
    State(state): State<AppState>,
    caller: Caller<Editors>,
    ApiJson(req): ApiJson<CreateHuntRequest>,
) -> Result<(StatusCode, Json<HuntResponse>), AppError> {
    let input = HuntInput::from(req);
    let hunt = service::hunts::create_hunt(&state.ctx, caller.principal, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(HuntResponse::new(hunt, state.ctx.clock.now())),
    ))
}

/// The organisation's hunts, newest first.
#[utoipa::path(get, path = "/v1/hunts", tag = "hunts", security(("bearer" = ["owner", "editor", "game_master"])),
    responses((status = 200, body = HuntListResponse)))]
async fn list_hunts(
    State(state): State<AppState>,
    caller: Caller<Staff>,
) -> Result<Json<HuntListResponse>, AppError> {
    let now = state.ctx.clock.now();
    let hunts = service::hunts::list_hunts(&state.ctx, caller.principal).await?;
    Ok(Json(HuntListResponse {
        hunts: hunts
            .into_iter()
            .map(|h| HuntResponse::new(h, now))
            .collect(),
    }))
}

/// One hunt of the caller's organisation (another organisation's hunt is 404).
#[utoipa::path(get, path = "/v1/hunts/{hunt_id}", tag = "hunts", security(("bearer" = ["owner", "editor", "game_master"])),
    params(("hunt_id" = uuid::Uuid, Path)),
    responses((status = 200, body = HuntResponse)))]
async fn get_hunt(
    State(state): State<AppState>,
    caller: Caller<Staff>,
    ApiPath(hunt): ApiPath<HuntId>,
) -> Result<Json<HuntResponse>, AppError> {
    let h = service::hunts::get_hunt(&state.ctx, caller.principal, hunt).await?;
    Ok(Json(HuntResponse::new(h, state.ctx.clock.now())))
}

/// Changes a hunt by a JSON Merge Patch (see `UpdateHuntRequest`; `application/merge-patch+json`
/// is accepted too); the result is validated as a whole. A new area that would leave a target
/// outside is 409 `not_publishable` naming them.
#[utoipa::path(patch, path = "/v1/hunts/{hunt_id}", tag = "hunts",
    request_body(content((UpdateHuntRequest = "application/json"), (UpdateHuntRequest = "application/merge-patch+json"))),
    security(("bearer" = ["owner", "editor"])), params(("hunt_id" = uuid::Uuid, Path)),
    responses((status = 200, body = HuntResponse), (status = 400, description = AREA_REFUSED),
        (status = 409, description = "`not_publishable`: the new area would leave targets outside (`details` names them).")))]
async fn update_hunt(
    State(state): State<AppState>,
    caller: Caller<Editors>,
    ApiPath(hunt): ApiPath<HuntId>,
    ApiJson(HuntPatch(patch)): ApiJson<HuntPatch>,
) -> Result<Json<HuntResponse>, AppError> {
    let patch = serde_json::Value::Object(patch);
    let h = service::hunts::update_hunt(&state.ctx, caller.principal, hunt, move |current| {
        let mut doc = serde_json::to_value(CreateHuntRequest::from(current))
            .map_err(|e| AppError::Internal(e.into()))?;
        merge_patch(&mut doc, &patch, Nulls::Keep, &["/area"]);
        let merged: CreateHuntRequest = input::typed(doc, Location::Body)?;
        Ok(merged.into())
    })
    .await?;
    Ok(Json(HuntResponse::new(h, state.ctx.clock.now())))
}

/// Publishes a draft: at least one target, a valid schedule ending in the future, every target inside the area.
#[utoipa::path(post, path = "/v1/hunts/{hunt_id}/publish", tag = "hunts", security(("bearer" = ["owner", "editor"])),
    params(("hunt_id" = uuid::Uuid, Path)),
    responses((status = 200, description = "Published (or already published: nothing changes).", body = HuntResponse),
        (status = 409, description = "`not_publishable`: the schedule, the targets or the area do not allow it (`details` says which).")))]
async fn publish_hunt(
    State(state): State<AppState>,
    caller: Caller<Editors>,
    ApiPath(hunt): ApiPath<HuntId>,
) -> Result<Json<HuntResponse>, AppError> {
    let h = service::publish::publish_hunt(&state.ctx, caller.principal, hunt).await?;
    Ok(Json(HuntResponse::new(h, state.ctx.clock.now())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NearbyQuery {
    /// The player's latitude, degrees.
    #[param(minimum = -90.0, maximum = 90.0)]
    pub lat: f64,
    /// The player's longitude, degrees.
    #[param(minimum = -180.0, maximum = 180.0)]
    pub lon: f64,
    /// Metres, in (0, 50000].
    #[param(
        nullable = false,
        exclusive_minimum = 0.0,
        maximum = 50000.0,
        default = 10000.0
    )]
    pub radius_m: Option<f64>,
}

/// A hunt a player can see: never target positions.
#[derive(Debug, Serialize, ToSchema)]
pub struct NearbyHunt {
    #[schema(value_type = core_types::HuntId)]
    pub id: HuntId,
    pub title: String,
    pub city: String,
    #[schema(value_type = core_types::Phase)]
    pub phase: Phase,
    pub teaser_at: DateTime<Utc>,
    pub live_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// `[min_lon, min_lat, max_lon, max_lat]` of the hunt area, degrees.
    #[schema(min_items = 4, max_items = 4)]
    pub bbox: [f64; 4],
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NearbyResponse {
    pub hunts: Vec<NearbyHunt>,
}

/// Published hunts in phase teaser or live whose area lies within `radius_m` of the player.
#[utoipa::path(get, path = "/v1/hunts/nearby", tag = "hunts", security(("bearer" = ["player"])), params(NearbyQuery),
    responses((status = 200, body = NearbyResponse)))]
async fn list_nearby_hunts(
    State(state): State<AppState>,
    caller: Caller<Players>,
    ApiQuery(q): ApiQuery<NearbyQuery>,
) -> Result<Json<NearbyResponse>, AppError> {
    let radius_m = q.radius_m.unwrap_or(10_000.0);
    let (hunts, now) =
        service::hunts::list_nearby_hunts(&state.ctx, caller.principal, q.lat, q.lon, radius_m)
            .await?;
    let hunts = hunts
        .into_iter()
        .map(|h| {
            let schedule = crate::domain::hunt::Schedule {
                teaser_at: h.teaser_at,
                live_at: h.live_at,
                ends_at: h.ends_at,
                archive_at: h.archive_at,
            };
            NearbyHunt {
                id: HuntId(h.id),
                title: h.title,
                city: h.city,
                phase: schedule.phase_at(now),
                teaser_at: h.teaser_at,
                live_at: h.live_at,
                ends_at: h.ends_at,
                bbox: [h.min_lon, h.min_lat, h.max_lon, h.max_lat],
            }
        })
        .collect();
    Ok(Json(NearbyResponse { hunts }))
}
