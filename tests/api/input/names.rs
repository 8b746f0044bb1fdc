//! Look-alike names (Unicode TS #39): team names are normalised (NFKC, whitespace collapsed),
//! invisible, control and bidirectional characters and mixed-script look-alikes are 400, and
//! uniqueness in a hunt is decided on a case-folded confusable skeleton, so a fake "Lynx" cannot
//! sit next to the real one (409 `team_name_taken`). Target names and hunt titles follow the same
//! rules (without the uniqueness). Teams stored before the rule get their skeleton at migration.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::MigrationHarness;
use reqwest::Method;
use serde_json::json;

use super::*;
use crate::authz::create_team;
use crate::support::*;

#[tokio::test]
async fn look_alike_team_names_are_refused() {
    let app = TestApp::spawn().await;
    let w = World::new(&app).await; // holds "Les Lynx"
    for name in ["Lynx", "Probe Team S", "BOX"] {
        let p = app.player().await;
        let (status, body) = create_team(&app, &w.hunt, &p, name).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {body}");
    }
    let invalid = [
        ("a zero-width space", "Ly\u{200b}nx"),
        ("a right-to-left override", "\u{202e}xnyL"),
        ("a left-to-right isolate", "Lynx\u{2066}"),
        ("a newline", "Probe Team\nS"),
        ("a Hangul filler", "Lynx\u{3164}"),
        ("a soft hyphen", "Ly\u{ad}nx"),
        ("Cyrillic letters among Latin ones", "L\u{443}n\u{445}"),
        ("Greek letters among Latin ones", "Pr\u{3bf}be Team S"),
        ("a byte-order mark", "\u{feff}Lynx"),
        ("only spaces", " \u{3000} "),
    ];
    for (case, name) in invalid {
        let p = app.player().await;
        let before = snapshot(&app).await;
        let answer = create_team(&app, &w.hunt, &p, name).await;
        assert_names_field(case, &answer, "/name", "body");
        assert_eq!(snapshot(&app).await, before, "{case}: stored something");
    }
    let taken = [
        ("the same name in capitals", "LYNX"),
        ("full-width letters", "\u{ff2c}\u{ff39}\u{ff2e}\u{ff38}"),
        ("one full-width letter", "\u{ff2c}ynx"),
        ("a doubled inner space", "Probe  Team S"),
        (
            "a no-break space and a trailing space",
            "Probe\u{a0}Team S ",
        ),
        (
            "Cyrillic letters that look like Latin ones",
            "\u{412}\u{41e}\u{425}",
        ),
        ("an ideographic space", "Probe\u{3000}Team S"),
    ];
    for (case, name) in taken {
        let p = app.player().await;
        let before = snapshot(&app).await;
        let (status, body) = create_team(&app, &w.hunt, &p, name).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("team_name_taken")),
            "{case} ({name:?}): {body}"
        );
        assert_eq!(snapshot(&app).await, before, "{case}: stored something");
    }
    // Other scripts are fine on their own, and so is Latin with CJK; names are stored in NFKC.
    for (name, stored) in [
        ("東京チーム", "東京チーム"),
        ("Équipe Été", "Équipe Été"),
        ("Λύγκες", "Λύγκες"),
        ("Team 東京", "Team 東京"),
        ("\u{fb01}re  crew", "fire crew"),
    ] {
        let p = app.player().await;
        let (status, body) = create_team(&app, &w.hunt, &p, name).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {body}");
        let (_, progress) = app
            .get(&format!("/v1/hunts/{}/progress", w.hunt), Some(&p.token))
            .await;
        assert_eq!(progress["team_name"], json!(stored), "{name}");
    }
}

#[tokio::test]
async fn target_names_and_hunt_titles_follow_the_name_rules() {
    let app = TestApp::spawn().await;
    let owner = app.staff().await;
    let hunt = app.draft_hunt(&owner, paris_area(), json!({})).await;
    let mut spoof = circle("x", 48.86, 2.34, 20.0, 1);
    spoof["properties"]["name"] = json!("Tour\u{200b}Eiffel");
    let before = snapshot(&app).await;
    let (status, body) = app
        .post(
            &format!("/v1/hunts/{hunt}/targets/import"),
            Some(&owner.token),
            collection(vec![spoof]),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_geojson")),
        "{body}"
    );
    assert_eq!(body["details"]["feature_index"], json!(0), "{body}");
    assert_eq!(snapshot(&app).await, before);
    let ids = app
        .import(
            &owner,
            &hunt,
            collection(vec![circle("Tour\u{ff25}iffel", 48.8584, 2.2945, 30.0, 1)]),
        )
        .await;
    let (_, page) = app
        .get(&format!("/v1/hunts/{hunt}/targets"), Some(&owner.token))
        .await;
    assert_eq!(
        page["targets"][0]["name"],
        json!("TourEiffel"),
        "stored in NFKC: {page}"
    );
    let patch = format!("/v1/hunts/{hunt}/targets/{}", ids[0]);
    let (status, body) = app
        .send(
            Method::PATCH,
            &patch,
            Some(&owner.token),
            Some(json!({"name": "Eiffe\u{200d}l"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    for (title, field) in [
        ("\u{202e}Paris hunt", "/title"),
        ("Chasse Par\u{456}s", "/title"),
    ] {
        let answer = app
            .send(
                Method::PATCH,
                &format!("/v1/hunts/{hunt}"),
                Some(&owner.token),
                Some(json!({"title": title})),
            )
            .await;
        assert_names_field(title, &answer, field, "body");
    }
    let answer = app
        .send(
            Method::PATCH,
            &format!("/v1/hunts/{hunt}"),
            Some(&owner.token),
            Some(json!({"city": "Par\u{200b}is"})),
        )
        .await;
    assert_names_field("a city with a zero-width space", &answer, "/city", "body");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_stored_before_the_rule_get_a_skeleton_and_the_older_keeps_the_name() {
    let url = fresh_database().await;
    let app = TestApp::spawn_on(url.clone()).await;
    let owner = app.staff().await;
    let hunt = app.draft_hunt(&owner, paris_area(), json!({})).await;
    app.import(
        &owner,
        &hunt,
        collection(vec![circle("Notre-Dame", 48.852968, 2.349902, 40.0, 3)]),
    )
    .await;
    app.publish(&owner, &hunt).await;
    let captain = app.player().await;
    // Back to the schema before team name keys, where two teams may look alike.
    let conn = AsyncPgConnection::establish(&url).await.unwrap();
    let mut harness = diesel_async::AsyncMigrationHarness::new(conn);
    loop {
        let applied = harness.applied_migrations().unwrap();
        let last = applied.iter().map(|v| v.to_string()).max().unwrap();
        if last.as_str() < "20261204000010" {
            break;
        }
        harness
            .revert_last_migration(nenufar::db::migrate::MIGRATIONS)
            .unwrap();
    }
    drop(harness);
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    for (i, name) in ["Lynx", "\u{ff2c}\u{ff39}\u{ff2e}\u{ff38}"]
        .into_iter()
        .enumerate()
    {
        diesel::sql_query(format!(
            "insert into teams (id, hunt_id, name, invite_code, captain_id, created_at) \
             values (gen_random_uuid(), '{hunt}', '{name}', 'LEGACY{i}X', '{}', now() - interval '{} minutes')",
            captain.id,
            10 - i
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let applied = nenufar::db::migrate::run_pending(&url).await.unwrap();
    assert!(applied >= 1);
    #[derive(diesel::QueryableByName)]
    struct Missing {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let missing: Missing =
        diesel::sql_query("select count(*) as n from teams where name_key is null")
            .get_result(&mut conn)
            .await
            .unwrap();
    assert_eq!(missing.n, 0, "every legacy team has a key");
    let app = TestApp::spawn_on(url).await; // a node started after the migration
    let p = app.player().await;
    let (status, body) = create_team(&app, &hunt, &p, "lynx").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("team_name_taken")),
        "{body}"
    );
}
