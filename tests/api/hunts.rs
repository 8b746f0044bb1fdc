//! Hunts: create, read, change, publish rules, and the nearby search.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_brand_creates_imports_publishes_and_a_player_finds_it_nearby() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
    let (status, body) = app
        .get(&format!("/v1/hunts/{hunt}"), Some(&staff.token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (body["status"].as_str(), body["phase"].as_str()),
        (Some("draft"), Some("live"))
    );
    assert_eq!(
        body["rules"],
        json!({"accuracy_policy": "centre", "max_accuracy_m": 50.0, "team_max_size": 6,
            "checkin_interval_s": 5.0, "checkin_burst": 5})
    );

    let player = app.player().await;
    let near = "/v1/hunts/nearby?lat=48.8584&lon=2.2945&radius_m=2000";
    let (_, body) = app.get(near, Some(&player.token)).await;
    assert_eq!(body["hunts"], json!([]), "a draft is invisible to players");

    app.import(
        &staff,
        &hunt,
        collection(vec![circle("Tour Eiffel", 48.85837, 2.29448, 40.0, 5)]),
    )
    .await;
    app.publish(&staff, &hunt).await;
    let (status, body) = app.get(near, Some(&player.token)).await;
    assert_eq!(status, StatusCode::OK);
    let hunts = body["hunts"].as_array().unwrap();
    assert_eq!(hunts.len(), 1);
    assert_eq!(hunts[0]["id"], json!(hunt));
    assert_eq!(hunts[0]["phase"], json!("live"));
    assert_eq!(hunts[0]["bbox"], json!([2.2, 48.8, 2.5, 48.93]));
    assert!(
        !body.to_string().contains("2.29448"),
        "no target position in the nearby answer"
    );

    let (_, far) = app
        .get(
            "/v1/hunts/nearby?lat=45.76&lon=4.83&radius_m=50000",
            Some(&player.token),
        )
        .await;
    assert_eq!(
        far["hunts"],
        json!([]),
        "Lyon is farther than 50 km from the Paris area"
    );
}

#[tokio::test]
async fn publishing_checks_targets_schedule_and_area() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
    let (status, body) = app
        .post(
            &format!("/v1/hunts/{hunt}/publish"),
            Some(&staff.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_publishable")),
        "{body}"
    );

    app.import(
        &staff,
        &hunt,
        collection(vec![circle("Lyon", 45.76, 4.83, 40.0, 1)]),
    )
    .await;
    let (status, body) = app
        .post(
            &format!("/v1/hunts/{hunt}/publish"),
            Some(&staff.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_publishable")),
        "{body}"
    );
    assert!(body["details"]["target_id"].is_string());

    // A vertex exactly on the area boundary counts as inside.
    let hunt2 = app.draft_hunt(&staff, paris_area(), json!({})).await;
    app.import(
        &staff,
        &hunt2,
        collection(vec![circle("corner", 48.8, 2.2, 10.0, 1)]),
    )
    .await;
    app.publish(&staff, &hunt2).await;

    // An end in the past cannot be published.
    let hunt3 = app.draft_hunt(&staff, paris_area(), json!({})).await;
    app.import(
        &staff,
        &hunt3,
        collection(vec![circle("Eiffel", 48.85837, 2.29448, 40.0, 1)]),
    )
    .await;
    let past = Utc::now() - Duration::minutes(5);
    let (status, body) = app
        .send(reqwest::Method::PATCH, &format!("/v1/hunts/{hunt3}"), Some(&staff.token),
            Some(json!({"teaser_at": past - Duration::hours(2), "live_at": past - Duration::hours(1), "ends_at": past})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .post(
            &format!("/v1/hunts/{hunt3}/publish"),
            Some(&staff.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_publishable")),
        "{body}"
    );
}

#[tokio::test]
async fn an_area_may_span_a_region_and_cross_the_antimeridian() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let fiji = json!({"type": "MultiPolygon", "coordinates": [
        [[[177.0, -20.0], [180.0, -20.0], [180.0, -16.0], [177.0, -16.0], [177.0, -20.0]]],
        [[[-180.0, -20.0], [-178.0, -20.0], [-178.0, -16.0], [-180.0, -16.0], [-180.0, -20.0]]]]});
    let hunt = app.draft_hunt(&staff, fiji, json!({})).await;
    app.import(
        &staff,
        &hunt,
        collection(vec![
            circle("Suva", -18.1416, 178.4419, 100.0, 1),
            circle("east", -17.0, -179.0, 100.0, 1),
        ]),
    )
    .await;
    app.publish(&staff, &hunt).await;
    let europe = rect(-10.0, 35.0, 30.0, 60.0);
    app.draft_hunt(&staff, europe, json!({})).await;
}

#[tokio::test]
async fn patch_changes_fields_and_keeps_them_valid() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
    let path = format!("/v1/hunts/{hunt}");
    let (status, body) = app
        .send(reqwest::Method::PATCH, &path, Some(&staff.token), Some(json!({"title": "Nuit blanche", "rules": {"accuracy_policy": "lenient", "max_accuracy_m": 80}})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["title"], json!("Nuit blanche"));
    assert_eq!(body["rules"]["accuracy_policy"], json!("lenient"));
    let (status, body) = app
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(&staff.token),
            Some(json!({"rules": {"max_accuracy_m": 5000}})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (_, body) = app.get(&path, Some(&staff.token)).await;
    assert_eq!(
        body["rules"]["max_accuracy_m"],
        json!(80.0),
        "a refused change stores nothing"
    );
    let (_, list) = app.get("/v1/hunts", Some(&staff.token)).await;
    assert_eq!(list["hunts"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_demo_reuses_its_live_hunt_and_loads_a_new_one_when_it_is_about_to_end() {
    use nenufar::service::seed;
    let app = TestApp::spawn().await;
    let ctx = &app.state.ctx;
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/paris");
    let owner = seed::demo_owner(ctx).await.unwrap();
    let first = seed::demo_hunt(ctx, owner, &fixture).await.unwrap();
    let again = seed::demo_hunt(ctx, seed::demo_owner(ctx).await.unwrap(), &fixture)
        .await
        .unwrap();
    assert_eq!(first, again, "a restarted demo keeps its hunt");

    // Once the hunt has less than an hour to run, the next demo loads a fresh one.
    let staff = app
        .post(
            "/v1/staff/login",
            None,
            json!({"email": seed::DEMO_EMAIL, "password": seed::DEMO_PASSWORD}),
        )
        .await
        .1["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ends = (chrono::Utc::now() + chrono::Duration::minutes(30)).to_rfc3339();
    let (status, body) = app
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/hunts/{first}"),
            Some(&staff),
            Some(json!({"ends_at": ends})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let next = seed::demo_hunt(ctx, owner, &fixture).await.unwrap();
    assert_ne!(next, first);
}
