//! Who gets a notification prepared, read from the outbox of a node that prepares but does not
//! send: rank changes follow overtaking only (not while the board is frozen, not for spending),
//! a device that moves to another player loses the notifications queued for the first one, and
//! notifications older than any TTL are swept.

use serde_json::{Value, json};

use super::*;
use crate::live::{PLACES, broadcast, clue, find, join, live_hunt, new_team};

const P256DH: &str =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

/// Registers `endpoint` (never called: the node has no VAPID subject) for `player`.
async fn device(app: &TestApp, player: &Player, endpoint: &str) {
    let body = json!({"endpoint": endpoint, "keys": {"p256dh": P256DH, "auth": AUTH}});
    let (status, answer) = app
        .post("/v1/push/subscriptions", Some(&player.token), body)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
}

/// Waits until every event is numbered and expanded, then lists (endpoint, category) queued.
async fn prepared(app: &TestApp) -> Vec<(String, String)> {
    until_db(
        &app.db_url,
        "select not exists (select 1 from events where event_offset is null) \
           and not exists (select 1 from push_jobs) as ok",
        "push jobs expanded",
    )
    .await;
    rows(
        &app.db_url,
        "select s.endpoint, o.category from push_outbox o \
         join push_subscriptions s on s.id = o.subscription_id order by o.id",
    )
    .await
    .iter()
    .map(|r: &Value| {
        (
            r["endpoint"].as_str().unwrap().to_owned(),
            r["category"].as_str().unwrap().to_owned(),
        )
    })
    .collect()
}

async fn staff_post(app: &TestApp, staff: &Staff, path: &str) {
    let (status, body) = app.post(path, Some(&staff.token), json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{path}: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rank_pushes_follow_overtaking_but_not_a_frozen_board_nor_spending() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let targets = [
        (PLACES[0].0, PLACES[0].1, 5),
        (PLACES[1].0, PLACES[1].1, 10),
    ];
    let (hunt, _) = live_hunt(&app, &staff, json!({}), &targets).await;
    settle_pushes(&app.db_url, &hunt).await;
    let sold = clue(&app, &staff, &hunt, "for sale", json!({"cost": 8})).await;
    let (a, b) = (new_team(&app, &hunt).await, new_team(&app, &hunt).await);
    let (ea, eb) = ("https://push.example.net/a", "https://push.example.net/b");
    device(&app, &a.captain, ea).await;
    device(&app, &b.captain, eb).await;
    let rank_for = |all: &[(String, String)], e: &str| {
        all.iter()
            .filter(|(end, c)| end == e && c == "rank")
            .count()
    };

    // A 0 -> 5 passes B, level at 0.
    find(&app, &a.captain, &hunt, targets[0].1).await;
    let all = prepared(&app).await;
    assert_eq!((rank_for(&all, eb), rank_for(&all, ea)), (1, 0), "{all:?}");

    // B 0 -> 10 passes A, but the board is frozen: the scores are secret.
    staff_post(
        &app,
        &staff,
        &format!("/v1/hunts/{hunt}/leaderboard/freeze"),
    )
    .await;
    find(&app, &b.captain, &hunt, targets[1].1).await;
    let all = prepared(&app).await;
    assert_eq!(rank_for(&all, ea), 0, "{all:?}");
    staff_post(
        &app,
        &staff,
        &format!("/v1/hunts/{hunt}/leaderboard/unfreeze"),
    )
    .await;

    // B spends 8 (10 -> 2) and falls behind A: nobody overtook anybody.
    let (status, body) = app
        .post(
            &format!("/v1/hunts/{hunt}/clues/{sold}/buy"),
            Some(&b.captain.token),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let all = prepared(&app).await;
    assert_eq!((rank_for(&all, ea), rank_for(&all, eb)), (0, 1), "{all:?}");
    // The clue B bought is pushed to B, the find to nobody (each finder is alone in a team).
    let clue_for_b = all.iter().filter(|(e, c)| e == eb && c == "clue").count();
    assert_eq!(clue_for_b, 1, "{all:?}");
    assert!(all.iter().all(|(_, c)| c != "find"), "{all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_moves_to_another_player_loses_what_was_queued_for_the_first() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let (hunt, _) = live_hunt(&app, &staff, json!({}), &[(PLACES[0].0, PLACES[0].1, 5)]).await;
    settle_pushes(&app.db_url, &hunt).await;
    let team = new_team(&app, &hunt).await;
    let mate = join(&app, &team.invite).await;
    let shared = "https://push.example.net/shared-tablet";
    device(&app, &team.captain, shared).await;
    device(&app, &mate, "https://push.example.net/mate").await;
    broadcast(&app, &staff, &hunt, "for the team", Some(&team.id)).await;
    assert_eq!(prepared(&app).await.len(), 2);

    // The tablet now belongs to someone outside the team: the team's message is not theirs.
    let outsider = app.player().await;
    device(&app, &outsider, shared).await;
    let left = prepared(&app).await;
    assert_eq!(
        left,
        [(
            "https://push.example.net/mate".to_owned(),
            "broadcast".to_owned()
        )]
    );
    let owner = rows(
        &app.db_url,
        &format!("select player_id::text as p from push_subscriptions where endpoint = '{shared}'"),
    )
    .await;
    assert_eq!(owner[0]["p"], outsider.id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_older_than_any_ttl_are_swept() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let (hunt, _) = live_hunt(&app, &staff, json!({}), &[(PLACES[0].0, PLACES[0].1, 5)]).await;
    settle_pushes(&app.db_url, &hunt).await;
    let team = new_team(&app, &hunt).await;
    device(&app, &team.captain, "https://push.example.net/old").await;
    device(
        &app,
        &join(&app, &team.invite).await,
        "https://push.example.net/new",
    )
    .await;
    broadcast(&app, &staff, &hunt, "nobody sends me", None).await;
    assert_eq!(prepared(&app).await.len(), 2);
    crate::live::exec(
        &app.db_url,
        "update push_outbox set created_at = now() - interval '25 hours' \
         where subscription_id = (select id from push_subscriptions \
                                  where endpoint = 'https://push.example.net/old')",
    )
    .await;
    // The job's once-a-minute sweep, run now.
    let swept = nenufar::jobs::push::sweep(&app.state.ctx).await.unwrap();
    assert_eq!(swept, 1);
    assert_eq!(
        prepared(&app).await,
        [(
            "https://push.example.net/new".to_owned(),
            "broadcast".to_owned()
        )]
    );
}
