//! Unknown keys are 400 at every depth of every body (outside GeoJSON documents), and a key given
//! twice in one object is 400 at any depth, GeoJSON included: serde would keep the last one.

use reqwest::Method;
use serde_json::json;

use super::*;
use crate::live::{ARRIVES, connect, next, send};
use crate::support::*;

#[tokio::test]
async fn unknown_keys_are_400_naming_them_at_every_depth() {
    let app = TestApp::spawn().await;
    let w = World::new(&app).await;
    let now = chrono::Utc::now();
    let hunt = |rules: Value| {
        json!({"title": "A hunt", "city": "Paris", "area": paris_area(), "teaser_at": now,
            "live_at": now, "ends_at": now + chrono::Duration::days(1), "rules": rules})
    };
    let clues = format!("/v1/hunts/{}/clues", w.hunt);
    let owner = Some(w.owner.token.as_str());
    let player = Some(w.player.token.as_str());
    let key =
        "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM";
    let cases: Vec<(&str, Method, String, Option<&str>, Value, &str)> = vec![
        (
            "a rule nobody knows, at creation",
            Method::POST,
            "/v1/hunts".into(),
            owner,
            hunt(json!({"max_accuracy_m": 40, "speed_limit_mps": 3})),
            "/rules/speed_limit_mps",
        ),
        (
            "an unknown key at the top of a hunt",
            Method::POST,
            "/v1/hunts".into(),
            owner,
            with_key(hunt(json!({})), "budget", json!(1000)),
            "/budget",
        ),
        (
            "an unknown key in a clue rule",
            Method::POST,
            clues,
            owner,
            json!({"text": "x", "rule": {"cost": 3, "discount": 1}}),
            "/rule/discount",
        ),
        (
            "an unknown key in push keys",
            Method::POST,
            "/v1/push/subscriptions".into(),
            player,
            json!({"endpoint": "https://push.example.net/x", "keys": {"p256dh": key, "auth": "AAAAAAAAAAAAAAAAAAAAAA", "extra": "?"}}),
            "/keys/extra",
        ),
        (
            "an unknown key beside a push subscription",
            Method::POST,
            "/v1/push/subscriptions".into(),
            player,
            json!({"endpoint": "https://push.example.net/x", "keys": {"p256dh": key, "auth": "AAAAAAAAAAAAAAAAAAAAAA"}, "owner": "me"}),
            "/owner",
        ),
    ];
    for (case, method, path, token, body, field) in cases {
        let before = snapshot(&app).await;
        let answer = app.send(method, &path, token, Some(body)).await;
        assert_names_field(case, &answer, field, "body");
        assert_eq!(snapshot(&app).await, before, "{case}: stored something");
    }
    // A browser's `PushSubscription.toJSON()` carries `expirationTime`: still accepted.
    let sub = json!({"endpoint": "https://push.example.net/y", "expirationTime": null,
        "keys": {"p256dh": key, "auth": "AAAAAAAAAAAAAAAAAAAAAA"}});
    let (status, body) = app.post("/v1/push/subscriptions", player, sub).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

fn with_key(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

#[tokio::test]
async fn a_key_given_twice_is_400_at_any_depth_geojson_included() {
    let app = TestApp::spawn().await;
    let w = World::new(&app).await;
    let now = chrono::Utc::now().to_rfc3339();
    let later = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let area = paris_area().to_string();
    let draft = app.draft_hunt(&w.owner, paris_area(), json!({})).await;
    let fresh = app.player().await;
    let cases: Vec<(&str, String, Option<&str>, String, &str)> = vec![
        ("a team named twice", format!("/v1/hunts/{}/teams", w.hunt), Some(&fresh.token),
            r#"{"name": "Les Lynx", "name": "Les Renards"}"#.into(), "/name"),
        ("a rule given twice", "/v1/hunts".into(), Some(&w.owner.token),
            format!(r#"{{"title": "t", "city": "c", "area": {area}, "teaser_at": "{now}", "live_at": "{now}",
                "ends_at": "{later}", "rules": {{"team_max_size": 3, "team_max_size": 60}}}}"#),
            "/rules/team_max_size"),
        ("a check-in latitude given twice", format!("/v1/hunts/{}/checkins", w.hunt), Some(&w.player.token),
            format!(r#"{{"lat": 48.85, "lat": 48.86, "lon": 2.35, "accuracy_m": 5, "captured_at": "{now}",
                "idempotency_key": "{}"}}"#, uuid::Uuid::new_v4()),
            "/lat"),
        ("a feature name given twice", format!("/v1/hunts/{draft}/targets/import"), Some(&w.owner.token),
            r#"{"type": "FeatureCollection", "features": [{"type": "Feature",
                "geometry": {"type": "Point", "coordinates": [2.35, 48.85]},
                "properties": {"name": "Real", "radius_m": 20, "name": "Fake"}}]}"#.into(),
            "/features/0/properties/name"),
        ("a geometry type given twice", format!("/v1/hunts/{draft}/targets"), Some(&w.owner.token),
            r#"{"type": "Feature", "geometry": {"type": "Point", "type": "Polygon", "coordinates": [2.35, 48.85]},
                "properties": {"name": "x", "radius_m": 20}}"#.into(),
            "/geometry/type"),
        ("an area coordinates member given twice", "/v1/hunts".into(), Some(&w.owner.token),
            format!(r#"{{"title": "t", "city": "c", "area": {{"type": "Polygon", "coordinates": [], "coordinates": {}}},
                "teaser_at": "{now}", "live_at": "{now}", "ends_at": "{later}"}}"#, paris_area()["coordinates"]),
            "/area/coordinates"),
    ];
    for (case, path, token, body, field) in cases {
        let before = snapshot(&app).await;
        let answer = app
            .post_raw(&path, token, Some("application/json"), body.into_bytes())
            .await;
        assert_names_field(case, &answer, field, "body");
        assert_eq!(snapshot(&app).await, before, "{case}: stored something");
    }

    // Over the WebSocket too.
    let mut ws = connect(&app, &w.player.token).await;
    let other = uuid::Uuid::new_v4();
    let text = format!(
        r#"{{"type": "subscribe", "hunt_id": "{other}", "hunt_id": "{}", "after": null}}"#,
        w.hunt
    );
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(text.into()))
        .await
        .unwrap();
    let answer = next(&mut ws, ARRIVES).await.expect("an answer");
    assert_eq!(
        (answer["type"].as_str(), answer["code"].as_str()),
        (Some("error"), Some("invalid_request")),
        "{answer}"
    );
    // The session still works after a refused message.
    send(
        &mut ws,
        json!({"type": "subscribe", "hunt_id": w.hunt, "after": null}),
    )
    .await;
    let answer = next(&mut ws, ARRIVES).await.expect("an answer");
    assert_eq!(answer["type"], json!("subscribed"), "{answer}");
}
