//! Schemas utoipa cannot derive, written here as JSON Schema 2020-12: GeoJSON (the shapes the
//! server reads and writes, RFC 7946) and the clue rule (exactly one of three members). A DTO
//! field names one of them with `#[schema(value_type = ...)]` on a marker type below; utoipa only
//! knows the marker's name, [`add`] puts the schema in `components.schemas`.

use std::borrow::Cow;

use serde_json::{Value, json};
use utoipa::openapi::{RefOr, Schema};

use crate::spatial::geojson::{MAX_METADATA_BYTES, MAX_NAME_CHARS, MAX_POINTS};
use crate::spatial::shape::MAX_RADIUS_M;

/// Declares a schema-only marker type whose schema is the JSON of [`literal`] under its name.
macro_rules! literal_schema {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            /// Replaced by the literal in [`add`]; utoipa needs some schema meanwhile.
            fn schema() -> RefOr<Schema> {
                RefOr::T(Schema::Object(utoipa::openapi::schema::Object::new()))
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    )*};
}

literal_schema!(
    /// A hunt's area as sent: a GeoJSON Polygon or MultiPolygon.
    HuntArea,
    /// A GeoJSON MultiPolygon as the server sends it.
    GeoJsonMultiPolygon,
    /// A target's geometry as the server sends it: Point (a circle's centre) or MultiPolygon.
    TargetGeometry,
    /// The body of a target import: a FeatureCollection or one Feature.
    TargetImport,
    /// One target as a GeoJSON Feature.
    TargetFeature,
    /// A clue's rule: exactly one of `at`, `after_target`, `cost`.
    ClueRule,
);

/// Request bodies read as GeoJSON: one that is not JSON is `invalid_geojson`, not `invalid_json`.
pub const GEOJSON_BODIES: [&str; 2] = ["TargetImport", "TargetFeature"];

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Every literal schema, by component name.
pub fn literals() -> Vec<(&'static str, Value)> {
    let position = json!({
        "type": "array",
        "description": "`[lon, lat]` in WGS84 degrees, or `[lon, lat, altitude]` (the altitude is dropped).",
        "prefixItems": [
            {"type": "number", "minimum": -180, "maximum": 180},
            {"type": "number", "minimum": -90, "maximum": 90},
        ],
        "items": {"type": "number"},
        "minItems": 2,
        "maxItems": 3,
    });
    let ring = json!({
        "type": "array",
        "description": "A closed ring: the last position repeats the first; at least 4 positions, 3 of them distinct. Edges are great-circle arcs.",
        "items": schema_ref("GeoJsonPosition"),
        "minItems": 4,
    });
    let polygon = |rings_min: u32| {
        json!({
            "type": "object",
            "required": ["type", "coordinates"],
            "properties": {
                "type": {"enum": ["Polygon"]},
                "coordinates": {
                    "type": "array",
                    "description": "The exterior ring, then holes.",
                    "items": schema_ref("GeoJsonLinearRing"),
                    "minItems": rings_min,
                },
            },
        })
    };
    let multipolygon = |parts_min: u32| {
        json!({
            "type": "object",
            "required": ["type", "coordinates"],
            "properties": {
                "type": {"enum": ["MultiPolygon"]},
                "coordinates": {
                    "type": "array",
                    "items": {"type": "array", "items": schema_ref("GeoJsonLinearRing"), "minItems": 1},
                    "minItems": parts_min,
                },
            },
        })
    };
    let point = json!({
        "type": "object",
        "required": ["type", "coordinates"],
        "properties": {"type": {"enum": ["Point"]}, "coordinates": schema_ref("GeoJsonPosition")},
    });
    let validity = "Valid as an OGC simple feature on great-circle edges: no ring crossing or touching itself, holes inside their shell and not inside each other, rings of a polygon touching at one point at most, parts with disjoint interiors, each part within 89.4 degrees of one point. A refusal (400 `invalid_geojson`) lists every problem in `details.errors`.";
    let target_properties = json!({
        "type": "object",
        "description": format!("The target's own properties; any other property is the brand's metadata (at most {MAX_METADATA_BYTES} bytes of JSON; staff and exports only, never shown to players)."),
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_CHARS, "pattern": "\\S",
                "description": "A name players see once found (normalised like a team name)."},
            "points": {"type": "integer", "minimum": 0, "maximum": MAX_POINTS, "default": 1},
            "radius_m": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_RADIUS_M,
                "description": "Metres; required with a Point geometry (a circle target), ignored otherwise."},
            "prerequisites": {"type": "array", "items": {"type": "string", "format": "uuid"},
                "description": "Targets of this hunt the team must have found first."},
        },
    });
    let feature = json!({
        "description": format!("A target: a Polygon or MultiPolygon ({validity}), or a Point with `radius_m` (a circle). A feature whose geometry is null or empty is skipped (`skipped`). Foreign members (RFC 7946 section 6.1) are ignored."),
        "oneOf": [
            {
                "type": "object",
                "required": ["type", "geometry", "properties"],
                "properties": {
                    "type": {"enum": ["Feature"]},
                    "geometry": {"oneOf": [schema_ref("GeoJsonPoint"), polygon(0), multipolygon(0)]},
                    "properties": target_properties,
                },
            },
            {
                "type": "object",
                "required": ["type", "geometry", "properties"],
                "properties": {
                    "type": {"enum": ["Feature"]},
                    "geometry": {"type": "null"},
                    "properties": {"type": ["object", "null"]},
                },
            },
        ],
    });
    let one_rule = |member: &str, schema: Value, what: &str| {
        let mut properties = serde_json::Map::new();
        for m in ["at", "after_target", "cost"] {
            properties.insert(m.to_owned(), json!({"type": "null"}));
        }
        properties.insert(member.to_owned(), schema);
        json!({
            "type": "object",
            "description": what,
            "required": [member],
            "properties": properties,
            "additionalProperties": false,
        })
    };
    vec![
        ("GeoJsonPosition", position),
        ("GeoJsonLinearRing", ring),
        ("GeoJsonPoint", point),
        ("GeoJsonMultiPolygon", {
            let mut m = multipolygon(1);
            m["description"] = json!("A GeoJSON MultiPolygon (RFC 7946).");
            m
        }),
        (
            "HuntArea",
            json!({
                "description": format!("The hunt's area: a GeoJSON Polygon or MultiPolygon. {validity} Every target must lie inside it."),
                "oneOf": [polygon(1), multipolygon(1)],
            }),
        ),
        (
            "TargetGeometry",
            json!({
                "description": "A circle target's centre (its radius is `radius_m`) or a polygon target's MultiPolygon.",
                "oneOf": [schema_ref("GeoJsonPoint"), schema_ref("GeoJsonMultiPolygon")],
            }),
        ),
        ("TargetFeature", feature),
        (
            "TargetImport",
            json!({
                "description": "A FeatureCollection of targets, or one Feature. All or nothing.",
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["type", "features"],
                        "properties": {
                            "type": {"enum": ["FeatureCollection"]},
                            "features": {"type": "array", "items": schema_ref("TargetFeature")},
                        },
                    },
                    schema_ref("TargetFeature"),
                ],
            }),
        ),
        (
            "ClueRule",
            json!({
                "description": "Exactly one of `at`, `after_target`, `cost`; the others absent or null.",
                "oneOf": [
                    one_rule("at", json!({"type": "string", "format": "date-time"}), "Revealed to every team at this time."),
                    one_rule("after_target", json!({"type": "string", "format": "uuid"}), "Revealed to a team when it finds this target of the hunt."),
                    one_rule("cost", json!({"type": "integer", "format": "int32", "minimum": 1, "maximum": i32::MAX}), "Sold to a team for this many points."),
                ],
            }),
        ),
    ]
}

/// Puts every literal schema in the document's components (replacing utoipa's placeholders).
pub fn add(doc: &mut Value) {
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, schema) in literals() {
            schemas.insert(name.to_owned(), schema);
        }
    }
}
