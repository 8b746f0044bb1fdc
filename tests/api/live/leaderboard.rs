//! The team leaderboard live: rank changes reach the teams overtaken, a freeze hides score moves
//! from players (staff still see them), the reveal sends the board; `around=me` windows.

use serde_json::{Value, json};

use super::*;
use crate::support::*;

/// The first `n` `(id, score)` pairs of a GET leaderboard answer.
fn top(board: &Value, n: usize) -> Vec<(String, i64)> {
    board["entries"].as_array().expect("entries")[..n]
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_owned(),
                e["score"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn pair(team: &Team, score: i64) -> (String, i64) {
    (team.id.clone(), score)
}

fn rank_moves(msgs: &[Value]) -> Vec<&Value> {
    msgs.iter()
        .filter(|m| m["kind"] == json!("rank_changed"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranks_move_live_a_freeze_hides_them_from_players_and_the_reveal_sends_the_board() {
    let app = TestApp::spawn().await;
    let other = TestApp::spawn_on(app.db_url.clone()).await;
    let staff = app.staff().await;
    let places = [(0, 5), (1, 3), (2, 10), (3, 10)].map(|(i, p)| (PLACES[i].0, PLACES[i].1, p));
    let (hunt, _) = live_hunt(&app, &staff, json!({}), &places).await;
    // Created in this order, so at 0 points they rank A, B, C, then the nine others.
    let (a, b, c) = (
        new_team(&app, &hunt).await,
        new_team(&app, &hunt).await,
        new_team(&app, &hunt).await,
    );
    let mut others = Vec::new();
    for _ in 0..9 {
        others.push(new_team(&app, &hunt).await);
    }
    settle(&app.db_url, &hunt).await;
    let mut wa = subscribed(&app, &a.captain.token, &hunt, None).await;
    let mut wb = subscribed(&app, &b.captain.token, &hunt, None).await;
    let mut wc = subscribed(&other, &c.captain.token, &hunt, None).await;

    // A 5 and B 3 keep their ranks; C's 10 takes it from third to first, past A and B.
    find(&app, &a.captain, &hunt, PLACES[0].1).await;
    find(&app, &b.captain, &hunt, PLACES[1].1).await;
    find(&app, &c.captain, &hunt, PLACES[2].1).await;
    broadcast(&app, &staff, &hunt, "before the freeze", None).await;
    for (ws, team, rank, previous) in [
        (&mut wa, &a, 2, 1),
        (&mut wb, &b, 3, 2),
        (&mut wc, &c, 1, 3),
    ] {
        let got = until_broadcast(ws, "before the freeze").await;
        let moves = rank_moves(&got);
        assert_eq!(
            moves.len(),
            1,
            "one rank change, about this team only: {got:?}"
        );
        assert_eq!(
            moves[0]["data"],
            json!({"team_id": team.id, "rank": rank, "previous_rank": previous})
        );
        // It carries the offset of the score change that caused it: C's.
        let cause = got
            .iter()
            .find(|m| m["kind"] == json!("score_changed") && m["data"]["team_id"] == json!(c.id))
            .expect("C's score change");
        assert_eq!(moves[0]["offset"], cause["offset"]);
    }

    let (status, body) = app
        .post(
            &format!("/v1/hunts/{hunt}/leaderboard/freeze"),
            Some(&staff.token),
            json!({}),
        )
        .await;
    assert_eq!(status.as_u16(), 204, "{body}");
    // B takes the lead while frozen: only B hears of it.
    find(&app, &b.captain, &hunt, PLACES[3].1).await;
    broadcast(&app, &staff, &hunt, "while frozen", None).await;
    for ws in [&mut wa, &mut wc] {
        let got = until_broadcast(ws, "while frozen").await;
        assert_eq!(
            kinds(&got),
            ["leaderboard_frozen", "broadcast"],
            "no score or rank moves of others while frozen: {got:?}"
        );
    }
    let got = until_broadcast(&mut wb, "while frozen").await;
    assert_eq!(
        kinds(&got),
        [
            "leaderboard_frozen",
            "target_found",
            "score_changed",
            "broadcast"
        ],
        "{got:?}"
    );
    assert_eq!(got[2]["data"]["score"], json!(13));

    let path = format!("/v1/hunts/{hunt}/leaderboard?limit=100");
    let frozen = vec![pair(&c, 10), pair(&a, 5), pair(&b, 3)];
    let live = vec![pair(&b, 13), pair(&c, 10), pair(&a, 5)];
    for node in [&app, &other] {
        for viewer in [&a.captain, &b.captain] {
            let (_, board) = node.get(&path, Some(&viewer.token)).await;
            assert_eq!(board["frozen"], json!(true), "{board}");
            assert_eq!(
                top(&board, 3),
                frozen,
                "players see the board at the freeze"
            );
            assert_eq!(board["entries"].as_array().unwrap().len(), 12);
        }
        let (_, board) = node.get(&path, Some(&staff.token)).await;
        assert_eq!(
            board["frozen"],
            json!(true),
            "staff are told it is frozen: {board}"
        );
        assert_eq!(top(&board, 3), live, "staff see the live board");
        let (_, h) = node
            .get(&format!("/v1/hunts/{hunt}"), Some(&staff.token))
            .await;
        assert_eq!(h["leaderboard_frozen"], json!(true), "{h}");
    }

    let (status, body) = app
        .post(
            &format!("/v1/hunts/{hunt}/leaderboard/unfreeze"),
            Some(&staff.token),
            json!({}),
        )
        .await;
    assert_eq!(status.as_u16(), 204, "{body}");
    for ws in [&mut wa, &mut wc] {
        let got = until(ws, ARRIVES, |m| m["type"] == json!("leaderboard")).await;
        assert_eq!(kinds(&stored(&got)), ["leaderboard_unfrozen"], "{got:?}");
        let board = got.last().unwrap();
        // The fields of `GET .../leaderboard`, each entry named as there.
        let mut keys: Vec<&str> = board
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["entries", "frozen", "hunt_id", "kind", "offset", "type"],
            "{board}"
        );
        assert_eq!(board["kind"], json!("team"));
        let mut entry: Vec<&str> = board["entries"][0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        entry.sort_unstable();
        assert_eq!(entry, ["id", "name", "rank", "score"], "{board}");
        assert_eq!(board["frozen"], json!(false));
        assert_eq!(board["offset"], got[0]["offset"], "sent with the unfreeze");
        let entries: Vec<(String, i64)> = board["entries"].as_array().unwrap()[..3]
            .iter()
            .map(|e| {
                (
                    e["id"].as_str().unwrap().to_owned(),
                    e["score"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(entries, live, "{board}");
        assert_eq!(board["entries"][0]["rank"], json!(1));
    }
    for node in [&app, &other] {
        let (_, board) = node.get(&path, Some(&a.captain.token)).await;
        assert_eq!(board["frozen"], json!(false), "{board}");
        assert_eq!(top(&board, 3), live);
        let (_, h) = node
            .get(&format!("/v1/hunts/{hunt}"), Some(&staff.token))
            .await;
        assert_eq!(h["leaderboard_frozen"], json!(false), "{h}");
    }

    // around=me: B, C, A, then the others in creation order; the fifth of them ranks 8th.
    let me = &others[4];
    let (_, board) = app
        .get(
            &format!("/v1/hunts/{hunt}/leaderboard?around=me&limit=3"),
            Some(&me.captain.token),
        )
        .await;
    let ranks: Vec<(i64, &str)> = board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["rank"].as_i64().unwrap(), e["id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ranks,
        [
            (7, others[3].id.as_str()),
            (8, me.id.as_str()),
            (9, others[5].id.as_str())
        ]
    );
    let (_, board) = other
        .get(
            &format!("/v1/hunts/{hunt}/leaderboard?kind=player&around=me&limit=5"),
            Some(&me.captain.token),
        )
        .await;
    let entries = board["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 5, "{board}");
    assert!(
        entries.iter().any(|e| e["id"] == json!(me.captain.id)),
        "{board}"
    );
}

/// Sessions of this database waiting for a row lock.
async fn lock_waits(db: &str) -> i64 {
    rows(
        db,
        "select count(*) as n from pg_stat_activity \
         where datname = current_database() and wait_event_type = 'Lock'",
    )
    .await[0]["n"]
        .as_i64()
        .unwrap()
}

async fn until_lock_waits(db: &str, n: i64) {
    let what = format!("{n} sessions waiting for a lock");
    wait_until(&what, ARRIVES, async || {
        let waiting = lock_waits(db).await;
        if waiting >= n { Ok(()) } else { Err(waiting) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_find_that_commits_after_the_freeze_does_not_reach_other_teams() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let (hunt, _) = live_hunt(&app, &staff, json!({}), &[(PLACES[0].0, PLACES[0].1, 5)]).await;
    let (a, b) = (new_team(&app, &hunt).await, new_team(&app, &hunt).await);
    settle(&app.db_url, &hunt).await;
    let mut wb = subscribed(&app, &b.captain.token, &hunt, None).await;

    // Hold team A's row: A's find has begun (the hunt was not frozen then) but cannot commit.
    let mut holder = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    diesel::sql_query("begin")
        .execute(&mut holder)
        .await
        .unwrap();
    diesel::sql_query(format!(
        "select 1 from teams where id = '{}' for update",
        a.id
    ))
    .execute(&mut holder)
    .await
    .unwrap();
    let find_a = app.check_in(&a.captain, &hunt, PLACES[0].1.0, PLACES[0].1.1, 5.0);
    let steer = async {
        until_lock_waits(&app.db_url, 1).await;
        let path = format!("/v1/hunts/{hunt}/leaderboard/freeze");
        let freeze = app.post(&path, Some(&staff.token), json!({}));
        tokio::pin!(freeze);
        // The freeze completes now, or waits for the find to commit first: both are fine.
        let done = tokio::select! {
            r = &mut freeze => Some(r),
            () = until_lock_waits(&app.db_url, 2) => None,
        };
        diesel::sql_query("commit")
            .execute(&mut holder)
            .await
            .unwrap();
        match done {
            Some(r) => r,
            None => freeze.await,
        }
    };
    let ((_, found), (status, body)) = tokio::join!(find_a, steer);
    assert_eq!(found["verdict"], json!("found"), "{found}");
    assert_eq!(status.as_u16(), 204, "{body}");

    broadcast(&app, &staff, &hunt, "fence", None).await;
    let got = stored(&until_broadcast(&mut wb, "fence").await);
    let frozen_at = got
        .iter()
        .position(|m| m["kind"] == json!("leaderboard_frozen"))
        .expect("leaderboard_frozen");
    assert!(
        got[frozen_at..]
            .iter()
            .all(|m| m["kind"] != json!("score_changed")),
        "team B heard of A's score after the freeze: {got:?}"
    );
}
