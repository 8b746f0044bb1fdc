//! Unit tests of `geojson`: shapes and properties read, bad features reported with their index.

use super::*;
use serde_json::json;

fn feature(geometry: Value, props: Value) -> Value {
    json!({"type": "Feature", "geometry": geometry, "properties": props})
}

#[test]
fn a_point_with_a_radius_is_a_circle_and_lon_comes_first() {
    let f = feature(
        json!({"type": "Point", "coordinates": [2.29, 48.85, 35.0]}),
        json!({"name": "Eiffel", "radius_m": 40}),
    );
    let parsed = parse_targets(&f).unwrap();
    let (_, t) = &parsed.targets[0];
    assert_eq!(t.points, 1);
    match &t.shape {
        ShapeSpec::Circle { centre, radius_m } => {
            assert_eq!((centre.lat(), centre.lon(), *radius_m), (48.85, 2.29, 40.0));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_point_without_radius_and_a_line_are_unsupported() {
    let doc = json!({"type": "FeatureCollection", "features": [
        feature(json!({"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]}), json!({"name": "ok"})),
        feature(json!({"type": "LineString", "coordinates": [[0,0],[1,1]]}), json!({"name": "line"})),
    ]});
    let (_, errs) = parse_targets(&doc).unwrap_err();
    assert_eq!(
        (errs[0].kind, errs[0].feature_index),
        (GeoJsonErrorKind::Unsupported, Some(1))
    );
    let (_, errs) = parse_targets(&feature(
        json!({"type": "Point", "coordinates": [0, 0]}),
        json!({"name": "p"}),
    ))
    .unwrap_err();
    assert_eq!(errs[0].kind, GeoJsonErrorKind::Unsupported);
}

#[test]
fn unclosed_rings_bad_positions_and_missing_names_are_invalid() {
    let cases = [
        feature(
            json!({"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,1]]]}),
            json!({"name": "open"}),
        ),
        feature(
            json!({"type": "Polygon", "coordinates": [[[0,0],[1,0],[0,0]]]}),
            json!({"name": "short"}),
        ),
        feature(
            json!({"type": "Point", "coordinates": [0, 91]}),
            json!({"name": "lat", "radius_m": 5}),
        ),
        feature(
            json!({"type": "Point", "coordinates": [0]}),
            json!({"name": "count", "radius_m": 5}),
        ),
        feature(
            json!({"type": "Point", "coordinates": [1, 2]}),
            json!({"radius_m": 5}),
        ),
        feature(
            json!({"type": "Point", "coordinates": [1, 2]}),
            json!({"name": "r", "radius_m": 50001}),
        ),
        json!({"type": "Feature", "properties": {"name": "no geometry member"}}),
        json!({"type": "Circle"}),
    ];
    for case in cases {
        let (_, errs) = parse_targets(&case).unwrap_err();
        assert_eq!(errs[0].kind, GeoJsonErrorKind::Invalid, "{case}");
    }
}

#[test]
fn a_feature_without_a_properties_member_is_invalid_but_null_properties_are_read() {
    let bare = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}});
    let (_, errs) = parse_targets(&bare).unwrap_err();
    assert!(errs[0].reason.contains("\"properties\""), "{errs:?}");
    // Null properties are allowed by RFC 7946; this one then lacks the required name.
    let null = json!({"type": "Feature", "geometry": null, "properties": null});
    assert_eq!(parse_targets(&null).unwrap().skipped, vec![0]);
}

#[test]
fn every_bad_feature_is_reported_with_its_index_and_the_good_ones_are_kept() {
    let bowtie = json!({"type": "Polygon", "coordinates": [[[0,0],[1,1],[1,0],[0,1],[0,0]]]});
    let doc = json!({"type": "FeatureCollection", "features": [
        feature(json!({"type": "Point", "coordinates": [1, 2]}), json!({"name": "ok", "radius_m": 5})),
        feature(bowtie.clone(), json!({"name": "bowtie"})),
        feature(json!({"type": "Point", "coordinates": [1, 2]}), json!({"radius_m": 5})),
        feature(bowtie, json!({})),
    ]});
    let (good, errs) = parse_targets(&doc).unwrap_err();
    let at: Vec<(Option<usize>, Option<usize>)> =
        errs.iter().map(|e| (e.feature_index, e.ring)).collect();
    // Feature 3 has two problems: its geometry and its missing name.
    assert_eq!(
        at,
        [
            (Some(1), Some(0)),
            (Some(2), None),
            (Some(3), Some(0)),
            (Some(3), None)
        ]
    );
    assert_eq!(good.targets.len(), 1);
}

#[test]
fn consecutive_repeated_positions_are_dropped_and_the_ring_stays_closed() {
    let f = feature(
        json!({"type": "Polygon", "coordinates": [[[0,0],[0,0],[1,0],[1,1],[1,1],[0,1],[0,0],[0,0]]]}),
        json!({"name": "stutter"}),
    );
    let parsed = parse_targets(&f).unwrap();
    let ShapeSpec::Polygons(polys) = &parsed.targets[0].1.shape else {
        panic!("a polygon")
    };
    let lonlat: Vec<(f64, f64)> = polys[0][0].iter().map(|p| (p.lon(), p.lat())).collect();
    assert_eq!(
        lonlat,
        [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)]
    );
}

#[test]
fn empty_geometries_are_skipped_and_reported() {
    let doc = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": null, "properties": {"name": "nothing"}},
        feature(json!({"type": "MultiPolygon", "coordinates": []}), json!({"name": "empty"})),
        feature(json!({"type": "Point", "coordinates": [1, 2]}), json!({"name": "c", "radius_m": 5})),
    ]});
    let parsed = parse_targets(&doc).unwrap();
    assert_eq!(parsed.skipped, vec![0, 1]);
    assert_eq!(parsed.targets.len(), 1);
}
