//! Authentication and authorisation come before the body is read: a caller whose role may not
//! call a route gets 403 whatever they send. The table walks the OpenAPI document: every
//! bearer-secured operation lists the roles that may call it (the security requirement's role
//! names), every other role gets an invalid body and must answer 403, and every listed role gets
//! 400 for it. Unknown and draft hunts are 404 on every player route; the bearer scheme is
//! case-insensitive on the WebSocket upgrade as on REST.

use reqwest::Method;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::*;
use crate::live::{ARRIVES, next, send};
use crate::support::*;

const ROLES: [&str; 4] = ["player", "owner", "editor", "game_master"];

#[tokio::test]
async fn every_secured_operation_refuses_other_roles_before_reading_the_body() {
    let app = TestApp::spawn().await;
    let w = World::new(&app).await;
    let doc = openapi();
    let mut refused = 0;
    for (method, path, op) in operations(&doc) {
        let Some(security) = op["security"].as_array() else {
            continue;
        };
        let roles: Vec<&str> = security
            .iter()
            .filter_map(|s| s["bearer"].as_array())
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            !roles.is_empty(),
            "{method} {path}: the security requirement must list the roles that may call it"
        );
        for role in &roles {
            assert!(ROLES.contains(role), "{method} {path}: unknown role {role}");
        }
        let has_body = op.get("requestBody").is_some();
        let query: Vec<String> = query_params(&path, &op)
            .iter()
            .map(|q| format!("{q}=%00"))
            .collect();
        let url = if query.is_empty() {
            format!("{}{}", app.base, w.path(&path))
        } else {
            format!("{}{}?{}", app.base, w.path(&path), query.join("&"))
        };
        for role in ROLES {
            let allowed = roles.contains(&role);
            if allowed && !has_body && query.is_empty() {
                continue; // nothing invalid to send
            }
            let token = match role {
                "player" => &w.player.token,
                "owner" => &w.owner.token,
                "editor" => &w.editor.token,
                _ => &w.gm.token,
            };
            let mut req = app
                .client
                .request(Method::from_bytes(method.as_bytes()).unwrap(), &url)
                .bearer_auth(token);
            if has_body {
                req = req
                    .header("content-type", "application/json")
                    .body(r#"{"broken": "#);
            }
            let before = snapshot(&app).await;
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            let case = format!("{role} on {method} {path} with an invalid request");
            if allowed {
                assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {body}");
            } else {
                assert_eq!(
                    (status, body["code"].as_str()),
                    (StatusCode::FORBIDDEN, Some("forbidden")),
                    "{case}: {body}"
                );
                refused += 1;
            }
            assert_eq!(snapshot(&app).await, before, "{case}: stored something");
        }
    }
    assert!(refused >= 40, "only {refused} refusals checked");
}

#[tokio::test]
async fn unknown_and_draft_hunts_are_404_on_every_player_route() {
    let app = TestApp::spawn().await;
    let w = World::new(&app).await;
    let draft = app.draft_hunt(&w.owner, paris_area(), json!({})).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    for (what, hunt) in [("a draft hunt", &draft), ("an unknown hunt", &unknown)] {
        let cases = [
            (
                "progress",
                Method::GET,
                format!("/v1/hunts/{hunt}/progress"),
                None,
            ),
            (
                "clues",
                Method::GET,
                format!("/v1/hunts/{hunt}/clues"),
                None,
            ),
            (
                "buy",
                Method::POST,
                format!("/v1/hunts/{hunt}/clues/{}/buy", w.clue),
                None,
            ),
            (
                "check in",
                Method::POST,
                format!("/v1/hunts/{hunt}/checkins"),
                Some(checkin_body(48.852968, 2.349902, 5.0, chrono::Utc::now())),
            ),
            (
                "leaderboard",
                Method::GET,
                format!("/v1/hunts/{hunt}/leaderboard"),
                None,
            ),
            (
                "create a team",
                Method::POST,
                format!("/v1/hunts/{hunt}/teams"),
                Some(json!({"name": "x"})),
            ),
        ];
        for (route, method, path, body) in cases {
            let (status, answer) = app.send(method, &path, Some(&w.player.token), body).await;
            assert_eq!(
                (status, answer["code"].as_str()),
                (StatusCode::NOT_FOUND, Some("not_found")),
                "{route} on {what}: {answer}"
            );
        }
    }
    // A visible hunt without the caller's team stays 403 `not_in_hunt`.
    let outsider = app.player().await;
    for (route, method, path) in [
        (
            "progress",
            Method::GET,
            format!("/v1/hunts/{}/progress", w.hunt),
        ),
        ("clues", Method::GET, format!("/v1/hunts/{}/clues", w.hunt)),
        (
            "buy",
            Method::POST,
            format!("/v1/hunts/{}/clues/{}/buy", w.hunt, w.clue),
        ),
    ] {
        let (status, answer) = app.send(method, &path, Some(&outsider.token), None).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_in_hunt")),
            "{route}: {answer}"
        );
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_on_the_websocket_as_on_rest() {
    let app = TestApp::spawn().await;
    let w = World::new(&app).await;
    for scheme in ["bearer", "BEARER", "Bearer", "bEaReR"] {
        let header = format!("{scheme} {}", w.player.token);
        let r = app
            .client
            .get(format!("{}/v1/hunts/{}/progress", app.base, w.hunt))
            .header("authorization", &header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "REST with {scheme:?}");

        let url = format!("{}/v1/live", app.base.replacen("http://", "ws://", 1));
        let mut req = url.into_client_request().unwrap();
        req.headers_mut()
            .insert("authorization", header.parse().unwrap());
        let (mut ws, resp) = tokio_tungstenite::connect_async(req)
            .await
            .unwrap_or_else(|e| panic!("the upgrade with {scheme:?} failed: {e}"));
        assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
        send(
            &mut ws,
            json!({"type": "subscribe", "hunt_id": w.hunt, "after": null}),
        )
        .await;
        let m = next(&mut ws, ARRIVES).await.expect("an answer");
        assert_eq!(m["type"], json!("subscribed"), "{scheme:?}: {m}");
    }
    // Another scheme is still no credential.
    let r = app
        .client
        .get(format!("{}/v1/hunts/{}/progress", app.base, w.hunt))
        .header("authorization", format!("Basic {}", w.player.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
