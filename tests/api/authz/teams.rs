//! Team rules: a player checks in and reads progress only through a team of that hunt, belongs to
//! one team per hunt, and cannot join a full team.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::support::*;

#[tokio::test]
async fn a_player_without_a_team_gets_not_in_hunt() {
    let app = TestApp::spawn().await;
    let owner = app.staff().await;
    let trocadero = || circle("Trocadéro", 48.862, 2.2875, 40.0, 1);
    let hunt = published_hunt(&app, &owner, json!({}), trocadero()).await;
    let loner = app.player().await;
    let answer = app.check_in(&loner, &hunt, 48.862, 2.2875, 5.0).await;
    assert_code("a check-in without a team", &answer, NOT_IN_HUNT);
    let answer = app
        .get(&format!("/v1/hunts/{hunt}/progress"), Some(&loner.token))
        .await;
    assert_code("progress without a team", &answer, NOT_IN_HUNT);
    // A team in another hunt does not count.
    let other = published_hunt(&app, &owner, json!({}), trocadero()).await;
    let elsewhere = app.player_in_team(&other).await;
    let answer = app.check_in(&elsewhere, &hunt, 48.862, 2.2875, 5.0).await;
    assert_code(
        "a check-in with a team of another hunt",
        &answer,
        NOT_IN_HUNT,
    );
    assert_eq!(app.count("checkins").await, 0);
    assert_eq!(app.count("finds").await, 0);
}

#[tokio::test]
async fn a_second_team_or_a_full_team_is_a_conflict() {
    let app = TestApp::spawn().await;
    let owner = app.staff().await;
    let bercy = circle("Bercy", 48.8385, 2.3785, 40.0, 1);
    let hunt = published_hunt(&app, &owner, json!({"team_max_size": 2}), bercy).await;
    let (ana, bob, cleo) = (app.player().await, app.player().await, app.player().await);
    let (status, team) = create_team(&app, &hunt, &ana, "pair").await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let code = json!(team["invite_code"].as_str().unwrap());
    let (status, joined) = join(&app, &bob, &code).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!(joined["team_id"], team["team_id"]);
    let members = app.count("team_members").await;
    assert_eq!(members, 2);

    let answer = join(&app, &cleo, &code).await;
    assert_code("a third member of a team of 2", &answer, TEAM_FULL);
    let answer = join(&app, &bob, &code).await;
    assert_code("joining one's own team again", &answer, ALREADY_IN_TEAM);
    let answer = create_team(&app, &hunt, &bob, "solo").await;
    assert_code("a member creating a second team", &answer, ALREADY_IN_TEAM);

    // Cleo's own team exists, and Ana cannot move into it.
    let (status, other) = create_team(&app, &hunt, &cleo, "cleo").await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let answer = join(&app, &ana, &other["invite_code"]).await;
    assert_code("a captain joining another team", &answer, ALREADY_IN_TEAM);
    assert_eq!(app.count("team_members").await, 3);
    assert_eq!(app.count("teams").await, 2);
    let (_, progress) = app
        .get(&format!("/v1/hunts/{hunt}/progress"), Some(&ana.token))
        .await;
    assert_eq!(progress["members"], json!(2));
}
