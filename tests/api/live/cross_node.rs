//! Two `nenufar serve` processes on one database: events made through one reach the other's
//! clients in order, and a crowd of concurrent check-ins over both leaves every node's
//! leaderboards equal to a recomputation from the finds.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::nodes::Node;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_produced_through_node_a_reach_a_client_of_node_b_in_order() {
    let db = fresh_database().await;
    let (na, nb) = tokio::join!(Node::start(&db), Node::start(&db));
    let (a, b) = (&na.app, &nb.app);
    let staff = a.staff().await;
    let (hunt, ids) = live_hunt(a, &staff, json!({}), &[("Tour Eiffel", PLACES[0].1, 10)]).await;
    let team = new_team(a, &hunt).await;
    let unlocked = clue(a, &staff, &hunt, "look up", json!({"after_target": ids[0]})).await;
    let sold = clue(a, &staff, &hunt, "look down", json!({"cost": 4})).await;
    settle(&db, &hunt).await;
    let mut ws = subscribed(b, &team.captain.token, &hunt, None).await;

    broadcast(a, &staff, &hunt, "one", None).await;
    find(a, &team.captain, &hunt, PLACES[0].1).await;
    let (status, body) = a
        .post(
            &format!("/v1/hunts/{hunt}/clues/{sold}/buy"),
            Some(&team.captain.token),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    broadcast(a, &staff, &hunt, "two", None).await;

    let got = stored(&until_broadcast(&mut ws, "two").await);
    assert_eq!(
        kinds(&got),
        [
            "broadcast",
            "target_found",
            "score_changed",
            "clue_revealed",
            "clue_revealed",
            "score_changed",
            "broadcast"
        ],
        "{got:?}"
    );
    assert_increasing(&got);
    assert_eq!(got[0]["data"]["message"], json!("one"));
    assert_eq!(got[1]["data"]["name"], json!("Tour Eiffel"));
    assert_eq!(got[2]["data"]["score"], json!(10));
    assert_eq!(got[3]["data"]["clue_id"], json!(unlocked));
    assert_eq!(got[4]["data"]["clue_id"], json!(sold));
    assert_eq!(got[5]["data"]["score"], json!(6));
    // The same events as the log holds after the first one, nothing skipped.
    let first = offsets(&got)[0];
    let log = rows(
        &db,
        &format!(
            "select event_offset from events where hunt_id = '{hunt}' and event_offset >= {first} \
             order by event_offset"
        ),
    )
    .await;
    let log: Vec<i64> = log
        .iter()
        .map(|r| r["event_offset"].as_i64().unwrap())
        .collect();
    assert_eq!(offsets(&got), log);

    // The phone moves to node A (a browser, token in the query) and resumes after the first
    // event: the same events follow, whichever node serves them.
    let mut moved = connect_with_query_token(a, &team.captain.token).await;
    subscribe(&mut moved, &hunt, Some(first)).await;
    let resumed = stored(&until_broadcast(&mut moved, "two").await);
    assert_eq!(resumed, got[1..]);
}

async fn post_check_in(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    hunt: &str,
    at: (f64, f64),
) -> (StatusCode, Value) {
    let resp = client
        .post(format!("{base}/v1/hunts/{hunt}/checkins"))
        .bearer_auth(token)
        .json(&checkin_body(at.0, at.1, 5.0, chrono::Utc::now()))
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap())
}

/// `(id, score)` pairs of a leaderboard answer, checking that ranks run 1, 2, 3...
fn standings(board: &Value) -> Vec<(String, i64)> {
    let entries = board["entries"].as_array().expect("entries");
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["rank"], json!(i + 1), "{board}");
    }
    entries
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_owned(),
                e["score"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn expected(rows: &[Value]) -> Vec<(String, i64)> {
    rows.iter()
        .map(|r| {
            assert_eq!(r["stored"], r["score"], "stored score = sum of finds: {r}");
            (
                r["id"].as_str().unwrap().to_owned(),
                r["score"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_check_ins_over_two_nodes_leave_every_leaderboard_equal_to_the_finds()
{
    let db = fresh_database().await;
    let (na, nb) = tokio::join!(Node::start(&db), Node::start(&db));
    let nodes = [&na.app, &nb.app];
    let staff = nodes[0].staff().await;
    // 50 spots 440 m apart; the first 40 are targets worth 1 to 9 points, the rest are empty.
    let spots: Vec<(f64, f64)> = (0..50)
        .map(|i| {
            (
                48.840 + (i / 10) as f64 * 0.004,
                2.300 + (i % 10) as f64 * 0.006,
            )
        })
        .collect();
    let names: Vec<String> = (0..40).map(|i| format!("Spot {i}")).collect();
    let targets: Vec<(&str, (f64, f64), i64)> = (0..40)
        .map(|i| (names[i].as_str(), spots[i], 1 + (i as i64 * 7) % 9))
        .collect();
    let (hunt, _) = live_hunt(nodes[0], &staff, json!({}), &targets).await;

    // 20 teams of 5, made and joined through both nodes.
    let teams =
        futures_util::future::join_all((0..20).map(|i| new_team(nodes[i % 2], &hunt))).await;
    let joiners = futures_util::future::join_all(
        (0..80).map(|i| join(nodes[(i / 20) % 2], &teams[i % 20].invite)),
    )
    .await;
    let players: Vec<(String, String)> = teams
        .iter()
        .map(|t| &t.captain)
        .chain(joiners.iter())
        .map(|p| (p.id.clone(), p.token.clone()))
        .collect();
    assert_eq!(players.len(), 100);

    // Every player sends 10 check-ins, all players at once, alternating nodes: 500 per node.
    let bases: Arc<[String; 2]> = Arc::new([nodes[0].base.clone(), nodes[1].base.clone()]);
    let spots = Arc::new(spots);
    let tasks: Vec<_> = players
        .iter()
        .enumerate()
        .map(|(p, (_, token))| {
            let (client, bases, spots) = (reqwest::Client::new(), bases.clone(), spots.clone());
            let (token, hunt) = (token.clone(), hunt.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                for k in 0..10 {
                    let spot = (p * 37 + k * 13 + k * k * 7) % 50;
                    let base = &bases[(p + k) % 2];
                    out.push(post_check_in(&client, base, &token, &hunt, spots[spot]).await);
                }
                out
            })
        })
        .collect();
    let mut found = 0;
    for t in tasks {
        for (status, body) in t.await.unwrap() {
            assert_eq!(status, StatusCode::OK, "{body}");
            let verdict = body["verdict"].as_str().unwrap();
            assert!(
                ["found", "already_found", "nothing_here"].contains(&verdict),
                "{body}"
            );
            found += usize::from(verdict == "found");
        }
    }
    let finds = rows(
        &db,
        &format!("select count(*) as n from finds where hunt_id = '{hunt}'"),
    )
    .await;
    assert!(found > 200, "enough finds to rank: {found}");
    assert!(finds[0]["n"].as_u64().unwrap() >= found as u64);

    sequenced(&db).await;
    let team_rows = rows(
        &db,
        &format!(
            "select t.id::text as id, t.score as stored, \
               coalesce((select sum(f.points) from finds f where f.team_id = t.id), 0)::bigint as score, \
               coalesce((select max(e.event_offset) from events e where e.hunt_id = t.hunt_id \
                           and e.kind = 'score_changed' and e.data->>'team_id' = t.id::text), \
                        (select min(e.event_offset) from events e where e.hunt_id = t.hunt_id \
                           and e.kind = 'team_created' and e.data->>'team_id' = t.id::text)) as reached \
             from teams t where t.hunt_id = '{hunt}' order by score desc, reached, t.id"
        ),
    )
    .await;
    let player_rows = rows(
        &db,
        &format!(
            "select m.player_id::text as id, coalesce(ps.score, 0) as stored, \
               coalesce((select sum(f.points) from finds f where f.hunt_id = m.hunt_id \
                           and f.player_id = m.player_id), 0)::bigint as score, \
               coalesce((select max(e.event_offset) from events e where e.hunt_id = m.hunt_id \
                           and e.kind = 'score_changed' and e.data->>'player_id' = m.player_id::text), \
                        (select min(e.event_offset) from events e where e.hunt_id = m.hunt_id \
                           and e.kind = 'member_joined' and e.data->>'player_id' = m.player_id::text)) as reached \
             from team_members m left join player_scores ps on ps.hunt_id = m.hunt_id and ps.player_id = m.player_id \
             where m.hunt_id = '{hunt}' order by score desc, reached, m.player_id"
        ),
    )
    .await;
    let (want_teams, want_players) = (expected(&team_rows), expected(&player_rows));
    assert_eq!((want_teams.len(), want_players.len()), (20, 100));
    let head = rows(
        &db,
        &format!("select max(event_offset) as head from events where hunt_id = '{hunt}'"),
    )
    .await[0]["head"]
        .clone();

    let viewer = &players[0].1;
    for (i, node) in nodes.iter().enumerate() {
        let path = format!("/v1/hunts/{hunt}/leaderboard");
        let (status, board) = node
            .get(&format!("{path}?kind=team&limit=100"), Some(viewer))
            .await;
        assert_eq!(status, StatusCode::OK, "{board}");
        assert_eq!(board["frozen"], json!(false));
        assert_eq!(board["offset"], head, "node {i} read the whole log");
        assert_eq!(standings(&board), want_teams, "team board of node {i}");
        let (status, board) = node
            .get(&format!("{path}?kind=player&limit=100"), Some(viewer))
            .await;
        assert_eq!(status, StatusCode::OK, "{board}");
        assert_eq!(standings(&board), want_players, "player board of node {i}");
    }
}
