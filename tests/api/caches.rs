//! Issue 9 item 13: a node's memory does not only grow. Every cache is bounded and shows on
//! `/metrics` as `nenufar_cache_entries{cache="..."}`; what belongs to archived hunts goes at the
//! next sweep, what nobody used for the idle time too, and a hunt used again is rebuilt (its
//! leaderboard from the stored snapshot plus the events after it).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::json;

use crate::live::{ARRIVES, Ws, connect, exec, rows, settle, subscribe, until_kind};
use crate::support::*;
use nenufar::app::AppState;
use nenufar::cache::CacheConfig;
use nenufar::clock::{Clock, FakeClock};
use nenufar::domain::ids::HuntId;
use nenufar::live::feed::Feed;

async fn node(caches: CacheConfig) -> (TestApp, Arc<FakeClock>) {
    let db = fresh_database().await;
    let clock = FakeClock::starting_now();
    let pool = nenufar::db::connect(&db, 8).unwrap();
    let state = AppState::with_clock(pool, clock.clone())
        .with_caches(caches)
        .with_limits(load_test_limits());
    (TestApp::spawn_state(db, state).await, clock)
}

/// Every `nenufar_cache_entries` row of `/metrics`, by cache.
async fn gauges(app: &TestApp) -> BTreeMap<String, i64> {
    let text = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("nenufar_cache_entries{cache=\""))
        .map(|l| {
            let (name, value) = l.split_once("\"} ").unwrap();
            (name.to_owned(), value.parse().unwrap())
        })
        .collect()
}

/// Sweeps (as the node's timer would, with `idle` taken as passed) until every cache is empty:
/// a feed goes once its last session has ended, which the closed sockets' tasks do on their own.
async fn until_empty(app: &TestApp, idle: Duration) -> BTreeMap<String, i64> {
    wait_until("every cache empty", ARRIVES * 2, async || {
        app.state.sweep_caches_at(Instant::now() + idle).await;
        let g = gauges(app).await;
        if g.values().all(|n| *n == 0) {
            Ok(g)
        } else {
            Err(g)
        }
    })
    .await
}

const EIFFEL: (f64, f64) = (48.85837, 2.29448);
const LOUVRE: (f64, f64) = (48.8606, 2.3376);

/// A published hunt with two targets, live now for a day, archived an hour after it ends.
async fn hunt(app: &TestApp, staff: &Staff) -> String {
    let now = app.now();
    let (status, body) = app
        .post(
            "/v1/hunts",
            Some(&staff.token),
            json!({
                "title": "Test hunt", "city": "Paris", "area": paris_area(),
                "teaser_at": now - chrono::Duration::hours(1), "live_at": now - chrono::Duration::minutes(1),
                "ends_at": now + chrono::Duration::days(1), "archive_at": now + chrono::Duration::days(1) + chrono::Duration::hours(1),
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let hunt = body["id"].as_str().unwrap().to_owned();
    app.import(
        staff,
        &hunt,
        collection(vec![
            circle("Tour Eiffel", EIFFEL.0, EIFFEL.1, 40.0, 5),
            circle("Louvre", LOUVRE.0, LOUVRE.1, 40.0, 7),
        ]),
    )
    .await;
    app.publish(staff, &hunt).await;
    hunt
}

/// One hunt played: a player's team, a find, a subscription (then closed), a leaderboard read.
async fn play(app: &TestApp, staff: &Staff) -> (String, Player) {
    let hunt = hunt(app, staff).await;
    let p = app.player_in_team(&hunt).await;
    let (status, body) = app.check_in(&p, &hunt, EIFFEL.0, EIFFEL.1, 5.0).await;
    assert_eq!(
        (status, body["verdict"].as_str()),
        (StatusCode::OK, Some("found")),
        "{body}"
    );
    let mut ws = connect(app, &p.token).await;
    subscribe(&mut ws, &hunt, None).await;
    close(ws).await;
    let (status, board) = app
        .get(&format!("/v1/hunts/{hunt}/leaderboard"), Some(&p.token))
        .await;
    assert_eq!(status, StatusCode::OK, "{board}");
    (hunt, p)
}

async fn close(mut ws: Ws) {
    ws.close(None).await.unwrap();
    while let Ok(Some(Ok(_))) = tokio::time::timeout(ARRIVES, ws.next()).await {}
}

fn caches(idle: Duration) -> CacheConfig {
    CacheConfig {
        idle,
        sweep_every: Duration::from_secs(3600),
        max_hunts: 64,
        max_members: 64,
        max_tokens: 64,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_hunts_played_then_archived_leave_every_cache_at_its_floor() {
    // Nothing goes for being idle here (an hour): only the bound and the archive empty the caches.
    let (app, clock) = node(caches(Duration::from_secs(3600))).await;
    let staff = app.staff().await;
    let played: Vec<(String, Player)> = futures_util::stream::iter(0..300)
        .map(|_| play(&app, &staff))
        .buffer_unordered(6)
        .collect()
        .await;
    let during = gauges(&app).await;
    for cache in [
        "hunt_gates",
        "hunt_indexes",
        "memberships",
        "live_feeds",
        "tokens",
    ] {
        let n = during.get(cache).copied().unwrap_or(-1);
        assert!(
            (1..=64).contains(&n),
            "{cache} holds {n}, within its bound of 64: {during:?}"
        );
    }
    assert!(during.contains_key("vapid_headers"), "{during:?}");

    // Two days later every hunt is archived (and every cached token has expired).
    let start = clock.now();
    clock.advance(chrono::Duration::days(2));
    let after = until_empty(&app, Duration::ZERO).await;
    assert_eq!(after.len(), 6, "one gauge per cache: {after:?}");

    // A hunt used again is rebuilt: its board from the snapshot stored when its feed went.
    clock.set(start);
    let (hunt, p) = &played[0];
    exec(
        &app.db_url,
        &format!("update hunts set ends_at = now() + interval '5 days', archive_at = null where id = '{hunt}'"),
    )
    .await;
    let stored = rows(
        &app.db_url,
        &format!("select count(*) as n from leaderboard_snapshots where hunt_id = '{hunt}'"),
    )
    .await;
    assert_eq!(
        stored[0]["n"],
        json!(1),
        "the feed stored its snapshot when it went"
    );
    let (status, body) = app.check_in(p, hunt, LOUVRE.0, LOUVRE.1, 5.0).await;
    assert_eq!(
        (
            status,
            body["verdict"].as_str(),
            body["team_score"].as_i64()
        ),
        (StatusCode::OK, Some("found"), Some(12)),
        "{body}"
    );
    // The find's events are numbered just after its commit: the board catches up within moments.
    let what = "the board showing the find after the snapshot";
    wait_until(what, ARRIVES, async || {
        let (_, board) = app
            .get(&format!("/v1/hunts/{hunt}/leaderboard"), Some(&p.token))
            .await;
        if board["entries"][0]["score"] == json!(12) {
            Ok(())
        } else {
            Err(board)
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hunt_nobody_used_for_the_idle_time_leaves_every_cache_and_comes_back_whole() {
    let idle = Duration::from_secs(1);
    let (app, _clock) = node(caches(idle)).await;
    let staff = app.staff().await;
    let (hunt, p) = play(&app, &staff).await;
    let (other, _) = play(&app, &staff).await;
    settle(&app.db_url, &hunt).await;
    let before = gauges(&app).await;
    assert!(
        before["live_feeds"] >= 2 && before["hunt_gates"] >= 2,
        "{before:?}"
    );
    until_empty(&app, idle).await;

    // Used again: a subscriber resuming from the start gets the whole history (the new feed
    // started from the snapshot, so older events come from the log), then the live find.
    let mut ws = connect(&app, &p.token).await;
    subscribe(&mut ws, &hunt, Some(0)).await;
    let replayed = until_kind(&mut ws, "score_changed", ARRIVES).await;
    assert!(
        replayed.iter().any(|m| m["kind"] == json!("target_found")),
        "{replayed:?}"
    );
    let (_, body) = app.check_in(&p, &hunt, LOUVRE.0, LOUVRE.1, 5.0).await;
    assert_eq!(body["team_score"], json!(12), "{body}");
    let live = until_kind(&mut ws, "score_changed", ARRIVES).await;
    assert_eq!(live.last().unwrap()["data"]["score"], json!(12), "{live:?}");
    let (_, board) = app
        .get(&format!("/v1/hunts/{hunt}/leaderboard"), Some(&p.token))
        .await;
    assert_eq!(board["entries"][0]["score"], json!(12), "{board}");
    close(ws).await;
    // The other hunt was not touched: it is still out of every cache.
    let hunt_id = HuntId(uuid::Uuid::parse_str(&other).unwrap());
    assert!(app.state.hub.existing(hunt_id).is_none());
}

/// A feed started from a snapshot plus the events after it has the same boards (live and frozen,
/// with names and tie-breaks) as one that folded the whole log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_started_from_a_snapshot_has_the_boards_of_one_that_folded_the_whole_log() {
    let (app, _clock) = node(caches(Duration::from_secs(3600))).await;
    let staff = app.staff().await;
    let hunt = hunt(&app, &staff).await;
    let id = HuntId(uuid::Uuid::parse_str(&hunt).unwrap());
    let mut players = Vec::new();
    for _ in 0..4 {
        players.push(app.player_in_team(&hunt).await);
    }
    app.check_in(&players[0], &hunt, EIFFEL.0, EIFFEL.1, 5.0)
        .await;
    app.check_in(&players[1], &hunt, LOUVRE.0, LOUVRE.1, 5.0)
        .await;
    let path = format!("/v1/hunts/{hunt}/leaderboard/freeze");
    assert_eq!(
        app.post(&path, Some(&staff.token), json!({}))
            .await
            .0
            .as_u16(),
        204
    );
    app.check_in(&players[2], &hunt, EIFFEL.0, EIFFEL.1, 5.0)
        .await;
    settle(&app.db_url, &hunt).await;
    // The snapshot: this node's feed, stored as its eviction would.
    let feed = app
        .state
        .hub
        .current(&app.state.ctx.pool, id)
        .await
        .unwrap();
    feed.store_snapshot(&app.state.ctx.pool).await.unwrap();
    let (through, _) = feed.state_now();
    // Events after it, the frozen copy still in force.
    app.check_in(&players[3], &hunt, LOUVRE.0, LOUVRE.1, 5.0)
        .await;
    app.check_in(&players[0], &hunt, LOUVRE.0, LOUVRE.1, 5.0)
        .await;
    app.player_in_team(&hunt).await;
    settle(&app.db_url, &hunt).await;
    crate::live::sequenced(&app.db_url).await;

    let from_snapshot = Feed::new(id);
    from_snapshot.catch_up(&app.state.ctx.pool).await.unwrap();
    let folded = Feed::folding_the_whole_log(id);
    folded.catch_up(&app.state.ctx.pool).await.unwrap();
    let (head, state) = from_snapshot.state_now();
    assert!(head > through, "events came after the snapshot");
    assert_eq!(folded.state_now(), (head, state.clone()));
    let frozen = state.frozen.as_ref().expect("the frozen copy");
    assert!(frozen.1 <= through, "frozen before the snapshot");
    assert_eq!(state.boards.teams.len(), 5);
    assert_eq!(
        frozen.0.teams.len(),
        4,
        "the team made after the freeze is not in the copy"
    );
    assert_eq!(state.boards.teams[0].1, 12, "{:?}", state.boards.teams);
    // What players and staff read agrees too.
    let read = |f: &Feed| {
        f.with_boards(|b, frozen, offset| {
            (nenufar::live::snapshot::BoardsState::of(b), frozen, offset)
        })
    };
    assert_eq!(read(&from_snapshot), read(&folded));
    assert!(read(&folded).1, "players see the frozen copy");
}
