//! Documents tests send and read: check-in bodies, GeoJSON areas and targets, files of
//! `../shared/testdata`, and the API answer a stored check-in row gives.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

pub fn checkin_body(lat: f64, lon: f64, accuracy_m: f64, captured_at: DateTime<Utc>) -> Value {
    json!({"lat": lat, "lon": lon, "accuracy_m": accuracy_m, "captured_at": captured_at, "idempotency_key": uuid::Uuid::new_v4()})
}

/// A GeoJSON Polygon for the rectangle [min_lon, min_lat] - [max_lon, max_lat].
pub fn rect(min_lon: f64, min_lat: f64, max_lon: f64, max_lat: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[min_lon, min_lat], [max_lon, min_lat], [max_lon, max_lat], [min_lon, max_lat], [min_lon, min_lat]]]})
}

/// A circle target feature.
pub fn circle(name: &str, lat: f64, lon: f64, radius_m: f64, points: i64) -> Value {
    json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": {"name": name, "radius_m": radius_m, "points": points}})
}

pub fn collection(features: Vec<Value>) -> Value {
    json!({"type": "FeatureCollection", "features": features})
}

/// The Paris fixture area (covers the 20 arrondissements).
pub fn paris_area() -> Value {
    rect(2.2, 48.8, 2.5, 48.93)
}

/// Path of the shared test data (`../shared/testdata` beside the repository).
pub fn testdata(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata")
        .join(rel)
}

/// The answer the API gives for a stored `checkins.response` row (read by the product's own
/// reader of stored formats, shaped as the API's body).
pub fn answered(stored: &Value) -> Value {
    let answer = nenufar::service::checkin_stored::decode(stored.clone()).unwrap();
    serde_json::to_value(nenufar::http::routes::checkins::CheckinResponseBody::from(
        answer,
    ))
    .unwrap()
}
