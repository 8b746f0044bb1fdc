//! A push service that answers 503 (with `Retry-After`) or 429 before accepting, and one that
//! refuses with 400. web-push-testing never answers either way, so these run against a scripted
//! HTTP endpoint on loopback (a fake at the remote push service seam): the notification is
//! retried until accepted, once accepted it is not sent again, and a refusal is dropped, counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode as AxumStatus;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::*;
use crate::live::{broadcast, new_team};

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
async fn a_push_service_hiccup_is_retried_until_accepted_and_a_refusal_is_dropped() {
    let (app, staff, hunt) = pushing_hunt().await;
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

    broadcast(&app, &staff, &hunt, "hello?", None).await;
    // 503 (retry after 1 s), 429 (backoff 4 s), then accepted.
    let deadline = tokio::time::Instant::now() + ARRIVES;
    while flaky_hits.load(Ordering::SeqCst) < 3 || refusing_hits.load(Ordering::SeqCst) < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the push service saw {} and {} requests",
            flaky_hits.load(Ordering::SeqCst),
            refusing_hits.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    until_db(
        &app.db_url,
        "select not exists (select 1 from push_outbox) as ok",
        "the outbox emptied",
    )
    .await;
    assert_eq!(flaky_hits.load(Ordering::SeqCst), 3);
    assert_eq!(refusing_hits.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        flaky_hits.load(Ordering::SeqCst),
        3,
        "sent again after a 201"
    );
    assert_eq!(
        refusing_hits.load(Ordering::SeqCst),
        1,
        "a refusal is not retried"
    );
    assert_eq!(metric(&app, "nenufar_push_sent_total").await, 1);
    assert_eq!(metric(&app, "nenufar_push_dropped_total").await, 1);
    // A refusal drops the notification, not the device.
    let subs = rows(&app.db_url, "select count(*) as n from push_subscriptions").await;
    assert_eq!(subs[0]["n"], 2);
}
