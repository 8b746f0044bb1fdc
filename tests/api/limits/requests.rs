//! Requests per token and per address on every route, and WebSocket sessions per player and per
//! address (a session's slot is released when it ends).

use reqwest::{Method, StatusCode};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::*;
use crate::support::*;

#[tokio::test]
async fn requests_per_token_are_limited_on_every_route_and_other_tokens_are_not() {
    let app = TestApp::spawn_with_limits(limits_from(&[(
        "NENUFAR_RATE_REQUESTS_PER_TOKEN",
        "1/h,10",
    )]))
    .await;
    let player = app.player().await;
    let other = app.player().await;
    let path = "/v1/hunts/nearby?lat=48.85&lon=2.35&radius_m=1000";
    let mut statuses = Vec::new();
    for _ in 0..30 {
        let (status, headers, body) =
            call(&app, Method::GET, path, Some(&player.token), None, None).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(assert_rate_limited(status, &headers, &body) > 300);
        }
        statuses.push(status);
    }
    assert_eq!(statuses[..10], [StatusCode::OK; 10], "{statuses:?}");
    assert!(
        statuses[10..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS)
    );
    // Any route: a limited token is limited everywhere, another token from the same address is not.
    let (status, _, _) = call(
        &app,
        Method::GET,
        "/v1/hunts/nearby?lat=1&lon=1&radius_m=10",
        Some(&player.token),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _, body) = call(&app, Method::GET, path, Some(&other.token), None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn requests_per_address_are_limited_whatever_the_token() {
    let app = TestApp::spawn_with_limits(limits_from(&[
        ("NENUFAR_RATE_REQUESTS_PER_ADDRESS", "1/h,40"),
        ("NENUFAR_TRUSTED_PROXIES", "127.0.0.0/8"),
    ]))
    .await;
    let mut statuses = Vec::new();
    for i in 0..60 {
        // Forged tokens from one address: never keys of their own, still counted per address.
        let token = format!("nfp_forged{i}");
        let (status, _, _) = call(
            &app,
            Method::GET,
            "/healthz",
            Some(&token),
            None,
            Some("192.0.2.1"),
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(statuses[..40], [StatusCode::OK; 40]);
    assert!(
        statuses[40..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS)
    );
    // IPv6 clients are counted per /64: another address in the same /64 is the same client.
    let (status, _, _) = call(
        &app,
        Method::GET,
        "/healthz",
        None,
        None,
        Some("2001:db8:1:2::1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for _ in 0..39 {
        call(
            &app,
            Method::GET,
            "/healthz",
            None,
            None,
            Some("2001:db8:1:2::1"),
        )
        .await;
    }
    let (status, _, _) = call(
        &app,
        Method::GET,
        "/healthz",
        None,
        None,
        Some("2001:db8:1:2:ffff::9"),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _, _) = call(
        &app,
        Method::GET,
        "/healthz",
        None,
        None,
        Some("2001:db8:1:3::1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// Opens `/v1/live`, or the HTTP status it was refused with.
async fn open(app: &TestApp, token: &str, forwarded: &str) -> Result<crate::live::Ws, StatusCode> {
    let url = format!("{}/v1/live", app.base.replacen("http://", "ws://", 1));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    req.headers_mut()
        .insert("x-forwarded-for", forwarded.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status()),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn websocket_sessions_are_limited_per_player_and_a_closed_one_frees_its_slot() {
    let app = TestApp::spawn_with_limits(limits_from(&[
        ("NENUFAR_LIVE_CONNECTIONS_PER_PLAYER", "2"),
        ("NENUFAR_TRUSTED_PROXIES", "127.0.0.1"),
    ]))
    .await;
    let player = app.player().await;
    let first = open(&app, &player.token, "192.0.2.1").await.unwrap();
    let _second = open(&app, &player.token, "192.0.2.2").await.unwrap();
    // A third session of the same player, from anywhere, is refused.
    assert_eq!(
        open(&app, &player.token, "192.0.2.3").await.err(),
        Some(StatusCode::TOO_MANY_REQUESTS)
    );
    // Another player is not.
    let other = app.player().await;
    assert!(open(&app, &other.token, "192.0.2.1").await.is_ok());
    // Once a session ends its slot is free again.
    drop(first);
    wait_until(
        "the closed session's slot released",
        crate::live::ARRIVES,
        async || {
            let opened = open(&app, &player.token, "192.0.2.3").await;
            if let Err(status) = &opened {
                assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS);
            }
            opened
        },
    )
    .await;
}

#[tokio::test]
async fn websocket_sessions_are_limited_per_address() {
    let app = TestApp::spawn_with_limits(limits_from(&[
        ("NENUFAR_LIVE_CONNECTIONS_PER_ADDRESS", "3"),
        ("NENUFAR_TRUSTED_PROXIES", "127.0.0.1"),
    ]))
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let p = app.player().await;
        held.push(open(&app, &p.token, "198.51.100.20").await.unwrap());
    }
    let p = app.player().await;
    assert_eq!(
        open(&app, &p.token, "198.51.100.20").await.err(),
        Some(StatusCode::TOO_MANY_REQUESTS)
    );
    assert!(open(&app, &p.token, "198.51.100.21").await.is_ok());
}
