//! The contract check every API test runs (`support::contract_check`) refuses what breaks the
//! OpenAPI document: an undocumented status, a body breaking its schema, an unlisted error code;
//! and what the server refuses, the document refuses too.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

/// A checker built from the real document, fed responses that break it.
#[test]
fn the_contract_check_refuses_an_undocumented_status_a_body_breaking_its_schema_and_an_unlisted_code()
 {
    use reqwest::Method;
    let contract = contract_check::contract();
    let headers = |pairs: &[(&'static str, &str)]| {
        let mut h = reqwest::header::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    };
    let json_type = headers(&[("content-type", "application/json")]);
    let check = |method: Method,
                 path: &str,
                 status: u16,
                 h: &reqwest::header::HeaderMap,
                 body: serde_json::Value| {
        let bytes = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        contract.check(
            &method,
            path,
            StatusCode::from_u16(status).unwrap(),
            h,
            &bytes,
        )
    };
    let player = json!({"player_id": uuid::Uuid::new_v4(), "token": "nfp_abc"});
    // What the server does passes.
    check(Method::POST, "/v1/players", 201, &json_type, player.clone()).unwrap();
    let error = |code: &str| json!({"code": code, "message": "m", "details": null});
    check(
        Method::POST,
        "/v1/players",
        409,
        &json_type,
        error("handle_taken"),
    )
    .unwrap();
    check(Method::GET, "/v1/nope", 404, &json_type, error("not_found")).unwrap();

    let refused = [
        (
            "an undocumented status",
            check(
                Method::GET,
                &format!("/v1/hunts/{}", uuid::Uuid::new_v4()),
                418,
                &json_type,
                error("internal"),
            ),
        ),
        (
            "a malformed id",
            check(
                Method::POST,
                "/v1/players",
                201,
                &json_type,
                json!({"player_id": "42", "token": "nfp_abc"}),
            ),
        ),
        (
            "a missing member",
            check(
                Method::POST,
                "/v1/players",
                201,
                &json_type,
                json!({"player_id": uuid::Uuid::new_v4()}),
            ),
        ),
        (
            "a member the document does not name",
            check(Method::POST, "/v1/players", 201, &json_type, {
                let mut p = player.clone();
                p["secret"] = json!(1);
                p
            }),
        ),
        (
            "a code the operation does not list",
            check(
                Method::POST,
                "/v1/players",
                409,
                &json_type,
                error("team_full"),
            ),
        ),
        (
            "a code no one knows",
            check(
                Method::POST,
                "/v1/players",
                409,
                &json_type,
                error("whatever"),
            ),
        ),
        (
            "a 429 without Retry-After",
            check(
                Method::POST,
                "/v1/players",
                429,
                &json_type,
                error("rate_limited"),
            ),
        ),
        (
            "another content type",
            check(
                Method::POST,
                "/v1/players",
                201,
                &headers(&[("content-type", "text/plain")]),
                player.clone(),
            ),
        ),
        (
            "a body where none is documented",
            check(
                Method::POST,
                &format!("/v1/hunts/{}/pause", uuid::Uuid::new_v4()),
                204,
                &json_type,
                json!({}),
            ),
        ),
        (
            "an unknown path answered 200",
            check(Method::GET, "/v1/nope", 200, &json_type, json!({})),
        ),
        (
            "a known path with an unknown method answered 404",
            check(
                Method::PUT,
                "/v1/players",
                404,
                &json_type,
                error("not_found"),
            ),
        ),
    ];
    for (case, verdict) in refused {
        assert!(verdict.is_err(), "{case} passed the check");
    }
    // And a request the server accepted must fit its schema.
    let ok = contract.check_request(&Method::POST, "/v1/players", &json!({"handle": "ana"}));
    assert!(ok.is_ok(), "{ok:?}");
    let bad = contract.check_request(&Method::POST, "/v1/players", &json!({"handle": ""}));
    assert!(bad.is_err(), "an empty handle passed the request schema");
}

/// What the issue found refused with no schema saying so: each of these requests is refused by
/// the server (400) and by the document's request schema (or its parameter's bounds).
#[tokio::test]
async fn requests_the_server_refuses_are_refused_by_the_document_too() {
    use reqwest::Method;
    let app = TestApp::spawn().await;
    let w = crate::input::World::new(&app).await;
    let fresh = app.player().await;
    let contract = contract_check::contract();
    let now = chrono::Utc::now();
    let hunt_body = |live_at: chrono::DateTime<chrono::Utc>, ends_at| {
        json!({"title": "T", "city": "Paris", "area": paris_area(), "teaser_at": live_at,
            "live_at": live_at, "ends_at": ends_at})
    };
    let cases: Vec<(&str, String, Option<&str>, serde_json::Value)> = vec![
        (
            "an empty handle",
            "/v1/players".into(),
            None,
            json!({"handle": ""}),
        ),
        (
            "an empty team name",
            format!("/v1/hunts/{}/teams", w.hunt),
            Some(&fresh.token),
            json!({"name": ""}),
        ),
        (
            "a blank team name",
            format!("/v1/hunts/{}/teams", w.hunt),
            Some(&fresh.token),
            json!({"name": "   "}),
        ),
        (
            "an empty broadcast",
            format!("/v1/hunts/{}/broadcast", w.hunt),
            Some(&w.gm.token),
            json!({"message": ""}),
        ),
        (
            "a check-in with accuracy_m 0",
            format!("/v1/hunts/{}/checkins", w.hunt),
            Some(&w.player.token),
            checkin_body(48.852968, 2.349902, 0.0, now),
        ),
        (
            "a clue with two rules",
            format!("/v1/hunts/{}/clues", w.hunt),
            Some(&w.owner.token),
            json!({"text": "x", "rule": {"at": now, "cost": 1}}),
        ),
        (
            "a clue with no rule",
            format!("/v1/hunts/{}/clues", w.hunt),
            Some(&w.owner.token),
            json!({"text": "x", "rule": {}}),
        ),
        (
            "a clue costing nothing",
            format!("/v1/hunts/{}/clues", w.hunt),
            Some(&w.owner.token),
            json!({"text": "x", "rule": {"cost": 0}}),
        ),
        (
            "a short password",
            "/v1/staff".into(),
            Some(&w.owner.token),
            json!({"email": "e@brand.example", "password": "short", "role": "editor"}),
        ),
        (
            "a zero team size",
            "/v1/hunts".into(),
            Some(&w.owner.token),
            {
                let mut h = hunt_body(now, now + chrono::Duration::days(1));
                h["rules"] = json!({"team_max_size": 0});
                h
            },
        ),
    ];
    for (case, path, token, body) in cases {
        let (status, answer) = app
            .send(Method::POST, &path, token, Some(body.clone()))
            .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{case}: the server took it: {answer}"
        );
        assert!(
            contract.check_request(&Method::POST, &path, &body).is_err(),
            "{case}: the document allows it"
        );
    }
    // What a schema cannot say is in the description: live_at must come before ends_at.
    let (status, _) = app
        .post("/v1/hunts", Some(&w.owner.token), hunt_body(now, now))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let doc: serde_json::Value = serde_json::from_str(&nenufar::http::openapi_json()).unwrap();
    let described = doc["components"]["schemas"]["CreateHuntRequest"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(described.contains("live_at < ends_at"), "{described}");
    // Query parameters carry their bounds: limit=0 is refused by both.
    let url = format!("/v1/hunts/{}/leaderboard?limit=0", w.hunt);
    let (status, _) = app.get(&url, Some(&w.player.token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let params = &doc["paths"]["/v1/hunts/{hunt_id}/leaderboard"]["get"]["parameters"];
    let limit = params
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == json!("limit"))
        .unwrap();
    assert_eq!(
        (limit["in"].as_str(), limit["schema"]["minimum"].as_i64()),
        (Some("query"), Some(1))
    );
}
