//! Bad hunts (rules out of range, dates out of order, blank text, a bad area), bad handles, team
//! names and staff accounts: each is refused with its code and nothing is stored or changed.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::json;

use super::*;
use crate::support::*;

#[tokio::test]
async fn bad_hunts_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let now = Utc::now();
    let line = json!({"type": "LineString", "coordinates": [[2.2, 48.8], [2.5, 48.93]]});
    let rules = [
        ("max_accuracy_m 1001", json!({"max_accuracy_m": 1001})),
        ("max_accuracy_m 0", json!({"max_accuracy_m": 0})),
        ("a negative max_accuracy_m", json!({"max_accuracy_m": -10})),
        ("team_max_size 0", json!({"team_max_size": 0})),
        ("team_max_size 101", json!({"team_max_size": 101})),
    ]
    .map(|(case, rules)| (case, hunt_body(paris_area(), rules), INVALID_REQUEST));
    let fields = [
        (
            "a teaser after live",
            json!({"teaser_at": now + Duration::hours(2)}),
        ),
        (
            "an end before live",
            json!({"ends_at": now - Duration::hours(2)}),
        ),
        (
            "an archive before the end",
            json!({"archive_at": now + Duration::hours(1)}),
        ),
        ("an empty title", json!({"title": "   "})),
        ("an empty city", json!({"city": ""})),
    ]
    .map(|(case, changes)| (case, hunt_with(changes), INVALID_REQUEST));
    let areas = [
        ("an area that is a LineString", line, UNSUPPORTED_GEOMETRY),
        ("an area that is a Point", point(2.35, 48.85), UNSUPPORTED_GEOMETRY),
        (
            "an area with an unclosed ring",
            json!({"type": "Polygon", "coordinates": [[[2.2, 48.8], [2.5, 48.8], [2.5, 48.93], [2.2, 48.93]]]}),
            INVALID_GEOJSON,
        ),
        ("an area at latitude 95", rect(2.2, 48.8, 2.5, 95.0), INVALID_GEOJSON),
        (
            "an empty area",
            json!({"type": "MultiPolygon", "coordinates": []}),
            INVALID_GEOJSON,
        ),
        // Not an object at all is a wrong type, like any field's (the GeoJSON checks come after).
        ("an area that is a string", json!("Paris"), INVALID_REQUEST),
    ]
    .map(|(case, area, want)| (case, hunt_body(area, json!({})), want));
    let cases = rules.into_iter().chain(fields).chain(areas);
    for (case, body, want) in cases {
        let request = app.post("/v1/hunts", Some(&staff.token), body);
        refuse(&app, case, request, want).await;
    }

    // The same rules hold for a change: a refused PATCH leaves the hunt as it was.
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
    let path = format!("/v1/hunts/{hunt}");
    let (_, original) = app.get(&path, Some(&staff.token)).await;
    for (case, patch, want) in [
        (
            "a PATCH to max_accuracy_m 1001",
            json!({"rules": {"max_accuracy_m": 1001}}),
            INVALID_REQUEST,
        ),
        (
            "a PATCH putting the teaser after live",
            json!({"teaser_at": now + Duration::days(3)}),
            INVALID_REQUEST,
        ),
        (
            "a PATCH to a LineString area",
            json!({"area": {"type": "LineString", "coordinates": [[2.2, 48.8], [2.5, 48.93]]}}),
            UNSUPPORTED_GEOMETRY,
        ),
    ] {
        let request = app.send(Method::PATCH, &path, Some(&staff.token), Some(patch));
        refuse(&app, case, request, want).await;
        let (_, now_body) = app.get(&path, Some(&staff.token)).await;
        assert_eq!(now_body, original, "{case}: the hunt changed");
    }
}

#[tokio::test]
async fn bad_handles_team_names_and_staff_accounts_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let (staff, hunt, _player) = live_hunt(&app, json!({})).await;
    let stranger = app.player().await;
    let teams = format!("/v1/hunts/{hunt}/teams");
    let handle = |handle: &str| json!({"handle": handle});
    let team = |name: &str| json!({"name": name});
    let staff_account = |email: &str, password: &str| json!({"email": email, "password": password, "role": "editor"});
    let (players, new_team, new_staff) = (
        ("/v1/players", None),
        (teams.as_str(), Some(stranger.token.as_str())),
        ("/v1/staff", Some(staff.token.as_str())),
    );
    let cases = [
        ("a handle with a space", players, handle("ana b")),
        (
            "a handle of 33 characters",
            players,
            handle(&"a".repeat(33)),
        ),
        ("an empty handle", players, handle("")),
        ("a handle with an accent", players, handle("émile")),
        ("a handle with a slash", players, handle("ana/b")),
        ("a handle with an emoji", players, handle("ana🙂")),
        ("an empty team name", new_team, team("")),
        ("a blank team name", new_team, team("   ")),
        (
            "a team name of 41 characters",
            new_team,
            team(&"t".repeat(41)),
        ),
        (
            "a staff e-mail without @",
            new_staff,
            staff_account("editor.brand.example", "long enough pw"),
        ),
        (
            "a staff password of 7 characters",
            new_staff,
            staff_account("ed@brand.example", "1234567"),
        ),
    ];
    for (case, (path, token), body) in cases {
        refuse(&app, case, app.post(path, token, body), INVALID_REQUEST).await;
    }

    // 32 characters of the allowed alphabet are fine.
    let (status, body) = app
        .post(
            "/v1/players",
            None,
            handle(&format!("A_b.c-{}", "9".repeat(26))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
