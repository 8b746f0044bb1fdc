//! Live play over real WebSockets: ordering, resume, team filtering, slow readers, several nodes,
//! leaderboards, clues and phases. Shared helpers live here; each submodule is one theme.

mod clues;
mod cross_node;
mod delivery;
mod leaderboard;
mod phases;
mod protocol;
mod replays;
mod slow;

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::*;

/// How long to wait for something that must arrive (generous: a loaded 2-core machine).
pub const ARRIVES: Duration = Duration::from_secs(15);

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

/// Opens `/v1/live` with the token in the query string, as browsers do.
pub async fn connect_with_query_token(app: &TestApp, token: &str) -> Ws {
    let url = format!(
        "{}/v1/live?token={token}",
        app.base.replacen("http://", "ws://", 1)
    );
    tokio_tungstenite::connect_async(url).await.unwrap().0
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

/// Sends `subscribe` and returns the `head` of the `subscribed` answer.
pub async fn subscribe(ws: &mut Ws, hunt: &str, after: Option<i64>) -> i64 {
    send(
        ws,
        json!({"type": "subscribe", "hunt_id": hunt, "after": after}),
    )
    .await;
    let m = next(ws, ARRIVES).await.expect("an answer to subscribe");
    assert_eq!(
        (m["type"].as_str(), m["hunt_id"].as_str()),
        (Some("subscribed"), Some(hunt)),
        "{m}"
    );
    m["head"].as_i64().expect("head")
}

/// A new player logged in and subscribed to `hunt` with `after`.
pub async fn subscribed(app: &TestApp, token: &str, hunt: &str, after: Option<i64>) -> Ws {
    let mut ws = connect(app, token).await;
    subscribe(&mut ws, hunt, after).await;
    ws
}

/// Messages until one satisfies `done` (it included), within `wait`.
pub async fn until(ws: &mut Ws, wait: Duration, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Some(m) = next(
        ws,
        deadline.saturating_duration_since(tokio::time::Instant::now()),
    )
    .await
    {
        let stop = done(&m);
        seen.push(m);
        if stop {
            return seen;
        }
    }
    panic!("the awaited message did not come within {wait:?}; got {seen:?}");
}

/// Messages until the broadcast `message` arrives (used as a fence: events sent before it have
/// arrived too when it does).
pub async fn until_broadcast(ws: &mut Ws, message: &str) -> Vec<Value> {
    until(ws, ARRIVES, |m| {
        m["kind"] == json!("broadcast") && m["data"]["message"] == json!(message)
    })
    .await
}

/// The stored events among messages: control messages and derived `rank_changed` left out.
pub fn stored(msgs: &[Value]) -> Vec<Value> {
    msgs.iter()
        .filter(|m| m["type"] == json!("event") && m["kind"] != json!("rank_changed"))
        .cloned()
        .collect()
}

pub fn offsets(events: &[Value]) -> Vec<i64> {
    events
        .iter()
        .map(|m| m["offset"].as_i64().expect("offset"))
        .collect()
}

pub fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|m| m["kind"].as_str().expect("kind"))
        .collect()
}

/// Offsets strictly increase: in order, no duplicate.
pub fn assert_increasing(events: &[Value]) {
    let o = offsets(events);
    assert!(
        o.windows(2).all(|w| w[0] < w[1]),
        "offsets must strictly increase: {o:?}"
    );
}

/// A team made by a new player (its captain), with its id and invite code.
pub struct Team {
    pub id: String,
    pub invite: String,
    pub captain: Player,
}

pub async fn new_team(app: &TestApp, hunt: &str) -> Team {
    let captain = app.player().await;
    let name = format!("team {}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let (status, body) = app
        .post(
            &format!("/v1/hunts/{hunt}/teams"),
            Some(&captain.token),
            json!({"name": name}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Team {
        id: body["team_id"].as_str().expect("team_id").to_owned(),
        invite: body["invite_code"]
            .as_str()
            .expect("invite_code")
            .to_owned(),
        captain,
    }
}

/// A new player who joins the team `invite` opens.
pub async fn join(app: &TestApp, invite: &str) -> Player {
    let p = app.player().await;
    let (status, body) = app
        .post(
            "/v1/teams/join",
            Some(&p.token),
            json!({"invite_code": invite}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    p
}

/// A game master's broadcast to the hunt, or to one team.
pub async fn broadcast(
    app: &TestApp,
    staff: &Staff,
    hunt: &str,
    message: &str,
    team: Option<&str>,
) {
    let (status, body) = app
        .post(
            &format!("/v1/hunts/{hunt}/broadcast"),
            Some(&staff.token),
            json!({"message": message, "team_id": team}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

/// A check-in at `at` that must find something.
pub async fn find(app: &TestApp, player: &Player, hunt: &str, at: (f64, f64)) -> Value {
    let (status, body) = app.check_in(player, hunt, at.0, at.1, 5.0).await;
    assert_eq!(
        (status, body["verdict"].as_str()),
        (StatusCode::OK, Some("found")),
        "{body}"
    );
    body
}

/// A staff-made clue; returns its id.
pub async fn clue(app: &TestApp, staff: &Staff, hunt: &str, text: &str, rule: Value) -> String {
    let (status, body) = app
        .post(
            &format!("/v1/hunts/{hunt}/clues"),
            Some(&staff.token),
            json!({"text": text, "rule": rule}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

/// A published hunt over Paris with `targets` (name, (lat, lon), points; 40 m circles).
pub async fn live_hunt(
    app: &TestApp,
    staff: &Staff,
    rules: Value,
    targets: &[(&str, (f64, f64), i64)],
) -> (String, Vec<String>) {
    let hunt = app.draft_hunt(staff, paris_area(), rules).await;
    let features = targets
        .iter()
        .map(|(name, (lat, lon), points)| circle(name, *lat, *lon, 40.0, *points))
        .collect();
    let ids = app.import(staff, &hunt, collection(features)).await;
    app.publish(staff, &hunt).await;
    (hunt, ids)
}

/// Places in Paris far enough apart that 40 m circles never overlap.
pub const PLACES: [(&str, (f64, f64)); 8] = [
    ("Tour Eiffel", (48.85837, 2.29448)),
    ("Arc de Triomphe", (48.8738, 2.2950)),
    ("Louvre", (48.8606, 2.3376)),
    ("Notre-Dame", (48.8530, 2.3499)),
    ("Sacré-Cœur", (48.8867, 2.3431)),
    ("Panthéon", (48.8462, 2.3464)),
    ("Opéra Garnier", (48.8720, 2.3316)),
    ("Place des Vosges", (48.8556, 2.3655)),
];

/// Rows of `sql` as JSON objects, read straight from the database (the oracle).
pub async fn rows(db: &str, sql: &str) -> Vec<Value> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        v: Value,
    }
    let mut conn = AsyncPgConnection::establish(db).await.expect("conn");
    let rows: Vec<Row> = diesel::sql_query(format!("select to_jsonb(x) as v from ({sql}) x"))
        .load(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
    rows.into_iter().map(|r| r.v).collect()
}

/// Runs one statement straight on the database.
pub async fn exec(db: &str, sql: &str) {
    let mut conn = AsyncPgConnection::establish(db).await.expect("conn");
    diesel::sql_query(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
}

/// Waits until the schedule job announced the hunt's phase and every committed event is numbered,
/// so clients that subscribe next all start from the same head.
pub async fn settle(db: &str, hunt: &str) {
    let sql = format!(
        "select exists (select 1 from events where hunt_id = '{hunt}' and kind = 'phase_changed') \
                and not exists (select 1 from events where event_offset is null) as ok"
    );
    let what = "the hunt's phase announced and its events numbered";
    wait_until(what, ARRIVES, async || {
        rows(db, &sql).await[0]["ok"] == json!(true)
    })
    .await;
}

/// Waits until the sequencer numbered every committed event.
pub async fn sequenced(db: &str) {
    let sql = "select not exists (select 1 from events where event_offset is null) as ok";
    let what = "every committed event numbered";
    wait_until(what, ARRIVES, async || {
        rows(db, sql).await[0]["ok"] == json!(true)
    })
    .await;
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
        // The teams' creations may not be numbered yet (the sequencer runs just after commits):
        // the head is an offset, 0 or more.
        assert!(m["head"].as_i64().is_some_and(|h| h >= 0), "{m}");
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
