//! Every 503 has the JSON error body and `Retry-After`: a pool wait timeout, a request timeout.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::*;
use crate::support::*;

/// Takes every connection of the node's pool (the test shares the node's process and pool).
async fn hold_the_pool(
    app: &TestApp,
) -> Vec<diesel_async::pooled_connection::deadpool::Object<diesel_async::AsyncPgConnection>> {
    let pool = &app.state.ctx.pool;
    let max = pool.status().max_size;
    let mut held = Vec::new();
    while held.len() < max {
        if let Ok(c) = pool.get().await {
            held.push(c);
        }
    }
    held
}

#[tokio::test]
async fn a_database_pool_held_busy_answers_503_with_its_body_and_retry_after() {
    let app = TestApp::spawn_with_limits(limits_from(&[
        ("NENUFAR_LIMITS", "load-test"),
        ("NENUFAR_DB_POOL_WAIT_MS", "200"),
    ]))
    .await;
    let held = hold_the_pool(&app).await;
    let (status, headers, body) = call(
        &app,
        Method::POST,
        "/v1/players",
        None,
        Some(json!({"handle": "waiting"})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "unavailable", "{body}");
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(metric(&app, "nenufar_http_errors_5xx_total").await, 1.0);
    drop(held);
    let (status, body) = app
        .post("/v1/players", None, json!({"handle": "waiting"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_request_past_its_timeout_answers_503_with_its_body_and_retry_after() {
    let app = TestApp::spawn_with_limits(limits_from(&[
        ("NENUFAR_LIMITS", "load-test"),
        ("NENUFAR_DB_POOL_WAIT_MS", "600000"),
        ("NENUFAR_REQUEST_TIMEOUT_MS", "300"),
    ]))
    .await;
    let _held = hold_the_pool(&app).await;
    let (status, headers, body) = call(
        &app,
        Method::POST,
        "/v1/players",
        None,
        Some(json!({"handle": "waiting"})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "unavailable", "{body}");
    assert_eq!(headers["retry-after"], "1");
}
