//! GeoJSON documents may carry foreign members (RFC 7946 section 6.1): they are ignored. A
//! target's properties beyond `name`, `points`, `radius_m` and `prerequisites` are the brand's
//! metadata: kept (bounded), shown to staff, never in anything a player receives.

use reqwest::Method;
use serde_json::json;

use super::*;
use crate::live::{connect, next, send};
use crate::support::*;

/// A marker no player answer may contain.
const SECRET: &str = "BRAND-CODE-7731";

#[tokio::test]
async fn foreign_members_are_ignored_and_extra_properties_are_staff_only_metadata() {
    let app = TestApp::spawn().await;
    let owner = app.staff().await;
    let hunt = app.draft_hunt(&owner, paris_area(), json!({})).await;
    let doc = json!({
        "type": "FeatureCollection",
        "name": "Paris drop", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "bbox": [2.2, 48.8, 2.5, 48.93],
        "features": [{
            "type": "Feature", "id": "nd-1", "title": "foreign member",
            "geometry": {"type": "Point", "coordinates": [2.349902, 48.852968], "extra": true},
            "properties": {"name": "Notre-Dame", "radius_m": 40, "points": 3,
                "voucher": SECRET, "reward": {"kind": "tote bag", "stock": 40}, "tags": ["gothic", "island"]},
        }],
    });
    let ids = app.import(&owner, &hunt, doc).await;
    let (status, page) = app
        .get(&format!("/v1/hunts/{hunt}/targets"), Some(&owner.token))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let target = &page["targets"][0];
    assert_eq!(
        target["metadata"],
        json!({"voucher": SECRET, "reward": {"kind": "tote bag", "stock": 40}, "tags": ["gothic", "island"]}),
        "{target}"
    );
    // A change of the target keeps its metadata; `metadata` in a patch merges (null removes).
    let patch = format!("/v1/hunts/{hunt}/targets/{}", ids[0]);
    let (status, t) = app
        .send(
            Method::PATCH,
            &patch,
            Some(&owner.token),
            Some(json!({"points": 4, "metadata": {"tags": null, "floor": 2}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(
        t["metadata"],
        json!({"voucher": SECRET, "reward": {"kind": "tote bag", "stock": 40}, "floor": 2})
    );
    app.publish(&owner, &hunt).await;

    // A player finds it: nothing they receive carries the metadata.
    let player = app.player_in_team(&hunt).await;
    let mut ws = connect(&app, &player.token).await;
    send(
        &mut ws,
        json!({"type": "subscribe", "hunt_id": hunt, "after": 0}),
    )
    .await;
    let (status, found) = app.check_in(&player, &hunt, 48.852968, 2.349902, 5.0).await;
    assert_eq!(
        (status, found["verdict"].as_str()),
        (StatusCode::OK, Some("found")),
        "{found}"
    );
    let mut seen = vec![found];
    for path in [
        format!("/v1/hunts/{hunt}/progress"),
        format!("/v1/hunts/{hunt}/clues"),
        format!("/v1/hunts/{hunt}/leaderboard"),
        "/v1/hunts/nearby?lat=48.85&lon=2.35".to_owned(),
    ] {
        let (status, body) = app.get(&path, Some(&player.token)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        seen.push(body);
    }
    while let Some(m) = next(&mut ws, std::time::Duration::from_millis(1500)).await {
        seen.push(m);
    }
    assert!(
        seen.iter().any(|m| m["kind"] == json!("target_found")),
        "the find arrived: {seen:?}"
    );
    for m in &seen {
        let text = m.to_string();
        assert!(
            !text.contains(SECRET) && !text.contains("tote bag"),
            "a player saw metadata: {text}"
        );
    }
}

#[tokio::test]
async fn metadata_is_bounded_and_must_be_json_the_server_can_store() {
    let app = TestApp::spawn().await;
    let owner = app.staff().await;
    let hunt = app.draft_hunt(&owner, paris_area(), json!({})).await;
    let mut big = circle("Big", 48.86, 2.34, 20.0, 1);
    for i in 0..40 {
        big["properties"][format!("field_{i}")] = json!("x".repeat(200));
    }
    let before = snapshot(&app).await;
    let (status, body) = app
        .post(
            &format!("/v1/hunts/{hunt}/targets/import"),
            Some(&owner.token),
            collection(vec![big]),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_geojson")),
        "{body}"
    );
    assert_eq!(body["details"]["feature_index"], json!(0), "{body}");
    assert_eq!(snapshot(&app).await, before);
}
