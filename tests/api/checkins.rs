//! Check-ins end to end: verdict order, policies, idempotency, exactly-once finds, prerequisites.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// Metres to degrees of latitude near Paris (1 degree is about 111.2 km there).
pub(crate) fn north_of(lat: f64, metres: f64) -> f64 {
    lat + metres / 111_200.0
}

pub(crate) const EIFFEL: (f64, f64) = (48.85837, 2.29448);

pub(crate) async fn live_hunt_with(
    app: &TestApp,
    staff: &Staff,
    rules: Value,
    features: Vec<Value>,
) -> (String, Vec<String>) {
    let hunt = app.draft_hunt(staff, paris_area(), rules).await;
    let ids = app.import(staff, &hunt, collection(features)).await;
    app.publish(staff, &hunt).await;
    (hunt, ids)
}

#[tokio::test]
async fn a_find_counts_once_for_the_team_and_a_teammate_gets_already_found() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let (hunt, ids) = live_hunt_with(
        &app,
        &staff,
        json!({}),
        vec![circle("Tour Eiffel", EIFFEL.0, EIFFEL.1, 40.0, 5)],
    )
    .await;
    let ana = app.player_in_team(&hunt).await;
    let (_, team) = app
        .get(&format!("/v1/hunts/{hunt}/progress"), Some(&ana.token))
        .await;
    assert_eq!(team["members"], json!(1));

    let (status, body) = app.check_in(&ana, &hunt, EIFFEL.0, EIFFEL.1, 10.0).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["verdict"], json!("found"));
    assert_eq!(
        body["targets"],
        json!([{"id": ids[0], "name": "Tour Eiffel", "points": 5}])
    );
    assert_eq!(
        (
            body["team_score"].clone(),
            body["policy"].clone(),
            body["accuracy_m"].clone()
        ),
        (json!(5), json!("centre"), json!(10.0))
    );

    // A teammate joins by invite code and checks in at the same place.
    let (_, created) = app
        .get(&format!("/v1/hunts/{hunt}/progress"), Some(&ana.token))
        .await;
    let code = invite_code_of(&app, &hunt, &ana).await;
    let bob = app.player().await;
    let (status, joined) = app
        .post(
            "/v1/teams/join",
            Some(&bob.token),
            json!({"invite_code": code.to_lowercase()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!(joined["team_id"], created["team_id"]);
    let (_, body) = app.check_in(&bob, &hunt, EIFFEL.0, EIFFEL.1, 5.0).await;
    assert_eq!(body["verdict"], json!("already_found"));
    assert_eq!(body["team_score"], json!(5));
    let (_, progress) = app
        .get(&format!("/v1/hunts/{hunt}/progress"), Some(&bob.token))
        .await;
    assert_eq!(progress["score"], json!(5));
    assert_eq!(progress["members"], json!(2));
    assert_eq!(progress["found"].as_array().unwrap().len(), 1);
    assert_eq!(app.count("finds").await, 1);
    assert_eq!(app.count("checkins").await, 2);
}

async fn invite_code_of(app: &TestApp, hunt: &str, _captain: &Player) -> String {
    #[derive(diesel::QueryableByName)]
    struct Code {
        #[diesel(sql_type = diesel::sql_types::Text)]
        invite_code: String,
    }
    use diesel_async::{AsyncConnection, RunQueryDsl};
    let mut conn = diesel_async::AsyncPgConnection::establish(&app.db_url)
        .await
        .unwrap();
    let c: Code = diesel::sql_query(format!(
        "select invite_code from teams where hunt_id = '{hunt}' limit 1"
    ))
    .get_result(&mut conn)
    .await
    .unwrap();
    c.invite_code
}

#[tokio::test]
async fn the_accuracy_policy_decides_at_the_boundary() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    // A fix 45 m north of the centre of a 40 m circle, with 10 m accuracy: margin -5 m.
    let fix = (north_of(EIFFEL.0, 45.0), EIFFEL.1);
    // And one 35 m north: margin +5 m, accuracy 10 m.
    let inner = (north_of(EIFFEL.0, 35.0), EIFFEL.1);
    for (policy, outside, inside) in [
        ("strict", "nothing_here", "nothing_here"),
        ("centre", "nothing_here", "found"),
        ("lenient", "found", "found"),
    ] {
        let (hunt, _) = live_hunt_with(
            &app,
            &staff,
            json!({"accuracy_policy": policy}),
            vec![circle("c", EIFFEL.0, EIFFEL.1, 40.0, 1)],
        )
        .await;
        let p = app.player_in_team(&hunt).await;
        let (_, body) = app.check_in(&p, &hunt, fix.0, fix.1, 10.0).await;
        assert_eq!(body["verdict"], json!(outside), "{policy} outside: {body}");
        assert_eq!(body["policy"], json!(policy));
        let q = app.player_in_team(&hunt).await;
        let (_, body) = app.check_in(&q, &hunt, inner.0, inner.1, 10.0).await;
        assert_eq!(body["verdict"], json!(inside), "{policy} inside: {body}");
        let r = app.player_in_team(&hunt).await;
        let (_, body) = app.check_in(&r, &hunt, inner.0, inner.1, 4.0).await;
        assert_eq!(
            body["verdict"],
            json!("found"),
            "{policy} well inside: {body}"
        );
    }
}

#[tokio::test]
async fn too_inaccurate_comes_before_geometry_and_not_live_before_that() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let (hunt, _) = live_hunt_with(
        &app,
        &staff,
        json!({"max_accuracy_m": 30}),
        vec![circle("c", EIFFEL.0, EIFFEL.1, 40.0, 1)],
    )
    .await;
    let p = app.player_in_team(&hunt).await;
    let (_, body) = app.check_in(&p, &hunt, EIFFEL.0, EIFFEL.1, 30.5).await;
    assert_eq!(body["verdict"], json!("too_inaccurate"));
    assert_eq!(body["targets"], json!([]));
    let (_, body) = app.check_in(&p, &hunt, 48.9, 2.4, 31.0).await;
    assert_eq!(
        body["verdict"],
        json!("too_inaccurate"),
        "far from any target: same answer"
    );

    // A hunt in its teaser: teams form, check-ins are not live.
    let now = Utc::now();
    let teaser = app.draft_hunt(&staff, paris_area(), json!({})).await;
    app.send(
        reqwest::Method::PATCH,
        &format!("/v1/hunts/{teaser}"),
        Some(&staff.token),
        Some(json!({"live_at": now + Duration::hours(1), "teaser_at": now - Duration::hours(1)})),
    )
    .await;
    app.import(
        &staff,
        &teaser,
        collection(vec![circle("c", EIFFEL.0, EIFFEL.1, 40.0, 1)]),
    )
    .await;
    app.publish(&staff, &teaser).await;
    let q = app.player_in_team(&teaser).await;
    let (_, body) = app.check_in(&q, &teaser, EIFFEL.0, EIFFEL.1, 500.0).await;
    assert_eq!(
        (body["verdict"].as_str(), body["reason"].as_str()),
        (Some("not_live"), Some("not_started")),
        "{body}"
    );
    assert_eq!(app.count("finds").await, 0);
}

#[tokio::test]
async fn a_replayed_key_returns_the_stored_response_and_a_reused_key_is_refused() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let (hunt, _) = live_hunt_with(
        &app,
        &staff,
        json!({}),
        vec![circle("c", EIFFEL.0, EIFFEL.1, 40.0, 3)],
    )
    .await;
    let p = app.player_in_team(&hunt).await;
    let body = checkin_body(EIFFEL.0, EIFFEL.1, 8.0, Utc::now());
    let path = format!("/v1/hunts/{hunt}/checkins");
    let (s1, first) = app.post(&path, Some(&p.token), body.clone()).await;
    let (s2, second) = app.post(&path, Some(&p.token), body.clone()).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(first["verdict"], json!("found"));
    assert_eq!(
        first, second,
        "the replay is the stored response, not already_found"
    );
    let mut other = body.clone();
    other["lat"] = json!(EIFFEL.0 + 0.001);
    let (status, err) = app.post(&path, Some(&p.token), other).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::CONFLICT, Some("idempotency_key_reused"))
    );
    assert_eq!(app.count("checkins").await, 1);
    assert_eq!(app.count("finds").await, 1);
    let (_, progress) = app
        .get(&format!("/v1/hunts/{hunt}/progress"), Some(&p.token))
        .await;
    assert_eq!(progress["score"], json!(3));
}

#[tokio::test]
async fn concurrent_check_ins_of_one_team_count_a_target_once() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let (hunt, _) = live_hunt_with(
        &app,
        &staff,
        json!({"team_max_size": 12}),
        vec![circle("c", EIFFEL.0, EIFFEL.1, 40.0, 7)],
    )
    .await;
    let members = app.team_of(&hunt, 10).await;
    // Everyone twice at once, the second time with the same key (a client retry racing itself).
    let path = format!("/v1/hunts/{hunt}/checkins");
    let mut tasks = Vec::new();
    for p in &members {
        let body = checkin_body(EIFFEL.0, EIFFEL.1, 5.0, Utc::now());
        for _ in 0..2 {
            tasks.push(app.spawn_post(&path, &p.token, body.clone()));
        }
    }
    let mut verdicts = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        verdicts.push(body["verdict"].as_str().unwrap().to_owned());
    }
    let found = verdicts.iter().filter(|v| *v == "found").count();
    assert!(
        found == 1 || found == 2,
        "one find, possibly replayed once to its own retry: {verdicts:?}"
    );
    assert_eq!(app.count("finds").await, 1);
    assert_eq!(
        app.count("checkins").await,
        10,
        "one row per idempotency key"
    );
    let (_, progress) = app
        .get(
            &format!("/v1/hunts/{hunt}/progress"),
            Some(&members[3].token),
        )
        .await;
    assert_eq!(progress["score"], json!(7));
}

#[tokio::test]
async fn overlapping_targets_are_found_together_and_prerequisites_hide_a_target() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
    let first = app
        .import(
            &staff,
            &hunt,
            collection(vec![circle("first", 48.8606, 2.3376, 30.0, 2)]),
        )
        .await;
    let mut locked = circle("locked", EIFFEL.0, EIFFEL.1, 40.0, 10);
    locked["properties"]["prerequisites"] = json!([first[0]]);
    app.import(
        &staff,
        &hunt,
        collection(vec![
            locked,
            circle("open", EIFFEL.0, EIFFEL.1 + 0.0002, 40.0, 1),
        ]),
    )
    .await;
    app.publish(&staff, &hunt).await;
    let p = app.player_in_team(&hunt).await;

    let (_, body) = app
        .check_in(&p, &hunt, EIFFEL.0, EIFFEL.1 + 0.0001, 5.0)
        .await;
    assert_eq!(body["verdict"], json!("found"));
    let names: Vec<&str> = body["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["open"], "the locked target is as if absent");
    let (_, body) = app.check_in(&p, &hunt, 48.8606, 2.3376, 5.0).await;
    assert_eq!(body["verdict"], json!("found"));
    let (_, body) = app
        .check_in(&p, &hunt, EIFFEL.0, EIFFEL.1 + 0.0001, 5.0)
        .await;
    assert_eq!(body["verdict"], json!("found"));
    assert_eq!(body["targets"][0]["name"], json!("locked"));
    assert_eq!(body["team_score"], json!(13));
}

#[tokio::test]
async fn a_target_added_to_a_live_hunt_is_found_at_once_and_nothing_here_says_nothing() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let (hunt, _) = live_hunt_with(
        &app,
        &staff,
        json!({}),
        vec![circle("a", EIFFEL.0, EIFFEL.1, 40.0, 1)],
    )
    .await;
    let p = app.player_in_team(&hunt).await;
    let (_, body) = app.check_in(&p, &hunt, 48.8738, 2.2950, 5.0).await;
    assert_eq!(
        body,
        json!({"verdict": "nothing_here", "targets": [], "accuracy_m": 5.0, "policy": "centre", "team_score": 0})
    );
    app.import(
        &staff,
        &hunt,
        collection(vec![circle("Arc de Triomphe", 48.8738, 2.2950, 50.0, 4)]),
    )
    .await;
    let (_, body) = app.check_in(&p, &hunt, 48.8738, 2.2950, 5.0).await;
    assert_eq!(body["verdict"], json!("found"), "{body}");
    let outside = app.import(&staff, &hunt, collection(vec![])).await;
    assert!(outside.is_empty());
    let (status, body) = app
        .post(
            &format!("/v1/hunts/{hunt}/targets/import"),
            Some(&staff.token),
            collection(vec![circle("Lyon", 45.76, 4.83, 40.0, 1)]),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_geojson")),
        "{body}"
    );
}

#[tokio::test]
async fn finds_committed_together_announce_every_step_of_the_team_score() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    // 40 targets 200 m apart along a meridian, worth 1 to 40 points.
    let targets: Vec<Value> = (0..40)
        .map(|i| {
            let lat = north_of(EIFFEL.0, 200.0 * f64::from(i));
            circle(&format!("t{i}"), lat, EIFFEL.1, 30.0, i64::from(i) + 1)
        })
        .collect();
    let (hunt, _) = live_hunt_with(&app, &staff, json!({"team_max_size": 10}), targets).await;
    let members = app.team_of(&hunt, 10).await;
    // 40 check-ins at once (each member at 4 targets), so the writer stores them in few batches.
    let path = format!("/v1/hunts/{hunt}/checkins");
    let mut tasks = Vec::new();
    for i in 0..40 {
        let body = checkin_body(
            north_of(EIFFEL.0, 200.0 * f64::from(i)),
            EIFFEL.1,
            5.0,
            Utc::now(),
        );
        tasks.push(app.spawn_post(&path, &members[i as usize % 10].token, body));
    }
    let mut answered = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["verdict"], json!("found"), "{body}");
        answered.push(body["team_score"].as_i64().unwrap());
    }
    let total: i64 = (1..=40).sum();
    answered.sort_unstable();
    answered.dedup();
    assert_eq!(
        answered.len(),
        40,
        "each answer holds its own step of the score"
    );
    assert_eq!(answered.last(), Some(&total));

    // The score_changed events, in offset order, climb by their delta to the total, and each step
    // is a score some answer reported; each player's own score climbs the same way.
    let events = numbered_events(&app, &hunt, 40).await;
    let mut team = 0;
    let mut players: std::collections::HashMap<String, i64> = Default::default();
    for e in &events {
        let delta = e["delta"].as_i64().unwrap();
        team += delta;
        assert_eq!(e["score"].as_i64(), Some(team), "{e}");
        assert!(answered.binary_search(&team).is_ok(), "{e}");
        let player = players
            .entry(e["player_id"].as_str().unwrap().to_owned())
            .or_default();
        *player += delta;
        assert_eq!(e["player_score"].as_i64(), Some(*player), "{e}");
    }
    assert_eq!(team, total);
}

/// The data of the hunt's `score_changed` events in offset order, once `n` of them are numbered.
async fn numbered_events(app: &TestApp, hunt: &str, n: usize) -> Vec<Value> {
    #[derive(diesel::QueryableByName)]
    struct Data {
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        data: Value,
    }
    use diesel_async::{AsyncConnection, RunQueryDsl};
    let mut conn = diesel_async::AsyncPgConnection::establish(&app.db_url)
        .await
        .unwrap();
    let what = format!("{n} score_changed events numbered");
    wait_until(&what, crate::live::ARRIVES, async || {
        let rows: Vec<Data> = diesel::sql_query(format!(
            "select data from events where hunt_id = '{hunt}' and kind = 'score_changed' \
             and event_offset is not null order by event_offset"
        ))
        .load(&mut conn)
        .await
        .unwrap();
        if rows.len() >= n {
            Ok(rows.into_iter().map(|r| r.data).collect())
        } else {
            Err(rows.len())
        }
    })
    .await
}
