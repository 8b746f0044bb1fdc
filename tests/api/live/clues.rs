//! Clues with several nodes: a timed clue is revealed once per team though every node runs the
//! scheduler (time moved by a test clock the nodes read); a bought clue is paid for once under
//! concurrent buys through both nodes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::nodes::Node;
#[cfg(feature = "test-clock")]
use crate::nodes::TestClock;
use crate::support::*;

/// `(team_id, n)` pairs of a grouped count, sorted.
#[cfg(feature = "test-clock")]
async fn per_team(db: &str, sql: &str) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = rows(db, sql)
        .await
        .iter()
        .map(|r| {
            (
                r["team_id"].as_str().unwrap().to_owned(),
                r["n"].as_i64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Two processes and their two in-test helper nodes, all on one file clock the test moves.
#[cfg(feature = "test-clock")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_clue_is_revealed_once_per_team_with_two_nodes_running_their_schedulers() {
    let db = fresh_database().await;
    let clock = TestClock::starting_now();
    let (na, nb) = tokio::join!(
        Node::start_with_clock(&db, &clock),
        Node::start_with_clock(&db, &clock)
    );
    let (a, b) = (&na.app, &nb.app);
    let staff = a.staff().await;
    let (hunt, _) = live_hunt(a, &staff, json!({}), &[(PLACES[0].0, PLACES[0].1, 5)]).await;
    let mut teams = Vec::new();
    for i in 0..4 {
        teams.push(new_team([a, b][i % 2], &hunt).await);
    }
    settle(&db, &hunt).await;
    let mut ws = subscribed(b, &teams[0].captain.token, &hunt, None).await;

    let at = clock.now() + chrono::Duration::minutes(10);
    let text = "The key is under the third bench";
    let id = clue(a, &staff, &hunt, text, json!({"at": at})).await;
    // Not due: a pass of the scheduler reveals nothing.
    for node in [a, b] {
        let revealed = nenufar::jobs::timed_clues::step(&node.state.ctx)
            .await
            .unwrap();
        assert_eq!(revealed, 0, "revealed before its time");
    }
    let reveals = format!(
        "select team_id::text as team_id, count(*) as n from clue_reveals where clue_id = '{id}' group by team_id"
    );
    // Due: every node's scheduler sees it at its next pass, and they race to reveal it.
    clock.set(at);
    wait_until("the clue revealed to every team", ARRIVES, async || {
        let revealed = per_team(&db, &reveals).await;
        if revealed.len() >= teams.len() {
            Ok(())
        } else {
            Err(revealed)
        }
    })
    .await;
    // More passes change nothing: one pass of each in-test node, run to its end (the same code,
    // database and clock as the processes' loops), reveals nothing.
    for node in [a, b] {
        let revealed = nenufar::jobs::timed_clues::step(&node.state.ctx)
            .await
            .unwrap();
        assert_eq!(revealed, 0, "revealed again");
    }
    sequenced(&db).await;

    let mut want: Vec<(String, i64)> = teams.iter().map(|t| (t.id.clone(), 1)).collect();
    want.sort();
    assert_eq!(per_team(&db, &reveals).await, want, "one reveal per team");
    let events = format!(
        "select team_id::text as team_id, count(*) as n from events where hunt_id = '{hunt}' \
         and kind = 'clue_revealed' and data->>'clue_id' = '{id}' group by team_id"
    );
    assert_eq!(per_team(&db, &events).await, want, "one event per team");
    let early = rows(
        &db,
        &format!(
            "select count(*) as n from clue_reveals r join clues c on c.id = r.clue_id \
             where r.clue_id = '{id}' and r.revealed_at < c.reveal_at"
        ),
    )
    .await;
    assert_eq!(early[0]["n"], json!(0), "not revealed before its time");

    broadcast(a, &staff, &hunt, "fence", None).await;
    let got = stored(&until_broadcast(&mut ws, "fence").await);
    let clues: Vec<&Value> = got
        .iter()
        .filter(|m| m["kind"] == json!("clue_revealed"))
        .collect();
    assert_eq!(clues.len(), 1, "received once: {got:?}");
    // Every field `live.md` documents, `cost` included (null: not bought).
    assert_eq!(
        clues[0]["data"],
        json!({"clue_id": id, "text": text, "media_url": null, "rule": "at", "cost": null})
    );
    let (status, body) = b
        .get(
            &format!("/v1/hunts/{hunt}/clues"),
            Some(&teams[1].captain.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["clues"][0]["id"], json!(id), "{body}");
    assert_eq!(body["clues"][0]["text"], json!(text));
    assert_eq!(body["clues"][0]["revealed"], json!(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clue_bought_by_ten_members_at_once_through_two_nodes_is_paid_for_once() {
    let db = fresh_database().await;
    let (na, nb) = tokio::join!(Node::start(&db), Node::start(&db));
    let nodes = [&na.app, &nb.app];
    let staff = nodes[0].staff().await;
    let (hunt, _) = live_hunt(
        nodes[0],
        &staff,
        json!({"team_max_size": 10}),
        &[(PLACES[0].0, PLACES[0].1, 10)],
    )
    .await;
    let team = new_team(nodes[0], &hunt).await;
    let mut members = vec![team.captain];
    for i in 1..10 {
        members.push(join(nodes[i % 2], &team.invite).await);
    }
    find(nodes[1], &members[0], &hunt, PLACES[0].1).await;
    let id = clue(
        nodes[0],
        &staff,
        &hunt,
        "Behind the clock",
        json!({"cost": 7}),
    )
    .await;
    let (_, listed) = nodes[1]
        .get(&format!("/v1/hunts/{hunt}/clues"), Some(&members[3].token))
        .await;
    assert_eq!(
        listed["clues"][0],
        json!({"id": id, "revealed": false, "revealed_at": null, "text": null, "media_url": null, "cost": 7}),
        "for sale: its price only"
    );
    settle(&db, &hunt).await;
    let mut ws = subscribed(nodes[1], &members[9].token, &hunt, None).await;

    let path = format!("/v1/hunts/{hunt}/clues/{id}/buy");
    let buys = members.iter().enumerate().map(|(i, m)| {
        let path = &path;
        async move { nodes[i % 2].post(path, Some(&m.token), json!({})).await }
    });
    let answers = futures_util::future::join_all(buys).await;
    let ok: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(ok.len(), 1, "exactly one buy succeeds: {answers:?}");
    assert_eq!(ok[0]["team_score"], json!(3));
    assert_eq!(ok[0]["clue"]["text"], json!("Behind the clock"));
    for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!(*status, StatusCode::CONFLICT, "{body}");
        assert!(
            ["clue_already_revealed", "not_enough_points"]
                .contains(&body["code"].as_str().unwrap()),
            "{body}"
        );
    }

    for node in nodes {
        let (_, progress) = node
            .get(
                &format!("/v1/hunts/{hunt}/progress"),
                Some(&members[5].token),
            )
            .await;
        assert_eq!(progress["score"], json!(3), "paid once: {progress}");
    }
    let count = |sql: String| {
        let db = db.clone();
        async move { rows(&db, &sql).await[0]["n"].as_i64().unwrap() }
    };
    assert_eq!(
        count(format!(
            "select score as n from teams where id = '{}'",
            team.id
        ))
        .await,
        3
    );
    assert_eq!(
        count(format!(
            "select count(*) as n from clue_reveals where clue_id = '{id}'"
        ))
        .await,
        1
    );
    sequenced(&db).await;
    let events = |kind: &str, filter: &str| {
        format!(
            "select count(*) as n from events where hunt_id = '{hunt}' and kind = '{kind}' and {filter}"
        )
    };
    assert_eq!(
        count(events(
            "clue_revealed",
            &format!("data->>'clue_id' = '{id}'")
        ))
        .await,
        1
    );
    assert_eq!(
        count(events("score_changed", "(data->>'delta')::int = -7")).await,
        1
    );

    // The leaderboard of both nodes shows the score after spending.
    for node in nodes {
        let (_, board) = node
            .get(
                &format!("/v1/hunts/{hunt}/leaderboard"),
                Some(&members[2].token),
            )
            .await;
        assert_eq!(board["entries"][0]["id"], json!(team.id), "{board}");
        assert_eq!(board["entries"][0]["score"], json!(3), "{board}");
    }
    broadcast(nodes[0], &staff, &hunt, "fence", None).await;
    let got = stored(&until_broadcast(&mut ws, "fence").await);
    assert_eq!(
        kinds(&got),
        ["clue_revealed", "score_changed", "broadcast"],
        "{got:?}"
    );
    assert_eq!(got[1]["data"]["score"], json!(3));
    let data = got[0]["data"].as_object().unwrap();
    let mut keys: Vec<&str> = data.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["clue_id", "cost", "media_url", "rule", "text"]);
    assert_eq!((&data["rule"], &data["cost"]), (&json!("cost"), &json!(7)));
}
