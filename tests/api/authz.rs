//! Authorisation (DESIGN section 5, invariants 4 and 5): organisations are sealed from each other,
//! roles limit staff, players never reach staff routes nor staff player routes, team rules hold,
//! and no response a player can see carries a hidden target's coordinates.

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

fn assert_code(case: &str, (status, body): &(StatusCode, Value), want: StatusCode, code: &str) {
    assert_eq!(
        (*status, body["code"].as_str()),
        (want, Some(code)),
        "{case}: {body}"
    );
}

/// A staff member of `staff`'s organisation with `role`, logged in (created by the owner through the API).
async fn colleague(app: &TestApp, owner: &Staff, role: &str) -> Staff {
    let email = format!("{role}-{}@brand.example", uuid::Uuid::new_v4().simple());
    let password = "a long enough password";
    let (status, body) = app
        .post(
            "/v1/staff",
            Some(&owner.token),
            json!({"email": email, "password": password, "role": role}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["role"], json!(role));
    let (status, body) = app
        .post(
            "/v1/staff/login",
            None,
            json!({"email": email, "password": password}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Staff {
        token: body["token"].as_str().unwrap().to_owned(),
        org: owner.org.clone(),
    }
}

fn hunt_body() -> Value {
    let now = Utc::now();
    json!({"title": "Another hunt", "city": "Paris", "area": paris_area(),
        "teaser_at": now, "live_at": now, "ends_at": now + chrono::Duration::days(1)})
}

#[tokio::test]
async fn staff_of_another_organisation_get_404_on_a_hunt_they_do_not_own() {
    let app = TestApp::spawn().await;
    let owner = app.staff().await;
    let rival = app.staff().await;
    assert_ne!(owner.org, rival.org);
    let hunt = app.draft_hunt(&owner, paris_area(), json!({})).await;
    let ids = app
        .import(
            &owner,
            &hunt,
            collection(vec![circle("Sacré-Cœur", 48.886705, 2.343104, 30.0, 2)]),
        )
        .await;
    let (_, original) = app
        .get(&format!("/v1/hunts/{hunt}"), Some(&owner.token))
        .await;
    let targets_before = app.count("targets").await;

    // What "not found" looks like for a hunt that does not exist at all: a rival must see the same.
    let ghost = uuid::Uuid::new_v4();
    let (_, unknown) = app
        .get(&format!("/v1/hunts/{ghost}"), Some(&rival.token))
        .await;
    assert_eq!(unknown["code"], json!("not_found"));

    let target = &ids[0];
    let feature = circle("Planted", 48.87, 2.34, 20.0, 1);
    let attempts: Vec<(&str, Method, String, Option<Value>)> = vec![
        (
            "GET the hunt",
            Method::GET,
            format!("/v1/hunts/{hunt}"),
            None,
        ),
        (
            "PATCH the hunt",
            Method::PATCH,
            format!("/v1/hunts/{hunt}"),
            Some(json!({"title": "Taken over"})),
        ),
        (
            "publish the hunt",
            Method::POST,
            format!("/v1/hunts/{hunt}/publish"),
            Some(json!({})),
        ),
        (
            "import targets",
            Method::POST,
            format!("/v1/hunts/{hunt}/targets/import"),
            Some(collection(vec![feature.clone()])),
        ),
        (
            "add a target",
            Method::POST,
            format!("/v1/hunts/{hunt}/targets"),
            Some(feature),
        ),
        (
            "list the targets",
            Method::GET,
            format!("/v1/hunts/{hunt}/targets"),
            None,
        ),
        (
            "PATCH a target",
            Method::PATCH,
            format!("/v1/hunts/{hunt}/targets/{target}"),
            Some(json!({"name": "Renamed"})),
        ),
        (
            "DELETE a target",
            Method::DELETE,
            format!("/v1/hunts/{hunt}/targets/{target}"),
            None,
        ),
    ];
    for (case, method, path, body) in attempts {
        let answer = app.send(method, &path, Some(&rival.token), body).await;
        assert_code(case, &answer, StatusCode::NOT_FOUND, "not_found");
        assert_eq!(
            answer.1["message"], unknown["message"],
            "{case}: the answer differs from an unknown hunt's"
        );
        assert!(
            !answer.1.to_string().contains("48.886705"),
            "{case}: {}",
            answer.1
        );
    }
    let (_, list) = app.get("/v1/hunts", Some(&rival.token)).await;
    assert_eq!(
        list["hunts"],
        json!([]),
        "a rival's listing shows nothing of ours"
    );

    // Nothing changed: same hunt (still a draft, same title, same targets_version), same targets.
    let (_, now) = app
        .get(&format!("/v1/hunts/{hunt}"), Some(&owner.token))
        .await;
    assert_eq!(now, original);
    assert_eq!(app.count("targets").await, targets_before);
    let (_, page) = app
        .get(&format!("/v1/hunts/{hunt}/targets"), Some(&owner.token))
        .await;
    assert_eq!(page["targets"][0]["name"], json!("Sacré-Cœur"));

    // A game master of the rival organisation is no better placed.
    let rival_gm = colleague(&app, &rival, "game_master").await;
    let answer = app
        .get(&format!("/v1/hunts/{hunt}"), Some(&rival_gm.token))
        .await;
    assert_code(
        "a rival game master reading the hunt",
        &answer,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let answer = app
        .get(&format!("/v1/hunts/{hunt}/targets"), Some(&rival_gm.token))
        .await;
    assert_code(
        "a rival game master listing targets",
        &answer,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}

#[tokio::test]
async fn roles_decide_what_staff_of_one_organisation_may_do() {
    let app = TestApp::spawn().await;
    let owner = app.staff().await;
    let editor = colleague(&app, &owner, "editor").await;
    let gm = colleague(&app, &owner, "game_master").await;
    let hunt = app.draft_hunt(&owner, paris_area(), json!({})).await;

    // The game master reads, but changes nothing.
    let (status, body) = app.get(&format!("/v1/hunts/{hunt}"), Some(&gm.token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app
        .get(&format!("/v1/hunts/{hunt}/targets"), Some(&gm.token))
        .await;
    assert_eq!(status, StatusCode::OK);
    let hunts = app.count("hunts").await;
    let answer = app.post("/v1/hunts", Some(&gm.token), hunt_body()).await;
    assert_code(
        "a game master creating a hunt",
        &answer,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_eq!(app.count("hunts").await, hunts);
    let answer = app
        .post(
            &format!("/v1/hunts/{hunt}/targets/import"),
            Some(&gm.token),
            collection(vec![circle("x", 48.86, 2.34, 20.0, 1)]),
        )
        .await;
    assert_code(
        "a game master importing",
        &answer,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let answer = app
        .send(
            Method::PATCH,
            &format!("/v1/hunts/{hunt}"),
            Some(&gm.token),
            Some(json!({"title": "gm was here"})),
        )
        .await;
    assert_code(
        "a game master changing a hunt",
        &answer,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let answer = app
        .post(
            &format!("/v1/hunts/{hunt}/publish"),
            Some(&gm.token),
            json!({}),
        )
        .await;
    assert_code(
        "a game master publishing",
        &answer,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_eq!(app.count("targets").await, 0);

    // The editor builds hunts.
    let (status, body) = app
        .post("/v1/hunts", Some(&editor.token), hunt_body())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.import(
        &editor,
        &hunt,
        collection(vec![circle("Opéra", 48.871970, 2.331601, 30.0, 1)]),
    )
    .await;

    // Only owners create staff.
    let staff_rows = app.count("staff").await;
    for (who, token) in [("an editor", &editor.token), ("a game master", &gm.token)] {
        let answer = app
            .post("/v1/staff", Some(token), json!({"email": format!("new-{}@brand.example", uuid::Uuid::new_v4().simple()), "password": "a long enough password", "role": "owner"}))
            .await;
        assert_code(
            &format!("{who} creating staff"),
            &answer,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
    }
    assert_eq!(app.count("staff").await, staff_rows);
}

#[tokio::test]
async fn players_get_403_on_every_staff_route() {
    let app = TestApp::spawn().await;
    let owner = app.staff().await;
    let hunt = app.draft_hunt(&owner, paris_area(), json!({})).await;
    let ids = app
        .import(
            &owner,
            &hunt,
            collection(vec![circle("Panthéon", 48.846222, 2.346414, 30.0, 1)]),
        )
        .await;
    let published = app.draft_hunt(&owner, paris_area(), json!({})).await;
    app.import(
        &owner,
        &published,
        collection(vec![circle("Bastille", 48.853207, 2.369091, 30.0, 1)]),
    )
    .await;
    app.publish(&owner, &published).await;
    let player = app.player_in_team(&published).await;
    let (_, original) = app
        .get(&format!("/v1/hunts/{hunt}"), Some(&owner.token))
        .await;
    let (hunts, targets, staff) = (
        app.count("hunts").await,
        app.count("targets").await,
        app.count("staff").await,
    );

    let target = &ids[0];
    let feature = circle("Planted", 48.87, 2.34, 20.0, 1);
    let attempts: Vec<(&str, Method, String, Option<Value>)> = vec![
        (
            "POST /v1/hunts",
            Method::POST,
            "/v1/hunts".into(),
            Some(hunt_body()),
        ),
        ("GET /v1/hunts", Method::GET, "/v1/hunts".into(), None),
        ("GET a hunt", Method::GET, format!("/v1/hunts/{hunt}"), None),
        (
            "GET a published hunt",
            Method::GET,
            format!("/v1/hunts/{published}"),
            None,
        ),
        (
            "PATCH a hunt",
            Method::PATCH,
            format!("/v1/hunts/{hunt}"),
            Some(json!({"title": "mine now"})),
        ),
        (
            "publish",
            Method::POST,
            format!("/v1/hunts/{hunt}/publish"),
            Some(json!({})),
        ),
        (
            "import",
            Method::POST,
            format!("/v1/hunts/{hunt}/targets/import"),
            Some(collection(vec![feature.clone()])),
        ),
        (
            "add a target",
            Method::POST,
            format!("/v1/hunts/{hunt}/targets"),
            Some(feature),
        ),
        (
            "list targets",
            Method::GET,
            format!("/v1/hunts/{hunt}/targets"),
            None,
        ),
        (
            "list targets of the published hunt",
            Method::GET,
            format!("/v1/hunts/{published}/targets"),
            None,
        ),
        (
            "PATCH a target",
            Method::PATCH,
            format!("/v1/hunts/{hunt}/targets/{target}"),
            Some(json!({"points": 100})),
        ),
        (
            "DELETE a target",
            Method::DELETE,
            format!("/v1/hunts/{hunt}/targets/{target}"),
            None,
        ),
        (
            "POST /v1/staff",
            Method::POST,
            "/v1/staff".into(),
            Some(
                json!({"email": "sneaky@brand.example", "password": "a long enough password", "role": "owner"}),
            ),
        ),
    ];
    for (case, method, path, body) in attempts {
        let answer = app.send(method, &path, Some(&player.token), body).await;
        assert_code(case, &answer, StatusCode::FORBIDDEN, "forbidden");
        for coordinate in ["48.846222", "2.346414", "48.853207", "2.369091"] {
            assert!(
                !answer.1.to_string().contains(coordinate),
                "{case}: {}",
                answer.1
            );
        }
    }
    let (_, now) = app
        .get(&format!("/v1/hunts/{hunt}"), Some(&owner.token))
        .await;
    assert_eq!(now, original, "the hunt did not change");
    assert_eq!(
        (
            app.count("hunts").await,
            app.count("targets").await,
            app.count("staff").await
        ),
        (hunts, targets, staff)
    );
}

#[tokio::test]
async fn staff_get_403_on_player_routes() {
    let app = TestApp::spawn().await;
    let owner = app.staff().await;
    let hunt = app.draft_hunt(&owner, paris_area(), json!({})).await;
    app.import(
        &owner,
        &hunt,
        collection(vec![circle("Invalides", 48.855, 2.3125, 40.0, 1)]),
    )
    .await;
    app.publish(&owner, &hunt).await;
    let captain = app.player().await;
    let (status, team) = app
        .post(
            &format!("/v1/hunts/{hunt}/teams"),
            Some(&captain.token),
            json!({"name": "captains"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let (checkins, teams, members) = (
        app.count("checkins").await,
        app.count("teams").await,
        app.count("team_members").await,
    );

    let attempts: Vec<(&str, Method, String, Option<Value>)> = vec![
        (
            "check in",
            Method::POST,
            format!("/v1/hunts/{hunt}/checkins"),
            Some(checkin_body(48.855, 2.3125, 5.0, Utc::now())),
        ),
        (
            "create a team",
            Method::POST,
            format!("/v1/hunts/{hunt}/teams"),
            Some(json!({"name": "staff team"})),
        ),
        (
            "join a team",
            Method::POST,
            "/v1/teams/join".into(),
            Some(json!({"invite_code": team["invite_code"]})),
        ),
        (
            "read progress",
            Method::GET,
            format!("/v1/hunts/{hunt}/progress"),
            None,
        ),
        (
            "search nearby",
            Method::GET,
            "/v1/hunts/nearby?lat=48.85&lon=2.35&radius_m=5000".into(),
            None,
        ),
    ];
    for (case, method, path, body) in attempts {
        let answer = app.send(method, &path, Some(&owner.token), body).await;
        assert_code(case, &answer, StatusCode::FORBIDDEN, "forbidden");
    }
    assert_eq!(
        (
            app.count("checkins").await,
            app.count("teams").await,
            app.count("team_members").await
        ),
        (checkins, teams, members)
    );
}

#[tokio::test]
async fn a_player_without_a_team_gets_not_in_hunt() {
    let app = TestApp::spawn().await;
    let owner = app.staff().await;
    let hunt = app.draft_hunt(&owner, paris_area(), json!({})).await;
    app.import(
        &owner,
        &hunt,
        collection(vec![circle("Trocadéro", 48.862, 2.2875, 40.0, 1)]),
    )
    .await;
    app.publish(&owner, &hunt).await;
    let loner = app.player().await;
    let answer = app.check_in(&loner, &hunt, 48.862, 2.2875, 5.0).await;
    assert_code(
        "a check-in without a team",
        &answer,
        StatusCode::FORBIDDEN,
        "not_in_hunt",
    );
    let answer = app
        .get(&format!("/v1/hunts/{hunt}/progress"), Some(&loner.token))
        .await;
    assert_code(
        "progress without a team",
        &answer,
        StatusCode::FORBIDDEN,
        "not_in_hunt",
    );
    // A team in another hunt does not count.
    let other = app.draft_hunt(&owner, paris_area(), json!({})).await;
    app.import(
        &owner,
        &other,
        collection(vec![circle("Trocadéro", 48.862, 2.2875, 40.0, 1)]),
    )
    .await;
    app.publish(&owner, &other).await;
    let elsewhere = app.player_in_team(&other).await;
    let answer = app.check_in(&elsewhere, &hunt, 48.862, 2.2875, 5.0).await;
    assert_code(
        "a check-in with a team of another hunt",
        &answer,
        StatusCode::FORBIDDEN,
        "not_in_hunt",
    );
    assert_eq!(app.count("checkins").await, 0);
    assert_eq!(app.count("finds").await, 0);
}

#[tokio::test]
async fn a_second_team_or_a_full_team_is_a_conflict() {
    let app = TestApp::spawn().await;
    let owner = app.staff().await;
    let hunt = app
        .draft_hunt(&owner, paris_area(), json!({"team_max_size": 2}))
        .await;
    app.import(
        &owner,
        &hunt,
        collection(vec![circle("Bercy", 48.8385, 2.3785, 40.0, 1)]),
    )
    .await;
    app.publish(&owner, &hunt).await;
    let (ana, bob, cleo) = (app.player().await, app.player().await, app.player().await);
    let (status, team) = app
        .post(
            &format!("/v1/hunts/{hunt}/teams"),
            Some(&ana.token),
            json!({"name": "pair"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let code = team["invite_code"].as_str().unwrap().to_owned();
    let (status, joined) = app
        .post(
            "/v1/teams/join",
            Some(&bob.token),
            json!({"invite_code": code}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!(joined["team_id"], team["team_id"]);
    let members = app.count("team_members").await;
    assert_eq!(members, 2);

    let answer = app
        .post(
            "/v1/teams/join",
            Some(&cleo.token),
            json!({"invite_code": code}),
        )
        .await;
    assert_code(
        "a third member of a team of 2",
        &answer,
        StatusCode::CONFLICT,
        "team_full",
    );
    let answer = app
        .post(
            "/v1/teams/join",
            Some(&bob.token),
            json!({"invite_code": code}),
        )
        .await;
    assert_code(
        "joining one's own team again",
        &answer,
        StatusCode::CONFLICT,
        "already_in_team",
    );
    let answer = app
        .post(
            &format!("/v1/hunts/{hunt}/teams"),
            Some(&bob.token),
            json!({"name": "solo"}),
        )
        .await;
    assert_code(
        "a member creating a second team",
        &answer,
        StatusCode::CONFLICT,
        "already_in_team",
    );

    // Cleo's own team exists, and Ana cannot move into it.
    let (status, other) = app
        .post(
            &format!("/v1/hunts/{hunt}/teams"),
            Some(&cleo.token),
            json!({"name": "cleo"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let answer = app
        .post(
            "/v1/teams/join",
            Some(&ana.token),
            json!({"invite_code": other["invite_code"]}),
        )
        .await;
    assert_code(
        "a captain joining another team",
        &answer,
        StatusCode::CONFLICT,
        "already_in_team",
    );
    assert_eq!(app.count("team_members").await, 3);
    assert_eq!(app.count("teams").await, 2);
    let (_, progress) = app
        .get(&format!("/v1/hunts/{hunt}/progress"), Some(&ana.token))
        .await;
    assert_eq!(progress["members"], json!(2));
}

/// The coordinates of the hidden targets of the leak test, as placed in the GeoJSON.
struct Secrets(Vec<f64>);

impl Secrets {
    /// Fails if `text` (a response body) gives any of the coordinates away.
    fn assert_absent(&self, case: &str, text: &str) {
        for c in &self.0 {
            // As serde_json prints it.
            let full = serde_json::to_string(c).unwrap();
            assert!(
                !text.contains(&full),
                "{case}: the response contains {full}: {text}"
            );
        }
        match serde_json::from_str::<Value>(text) {
            Ok(v) => self.walk(case, text, &v),
            Err(_) => self.check_string(case, text, text),
        }
    }

    fn walk(&self, case: &str, text: &str, v: &Value) {
        match v {
            Value::Number(n) => {
                let n = n.as_f64().unwrap();
                for c in &self.0 {
                    assert!(
                        (n - c).abs() >= 1e-4,
                        "{case}: the number {n} is within 1e-4 of {c}: {text}"
                    );
                }
            }
            Value::String(s) => self.check_string(case, text, s),
            Value::Array(items) => items.iter().for_each(|i| self.walk(case, text, i)),
            Value::Object(m) => m.iter().for_each(|(k, i)| {
                self.check_string(case, text, k);
                self.walk(case, text, i);
            }),
            Value::Bool(_) | Value::Null => {}
        }
    }

    /// Every string but a timestamp must not hold a 4-decimal prefix of a coordinate. (A timestamp's
    /// seconds and fraction, "…:48.8617…", could match by chance.)
    fn check_string(&self, case: &str, text: &str, s: &str) {
        if chrono::DateTime::parse_from_rfc3339(s).is_ok() {
            return;
        }
        for c in &self.0 {
            let prefix = format!("{:.4}", (c * 10_000.0).trunc() / 10_000.0);
            assert!(
                !s.contains(&prefix),
                "{case}: {s:?} contains {prefix}: {text}"
            );
        }
    }
}

/// Sends a request as a player and returns the status and the raw body text.
async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, String) {
    let mut req = app.client.request(method, format!("{}{path}", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// Metres to degrees near Paris (latitude 48.86).
fn north(lat: f64, m: f64) -> f64 {
    lat + m / 111_200.0
}

fn east(lon: f64, m: f64) -> f64 {
    lon + m / 73_270.0
}

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

    let mut seen: Vec<(String, StatusCode, String)> = Vec::new();
    macro_rules! call {
        ($case:expr, $method:expr, $path:expr, $token:expr, $body:expr) => {{
            let (status, text) = raw(&app, $method, &$path, $token, $body).await;
            assert!(!status.is_server_error(), "{}: {status} {text}", $case);
            seen.push(($case.to_string(), status, text.clone()));
            (
                status,
                serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
            )
        }};
    }
    let fix = |lat: f64, lon: f64, accuracy_m: f64| checkin_body(lat, lon, accuracy_m, Utc::now());
    let checkins = format!("/v1/hunts/{hunt}/checkins");

    let (ana, bob, cleo, dan) = (
        app.player().await,
        app.player().await,
        app.player().await,
        app.player().await,
    );
    let (_, near) = call!(
        "nearby",
        Method::GET,
        format!(
            "/v1/hunts/nearby?lat={}&lon={}&radius_m=3000",
            north(c1_lat, 20.0),
            east(c1_lon, 20.0)
        ),
        Some(&ana.token),
        None
    );
    assert_eq!(near["hunts"][0]["id"], json!(hunt));
    let (status, team) = call!(
        "create a team",
        Method::POST,
        format!("/v1/hunts/{hunt}/teams"),
        Some(&ana.token),
        Some(json!({"name": "seekers"}))
    );
    assert_eq!(status, StatusCode::CREATED);
    let code = team["invite_code"].clone();
    let (status, _) = call!(
        "join",
        Method::POST,
        "/v1/teams/join",
        Some(&bob.token),
        Some(json!({"invite_code": code}))
    );
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call!(
        "join a full team",
        Method::POST,
        "/v1/teams/join",
        Some(&cleo.token),
        Some(json!({"invite_code": code}))
    );
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call!(
        "a second team",
        Method::POST,
        format!("/v1/hunts/{hunt}/teams"),
        Some(&bob.token),
        Some(json!({"name": "defectors"}))
    );
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call!(
        "cleo's team",
        Method::POST,
        format!("/v1/hunts/{hunt}/teams"),
        Some(&cleo.token),
        Some(json!({"name": "rivals"}))
    );
    assert_eq!(status, StatusCode::CREATED);

    // Check-ins of every verdict, each near a target.
    let (_, v) = call!(
        "nothing_here 56 m from a circle",
        Method::POST,
        checkins.clone(),
        Some(&ana.token),
        Some(fix(north(c3_lat, 40.0), east(c3_lon, 40.0), 10.0))
    );
    assert_eq!(v["verdict"], json!("nothing_here"), "{v}");
    let (_, v) = call!(
        "nothing_here at a locked target",
        Method::POST,
        checkins.clone(),
        Some(&ana.token),
        Some(fix(north(c4_lat, 15.0), east(c4_lon, 12.0), 5.0))
    );
    assert_eq!(v["verdict"], json!("nothing_here"), "{v}");
    let (_, v) = call!(
        "too_inaccurate inside a circle",
        Method::POST,
        checkins.clone(),
        Some(&ana.token),
        Some(fix(north(c3_lat, 12.0), east(c3_lon, 12.0), 500.0))
    );
    assert_eq!(v["verdict"], json!("too_inaccurate"), "{v}");
    let found_fix = fix(north(c1_lat, 15.0), east(c1_lon, 10.0), 5.0);
    let (_, v) = call!(
        "found a circle",
        Method::POST,
        checkins.clone(),
        Some(&ana.token),
        Some(found_fix.clone())
    );
    assert_eq!(v["verdict"], json!("found"), "{v}");
    let (_, v) = call!(
        "a replayed check-in",
        Method::POST,
        checkins.clone(),
        Some(&ana.token),
        Some(found_fix.clone())
    );
    assert_eq!(v["verdict"], json!("found"), "{v}");
    let (_, v) = call!(
        "found a polygon",
        Method::POST,
        checkins.clone(),
        Some(&bob.token),
        Some(fix((p_s + p_n) / 2.0, (p_w + p_e) / 2.0, 5.0))
    );
    assert_eq!(v["verdict"], json!("found"), "{v}");
    let (_, v) = call!(
        "already_found",
        Method::POST,
        checkins.clone(),
        Some(&bob.token),
        Some(fix(north(c1_lat, -12.0), east(c1_lon, -14.0), 5.0))
    );
    assert_eq!(v["verdict"], json!("already_found"), "{v}");
    let (_, v) = call!(
        "found the unlocked target",
        Method::POST,
        checkins.clone(),
        Some(&bob.token),
        Some(fix(north(c4_lat, 15.0), east(c4_lon, 12.0), 5.0))
    );
    assert_eq!(v["verdict"], json!("found"), "{v}");
    let (_, v) = call!(
        "the other team at the locked target",
        Method::POST,
        checkins.clone(),
        Some(&cleo.token),
        Some(fix(north(c4_lat, -15.0), east(c4_lon, 12.0), 5.0))
    );
    assert_eq!(v["verdict"], json!("nothing_here"), "{v}");
    let (_, v) = call!(
        "progress",
        Method::GET,
        format!("/v1/hunts/{hunt}/progress"),
        Some(&ana.token),
        None
    );
    assert_eq!(v["found"].as_array().map(Vec::len), Some(3), "{v}");
    assert_eq!(v["score"], json!(15), "{v}");

    // Errors, each provoked near a target.
    let mut reused = found_fix.clone();
    reused["lat"] = json!(north(c1_lat, 16.0));
    let (status, _) = call!(
        "a reused key",
        Method::POST,
        checkins.clone(),
        Some(&ana.token),
        Some(reused)
    );
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call!(
        "accuracy 0",
        Method::POST,
        checkins.clone(),
        Some(&ana.token),
        Some(fix(north(c3_lat, 5.0), east(c3_lon, 5.0), 0.0))
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call!(
        "an old fix",
        Method::POST,
        checkins.clone(),
        Some(&ana.token),
        Some(checkin_body(
            north(c3_lat, 5.0),
            east(c3_lon, 5.0),
            5.0,
            Utc::now() - chrono::Duration::hours(1)
        ))
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut extra = fix(north(c3_lat, 5.0), east(c3_lon, 5.0), 5.0);
    extra["target"] = json!(ids[2]);
    let (status, _) = call!(
        "an unknown field",
        Method::POST,
        checkins.clone(),
        Some(&ana.token),
        Some(extra)
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call!(
        "no team",
        Method::POST,
        checkins.clone(),
        Some(&dan.token),
        Some(fix(north(c3_lat, 5.0), east(c3_lon, 5.0), 5.0))
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call!(
        "progress without a team",
        Method::GET,
        format!("/v1/hunts/{hunt}/progress"),
        Some(&dan.token),
        None
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call!(
        "no token",
        Method::POST,
        checkins.clone(),
        None,
        Some(fix(north(c3_lat, 5.0), east(c3_lon, 5.0), 5.0))
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for (case, method, path) in [
        (
            "a player reading the hunt",
            Method::GET,
            format!("/v1/hunts/{hunt}"),
        ),
        (
            "a player listing the targets",
            Method::GET,
            format!("/v1/hunts/{hunt}/targets"),
        ),
        (
            "a player listing one page of targets",
            Method::GET,
            format!("/v1/hunts/{hunt}/targets?limit=1"),
        ),
        (
            "a player listing hunts",
            Method::GET,
            "/v1/hunts".to_owned(),
        ),
    ] {
        let (status, _) = call!(case, method, path, Some(&ana.token), None);
        assert_eq!(status, StatusCode::FORBIDDEN, "{case}");
    }
    let (status, _) = call!(
        "a PATCH of a target",
        Method::PATCH,
        format!("/v1/hunts/{hunt}/targets/{}", ids[2]),
        Some(&ana.token),
        Some(json!({"name": "x"}))
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call!(
        "an unknown hunt",
        Method::POST,
        format!("/v1/hunts/{}/checkins", uuid::Uuid::new_v4()),
        Some(&ana.token),
        Some(fix(c3_lat, c3_lon, 5.0))
    );
    assert_eq!(status, StatusCode::NOT_FOUND);

    assert!(seen.len() >= 25, "{} responses checked", seen.len());
    for (case, _, text) in &seen {
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
