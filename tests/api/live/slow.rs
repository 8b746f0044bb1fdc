//! A slow reader never slows others: its queue overflows, it gets `resync` with the last offset it
//! was sent and is closed, while a fast reader on the same node receives every event; resuming
//! from the resync offset gives exactly the rest. The node runs in the test process (the real
//! router on a loopback port) so its feed can tell when the slow session was dropped.

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::*;
use crate::support::*;
use nenufar::domain::ids::HuntId;

/// Events inserted per round; below the 512-frame queue so the fast reader never overflows.
const CHUNK: usize = 250;
/// Enough to fill the socket buffers and the queue many times over.
const MAX_EVENTS: usize = 60_000;

/// Inserts hunt-wide broadcasts `from..=to` (about 900 characters each) straight into the log, as
/// committed by some other node; the sequencer numbers them within its poll period.
async fn insert_broadcasts(db: &str, hunt: &str, from: usize, to: usize) {
    exec(
        db,
        &format!(
            "insert into events (hunt_id, kind, team_id, data) \
             select '{hunt}', 'broadcast', null, \
                    jsonb_build_object('message', 'bulk ' || n || ' ' || repeat('x', 900), 'team_id', null) \
             from generate_series({from}, {to}) as n order by n"
        ),
    )
    .await;
}

/// One round: `CHUNK` more events, all read by the fast reader.
async fn produce(db: &str, hunt: &str, fast: &mut Ws, received: &mut Vec<Value>) {
    let from = received.len() + 1;
    insert_broadcasts(db, hunt, from, from + CHUNK - 1).await;
    while received.len() < from + CHUNK - 1 {
        let m = next(fast, ARRIVES)
            .await
            .unwrap_or_else(|| panic!("the fast reader stalled at {}", received.len()));
        assert_eq!(
            (m["type"].as_str(), m["kind"].as_str()),
            (Some("event"), Some("broadcast")),
            "the fast reader only gets the events: {m}"
        );
        received.push(m);
    }
}

fn bulk_number(m: &Value) -> usize {
    let text = m["data"]["message"].as_str().expect("message");
    text.split(' ').nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_too_far_behind_gets_resync_and_is_closed_while_a_fast_one_receives_everything() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let (hunt, _) = live_hunt(&app, &staff, json!({}), &[(PLACES[0].0, PLACES[0].1, 5)]).await;
    let fast_team = new_team(&app, &hunt).await;
    let slow_team = new_team(&app, &hunt).await;
    settle(&app.db_url, &hunt).await;
    let mut fast = subscribed(&app, &fast_team.captain.token, &hunt, None).await;
    // The slow reader subscribes, then reads nothing until the end.
    let mut slow = subscribed(&app, &slow_team.captain.token, &hunt, None).await;
    // This node's feed tells when the slow session was dropped, so the test makes no more events
    // than needed; what the clients receive is checked on the wire only.
    let feed = app
        .state
        .hub
        .existing(HuntId(uuid::Uuid::parse_str(&hunt).unwrap()))
        .unwrap();
    assert_eq!(feed.subscribers(), 2);

    let mut received: Vec<Value> = Vec::new();
    while feed.subscribers() == 2 {
        assert!(
            received.len() < MAX_EVENTS,
            "the slow reader never fell behind"
        );
        produce(&app.db_url, &hunt, &mut fast, &mut received).await;
    }
    // More than the node keeps in memory, so an old resume reads the database.
    while received.len() < 5000 {
        produce(&app.db_url, &hunt, &mut fast, &mut received).await;
    }
    let produced = received.len();
    assert_eq!(feed.subscribers(), 1, "only the slow reader was dropped");
    assert_increasing(&received);
    let mut numbers: Vec<usize> = received.iter().map(bulk_number).collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=produced).collect::<Vec<_>>(),
        "every event, once"
    );

    // Now the slow reader reads: a prefix of the same events, then resync, then the close.
    let mut slow_got: Vec<Value> = Vec::new();
    let resync = loop {
        let m = next(&mut slow, ARRIVES)
            .await
            .unwrap_or_else(|| panic!("no resync after {} events", slow_got.len()));
        match m["type"].as_str() {
            Some("event") => slow_got.push(m),
            Some("resync") => break m,
            _ => panic!("unexpected message {m}"),
        }
    };
    assert!(
        !slow_got.is_empty() && slow_got.len() < received.len(),
        "{} of {}",
        slow_got.len(),
        received.len()
    );
    assert_eq!(
        slow_got[..],
        received[..slow_got.len()],
        "no gap before the resync"
    );
    assert_eq!(resync["hunt_id"], json!(hunt));
    assert_eq!(
        resync["after"],
        slow_got.last().unwrap()["offset"],
        "resync names the last offset delivered"
    );
    loop {
        match tokio::time::timeout(ARRIVES, slow.next()).await {
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(None | Some(Ok(Message::Close(_)) | Err(_))) => break,
            other => panic!("the socket must close after resync: {other:?}"),
        }
    }

    // Resuming from the resync offset gives exactly the rest.
    let after = resync["after"].as_i64().unwrap();
    let mut again = subscribed(&app, &slow_team.captain.token, &hunt, Some(after)).await;
    let mut rest = Vec::new();
    while slow_got.len() + rest.len() < received.len() {
        let m = next(&mut again, ARRIVES)
            .await
            .unwrap_or_else(|| panic!("the resumed reader stalled after {}", rest.len()));
        rest.push(m);
    }
    assert_eq!(rest[..], received[slow_got.len()..]);

    // From before the first of them (older than the node's memory): all of them, from the log.
    let first = offsets(&received)[0];
    let mut old = subscribed(&app, &slow_team.captain.token, &hunt, Some(first - 1)).await;
    let mut all = Vec::new();
    while all.len() < received.len() {
        let m = next(&mut old, ARRIVES)
            .await
            .unwrap_or_else(|| panic!("the old resume stalled after {}", all.len()));
        all.push(m);
    }
    assert_eq!(all, received);
}
