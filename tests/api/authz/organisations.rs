//! Organisations are sealed: staff of another organisation, whatever their role, get the same 404
//! as for a hunt that does not exist, see nothing of it in their listing, and change nothing.

use serde_json::json;

use super::*;
use crate::support::*;

#[tokio::test]
async fn staff_of_another_organisation_get_404_on_a_hunt_they_do_not_own() {
    let app = TestApp::spawn().await;
    let owner = app.staff().await;
    let rival = app.staff().await;
    assert_ne!(owner.org, rival.org);
    let hunt = app.draft_hunt(&owner, paris_area(), json!({})).await;
    let ids = app
        .import(
            &owner,
            &hunt,
            collection(vec![circle("Sacré-Cœur", 48.886705, 2.343104, 30.0, 2)]),
        )
        .await;
    let (_, original) = app
        .get(&format!("/v1/hunts/{hunt}"), Some(&owner.token))
        .await;
    let targets_before = app.count("targets").await;

    // What "not found" looks like for a hunt that does not exist at all: a rival must see the same.
    let ghost = uuid::Uuid::new_v4();
    let (_, unknown) = app
        .get(&format!("/v1/hunts/{ghost}"), Some(&rival.token))
        .await;
    assert_eq!(unknown["code"], json!("not_found"));

    let attempts = hunt_routes(
        &hunt,
        &ids[0],
        json!({"title": "Taken over"}),
        json!({"name": "Renamed"}),
    );
    for (case, method, path, body) in attempts {
        let answer = app.send(method, &path, Some(&rival.token), body).await;
        assert_code(case, &answer, NOT_FOUND);
        assert_eq!(
            answer.1["message"], unknown["message"],
            "{case}: the answer differs from an unknown hunt's"
        );
        assert!(
            !answer.1.to_string().contains("48.886705"),
            "{case}: {}",
            answer.1
        );
    }
    let (_, list) = app.get("/v1/hunts", Some(&rival.token)).await;
    assert_eq!(
        list["hunts"],
        json!([]),
        "a rival's listing shows nothing of ours"
    );

    // Nothing changed: same hunt (still a draft, same title, same targets_version), same targets.
    let (_, now) = app
        .get(&format!("/v1/hunts/{hunt}"), Some(&owner.token))
        .await;
    assert_eq!(now, original);
    assert_eq!(app.count("targets").await, targets_before);
    let (_, page) = app
        .get(&format!("/v1/hunts/{hunt}/targets"), Some(&owner.token))
        .await;
    assert_eq!(page["targets"][0]["name"], json!("Sacré-Cœur"));

    // A game master of the rival organisation is no better placed.
    let rival_gm = colleague(&app, &rival, "game_master").await;
    for (case, path) in [
        (
            "a rival game master reading the hunt",
            format!("/v1/hunts/{hunt}"),
        ),
        (
            "a rival game master listing targets",
            format!("/v1/hunts/{hunt}/targets"),
        ),
    ] {
        let answer = app.get(&path, Some(&rival_gm.token)).await;
        assert_code(case, &answer, NOT_FOUND);
    }
}
