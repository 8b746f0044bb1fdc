//! Hunts for staff (create, list, read, change) and for players (the nearby search).

use chrono::{DateTime, Utc};

use super::Ctx;
use crate::db;
/// A hunt as the service hands it out (decoded by `db::hunts` from its row, area included).
pub use crate::db::hunts::HuntRecord;
use crate::db::hunts::{HuntFields, NearbyHunt};
use crate::domain::account::Principal;
use crate::domain::hunt::{Rules, Schedule};
use crate::domain::ids::{HuntId, OrgId};
use crate::domain::name::Name;
use crate::domain::position::LatLon;
use crate::error::AppError;
use crate::ids::RandomId;
use crate::service::targets::geojson_refusal;
use crate::spatial::geojson::{
    GeoJsonError, invalid, multipolygon_value, parse_polygonal, polygon_errors,
};
use crate::spatial::polygon::{Rings, SphericalPolygon};

/// Largest radius of the nearby search, metres.
pub const MAX_NEARBY_RADIUS_M: f64 = 50_000.0;

/// A hunt's editable fields as received (not yet validated).
#[derive(Debug, Clone)]
pub struct HuntInput {
    pub title: String,
    pub city: String,
    pub area: serde_json::Value,
    pub schedule: Schedule,
    pub rules: Rules,
}

/// The staff member's organisation, if they may edit hunts.
pub fn editor_org(principal: Principal) -> Result<OrgId, AppError> {
    match principal {
        Principal::Staff { org, role, .. } if role.may_edit_hunts() => Ok(org),
        Principal::Staff { .. } => Err(AppError::Forbidden("your role may not change hunts")),
        Principal::Player { .. } => Err(AppError::Forbidden("staff only")),
    }
}

/// The staff member's organisation, any role.
pub fn staff_org(principal: Principal) -> Result<OrgId, AppError> {
    match principal {
        Principal::Staff { org, .. } => Ok(org),
        Principal::Player { .. } => Err(AppError::Forbidden("staff only")),
    }
}

/// Parses and checks a hunt area: a GeoJSON Polygon or MultiPolygon, valid as a simple feature on
/// its great-circle edges (`spatial::validity`), each part inside a hemisphere. A refusal lists
/// every problem with its part and ring.
pub fn parse_area(area: &serde_json::Value) -> Result<Vec<Rings>, AppError> {
    let area_error = |e: GeoJsonError| GeoJsonError {
        reason: format!("area: {}", e.reason),
        ..e
    };
    let polys = parse_polygonal(area).map_err(|e| geojson_refusal(vec![area_error(e)]))?;
    if polys.is_empty() {
        return Err(geojson_refusal(vec![invalid("area: empty geometry")]));
    }
    let errors = polygon_errors(&polys);
    if !errors.is_empty() {
        return Err(geojson_refusal(
            errors.into_iter().map(area_error).collect(),
        ));
    }
    SphericalPolygon::new(&polys)
        .map_err(|e| geojson_refusal(vec![invalid(format!("area: {e}"))]))?;
    Ok(polys)
}

/// Longest hunt title and city, characters (after normalisation).
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_CITY_CHARS: usize = 100;

/// Checks a hunt's fields as a whole; returns them ready to store, and the parsed area. Titles
/// and cities are names players see: they follow `domain::name`'s rules.
fn validate(input: &HuntInput) -> Result<(HuntFields, Vec<Rings>), AppError> {
    let title = Name::parse(&input.title, MAX_TITLE_CHARS)
        .map_err(|e| AppError::invalid_field("/title", e))?;
    let city = Name::parse(&input.city, MAX_CITY_CHARS)
        .map_err(|e| AppError::invalid_field("/city", e))?;
    input
        .rules
        .validate()
        .map_err(|e| AppError::invalid_field(e.field(), e))?;
    input
        .schedule
        .validate_order()
        .map_err(|e| AppError::invalid_field(e.field(), e))?;
    let area = parse_area(&input.area)?;
    let fields = HuntFields {
        title: title.into_string(),
        city: city.into_string(),
        area: db::geo::multipolygon(&area),
        schedule: input.schedule,
        rules: input.rules,
    };
    Ok((fields, area))
}

/// Creates a draft hunt in the caller's organisation.
pub async fn create_hunt(
    ctx: &Ctx,
    principal: Principal,
    input: &HuntInput,
) -> Result<HuntRecord, AppError> {
    let org = editor_org(principal)?;
    let (fields, _) = validate(input)?;
    let mut conn = ctx.pool.get().await?;
    Ok(db::hunts::insert(&mut conn, HuntId::new_random(), org, &fields).await?)
}

/// The caller's organisation's hunts.
pub async fn list_hunts(ctx: &Ctx, principal: Principal) -> Result<Vec<HuntRecord>, AppError> {
    let org = staff_org(principal)?;
    Ok(db::hunts::list_for_org(&mut *ctx.pool.get().await?, org).await?)
}

/// One hunt of the caller's organisation; another organisation's hunt is "not found".
pub async fn get_hunt(
    ctx: &Ctx,
    principal: Principal,
    hunt: HuntId,
) -> Result<HuntRecord, AppError> {
    let org = staff_org(principal)?;
    db::hunts::get_for_org(&mut *ctx.pool.get().await?, org, hunt, false)
        .await?
        .ok_or(AppError::NotFound("hunt"))
}

/// Changes a hunt: `change` turns the current fields into the new ones (a merge patch, say),
/// which are validated again as a whole. A new area must still hold every target of the hunt,
/// whatever its status (409 `not_publishable` naming those it would leave outside).
pub async fn update_hunt(
    ctx: &Ctx,
    principal: Principal,
    hunt: HuntId,
    change: impl FnOnce(HuntInput) -> Result<HuntInput, AppError> + Send,
) -> Result<HuntRecord, AppError> {
    use diesel_async::AsyncConnection;
    let org = editor_org(principal)?;
    let mut conn = ctx.pool.get().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let current = db::hunts::get_for_org(conn, org, hunt, true)
            .await?
            .ok_or(AppError::NotFound("hunt"))?;
        let rings = current.area.clone();
        let input = change(HuntInput {
            title: current.title,
            city: current.city,
            area: multipolygon_value(&rings),
            schedule: current.schedule,
            rules: current.rules,
        })?;
        let (fields, area) = validate(&input)?;
        if area != rings {
            let targets = db::targets::load_all(conn, hunt).await?;
            super::publish::check_inside(&area, &targets, "the new area would leave")?;
        }
        Ok(db::hunts::update(conn, hunt, &fields).await?)
    })
    .await
}

/// Hunts a player near `at` can see: published, in phase teaser or live, area within `radius_m`.
pub async fn list_nearby_hunts(
    ctx: &Ctx,
    principal: Principal,
    lat: f64,
    lon: f64,
    radius_m: f64,
) -> Result<(Vec<NearbyHunt>, DateTime<Utc>), AppError> {
    if !matches!(principal, Principal::Player { .. }) {
        return Err(AppError::Forbidden("players only"));
    }
    use crate::domain::position::InvalidPosition;
    use crate::input::{FieldError, Location};
    let at = LatLon::new(lat, lon).map_err(|e| {
        let field = match e {
            InvalidPosition::Longitude(_) => "/lon",
            _ => "/lat",
        };
        AppError::from(FieldError::new(Location::Query, field, e.to_string()))
    })?;
    if !(radius_m > 0.0 && radius_m <= MAX_NEARBY_RADIUS_M) {
        let reason = "radius_m must be in (0, 50000]";
        return Err(FieldError::new(Location::Query, "/radius_m", reason).into());
    }
    let now = ctx.clock.now();
    let hunts = db::hunts::nearby(&mut *ctx.pool.get().await?, at, radius_m, now).await?;
    Ok((hunts, now))
}
