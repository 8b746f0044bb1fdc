//! No response a player can see carries a hidden target's coordinates: every answer of a whole
//! game (teams, check-ins of every verdict, errors) is searched for them, exact or rounded.

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::secrets::{Secrets, Witness, east, north, raw};
use crate::support::*;

#[tokio::test]
async fn no_player_visible_response_contains_a_target_coordinate() {
    let app = TestApp::spawn().await;
    let owner = app.staff().await;
    let hunt = app
        .draft_hunt(
            &owner,
            paris_area(),
            json!({"max_accuracy_m": 100, "team_max_size": 2}),
        )
        .await;
    // Distinctive coordinates: no two share a 4-decimal prefix with a fix sent below.
    let (c1_lat, c1_lon) = (48.861723, 2.338459);
    let (c3_lat, c3_lon) = (48.872951, 2.298637);
    let (c4_lat, c4_lon) = (48.837263, 2.317782);
    let (p_w, p_s, p_e, p_n) = (2.348713, 48.853514, 2.349651, 48.854127);
    let polygon = json!({"type": "Feature", "properties": {"name": "Square", "points": 4},
        "geometry": {"type": "Polygon", "coordinates": [[[p_w, p_s], [p_e, p_s], [p_e, p_n], [p_w, p_n], [p_w, p_s]]]}});
    let ids = app
        .import(
            &owner,
            &hunt,
            collection(vec![
                circle("Courtyard", c1_lat, c1_lon, 30.0, 2),
                polygon,
                circle("Far corner", c3_lat, c3_lon, 25.0, 7),
            ]),
        )
        .await;
    // A fourth target locked behind the first one.
    let locked = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [c4_lon, c4_lat]},
        "properties": {"name": "Vault", "radius_m": 30, "points": 9, "prerequisites": [ids[0]]}});
    app.import(&owner, &hunt, collection(vec![locked])).await;
    app.publish(&owner, &hunt).await;
    let secrets = Secrets(vec![
        c1_lat, c1_lon, c3_lat, c3_lon, c4_lat, c4_lon, p_w, p_s, p_e, p_n,
    ]);

    let mut witness = Witness {
        app: &app,
        seen: Vec::new(),
    };
    let fix = |lat: f64, lon: f64, accuracy_m: f64| checkin_body(lat, lon, accuracy_m, Utc::now());
    let checkins = format!("/v1/hunts/{hunt}/checkins");
    let teams = format!("/v1/hunts/{hunt}/teams");
    let progress = format!("/v1/hunts/{hunt}/progress");

    let (ana, bob, cleo, dan) = (
        app.player().await,
        app.player().await,
        app.player().await,
        app.player().await,
    );
    let nearby = format!(
        "/v1/hunts/nearby?lat={}&lon={}&radius_m=3000",
        north(c1_lat, 20.0),
        east(c1_lon, 20.0)
    );
    let (_, near) = witness
        .call("nearby", Method::GET, &nearby, Some(&ana.token), None)
        .await;
    assert_eq!(near["hunts"][0]["id"], json!(hunt));
    let (status, team) = witness
        .call(
            "create a team",
            Method::POST,
            teams.as_str(),
            Some(&ana.token),
            Some(json!({"name": "seekers"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let code = team["invite_code"].clone();
    for (case, path, who, body, want) in [
        (
            "join",
            "/v1/teams/join",
            &bob,
            json!({"invite_code": code}),
            StatusCode::OK,
        ),
        (
            "join a full team",
            "/v1/teams/join",
            &cleo,
            json!({"invite_code": code}),
            StatusCode::CONFLICT,
        ),
        (
            "a second team",
            teams.as_str(),
            &bob,
            json!({"name": "defectors"}),
            StatusCode::CONFLICT,
        ),
        (
            "cleo's team",
            teams.as_str(),
            &cleo,
            json!({"name": "rivals"}),
            StatusCode::CREATED,
        ),
    ] {
        let (status, _) = witness
            .call(case, Method::POST, path, Some(&who.token), Some(body))
            .await;
        assert_eq!(status, want, "{case}");
    }

    // Check-ins of every verdict, each near a target.
    let found_fix = fix(north(c1_lat, 15.0), east(c1_lon, 10.0), 5.0);
    for (case, who, body, verdict) in [
        (
            "nothing_here 56 m from a circle",
            &ana,
            fix(north(c3_lat, 40.0), east(c3_lon, 40.0), 10.0),
            "nothing_here",
        ),
        (
            "nothing_here at a locked target",
            &ana,
            fix(north(c4_lat, 15.0), east(c4_lon, 12.0), 5.0),
            "nothing_here",
        ),
        (
            "too_inaccurate inside a circle",
            &ana,
            fix(north(c3_lat, 12.0), east(c3_lon, 12.0), 500.0),
            "too_inaccurate",
        ),
        ("found a circle", &ana, found_fix.clone(), "found"),
        ("a replayed check-in", &ana, found_fix.clone(), "found"),
        (
            "found a polygon",
            &bob,
            fix((p_s + p_n) / 2.0, (p_w + p_e) / 2.0, 5.0),
            "found",
        ),
        (
            "already_found",
            &bob,
            fix(north(c1_lat, -12.0), east(c1_lon, -14.0), 5.0),
            "already_found",
        ),
        (
            "found the unlocked target",
            &bob,
            fix(north(c4_lat, 15.0), east(c4_lon, 12.0), 5.0),
            "found",
        ),
        (
            "the other team at the locked target",
            &cleo,
            fix(north(c4_lat, -15.0), east(c4_lon, 12.0), 5.0),
            "nothing_here",
        ),
    ] {
        let (_, v) = witness
            .call(case, Method::POST, &checkins, Some(&who.token), Some(body))
            .await;
        assert_eq!(v["verdict"], json!(verdict), "{case}: {v}");
    }
    let (_, v) = witness
        .call("progress", Method::GET, &progress, Some(&ana.token), None)
        .await;
    assert_eq!(v["found"].as_array().map(Vec::len), Some(3), "{v}");
    assert_eq!(v["score"], json!(15), "{v}");

    // Errors, each provoked near a target.
    let near_c3 = |accuracy_m| fix(north(c3_lat, 5.0), east(c3_lon, 5.0), accuracy_m);
    let mut reused = found_fix.clone();
    reused["lat"] = json!(north(c1_lat, 16.0));
    let an_hour_ago = Utc::now() - chrono::Duration::hours(1);
    let old = checkin_body(north(c3_lat, 5.0), east(c3_lon, 5.0), 5.0, an_hour_ago);
    let mut extra = near_c3(5.0);
    extra["target"] = json!(ids[2]);
    let unknown_hunt = format!("/v1/hunts/{}/checkins", uuid::Uuid::new_v4());
    let (a, d) = (Some(ana.token.as_str()), Some(dan.token.as_str()));
    for (case, path, token, body, want) in [
        ("a reused key", &checkins, a, reused, StatusCode::CONFLICT),
        (
            "accuracy 0",
            &checkins,
            a,
            near_c3(0.0),
            StatusCode::BAD_REQUEST,
        ),
        ("an old fix", &checkins, a, old, StatusCode::BAD_REQUEST),
        (
            "an unknown field",
            &checkins,
            a,
            extra,
            StatusCode::BAD_REQUEST,
        ),
        ("no team", &checkins, d, near_c3(5.0), StatusCode::FORBIDDEN),
        (
            "no token",
            &checkins,
            None,
            near_c3(5.0),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "an unknown hunt",
            &unknown_hunt,
            a,
            fix(c3_lat, c3_lon, 5.0),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, _) = witness
            .call(case, Method::POST, path, token, Some(body))
            .await;
        assert_eq!(status, want, "{case}");
    }
    for (case, method, path, token, body) in [
        ("progress without a team", Method::GET, progress, d, None),
        (
            "a player reading the hunt",
            Method::GET,
            format!("/v1/hunts/{hunt}"),
            a,
            None,
        ),
        (
            "a player listing the targets",
            Method::GET,
            format!("/v1/hunts/{hunt}/targets"),
            a,
            None,
        ),
        (
            "a player listing one page of targets",
            Method::GET,
            format!("/v1/hunts/{hunt}/targets?limit=1"),
            a,
            None,
        ),
        (
            "a player listing hunts",
            Method::GET,
            "/v1/hunts".to_owned(),
            a,
            None,
        ),
        (
            "a PATCH of a target",
            Method::PATCH,
            format!("/v1/hunts/{hunt}/targets/{}", ids[2]),
            a,
            Some(json!({"name": "x"})),
        ),
    ] {
        let (status, _) = witness.call(case, method, &path, token, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{case}");
    }

    let seen = witness.seen;
    assert!(seen.len() >= 25, "{} responses checked", seen.len());
    for (case, text) in &seen {
        secrets.assert_absent(case, text);
    }
    // The check itself works: it catches the staff listing, which does show them.
    let (_, staff_view) = raw(
        &app,
        Method::GET,
        &format!("/v1/hunts/{hunt}/targets"),
        Some(&owner.token),
        None,
    )
    .await;
    assert!(
        staff_view.contains(&serde_json::to_string(&c1_lat).unwrap()),
        "{staff_view}"
    );
    assert!(
        std::panic::catch_unwind(|| secrets.assert_absent("staff listing", &staff_view)).is_err()
    );
    let rounded =
        json!({"hint": format!("{:.4}", p_n), "near": (c3_lon * 1e4).round() / 1e4}).to_string();
    assert!(
        std::panic::catch_unwind(|| secrets.assert_absent("rounded", &rounded)).is_err(),
        "{rounded}"
    );
}
