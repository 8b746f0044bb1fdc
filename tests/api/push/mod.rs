//! Web Push against a real push service peer (web-push-testing on loopback): subscriptions, what
//! each category pushes and to whom, pruning, a frozen peer, two dispatching nodes; and the RFC
//! test vectors. Shared helpers live here; each submodule is one theme.

mod audience;
mod delivery;
mod hiccups;
mod peer;
mod reliability;
mod subscriptions;
mod vectors;

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::live::rows;
use crate::support::*;
// For `peer`, which names it `super::wait` (as in the push benchmark, which includes both files).
use crate::support::wait;
use nenufar::clock::Clock;
pub use peer::PushPeer;

/// How long a push may take to arrive (generous: a loaded 2-core machine).
pub const ARRIVES: Duration = Duration::from_secs(20);

/// A node that pushes, a staff member, and a live hunt (one target) whose going live was
/// announced before anyone subscribed.
pub async fn pushing_hunt() -> (TestApp, Staff, String) {
    pushing_hunt_on(TestApp::spawn_pushing().await).await
}

/// The same on a node whose clock is `clock`.
pub async fn pushing_hunt_with_clock(clock: Arc<dyn Clock>) -> (TestApp, Staff, String) {
    pushing_hunt_on(TestApp::spawn_pushing_with_clock(clock).await).await
}

async fn pushing_hunt_on(app: TestApp) -> (TestApp, Staff, String) {
    let staff = app.staff().await;
    let eiffel = crate::live::PLACES[0];
    let (hunt, _) =
        crate::live::live_hunt(&app, &staff, json!({}), &[(eiffel.0, eiffel.1, 5)]).await;
    settle_pushes(&app.db_url, &hunt).await;
    (app, staff, hunt)
}

/// Waits until the hunt went live (see `live::settle`) and its push jobs were expanded, so that
/// devices registered next are not told the hunt went live.
pub async fn settle_pushes(db: &str, hunt: &str) {
    crate::live::settle(db, hunt).await;
    until_db(
        db,
        "select not exists (select 1 from push_jobs) as ok",
        "push jobs expanded",
    )
    .await;
}

/// The deployment's VAPID public key, as `GET /v1/push/vapid-public-key` gives it.
pub async fn vapid_key(app: &TestApp) -> String {
    let (status, body) = app.get("/v1/push/vapid-public-key", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["public_key"].as_str().expect("public_key").to_owned()
}

/// Subscribes `player`'s device through the peer (as a browser would) and registers it with the
/// server; returns the endpoint.
pub async fn subscribe(app: &TestApp, peer: &PushPeer, player: &Player) -> String {
    let subscription = peer.subscribe(&vapid_key(app).await).await;
    let (status, body) = app
        .post(
            "/v1/push/subscriptions",
            Some(&player.token),
            subscription.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    subscription["endpoint"]
        .as_str()
        .expect("endpoint")
        .to_owned()
}

/// Sets `player`'s preferences.
pub async fn prefer(app: &TestApp, player: &Player, prefs: Value) -> Value {
    let (status, body) = app
        .send(
            reqwest::Method::PUT,
            "/v1/push/preferences",
            Some(&player.token),
            Some(prefs),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Waits until `endpoint` has `count` notifications and every push of what was committed so far
/// is over (`drained`), then returns everything it got (so an unexpected extra one shows).
pub async fn exactly(app: &TestApp, peer: &PushPeer, endpoint: &str, count: usize) -> Vec<Value> {
    if count > 0 {
        peer.wait_for_notifications(endpoint, count, ARRIVES).await;
    }
    drained(&[app]).await;
    peer.notifications(endpoint).await
}

/// Waits until every push that the events committed so far cause is over on `nodes` (nodes of
/// one database): the events numbered, their push jobs expanded, the outbox empty (a row goes only
/// once its send has an answer), then each node's dispatcher past the round it was in, which may
/// still have been sending. What a push service holds then is all those events will give it.
pub async fn drained(nodes: &[&TestApp]) {
    until_db(
        &nodes[0].db_url,
        "select not exists (select 1 from events where event_offset is null) \
           and not exists (select 1 from push_jobs) and not exists (select 1 from push_outbox) as ok",
        "every push sent and settled",
    )
    .await;
    for node in nodes {
        let push = &node.state.ctx.push;
        let seen = push.rounds();
        let what = "the dispatch round in progress over";
        wait_until(what, ARRIVES, async || push.rounds() > seen).await;
    }
}

/// The `category` of each notification, sorted.
pub fn categories(pushes: &[Value]) -> Vec<String> {
    let mut c: Vec<String> = pushes
        .iter()
        .map(|p| p["category"].as_str().unwrap_or("?").to_owned())
        .collect();
    c.sort();
    c
}

/// Waits until `sql` (a `select ... as ok`) answers true.
pub async fn until_db(db: &str, sql: &str, what: &str) {
    wait_until(what, ARRIVES, async || {
        rows(db, sql).await[0]["ok"] == json!(true)
    })
    .await;
}
