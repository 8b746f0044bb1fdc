//! What is refused before a body is read: a missing or wrong content type (415), a body over the
//! limit (413) and a missing or invalid bearer token (401).

use chrono::Utc;
use serde_json::{Value, json};

use super::*;
use crate::support::*;

#[tokio::test]
async fn a_body_without_a_json_content_type_is_415_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let (staff, hunt, player) = live_hunt(&app, json!({})).await;
    let fix = checkin_body(48.852968, 2.349902, 10.0, Utc::now()).to_string();
    let feature = circle("Pont Neuf", 48.857, 2.341, 20.0, 1).to_string();
    let cases: Vec<(&str, String, Option<&str>, Option<&str>, String)> = vec![
        (
            "a player without a content type",
            "/v1/players".into(),
            None,
            None,
            json!({"handle": "ana"}).to_string(),
        ),
        (
            "a player as text/plain",
            "/v1/players".into(),
            None,
            Some("text/plain"),
            json!({"handle": "ana"}).to_string(),
        ),
        (
            "a check-in without a content type",
            format!("/v1/hunts/{hunt}/checkins"),
            Some(&player.token),
            None,
            fix.clone(),
        ),
        (
            "a check-in as a form",
            format!("/v1/hunts/{hunt}/checkins"),
            Some(&player.token),
            Some("application/x-www-form-urlencoded"),
            fix,
        ),
        (
            "an import without a content type",
            format!("/v1/hunts/{hunt}/targets/import"),
            Some(&staff.token),
            None,
            feature.clone(),
        ),
        (
            "a target without a content type",
            format!("/v1/hunts/{hunt}/targets"),
            Some(&staff.token),
            None,
            feature,
        ),
        (
            "a hunt without a content type",
            "/v1/hunts".into(),
            Some(&staff.token),
            None,
            hunt_body(paris_area(), json!({})).to_string(),
        ),
    ];
    for (case, path, token, content_type, body) in cases {
        let request = app.post_raw(&path, token, content_type, body.into_bytes());
        refuse(&app, case, request, UNSUPPORTED_MEDIA).await;
    }
}

/// A JSON object of about `len` bytes: `{"<field>": "aaaa…"}`.
fn padded(field: &str, len: usize) -> Vec<u8> {
    format!(
        "{{\"{field}\": \"{}\"}}",
        "a".repeat(len.saturating_sub(field.len() + 8))
    )
    .into_bytes()
}

#[tokio::test]
async fn bodies_over_1_mib_or_16_mib_on_the_import_are_413_but_a_2_mib_import_is_accepted() {
    let app = TestApp::spawn().await;
    let (staff, hunt, player) = live_hunt(&app, json!({})).await;
    let mib = 1024 * 1024;

    let request = app.post_raw("/v1/players", None, JSON, padded("handle", mib + 1024));
    refuse(&app, "a player over 1 MiB", request, TOO_LARGE).await;
    // Just under the limit the body is read and judged on its content.
    let request = app.post_raw("/v1/players", None, JSON, padded("handle", mib - 1024));
    refuse(&app, "a player just under 1 MiB", request, INVALID_REQUEST).await;
    let checkins = format!("/v1/hunts/{hunt}/checkins");
    let request = app.post_raw(&checkins, Some(&player.token), JSON, padded("lat", 2 * mib));
    refuse(&app, "a check-in over 1 MiB", request, TOO_LARGE).await;
    let mut big_feature = circle("Big", 48.86, 2.34, 10.0, 1);
    big_feature["properties"]["description"] = json!("a".repeat(mib + 1024));
    let targets = format!("/v1/hunts/{hunt}/targets");
    let request = app.post(&targets, Some(&staff.token), big_feature);
    refuse(&app, "a single target over 1 MiB", request, TOO_LARGE).await;

    // The import takes up to 16 MiB: a real 2 MiB collection of circles imports...
    let draft = app.draft_hunt(&staff, paris_area(), json!({})).await;
    let import = format!("/v1/hunts/{draft}/targets/import");
    let features: Vec<Value> = (0..16_000)
        .map(|i| {
            let (row, col) = ((i / 110) as f64, (i % 110) as f64);
            circle(
                &format!("stash {i}"),
                48.82 + row * 0.0009,
                2.27 + col * 0.0012,
                15.0,
                1,
            )
        })
        .collect();
    let doc = collection(features).to_string().into_bytes();
    assert!(
        doc.len() > 2 * mib && doc.len() < 3 * mib,
        "the document is {} bytes",
        doc.len()
    );
    let targets_before = app.count("targets").await;
    let (status, body) = app.post_raw(&import, Some(&staff.token), JSON, doc).await;
    assert_eq!(status, StatusCode::CREATED, "a 2 MiB import: {body}");
    assert_eq!(body["imported"], json!(16_000));
    assert_eq!(app.count("targets").await, targets_before + 16_000);

    // ...and anything over 16 MiB is refused before it is parsed.
    let mut huge = circle("Huge", 48.86, 2.34, 10.0, 1);
    huge["properties"]["description"] = json!("a".repeat(16 * mib + 1024));
    let request = app.post(&import, Some(&staff.token), collection(vec![huge]));
    refuse(&app, "an import over 16 MiB", request, TOO_LARGE).await;
}

#[tokio::test]
async fn a_missing_or_invalid_bearer_token_is_401_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let (_staff, hunt, player) = live_hunt(&app, json!({})).await;
    let fix = || checkin_body(48.852968, 2.349902, 10.0, Utc::now());
    let checkins = format!("/v1/hunts/{hunt}/checkins");
    let import = format!("/v1/hunts/{hunt}/targets/import");
    let teams = format!("/v1/hunts/{hunt}/teams");
    let headers: [(&str, Option<String>); 6] = [
        ("no Authorization header", None),
        (
            "an unknown token",
            Some("Bearer nfp_not-a-real-token".into()),
        ),
        ("an empty bearer", Some("Bearer ".into())),
        ("a Basic credential", Some("Basic YW5hOnNlY3JldA==".into())),
        ("a token without its scheme", Some(player.token.clone())),
        (
            "an oversized token",
            Some(format!("Bearer {}", "x".repeat(5000))),
        ),
    ];
    for (label, header) in headers {
        for (what, path, body) in [
            ("check-in", checkins.as_str(), fix()),
            (
                "hunt creation",
                "/v1/hunts",
                hunt_body(paris_area(), json!({})),
            ),
            (
                "import",
                import.as_str(),
                collection(vec![circle("Pont Neuf", 48.857, 2.341, 20.0, 1)]),
            ),
            (
                "team creation",
                teams.as_str(),
                json!({"name": "intruders"}),
            ),
        ] {
            let before = snapshot(&app).await;
            let mut req = app.client.post(format!("{}{path}", app.base)).json(&body);
            if let Some(h) = &header {
                req = req.header("authorization", h);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let www = resp
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned());
            let answer = (status, resp.json().await.unwrap());
            let case = format!("{what} with {label}");
            assert_refused(&app, &before, &case, &answer, UNAUTHENTICATED).await;
            assert_eq!(www.as_deref(), Some("Bearer"), "{case}: WWW-Authenticate");
        }
    }
    let answer = app.get("/v1/hunts", Some("nfs_forged")).await;
    assert_error(
        "a listing with a forged staff token",
        &answer,
        UNAUTHENTICATED,
    );
}
