//! The subscription and preference endpoints: validation (nothing stored on a refusal), upsert by
//! endpoint, deletion by the owner only, preferences, and who may call them.

use reqwest::Method;
use serde_json::{Value, json};

use super::*;
use crate::live::rows;

const P256DH: &str =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

fn browser(endpoint: &str, p256dh: &str, auth: &str) -> Value {
    json!({"endpoint": endpoint, "expirationTime": null, "keys": {"p256dh": p256dh, "auth": auth}})
}

async fn stored(app: &TestApp) -> Vec<Value> {
    rows(
        &app.db_url,
        "select endpoint, player_id::text as player from push_subscriptions order by endpoint",
    )
    .await
}

#[tokio::test]
async fn subscriptions_are_checked_upserted_by_endpoint_and_deleted_by_their_owner_only() {
    let app = TestApp::spawn().await;
    let (ana, bob) = (app.player().await, app.player().await);
    let staff = app.staff().await;
    let good = "https://fcm.googleapis.com/fcm/send/device-1";

    let key = vapid_key(&app).await;
    assert_eq!(key.len(), 87, "{key}");
    assert!(
        key.starts_with('B'),
        "an uncompressed point starts with 0x04: {key}"
    );
    assert_eq!(vapid_key(&app).await, key, "the key is kept");

    let refused = [
        (
            browser("http://push.example.net/x", P256DH, AUTH),
            "invalid_subscription",
        ),
        (
            browser("https://10.1.2.3/x", P256DH, AUTH),
            "invalid_subscription",
        ),
        (
            browser("https://169.254.169.254/x", P256DH, AUTH),
            "invalid_subscription",
        ),
        // Loopback http is for nodes started with NENUFAR_PUSH_ALLOW_HTTP_LOOPBACK=1 only.
        (
            browser("http://127.0.0.1:9/x", P256DH, AUTH),
            "invalid_subscription",
        ),
        (browser("not a url", P256DH, AUTH), "invalid_subscription"),
        (browser(good, &P256DH[1..], AUTH), "invalid_subscription"),
        (browser(good, P256DH, "AAAA"), "invalid_subscription"),
        (json!({"endpoint": good}), "invalid_request"),
        (
            json!({"endpoint": good, "keys": {"p256dh": 5, "auth": AUTH}}),
            "invalid_request",
        ),
    ];
    for (body, code) in refused {
        let (status, answer) = app
            .post("/v1/push/subscriptions", Some(&ana.token), body.clone())
            .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{body} -> {answer}"
        );
    }
    assert_eq!(stored(&app).await, Vec::<Value>::new());

    let (status, _) = app
        .post(
            "/v1/push/subscriptions",
            Some(&staff.token),
            browser(good, P256DH, AUTH),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post("/v1/push/subscriptions", None, browser(good, P256DH, AUTH))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Stored; sent again (padded keys, as some browsers do) it stays one row.
    for auth in [AUTH.to_owned(), format!("{AUTH}==")] {
        let (status, body) = app
            .post(
                "/v1/push/subscriptions",
                Some(&ana.token),
                browser(good, P256DH, &auth),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    assert_eq!(
        stored(&app).await,
        [json!({"endpoint": good, "player": ana.id})]
    );
    // The device now belongs to Bob: it moves with him.
    app.post(
        "/v1/push/subscriptions",
        Some(&bob.token),
        browser(good, P256DH, AUTH),
    )
    .await;
    assert_eq!(
        stored(&app).await,
        [json!({"endpoint": good, "player": bob.id})]
    );

    let delete = |token: String| {
        let app = &app;
        async move {
            app.send(
                Method::DELETE,
                "/v1/push/subscriptions",
                Some(&token),
                Some(json!({"endpoint": good})),
            )
            .await
        }
    };
    let (status, body) = delete(ana.token.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    assert_eq!(
        stored(&app).await.len(),
        1,
        "Ana cannot delete Bob's device"
    );
    assert_eq!(delete(bob.token.clone()).await.0, StatusCode::NO_CONTENT);
    assert_eq!(stored(&app).await, Vec::<Value>::new());
    assert_eq!(delete(bob.token.clone()).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn preferences_name_known_categories_only_and_are_read_back() {
    let app = TestApp::spawn().await;
    let ana = app.player().await;
    let (status, body) = app.get("/v1/push/preferences", Some(&ana.token)).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"muted": [], "also_when_connected": false})
        )
    );
    let put = |body: Value| {
        app.send(
            Method::PUT,
            "/v1/push/preferences",
            Some(&ana.token),
            Some(body),
        )
    };
    let (status, body) = put(json!({"muted": ["rank", "spam"]})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (status, body) =
        put(json!({"muted": ["rank", "clue", "rank"], "also_when_connected": true})).await;
    assert_eq!(
        (status, &body),
        (
            StatusCode::OK,
            &json!({"muted": ["clue", "rank"], "also_when_connected": true})
        )
    );
    assert_eq!(
        app.get("/v1/push/preferences", Some(&ana.token)).await.1,
        body
    );
    let staff = app.staff().await;
    assert_eq!(
        app.get("/v1/push/preferences", Some(&staff.token)).await.0,
        StatusCode::FORBIDDEN
    );
}
