//! Fixes: a position out of range, a non-finite number, an accuracy or a capture time out of
//! bounds is `invalid_fix` and stores nothing; the bounds themselves and a merely inaccurate fix
//! get a stored verdict.

use chrono::{Duration, Utc};
use serde_json::json;

use super::*;
use crate::support::*;

#[tokio::test]
async fn fixes_out_of_range_non_finite_or_out_of_time_are_invalid_fix_and_store_nothing() {
    let app = TestApp::spawn().await;
    let (_staff, hunt, player) = live_hunt(&app, json!({})).await;
    let path = format!("/v1/hunts/{hunt}/checkins");
    // (case, lat, lon, accuracy_m, captured_at - now in seconds)
    let cases: [(&str, f64, f64, f64, i64); 10] = [
        ("latitude 90.0001", 90.0001, 2.35, 10.0, 0),
        ("latitude -91", -91.0, 2.35, 10.0, 0),
        ("longitude 180.5", 48.85, 180.5, 10.0, 0),
        ("longitude -180.0001", 48.85, -180.0001, 10.0, 0),
        ("accuracy 0", 48.85, 2.35, 0.0, 0),
        ("a negative accuracy", 48.85, 2.35, -5.0, 0),
        ("accuracy 10000.5", 48.85, 2.35, 10_000.5, 0),
        ("captured 31 s ahead", 48.85, 2.35, 10.0, 31),
        ("captured 11 min ago", 48.85, 2.35, 10.0, -11 * 60),
        ("captured a year ago", 48.85, 2.35, 10.0, -365 * 86_400),
    ];
    for (case, lat, lon, accuracy_m, offset_s) in cases {
        let captured_at = Utc::now() + Duration::seconds(offset_s);
        let body = checkin_body(lat, lon, accuracy_m, captured_at);
        let request = app.post(&path, Some(&player.token), body);
        refuse(&app, case, request, INVALID_FIX).await;
    }

    // JSON has no NaN nor Infinity: a literal too large for a double is the non-finite number it can carry.
    let captured_at = serde_json::to_string(&Utc::now()).unwrap();
    for (field, lat, lon, accuracy_m) in [
        ("lat", "1e999", "2.35", "10"),
        ("lon", "48.85", "-1e999", "10"),
        ("accuracy_m", "48.85", "2.35", "1e999"),
    ] {
        let body = format!(
            r#"{{"lat": {lat}, "lon": {lon}, "accuracy_m": {accuracy_m}, "captured_at": {captured_at}, "idempotency_key": "{}"}}"#,
            uuid::Uuid::new_v4()
        );
        let request = app.post_raw(&path, Some(&player.token), JSON, body.into_bytes());
        refuse(&app, &format!("{field} 1e999"), request, INVALID_FIX).await;
    }

    // The bounds themselves are valid fixes: each gets a verdict and is stored.
    let mut stored = app.count("checkins").await;
    for (case, lat, lon, accuracy_m, offset_s) in [
        ("the north pole", 90.0, 180.0, 10.0, 0),
        ("the south pole", -90.0, -180.0, 10.0, 0),
        ("a tiny accuracy", 48.85, 2.35, 0.001, 0),
        ("captured 20 s ahead", 48.85, 2.35, 10.0, 20),
        ("captured 9 min ago", 48.85, 2.35, 10.0, -9 * 60),
    ] {
        let captured_at = Utc::now() + Duration::seconds(offset_s);
        let body = checkin_body(lat, lon, accuracy_m, captured_at);
        let (status, body) = app.post(&path, Some(&player.token), body).await;
        assert_eq!(status, StatusCode::OK, "{case}: {body}");
        assert_eq!(body["verdict"], json!("nothing_here"), "{case}: {body}");
        stored += 1;
        assert_eq!(
            app.count("checkins").await,
            stored,
            "{case}: a verdict is stored"
        );
    }
}

#[tokio::test]
async fn a_fix_between_max_accuracy_and_10_km_is_a_stored_too_inaccurate_verdict() {
    let app = TestApp::spawn().await;
    let (_staff, hunt, player) = live_hunt(&app, json!({"max_accuracy_m": 50})).await;
    let (lat, lon) = (48.852968, 2.349902);
    let mut stored = app.count("checkins").await;
    for accuracy_m in [50.01, 51.0, 999.0, 5000.0, 10_000.0] {
        // Right on the target: the answer must not depend on where the fix is.
        let (status, body) = app.check_in(&player, &hunt, lat, lon, accuracy_m).await;
        assert_eq!(status, StatusCode::OK, "accuracy {accuracy_m}: {body}");
        assert_eq!(
            body["verdict"],
            json!("too_inaccurate"),
            "accuracy {accuracy_m}: {body}"
        );
        assert_eq!(body["targets"], json!([]));
        assert_eq!(body["accuracy_m"], json!(accuracy_m));
        assert_eq!(body["team_score"], json!(0));
        stored += 1;
        assert_eq!(
            app.count("checkins").await,
            stored,
            "accuracy {accuracy_m}: a verdict is stored"
        );
        assert_eq!(app.count("finds").await, 0);
    }
    let (status, body) = app.check_in(&player, &hunt, lat, lon, 50.0).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["verdict"],
        json!("found"),
        "max_accuracy_m itself is judged: {body}"
    );
}
