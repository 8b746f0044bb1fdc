//! Live play over real WebSockets: ordering, resume, team filtering, leaderboards, clues, phases.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::*;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/v1/live` with a bearer header.
pub async fn connect(app: &TestApp, token: &str) -> Ws {
    let url = format!("{}/v1/live", app.base.replacen("http://", "ws://", 1));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

pub async fn send(ws: &mut Ws, msg: Value) {
    ws.send(Message::Text(msg.to_string().into()))
        .await
        .unwrap();
}

/// The next JSON message (pings and pongs skipped), or None after `wait`.
pub async fn next(ws: &mut Ws, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                return Some(serde_json::from_str(t.as_str()).unwrap());
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Err(_) => return None,
            Ok(Some(Ok(other))) => panic!("unexpected frame {other:?}"),
            Ok(Some(Err(e))) => panic!("socket error {e}"),
        }
    }
}

/// Messages until one of `kind` arrives (it included), within `wait`.
pub async fn until_kind(ws: &mut Ws, kind: &str, wait: Duration) -> Vec<Value> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Some(m) = next(
        ws,
        deadline.saturating_duration_since(tokio::time::Instant::now()),
    )
    .await
    {
        let done = m["kind"] == json!(kind);
        seen.push(m);
        if done {
            return seen;
        }
    }
    panic!("no {kind} within {wait:?}; got {seen:?}");
}

const EIFFEL: (f64, f64) = (48.85837, 2.29448);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_find_reaches_the_team_with_its_details_and_other_teams_with_the_score_only() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
    app.import(
        &staff,
        &hunt,
        collection(vec![circle("Tour Eiffel", EIFFEL.0, EIFFEL.1, 40.0, 5)]),
    )
    .await;
    app.publish(&staff, &hunt).await;
    let a = app.player_in_team(&hunt).await;
    let b = app.player_in_team(&hunt).await;
    let mut wa = connect(&app, &a.token).await;
    let mut wb = connect(&app, &b.token).await;
    for ws in [&mut wa, &mut wb] {
        send(
            ws,
            json!({"type": "subscribe", "hunt_id": hunt, "after": null}),
        )
        .await;
        let m = next(ws, Duration::from_secs(5)).await.unwrap();
        assert_eq!(m["type"], json!("subscribed"), "{m}");
        assert!(m["head"].as_i64().unwrap() > 0);
    }
    let (status, body) = app.check_in(&a, &hunt, EIFFEL.0, EIFFEL.1, 5.0).await;
    assert_eq!(
        (status, body["verdict"].as_str()),
        (StatusCode::OK, Some("found"))
    );

    let got_a = until_kind(&mut wa, "score_changed", Duration::from_secs(5)).await;
    let found = got_a
        .iter()
        .find(|m| m["kind"] == json!("target_found"))
        .expect("target_found for team A");
    assert_eq!(found["data"]["name"], json!("Tour Eiffel"));
    assert!(!found.to_string().contains("2.29448"));
    let got_b = until_kind(&mut wb, "score_changed", Duration::from_secs(5)).await;
    assert!(
        got_b.iter().all(|m| m["kind"] != json!("target_found")),
        "team B never sees A's find: {got_b:?}"
    );
    let score = got_b.last().unwrap();
    assert_eq!(score["data"]["score"], json!(5));
    let offsets: Vec<i64> = got_a
        .iter()
        .filter(|m| m["type"] == json!("event"))
        .map(|m| m["offset"].as_i64().unwrap())
        .collect();
    assert!(
        offsets.windows(2).all(|w| w[0] <= w[1]),
        "offsets in order: {offsets:?}"
    );
}
