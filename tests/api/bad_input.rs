//! Bad input (issue 2, item 6): every refused request answers the documented status and `code`
//! in the `{code, message, details}` envelope, never a 5xx nor an internal detail, and stores nothing.

use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const JSON: Option<&str> = Some("application/json");

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

/// Row counts of every table a request could write, as one JSON object.
async fn snapshot(app: &TestApp) -> Value {
    #[derive(diesel::QueryableByName)]
    struct Counts {
        #[diesel(sql_type = diesel::sql_types::Text)]
        counts: String,
    }
    let tables = [
        "organisations",
        "staff",
        "players",
        "access_tokens",
        "hunts",
        "targets",
        "teams",
        "team_members",
        "checkins",
        "finds",
    ];
    let fields: Vec<String> = tables
        .iter()
        .map(|t| format!("'{t}', (select count(*) from {t})"))
        .collect();
    let sql = format!(
        "select json_build_object({})::text as counts",
        fields.join(", ")
    );
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let row: Counts = diesel::sql_query(sql).get_result(&mut conn).await.unwrap();
    serde_json::from_str(&row.counts).unwrap()
}

/// Asserts the status, the code, the exact envelope and that no internal detail shows.
fn assert_error(case: &str, status: StatusCode, body: &Value, want: StatusCode, code: &str) {
    assert_eq!(status, want, "{case}: status, body {body}");
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
    assert_no_internal_detail(case, body);
}

fn assert_no_internal_detail(case: &str, body: &Value) {
    let text = body.to_string().to_lowercase();
    for word in INTERNAL_WORDS {
        assert!(
            !text.contains(word),
            "{case}: the error body mentions {word:?}: {body}"
        );
    }
}

/// Asserts the error and that no table changed since `before`.
async fn assert_refused(
    app: &TestApp,
    before: &Value,
    case: &str,
    (status, body): (StatusCode, Value),
    want: StatusCode,
    code: &str,
) {
    assert_error(case, status, &body, want, code);
    assert_eq!(
        &snapshot(app).await,
        before,
        "{case}: a refused request stored something"
    );
}

/// A published, live hunt over Paris with one circle target at Notre-Dame, and a player in a team.
async fn live_hunt(app: &TestApp, rules: Value) -> (Staff, String, Player) {
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

fn hunt_body(area: Value, rules: Value) -> Value {
    let now = Utc::now();
    json!({
        "title": "Bad hunt", "city": "Paris", "area": area,
        "teaser_at": now - Duration::hours(1), "live_at": now, "ends_at": now + Duration::days(1), "rules": rules,
    })
}

#[tokio::test]
async fn bodies_that_are_not_json_are_invalid_json_and_store_nothing() {
    let app = TestApp::spawn().await;
    let (staff, hunt, player) = live_hunt(&app, json!({})).await;
    let checkins = format!("/v1/hunts/{hunt}/checkins");
    let trailing = format!(
        "{} trailing",
        checkin_body(48.852968, 2.349902, 10.0, Utc::now())
    );
    let cases: Vec<(&str, String, Option<&str>, &str)> = vec![
        (
            "a player from a truncated object",
            "/v1/players".into(),
            None,
            "{\"handle\": \"ana",
        ),
        (
            "a player from plain text",
            "/v1/players".into(),
            None,
            "ana",
        ),
        (
            "a login with a trailing comma",
            "/v1/staff/login".into(),
            None,
            "{\"email\": \"a@b.example\", \"password\": \"x\",}",
        ),
        (
            "a hunt from single quotes",
            "/v1/hunts".into(),
            Some(&staff.token),
            "{'title': 'x'}",
        ),
        (
            "a team from an unterminated string",
            format!("/v1/hunts/{hunt}/teams"),
            Some(&player.token),
            "{\"name\": \"x}",
        ),
        (
            "a check-in with NaN",
            checkins.clone(),
            Some(&player.token),
            "{\"lat\": NaN}",
        ),
        (
            "a check-in from an empty body",
            checkins.clone(),
            Some(&player.token),
            "",
        ),
        (
            "a check-in followed by garbage",
            checkins.clone(),
            Some(&player.token),
            &trailing,
        ),
        (
            "a join from bare words",
            "/v1/teams/join".into(),
            Some(&player.token),
            "invite_code=ABCD2345",
        ),
    ];
    for (case, path, token, body) in cases {
        let before = snapshot(&app).await;
        let answer = app
            .post_raw(&path, token, JSON, body.as_bytes().to_vec())
            .await;
        assert_refused(
            &app,
            &before,
            case,
            answer,
            StatusCode::BAD_REQUEST,
            "invalid_json",
        )
        .await;
    }
}

#[tokio::test]
async fn wrong_types_missing_and_unknown_fields_are_invalid_request_never_422() {
    let app = TestApp::spawn().await;
    let (staff, hunt, player) = live_hunt(&app, json!({})).await;
    let now = Utc::now();
    let checkins = format!("/v1/hunts/{hunt}/checkins");
    let key = uuid::Uuid::new_v4();
    let fix = |lat: Value, extra: Value| {
        let mut b = json!({"lat": lat, "lon": 2.35, "accuracy_m": 10.0, "captured_at": now, "idempotency_key": key});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                b.as_object_mut().unwrap().remove(k);
            } else {
                b[k] = v.clone();
            }
        }
        b
    };
    let cases: Vec<(&str, String, Option<&str>, Value)> = vec![
        (
            "a handle that is a number",
            "/v1/players".into(),
            None,
            json!({"handle": 42}),
        ),
        (
            "a player without a handle",
            "/v1/players".into(),
            None,
            json!({}),
        ),
        (
            "a player with an unknown field",
            "/v1/players".into(),
            None,
            json!({"handle": "ana", "admin": true}),
        ),
        (
            "a login without a password",
            "/v1/staff/login".into(),
            None,
            json!({"email": "a@b.example"}),
        ),
        (
            "a latitude that is a string",
            checkins.clone(),
            Some(&player.token),
            fix(json!("48.85"), json!({})),
        ),
        (
            "a latitude that is null",
            checkins.clone(),
            Some(&player.token),
            fix(Value::Null, json!({})),
        ),
        (
            "a check-in without accuracy",
            checkins.clone(),
            Some(&player.token),
            fix(json!(48.85), json!({"accuracy_m": null})),
        ),
        (
            "a check-in without a key",
            checkins.clone(),
            Some(&player.token),
            fix(json!(48.85), json!({"idempotency_key": null})),
        ),
        (
            "a malformed idempotency key",
            checkins.clone(),
            Some(&player.token),
            fix(json!(48.85), json!({"idempotency_key": "not-a-uuid"})),
        ),
        (
            "a numeric idempotency key",
            checkins.clone(),
            Some(&player.token),
            fix(json!(48.85), json!({"idempotency_key": 12345})),
        ),
        (
            "a captured_at that is not RFC 3339",
            checkins.clone(),
            Some(&player.token),
            fix(json!(48.85), json!({"captured_at": "yesterday"})),
        ),
        (
            "a check-in with an unknown field",
            checkins.clone(),
            Some(&player.token),
            fix(json!(48.85), json!({"altitude_m": 35.0})),
        ),
        (
            "a team without a name",
            format!("/v1/hunts/{hunt}/teams"),
            Some(&player.token),
            json!({}),
        ),
        (
            "a team name that is a list",
            format!("/v1/hunts/{hunt}/teams"),
            Some(&player.token),
            json!({"name": ["a"]}),
        ),
        (
            "a join without a code",
            "/v1/teams/join".into(),
            Some(&player.token),
            json!({"code": "ABCD2345"}),
        ),
        (
            "a hunt without a title",
            "/v1/hunts".into(),
            Some(&staff.token),
            {
                let mut b = hunt_body(paris_area(), json!({}));
                b.as_object_mut().unwrap().remove("title");
                b
            },
        ),
        (
            "a hunt with a numeric title",
            "/v1/hunts".into(),
            Some(&staff.token),
            {
                let mut b = hunt_body(paris_area(), json!({}));
                b["title"] = json!(7);
                b
            },
        ),
        (
            "a hunt with an unknown field",
            "/v1/hunts".into(),
            Some(&staff.token),
            {
                let mut b = hunt_body(paris_area(), json!({}));
                b["budget"] = json!(1000);
                b
            },
        ),
        (
            "a hunt with a date that is not a date",
            "/v1/hunts".into(),
            Some(&staff.token),
            {
                let mut b = hunt_body(paris_area(), json!({}));
                b["live_at"] = json!("soon");
                b
            },
        ),
        (
            "a hunt with an unknown policy",
            "/v1/hunts".into(),
            Some(&staff.token),
            hunt_body(paris_area(), json!({"accuracy_policy": "sloppy"})),
        ),
        (
            "a hunt with a fractional team size",
            "/v1/hunts".into(),
            Some(&staff.token),
            hunt_body(paris_area(), json!({"team_max_size": 2.5})),
        ),
        (
            "a staff account with an unknown role",
            "/v1/staff".into(),
            Some(&staff.token),
            json!({"email": "ed@brand.example", "password": "long enough pw", "role": "admin"}),
        ),
        // serde's derive would read a struct from a JSON array: the body must still be an object.
        (
            "a player from an array",
            "/v1/players".into(),
            None,
            json!(["ana"]),
        ),
        (
            "a check-in from an array",
            checkins.clone(),
            Some(&player.token),
            json!([48.85, 2.35, 10.0, now, key]),
        ),
    ];
    for (case, path, token, body) in cases {
        let before = snapshot(&app).await;
        let answer = app.post(&path, token, body).await;
        assert_refused(
            &app,
            &before,
            case,
            answer,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
    }

    let before = snapshot(&app).await;
    let answer = app
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/hunts/{hunt}"),
            Some(&staff.token),
            Some(json!({"title": 3})),
        )
        .await;
    assert_refused(
        &app,
        &before,
        "a PATCH with a numeric title",
        answer,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    let answer = app
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/hunts/{hunt}"),
            Some(&staff.token),
            Some(json!({"owner": "me"})),
        )
        .await;
    assert_refused(
        &app,
        &before,
        "a PATCH with an unknown field",
        answer,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
}

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
        let before = snapshot(&app).await;
        let answer = app
            .post_raw(&path, token, content_type, body.into_bytes())
            .await;
        assert_refused(
            &app,
            &before,
            case,
            answer,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
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

    let before = snapshot(&app).await;
    let answer = app
        .post_raw("/v1/players", None, JSON, padded("handle", mib + 1024))
        .await;
    assert_refused(
        &app,
        &before,
        "a player over 1 MiB",
        answer,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    )
    .await;
    // Just under the limit the body is read and judged on its content.
    let answer = app
        .post_raw("/v1/players", None, JSON, padded("handle", mib - 1024))
        .await;
    assert_refused(
        &app,
        &before,
        "a player just under 1 MiB",
        answer,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    let answer = app
        .post_raw(
            &format!("/v1/hunts/{hunt}/checkins"),
            Some(&player.token),
            JSON,
            padded("lat", 2 * mib),
        )
        .await;
    assert_refused(
        &app,
        &before,
        "a check-in over 1 MiB",
        answer,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    )
    .await;
    let mut big_feature = circle("Big", 48.86, 2.34, 10.0, 1);
    big_feature["properties"]["description"] = json!("a".repeat(mib + 1024));
    let answer = app
        .post(
            &format!("/v1/hunts/{hunt}/targets"),
            Some(&staff.token),
            big_feature,
        )
        .await;
    assert_refused(
        &app,
        &before,
        "a single target over 1 MiB",
        answer,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    )
    .await;

    // The import takes up to 16 MiB: a real 2 MiB collection of circles imports...
    let draft = app.draft_hunt(&staff, paris_area(), json!({})).await;
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
    let (status, body) = app
        .post_raw(
            &format!("/v1/hunts/{draft}/targets/import"),
            Some(&staff.token),
            JSON,
            doc,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "a 2 MiB import: {body}");
    assert_eq!(body["imported"], json!(16_000));
    assert_eq!(app.count("targets").await, targets_before + 16_000);

    // ...and anything over 16 MiB is refused before it is parsed.
    let before = snapshot(&app).await;
    let mut huge = circle("Huge", 48.86, 2.34, 10.0, 1);
    huge["properties"]["description"] = json!("a".repeat(16 * mib + 1024));
    let answer = app
        .post(
            &format!("/v1/hunts/{draft}/targets/import"),
            Some(&staff.token),
            collection(vec![huge]),
        )
        .await;
    assert_refused(
        &app,
        &before,
        "an import over 16 MiB",
        answer,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    )
    .await;
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
            let body: Value = resp.json().await.unwrap();
            let case = format!("{what} with {label}");
            assert_refused(
                &app,
                &before,
                &case,
                (status, body),
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
            )
            .await;
            assert_eq!(www.as_deref(), Some("Bearer"), "{case}: WWW-Authenticate");
        }
    }
    let (status, body) = app.get("/v1/hunts", Some("nfs_forged")).await;
    assert_error(
        "a listing with a forged staff token",
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}

#[tokio::test]
async fn fixes_out_of_range_non_finite_or_out_of_time_are_invalid_fix_and_store_nothing() {
    let app = TestApp::spawn().await;
    let (_staff, hunt, player) = live_hunt(&app, json!({})).await;
    let path = format!("/v1/hunts/{hunt}/checkins");
    let now = Utc::now();
    let cases: Vec<(&str, f64, f64, f64, chrono::DateTime<Utc>)> = vec![
        ("latitude 90.0001", 90.0001, 2.35, 10.0, now),
        ("latitude -91", -91.0, 2.35, 10.0, now),
        ("longitude 180.5", 48.85, 180.5, 10.0, now),
        ("longitude -180.0001", 48.85, -180.0001, 10.0, now),
        ("accuracy 0", 48.85, 2.35, 0.0, now),
        ("a negative accuracy", 48.85, 2.35, -5.0, now),
        ("accuracy 10000.5", 48.85, 2.35, 10_000.5, now),
        (
            "captured 31 s ahead",
            48.85,
            2.35,
            10.0,
            Utc::now() + Duration::seconds(31),
        ),
        (
            "captured 11 min ago",
            48.85,
            2.35,
            10.0,
            Utc::now() - Duration::minutes(11),
        ),
        (
            "captured a year ago",
            48.85,
            2.35,
            10.0,
            Utc::now() - Duration::days(365),
        ),
    ];
    for (case, lat, lon, accuracy_m, captured_at) in cases {
        let before = snapshot(&app).await;
        let answer = app
            .post(
                &path,
                Some(&player.token),
                checkin_body(lat, lon, accuracy_m, captured_at),
            )
            .await;
        assert_refused(
            &app,
            &before,
            case,
            answer,
            StatusCode::BAD_REQUEST,
            "invalid_fix",
        )
        .await;
    }

    // JSON has no NaN nor Infinity: a literal too large for a double is the non-finite number it can carry.
    let captured_at = serde_json::to_string(&Utc::now()).unwrap();
    for (field, body) in [
        (
            "lat",
            format!(
                r#"{{"lat": 1e999, "lon": 2.35, "accuracy_m": 10, "captured_at": {captured_at}, "idempotency_key": "{}"}}"#,
                uuid::Uuid::new_v4()
            ),
        ),
        (
            "lon",
            format!(
                r#"{{"lat": 48.85, "lon": -1e999, "accuracy_m": 10, "captured_at": {captured_at}, "idempotency_key": "{}"}}"#,
                uuid::Uuid::new_v4()
            ),
        ),
        (
            "accuracy_m",
            format!(
                r#"{{"lat": 48.85, "lon": 2.35, "accuracy_m": 1e999, "captured_at": {captured_at}, "idempotency_key": "{}"}}"#,
                uuid::Uuid::new_v4()
            ),
        ),
    ] {
        let before = snapshot(&app).await;
        let answer = app
            .post_raw(&path, Some(&player.token), JSON, body.into_bytes())
            .await;
        assert_refused(
            &app,
            &before,
            &format!("{field} 1e999"),
            answer,
            StatusCode::BAD_REQUEST,
            "invalid_fix",
        )
        .await;
    }

    // The bounds themselves are valid fixes: each gets a verdict and is stored.
    let mut stored = app.count("checkins").await;
    for (case, lat, lon, accuracy_m, captured_at) in [
        ("the north pole", 90.0, 180.0, 10.0, Utc::now()),
        ("the south pole", -90.0, -180.0, 10.0, Utc::now()),
        ("a tiny accuracy", 48.85, 2.35, 0.001, Utc::now()),
        (
            "captured 20 s ahead",
            48.85,
            2.35,
            10.0,
            Utc::now() + Duration::seconds(20),
        ),
        (
            "captured 9 min ago",
            48.85,
            2.35,
            10.0,
            Utc::now() - Duration::minutes(9),
        ),
    ] {
        let (status, body) = app
            .post(
                &path,
                Some(&player.token),
                checkin_body(lat, lon, accuracy_m, captured_at),
            )
            .await;
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

/// A valid Polygon feature.
fn polygon_feature(name: &str, lon: f64, lat: f64) -> Value {
    json!({"type": "Feature", "properties": {"name": name},
        "geometry": rect(lon, lat, lon + 0.001, lat + 0.001)})
}

fn feature(geometry: Value, properties: Value) -> Value {
    json!({"type": "Feature", "geometry": geometry, "properties": properties})
}

fn point(lon: f64, lat: f64) -> Value {
    json!({"type": "Point", "coordinates": [lon, lat]})
}

async fn targets_version(app: &TestApp, staff: &Staff, hunt: &str) -> Value {
    let (status, body) = app
        .get(&format!("/v1/hunts/{hunt}"), Some(&staff.token))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["targets_version"].clone()
}

#[tokio::test]
async fn a_bad_third_feature_refuses_the_whole_import_with_its_index_and_reason() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
    app.import(
        &staff,
        &hunt,
        collection(vec![circle("already here", 48.86, 2.34, 20.0, 1)]),
    )
    .await;
    let invalid = "invalid_geojson";
    let unsupported = "unsupported_geometry";
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "an unclosed ring",
            feature(
                json!({"type": "Polygon", "coordinates": [[[2.30, 48.85], [2.31, 48.85], [2.31, 48.86], [2.30, 48.86]]]}),
                json!({"name": "open"}),
            ),
            invalid,
        ),
        (
            "a ring of 3 positions",
            feature(
                json!({"type": "Polygon", "coordinates": [[[2.30, 48.85], [2.31, 48.85], [2.30, 48.85]]]}),
                json!({"name": "short"}),
            ),
            invalid,
        ),
        (
            "a position of 1 number",
            feature(
                json!({"type": "Point", "coordinates": [2.30]}),
                json!({"name": "one", "radius_m": 10}),
            ),
            invalid,
        ),
        (
            "a position of 4 numbers",
            feature(
                json!({"type": "Point", "coordinates": [2.30, 48.85, 35.0, 1.0]}),
                json!({"name": "four", "radius_m": 10}),
            ),
            invalid,
        ),
        (
            "a ring position of 4 numbers",
            feature(
                json!({"type": "Polygon", "coordinates": [[[2.30, 48.85, 0, 0], [2.31, 48.85, 0, 0], [2.31, 48.86, 0, 0], [2.30, 48.85, 0, 0]]]}),
                json!({"name": "four"}),
            ),
            invalid,
        ),
        (
            "a position holding a string",
            feature(
                json!({"type": "Point", "coordinates": ["2.30", 48.85]}),
                json!({"name": "text", "radius_m": 10}),
            ),
            invalid,
        ),
        (
            "latitude 95",
            feature(point(2.30, 95.0), json!({"name": "sky", "radius_m": 10})),
            invalid,
        ),
        (
            "longitude 181 in a ring",
            feature(rect(180.5, 10.0, 181.0, 11.0), json!({"name": "east"})),
            invalid,
        ),
        (
            "a LineString",
            feature(
                json!({"type": "LineString", "coordinates": [[2.30, 48.85], [2.31, 48.86]]}),
                json!({"name": "line"}),
            ),
            unsupported,
        ),
        (
            "a MultiPoint",
            feature(
                json!({"type": "MultiPoint", "coordinates": [[2.30, 48.85], [2.31, 48.86]]}),
                json!({"name": "points", "radius_m": 10}),
            ),
            unsupported,
        ),
        (
            "a GeometryCollection",
            feature(
                json!({"type": "GeometryCollection", "geometries": [point(2.30, 48.85)]}),
                json!({"name": "bag", "radius_m": 10}),
            ),
            unsupported,
        ),
        (
            "a Point without radius_m",
            feature(point(2.30, 48.85), json!({"name": "dot"})),
            unsupported,
        ),
        (
            "radius_m 0",
            feature(point(2.30, 48.85), json!({"name": "zero", "radius_m": 0})),
            invalid,
        ),
        (
            "a negative radius_m",
            feature(point(2.30, 48.85), json!({"name": "minus", "radius_m": -5})),
            invalid,
        ),
        (
            "radius_m 50001",
            feature(
                point(2.30, 48.85),
                json!({"name": "huge", "radius_m": 50_001}),
            ),
            invalid,
        ),
        (
            "a textual radius_m",
            feature(
                point(2.30, 48.85),
                json!({"name": "words", "radius_m": "ten"}),
            ),
            invalid,
        ),
        (
            "a missing name",
            feature(point(2.30, 48.85), json!({"radius_m": 10})),
            invalid,
        ),
        (
            "a blank name",
            feature(point(2.30, 48.85), json!({"name": "  ", "radius_m": 10})),
            invalid,
        ),
        (
            "a numeric name",
            feature(point(2.30, 48.85), json!({"name": 12, "radius_m": 10})),
            invalid,
        ),
        (
            "negative points",
            feature(
                point(2.30, 48.85),
                json!({"name": "debt", "radius_m": 10, "points": -1}),
            ),
            invalid,
        ),
        (
            "an unknown geometry type",
            feature(
                json!({"type": "Circle", "coordinates": [2.30, 48.85]}),
                json!({"name": "c", "radius_m": 10}),
            ),
            invalid,
        ),
        (
            "a feature without geometry",
            json!({"type": "Feature", "properties": {"name": "ghost"}}),
            invalid,
        ),
        (
            "a geometry instead of a feature",
            point(2.30, 48.85),
            invalid,
        ),
        (
            "an unknown prerequisite",
            feature(
                point(2.30, 48.85),
                json!({"name": "locked", "radius_m": 10, "prerequisites": [uuid::Uuid::new_v4()]}),
            ),
            invalid,
        ),
    ];
    let path = format!("/v1/hunts/{hunt}/targets/import");
    for (case, bad, code) in cases {
        let before = snapshot(&app).await;
        let version_before = targets_version(&app, &staff, &hunt).await;
        let doc = collection(vec![
            circle("first", 48.85, 2.35, 20.0, 1),
            polygon_feature("second", 2.33, 48.86),
            bad.clone(),
        ]);
        let (status, body) = app.post(&path, Some(&staff.token), doc).await;
        assert_refused(
            &app,
            &before,
            case,
            (status, body.clone()),
            StatusCode::BAD_REQUEST,
            code,
        )
        .await;
        assert_eq!(body["details"]["feature_index"], json!(2), "{case}: {body}");
        assert!(
            body["details"]["reason"]
                .as_str()
                .is_some_and(|r| !r.trim().is_empty()),
            "{case}: a reason, {body}"
        );
        assert_eq!(
            targets_version(&app, &staff, &hunt).await,
            version_before,
            "{case}: targets_version changed"
        );

        // The same feature alone, through the single-target endpoint, is refused the same way.
        let (status, body) = app
            .post(
                &format!("/v1/hunts/{hunt}/targets"),
                Some(&staff.token),
                bad,
            )
            .await;
        assert_refused(
            &app,
            &before,
            &format!("{case} (single target)"),
            (status, body.clone()),
            StatusCode::BAD_REQUEST,
            code,
        )
        .await;
        assert_eq!(
            body["details"]["feature_index"],
            json!(0),
            "{case} (single target): {body}"
        );
        assert!(
            body["details"]["reason"]
                .as_str()
                .is_some_and(|r| !r.trim().is_empty()),
            "{case}: {body}"
        );
    }

    // Documents that are not a FeatureCollection or a Feature at all.
    for (case, doc) in [
        ("an array", json!([circle("a", 48.85, 2.35, 20.0, 1)])),
        ("a string", json!("FeatureCollection")),
        (
            "a collection without features",
            json!({"type": "FeatureCollection"}),
        ),
        (
            "features that are not an array",
            json!({"type": "FeatureCollection", "features": {"0": circle("a", 48.85, 2.35, 20.0, 1)}}),
        ),
        ("an object without a type", json!({"features": []})),
    ] {
        let before = snapshot(&app).await;
        let answer = app.post(&path, Some(&staff.token), doc).await;
        assert_refused(
            &app,
            &before,
            case,
            answer,
            StatusCode::BAD_REQUEST,
            invalid,
        )
        .await;
    }

    // Issue 2 item 4 lists "not JSON" among the import's `invalid_geojson` cases.
    let before = snapshot(&app).await;
    let answer = app
        .post_raw(
            &path,
            Some(&staff.token),
            JSON,
            b"{\"type\": \"FeatureCollection\", \"features\": [".to_vec(),
        )
        .await;
    assert_refused(
        &app,
        &before,
        "an import that is not JSON",
        answer,
        StatusCode::BAD_REQUEST,
        invalid,
    )
    .await;
}

#[tokio::test]
async fn bad_hunts_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let now = Utc::now();
    let line = json!({"type": "LineString", "coordinates": [[2.2, 48.8], [2.5, 48.93]]});
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "max_accuracy_m 1001",
            hunt_body(paris_area(), json!({"max_accuracy_m": 1001})),
            "invalid_request",
        ),
        (
            "max_accuracy_m 0",
            hunt_body(paris_area(), json!({"max_accuracy_m": 0})),
            "invalid_request",
        ),
        (
            "a negative max_accuracy_m",
            hunt_body(paris_area(), json!({"max_accuracy_m": -10})),
            "invalid_request",
        ),
        (
            "team_max_size 0",
            hunt_body(paris_area(), json!({"team_max_size": 0})),
            "invalid_request",
        ),
        (
            "team_max_size 101",
            hunt_body(paris_area(), json!({"team_max_size": 101})),
            "invalid_request",
        ),
        (
            "a teaser after live",
            {
                let mut b = hunt_body(paris_area(), json!({}));
                b["teaser_at"] = json!(now + Duration::hours(2));
                b
            },
            "invalid_request",
        ),
        (
            "an end before live",
            {
                let mut b = hunt_body(paris_area(), json!({}));
                b["ends_at"] = json!(now - Duration::hours(2));
                b
            },
            "invalid_request",
        ),
        (
            "an archive before the end",
            {
                let mut b = hunt_body(paris_area(), json!({}));
                b["archive_at"] = json!(now + Duration::hours(1));
                b
            },
            "invalid_request",
        ),
        (
            "an empty title",
            {
                let mut b = hunt_body(paris_area(), json!({}));
                b["title"] = json!("   ");
                b
            },
            "invalid_request",
        ),
        (
            "an empty city",
            {
                let mut b = hunt_body(paris_area(), json!({}));
                b["city"] = json!("");
                b
            },
            "invalid_request",
        ),
        (
            "an area that is a LineString",
            hunt_body(line, json!({})),
            "unsupported_geometry",
        ),
        (
            "an area that is a Point",
            hunt_body(point(2.35, 48.85), json!({})),
            "unsupported_geometry",
        ),
        (
            "an area with an unclosed ring",
            hunt_body(
                json!({"type": "Polygon", "coordinates": [[[2.2, 48.8], [2.5, 48.8], [2.5, 48.93], [2.2, 48.93]]]}),
                json!({}),
            ),
            "invalid_geojson",
        ),
        (
            "an area at latitude 95",
            hunt_body(rect(2.2, 48.8, 2.5, 95.0), json!({})),
            "invalid_geojson",
        ),
        (
            "an empty area",
            hunt_body(
                json!({"type": "MultiPolygon", "coordinates": []}),
                json!({}),
            ),
            "invalid_geojson",
        ),
        (
            "an area that is a string",
            hunt_body(json!("Paris"), json!({})),
            "invalid_geojson",
        ),
    ];
    for (case, body, code) in cases {
        let before = snapshot(&app).await;
        let answer = app.post("/v1/hunts", Some(&staff.token), body).await;
        assert_refused(&app, &before, case, answer, StatusCode::BAD_REQUEST, code).await;
    }

    // The same rules hold for a change: a refused PATCH leaves the hunt as it was.
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
    let path = format!("/v1/hunts/{hunt}");
    let (_, original) = app.get(&path, Some(&staff.token)).await;
    for (case, patch, code) in [
        (
            "a PATCH to max_accuracy_m 1001",
            json!({"rules": {"max_accuracy_m": 1001}}),
            "invalid_request",
        ),
        (
            "a PATCH putting the teaser after live",
            json!({"teaser_at": now + Duration::days(3)}),
            "invalid_request",
        ),
        (
            "a PATCH to a LineString area",
            json!({"area": {"type": "LineString", "coordinates": [[2.2, 48.8], [2.5, 48.93]]}}),
            "unsupported_geometry",
        ),
    ] {
        let before = snapshot(&app).await;
        let answer = app
            .send(
                reqwest::Method::PATCH,
                &path,
                Some(&staff.token),
                Some(patch),
            )
            .await;
        assert_refused(&app, &before, case, answer, StatusCode::BAD_REQUEST, code).await;
        let (_, now_body) = app.get(&path, Some(&staff.token)).await;
        assert_eq!(now_body, original, "{case}: the hunt changed");
    }
}

#[tokio::test]
async fn bad_handles_team_names_and_staff_accounts_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let (staff, hunt, _player) = live_hunt(&app, json!({})).await;
    for (case, handle) in [
        ("a handle with a space", json!("ana b")),
        ("a handle of 33 characters", json!("a".repeat(33))),
        ("an empty handle", json!("")),
        ("a handle with an accent", json!("émile")),
        ("a handle with a slash", json!("ana/b")),
        ("a handle with an emoji", json!("ana🙂")),
    ] {
        let before = snapshot(&app).await;
        let answer = app
            .post("/v1/players", None, json!({"handle": handle}))
            .await;
        assert_refused(
            &app,
            &before,
            case,
            answer,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
    }
    // 32 characters of the allowed alphabet are fine.
    let (status, body) = app
        .post(
            "/v1/players",
            None,
            json!({"handle": format!("A_b.c-{}", "9".repeat(26))}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let stranger = app.player().await;
    for (case, name) in [
        ("an empty team name", "".to_owned()),
        ("a blank team name", "   ".to_owned()),
        ("a team name of 41 characters", "t".repeat(41)),
    ] {
        let before = snapshot(&app).await;
        let answer = app
            .post(
                &format!("/v1/hunts/{hunt}/teams"),
                Some(&stranger.token),
                json!({"name": name}),
            )
            .await;
        assert_refused(
            &app,
            &before,
            case,
            answer,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
    }

    for (case, body) in [
        (
            "a staff e-mail without @",
            json!({"email": "editor.brand.example", "password": "long enough pw", "role": "editor"}),
        ),
        (
            "a staff password of 7 characters",
            json!({"email": "ed@brand.example", "password": "1234567", "role": "editor"}),
        ),
    ] {
        let before = snapshot(&app).await;
        let answer = app.post("/v1/staff", Some(&staff.token), body).await;
        assert_refused(
            &app,
            &before,
            case,
            answer,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
    }
}

#[tokio::test]
async fn bad_query_and_path_parameters_are_invalid_request_and_unknown_ids_are_404() {
    let app = TestApp::spawn().await;
    let (staff, hunt, player) = live_hunt(&app, json!({})).await;
    for (case, query) in [
        ("latitude 91", "lat=91&lon=2.35&radius_m=1000"),
        ("longitude -181", "lat=48.85&lon=-181&radius_m=1000"),
        ("a radius of 50001 m", "lat=48.85&lon=2.35&radius_m=50001"),
        ("a zero radius", "lat=48.85&lon=2.35&radius_m=0"),
        ("a latitude that is a word", "lat=north&lon=2.35"),
        ("a missing longitude", "lat=48.85"),
        ("an infinite latitude", "lat=inf&lon=2.35"),
        ("a NaN latitude", "lat=NaN&lon=2.35"),
        ("an unknown parameter", "lat=48.85&lon=2.35&target=1"),
    ] {
        let (status, body) = app
            .get(&format!("/v1/hunts/nearby?{query}"), Some(&player.token))
            .await;
        assert_error(
            case,
            status,
            &body,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
    for (case, query) in [
        ("limit 0", "limit=0"),
        ("limit 10001", "limit=10001"),
        ("a word limit", "limit=all"),
        ("a forged cursor", "cursor=abc"),
    ] {
        let (status, body) = app
            .get(
                &format!("/v1/hunts/{hunt}/targets?{query}"),
                Some(&staff.token),
            )
            .await;
        assert_error(
            case,
            status,
            &body,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }

    let before = snapshot(&app).await;
    let fix = checkin_body(48.852968, 2.349902, 10.0, Utc::now());
    let answer = app
        .post(
            "/v1/hunts/not-a-uuid/checkins",
            Some(&player.token),
            fix.clone(),
        )
        .await;
    assert_refused(
        &app,
        &before,
        "a check-in into a malformed hunt id",
        answer,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    let answer = app
        .post(
            &format!("/v1/hunts/{}/checkins", uuid::Uuid::new_v4()),
            Some(&player.token),
            fix,
        )
        .await;
    assert_refused(
        &app,
        &before,
        "a check-in into an unknown hunt",
        answer,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let answer = app.get("/v1/hunts/12345", Some(&staff.token)).await;
    assert_refused(
        &app,
        &before,
        "a malformed hunt id",
        answer,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    let answer = app
        .post(
            "/v1/teams/join",
            Some(&player.token),
            json!({"invite_code": "ZZZZZZZZ"}),
        )
        .await;
    assert_refused(
        &app,
        &before,
        "an unknown invite code",
        answer,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let answer = app.get("/v1/no-such-route", None).await;
    assert_refused(
        &app,
        &before,
        "an unknown route",
        answer,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let answer = app
        .send(reqwest::Method::DELETE, "/v1/players", None, None)
        .await;
    assert_refused(
        &app,
        &before,
        "a wrong method",
        answer,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}
