//! Login and sign-up limits: failed logins per e-mail counted in PostgreSQL (across nodes), logins
//! and account creations per address; refused attempts are never hashed; a full hashing queue is
//! 503 with its body and Retry-After.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::*;
use crate::support::*;

const PASSWORD: &str = "correct horse battery";

/// An owner account with a known e-mail (created through the service: one hash).
async fn owner(app: &TestApp) -> String {
    let email = format!("owner-{}@brand.example", uuid::Uuid::new_v4().simple());
    nenufar::service::orgs::create_org(&app.state.ctx, "Brand", &email, PASSWORD.into())
        .await
        .unwrap();
    email
}

async fn login(
    app: &TestApp,
    email: &str,
    password: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    call(
        app,
        Method::POST,
        "/v1/staff/login",
        None,
        Some(json!({"email": email, "password": password})),
        None,
    )
    .await
}

async fn hashes(app: &TestApp) -> f64 {
    metric(app, "nenufar_password_hashes_total").await
}

#[tokio::test]
async fn two_hundred_wrong_passwords_over_two_nodes_meet_the_per_account_limit_unhashed() {
    // Default per-account limit (10 in 15 min); the per-address one raised out of the way.
    let limits = || limits_from(&[("NENUFAR_RATE_LOGINS_PER_ADDRESS", "1000/s,1000")]);
    let a = TestApp::spawn_with_limits(limits()).await;
    let b = TestApp::spawn_on_with_limits(a.db_url.clone(), limits()).await;
    let email = owner(&a).await;
    let before = hashes(&a).await + hashes(&b).await;
    let (mut unauthorized, mut limited) = (0, 0);
    for i in 0..200 {
        let node = if i % 2 == 0 { &a } else { &b };
        let (status, headers, body) = login(node, &email, &format!("wrong {i}")).await;
        if status == StatusCode::UNAUTHORIZED {
            unauthorized += 1;
        } else {
            let after = assert_rate_limited(status, &headers, &body);
            assert!(after <= 15 * 60, "Retry-After {after}");
            limited += 1;
        }
    }
    assert_eq!((unauthorized, limited), (10, 190));
    assert_eq!(
        hashes(&a).await + hashes(&b).await - before,
        10.0,
        "refused attempts are never hashed"
    );
    // While the window lasts even the right password is refused, unhashed (an attacker can lock
    // an account out for the window: the price of a limit that holds across nodes and addresses).
    let (status, headers, body) = login(&b, &email, PASSWORD).await;
    assert_rate_limited(status, &headers, &body);
    // An unknown e-mail is counted exactly like a known one.
    let ghost = format!("nobody-{}@brand.example", uuid::Uuid::new_v4().simple());
    let mut statuses = Vec::new();
    for i in 0..12 {
        let node = if i % 2 == 0 { &a } else { &b };
        statuses.push(login(node, &ghost, "whatever").await.0);
    }
    assert_eq!(statuses[..10], [StatusCode::UNAUTHORIZED; 10]);
    assert_eq!(statuses[10..], [StatusCode::TOO_MANY_REQUESTS; 2]);
    assert_eq!(hashes(&a).await + hashes(&b).await - before, 20.0);
}

#[tokio::test]
async fn a_successful_login_starts_the_account_count_again() {
    let app = TestApp::spawn_with_limits(limits_from(&[(
        "NENUFAR_RATE_LOGINS_PER_ADDRESS",
        "1000/s,1000",
    )]))
    .await;
    let email = owner(&app).await;
    for _ in 0..9 {
        assert_eq!(
            login(&app, &email, "wrong").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(login(&app, &email, PASSWORD).await.0, StatusCode::OK);
    for _ in 0..10 {
        assert_eq!(
            login(&app, &email, "wrong").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, headers, body) = login(&app, &email, "wrong").await;
    assert_rate_limited(status, &headers, &body);
}

#[tokio::test]
async fn logins_from_one_address_meet_the_per_address_limit_before_any_hashing() {
    let app =
        TestApp::spawn_with_limits(limits_from(&[("NENUFAR_RATE_LOGINS_PER_ADDRESS", "1/h,5")]))
            .await;
    let before = hashes(&app).await;
    let mut statuses = Vec::new();
    for i in 0..50 {
        let email = format!("guess-{i}@brand.example");
        let (status, headers, body) = login(&app, &email, "guess").await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(assert_rate_limited(status, &headers, &body) > 600);
        }
        statuses.push(status);
    }
    assert_eq!(statuses[..5], [StatusCode::UNAUTHORIZED; 5]);
    assert!(
        statuses[5..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS)
    );
    assert_eq!(hashes(&app).await - before, 5.0);
    assert_eq!(
        app.count("login_attempts").await,
        5,
        "refused attempts are not counted either"
    );
}

#[tokio::test]
async fn a_sign_up_flood_from_one_address_is_refused_and_stores_nothing() {
    let app = TestApp::spawn_with_limits(limits_from(&[(
        "NENUFAR_RATE_SIGNUPS_PER_ADDRESS",
        "1/h,20",
    )]))
    .await;
    let mut created = 0;
    for i in 0..200 {
        let (status, headers, body) = call(
            &app,
            Method::POST,
            "/v1/players",
            None,
            Some(json!({"handle": format!("flood{i}")})),
            None,
        )
        .await;
        if status == StatusCode::CREATED {
            created += 1;
        } else {
            assert_rate_limited(status, &headers, &body);
        }
    }
    assert_eq!(created, 20);
    assert_eq!(app.count("players").await, 20);
    // Staff accounts made by an owner come out of the same allowance.
    let staff = app.staff().await;
    let (status, headers, body) = call(
        &app,
        Method::POST,
        "/v1/staff",
        Some(&staff.token),
        Some(json!({"email": "editor@brand.example", "password": "long enough", "role": "editor"})),
        None,
    )
    .await;
    assert_rate_limited(status, &headers, &body);
    assert_eq!(
        app.count("staff").await,
        1,
        "only the owner made through the service"
    );
}

#[tokio::test]
async fn a_full_hashing_queue_answers_503_with_its_body_and_retry_after() {
    let app = TestApp::spawn_with_limits(limits_from(&[
        ("NENUFAR_RATE_LOGINS_PER_ADDRESS", "1000/s,1000"),
        ("NENUFAR_PASSWORD_THREADS", "1"),
        ("NENUFAR_PASSWORD_QUEUE", "1"),
    ]))
    .await;
    let attempts: Vec<_> = (0..24)
        .map(|i| {
            let (client, url) = (app.client.clone(), format!("{}/v1/staff/login", app.base));
            tokio::spawn(async move {
                let r = client
                    .post(url)
                    .json(&json!({"email": format!("u{i}@brand.example"), "password": "guess"}))
                    .send()
                    .await
                    .unwrap();
                let (status, headers) = (r.status(), r.headers().clone());
                (status, headers, r.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut unavailable = 0;
    for a in attempts {
        let (status, headers, body) = a.await.unwrap();
        match status {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(body["code"], "unavailable", "{body}");
                assert!(body["message"].is_string());
                assert_eq!(headers["retry-after"], "1");
                unavailable += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(
        unavailable > 0,
        "one thread and a queue of one cannot take 24 at once"
    );
    assert_eq!(
        metric(&app, "nenufar_password_queue_full_total").await,
        f64::from(unavailable)
    );
    // Attempts that were never judged do not count against their account.
    let counted = app.count("login_attempts where attempts > 0").await;
    assert_eq!(counted, 24 - i64::from(unavailable));
}
