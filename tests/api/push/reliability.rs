//! Delivery when things go wrong: an expired subscription is pruned, a frozen push service gets
//! its notification once when it wakes, two nodes draining one outbox deliver each once.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::*;
use crate::live::{PLACES, broadcast, join, live_hunt, new_team};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_the_push_service_expired_is_pruned_on_the_next_push() {
    let (app, staff, hunt) = pushing_hunt().await;
    let peer = PushPeer::start().await;
    let team = new_team(&app, &hunt).await;
    let mate = join(&app, &team.invite).await;
    let expired = subscribe(&app, &peer, &team.captain).await;
    let alive = subscribe(&app, &peer, &mate).await;
    peer.expire(&expired).await;

    broadcast(&app, &staff, &hunt, "anyone there?", None).await;
    assert_eq!(exactly(&app, &peer, &alive, 1).await.len(), 1);
    let pruned = format!(
        "select not exists (select 1 from push_subscriptions where endpoint = '{expired}') \
           and not exists (select 1 from push_outbox) as ok"
    );
    until_db(&app.db_url, &pruned, "the expired subscription pruned").await;
    let (_, metrics) = app.get("/metrics", None).await;
    let metrics = metrics.as_str().expect("text").to_owned();
    for line in [
        "nenufar_push_pruned_total 1",
        "nenufar_push_sent_total 1",
        "nenufar_push_queue_depth 0",
    ] {
        assert!(metrics.contains(line), "{line} not in:\n{metrics}");
    }
    // Later pushes no longer try it.
    broadcast(&app, &staff, &hunt, "second", None).await;
    assert_eq!(exactly(&app, &peer, &alive, 2).await.len(), 2);
    assert!(
        !app.get("/metrics", None)
            .await
            .1
            .as_str()
            .unwrap()
            .contains("nenufar_push_pruned_total 2")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_service_frozen_during_the_send_gets_the_notification_once_after_it_wakes() {
    let (app, staff, hunt) = pushing_hunt().await;
    let peer = PushPeer::start().await;
    let team = new_team(&app, &hunt).await;
    let endpoint = subscribe(&app, &peer, &team.captain).await;

    peer.freeze();
    broadcast(&app, &staff, &hunt, "are you awake?", None).await;
    // The dispatcher claimed it and is waiting for an answer.
    let claimed = "select exists (select 1 from push_outbox where attempts = 1 \
                   and lease_until > now()) as ok";
    until_db(&app.db_url, claimed, "the notification claimed").await;
    // Its request reached the frozen peer, which holds it unread.
    let what = "the push request waiting in the frozen peer";
    wait_until(what, ARRIVES, async || peer.holds_unread_bytes()).await;
    peer.thaw();

    let got = exactly(&app, &peer, &endpoint, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["body"], "are you awake?");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_draining_one_outbox_deliver_each_notification_once() {
    let db = fresh_database().await;
    let (a, b) = tokio::join!(
        TestApp::spawn_pushing_on(db.clone()),
        TestApp::spawn_pushing_on(db.clone())
    );
    // Both nodes create a key at the same moment: they end with one, whichever stored it.
    let (ka, kb) = tokio::join!(vapid_key(&a), vapid_key(&b));
    assert_eq!(ka, kb);
    let keys = rows(&db, "select count(*) as n from vapid_keys").await;
    assert_eq!(keys[0]["n"], 1);
    let peer = PushPeer::start().await;
    let staff = a.staff().await;
    let (hunt, _) = live_hunt(&a, &staff, json!({}), &[(PLACES[0].0, PLACES[0].1, 5)]).await;
    settle_pushes(&db, &hunt).await;
    let mut endpoints = Vec::new();
    for _ in 0..4 {
        let team = new_team(&a, &hunt).await;
        endpoints.push(subscribe(&b, &peer, &team.captain).await);
        for _ in 0..4 {
            let p = join(&b, &team.invite).await;
            endpoints.push(subscribe(&a, &peer, &p).await);
        }
    }
    const MESSAGES: usize = 12;
    for i in 0..MESSAGES {
        let node = if i % 2 == 0 { &a } else { &b };
        broadcast(node, &staff, &hunt, &format!("message {i}"), None).await;
    }
    for e in &endpoints {
        peer.wait_for_notifications(e, MESSAGES, ARRIVES).await;
    }
    drained(&[&a, &b]).await;
    for e in &endpoints {
        let got = peer.notifications(e).await;
        let mut counts: HashMap<String, usize> = HashMap::new();
        for p in &got {
            *counts
                .entry(p["body"].as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
        }
        assert_eq!(got.len(), MESSAGES, "{e}: {got:?}");
        assert!(counts.values().all(|n| *n == 1), "{e}: {counts:?}");
    }
    let (sa, sb) = (sent_total(&a).await, sent_total(&b).await);
    assert_eq!(
        sa + sb,
        endpoints.len() * MESSAGES,
        "node a {sa}, node b {sb}"
    );
}

/// The node's `nenufar_push_sent_total`.
async fn sent_total(app: &TestApp) -> usize {
    let text: Value = app.get("/metrics", None).await.1;
    text.as_str()
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("nenufar_push_sent_total "))
        .and_then(|n| n.parse().ok())
        .unwrap()
}
