//! The GeoJSON examples of RFC 7946 and the Paris arrondissements through the real import: polygonal
//! documents (and Points given a `radius_m`) import, any line, multipoint or collection of geometries
//! is refused with `unsupported_geometry`, and the imported shapes judge check-ins as drawn.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// Radius given to Point features so they become circle targets, metres.
const POINT_RADIUS_M: f64 = 100.0;

/// What each example of `geojson-rfc7946/index.json` must give: `Some(n)` is 201 with `n` targets,
/// `None` is 400 `unsupported_geometry` at `refused_at`.
const EXPECTED: [(&str, Option<usize>, usize); 14] = [
    ("s1.5_featurecollection.geojson", None, 1),
    ("s3.1.9_antimeridian_multilinestring.geojson", None, 0),
    ("s3.1.9_antimeridian_multipolygon.geojson", Some(1), 0),
    ("s5_bbox_feature.geojson", Some(1), 0),
    ("s5_bbox_featurecollection_2d.geojson", Some(0), 0),
    ("s5_bbox_featurecollection_3d.geojson", Some(0), 0),
    ("a1_point.geojson", Some(1), 0),
    ("a2_linestring.geojson", None, 0),
    ("a3_polygon_no_holes.geojson", Some(1), 0),
    ("a3_polygon_with_hole.geojson", Some(1), 0),
    ("a4_multipoint.geojson", None, 0),
    ("a5_multilinestring.geojson", None, 0),
    ("a6_multipolygon.geojson", Some(1), 0),
    ("a7_geometrycollection.geojson", None, 0),
];

fn read_json(rel: &str) -> Value {
    let path = testdata(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Makes a document importable without changing its geometry: a bare geometry is wrapped in a
/// Feature, every feature gets a `name` if it lacks one, and a Point gets a `radius_m`.
fn importable(doc: Value, label: &str) -> Value {
    let mut doc = match doc["type"].as_str() {
        Some("FeatureCollection") | Some("Feature") => doc,
        Some(_) => json!({"type": "Feature", "geometry": doc, "properties": {}}),
        None => panic!("{label}: not GeoJSON"),
    };
    let name_feature = |i: usize, f: &mut Value| {
        if !f["properties"].is_object() {
            f["properties"] = json!({});
        }
        if f["properties"].get("name").is_none() {
            f["properties"]["name"] = json!(format!("{label} #{i}"));
        }
        if f["geometry"]["type"] == json!("Point") && f["properties"].get("radius_m").is_none() {
            f["properties"]["radius_m"] = json!(POINT_RADIUS_M);
        }
    };
    if doc["type"] == json!("FeatureCollection") {
        for (i, f) in doc["features"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .enumerate()
        {
            name_feature(i, f);
        }
    } else {
        name_feature(0, &mut doc);
    }
    doc
}

async fn targets_of(app: &TestApp, staff: &Staff, hunt: &str) -> Vec<Value> {
    let (status, body) = app
        .get(&format!("/v1/hunts/{hunt}/targets"), Some(&staff.token))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["targets"].as_array().unwrap().clone()
}

async fn targets_version(app: &TestApp, staff: &Staff, hunt: &str) -> Value {
    let (status, body) = app
        .get(&format!("/v1/hunts/{hunt}"), Some(&staff.token))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["targets_version"].clone()
}

#[tokio::test]
async fn the_rfc_7946_examples_import_when_polygonal_and_are_refused_otherwise() {
    let index = read_json("geojson-rfc7946/index.json");
    let listed: Vec<&str> = index["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["file"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = EXPECTED.iter().map(|(f, _, _)| *f).collect();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(
        sorted, expected,
        "index.json lists other examples than this test knows"
    );

    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let mut imported = 0;
    for file in listed {
        let (_, outcome, refused_at) = EXPECTED.iter().find(|(f, _, _)| *f == file).unwrap();
        let doc = importable(read_json(&format!("geojson-rfc7946/{file}")), file);
        // A draft accepts targets outside its area: publishing is where the area is checked.
        let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
        let version = targets_version(&app, &staff, &hunt).await;
        let rows = app.count("targets").await;
        let (status, body) = app
            .post(
                &format!("/v1/hunts/{hunt}/targets/import"),
                Some(&staff.token),
                doc,
            )
            .await;
        match outcome {
            Some(n) => {
                assert_eq!(status, StatusCode::CREATED, "{file}: {body}");
                assert_eq!(body["imported"], json!(n), "{file}: {body}");
                assert_eq!(body["skipped"], json!([]), "{file}: {body}");
                assert_eq!(targets_of(&app, &staff, &hunt).await.len(), *n, "{file}");
                assert_eq!(app.count("targets").await, rows + *n as i64, "{file}");
                imported += n;
            }
            None => {
                assert_eq!(
                    (status, body["code"].as_str()),
                    (StatusCode::BAD_REQUEST, Some("unsupported_geometry")),
                    "{file}: {body}"
                );
                assert_eq!(
                    body["details"]["feature_index"],
                    json!(refused_at),
                    "{file}: {body}"
                );
                assert!(
                    body["details"]["reason"]
                        .as_str()
                        .is_some_and(|r| !r.is_empty()),
                    "{file}: {body}"
                );
                assert_eq!(
                    app.count("targets").await,
                    rows,
                    "{file}: a refused document stored something"
                );
                assert_eq!(
                    targets_version(&app, &staff, &hunt).await,
                    version,
                    "{file}"
                );
            }
        }
    }
    assert_eq!(imported, 6);
}

#[tokio::test]
async fn imported_examples_keep_their_shape_kinds_holes_and_parts() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
    let files = [
        "a1_point.geojson",
        "a3_polygon_with_hole.geojson",
        "a6_multipolygon.geojson",
        "s3.1.9_antimeridian_multipolygon.geojson",
    ];
    let features: Vec<Value> = files
        .iter()
        .map(|f| importable(read_json(&format!("geojson-rfc7946/{f}")), f))
        .collect();
    app.import(&staff, &hunt, collection(features)).await;
    let targets = targets_of(&app, &staff, &hunt).await;
    let by_name = |name: &str| {
        targets
            .iter()
            .find(|t| t["name"].as_str().is_some_and(|n| n.starts_with(name)))
            .unwrap()
            .clone()
    };

    let point = by_name("a1_point");
    assert_eq!(
        (point["kind"].clone(), point["radius_m"].clone()),
        (json!("circle"), json!(POINT_RADIUS_M))
    );
    assert_eq!(
        point["geometry"],
        json!({"type": "Point", "coordinates": [100.0, 0.0]})
    );
    let holed = by_name("a3_polygon_with_hole");
    assert_eq!(holed["kind"], json!("polygon"));
    let parts = holed["geometry"]["coordinates"].as_array().unwrap();
    assert_eq!(
        (parts.len(), parts[0].as_array().unwrap().len()),
        (1, 2),
        "one polygon, outer ring and hole: {holed}"
    );
    let multi = by_name("a6_multipolygon");
    let parts = multi["geometry"]["coordinates"].as_array().unwrap();
    assert_eq!(
        parts
            .iter()
            .map(|p| p.as_array().unwrap().len())
            .collect::<Vec<_>>(),
        [1, 2],
        "{multi}"
    );
    let split = by_name("s3.1.9_antimeridian_multipolygon");
    assert_eq!(
        split["geometry"]["coordinates"].as_array().unwrap().len(),
        2,
        "{split}"
    );
}

/// The same geometry with an altitude on every position (the closing one equal to the first).
fn with_altitudes(geometry: &Value) -> Value {
    fn lift(v: &Value, next: &mut f64) -> Value {
        match v.as_array() {
            Some(items) if items.first().is_some_and(Value::is_number) => {
                *next += 1.0;
                let mut p = items.clone();
                p.push(json!(*next));
                json!(p)
            }
            Some(items) => {
                let mut lifted: Vec<Value> = items.iter().map(|i| lift(i, next)).collect();
                // A ring closes on its first position, altitude included.
                if lifted.len() >= 4
                    && lifted
                        .iter()
                        .all(|p| p.as_array().is_some_and(|a| a.len() == 3))
                {
                    let first = lifted[0].clone();
                    *lifted.last_mut().unwrap() = first;
                }
                json!(lifted)
            }
            None => v.clone(),
        }
    }
    let mut out = geometry.clone();
    out["coordinates"] = lift(&geometry["coordinates"], &mut 1000.0);
    out
}

#[tokio::test]
async fn three_dimensional_positions_import_and_their_altitude_is_ignored() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
    let files = [
        "a1_point.geojson",
        "a3_polygon_with_hole.geojson",
        "a6_multipolygon.geojson",
        "s3.1.9_antimeridian_multipolygon.geojson",
    ];
    let features: Vec<Value> = files
        .iter()
        .map(|f| {
            let lifted = with_altitudes(&read_json(&format!("geojson-rfc7946/{f}")));
            assert!(
                lifted["coordinates"].to_string().contains(",1001.0]"),
                "{f} has altitudes: {lifted}"
            );
            importable(lifted, f)
        })
        .collect();
    let (status, body) = app
        .post(
            &format!("/v1/hunts/{hunt}/targets/import"),
            Some(&staff.token),
            collection(features),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["imported"], json!(files.len()));
    for t in targets_of(&app, &staff, &hunt).await {
        fn positions(v: &Value, out: &mut Vec<usize>) {
            if let Some(items) = v.as_array() {
                if items.first().is_some_and(Value::is_number) {
                    out.push(items.len());
                } else {
                    items.iter().for_each(|i| positions(i, out));
                }
            }
        }
        let mut lengths = Vec::new();
        positions(&t["geometry"]["coordinates"], &mut lengths);
        assert!(
            !lengths.is_empty() && lengths.iter().all(|n| *n == 2),
            "altitudes are dropped: {t}"
        );
    }
    // The 3-D example of section 5 is an empty collection: it imports nothing and refuses nothing.
    let (status, body) = app
        .post(
            &format!("/v1/hunts/{hunt}/targets/import"),
            Some(&staff.token),
            read_json("geojson-rfc7946/s5_bbox_featurecollection_3d.geojson"),
        )
        .await;
    assert_eq!(
        (status, body["imported"].clone()),
        (StatusCode::CREATED, json!(0)),
        "{body}"
    );
}

#[tokio::test]
async fn imported_example_shapes_judge_check_ins_as_drawn() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;

    // The polygon with a hole, in a hunt whose area is that polygon's outer ring.
    let hunt = app
        .draft_hunt(
            &staff,
            rect(100.0, 0.0, 101.0, 1.0),
            json!({"max_accuracy_m": 100}),
        )
        .await;
    let doc = importable(
        read_json("geojson-rfc7946/a3_polygon_with_hole.geojson"),
        "holed",
    );
    app.import(&staff, &hunt, doc).await;
    app.publish(&staff, &hunt).await;
    let player = app.player_in_team(&hunt).await;
    let (status, body) = app.check_in(&player, &hunt, 0.5, 100.5, 10.0).await;
    assert_eq!(
        (status, body["verdict"].clone()),
        (StatusCode::OK, json!("nothing_here")),
        "the hole is not part of it: {body}"
    );
    let (_, body) = app.check_in(&player, &hunt, 0.1, 100.1, 10.0).await;
    assert_eq!(body["verdict"], json!("found"), "between the rings: {body}");

    // The antimeridian multipolygon is one target on both sides of 180°.
    let split = read_json("geojson-rfc7946/s3.1.9_antimeridian_multipolygon.geojson");
    let hunt = app.draft_hunt(&staff, split.clone(), json!({})).await;
    let ids = app.import(&staff, &hunt, importable(split, "split")).await;
    app.publish(&staff, &hunt).await;
    let (ana, bob) = (
        app.player_in_team(&hunt).await,
        app.player_in_team(&hunt).await,
    );
    let (_, body) = app.check_in(&ana, &hunt, 45.0, 179.9, 10.0).await;
    assert_eq!(
        body["verdict"],
        json!("found"),
        "west of the antimeridian: {body}"
    );
    assert_eq!(body["targets"][0]["id"], json!(ids[0]));
    let (_, body) = app.check_in(&bob, &hunt, 45.0, -179.9, 10.0).await;
    assert_eq!(
        body["verdict"],
        json!("found"),
        "east of the antimeridian: {body}"
    );
    assert_eq!(body["targets"][0]["id"], json!(ids[0]));
    let (_, body) = app.check_in(&bob, &hunt, 45.0, 0.0, 10.0).await;
    assert_eq!(
        body["verdict"],
        json!("nothing_here"),
        "the other side of the world: {body}"
    );
}

/// The arrondissements with a `name` (their official name) added.
fn arrondissements() -> Value {
    let mut doc = read_json("paris/arrondissements.geojson");
    for f in doc["features"].as_array_mut().unwrap() {
        let name = format!(
            "{} ({})",
            f["properties"]["l_aroff"].as_str().unwrap(),
            f["properties"]["c_ar"]
        );
        f["properties"]["name"] = json!(name);
    }
    doc
}

#[tokio::test]
async fn the_paris_arrondissements_import_and_a_check_in_at_the_louvre_finds_the_1st() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;

    // Without names the document is refused whole, at its first feature.
    let (status, body) = app
        .post(
            &format!("/v1/hunts/{hunt}/targets/import"),
            Some(&staff.token),
            read_json("paris/arrondissements.geojson"),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_geojson")),
        "{body}"
    );
    assert_eq!(body["details"]["feature_index"], json!(0));
    assert_eq!(app.count("targets").await, 0);

    let ids = app.import(&staff, &hunt, arrondissements()).await;
    assert_eq!(ids.len(), 20);
    let targets = targets_of(&app, &staff, &hunt).await;
    assert_eq!(targets.len(), 20);
    assert!(targets.iter().all(|t| t["kind"] == json!("polygon")));
    app.publish(&staff, &hunt).await;

    // The rings are clockwise: read as drawn, each is one arrondissement, not the rest of the Earth.
    let player = app.player_in_team(&hunt).await;
    let (status, body) = app.check_in(&player, &hunt, 48.8606, 2.3376, 10.0).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["verdict"], json!("found"), "{body}");
    let found: Vec<&str> = body["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(found, ["Louvre (1)"], "{body}");
    assert_eq!(body["team_score"], json!(1));

    // The Eiffel Tower is in the 7th; Notre-Dame on the Île de la Cité is in the 4th.
    let (_, body) = app.check_in(&player, &hunt, 48.85837, 2.29448, 10.0).await;
    assert_eq!(
        body["targets"][0]["name"],
        json!("Palais-Bourbon (7)"),
        "{body}"
    );
    let (_, body) = app.check_in(&player, &hunt, 48.85296, 2.34990, 10.0).await;
    assert_eq!(
        body["targets"][0]["name"],
        json!("Hôtel-de-Ville (4)"),
        "{body}"
    );
    // Outside Paris (Boulogne-Billancourt town hall) nothing is found.
    let (_, body) = app.check_in(&player, &hunt, 48.8353, 2.2410, 10.0).await;
    assert_eq!(body["verdict"], json!("nothing_here"), "{body}");
}
