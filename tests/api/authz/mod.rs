//! Authorisation (DESIGN section 5, invariants 4 and 5): organisations are sealed from each other,
//! roles limit staff, players never reach staff routes nor staff player routes, team rules hold,
//! and no response a player can see carries a hidden target's coordinates.
//! Shared helpers live here; each submodule is one of those promises.

mod coordinate_leaks;
mod organisations;
mod players;
mod roles;
mod secrets;
mod teams;

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

/// A request to try: what it is, the method, the path and the body.
pub type Attempt = (&'static str, Method, String, Option<Value>);

/// A refusal a test expects: the status and the stable `code` (mobile-api/errors.md).
pub type Want = (StatusCode, &'static str);

pub const FORBIDDEN: Want = (StatusCode::FORBIDDEN, "forbidden");
pub const NOT_FOUND: Want = (StatusCode::NOT_FOUND, "not_found");
pub const NOT_IN_HUNT: Want = (StatusCode::FORBIDDEN, "not_in_hunt");
pub const TEAM_FULL: Want = (StatusCode::CONFLICT, "team_full");
pub const ALREADY_IN_TEAM: Want = (StatusCode::CONFLICT, "already_in_team");

pub fn assert_code(case: &str, (status, body): &(StatusCode, Value), (want, code): Want) {
    assert_eq!(
        (*status, body["code"].as_str()),
        (want, Some(code)),
        "{case}: {body}"
    );
}

/// A staff member of `staff`'s organisation with `role`, logged in (created by the owner through the API).
pub async fn colleague(app: &TestApp, owner: &Staff, role: &str) -> Staff {
    let email = format!("{role}-{}@brand.example", uuid::Uuid::new_v4().simple());
    let password = "a long enough password";
    let (status, body) = app
        .post(
            "/v1/staff",
            Some(&owner.token),
            json!({"email": email, "password": password, "role": role}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["role"], json!(role));
    let (status, body) = app
        .post(
            "/v1/staff/login",
            None,
            json!({"email": email, "password": password}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Staff {
        token: body["token"].as_str().unwrap().to_owned(),
        org: owner.org.clone(),
    }
}

pub fn hunt_body() -> Value {
    let now = Utc::now();
    json!({"title": "Another hunt", "city": "Paris", "area": paris_area(),
        "teaser_at": now, "live_at": now, "ends_at": now + chrono::Duration::days(1)})
}

/// The staff routes on one `hunt` and its `target`: read, change and publish the hunt; import, add
/// and list targets; change and delete the target. The changes send `hunt_patch` and `target_patch`.
pub fn hunt_routes(
    hunt: &str,
    target: &str,
    hunt_patch: Value,
    target_patch: Value,
) -> Vec<Attempt> {
    let feature = circle("Planted", 48.87, 2.34, 20.0, 1);
    let (hunt_path, targets) = (
        format!("/v1/hunts/{hunt}"),
        format!("/v1/hunts/{hunt}/targets"),
    );
    let target_path = format!("{targets}/{target}");
    vec![
        ("GET the hunt", Method::GET, hunt_path.clone(), None),
        (
            "PATCH the hunt",
            Method::PATCH,
            hunt_path.clone(),
            Some(hunt_patch),
        ),
        (
            "publish the hunt",
            Method::POST,
            format!("{hunt_path}/publish"),
            Some(json!({})),
        ),
        (
            "import targets",
            Method::POST,
            format!("{targets}/import"),
            Some(collection(vec![feature.clone()])),
        ),
        ("add a target", Method::POST, targets.clone(), Some(feature)),
        ("list the targets", Method::GET, targets, None),
        (
            "PATCH a target",
            Method::PATCH,
            target_path.clone(),
            Some(target_patch),
        ),
        ("DELETE a target", Method::DELETE, target_path, None),
    ]
}

/// A hunt of `owner` over Paris with `rules` and the one `target`, imported and published.
pub async fn published_hunt(app: &TestApp, owner: &Staff, rules: Value, target: Value) -> String {
    let hunt = app.draft_hunt(owner, paris_area(), rules).await;
    app.import(owner, &hunt, collection(vec![target])).await;
    app.publish(owner, &hunt).await;
    hunt
}

/// Row counts of `tables`, in order.
pub async fn counts(app: &TestApp, tables: &[&str]) -> Vec<i64> {
    let mut out = Vec::with_capacity(tables.len());
    for table in tables {
        out.push(app.count(table).await);
    }
    out
}

/// Creates a team named `name` in `hunt` as `player`.
pub async fn create_team(
    app: &TestApp,
    hunt: &str,
    player: &Player,
    name: &str,
) -> (StatusCode, Value) {
    let path = format!("/v1/hunts/{hunt}/teams");
    app.post(&path, Some(&player.token), json!({"name": name}))
        .await
}

/// Joins the team of `invite_code` as `player`.
pub async fn join(app: &TestApp, player: &Player, invite_code: &Value) -> (StatusCode, Value) {
    let body = json!({"invite_code": invite_code});
    app.post("/v1/teams/join", Some(&player.token), body).await
}
