//! Invalid polygons (issue 9, item 6): every known invalid shape is refused as a target (into a
//! draft and into a published hunt) and as a hunt area (create and PATCH), with every offending
//! feature, part and ring listed and nothing stored; valid shapes a lon/lat check would misjudge
//! (antimeridian, pole, a third of the globe, a hole touching its shell once) are accepted.

use reqwest::Method;
use serde_json::{Value, json};

use super::*;
use crate::support::*;

/// A closed ring from `(lon, lat)` positions.
fn ring(coords: &[(f64, f64)]) -> Value {
    let mut positions: Vec<Value> = coords.iter().map(|&(lon, lat)| json!([lon, lat])).collect();
    positions.push(positions[0].clone());
    Value::Array(positions)
}

fn square(lon: f64, lat: f64, side: f64) -> Value {
    ring(&[
        (lon, lat),
        (lon + side, lat),
        (lon + side, lat + side),
        (lon, lat + side),
    ])
}

fn polygon(rings: Vec<Value>) -> Value {
    json!({"type": "Polygon", "coordinates": rings})
}

fn feature(name: &str, geometry: Value) -> Value {
    json!({"type": "Feature", "geometry": geometry, "properties": {"name": name}})
}

/// The invalid shapes, all inside the Paris area, each with a word its reason must contain.
fn invalid_shapes() -> Vec<(&'static str, Value, &'static str)> {
    let (lon, lat) = (2.33, 48.86);
    let shell = square(lon, lat, 0.01);
    vec![
        (
            "a bowtie",
            polygon(vec![ring(&[
                (lon, lat),
                (lon + 0.01, lat + 0.01),
                (lon + 0.01, lat),
                (lon, lat + 0.01),
            ])]),
            "crosses or touches itself",
        ),
        (
            "a hole outside its shell",
            polygon(vec![shell.clone(), square(lon + 0.02, lat, 0.003)]),
            "not inside the exterior ring",
        ),
        (
            "a hole crossing its shell",
            polygon(vec![shell.clone(), square(lon + 0.005, lat + 0.005, 0.01)]),
            "cross",
        ),
        (
            "overlapping holes",
            polygon(vec![
                shell.clone(),
                square(lon + 0.001, lat + 0.001, 0.004),
                square(lon + 0.003, lat + 0.003, 0.004),
            ]),
            "cross",
        ),
        (
            // Along a meridian, a great circle: exactly on one line on the sphere too.
            "a zero-area ring",
            polygon(vec![ring(&[
                (lon, lat),
                (lon, lat + 0.01),
                (lon, lat + 0.02),
            ])]),
            "zero area",
        ),
        (
            "a spike",
            polygon(vec![ring(&[
                (lon, lat),
                (lon + 0.01, lat),
                (lon + 0.02, lat),
                (lon + 0.01, lat),
                (lon + 0.01, lat + 0.01),
            ])]),
            "spike",
        ),
        (
            "a ring revisiting a vertex",
            polygon(vec![ring(&[
                (lon, lat),
                (lon + 0.02, lat),
                (lon + 0.01, lat + 0.01),
                (lon + 0.02, lat + 0.02),
                (lon, lat + 0.02),
                (lon + 0.01, lat + 0.01),
            ])]),
            "touches itself",
        ),
        (
            "a ring of 3 positions",
            json!({"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.01, lat], [lon, lat]]]}),
            "at least 4 positions",
        ),
        (
            "a ring of 2 distinct positions repeated",
            json!({"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat], [lon, lat]]]}),
            "3 distinct positions",
        ),
        (
            "an unclosed ring",
            json!({"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat + 0.01]]]}),
            "closed",
        ),
        (
            "overlapping MultiPolygon parts",
            json!({"type": "MultiPolygon", "coordinates": [[shell.clone()], [square(lon + 0.005, lat + 0.005, 0.01)]]}),
            "parts 0 and 1 overlap",
        ),
    ]
}

/// Every problem listed in a refusal's `details.errors`, as (feature_index, reason).
fn listed(body: &Value) -> Vec<(Value, String)> {
    body["details"]["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("details.errors is a list: {body}"))
        .iter()
        .map(|e| {
            (
                e["feature_index"].clone(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_invalid_polygon_is_refused_into_a_draft_and_a_published_hunt_listing_every_bad_feature()
 {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let draft = app.draft_hunt(&staff, paris_area(), json!({})).await;
    let (owner, published, _) = live_hunt(&app, json!({})).await;
    let shapes = invalid_shapes();
    for (staff, hunt) in [(&staff, &draft), (&owner, &published)] {
        // One document: a good circle, then each bad shape followed by a good polygon.
        let mut features = vec![circle("good circle", 48.85, 2.35, 20.0, 1)];
        let mut bad_at = Vec::new();
        for (case, geometry, _) in &shapes {
            bad_at.push(features.len());
            features.push(feature(case, geometry.clone()));
            features.push(feature("good square", rect(2.30, 48.84, 2.301, 48.841)));
        }
        let path = format!("/v1/hunts/{hunt}/targets/import");
        let request = app.post(&path, Some(&staff.token), collection(features));
        let body = refuse(
            &app,
            "every invalid shape at once",
            request,
            INVALID_GEOJSON,
        )
        .await;
        let problems = listed(&body);
        let mut indexes: Vec<u64> = problems.iter().map(|(i, _)| i.as_u64().unwrap()).collect();
        indexes.dedup();
        assert_eq!(
            indexes,
            bad_at.iter().map(|&i| i as u64).collect::<Vec<_>>(),
            "{body}"
        );
        assert_eq!(
            body["details"]["error_count"],
            json!(problems.len()),
            "{body}"
        );
        // The first one stays at the top level, as clients read it before.
        assert_eq!(body["details"]["feature_index"], json!(bad_at[0]), "{body}");
        assert_eq!(body["details"]["reason"], json!(problems[0].1), "{body}");
        for ((case, _, words), at) in shapes.iter().zip(&bad_at) {
            assert!(
                problems
                    .iter()
                    .any(|(i, r)| *i == json!(at) && r.contains(words)),
                "{case}: a reason saying {words:?} at {at}, got {problems:?}"
            );
        }

        // Each alone through the single-target endpoint: refused the same way.
        for (case, geometry, words) in &shapes {
            let single = format!("/v1/hunts/{hunt}/targets");
            let request = app.post(&single, Some(&staff.token), feature(case, geometry.clone()));
            let body = refuse(&app, case, request, INVALID_GEOJSON).await;
            assert!(
                body["details"]["reason"].as_str().unwrap().contains(words),
                "{case}: {body}"
            );
            assert_eq!(body["details"]["feature_index"], json!(0), "{case}: {body}");
        }
    }
}

#[tokio::test]
async fn a_target_changed_into_an_invalid_polygon_is_refused_and_kept_as_it_was() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
    let square = feature("square", rect(2.33, 48.86, 2.34, 48.87));
    let ids = app.import(&staff, &hunt, collection(vec![square])).await;
    let list = format!("/v1/hunts/{hunt}/targets");
    let (_, before) = app.get(&list, Some(&staff.token)).await;
    let path = format!("/v1/hunts/{hunt}/targets/{}", ids[0]);
    for (case, geometry, words) in invalid_shapes() {
        let patch = json!({"geometry": geometry});
        let request = app.send(Method::PATCH, &path, Some(&staff.token), Some(patch));
        let body = refuse(&app, case, request, INVALID_GEOJSON).await;
        assert!(
            body["details"]["reason"].as_str().unwrap().contains(words),
            "{case}: {body}"
        );
        assert_eq!(
            body["details"]["errors"][0]["feature_index"],
            json!(0),
            "{case}: {body}"
        );
    }
    assert_eq!(app.get(&list, Some(&staff.token)).await.1, before);
}

#[tokio::test]
async fn a_feature_without_its_properties_member_is_refused() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
    let bare = json!({"type": "Feature", "geometry": rect(2.30, 48.84, 2.301, 48.841)});
    let path = format!("/v1/hunts/{hunt}/targets/import");
    let request = app.post(&path, Some(&staff.token), collection(vec![bare]));
    let body = refuse(&app, "no properties member", request, INVALID_GEOJSON).await;
    assert!(
        body["details"]["reason"]
            .as_str()
            .unwrap()
            .contains("\"properties\""),
        "{body}"
    );
}

#[tokio::test]
async fn invalid_hunt_areas_are_refused_on_create_and_on_patch_naming_each_part_and_ring() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    for (case, area, words) in invalid_shapes() {
        let request = app.post("/v1/hunts", Some(&staff.token), hunt_body(area, json!({})));
        let body = refuse(&app, case, request, INVALID_GEOJSON).await;
        let reason = body["details"]["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("area: ") && reason.contains(words),
            "{case}: {body}"
        );
        assert_eq!(
            body["details"]["feature_index"],
            Value::Null,
            "{case}: {body}"
        );
    }

    // Two bad parts: both listed, each with its part and ring.
    let bowtie = ring(&[(2.30, 48.85), (2.31, 48.86), (2.31, 48.85), (2.30, 48.86)]);
    let holed = vec![square(2.40, 48.85, 0.01), square(2.43, 48.85, 0.001)];
    let area = json!({"type": "MultiPolygon", "coordinates": [[bowtie], holed]});
    let request = app.post(
        "/v1/hunts",
        Some(&staff.token),
        hunt_body(area.clone(), json!({})),
    );
    let body = refuse(&app, "two bad parts", request, INVALID_GEOJSON).await;
    let at: Vec<(Value, Value)> = body["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["part"].clone(), e["ring"].clone()))
        .collect();
    assert_eq!(at, [(json!(0), json!(0)), (json!(1), json!(1))], "{body}");

    // A PATCH of the area, on a draft and on a live hunt, is refused and changes nothing.
    let draft = app.draft_hunt(&staff, paris_area(), json!({})).await;
    let (owner, live, _) = live_hunt(&app, json!({})).await;
    for (staff, hunt) in [(&staff, &draft), (&owner, &live)] {
        let path = format!("/v1/hunts/{hunt}");
        let (_, before) = app.get(&path, Some(&staff.token)).await;
        let patch = json!({"area": area});
        let request = app.send(Method::PATCH, &path, Some(&staff.token), Some(patch));
        let body = refuse(&app, "a PATCH to an invalid area", request, INVALID_GEOJSON).await;
        assert_eq!(
            body["details"]["errors"].as_array().unwrap().len(),
            2,
            "{body}"
        );
        assert_eq!(app.get(&path, Some(&staff.token)).await.1, before);
    }
}

#[tokio::test]
async fn valid_shapes_across_the_antimeridian_around_a_pole_and_a_third_of_the_globe_are_accepted()
{
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    // A triangle spanning 120 degrees of longitude: the mean of its vertices is 89.5 degrees from
    // one of them, yet it lies well inside a hemisphere.
    let third = polygon(vec![ring(&[(0.0, 0.0), (120.0, 10.0), (120.0, -10.0)])]);
    let (status, body) = app
        .post(
            "/v1/hunts",
            Some(&staff.token),
            hunt_body(third.clone(), json!({})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a third of the globe as an area: {body}"
    );
    let hunt = body["id"].as_str().unwrap().to_owned();

    let fiji = ring(&[
        (179.5, -17.0),
        (-179.5, -17.0),
        (-179.5, -16.0),
        (179.5, -16.0),
    ]);
    let north: Vec<(f64, f64)> = (0..8)
        .map(|k| (f64::from(k) * 45.0 - 180.0, 85.0))
        .collect();
    let cut = json!({"type": "MultiPolygon", "coordinates": [
        [ring(&[(180.0, 40.0), (180.0, 50.0), (170.0, 50.0), (170.0, 40.0)])],
        [ring(&[(-170.0, 40.0), (-170.0, 50.0), (-180.0, 50.0), (-180.0, 40.0)])],
    ]});
    // A hole touching its shell at one point (OGC allows it): on the shell's west edge, a meridian.
    let touching = polygon(vec![
        square(10.0, 10.0, 1.0),
        ring(&[(10.0, 10.5), (10.5, 10.2), (10.8, 10.5), (10.5, 10.8)]),
    ]);
    let doc = collection(vec![
        feature("across the antimeridian", polygon(vec![fiji])),
        feature("around the north pole", polygon(vec![ring(&north)])),
        feature("cut at the antimeridian", cut),
        feature("hole touching its shell", touching),
        feature("a third of the globe", third),
    ]);
    let ids = app.import(&staff, &hunt, doc).await;
    assert_eq!(ids.len(), 5);
}

#[tokio::test]
async fn a_check_in_in_a_disjoint_hole_can_no_longer_score() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
    // The shell near the Louvre, its "hole" 700 m east: even-odd would make the hole a second area.
    let disjoint = polygon(vec![square(2.33, 48.86, 0.005), square(2.34, 48.86, 0.002)]);
    let path = format!("/v1/hunts/{hunt}/targets/import");
    let doc = collection(vec![feature("disjoint hole", disjoint)]);
    let request = app.post(&path, Some(&staff.token), doc);
    refuse(&app, "a disjoint hole", request, INVALID_GEOJSON).await;
    app.import(
        &staff,
        &hunt,
        collection(vec![circle("elsewhere", 48.85, 2.30, 20.0, 1)]),
    )
    .await;
    app.publish(&staff, &hunt).await;
    let player = app.player_in_team(&hunt).await;
    let (status, body) = app.check_in(&player, &hunt, 48.861, 2.341, 5.0).await;
    assert_eq!(
        (status, body["verdict"].clone()),
        (StatusCode::OK, json!("nothing_here")),
        "{body}"
    );
}

#[tokio::test]
async fn a_draft_holding_an_invalid_shape_stored_before_validation_cannot_be_published() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
    let ids = app
        .import(
            &staff,
            &hunt,
            collection(vec![feature("square", rect(2.33, 48.86, 2.34, 48.87))]),
        )
        .await;
    // What an import accepted before validity was checked: a bowtie.
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    diesel::sql_query(format!(
        "update targets set geom = st_geogfromtext('MULTIPOLYGON(((2.33 48.86, 2.34 48.87, \
         2.34 48.86, 2.33 48.87, 2.33 48.86)))') where id = '{}'",
        ids[0]
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let (status, body) = app
        .post(
            &format!("/v1/hunts/{hunt}/publish"),
            Some(&staff.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::CONFLICT, json!("not_publishable")),
        "{body}"
    );
    assert_eq!(body["details"]["target_id"], json!(ids[0]), "{body}");
}
