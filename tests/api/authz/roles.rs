//! Roles within one organisation: a game master reads but changes nothing, an editor builds hunts,
//! and only owners create staff.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::*;
use crate::support::*;

#[tokio::test]
async fn roles_decide_what_staff_of_one_organisation_may_do() {
    let app = TestApp::spawn().await;
    let owner = app.staff().await;
    let editor = colleague(&app, &owner, "editor").await;
    let gm = colleague(&app, &owner, "game_master").await;
    let hunt = app.draft_hunt(&owner, paris_area(), json!({})).await;

    // The game master reads, but changes nothing.
    let (status, body) = app.get(&format!("/v1/hunts/{hunt}"), Some(&gm.token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app
        .get(&format!("/v1/hunts/{hunt}/targets"), Some(&gm.token))
        .await;
    assert_eq!(status, StatusCode::OK);
    let hunts = app.count("hunts").await;
    let attempts: Vec<Attempt> = vec![
        (
            "a game master creating a hunt",
            Method::POST,
            "/v1/hunts".into(),
            Some(hunt_body()),
        ),
        (
            "a game master importing",
            Method::POST,
            format!("/v1/hunts/{hunt}/targets/import"),
            Some(collection(vec![circle("x", 48.86, 2.34, 20.0, 1)])),
        ),
        (
            "a game master changing a hunt",
            Method::PATCH,
            format!("/v1/hunts/{hunt}"),
            Some(json!({"title": "gm was here"})),
        ),
        (
            "a game master publishing",
            Method::POST,
            format!("/v1/hunts/{hunt}/publish"),
            Some(json!({})),
        ),
    ];
    for (case, method, path, body) in attempts {
        let answer = app.send(method, &path, Some(&gm.token), body).await;
        assert_code(case, &answer, FORBIDDEN);
    }
    assert_eq!(app.count("hunts").await, hunts);
    assert_eq!(app.count("targets").await, 0);

    // The editor builds hunts.
    let (status, body) = app
        .post("/v1/hunts", Some(&editor.token), hunt_body())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.import(
        &editor,
        &hunt,
        collection(vec![circle("Opéra", 48.871970, 2.331601, 30.0, 1)]),
    )
    .await;

    // Only owners create staff.
    let staff_rows = app.count("staff").await;
    for (who, token) in [("an editor", &editor.token), ("a game master", &gm.token)] {
        let email = format!("new-{}@brand.example", uuid::Uuid::new_v4().simple());
        let body = json!({"email": email, "password": "a long enough password", "role": "owner"});
        let answer = app.post("/v1/staff", Some(token), body).await;
        assert_code(&format!("{who} creating staff"), &answer, FORBIDDEN);
    }
    assert_eq!(app.count("staff").await, staff_rows);
}
