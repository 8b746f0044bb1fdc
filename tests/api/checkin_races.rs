//! The group-commit writer under idempotency-key races: a client reusing one key (with the same
//! body and with different bodies, in parallel, through two nodes) among many players' check-ins
//! costs only its own check-ins; nothing else re-runs (counted through the writer's metric).

use std::collections::HashMap;

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const EIFFEL: (f64, f64) = (48.85837, 2.29448);
/// Targets 200 m apart along a meridian; check-ins halfway between two find nothing.
const TARGETS: u32 = 30;

fn target_lat(i: u32) -> f64 {
    EIFFEL.0 + 200.0 * f64::from(i % TARGETS) / 111_200.0
}

fn gap_lat(i: u32) -> f64 {
    target_lat(i) + 100.0 / 111_200.0
}

/// The sum of `nenufar_checkin_batch_reruns_total` over its reasons, and the lines themselves.
pub async fn batch_reruns(app: &TestApp) -> (f64, Vec<String>) {
    batch_reruns_for(app, "").await
}

/// The same, for the reasons whose label starts with `reason`.
pub async fn batch_reruns_for(app: &TestApp, reason: &str) -> (f64, Vec<String>) {
    let text = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<String> = text
        .lines()
        .filter(|l| {
            l.starts_with(&format!(
                "nenufar_checkin_batch_reruns_total{{reason=\"{reason}"
            ))
        })
        .map(str::to_owned)
        .collect();
    assert!(!lines.is_empty(), "no re-run counter in /metrics:\n{text}");
    let sum = lines
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    (sum, lines)
}

/// One request of the load: who sent which body, and what came back.
struct Sent {
    player: String,
    key: String,
    body: Value,
    task: tokio::task::JoinHandle<(StatusCode, Value)>,
}

#[derive(diesel::QueryableByName)]
struct StoredRow {
    #[diesel(sql_type = diesel::sql_types::Double)]
    lat: f64,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    response: Value,
}

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn n(conn: &mut AsyncPgConnection, sql: String) -> i64 {
    diesel::sql_query(sql)
        .get_result::<N>(conn)
        .await
        .unwrap()
        .n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_same_key_race_costs_only_the_raced_check_ins_on_one_or_two_nodes() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_on(a.db_url.clone()).await;
    let nodes = [&a, &b];
    let staff = a.staff().await;
    let hunt = a
        .draft_hunt(&staff, paris_area(), json!({"team_max_size": 5}))
        .await;
    let targets = (0..TARGETS)
        .map(|i| {
            circle(
                &format!("t{i}"),
                target_lat(i),
                EIFFEL.1,
                30.0,
                i64::from(i) + 1,
            )
        })
        .collect();
    a.import(&staff, &hunt, collection(targets)).await;
    a.publish(&staff, &hunt).await;
    let mut background: Vec<Player> = Vec::new();
    for _ in 0..8 {
        background.extend(a.team_of(&hunt, 5).await);
    }
    let mut racers: Vec<Player> = Vec::new();
    for _ in 0..10 {
        racers.push(a.player_in_team(&hunt).await);
    }
    let path = format!("/v1/hunts/{hunt}/checkins");
    let at = |lat: f64| checkin_body(lat, EIFFEL.1, 5.0, Utc::now());

    // Two waves, each fired all at once: every background player checks in three times (at a
    // target, between targets, at another target) through alternating nodes; every racer sends
    // one key four times: the same found body through both nodes, another found body and a
    // body that finds nothing.
    let mut sent: Vec<Sent> = Vec::new();
    for wave in 0..2u32 {
        let mut bodies: Vec<(usize, &Player, Value)> = Vec::new();
        for (i, p) in background.iter().enumerate() {
            let i = i as u32;
            for (k, lat) in [
                target_lat(i + wave),
                gap_lat(i),
                target_lat(2 * i + 7 + wave),
            ]
            .into_iter()
            .enumerate()
            {
                bodies.push((i as usize + k, p, at(lat)));
            }
        }
        for (r, p) in racers.iter().enumerate() {
            let r = r as u32;
            let key = uuid::Uuid::new_v4();
            let mut found_one = at(target_lat(3 * r + wave));
            let mut found_other = at(target_lat(3 * r + 1 + wave));
            let mut nothing = at(gap_lat(3 * r));
            for body in [&mut found_one, &mut found_other, &mut nothing] {
                body["idempotency_key"] = json!(key);
            }
            bodies.push((0, p, found_one.clone()));
            bodies.push((1, p, found_one));
            bodies.push((0, p, found_other));
            bodies.push((1, p, nothing));
        }
        for (node, p, body) in bodies {
            sent.push(Sent {
                player: p.id.clone(),
                key: body["idempotency_key"].as_str().unwrap().to_owned(),
                task: nodes[node % 2].spawn_post(&path, &p.token, body.clone()),
                body,
            });
        }
    }
    let mut answers: Vec<(Sent, StatusCode, Value)> = Vec::new();
    for mut s in sent {
        let (status, body) = (&mut s.task).await.unwrap();
        answers.push((s, status, body));
    }

    // No batch rolled back for a deadlock or failed: a race on one node costs the raced check-ins
    // only (a team's check-ins go through one writer), and one across the nodes costs at most a
    // re-run of the batch that lost it (`race`), one per raced key and wave at most.
    let mut races = 0.0;
    for node in nodes {
        let (reruns, lines) = batch_reruns(node).await;
        let (raced, _) = batch_reruns_for(node, "race").await;
        assert_eq!(reruns, raced, "batches ran again: {lines:?}");
        races += raced;
    }
    assert!(
        races <= 2.0 * racers.len() as f64,
        "{races} re-runs for races"
    );

    // One stored row per key; each answer is that row's response, or 409 for a different body.
    let mut conn = AsyncPgConnection::establish(&a.db_url).await.unwrap();
    let mut by_key: HashMap<(String, String), Vec<&(Sent, StatusCode, Value)>> = HashMap::new();
    for answer in &answers {
        let (s, _, _) = answer;
        by_key
            .entry((s.player.clone(), s.key.clone()))
            .or_default()
            .push(answer);
    }
    let (mut found, mut refused) = (0, 0);
    for ((player, key), answers) in &by_key {
        let rows: Vec<StoredRow> = diesel::sql_query(format!(
            "select st_y(fix::geometry) as lat, response from checkins \
             where player_id = '{player}' and idempotency_key = '{key}'"
        ))
        .load(&mut conn)
        .await
        .unwrap();
        assert_eq!(rows.len(), 1, "one row per key");
        let stored = &rows[0];
        for (s, status, body) in answers {
            let lat = s.body["lat"].as_f64().unwrap();
            if (lat - stored.lat).abs() < 1e-9 {
                assert_eq!(*status, StatusCode::OK, "{body}");
                assert_eq!(
                    body,
                    &answered(&stored.response),
                    "the answer is the stored response"
                );
                if body["verdict"] == json!("found") {
                    found += 1;
                }
            } else {
                assert_eq!(
                    (*status, body["code"].as_str()),
                    (StatusCode::CONFLICT, Some("idempotency_key_reused")),
                    "{body}"
                );
                refused += 1;
            }
        }
    }
    // The load really ran: finds were made, and each racer's other bodies were refused.
    assert!(found > 20, "{found} found answers");
    assert!(refused >= 2 * racers.len(), "{refused} refused answers");
    let keys = by_key.len() as i64;
    assert_eq!(
        n(
            &mut conn,
            format!("select count(*) as n from checkins where hunt_id = '{hunt}'")
        )
        .await,
        keys
    );
    assert_eq!(
        n(
            &mut conn,
            "select count(*) as n from checkins where response = 'null'::jsonb".into()
        )
        .await,
        0,
        "every stored row has its answer"
    );

    // Scores equal finds, and every find belongs to a stored check-in that announced it.
    let checks = [
        "select count(*) as n from teams t where t.score <> \
         (select coalesce(sum(points), 0) from finds f where f.team_id = t.id)",
        "select count(*) as n from player_scores s where s.score <> (select coalesce(sum(points), 0) \
         from finds f where f.hunt_id = s.hunt_id and f.player_id = s.player_id)",
        "select count(*) as n from finds f where not exists (select 1 from checkins c \
         where c.id = f.checkin_id and c.verdict = 'found' \
         and c.response->'targets' @> jsonb_build_array(jsonb_build_object('id', f.target_id)))",
    ];
    for sql in checks {
        assert_eq!(n(&mut conn, sql.into()).await, 0, "{sql}");
    }
    let finds = n(
        &mut conn,
        format!("select count(*) as n from finds where hunt_id = '{hunt}'"),
    )
    .await;
    assert!(finds > 0);
    assert_eq!(
        n(
            &mut conn,
            format!("select count(*) as n from events where hunt_id = '{hunt}' and kind = 'target_found'")
        )
        .await,
        finds,
        "one target_found event per find"
    );
}

#[tokio::test]
async fn a_check_in_row_is_written_once_with_its_answer_and_never_changes() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
    app.import(
        &staff,
        &hunt,
        collection(vec![circle("t", EIFFEL.0, EIFFEL.1, 30.0, 2)]),
    )
    .await;
    app.publish(&staff, &hunt).await;
    let p = app.player_in_team(&hunt).await;
    let (status, body) = app.check_in(&p, &hunt, EIFFEL.0, EIFFEL.1, 5.0).await;
    assert_eq!(
        (status, &body["verdict"]),
        (StatusCode::OK, &json!("found"))
    );

    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let refused = |r: Result<usize, diesel::result::Error>, why: &str, expected: &str| {
        let e = r.expect_err(why).to_string();
        assert!(e.contains(expected), "{why}: {e}");
    };
    // A stored row: no update (not even of its answer alone), no delete.
    refused(
        diesel::sql_query("update checkins set response = '{}'")
            .execute(&mut conn)
            .await,
        "update of a stored row",
        "append-only",
    );
    refused(
        diesel::sql_query("update checkins set verdict = 'already_found'")
            .execute(&mut conn)
            .await,
        "update of a verdict",
        "append-only",
    );
    refused(
        diesel::sql_query("delete from checkins")
            .execute(&mut conn)
            .await,
        "delete",
        "append-only",
    );
    // A row without its answer (the placeholder earlier versions wrote) is not stored.
    refused(
        diesel::sql_query(
            "insert into checkins (id, hunt_id, player_id, team_id, idempotency_key, request_hash, \
             fix, accuracy_m, captured_at, received_at, verdict, response) \
             select gen_random_uuid(), hunt_id, player_id, team_id, gen_random_uuid(), request_hash, \
             fix, accuracy_m, captured_at, received_at, 'found', 'null' from checkins limit 1",
        )
        .execute(&mut conn)
        .await,
        "a row without its answer",
        "checkins_response_written",
    );
    assert_eq!(app.count("checkins").await, 1);
    let stored: Vec<Stored> = diesel::sql_query("select verdict, response from checkins")
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored[0].verdict, "found");
    assert_eq!(stored[0].response["team_score"], json!(2));
    assert_eq!(stored[0].response["verdict"], json!("found"));
}

#[derive(diesel::QueryableByName)]
struct Stored {
    #[diesel(sql_type = diesel::sql_types::Text)]
    verdict: String,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    response: serde_json::Value,
}
