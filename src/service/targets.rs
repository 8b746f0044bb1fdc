//! Targets: GeoJSON import (all or nothing), single adds, listing for staff, draft-time edits.

use diesel_async::AsyncConnection;
use serde_json::{Value, json};

use super::Ctx;
use super::hunts::{editor_org, staff_org};
use crate::db;
/// A target as staff see it (decoded by `db::targets`, metadata included).
pub use crate::db::targets::TargetDetail;
use crate::domain::account::Principal;
use crate::domain::hunt::HuntStatus;
use crate::domain::ids::{HuntId, TargetId};
use crate::error::AppError;
use crate::ids::RandomId;
use crate::input::merge::{Nulls, merge_patch};
use crate::spatial::geojson::{
    GeoJsonError, GeoJsonErrorKind, TARGET_PROPERTIES, TargetSpec, invalid, parse_feature,
    parse_targets, shape_value,
};
use crate::spatial::polygon::SphericalPolygon;
use crate::spatial::sphere::UnitVec;

/// Default and largest page of the target listing.
pub const DEFAULT_PAGE: i64 = 1000;
pub const MAX_PAGE: i64 = 10_000;

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    pub target_ids: Vec<TargetId>,
    /// Feature indexes skipped because their geometry was empty.
    pub skipped: Vec<usize>,
}

/// Most problems one refusal lists; `error_count` says how many there were.
pub const MAX_LISTED_ERRORS: usize = 1000;

/// The stable code of a refused document's error (`mobile-api/errors.md`).
fn code(kind: GeoJsonErrorKind) -> &'static str {
    match kind {
        GeoJsonErrorKind::Invalid => "invalid_geojson",
        GeoJsonErrorKind::Unsupported => "unsupported_geometry",
    }
}

/// The 400 for a refused GeoJSON document or hunt area (`errors` not empty): the code of the first
/// problem (`invalid_geojson` or `unsupported_geometry`), that problem's `feature_index` and
/// `reason` at the top of `details` as before, and every problem, in feature order, in `errors`.
pub fn geojson_refusal(mut errors: Vec<GeoJsonError>) -> AppError {
    // Stable: a feature's problems keep their order; document-level ones (no index) come first.
    errors.sort_by_key(|e| e.feature_index);
    let first = errors
        .first()
        .cloned()
        .unwrap_or_else(|| invalid("the document was refused"));
    let listed: Vec<Value> = errors
        .iter()
        .take(MAX_LISTED_ERRORS)
        .map(|e| {
            json!({"feature_index": e.feature_index, "part": e.part, "ring": e.ring,
                "code": code(e.kind), "reason": e.reason})
        })
        .collect();
    let details = json!({"feature_index": first.feature_index, "reason": first.reason,
        "errors": listed, "error_count": errors.len()});
    let inner = match first.kind {
        GeoJsonErrorKind::Invalid => AppError::InvalidGeoJson {
            feature_index: first.feature_index,
            reason: first.reason,
        },
        GeoJsonErrorKind::Unsupported => AppError::UnsupportedGeometry {
            feature_index: first.feature_index,
            reason: first.reason,
        },
    };
    inner.with_details(details)
}

/// Imports a FeatureCollection or a Feature into a hunt. A refused document stores nothing and
/// lists every bad feature: its own problems, unknown prerequisites and, into a published hunt,
/// targets outside the area (the publish rule keeps holding).
pub async fn import_targets(
    ctx: &Ctx,
    principal: Principal,
    hunt: HuntId,
    doc: Value,
) -> Result<ImportOutcome, AppError> {
    let org = editor_org(principal)?;
    // Up to 16 MiB of features to read and validate: CPU work kept off the async workers.
    let parse = tokio::task::spawn_blocking(move || parse_targets(&doc));
    let (parsed, mut errors) = match parse.await.map_err(|e| AppError::Internal(e.into()))? {
        Ok(parsed) => (parsed, Vec::new()),
        Err(refused) => refused,
    };
    let mut conn = ctx.pool.get().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let current = db::hunts::get_for_org(conn, org, hunt, true)
            .await?
            .ok_or(AppError::NotFound("hunt"))?;
        let specs = || parsed.targets.iter().map(|(i, t)| (*i, t));
        errors.extend(prerequisite_errors(conn, hunt, specs()).await?);
        if current.status != HuntStatus::Draft {
            let area = SphericalPolygon::new(&current.area).map_err(|e| {
                AppError::Internal(anyhow::anyhow!("stored area no longer valid: {e}"))
            })?;
            for (i, t) in specs() {
                let inside = t.shape.anchor_points().into_iter().all(|p| {
                    let v = UnitVec::from_latlon(p);
                    area.covers(v) || area.boundary_distance_m(p, v) <= 0.001
                });
                if !inside {
                    errors
                        .push(invalid("a published hunt only takes targets inside its area").at(i));
                }
            }
        }
        if !errors.is_empty() {
            return Err(geojson_refusal(errors));
        }
        let items: Vec<(TargetId, TargetSpec)> = parsed
            .targets
            .into_iter()
            .map(|(_, t)| (TargetId::new_random(), t))
            .collect();
        if !items.is_empty() {
            db::targets::insert_many(conn, hunt, &items).await?;
            db::hunts::bump_targets_version(conn, hunt).await?;
        }
        Ok(ImportOutcome {
            target_ids: items.into_iter().map(|(id, _)| id).collect(),
            skipped: parsed.skipped,
        })
    })
    .await
}

/// One error for each target whose prerequisites are not all targets of this hunt.
async fn prerequisite_errors<'a>(
    conn: &mut diesel_async::AsyncPgConnection,
    hunt: HuntId,
    targets: impl Iterator<Item = (usize, &'a TargetSpec)>,
) -> Result<Vec<GeoJsonError>, AppError> {
    let mut errors = Vec::new();
    for (i, t) in targets {
        if t.prerequisites.is_empty() {
            continue;
        }
        let found = db::targets::existing_ids(conn, hunt, &t.prerequisites).await?;
        if found.len() != t.prerequisites.len() {
            errors.push(invalid("prerequisites must be ids of targets of this hunt").at(i));
        }
    }
    Ok(errors)
}

/// A page of a hunt's targets with full geometry and metadata (staff only).
pub async fn list_targets(
    ctx: &Ctx,
    principal: Principal,
    hunt: HuntId,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<(Vec<TargetDetail>, Option<String>), AppError> {
    use crate::input::{FieldError, Location};
    let org = staff_org(principal)?;
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(FieldError::new(
            Location::Query,
            "/limit",
            format!("must be in [1, {MAX_PAGE}]"),
        )
        .into());
    }
    let after = cursor
        .map(|c| {
            uuid::Uuid::parse_str(c).map(TargetId).map_err(|_| {
                AppError::from(FieldError::new(
                    Location::Query,
                    "/cursor",
                    "is not one we issued",
                ))
            })
        })
        .transpose()?;
    let mut conn = ctx.pool.get().await?;
    db::hunts::get_for_org(&mut conn, org, hunt, false)
        .await?
        .ok_or(AppError::NotFound("hunt"))?;
    let page = db::targets::list(&mut conn, hunt, after, limit).await?;
    let next = (page.len() as i64 == limit)
        .then(|| page.last().map(|t| t.target.id.to_string()))
        .flatten();
    Ok((page, next))
}

/// Changes a target of a draft hunt: `patch` holds any of `name`, `points`, `radius_m`,
/// `prerequisites`, `geometry` and `metadata` (a merge patch of the metadata: `null` removes a
/// key); the result is checked like an imported feature.
pub async fn update_target(
    ctx: &Ctx,
    principal: Principal,
    hunt: HuntId,
    target: TargetId,
    patch: &serde_json::Map<String, Value>,
) -> Result<TargetDetail, AppError> {
    let org = editor_org(principal)?;
    let mut conn = ctx.pool.get().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        draft_of(conn, org, hunt).await?;
        let current = db::targets::get_detail(conn, hunt, target)
            .await?
            .ok_or(AppError::NotFound("target"))?;
        let feature = patched_feature(&current, patch)?;
        let spec = parse_feature(&feature)
            .map_err(|found| geojson_refusal(found.into_iter().map(|e| e.at(0)).collect()))?
            .ok_or_else(|| AppError::invalid_field("/geometry", "must not be empty"))?;
        let errors = prerequisite_errors(conn, hunt, std::iter::once((0, &spec))).await?;
        if !errors.is_empty() {
            return Err(geojson_refusal(errors));
        }
        if spec.prerequisites.contains(&target.0) {
            return Err(AppError::invalid_field(
                "/prerequisites",
                "a target cannot be its own prerequisite",
            ));
        }
        db::targets::update(conn, hunt, target, &spec).await?;
        db::hunts::bump_targets_version(conn, hunt).await?;
        db::targets::get_detail(conn, hunt, target)
            .await?
            .ok_or(AppError::NotFound("target"))
    })
    .await
}

/// The GeoJSON Feature a target becomes under `patch` (unknown keys are 400).
fn patched_feature(
    current: &TargetDetail,
    patch: &serde_json::Map<String, Value>,
) -> Result<Value, AppError> {
    let t = &current.target;
    let mut metadata = Value::Object(current.metadata.clone());
    let mut known = json!({"name": t.name, "points": t.points, "prerequisites": t.prerequisites});
    if let crate::spatial::geojson::ShapeSpec::Circle { radius_m, .. } = &t.shape {
        known["radius_m"] = json!(radius_m);
    }
    let mut geometry = shape_value(&t.shape);
    for (k, v) in patch {
        match k.as_str() {
            "geometry" => geometry = v.clone(),
            "metadata" => match v {
                Value::Null => metadata = json!({}),
                Value::Object(m) => {
                    if let Some(bad) = m.keys().find(|k| TARGET_PROPERTIES.contains(&k.as_str())) {
                        return Err(AppError::invalid_field(
                            &format!("/metadata/{bad}"),
                            "is a property of the target itself, not metadata",
                        ));
                    }
                    merge_patch(&mut metadata, v, Nulls::Remove, &[]);
                }
                _ => {
                    return Err(AppError::invalid_field(
                        "/metadata",
                        "must be an object or null",
                    ));
                }
            },
            "name" | "points" | "radius_m" | "prerequisites" => known[k] = v.clone(),
            other => {
                return Err(AppError::invalid_field(
                    &format!("/{}", crate::input::json::escape(other)),
                    "unknown field",
                ));
            }
        }
    }
    let mut props = metadata;
    if let (Value::Object(props), Value::Object(known)) = (&mut props, known) {
        props.extend(known);
    }
    Ok(json!({"type": "Feature", "geometry": geometry, "properties": props}))
}

/// Deletes a target of a draft hunt.
pub async fn delete_target(
    ctx: &Ctx,
    principal: Principal,
    hunt: HuntId,
    target: TargetId,
) -> Result<(), AppError> {
    let org = editor_org(principal)?;
    let mut conn = ctx.pool.get().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        draft_of(conn, org, hunt).await?;
        if !db::targets::delete(conn, hunt, target).await? {
            return Err(AppError::NotFound("target"));
        }
        db::hunts::bump_targets_version(conn, hunt).await?;
        Ok(())
    })
    .await
}

async fn draft_of(
    conn: &mut diesel_async::AsyncPgConnection,
    org: crate::domain::ids::OrgId,
    hunt: HuntId,
) -> Result<(), AppError> {
    let current = db::hunts::get_for_org(conn, org, hunt, true)
        .await?
        .ok_or(AppError::NotFound("hunt"))?;
    if current.status != HuntStatus::Draft {
        return Err(AppError::conflict(
            "hunt_not_draft",
            "targets can only be changed or deleted while the hunt is a draft",
        ));
    }
    Ok(())
}
