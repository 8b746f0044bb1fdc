//! A push service that answers 503 (with `Retry-After`) or 429 before accepting, and one that
//! refuses with 400. web-push-testing never answers either way, so these run against a scripted
//! HTTP endpoint on loopback (a fake at the remote push service seam): the notification is
//! retried when due (on a fake clock) until accepted, once accepted it is not sent again, and a
//! refusal is dropped, counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode as AxumStatus;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::*;
use crate::live::{broadcast, new_team};
use nenufar::clock::FakeClock;

const P256DH: &str =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

/// A push endpoint answering each request with the next status of `script` (then 201); returns
/// its URL and the request counter.
async fn scripted(script: Vec<(u16, Option<&'static str>)>) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/push/device",
        axum::routing::post(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let (status, retry_after) = script.get(n).copied().unwrap_or((201, None));
            async move {
                let status = AxumStatus::from_u16(status).unwrap();
                match retry_after {
                    Some(s) => (status, [("retry-after", s)]).into_response(),
                    None => status.into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/push/device", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hits)
}

async fn metric(app: &TestApp, name: &str) -> u64 {
    let text: Value = app.get("/metrics", None).await.1;
    text.as_str()
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|n| n.parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_service_hiccup_is_retried_when_due_until_accepted_and_a_refusal_is_dropped() {
    let clock = FakeClock::starting_now();
    let (app, staff, hunt) = pushing_hunt_with_clock(clock.clone()).await;
    let flaky = new_team(&app, &hunt).await;
    let refusing = new_team(&app, &hunt).await;
    let (flaky_url, flaky_hits) = scripted(vec![(503, Some("1")), (429, None)]).await;
    let (refusing_url, refusing_hits) = scripted(vec![(400, None)]).await;
    for (player, url) in [
        (&flaky.captain, &flaky_url),
        (&refusing.captain, &refusing_url),
    ] {
        let body = json!({"endpoint": url, "keys": {"p256dh": P256DH, "auth": AUTH}});
        let (status, answer) = app
            .post("/v1/push/subscriptions", Some(&player.token), body)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    }
    let hits = || {
        (
            flaky_hits.load(Ordering::SeqCst),
            refusing_hits.load(Ordering::SeqCst),
        )
    };
    // One notification left, tried `n` times and released for a retry.
    let released = |n: i32| {
        format!(
            "select count(*) = 1 and bool_and(attempts = {n} and lease_until is null) as ok \
             from push_outbox"
        )
    };

    broadcast(&app, &staff, &hunt, "hello?", None).await;
    // 503 with Retry-After: 1 s, under the first backoff (2 s); the refusal is dropped.
    until_db(&app.db_url, &released(1), "the 503 released for a retry").await;
    assert_eq!(hits(), (1, 1));
    // Not due yet: a round now sends nothing.
    nenufar::jobs::push::step(&app.state.ctx).await.unwrap();
    assert_eq!(hits(), (1, 1), "retried before its time");

    // Two seconds later: tried again, 429 without Retry-After, so the backoff doubles (4 s).
    clock.advance(chrono::Duration::seconds(2));
    until_db(&app.db_url, &released(2), "the 429 released for a retry").await;
    assert_eq!(hits(), (2, 1));
    clock.advance(chrono::Duration::seconds(3));
    nenufar::jobs::push::step(&app.state.ctx).await.unwrap();
    assert_eq!(hits(), (2, 1), "retried before its time");
    clock.advance(chrono::Duration::seconds(1));
    drained(&[&app]).await;
    assert_eq!(hits(), (3, 1));

    // Accepted: nothing is left to send, however late.
    clock.advance(chrono::Duration::hours(1));
    nenufar::jobs::push::step(&app.state.ctx).await.unwrap();
    assert_eq!(hits().0, 3, "sent again after a 201");
    assert_eq!(hits().1, 1, "a refusal is not retried");
    assert_eq!(metric(&app, "nenufar_push_sent_total").await, 1);
    assert_eq!(metric(&app, "nenufar_push_dropped_total").await, 1);
    // A refusal drops the notification, not the device.
    let subs = rows(&app.db_url, "select count(*) as n from push_subscriptions").await;
    assert_eq!(subs[0]["n"], 2);
}
