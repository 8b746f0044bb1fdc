//! Bad query strings and path parameters are `invalid_request`; unknown ids, invite codes and
//! routes are 404 and a wrong method is 405, all in the same envelope.

use chrono::Utc;
use reqwest::Method;
use serde_json::{Value, json};

use super::*;
use crate::support::*;

#[tokio::test]
async fn bad_query_and_path_parameters_are_invalid_request_and_unknown_ids_are_404() {
    let app = TestApp::spawn().await;
    let (staff, hunt, player) = live_hunt(&app, json!({})).await;
    let nearby = [
        ("latitude 91", "lat=91&lon=2.35&radius_m=1000"),
        ("longitude -181", "lat=48.85&lon=-181&radius_m=1000"),
        ("a radius of 50001 m", "lat=48.85&lon=2.35&radius_m=50001"),
        ("a zero radius", "lat=48.85&lon=2.35&radius_m=0"),
        ("a latitude that is a word", "lat=north&lon=2.35"),
        ("a missing longitude", "lat=48.85"),
        ("an infinite latitude", "lat=inf&lon=2.35"),
        ("a NaN latitude", "lat=NaN&lon=2.35"),
        ("an unknown parameter", "lat=48.85&lon=2.35&target=1"),
    ]
    .map(|(case, q)| (case, format!("/v1/hunts/nearby?{q}"), &player.token));
    let pages = [
        ("limit 0", "limit=0"),
        ("limit 10001", "limit=10001"),
        ("a word limit", "limit=all"),
        ("a forged cursor", "cursor=abc"),
    ]
    .map(|(case, q)| (case, format!("/v1/hunts/{hunt}/targets?{q}"), &staff.token));
    for (case, path, token) in nearby.into_iter().chain(pages) {
        assert_error(case, &app.get(&path, Some(token)).await, INVALID_REQUEST);
    }

    let fix = checkin_body(48.852968, 2.349902, 10.0, Utc::now());
    let (player, staff) = (Some(player.token.as_str()), Some(staff.token.as_str()));
    let cases: [(&str, Method, String, Option<&str>, Option<Value>, Want); 6] = [
        (
            "a check-in into a malformed hunt id",
            Method::POST,
            "/v1/hunts/not-a-uuid/checkins".into(),
            player,
            Some(fix.clone()),
            INVALID_REQUEST,
        ),
        (
            "a check-in into an unknown hunt",
            Method::POST,
            format!("/v1/hunts/{}/checkins", uuid::Uuid::new_v4()),
            player,
            Some(fix),
            NOT_FOUND,
        ),
        (
            "a malformed hunt id",
            Method::GET,
            "/v1/hunts/12345".into(),
            staff,
            None,
            INVALID_REQUEST,
        ),
        (
            "an unknown invite code",
            Method::POST,
            "/v1/teams/join".into(),
            player,
            Some(json!({"invite_code": "ZZZZZZZZ"})),
            NOT_FOUND,
        ),
        (
            "an unknown route",
            Method::GET,
            "/v1/no-such-route".into(),
            None,
            None,
            NOT_FOUND,
        ),
        (
            "a wrong method",
            Method::DELETE,
            "/v1/players".into(),
            None,
            None,
            METHOD_NOT_ALLOWED,
        ),
    ];
    for (case, method, path, token, body, want) in cases {
        refuse(&app, case, app.send(method, &path, token, body), want).await;
    }
}
