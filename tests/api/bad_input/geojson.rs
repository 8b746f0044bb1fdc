//! Bad GeoJSON: one bad feature refuses the whole import, naming its index and the reason, and
//! changes neither the targets nor `targets_version`; the single-target endpoint says the same.

use serde_json::{Value, json};

use super::*;
use crate::support::*;

/// A valid Polygon feature.
fn polygon_feature(name: &str, lon: f64, lat: f64) -> Value {
    json!({"type": "Feature", "properties": {"name": name},
        "geometry": rect(lon, lat, lon + 0.001, lat + 0.001)})
}

fn feature(geometry: Value, properties: Value) -> Value {
    json!({"type": "Feature", "geometry": geometry, "properties": properties})
}

/// A Point target at the same place for every case: only its properties change.
fn dot(properties: Value) -> Value {
    feature(point(2.30, 48.85), properties)
}

async fn targets_version(app: &TestApp, staff: &Staff, hunt: &str) -> Value {
    let (status, body) = app
        .get(&format!("/v1/hunts/{hunt}"), Some(&staff.token))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["targets_version"].clone()
}

/// Asserts that a refusal names the bad feature's index and gives a reason.
fn assert_names_feature(case: &str, body: &Value, index: usize) {
    assert_eq!(
        body["details"]["feature_index"],
        json!(index),
        "{case}: {body}"
    );
    assert!(
        body["details"]["reason"]
            .as_str()
            .is_some_and(|r| !r.trim().is_empty()),
        "{case}: a reason, {body}"
    );
}

/// Each bad feature, what it is, and the code it earns.
fn bad_features() -> Vec<(&'static str, Value, Want)> {
    vec![
        (
            "an unclosed ring",
            feature(
                json!({"type": "Polygon", "coordinates": [[[2.30, 48.85], [2.31, 48.85], [2.31, 48.86], [2.30, 48.86]]]}),
                json!({"name": "open"}),
            ),
            INVALID_GEOJSON,
        ),
        (
            "a ring of 3 positions",
            feature(
                json!({"type": "Polygon", "coordinates": [[[2.30, 48.85], [2.31, 48.85], [2.30, 48.85]]]}),
                json!({"name": "short"}),
            ),
            INVALID_GEOJSON,
        ),
        (
            "a position of 1 number",
            feature(
                json!({"type": "Point", "coordinates": [2.30]}),
                json!({"name": "one", "radius_m": 10}),
            ),
            INVALID_GEOJSON,
        ),
        (
            "a position of 4 numbers",
            feature(
                json!({"type": "Point", "coordinates": [2.30, 48.85, 35.0, 1.0]}),
                json!({"name": "four", "radius_m": 10}),
            ),
            INVALID_GEOJSON,
        ),
        (
            "a ring position of 4 numbers",
            feature(
                json!({"type": "Polygon", "coordinates": [[[2.30, 48.85, 0, 0], [2.31, 48.85, 0, 0], [2.31, 48.86, 0, 0], [2.30, 48.85, 0, 0]]]}),
                json!({"name": "four"}),
            ),
            INVALID_GEOJSON,
        ),
        (
            "a position holding a string",
            feature(
                json!({"type": "Point", "coordinates": ["2.30", 48.85]}),
                json!({"name": "text", "radius_m": 10}),
            ),
            INVALID_GEOJSON,
        ),
        (
            "latitude 95",
            feature(point(2.30, 95.0), json!({"name": "sky", "radius_m": 10})),
            INVALID_GEOJSON,
        ),
        (
            "longitude 181 in a ring",
            feature(rect(180.5, 10.0, 181.0, 11.0), json!({"name": "east"})),
            INVALID_GEOJSON,
        ),
        (
            "a LineString",
            feature(
                json!({"type": "LineString", "coordinates": [[2.30, 48.85], [2.31, 48.86]]}),
                json!({"name": "line"}),
            ),
            UNSUPPORTED_GEOMETRY,
        ),
        (
            "a MultiPoint",
            feature(
                json!({"type": "MultiPoint", "coordinates": [[2.30, 48.85], [2.31, 48.86]]}),
                json!({"name": "points", "radius_m": 10}),
            ),
            UNSUPPORTED_GEOMETRY,
        ),
        (
            "a GeometryCollection",
            feature(
                json!({"type": "GeometryCollection", "geometries": [point(2.30, 48.85)]}),
                json!({"name": "bag", "radius_m": 10}),
            ),
            UNSUPPORTED_GEOMETRY,
        ),
        (
            "a Point without radius_m",
            dot(json!({"name": "dot"})),
            UNSUPPORTED_GEOMETRY,
        ),
        (
            "radius_m 0",
            dot(json!({"name": "zero", "radius_m": 0})),
            INVALID_GEOJSON,
        ),
        (
            "a negative radius_m",
            dot(json!({"name": "minus", "radius_m": -5})),
            INVALID_GEOJSON,
        ),
        (
            "radius_m 50001",
            dot(json!({"name": "huge", "radius_m": 50_001})),
            INVALID_GEOJSON,
        ),
        (
            "a textual radius_m",
            dot(json!({"name": "words", "radius_m": "ten"})),
            INVALID_GEOJSON,
        ),
        (
            "a missing name",
            dot(json!({"radius_m": 10})),
            INVALID_GEOJSON,
        ),
        (
            "a blank name",
            dot(json!({"name": "  ", "radius_m": 10})),
            INVALID_GEOJSON,
        ),
        (
            "a numeric name",
            dot(json!({"name": 12, "radius_m": 10})),
            INVALID_GEOJSON,
        ),
        (
            "negative points",
            dot(json!({"name": "debt", "radius_m": 10, "points": -1})),
            INVALID_GEOJSON,
        ),
        (
            "an unknown geometry type",
            feature(
                json!({"type": "Circle", "coordinates": [2.30, 48.85]}),
                json!({"name": "c", "radius_m": 10}),
            ),
            INVALID_GEOJSON,
        ),
        (
            "a feature without geometry",
            json!({"type": "Feature", "properties": {"name": "ghost"}}),
            INVALID_GEOJSON,
        ),
        (
            "a geometry instead of a feature",
            point(2.30, 48.85),
            INVALID_GEOJSON,
        ),
        (
            "an unknown prerequisite",
            dot(json!({"name": "locked", "radius_m": 10, "prerequisites": [uuid::Uuid::new_v4()]})),
            INVALID_GEOJSON,
        ),
    ]
}

#[tokio::test]
async fn a_bad_third_feature_refuses_the_whole_import_with_its_index_and_reason() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
    app.import(
        &staff,
        &hunt,
        collection(vec![circle("already here", 48.86, 2.34, 20.0, 1)]),
    )
    .await;
    let path = format!("/v1/hunts/{hunt}/targets/import");
    let single = format!("/v1/hunts/{hunt}/targets");
    for (case, bad, want) in bad_features() {
        let version_before = targets_version(&app, &staff, &hunt).await;
        let doc = collection(vec![
            circle("first", 48.85, 2.35, 20.0, 1),
            polygon_feature("second", 2.33, 48.86),
            bad.clone(),
        ]);
        let body = refuse(&app, case, app.post(&path, Some(&staff.token), doc), want).await;
        assert_names_feature(case, &body, 2);
        assert_eq!(
            targets_version(&app, &staff, &hunt).await,
            version_before,
            "{case}: targets_version changed"
        );

        // The same feature alone, through the single-target endpoint, is refused the same way.
        let case = format!("{case} (single target)");
        let request = app.post(&single, Some(&staff.token), bad);
        let body = refuse(&app, &case, request, want).await;
        assert_names_feature(&case, &body, 0);
    }

    // Documents that are not a FeatureCollection or a Feature at all.
    for (case, doc) in [
        ("an array", json!([circle("a", 48.85, 2.35, 20.0, 1)])),
        ("a string", json!("FeatureCollection")),
        (
            "a collection without features",
            json!({"type": "FeatureCollection"}),
        ),
        (
            "features that are not an array",
            json!({"type": "FeatureCollection", "features": {"0": circle("a", 48.85, 2.35, 20.0, 1)}}),
        ),
        ("an object without a type", json!({"features": []})),
    ] {
        let request = app.post(&path, Some(&staff.token), doc);
        refuse(&app, case, request, INVALID_GEOJSON).await;
    }

    // Issue 2 item 4 lists "not JSON" among the import's `invalid_geojson` cases.
    let truncated = b"{\"type\": \"FeatureCollection\", \"features\": [".to_vec();
    let request = app.post_raw(&path, Some(&staff.token), JSON, truncated);
    refuse(&app, "an import that is not JSON", request, INVALID_GEOJSON).await;
}
