//! Delivery by a `nenufar serve` process: offset order, resume after a disconnect with nothing
//! missing or repeated, a replay of the whole visible history, team filtering, unsubscribe.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::nodes::Node;
use crate::support::*;

fn targets() -> Vec<(&'static str, (f64, f64), i64)> {
    PLACES.iter().map(|(n, at)| (*n, *at, 5)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reconnects_with_its_last_offset_gets_exactly_what_it_missed_in_order() {
    let node = Node::start(&fresh_database().await).await;
    let app = &node.app;
    let staff = app.staff().await;
    let (hunt, _) = live_hunt(app, &staff, json!({}), &targets()).await;
    let a = new_team(app, &hunt).await;
    let a2 = join(app, &a.invite).await;
    let b = new_team(app, &hunt).await;
    settle(&app.db_url, &hunt).await;
    // Two members of team A see the same events: one stays, the other drops off and comes back.
    let mut stayer = subscribed(app, &a2.token, &hunt, None).await;
    let mut leaver = subscribed(app, &a.captain.token, &hunt, None).await;

    broadcast(app, &staff, &hunt, "first", None).await;
    find(app, &a2, &hunt, PLACES[0].1).await;
    broadcast(app, &staff, &hunt, "to A before", Some(&a.id)).await;
    broadcast(app, &staff, &hunt, "to B before", Some(&b.id)).await;
    find(app, &b.captain, &hunt, PLACES[1].1).await;
    broadcast(app, &staff, &hunt, "fence 1", None).await;
    let before = stored(&until_broadcast(&mut leaver, "fence 1").await);
    assert_eq!(
        kinds(&before),
        [
            "broadcast",
            "target_found",
            "score_changed",
            "broadcast",
            "score_changed",
            "broadcast"
        ],
        "in the order they happened, B's broadcast and find details left out: {before:?}"
    );
    assert_increasing(&before);
    let last = *offsets(&before).last().unwrap();
    leaver.close(None).await.unwrap();

    // While it is away.
    find(app, &b.captain, &hunt, PLACES[2].1).await;
    broadcast(app, &staff, &hunt, "to A while away", Some(&a.id)).await;
    find(app, &a2, &hunt, PLACES[3].1).await;
    broadcast(app, &staff, &hunt, "to B while away", Some(&b.id)).await;
    broadcast(app, &staff, &hunt, "fence 2", None).await;
    let all = stored(&until_broadcast(&mut stayer, "fence 2").await);
    assert_increasing(&all);

    let mut back = subscribed(app, &a.captain.token, &hunt, Some(last)).await;
    let missed = stored(&until_broadcast(&mut back, "fence 2").await);
    assert_increasing(&missed);
    let (had, away): (Vec<Value>, Vec<Value>) = all
        .iter()
        .cloned()
        .partition(|m| m["offset"].as_i64().unwrap() <= last);
    assert_eq!(before, had, "both clients saw the same events before");
    assert_eq!(missed, away, "exactly the missed events, none twice");
    assert_eq!(
        kinds(&missed),
        [
            "score_changed",
            "broadcast",
            "target_found",
            "score_changed",
            "broadcast"
        ]
    );
    // Live events follow the backlog without a repeat.
    broadcast(app, &staff, &hunt, "fence 3", None).await;
    let after_backlog = stored(&until_broadcast(&mut back, "fence 3").await);
    assert_eq!(kinds(&after_backlog), ["broadcast"], "{after_backlog:?}");

    // after = 0 replays the whole history team A may see, in order.
    let mut replay = subscribed(app, &a.captain.token, &hunt, Some(0)).await;
    let history = stored(&until_broadcast(&mut replay, "fence 3").await);
    let expected = rows(
        &app.db_url,
        &format!(
            "select event_offset, kind from events where hunt_id = '{hunt}' \
             and (team_id is null or team_id = '{}') order by event_offset",
            a.id
        ),
    )
    .await;
    let expected: Vec<(i64, String)> = expected
        .iter()
        .map(|r| {
            (
                r["event_offset"].as_i64().unwrap(),
                r["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let got: Vec<(i64, String)> = offsets(&history)
        .into_iter()
        .zip(kinds(&history).into_iter().map(str::to_owned))
        .collect();
    assert_eq!(got, expected);
    assert!(history.ends_with(&[missed, after_backlog].concat()));
    let count = |kind: &str| kinds(&history).iter().filter(|k| **k == kind).count();
    assert_eq!(
        (count("team_created"), count("member_joined")),
        (2, 2),
        "both teams, but only team A's members: {history:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_b_never_receives_team_a_clues_finds_members_or_messages() {
    let node = Node::start(&fresh_database().await).await;
    let app = &node.app;
    let staff = app.staff().await;
    let (hunt, ids) = live_hunt(app, &staff, json!({}), &targets()).await;
    let a = new_team(app, &hunt).await;
    let b = new_team(app, &hunt).await;
    let clue_id = clue(
        app,
        &staff,
        &hunt,
        "secret clue behind the statue",
        json!({"after_target": ids[0]}),
    )
    .await;
    settle(&app.db_url, &hunt).await;
    let mut wa = subscribed(app, &a.captain.token, &hunt, None).await;
    let mut wb = subscribed(app, &b.captain.token, &hunt, None).await;

    find(app, &a.captain, &hunt, PLACES[0].1).await;
    let a2 = join(app, &a.invite).await;
    broadcast(app, &staff, &hunt, "secret message for A", Some(&a.id)).await;
    broadcast(app, &staff, &hunt, "message for B", Some(&b.id)).await;
    broadcast(app, &staff, &hunt, "everyone", None).await;

    let got_a = stored(&until_broadcast(&mut wa, "everyone").await);
    assert_eq!(
        kinds(&got_a),
        [
            "target_found",
            "score_changed",
            "clue_revealed",
            "member_joined",
            "broadcast",
            "broadcast"
        ],
        "{got_a:?}"
    );
    assert_eq!(got_a[2]["data"]["clue_id"], json!(clue_id));
    assert_eq!(got_a[3]["data"]["player_id"], json!(a2.id));
    assert_eq!(got_a[4]["data"]["message"], json!("secret message for A"));
    assert!(!format!("{got_a:?}").contains("message for B"));

    let got_b = until_broadcast(&mut wb, "everyone").await;
    let hunt_wide = |msgs: &[Value]| {
        let text = format!("{msgs:?}");
        assert!(
            stored(msgs).iter().all(|m| {
                let team_only = [
                    "target_found",
                    "clue_revealed",
                    "member_joined",
                    "broadcast",
                ]
                .contains(&m["kind"].as_str().unwrap());
                !team_only || m["data"]["team_id"] != json!(a.id)
            }),
            "{msgs:?}"
        );
        for secret in ["secret", "Tour Eiffel", &a2.id] {
            assert!(!text.contains(secret), "{secret} leaked to team B: {text}");
        }
    };
    hunt_wide(&got_b);
    assert_eq!(
        kinds(&stored(&got_b)),
        ["score_changed", "broadcast", "broadcast"],
        "{got_b:?}"
    );
    assert_eq!(stored(&got_b)[0]["data"]["team_id"], json!(a.id));
    // Replaying the whole history does not leak either.
    let mut replay = subscribed(app, &b.captain.token, &hunt, Some(0)).await;
    let history = until_broadcast(&mut replay, "everyone").await;
    hunt_wide(&history);

    // A draft hunt and an unknown hunt do not exist for players; the socket stays usable.
    let draft = app.draft_hunt(&staff, paris_area(), json!({})).await;
    for unknown in [draft, uuid::Uuid::new_v4().to_string()] {
        send(
            &mut wb,
            json!({"type": "subscribe", "hunt_id": unknown, "after": null}),
        )
        .await;
        let m = next(&mut wb, Duration::from_secs(10)).await.unwrap();
        assert_eq!(
            (m["type"].as_str(), m["code"].as_str()),
            (Some("error"), Some("not_found")),
            "{m}"
        );
        assert_eq!(m["hunt_id"], json!(unknown));
    }
    broadcast(app, &staff, &hunt, "still there", None).await;
    until_broadcast(&mut wb, "still there").await;

    // After unsubscribe, nothing more of that hunt; another hunt's event is the fence.
    let (other, _) = live_hunt(app, &staff, json!({}), &targets()).await;
    settle(&app.db_url, &other).await;
    subscribe(&mut wb, &other, None).await;
    send(&mut wb, json!({"type": "unsubscribe", "hunt_id": hunt})).await;
    let m = next(&mut wb, ARRIVES).await.unwrap();
    assert_eq!(m, json!({"type": "unsubscribed", "hunt_id": hunt}));
    broadcast(app, &staff, &hunt, "gone", None).await;
    // Once A's socket has it, the feed has fanned it out; a frame for wb would precede the fence.
    until_broadcast(&mut wa, "gone").await;
    broadcast(app, &staff, &other, "other hunt", None).await;
    let got = until_broadcast(&mut wb, "other hunt").await;
    assert!(got.iter().all(|m| m["hunt_id"] == json!(other)), "{got:?}");
}
