//! Bad input (issue 2, item 6): every refused request answers the documented status and `code`
//! in the `{code, message, details}` envelope, never a 5xx nor an internal detail, and stores nothing.
//! The envelope and table checks live here; each submodule is one kind of input.

mod auth_and_media;
mod fixes;
mod geojson;
mod hunts_and_handles;
mod json_bodies;
mod paths_and_queries;
mod polygons;

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

pub const JSON: Option<&str> = Some("application/json");

/// A refusal a test expects: the status and the stable `code` (mobile-api/errors.md).
pub type Want = (StatusCode, &'static str);

pub const INVALID_JSON: Want = (StatusCode::BAD_REQUEST, "invalid_json");
pub const INVALID_REQUEST: Want = (StatusCode::BAD_REQUEST, "invalid_request");
pub const INVALID_FIX: Want = (StatusCode::BAD_REQUEST, "invalid_fix");
pub const INVALID_GEOJSON: Want = (StatusCode::BAD_REQUEST, "invalid_geojson");
pub const UNSUPPORTED_GEOMETRY: Want = (StatusCode::BAD_REQUEST, "unsupported_geometry");
pub const UNAUTHENTICATED: Want = (StatusCode::UNAUTHORIZED, "unauthenticated");
pub const NOT_FOUND: Want = (StatusCode::NOT_FOUND, "not_found");
pub const METHOD_NOT_ALLOWED: Want = (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
pub const TOO_LARGE: Want = (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
pub const UNSUPPORTED_MEDIA: Want = (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");

/// Words that would betray the storage layer or the code behind an error.
const INTERNAL_WORDS: [&str; 8] = [
    "diesel",
    "postgres",
    "sql",
    "panicked",
    "backtrace",
    "src/",
    ".rs:",
    "deadpool",
];

/// Row counts of every table a request could write (one helper for both input suites).
pub use crate::input::snapshot;

/// Asserts the status, the code, the exact envelope and that no internal detail shows.
pub fn assert_error(case: &str, (status, body): &(StatusCode, Value), (want, code): Want) {
    assert_eq!(*status, want, "{case}: status, body {body}");
    assert_eq!(body["code"], json!(code), "{case}: code, body {body}");
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("{case}: the body is not a JSON object: {body}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["code", "details", "message"],
        "{case}: envelope keys, body {body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{case}: a message, body {body}"
    );
    let text = body.to_string().to_lowercase();
    for word in INTERNAL_WORDS {
        assert!(
            !text.contains(word),
            "{case}: the error body mentions {word:?}: {body}"
        );
    }
}

/// Asserts the error and that no table changed since `before`.
pub async fn assert_refused(
    app: &TestApp,
    before: &Value,
    case: &str,
    answer: &(StatusCode, Value),
    want: Want,
) {
    assert_error(case, answer, want);
    assert_eq!(
        &snapshot(app).await,
        before,
        "{case}: a refused request stored something"
    );
}

/// Counts every table, then sends `request` (a future: nothing is sent before it is awaited
/// here), asserts the refusal and that nothing was stored. Returns the body for more checks.
pub async fn refuse(
    app: &TestApp,
    case: &str,
    request: impl Future<Output = (StatusCode, Value)>,
    want: Want,
) -> Value {
    let before = snapshot(app).await;
    let answer = request.await;
    assert_refused(app, &before, case, &answer, want).await;
    answer.1
}

/// A published, live hunt over Paris with one circle target at Notre-Dame, and a player in a team.
pub async fn live_hunt(app: &TestApp, rules: Value) -> (Staff, String, Player) {
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), rules).await;
    app.import(
        &staff,
        &hunt,
        collection(vec![circle("Notre-Dame", 48.852968, 2.349902, 40.0, 3)]),
    )
    .await;
    app.publish(&staff, &hunt).await;
    let player = app.player_in_team(&hunt).await;
    (staff, hunt, player)
}

pub fn hunt_body(area: Value, rules: Value) -> Value {
    let now = Utc::now();
    json!({
        "title": "Bad hunt", "city": "Paris", "area": area,
        "teaser_at": now - Duration::hours(1), "live_at": now, "ends_at": now + Duration::days(1), "rules": rules,
    })
}

pub fn point(lon: f64, lat: f64) -> Value {
    json!({"type": "Point", "coordinates": [lon, lat]})
}

/// A valid hunt over Paris without rules, with each field of `changes` set.
pub fn hunt_with(changes: Value) -> Value {
    with(hunt_body(paris_area(), json!({})), changes)
}

/// `base` with each field of `changes` set (a `null` is set too, not removed).
pub fn with(mut base: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

/// `base` without the field `key`.
pub fn without(mut base: Value, key: &str) -> Value {
    base.as_object_mut().unwrap().remove(key);
    base
}
