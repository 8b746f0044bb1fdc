//! GeoJSON (RFC 7946) documents of targets and hunt areas: features, their properties and shapes,
//! with errors that name the feature and the reason. Coordinates (positions, rings, polygons, in
//! and out) are read and written in `coords`.

mod coords;

use coords::{coordinates, is_empty_array, position};
pub use coords::{multipolygon_value, parse_polygonal, shape_value};

use serde_json::{Map, Value};

use super::polygon::{Rings, SphericalPolygon};
use super::shape::{Circle, MAX_RADIUS_M, Shape};
use super::validity;
use crate::domain::name::Name;
use crate::domain::position::LatLon;

/// What is wrong with a refused document (the API's error code is chosen by `service::targets`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeoJsonErrorKind {
    /// Bad structure, coordinates, rings or properties.
    Invalid,
    /// Valid GeoJSON that is not a target shape.
    Unsupported,
}

/// One reason a document is refused: the feature (none for the document itself or a hunt area),
/// the part and ring of its geometry when one is at fault, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeoJsonError {
    pub kind: GeoJsonErrorKind,
    pub feature_index: Option<usize>,
    pub part: Option<usize>,
    pub ring: Option<usize>,
    pub reason: String,
}

pub fn invalid(reason: impl Into<String>) -> GeoJsonError {
    GeoJsonError {
        kind: GeoJsonErrorKind::Invalid,
        feature_index: None,
        part: None,
        ring: None,
        reason: reason.into(),
    }
}

fn unsupported(reason: impl Into<String>) -> GeoJsonError {
    GeoJsonError {
        kind: GeoJsonErrorKind::Unsupported,
        ..invalid(reason)
    }
}

impl GeoJsonError {
    /// The same error, of feature `index` (kept if it already names one).
    pub fn at(mut self, index: usize) -> Self {
        self.feature_index.get_or_insert(index);
        self
    }
}

/// Every validity problem of polygons (`validity::problems`), as errors naming part and ring.
pub fn polygon_errors(polys: &[Rings]) -> Vec<GeoJsonError> {
    validity::problems(polys)
        .into_iter()
        .map(|p| GeoJsonError {
            part: Some(p.part),
            ring: p.ring,
            ..invalid(p.reason)
        })
        .collect()
}

/// Largest `points` a target may give.
pub const MAX_POINTS: i64 = 1_000_000;
/// Longest target name, characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Largest metadata of one target, bytes of compact JSON.
pub const MAX_METADATA_BYTES: usize = 4096;
/// The properties a target is made of; any other property is the brand's metadata.
pub const TARGET_PROPERTIES: [&str; 4] = ["name", "points", "radius_m", "prerequisites"];

/// A target's geometry as imported.
#[derive(Debug, Clone, PartialEq)]
pub enum ShapeSpec {
    Circle {
        centre: LatLon,
        radius_m: f64,
    },
    /// A Polygon is a one-element list.
    Polygons(Vec<Rings>),
}

impl ShapeSpec {
    /// The shape the index tests against.
    pub fn to_shape(&self) -> Result<Shape, GeoJsonError> {
        match self {
            Self::Circle { centre, radius_m } => Ok(Shape::Circle(Circle::new(*centre, *radius_m))),
            Self::Polygons(polys) => SphericalPolygon::new(polys)
                .map(Shape::Polygon)
                .map_err(|e| invalid(e.to_string())),
        }
    }

    /// Every position that must lie inside the hunt area: circle centres and polygon vertices.
    pub fn anchor_points(&self) -> Vec<LatLon> {
        match self {
            Self::Circle { centre, .. } => vec![*centre],
            Self::Polygons(polys) => polys.iter().flatten().flatten().copied().collect(),
        }
    }
}

/// One importable target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSpec {
    pub name: String,
    pub points: i32,
    pub prerequisites: Vec<uuid::Uuid>,
    pub shape: ShapeSpec,
    /// The feature's other properties, kept as they came (staff and exports only, never players).
    pub metadata: Map<String, Value>,
}

/// The result of parsing an import document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedTargets {
    /// Importable targets with their feature index.
    pub targets: Vec<(usize, TargetSpec)>,
    /// Indexes of features whose geometry was empty (skipped and reported).
    pub skipped: Vec<usize>,
}

/// Parses a FeatureCollection or a single Feature. All or nothing, but every bad feature is
/// reported: `Err` holds each problem of each refused feature, in feature order; `targets` then
/// holds the good ones, so the caller can add its own checks of them to the same list.
pub fn parse_targets(doc: &Value) -> Result<ParsedTargets, (ParsedTargets, Vec<GeoJsonError>)> {
    let refused = |e: GeoJsonError| (ParsedTargets::default(), vec![e]);
    let obj = doc
        .as_object()
        .ok_or_else(|| refused(invalid("expected a GeoJSON object")))?;
    let features: Vec<&Value> = match obj.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => obj
            .get("features")
            .and_then(Value::as_array)
            .ok_or_else(|| refused(invalid("a FeatureCollection needs a \"features\" array")))?
            .iter()
            .collect(),
        Some("Feature") => vec![doc],
        Some(other) if is_geometry_type(other) => {
            return Err(refused(invalid(format!(
                "expected a Feature or FeatureCollection, got a bare {other} geometry"
            ))));
        }
        _ => return Err(refused(invalid("expected a Feature or FeatureCollection"))),
    };
    let mut parsed = ParsedTargets::default();
    let mut errors = Vec::new();
    for (i, f) in features.into_iter().enumerate() {
        match parse_feature(f) {
            Ok(Some(t)) => parsed.targets.push((i, t)),
            Ok(None) => parsed.skipped.push(i),
            Err(found) => errors.extend(found.into_iter().map(|e| e.at(i))),
        }
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err((parsed, errors))
    }
}

fn is_geometry_type(t: &str) -> bool {
    matches!(
        t,
        "Point"
            | "MultiPoint"
            | "LineString"
            | "MultiLineString"
            | "Polygon"
            | "MultiPolygon"
            | "GeometryCollection"
    )
}

/// Parses one Feature; `Ok(None)` when its geometry is empty. `Err` lists every problem found:
/// the geometry's (all of its validity problems) and then the first bad property.
pub fn parse_feature(f: &Value) -> Result<Option<TargetSpec>, Vec<GeoJsonError>> {
    let obj = f
        .as_object()
        .ok_or_else(|| vec![invalid("a feature must be an object")])?;
    if obj.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err(vec![invalid("expected \"type\": \"Feature\"")]);
    }
    // RFC 7946 section 3.2: the member is required, its value may be null.
    let empty = Map::new();
    let props = match obj.get("properties") {
        Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        None => {
            return Err(vec![invalid(
                "a feature needs a \"properties\" member (null if none)",
            )]);
        }
        Some(_) => return Err(vec![invalid("\"properties\" must be an object or null")]),
    };
    let geometry = match obj.get("geometry") {
        Some(Value::Null) => return Ok(None),
        Some(g) => g,
        None => {
            return Err(vec![invalid(
                "a feature needs a \"geometry\" member (null if empty)",
            )]);
        }
    };
    let shape = match parse_shape(geometry, props) {
        Ok(None) => return Ok(None),
        Ok(Some(shape)) => Ok(shape),
        Err(found) => Err(found),
    };
    match (shape, parse_properties(props)) {
        (Ok(shape), Ok(p)) => Ok(Some(TargetSpec {
            name: p.name,
            points: p.points,
            prerequisites: p.prerequisites,
            shape,
            metadata: p.metadata,
        })),
        (shape, props) => {
            let mut errors = shape.err().unwrap_or_default();
            errors.extend(props.err());
            Err(errors)
        }
    }
}

/// A target's own properties.
struct Properties {
    name: String,
    points: i32,
    prerequisites: Vec<uuid::Uuid>,
    metadata: Map<String, Value>,
}

/// The target properties of a feature.
fn parse_properties(props: &Map<String, Value>) -> Result<Properties, GeoJsonError> {
    // Players see target names (once found): the rules of `domain::name` hold.
    let name = match props.get("name") {
        Some(Value::String(s)) => Name::parse(s, MAX_NAME_CHARS)
            .map_err(|e| invalid(format!("property \"name\" {e}")))?
            .into_string(),
        Some(_) => {
            return Err(invalid(format!(
                "property \"name\" must be a string of 1 to {MAX_NAME_CHARS} characters"
            )));
        }
        None => return Err(invalid("property \"name\" is required")),
    };
    let points = match props.get("points") {
        None | Some(Value::Null) => 1,
        Some(v) => match v.as_i64() {
            Some(p) if (0..=MAX_POINTS).contains(&p) => p as i32,
            _ => {
                return Err(invalid(format!(
                    "property \"points\" must be an integer in [0, {MAX_POINTS}]"
                )));
            }
        },
    };
    let prerequisites = match props.get("prerequisites") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid("property \"prerequisites\" must be an array of target ids"))?,
        Some(_) => {
            return Err(invalid(
                "property \"prerequisites\" must be an array of target ids",
            ));
        }
    };
    let metadata: Map<String, Value> = props
        .iter()
        .filter(|(k, _)| !TARGET_PROPERTIES.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if Value::Object(metadata.clone()).to_string().len() > MAX_METADATA_BYTES {
        return Err(invalid(format!(
            "the properties other than {} (the target's metadata) must take at most {MAX_METADATA_BYTES} bytes of JSON",
            TARGET_PROPERTIES.join(", ")
        )));
    }
    Ok(Properties {
        name,
        points,
        prerequisites,
        metadata,
    })
}

/// A feature's shape; a polygonal one is checked for validity, every problem reported.
fn parse_shape(
    geometry: &Value,
    props: &Map<String, Value>,
) -> Result<Option<ShapeSpec>, Vec<GeoJsonError>> {
    let kind = geometry.get("type").and_then(Value::as_str);
    if !matches!(kind, Some("Polygon" | "MultiPolygon")) {
        return parse_other_shape(geometry, props).map_err(|e| vec![e]);
    }
    let polys = parse_polygonal(geometry).map_err(|e| vec![e])?;
    if polys.is_empty() {
        return Ok(None);
    }
    let errors = polygon_errors(&polys);
    if !errors.is_empty() {
        return Err(errors);
    }
    let spec = ShapeSpec::Polygons(polys);
    spec.to_shape().map_err(|e| vec![e])?;
    Ok(Some(spec))
}

fn parse_other_shape(
    geometry: &Value,
    props: &Map<String, Value>,
) -> Result<Option<ShapeSpec>, GeoJsonError> {
    let g = geometry
        .as_object()
        .ok_or_else(|| invalid("\"geometry\" must be an object or null"))?;
    let kind = g
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("a geometry needs a \"type\""))?;
    match kind {
        "Point" => {
            let coords = coordinates(g)?;
            if is_empty_array(coords) {
                return Ok(None);
            }
            let centre = position(coords)?;
            match props.get("radius_m") {
                None | Some(Value::Null) => Err(unsupported(
                    "a Point needs a \"radius_m\" property to be a circle target",
                )),
                Some(v) => match v.as_f64() {
                    Some(r) if r > 0.0 && r <= MAX_RADIUS_M => Ok(Some(ShapeSpec::Circle {
                        centre,
                        radius_m: r,
                    })),
                    _ => Err(invalid(format!(
                        "property \"radius_m\" must be a number in (0, {MAX_RADIUS_M}]"
                    ))),
                },
            }
        }
        "LineString" | "MultiLineString" | "MultiPoint" | "GeometryCollection" => {
            Err(unsupported(format!(
                "{kind} is not a target shape: use a Polygon, a MultiPolygon or a Point with radius_m"
            )))
        }
        other => Err(invalid(format!("unknown geometry type {other:?}"))),
    }
}

#[cfg(test)]
mod tests;
