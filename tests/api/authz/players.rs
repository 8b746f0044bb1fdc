//! Players and staff keep to their own routes: a player gets 403 on every staff route, a staff
//! token 403 on every player route, and neither attempt changes anything.

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::*;
use crate::support::*;

#[tokio::test]
async fn players_get_403_on_every_staff_route() {
    let app = TestApp::spawn().await;
    let owner = app.staff().await;
    let hunt = app.draft_hunt(&owner, paris_area(), json!({})).await;
    let ids = app
        .import(
            &owner,
            &hunt,
            collection(vec![circle("Panthéon", 48.846222, 2.346414, 30.0, 1)]),
        )
        .await;
    let bastille = circle("Bastille", 48.853207, 2.369091, 30.0, 1);
    let published = published_hunt(&app, &owner, json!({}), bastille).await;
    let player = app.player_in_team(&published).await;
    let (_, original) = app
        .get(&format!("/v1/hunts/{hunt}"), Some(&owner.token))
        .await;
    let tables = ["hunts", "targets", "staff"];
    let before = counts(&app, &tables).await;

    let mut attempts = hunt_routes(
        &hunt,
        &ids[0],
        json!({"title": "mine now"}),
        json!({"points": 100}),
    );
    attempts.extend([
        (
            "POST /v1/hunts",
            Method::POST,
            "/v1/hunts".into(),
            Some(hunt_body()),
        ),
        ("GET /v1/hunts", Method::GET, "/v1/hunts".into(), None),
        (
            "GET a published hunt",
            Method::GET,
            format!("/v1/hunts/{published}"),
            None,
        ),
        (
            "list targets of the published hunt",
            Method::GET,
            format!("/v1/hunts/{published}/targets"),
            None,
        ),
        (
            "POST /v1/staff",
            Method::POST,
            "/v1/staff".into(),
            Some(
                json!({"email": "sneaky@brand.example", "password": "a long enough password", "role": "owner"}),
            ),
        ),
    ]);
    for (case, method, path, body) in attempts {
        let answer = app.send(method, &path, Some(&player.token), body).await;
        assert_code(case, &answer, FORBIDDEN);
        for coordinate in ["48.846222", "2.346414", "48.853207", "2.369091"] {
            assert!(
                !answer.1.to_string().contains(coordinate),
                "{case}: {}",
                answer.1
            );
        }
    }
    let (_, now) = app
        .get(&format!("/v1/hunts/{hunt}"), Some(&owner.token))
        .await;
    assert_eq!(now, original, "the hunt did not change");
    assert_eq!(counts(&app, &tables).await, before, "{tables:?}");
}

#[tokio::test]
async fn staff_get_403_on_player_routes() {
    let app = TestApp::spawn().await;
    let owner = app.staff().await;
    let invalides = circle("Invalides", 48.855, 2.3125, 40.0, 1);
    let hunt = published_hunt(&app, &owner, json!({}), invalides).await;
    let captain = app.player().await;
    let (status, team) = create_team(&app, &hunt, &captain, "captains").await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let tables = ["checkins", "teams", "team_members"];
    let before = counts(&app, &tables).await;

    let attempts: Vec<Attempt> = vec![
        (
            "check in",
            Method::POST,
            format!("/v1/hunts/{hunt}/checkins"),
            Some(checkin_body(48.855, 2.3125, 5.0, Utc::now())),
        ),
        (
            "create a team",
            Method::POST,
            format!("/v1/hunts/{hunt}/teams"),
            Some(json!({"name": "staff team"})),
        ),
        (
            "join a team",
            Method::POST,
            "/v1/teams/join".into(),
            Some(json!({"invite_code": team["invite_code"]})),
        ),
        (
            "read progress",
            Method::GET,
            format!("/v1/hunts/{hunt}/progress"),
            None,
        ),
        (
            "search nearby",
            Method::GET,
            "/v1/hunts/nearby?lat=48.85&lon=2.35&radius_m=5000".into(),
            None,
        ),
    ];
    for (case, method, path, body) in attempts {
        let answer = app.send(method, &path, Some(&owner.token), body).await;
        assert_code(case, &answer, FORBIDDEN);
    }
    assert_eq!(counts(&app, &tables).await, before, "{tables:?}");
}
