//! Targets: add one, import many (GeoJSON, up to 16 MiB), list with geometry (staff), draft-time edits.

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::ids::{HuntId, TargetId};
use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::{Caller, Editors, Staff};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, GeoJsonBody};
use crate::http::openapi::core_types;
use crate::http::openapi::schemas::{TargetFeature, TargetGeometry, TargetImport};
use crate::input::Input;
use crate::service;
use crate::service::targets::TargetDetail;
use crate::spatial::geojson::{ShapeSpec, shape_value};

/// Largest import body.
pub const IMPORT_BODY_LIMIT: usize = 16 * 1024 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    let import = OpenApiRouter::new()
        .routes(routes!(import_targets))
        .layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT));
    OpenApiRouter::new()
        .routes(routes!(add_target, list_targets))
        .routes(routes!(update_target, delete_target))
        .merge(import)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResponse {
    /// Number of targets stored.
    pub imported: usize,
    /// Ids of the stored targets, in feature order.
    #[schema(value_type = Vec<core_types::TargetId>)]
    pub target_ids: Vec<TargetId>,
    /// Indexes of features skipped because their geometry was empty.
    pub skipped: Vec<usize>,
}

async fn import(
    state: &AppState,
    principal: crate::domain::account::Principal,
    hunt: HuntId,
    doc: serde_json::Value,
) -> Result<(StatusCode, Json<ImportResponse>), AppError> {
    let outcome = service::targets::import_targets(&state.ctx, principal, hunt, doc).await?;
    Ok((
        StatusCode::CREATED,
        Json(ImportResponse {
            imported: outcome.target_ids.len(),
            target_ids: outcome.target_ids,
            skipped: outcome.skipped,
        }),
    ))
}

/// Imports a FeatureCollection (or one Feature): Point + `radius_m` is a circle, Polygon and
/// MultiPolygon are polygons (valid simple features on great-circle edges); properties `name`
/// (required), `points` (default 1), `prerequisites`; any other property is the target's
/// `metadata` (at most 4 KiB; staff only, never shown to players). Foreign members (RFC 7946
/// section 6.1) are ignored. All or nothing: a refusal lists every bad feature in
/// `details.errors` (mobile-api/errors.md).
#[utoipa::path(post, path = "/v1/hunts/{hunt_id}/targets/import", tag = "targets", security(("bearer" = ["owner", "editor"])),
    params(("hunt_id" = uuid::Uuid, Path)), request_body(content = TargetImport, description = "GeoJSON FeatureCollection or Feature"),
    responses((status = 201, body = ImportResponse), (status = 400, description = GEOJSON_REFUSED)))]
async fn import_targets(
    State(state): State<AppState>,
    caller: Caller<Editors>,
    ApiPath(hunt): ApiPath<HuntId>,
    GeoJsonBody(doc): GeoJsonBody,
) -> Result<(StatusCode, Json<ImportResponse>), AppError> {
    import(&state, caller.principal, hunt, doc).await
}

/// Adds one target (a GeoJSON Feature, same rules as the import).
#[utoipa::path(post, path = "/v1/hunts/{hunt_id}/targets", tag = "targets", security(("bearer" = ["owner", "editor"])),
    params(("hunt_id" = uuid::Uuid, Path)), request_body(content = TargetFeature, description = "GeoJSON Feature"),
    responses((status = 201, body = ImportResponse), (status = 400, description = GEOJSON_REFUSED)))]
async fn add_target(
    State(state): State<AppState>,
    caller: Caller<Editors>,
    ApiPath(hunt): ApiPath<HuntId>,
    GeoJsonBody(doc): GeoJsonBody,
) -> Result<(StatusCode, Json<ImportResponse>), AppError> {
    if doc.get("type").and_then(|t| t.as_str()) != Some("Feature") {
        let e = crate::spatial::geojson::invalid("expected one GeoJSON Feature").at(0);
        return Err(service::targets::geojson_refusal(vec![e]));
    }
    import(&state, caller.principal, hunt, doc).await
}

/// A target with its full geometry and metadata (staff only).
#[derive(Debug, Serialize, ToSchema)]
pub struct TargetResponse {
    #[schema(value_type = core_types::TargetId)]
    pub id: TargetId,
    pub name: String,
    pub points: i32,
    /// `circle` or `polygon`.
    #[schema(value_type = TargetKind)]
    pub kind: &'static str,
    /// Circles only, metres.
    pub radius_m: Option<f64>,
    #[schema(value_type = TargetGeometry)]
    pub geometry: serde_json::Value,
    #[schema(value_type = Vec<core_types::TargetId>)]
    pub prerequisites: Vec<TargetId>,
    /// The brand's own properties from the import (anything but `name`, `points`, `radius_m`,
    /// `prerequisites`): staff and exports only, never shown to players.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

impl From<TargetDetail> for TargetResponse {
    fn from(
        TargetDetail {
            target: t,
            metadata,
        }: TargetDetail,
    ) -> Self {
        let (kind, radius_m) = match &t.shape {
            ShapeSpec::Circle { radius_m, .. } => ("circle", Some(*radius_m)),
            ShapeSpec::Polygons(_) => ("polygon", None),
        };
        Self {
            id: t.id,
            name: t.name,
            points: t.points,
            kind,
            radius_m,
            geometry: shape_value(&t.shape),
            prerequisites: t.prerequisites,
            metadata,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TargetPage {
    pub targets: Vec<TargetResponse>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TargetPageQuery {
    /// Targets in the page.
    #[param(nullable = false, minimum = 1, maximum = 10000, default = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<uuid::Uuid>, nullable = false)]
    pub cursor: Option<String>,
}

/// A page of the hunt's targets, in id order.
#[utoipa::path(get, path = "/v1/hunts/{hunt_id}/targets", tag = "targets", security(("bearer" = ["owner", "editor", "game_master"])),
    params(("hunt_id" = uuid::Uuid, Path), TargetPageQuery),
    responses((status = 200, body = TargetPage)))]
async fn list_targets(
    State(state): State<AppState>,
    caller: Caller<Staff>,
    ApiPath(hunt): ApiPath<HuntId>,
    ApiQuery(q): ApiQuery<TargetPageQuery>,
) -> Result<Json<TargetPage>, AppError> {
    let (page, next_cursor) = service::targets::list_targets(
        &state.ctx,
        caller.principal,
        hunt,
        q.cursor.as_deref(),
        q.limit,
    )
    .await?;
    Ok(Json(TargetPage {
        targets: page.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// What a target's 400 can say beyond the generic codes.
const GEOJSON_REFUSED: &str = "Also `invalid_geojson`: every bad feature in `details.errors` \
    (`{feature_index, part, ring, code, reason}`); `unsupported_geometry`: a shape that is not a target shape.";

/// Which shape a target has.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Circle,
    Polygon,
}

/// The body of `PATCH .../targets/{target_id}` (a schema only: the handler reads [`TargetPatch`]).
/// Absent fields are kept; the result is checked like an imported feature.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTargetRequest {
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(nullable = false, minimum = 0, maximum = 1_000_000)]
    pub points: Option<i32>,
    /// Metres, circles only.
    #[schema(nullable = false, exclusive_minimum = 0.0, maximum = 50000.0)]
    pub radius_m: Option<f64>,
    #[schema(value_type = Option<Vec<core_types::TargetId>>, nullable = false)]
    pub prerequisites: Option<Vec<TargetId>>,
    /// A GeoJSON Point (with `radius_m`), Polygon or MultiPolygon.
    #[schema(value_type = Option<Object>, nullable = false)]
    pub geometry: Option<serde_json::Value>,
    /// Merged into the metadata (`null` for a key removes it; `null` for the whole removes all).
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

/// What `PATCH .../targets/{target_id}` reads: a JSON object; `metadata` may span lines.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct TargetPatch(serde_json::Map<String, serde_json::Value>);

impl Input for TargetPatch {
    const MULTILINE: &'static [&'static str] = &["/metadata"];
}

/// Changes a target of a draft hunt: any of `name`, `points`, `radius_m`, `prerequisites`,
/// `geometry`, and `metadata` (merged: `null` removes a key, or the whole metadata).
#[utoipa::path(patch, path = "/v1/hunts/{hunt_id}/targets/{target_id}", tag = "targets", security(("bearer" = ["owner", "editor"])),
    params(("hunt_id" = uuid::Uuid, Path), ("target_id" = uuid::Uuid, Path)),
    request_body(content((UpdateTargetRequest = "application/json"), (UpdateTargetRequest = "application/merge-patch+json"))),
    responses((status = 200, body = TargetResponse), (status = 400, description = GEOJSON_REFUSED),
        (status = 409, description = "`hunt_not_draft`: targets change only while the hunt is a draft.")))]
async fn update_target(
    State(state): State<AppState>,
    caller: Caller<Editors>,
    ApiPath((hunt, target)): ApiPath<(HuntId, TargetId)>,
    ApiJson(TargetPatch(patch)): ApiJson<TargetPatch>,
) -> Result<Json<TargetResponse>, AppError> {
    let t =
        service::targets::update_target(&state.ctx, caller.principal, hunt, target, &patch).await?;
    Ok(Json(t.into()))
}

/// Deletes a target of a draft hunt.
#[utoipa::path(delete, path = "/v1/hunts/{hunt_id}/targets/{target_id}", tag = "targets", security(("bearer" = ["owner", "editor"])),
    params(("hunt_id" = uuid::Uuid, Path), ("target_id" = uuid::Uuid, Path)),
    responses((status = 204, description = "Deleted."),
        (status = 409, description = "`hunt_not_draft`: targets change only while the hunt is a draft.")))]
async fn delete_target(
    State(state): State<AppState>,
    caller: Caller<Editors>,
    ApiPath((hunt, target)): ApiPath<(HuntId, TargetId)>,
) -> Result<StatusCode, AppError> {
    service::targets::delete_target(&state.ctx, caller.principal, hunt, target).await?;
    Ok(StatusCode::NO_CONTENT)
}
