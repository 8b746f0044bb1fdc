//! Issue 9 item 1: replays to clients that never read hold no database connection. Forty players
//! subscribe with `"after": 0` to a hunt with 10 MB of history and then read nothing (their
//! receive buffers are a few kilobytes, so every replay is stuck on its socket); meanwhile another
//! player's check-ins and a game master's reads are all answered, on a node whose pool has 8
//! connections. Then two of the forty read: they get the whole history, in order.

use std::time::Duration;

use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::*;
use crate::support::*;

/// More than the pool (8) and the old outage's 26.
const SUBSCRIBERS: usize = 40;
/// Bytes of history, in broadcasts of about `EVENT_BYTES`.
const HISTORY_BYTES: usize = 10 * 1024 * 1024;
const EVENT_BYTES: usize = 1000;
/// Requests made while the replays are stuck.
const PROBES: usize = 15;
/// Liveness, not speed: a request stuck behind the pool waits for the server's 30 s timeout.
const ANSWERED_WITHIN: Duration = Duration::from_secs(20);

/// A WebSocket whose receive buffer is 4 KiB and that is never read until the test says so.
async fn non_reader(app: &TestApp, token: &str, hunt: &str) -> Ws {
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let mut req = format!("ws://{addr}/v1/live")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut ws, _) =
        tokio_tungstenite::client_async(req, tokio_tungstenite::MaybeTlsStream::Plain(stream))
            .await
            .unwrap();
    send(
        &mut ws,
        json!({"type": "subscribe", "hunt_id": hunt, "after": 0}),
    )
    .await;
    ws
}

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(ANSWERED_WITHIN, f)
        .await
        .unwrap_or_else(|_| panic!("{what} was not answered within {ANSWERED_WITHIN:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_stuck_replays_of_ten_megabytes_leave_check_ins_and_staff_reads_answered() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let (hunt, _) = live_hunt(&app, &staff, json!({}), &[(PLACES[0].0, PLACES[0].1, 5)]).await;
    let prober = app.player_in_team(&hunt).await;
    let events = HISTORY_BYTES / EVENT_BYTES;
    exec(
        &app.db_url,
        &format!(
            "insert into events (hunt_id, kind, team_id, data) \
             select '{hunt}', 'broadcast', null, \
                    jsonb_build_object('message', 'old ' || n || ' ' || repeat('x', {EVENT_BYTES}), 'team_id', null) \
             from generate_series(1, {events}) as n order by n"
        ),
    )
    .await;
    settle(&app.db_url, &hunt).await;
    let visible = rows(
        &app.db_url,
        &format!("select count(*) as n from events where hunt_id = '{hunt}' and team_id is null"),
    )
    .await[0]["n"]
        .as_i64()
        .unwrap() as usize;
    assert!(visible > events, "the history is in the log");

    let mut players = Vec::new();
    for _ in 0..SUBSCRIBERS {
        players.push(app.player().await);
    }
    let mut stuck = Vec::new();
    for p in &players {
        stuck.push(non_reader(&app, &p.token, &hunt).await);
    }
    // Every one of them was accepted and is replaying (the load really runs).
    let hub = app.state.hub.clone();
    let what = format!("{SUBSCRIBERS} replays started");
    wait_until(&what, ARRIVES * 4, async || {
        let started = hub.replays();
        if started >= SUBSCRIBERS {
            Ok(())
        } else {
            Err(started)
        }
    })
    .await;

    for i in 0..PROBES {
        // A new place each time: nothing there, so no event joins the stuck queues.
        let (status, body) = within(
            "a check-in",
            app.check_in(&prober, &hunt, 48.80 + i as f64 * 1e-3, 2.45, 5.0),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "check-in {i}: {body}");
        assert_eq!(body["verdict"], json!("nothing_here"), "{body}");
        let (status, body) = within(
            "a staff read of the hunt",
            app.get(&format!("/v1/hunts/{hunt}"), Some(&staff.token)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = within(
            "a staff read of the leaderboard",
            app.get(&format!("/v1/hunts/{hunt}/leaderboard"), Some(&staff.token)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = within("/readyz", app.get("/readyz", None)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(
        hub.replays(),
        SUBSCRIBERS,
        "the replays were stuck on their sockets all along"
    );

    // Two of them read now: the whole visible history, in order, after `subscribed`.
    for ws in stuck.iter_mut().take(2) {
        let first = within("subscribed", next(ws, ARRIVES)).await.unwrap();
        assert_eq!(first["type"], json!("subscribed"), "{first}");
        let mut got = Vec::with_capacity(visible);
        while got.len() < visible {
            let m = next(ws, ARRIVES)
                .await
                .unwrap_or_else(|| panic!("the replay stalled after {}", got.len()));
            assert_eq!(m["type"], json!("event"), "{m}");
            got.push(m);
        }
        assert_increasing(&got);
    }
    // The others are dropped unread (their connections reset).
    drop(stuck);
}
