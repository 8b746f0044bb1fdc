//! A NUL character (and any other control character) in any text field of any route is 400
//! `invalid_request` naming the field, and stores nothing. The table walks the OpenAPI document:
//! every request body's `string` properties at any depth, and every query parameter, so a new
//! field is covered by itself; a new route with a body needs a valid body below (the test says so).

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use super::*;
use crate::live::{ARRIVES, connect, next, send};
use crate::support::*;

/// A body each route accepts (or would, but for the field under test), by method and path template.
fn valid_body(w: &World, method: &str, path: &str) -> Option<Value> {
    let now = Utc::now();
    let endpoint = "https://push.example.net/send/abc";
    let key =
        "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM";
    Some(match (method, path) {
        ("POST", "/v1/staff/login") => {
            json!({"email": "a@brand.example", "password": "whatever pw"})
        }
        ("POST", "/v1/staff") => {
            json!({"email": "new@brand.example", "password": "a long password", "role": "editor"})
        }
        ("POST", "/v1/players") => json!({"handle": "ana"}),
        ("POST", "/v1/hunts") => json!({
            "title": "A hunt", "city": "Paris", "area": paris_area(),
            "teaser_at": now, "live_at": now, "ends_at": now + Duration::days(1),
            "archive_at": now + Duration::days(2), "rules": {"accuracy_policy": "centre"},
        }),
        ("PATCH", "/v1/hunts/{hunt_id}") => json!({"title": "Renamed"}),
        ("PATCH", "/v1/hunts/{hunt_id}/targets/{target_id}") => json!({"name": "Renamed"}),
        ("POST", "/v1/hunts/{hunt_id}/targets") => circle("Fontaine", 48.853, 2.35, 20.0, 1),
        ("POST", "/v1/hunts/{hunt_id}/targets/import") => {
            collection(vec![circle("Fontaine", 48.853, 2.35, 20.0, 1)])
        }
        ("POST", "/v1/hunts/{hunt_id}/teams") => json!({"name": "Les Renards"}),
        ("POST", "/v1/teams/join") => json!({"invite_code": w.invite_code}),
        ("POST", "/v1/hunts/{hunt_id}/checkins") => checkin_body(48.852968, 2.349902, 10.0, now),
        ("POST", "/v1/hunts/{hunt_id}/clues") => json!({
            "text": "Look down", "media_url": "https://cdn.brand.example/a.png", "rule": {"cost": 2},
        }),
        ("POST", "/v1/hunts/{hunt_id}/broadcast") => json!({"message": "Hello", "team_id": w.team}),
        ("POST", "/v1/push/subscriptions") => json!({
            "endpoint": endpoint, "keys": {"p256dh": key, "auth": "AAAAAAAAAAAAAAAAAAAAAA"},
        }),
        ("DELETE", "/v1/push/subscriptions") => json!({"endpoint": endpoint}),
        ("PUT", "/v1/push/preferences") => {
            json!({"muted": ["broadcast"], "also_when_connected": false})
        }
        _ => return None,
    })
}

/// Who may call a route: a player for player routes, the owner for every staff route.
fn caller<'a>(w: &'a World, fresh: &'a Player, method: &str, path: &str) -> Option<&'a str> {
    match (method, path) {
        ("POST", "/v1/staff/login" | "/v1/players") => None,
        ("POST", "/v1/hunts/{hunt_id}/teams" | "/v1/teams/join") => Some(&fresh.token),
        (_, p) if p.starts_with("/v1/push") => Some(&w.player.token),
        ("POST", "/v1/hunts/{hunt_id}/checkins") => Some(&w.player.token),
        _ => Some(&w.owner.token),
    }
}

const NUL_TEXT: &str = "a\u{0}b";

#[tokio::test]
async fn a_nul_in_any_string_of_any_request_body_is_400_naming_the_field_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let w = World::new(&app).await;
    let doc = openapi();
    let mut covered = 0;
    for (method, path, op) in operations(&doc) {
        let Some(schema) = body_schema(&op) else {
            continue;
        };
        let mut pointers = Vec::new();
        string_pointers(&doc, schema, "", &mut pointers);
        if pointers.is_empty() {
            continue;
        }
        let base = valid_body(&w, &method, &path)
            .unwrap_or_else(|| panic!("{method} {path}: add a valid body to this test's table"));
        for pointer in pointers {
            let mut body = base.clone();
            set_pointer(&mut body, &pointer, json!(NUL_TEXT));
            // Team routes need a player without a team: a fresh one per case.
            let fresh = app.player().await;
            let token = caller(&w, &fresh, &method, &path);
            let case = format!("{method} {path} with a NUL at {pointer}");
            let before = snapshot(&app).await;
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let answer = app.send(m, &w.path(&path), token, Some(body)).await;
            assert_names_field(&case, &answer, &pointer, "body");
            assert_eq!(snapshot(&app).await, before, "{case}: stored something");
            covered += 1;
        }
    }
    assert!(
        covered >= 25,
        "only {covered} text fields found in the document"
    );
}

#[tokio::test]
async fn other_control_characters_are_refused_and_line_breaks_only_where_a_field_is_multi_line() {
    let app = TestApp::spawn().await;
    let w = World::new(&app).await;
    let clues = format!("/v1/hunts/{}/clues", w.hunt);
    let broadcast = format!("/v1/hunts/{}/broadcast", w.hunt);
    let hunt = format!("/v1/hunts/{}", w.hunt);
    let owner = Some(w.owner.token.as_str());
    let refused: Vec<(&str, &str, Value, &str)> = vec![
        (
            "a title with a newline",
            &hunt,
            json!({"title": "Two\nlines"}),
            "/title",
        ),
        (
            "a title with a tab",
            &hunt,
            json!({"title": "a\tb"}),
            "/title",
        ),
        (
            "a city with an escape",
            &hunt,
            json!({"city": "Paris\u{1b}[31m"}),
            "/city",
        ),
        (
            "a city with DEL",
            &hunt,
            json!({"city": "Paris\u{7f}"}),
            "/city",
        ),
        (
            "a city with a C1 control",
            &hunt,
            json!({"city": "Paris\u{85}"}),
            "/city",
        ),
        (
            "a title with a line separator",
            &hunt,
            json!({"title": "a\u{2028}b"}),
            "/title",
        ),
        (
            "a clue with a bell",
            &clues,
            json!({"text": "ding\u{7}", "rule": {"cost": 1}}),
            "/text",
        ),
        (
            "a clue with a lone carriage return",
            &clues,
            json!({"text": "a\rb", "rule": {"cost": 1}}),
            "/text",
        ),
        (
            "a clue whose media URL has a newline",
            &clues,
            json!({"text": "x", "media_url": "https://a.example/\n", "rule": {"cost": 1}}),
            "/media_url",
        ),
        (
            "a broadcast with a form feed",
            &broadcast,
            json!({"message": "a\u{c}b"}),
            "/message",
        ),
    ];
    for (case, path, body, field) in refused {
        let method = if path == hunt {
            Method::PATCH
        } else {
            Method::POST
        };
        let before = snapshot(&app).await;
        let answer = app.send(method, path, owner, Some(body)).await;
        assert_names_field(case, &answer, field, "body");
        assert_eq!(snapshot(&app).await, before, "{case}: stored something");
    }

    // Clue texts and broadcasts are multi-line: newlines and tabs are kept, CRLF becomes LF.
    let (status, clue) = app
        .post(
            &clues,
            owner,
            json!({"text": "Line one\r\n\tLine two", "rule": {"cost": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{clue}");
    assert_eq!(clue["text"], json!("Line one\n\tLine two"));
    let (status, body) = app
        .post(
            &broadcast,
            Some(&w.gm.token),
            json!({"message": "Regroup\nat the fountain"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

#[tokio::test]
async fn an_overlong_string_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let w = World::new(&app).await;
    let fresh = app.player().await;
    let long = "A".repeat(5000);
    let cases = [
        (
            "an invite code of 5000 characters",
            "/v1/teams/join".to_owned(),
            &fresh.token,
            json!({"invite_code": long}),
            "/invite_code",
        ),
        (
            "a login e-mail of 5000 characters",
            "/v1/staff/login".to_owned(),
            &fresh.token,
            json!({"email": long, "password": "x"}),
            "/email",
        ),
        (
            "an unsubscribe endpoint of 5000 characters",
            "/v1/push/subscriptions".to_owned(),
            &w.player.token,
            json!({"endpoint": long}),
            "/endpoint",
        ),
    ];
    for (case, path, token, body, field) in cases {
        let method = if path == "/v1/push/subscriptions" {
            Method::DELETE
        } else {
            Method::POST
        };
        let before = snapshot(&app).await;
        let answer = app.send(method, &path, Some(token), Some(body)).await;
        assert_names_field(case, &answer, field, "body");
        assert_eq!(snapshot(&app).await, before, "{case}: stored something");
    }
}

#[tokio::test]
async fn a_nul_in_any_query_parameter_is_400_naming_it() {
    let app = TestApp::spawn().await;
    let w = World::new(&app).await;
    let doc = openapi();
    let mut covered = 0;
    for (method, path, op) in operations(&doc) {
        if method != "GET" {
            continue;
        }
        for name in query_params(&path, &op) {
            let token = if path == "/v1/hunts/nearby" {
                &w.player.token
            } else {
                &w.owner.token
            };
            let case = format!("GET {path}?{name}=<NUL>");
            let url = format!("{}?{name}=1%00", w.path(&path));
            let answer = app.get(&url, Some(token)).await;
            assert_names_field(&case, &answer, &format!("/{name}"), "query");
            covered += 1;
        }
    }
    assert!(
        covered >= 7,
        "only {covered} query parameters found in the document"
    );
    // A parameter given twice is refused too, naming it.
    let url = format!("/v1/hunts/{}/leaderboard?limit=5&limit=6", w.hunt);
    let answer = app.get(&url, Some(&w.player.token)).await;
    assert_names_field("a repeated limit", &answer, "/limit", "query");
}

#[tokio::test]
async fn text_inside_geojson_and_target_patches_is_checked_too() {
    let app = TestApp::spawn().await;
    let w = World::new(&app).await;
    let draft = app.draft_hunt(&w.owner, paris_area(), json!({})).await;
    let target = app
        .import(
            &w.owner,
            &draft,
            collection(vec![circle("Opéra", 48.872, 2.3316, 30.0, 1)]),
        )
        .await
        .remove(0);
    let import = format!("/v1/hunts/{draft}/targets/import");
    let mut bad_name = circle("ok", 48.86, 2.34, 20.0, 1);
    bad_name["properties"]["name"] = json!(NUL_TEXT);
    let mut bad_meta = circle("ok", 48.86, 2.34, 20.0, 1);
    bad_meta["properties"]["sponsor"] = json!({"label": NUL_TEXT});
    let mut bad_key = circle("ok", 48.86, 2.34, 20.0, 1);
    bad_key["properties"]["a\u{0}"] = json!(1);
    let cases = [
        (
            "an imported name with a NUL",
            import.clone(),
            collection(vec![circle("fine", 48.85, 2.35, 20.0, 1), bad_name]),
            "/features/1/properties/name",
        ),
        (
            "imported metadata with a NUL",
            import.clone(),
            collection(vec![bad_meta]),
            "/features/0/properties/sponsor/label",
        ),
        (
            "a property name with a NUL",
            import,
            collection(vec![bad_key]),
            "/features/0/properties/a\u{0}",
        ),
    ];
    for (case, path, doc, field) in cases {
        let before = snapshot(&app).await;
        let answer = app.post(&path, Some(&w.owner.token), doc).await;
        assert_eq!(
            answer.1["details"]["field"].as_str(),
            Some(field),
            "{case}: {}",
            answer.1
        );
        assert_names_field(case, &answer, field, "body");
        assert_eq!(snapshot(&app).await, before, "{case}: stored something");
    }
    let patch = format!("/v1/hunts/{draft}/targets/{target}");
    let answer = app
        .send(
            Method::PATCH,
            &patch,
            Some(&w.owner.token),
            Some(json!({"name": NUL_TEXT})),
        )
        .await;
    assert_names_field("a target renamed with a NUL", &answer, "/name", "body");
}

#[tokio::test]
async fn a_websocket_message_with_a_nul_or_an_unknown_key_is_refused() {
    let app = TestApp::spawn().await;
    let w = World::new(&app).await;
    let mut ws = connect(&app, &w.player.token).await;
    for msg in [
        json!({"type": "subscribe", "hunt_id": w.hunt, "after": null, "x\u{0}": 1}),
        json!({"type": "subscribe", "hunt_id": w.hunt, "after": null, "mode": "all"}),
        json!({"type": "subscribe\u{0}", "hunt_id": w.hunt}),
    ] {
        send(&mut ws, msg.clone()).await;
        let answer = next(&mut ws, ARRIVES).await.expect("an answer");
        assert_eq!(
            (answer["type"].as_str(), answer["code"].as_str()),
            (Some("error"), Some("invalid_request")),
            "{msg}: {answer}"
        );
    }
}
