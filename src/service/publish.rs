//! `publish_hunt`: the checks that make a draft playable (targets, schedule, valid shapes, every
//! target inside the area).

use diesel_async::AsyncConnection;

use super::Ctx;
use super::hunts::editor_org;
use crate::db;
use crate::db::hunts::HuntRecord;
use crate::db::targets::TargetRecord;
use crate::domain::account::Principal;
use crate::domain::hunt::HuntStatus;
use crate::domain::ids::HuntId;
use crate::error::AppError;
use crate::spatial::geojson::ShapeSpec;
use crate::spatial::polygon::{Rings, SphericalPolygon};
use crate::spatial::sphere::UnitVec;
use crate::spatial::validity;

/// How far outside the area boundary a vertex may sit and still count as on it, metres (rounding).
const BOUNDARY_TOLERANCE_M: f64 = 0.001;

fn not_publishable(reason: impl Into<String>, details: serde_json::Value) -> AppError {
    let reason = reason.into();
    let mut details = details;
    if let Some(obj) = details.as_object_mut() {
        obj.insert("reason".into(), reason.clone().into());
    }
    AppError::Conflict {
        code: "not_publishable",
        message: reason,
    }
    .with_details(details)
}

/// Publishes a draft hunt after checking it; publishing a published hunt again changes nothing.
pub async fn publish_hunt(
    ctx: &Ctx,
    principal: Principal,
    hunt: HuntId,
) -> Result<HuntRecord, AppError> {
    let org = editor_org(principal)?;
    let now = ctx.clock.now();
    let mut conn = ctx.pool.get().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let current = db::hunts::get_for_org(conn, org, hunt, true)
            .await?
            .ok_or(AppError::NotFound("hunt"))?;
        if current.status != HuntStatus::Draft {
            return Ok(current);
        }
        current
            .schedule
            .validate_for_publish(now)
            .map_err(|e| not_publishable(e.to_string(), serde_json::json!({})))?;
        let targets = db::targets::load_all(conn, hunt).await?;
        if targets.is_empty() {
            return Err(not_publishable(
                "a hunt needs at least one target",
                serde_json::json!({}),
            ));
        }
        // Shapes stored before validity was checked on import can still be in a draft: they must
        // be fixed before the hunt is played.
        let area_rings = &current.area;
        if let Some(p) = validity::problems(area_rings).first() {
            return Err(not_publishable(
                format!("the hunt area is not a valid polygon: {}", p.reason),
                serde_json::json!({}),
            ));
        }
        for t in &targets {
            if let ShapeSpec::Polygons(polys) = &t.shape {
                if let Some(p) = validity::problems(polys).first() {
                    return Err(not_publishable(
                        format!("target {:?} is not a valid polygon: {}", t.name, p.reason),
                        serde_json::json!({"target_id": t.id}),
                    ));
                }
            }
        }
        check_inside(area_rings, &targets, "the hunt area leaves")?;
        Ok(db::hunts::set_status(conn, hunt, HuntStatus::Published).await?)
    })
    .await
}

/// Checks that every target lies inside `area` (each circle centre and polygon vertex, within
/// the rounding tolerance); otherwise 409 `not_publishable` naming every target outside
/// (`details.targets`: id and name; `details.target_id`: the first). `what` starts the message.
pub fn check_inside(area: &[Rings], targets: &[TargetRecord], what: &str) -> Result<(), AppError> {
    let area = SphericalPolygon::new(area)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("a checked area is not valid: {e}")))?;
    let outside: Vec<&TargetRecord> = targets
        .iter()
        .filter(|t| {
            t.shape.anchor_points().into_iter().any(|p| {
                let v = UnitVec::from_latlon(p);
                !area.covers(v) && area.boundary_distance_m(p, v) > BOUNDARY_TOLERANCE_M
            })
        })
        .collect();
    let Some(first) = outside.first() else {
        return Ok(());
    };
    let names: Vec<String> = outside.iter().map(|t| format!("{:?}", t.name)).collect();
    let listed: Vec<serde_json::Value> = outside
        .iter()
        .map(|t| serde_json::json!({"id": t.id, "name": t.name}))
        .collect();
    Err(not_publishable(
        format!(
            "{what} {} outside: {}",
            plural(outside.len()),
            names.join(", ")
        ),
        serde_json::json!({"target_id": first.id, "targets": listed}),
    ))
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 target".into()
    } else {
        format!("{n} targets")
    }
}
