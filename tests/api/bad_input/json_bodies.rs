//! Bodies that are not JSON are `invalid_json`; JSON of the wrong shape (wrong types, missing or
//! unknown fields, an array for an object) is `invalid_request`, never serde's 422.

use chrono::Utc;
use reqwest::Method;
use serde_json::{Value, json};

use super::*;
use crate::support::*;

#[tokio::test]
async fn bodies_that_are_not_json_are_invalid_json_and_store_nothing() {
    let app = TestApp::spawn().await;
    let (staff, hunt, player) = live_hunt(&app, json!({})).await;
    let (staff, player) = (Some(staff.token.as_str()), Some(player.token.as_str()));
    let checkins = format!("/v1/hunts/{hunt}/checkins");
    let teams = format!("/v1/hunts/{hunt}/teams");
    let trailing = format!(
        "{} trailing",
        checkin_body(48.852968, 2.349902, 10.0, Utc::now())
    );
    // Per endpoint: the path, the token and each (case, body).
    let endpoints: Vec<(&str, Option<&str>, Vec<(&str, &str)>)> = vec![
        (
            "/v1/players",
            None,
            vec![
                ("a player from a truncated object", "{\"handle\": \"ana"),
                ("a player from plain text", "ana"),
            ],
        ),
        (
            "/v1/staff/login",
            None,
            vec![(
                "a login with a trailing comma",
                "{\"email\": \"a@b.example\", \"password\": \"x\",}",
            )],
        ),
        (
            "/v1/hunts",
            staff,
            vec![("a hunt from single quotes", "{'title': 'x'}")],
        ),
        (
            &teams,
            player,
            vec![("a team from an unterminated string", "{\"name\": \"x}")],
        ),
        (
            &checkins,
            player,
            vec![
                ("a check-in with NaN", "{\"lat\": NaN}"),
                ("a check-in from an empty body", ""),
                ("a check-in followed by garbage", &trailing),
            ],
        ),
        (
            "/v1/teams/join",
            player,
            vec![("a join from bare words", "invite_code=ABCD2345")],
        ),
    ];
    for (path, token, cases) in endpoints {
        for (case, body) in cases {
            let request = app.post_raw(path, token, JSON, body.as_bytes().to_vec());
            refuse(&app, case, request, INVALID_JSON).await;
        }
    }
}

#[tokio::test]
async fn wrong_types_missing_and_unknown_fields_are_invalid_request_never_422() {
    let app = TestApp::spawn().await;
    let (staff, hunt, player) = live_hunt(&app, json!({})).await;
    let (staff, player) = (Some(staff.token.as_str()), Some(player.token.as_str()));
    let now = Utc::now();
    let checkins = format!("/v1/hunts/{hunt}/checkins");
    let teams = format!("/v1/hunts/{hunt}/teams");
    let key = uuid::Uuid::new_v4();
    let valid_fix = json!({"lat": 48.85, "lon": 2.35, "accuracy_m": 10.0, "captured_at": now, "idempotency_key": key});
    let fix = |changes: Value| with(valid_fix.clone(), changes);
    let rules = |rules: Value| hunt_body(paris_area(), rules);
    // Per endpoint: the path, the token and each (case, body).
    let endpoints: Vec<(&str, Option<&str>, Vec<(&str, Value)>)> = vec![
        (
            "/v1/players",
            None,
            vec![
                ("a handle that is a number", json!({"handle": 42})),
                ("a player without a handle", json!({})),
                (
                    "a player with an unknown field",
                    json!({"handle": "ana", "admin": true}),
                ),
                // serde's derive would read a struct from a JSON array: it must still be an object.
                ("a player from an array", json!(["ana"])),
            ],
        ),
        (
            "/v1/staff/login",
            None,
            vec![(
                "a login without a password",
                json!({"email": "a@b.example"}),
            )],
        ),
        (
            &checkins,
            player,
            vec![
                ("a latitude that is a string", fix(json!({"lat": "48.85"}))),
                ("a latitude that is null", fix(json!({"lat": null}))),
                (
                    "a check-in without accuracy",
                    without(fix(json!({})), "accuracy_m"),
                ),
                (
                    "a check-in without a key",
                    without(fix(json!({})), "idempotency_key"),
                ),
                (
                    "a malformed idempotency key",
                    fix(json!({"idempotency_key": "not-a-uuid"})),
                ),
                (
                    "a numeric idempotency key",
                    fix(json!({"idempotency_key": 12345})),
                ),
                (
                    "a captured_at that is not RFC 3339",
                    fix(json!({"captured_at": "yesterday"})),
                ),
                (
                    "a check-in with an unknown field",
                    fix(json!({"altitude_m": 35.0})),
                ),
                (
                    "a check-in from an array",
                    json!([48.85, 2.35, 10.0, now, key]),
                ),
            ],
        ),
        (
            &teams,
            player,
            vec![
                ("a team without a name", json!({})),
                ("a team name that is a list", json!({"name": ["a"]})),
            ],
        ),
        (
            "/v1/teams/join",
            player,
            vec![("a join without a code", json!({"code": "ABCD2345"}))],
        ),
        (
            "/v1/hunts",
            staff,
            vec![
                (
                    "a hunt without a title",
                    without(hunt_with(json!({})), "title"),
                ),
                (
                    "a hunt with a numeric title",
                    hunt_with(json!({"title": 7})),
                ),
                (
                    "a hunt with an unknown field",
                    hunt_with(json!({"budget": 1000})),
                ),
                (
                    "a hunt with a date that is not a date",
                    hunt_with(json!({"live_at": "soon"})),
                ),
                (
                    "a hunt with an unknown policy",
                    rules(json!({"accuracy_policy": "sloppy"})),
                ),
                (
                    "a hunt with a fractional team size",
                    rules(json!({"team_max_size": 2.5})),
                ),
            ],
        ),
        (
            "/v1/staff",
            staff,
            vec![(
                "a staff account with an unknown role",
                json!({"email": "ed@brand.example", "password": "long enough pw", "role": "admin"}),
            )],
        ),
    ];
    for (path, token, cases) in endpoints {
        for (case, body) in cases {
            refuse(&app, case, app.post(path, token, body), INVALID_REQUEST).await;
        }
    }

    let hunt_path = format!("/v1/hunts/{hunt}");
    for (case, patch) in [
        ("a PATCH with a numeric title", json!({"title": 3})),
        ("a PATCH with an unknown field", json!({"owner": "me"})),
    ] {
        let request = app.send(Method::PATCH, &hunt_path, staff, Some(patch));
        refuse(&app, case, request, INVALID_REQUEST).await;
    }
}
