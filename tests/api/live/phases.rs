//! Phases with two nodes: the schedule announces each phase exactly once, clients see them in
//! order (time moved by a test clock the nodes read); pause and resume through one node gate
//! check-ins on the other.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::nodes::Node;
#[cfg(feature = "test-clock")]
use crate::nodes::TestClock;
use crate::support::*;

#[cfg(feature = "test-clock")]
fn phase_of(m: &serde_json::Value) -> Option<&str> {
    (m["kind"] == json!("phase_changed")).then(|| m["data"]["phase"].as_str().unwrap())
}

/// Two processes and their two in-test helper nodes, all on one file clock the test moves.
#[cfg(feature = "test-clock")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_announces_teaser_live_and_ended_once_each_with_two_nodes() {
    let db = fresh_database().await;
    let clock = TestClock::starting_now();
    let (na, nb) = tokio::join!(
        Node::start_with_clock(&db, &clock),
        Node::start_with_clock(&db, &clock)
    );
    let (a, b) = (&na.app, &nb.app);
    let staff = a.staff().await;
    let now = clock.now();
    let live_at = now + chrono::Duration::hours(1);
    let ends_at = now + chrono::Duration::hours(2);
    let (status, body) = a
        .post(
            "/v1/hunts",
            Some(&staff.token),
            json!({"title": "Short hunt", "city": "Paris", "area": paris_area(),
                   "teaser_at": now - chrono::Duration::hours(1), "live_at": live_at,
                   "ends_at": ends_at, "rules": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let hunt = body["id"].as_str().unwrap().to_owned();
    a.import(
        &staff,
        &hunt,
        collection(vec![circle(
            PLACES[0].0,
            PLACES[0].1.0,
            PLACES[0].1.1,
            40.0,
            5,
        )]),
    )
    .await;
    a.publish(&staff, &hunt).await;
    let team = new_team(b, &hunt).await;
    // The teaser announced (the time stands still until the test moves it).
    settle(&db, &hunt).await;
    let mut ws = subscribed(b, &team.captain.token, &hunt, None).await;
    let (_, body) = a
        .check_in(&team.captain, &hunt, PLACES[0].1.0, PLACES[0].1.1, 5.0)
        .await;
    assert_eq!(
        (body["verdict"].as_str(), body["reason"].as_str()),
        (Some("not_live"), Some("not_started")),
        "{body}"
    );

    // Every node sees each new time at its next pass, and they race to announce it.
    clock.set(live_at);
    let mut got = until(&mut ws, ARRIVES, |m| phase_of(m) == Some("live")).await;
    clock.set(ends_at);
    got.extend(until(&mut ws, ARRIVES, |m| phase_of(m) == Some("ended")).await);
    let phases: Vec<&serde_json::Value> = got.iter().filter(|m| phase_of(m).is_some()).collect();
    let names: Vec<&str> = phases.iter().filter_map(|m| phase_of(m)).collect();
    assert_eq!(
        names,
        ["live", "ended"],
        "each phase once, in order: {got:?}"
    );
    assert_increasing(&stored(&got));
    let ended = phases.last().unwrap();
    assert_eq!(ended["data"]["previous"], json!("live"));
    let (_, body) = b
        .check_in(&team.captain, &hunt, PLACES[0].1.0, PLACES[0].1.1, 5.0)
        .await;
    assert_eq!(
        (body["verdict"].as_str(), body["reason"].as_str()),
        (Some("not_live"), Some("ended")),
        "{body}"
    );

    // More passes of the job change nothing: one pass of each in-test node, run to its end (the
    // same code, database and clock as the processes' loops), announces nothing.
    for node in [a, b] {
        let announced = nenufar::jobs::phases::step(&node.state.ctx).await.unwrap();
        assert_eq!(announced, 0, "a phase announced again");
    }
    sequenced(&db).await;
    let log = rows(
        &db,
        &format!(
            "select data->>'phase' as phase, data->>'previous' as previous from events \
             where hunt_id = '{hunt}' and kind = 'phase_changed' order by event_offset"
        ),
    )
    .await;
    assert_eq!(
        log,
        [
            json!({"phase": "teaser", "previous": null}),
            json!({"phase": "live", "previous": "teaser"}),
            json!({"phase": "ended", "previous": "live"}),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hunt_paused_through_one_node_answers_not_live_paused_on_the_other_until_resumed() {
    let db = fresh_database().await;
    let (na, nb) = tokio::join!(Node::start(&db), Node::start(&db));
    let (a, b) = (&na.app, &nb.app);
    let staff = a.staff().await;
    let (hunt, _) = live_hunt(a, &staff, json!({}), &[(PLACES[0].0, PLACES[0].1, 5)]).await;
    let team = new_team(b, &hunt).await;
    settle(&db, &hunt).await;
    let mut ws = subscribed(b, &team.captain.token, &hunt, None).await;

    let path = |verb: &str| format!("/v1/hunts/{hunt}/{verb}");
    let (status, _) = b
        .post(&path("pause"), Some(&team.captain.token), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "players cannot pause");
    let (status, body) = a.post(&path("pause"), Some(&staff.token), json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = b
        .check_in(&team.captain, &hunt, PLACES[0].1.0, PLACES[0].1.1, 5.0)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["verdict"].as_str(), body["reason"].as_str()),
        (Some("not_live"), Some("paused")),
        "{body}"
    );
    let got = until_kind(&mut ws, "status_changed", ARRIVES).await;
    assert_eq!(got.last().unwrap()["data"]["status"], json!("paused"));

    let (status, body) = a.post(&path("resume"), Some(&staff.token), json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let got = until_kind(&mut ws, "status_changed", ARRIVES).await;
    assert_eq!(got.last().unwrap()["data"]["status"], json!("resumed"));
    let body = find(b, &team.captain, &hunt, PLACES[0].1).await;
    assert_eq!(body["team_score"], json!(5));
    broadcast(a, &staff, &hunt, "fence", None).await;
    let got = stored(&until_broadcast(&mut ws, "fence").await);
    assert_eq!(
        kinds(&got),
        ["target_found", "score_changed", "broadcast"],
        "nothing was found while paused: {got:?}"
    );
}
