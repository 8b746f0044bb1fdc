//! GeoJSON coordinates: positions (longitude first), rings (closed, repeats dropped), polygons
//! and multipolygons read into rings on the sphere, and written back out.

use serde_json::{Map, Value};

use super::{GeoJsonError, ShapeSpec, invalid, is_geometry_type, unsupported};
use crate::domain::position::LatLon;
use crate::spatial::planar::TOL;
use crate::spatial::polygon::Rings;
use crate::spatial::sphere::UnitVec;

/// Parses a Polygon or MultiPolygon geometry (a hunt area or a polygon target); empty gives `[]`.
pub fn parse_polygonal(geometry: &Value) -> Result<Vec<Rings>, GeoJsonError> {
    let g = geometry
        .as_object()
        .ok_or_else(|| invalid("a geometry must be an object"))?;
    let coords = coordinates(g)?;
    match g.get("type").and_then(Value::as_str) {
        Some("Polygon") if is_empty_array(coords) => Ok(Vec::new()),
        Some("Polygon") => Ok(vec![polygon(coords)?]),
        Some("MultiPolygon") => array(coords, "MultiPolygon coordinates")?
            .iter()
            .map(polygon)
            .collect(),
        Some(other) if is_geometry_type(other) => Err(unsupported(format!(
            "expected a Polygon or MultiPolygon, got {other}"
        ))),
        _ => Err(invalid("expected a Polygon or MultiPolygon geometry")),
    }
}

pub(super) fn coordinates(g: &Map<String, Value>) -> Result<&Value, GeoJsonError> {
    g.get("coordinates")
        .ok_or_else(|| invalid("a geometry needs \"coordinates\""))
}

pub(super) fn is_empty_array(v: &Value) -> bool {
    v.as_array().is_some_and(Vec::is_empty)
}

fn array<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>, GeoJsonError> {
    v.as_array()
        .ok_or_else(|| invalid(format!("{what} must be an array")))
}

fn polygon(v: &Value) -> Result<Rings, GeoJsonError> {
    let rings = array(v, "a polygon")?;
    if rings.is_empty() {
        return Err(invalid("a polygon needs at least one ring"));
    }
    rings.iter().map(ring).collect()
}

fn ring(v: &Value) -> Result<Vec<LatLon>, GeoJsonError> {
    let positions = array(v, "a linear ring")?
        .iter()
        .map(position)
        .collect::<Result<Vec<_>, _>>()?;
    if positions.len() < 4 {
        return Err(invalid("a linear ring needs at least 4 positions"));
    }
    if positions.first() != positions.last() {
        return Err(invalid(
            "a linear ring must be closed (first and last positions equal)",
        ));
    }
    Ok(without_repeats(positions))
}

/// The ring without consecutive repeats of a point (legal in OGC and harmless): the same position
/// twice, or two positions within `TOL` on the sphere (two longitudes of a pole). Still closed.
fn without_repeats(positions: Vec<LatLon>) -> Vec<LatLon> {
    let same = |a: LatLon, b: LatLon| {
        a == b || UnitVec::from_latlon(a).angle(UnitVec::from_latlon(b)) <= TOL
    };
    let mut out: Vec<LatLon> = Vec::with_capacity(positions.len());
    for p in positions {
        if out.last().is_none_or(|q| !same(*q, p)) {
            out.push(p);
        }
    }
    // Still closed on exactly the first position.
    if let Some(&first) = out.first() {
        let n = out.len();
        match out.last_mut() {
            Some(last) if n > 1 && same(*last, first) => *last = first,
            _ => out.push(first),
        }
    }
    out
}

/// `[lon, lat]` or `[lon, lat, altitude]`; the altitude is ignored.
pub(super) fn position(v: &Value) -> Result<LatLon, GeoJsonError> {
    let items = array(v, "a position")?;
    if !(2..=3).contains(&items.len()) {
        return Err(invalid(format!(
            "a position has 2 or 3 numbers, got {}",
            items.len()
        )));
    }
    let nums = items
        .iter()
        .map(Value::as_f64)
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| invalid("a position holds numbers"))?;
    LatLon::new(nums[1], nums[0]).map_err(|e| invalid(format!("position out of range: {e}")))
}

/// A GeoJSON MultiPolygon geometry (`[lon, lat]` positions).
pub fn multipolygon_value(polys: &[Rings]) -> Value {
    let coords: Vec<Vec<Vec<[f64; 2]>>> = polys
        .iter()
        .map(|rings| {
            rings
                .iter()
                .map(|r| r.iter().map(|p| [p.lon(), p.lat()]).collect())
                .collect()
        })
        .collect();
    serde_json::json!({"type": "MultiPolygon", "coordinates": coords})
}

/// A GeoJSON geometry for a target shape: a Point (with the radius kept by the caller) or a MultiPolygon.
pub fn shape_value(spec: &ShapeSpec) -> Value {
    match spec {
        ShapeSpec::Circle { centre, .. } => {
            serde_json::json!({"type": "Point", "coordinates": [centre.lon(), centre.lat()]})
        }
        ShapeSpec::Polygons(polys) => multipolygon_value(polys),
    }
}
