//! What is pushed, with what text, and to whom: each category to its audience only; muted
//! categories and players with a live WebSocket get nothing unless they asked for both.

use serde_json::{Value, json};

use super::*;
use crate::live::{PLACES, broadcast, clue, connect, exec, find, join, live_hunt, new_team};

fn by_category<'a>(pushes: &'a [Value], category: &str) -> Vec<&'a Value> {
    pushes
        .iter()
        .filter(|p| p["category"] == category)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_category_reaches_its_audience_only_with_its_text_and_a_deep_link() {
    let app = TestApp::spawn_pushing().await;
    let peer = PushPeer::start().await;
    let staff = app.staff().await;
    let eiffel = PLACES[0];
    let (hunt, targets) = live_hunt(&app, &staff, json!({}), &[(eiffel.0, eiffel.1, 5)]).await;
    settle_pushes(&app.db_url, &hunt).await;
    let a = new_team(&app, &hunt).await;
    let a2 = join(&app, &a.invite).await;
    let b = new_team(&app, &hunt).await;
    clue(
        &app,
        &staff,
        &hunt,
        "Look under the bridge",
        json!({"after_target": targets[0]}),
    )
    .await;
    let (finder, mate, other) = (
        subscribe(&app, &peer, &a.captain).await,
        subscribe(&app, &peer, &a2).await,
        subscribe(&app, &peer, &b.captain).await,
    );

    find(&app, &a.captain, &hunt, eiffel.1).await;
    broadcast(&app, &staff, &hunt, "Team B only", Some(&b.id)).await;
    broadcast(&app, &staff, &hunt, "Everyone", None).await;
    exec(
        &app.db_url,
        &format!("update hunts set ends_at = now() where id = '{hunt}'"),
    )
    .await;

    // The finder: the clue their find unlocked, the hunt-wide message, the end; not their own find.
    let got = exactly(&app, &peer, &finder, 3).await;
    assert_eq!(categories(&got), ["broadcast", "clue", "phase"], "{got:?}");
    // A teammate: the find too.
    let got_mate = exactly(&app, &peer, &mate, 4).await;
    assert_eq!(
        categories(&got_mate),
        ["broadcast", "clue", "find", "phase"],
        "{got_mate:?}"
    );
    // The other team: overtaken (0 -> A's 5), its own message and the hunt-wide one, the end;
    // never A's clue or find.
    let got_other = exactly(&app, &peer, &other, 4).await;
    assert_eq!(
        categories(&got_other),
        ["broadcast", "broadcast", "phase", "rank"],
        "{got_other:?}"
    );

    let found = by_category(&got_mate, "find")[0];
    assert!(
        found["title"]
            .as_str()
            .unwrap()
            .ends_with("found Tour Eiffel"),
        "{found}"
    );
    assert_eq!(found["body"], "+5 points for your team");
    assert_eq!(found["hunt_id"], hunt.as_str());
    let offset = found["offset"].as_i64().expect("offset");
    assert_eq!(found["url"], format!("/hunts/{hunt}?after={}", offset - 1));
    let clue_push = by_category(&got_mate, "clue")[0];
    assert_eq!(
        (&clue_push["title"], &clue_push["body"]),
        (&json!("New clue unlocked"), &json!("Look under the bridge"))
    );
    let rank = by_category(&got_other, "rank")[0];
    assert!(
        rank["title"]
            .as_str()
            .unwrap()
            .ends_with("overtook your team"),
        "{rank}"
    );
    assert_eq!(rank["body"], "They now have 5 points");
    let mut messages: Vec<&str> = by_category(&got_other, "broadcast")
        .iter()
        .map(|p| p["body"].as_str().unwrap())
        .collect();
    messages.sort();
    assert_eq!(messages, ["Everyone", "Team B only"]);
    assert_eq!(by_category(&got, "phase")[0]["title"], "The hunt has ended");
    // Offsets follow the event log: the find before the messages, the messages before the end.
    let offsets = |pushes: &[Value], c: &str| -> Vec<i64> {
        by_category(pushes, c)
            .iter()
            .map(|p| p["offset"].as_i64().unwrap())
            .collect()
    };
    assert!(offsets(&got_mate, "find")[0] < offsets(&got_mate, "broadcast")[0]);
    assert!(offsets(&got_mate, "broadcast")[0] < offsets(&got_mate, "phase")[0]);
    // No push carries a position.
    for p in got.iter().chain(&got_mate).chain(&got_other) {
        let text = p.to_string();
        for secret in ["lat", "lon", "coordinates", "48.858", "2.294"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn muted_categories_and_connected_players_get_no_push_unless_they_ask_for_both() {
    let (app, staff, hunt) = pushing_hunt().await;
    let peer = PushPeer::start().await;
    let team = new_team(&app, &hunt).await;
    let (muting, connected, both) = (
        team.captain,
        join(&app, &team.invite).await,
        join(&app, &team.invite).await,
    );
    let e_muting = subscribe(&app, &peer, &muting).await;
    let e_connected = subscribe(&app, &peer, &connected).await;
    let e_both = subscribe(&app, &peer, &both).await;
    let prefs = prefer(&app, &muting, json!({"muted": ["broadcast", "rank"]})).await;
    assert_eq!(
        prefs,
        json!({"muted": ["broadcast", "rank"], "also_when_connected": false})
    );
    prefer(
        &app,
        &both,
        json!({"muted": [], "also_when_connected": true}),
    )
    .await;
    let ws_connected = connect(&app, &connected.token).await;
    let _ws_both = connect(&app, &both.token).await;
    let present = format!(
        "select count(*) = 2 as ok from push_presence where player_id in ('{}', '{}')",
        connected.id, both.id
    );
    until_db(&app.db_url, &present, "presence of the connected players").await;

    broadcast(&app, &staff, &hunt, "while connected", None).await;
    let got_both = exactly(&app, &peer, &e_both, 1).await;
    assert_eq!(got_both[0]["body"], "while connected");
    assert_eq!(
        exactly(&app, &peer, &e_connected, 0).await,
        Vec::<Value>::new()
    );
    assert_eq!(
        exactly(&app, &peer, &e_muting, 0).await,
        Vec::<Value>::new()
    );

    // Once the app closes its socket, the player is pushed again.
    drop(ws_connected);
    let gone = format!(
        "select count(*) = 0 as ok from push_presence where player_id = '{}'",
        connected.id
    );
    until_db(
        &app.db_url,
        &gone,
        "presence cleared after the socket closed",
    )
    .await;
    broadcast(&app, &staff, &hunt, "after leaving", None).await;
    let got = exactly(&app, &peer, &e_connected, 1).await;
    assert_eq!(got[0]["body"], "after leaving");
    assert_eq!(exactly(&app, &peer, &e_both, 2).await.len(), 2);
    assert_eq!(
        exactly(&app, &peer, &e_muting, 0).await,
        Vec::<Value>::new()
    );
}
