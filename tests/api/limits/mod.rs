//! Issue 9 items 2 to 4: limits at the edge, each proven against a real node and PostgreSQL with
//! the default limits or explicit values (never the load-test profile). Shared helpers live here.

mod checkins;
mod connections;
mod logins;
mod memory;
mod requests;
mod unavailable;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::support::*;

/// A request with its response headers; `forwarded` sets `X-Forwarded-For`.
pub async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    forwarded: Option<&str>,
) -> (StatusCode, HeaderMap, Value) {
    let mut req = app.client.request(method, format!("{}{path}", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, value)
}

/// Asserts a 429 `rate_limited` with a whole number of seconds in `Retry-After`; returns them.
pub fn assert_rate_limited(status: StatusCode, headers: &HeaderMap, body: &Value) -> u64 {
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "rate_limited", "{body}");
    let after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(after >= 1);
    after
}

/// A live hunt over Paris with one circle target at the Eiffel Tower and these rules.
pub async fn live_hunt(app: &TestApp, rules: Value) -> String {
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), rules).await;
    app.import(
        &staff,
        &hunt,
        collection(vec![circle("Tour", 48.85837, 2.29448, 30.0, 10)]),
    )
    .await;
    app.publish(&staff, &hunt).await;
    hunt
}

/// Check-in rows of a player (by token owner id).
pub async fn checkins_of(app: &TestApp, player: &Player) -> i64 {
    app.count(&format!("checkins where player_id = '{}'", player.id))
        .await
}

/// A counter or gauge of a node's `/metrics` (first sample whose name and labels start with `name`).
pub async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| !l.starts_with('#') && l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no metric {name} in\n{text}"))
}

pub fn body_at(lat: f64, lon: f64) -> Value {
    checkin_body(lat, lon, 5.0, chrono::Utc::now())
}
