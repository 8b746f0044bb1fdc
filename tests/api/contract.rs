//! The mobile contract: the checked-in OpenAPI document and error code list match the code, an
//! OpenAPI 3.1 validator accepts the document (and refuses a broken one), every operation lists
//! the statuses any request can meet, and the contract check the whole suite runs
//! (`support::contract_check`) refuses what breaks the document; every migration's `down.sql`
//! works.

use reqwest::StatusCode;

use crate::support::*;
use serde_json::json;

fn repo(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn the_checked_in_openapi_document_is_current() {
    let generated = nenufar::http::openapi_json();
    let path = repo("mobile-api/openapi.json");
    if std::env::var("NENUFAR_UPDATE_CONTRACT").is_ok() {
        std::fs::write(&path, format!("{generated}\n")).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in.trim_end() == generated.trim_end(),
        "mobile-api/openapi.json is stale: run `NENUFAR_UPDATE_CONTRACT=1 ops/test.sh contract` and review the diff"
    );
}

#[test]
fn every_error_code_is_documented() {
    let doc = std::fs::read_to_string(repo("mobile-api/errors.md")).unwrap();
    for code in nenufar::http::error::ERROR_CODES {
        assert!(
            doc.contains(&format!("`{code}`")),
            "mobile-api/errors.md does not document `{code}`"
        );
    }
    // And no code is used in the source without being in the list.
    let mut stack = vec![repo("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (i, part) in text.split("conflict(\"").enumerate().skip(1) {
                    let code = part.split('"').next().unwrap();
                    assert!(
                        nenufar::http::error::ERROR_CODES.contains(&code)
                            || code == "idempotency_race",
                        "{}: code `{code}` (occurrence {i}) is not in ERROR_CODES",
                        path.display()
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn openapi_and_docs_are_served() {
    let app = TestApp::spawn().await;
    let (status, doc) = app.get("/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], serde_json::json!("3.1.0"));
    assert!(doc["paths"]["/v1/hunts/{hunt_id}/checkins"]["post"].is_object());
    let r = app
        .client
        .get(format!("{}/docs/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (status, _) = app.get("/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get("/readyz", None).await;
    assert_eq!(status, StatusCode::OK);
    let r = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("nenufar_http_requests_total")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_migration_reverts_and_applies_again() {
    let migrations = std::fs::read_dir(repo("migrations"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("up.sql").is_file())
        .count();
    let url = fresh_database().await;
    let reverted = nenufar::db::migrate::revert_all(&url).await.unwrap();
    assert_eq!(reverted, migrations);
    let applied = nenufar::db::migrate::run_pending(&url).await.unwrap();
    assert_eq!(applied, migrations);
    let app = TestApp::spawn_on(url).await;
    let staff = app.staff().await;
    app.draft_hunt(&staff, paris_area(), serde_json::json!({}))
        .await;
}

/// The path of the OpenAPI validator `ops/ensure-deps.sh` installs.
fn validator() -> std::path::PathBuf {
    let bin = repo("tools/openapi-validator/.venv/bin/openapi-spec-validator");
    assert!(
        bin.is_file(),
        "{} is missing: run ops/ensure-deps.sh (ops/test.sh does)",
        bin.display()
    );
    bin
}

/// Runs the validator on `doc`; its verdict and what it printed.
fn validate_document(doc: &serde_json::Value) -> (bool, String) {
    let path = std::env::temp_dir().join(format!(
        "nenufar-openapi-{}.json",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, serde_json::to_string_pretty(doc).unwrap()).unwrap();
    let out = std::process::Command::new(validator())
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_openapi_document_passes_an_openapi_3_1_validator_which_refuses_a_broken_one() {
    let doc: serde_json::Value = serde_json::from_str(&nenufar::http::openapi_json()).unwrap();
    let (ok, said) = validate_document(&doc);
    assert!(ok, "openapi-spec-validator refuses the document: {said}");
    // The validator can fail: a query parameter declared in the path (the old mistake), and a
    // response without its required description.
    let mut broken = doc.clone();
    broken["paths"]["/v1/hunts/nearby"]["get"]["parameters"][0]["in"] = json!("path");
    let (ok, said) = validate_document(&broken);
    assert!(
        !ok,
        "a path parameter missing from its template passed: {said}"
    );
    let mut broken = doc;
    let responses = &mut broken["paths"]["/v1/players"]["post"]["responses"];
    responses["201"]
        .as_object_mut()
        .unwrap()
        .remove("description");
    let (ok, said) = validate_document(&broken);
    assert!(!ok, "a response without a description passed: {said}");
}

#[test]
fn every_operation_documents_the_statuses_any_request_can_meet() {
    let doc: serde_json::Value = serde_json::from_str(&nenufar::http::openapi_json()).unwrap();
    let resolve = |r: &serde_json::Value| -> serde_json::Value {
        match r["$ref"].as_str() {
            Some(p) => doc.pointer(p.trim_start_matches('#')).unwrap().clone(),
            None => r.clone(),
        }
    };
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let case = format!("{method} {path}");
            let responses = op["responses"].as_object().unwrap();
            let mut expected = vec!["429", "500", "503"];
            let reads = op["parameters"].as_array().is_some_and(|p| !p.is_empty())
                || op.get("requestBody").is_some();
            if reads {
                expected.push("400");
            }
            if op.get("requestBody").is_some() {
                expected.extend(["413", "415"]);
            }
            if op.get("security").is_some() {
                expected.push("401");
            }
            if path.contains('{') {
                expected.push("404");
            }
            for status in expected {
                let r = resolve(&responses[status]);
                assert!(r.is_object(), "{case}: {status} is not documented");
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"],
                    json!("#/components/schemas/ErrorBody"),
                    "{case}: {status} has no ErrorBody"
                );
                let codes = r["x-error-codes"].as_array().unwrap();
                assert!(!codes.is_empty(), "{case}: {status} lists no code");
                for c in codes {
                    assert!(
                        nenufar::http::error::ERROR_CODES.contains(&c.as_str().unwrap()),
                        "{case}: {status} lists an unknown code {c}"
                    );
                }
                if matches!(status, "429" | "503") {
                    assert!(
                        r["headers"]["Retry-After"].is_object(),
                        "{case}: {status} without Retry-After"
                    );
                }
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let in_template = path.contains(&format!("{{{name}}}"));
                assert_eq!(
                    p["in"] == json!("path"),
                    in_template,
                    "{case}: parameter {name} is `in: {}`",
                    p["in"]
                );
            }
            operations += 1;
        }
    }
    for path in [
        "/v1/live",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(
            doc["paths"][path]["get"].is_object(),
            "{path} is not described"
        );
    }
    assert!(operations >= 37, "only {operations} operations");
}

/// A checker built from the real document, fed responses that break it.
#[test]
fn the_contract_check_refuses_an_undocumented_status_a_body_breaking_its_schema_and_an_unlisted_code()
 {
    use reqwest::Method;
    let contract = contract_check::contract();
    let headers = |pairs: &[(&'static str, &str)]| {
        let mut h = reqwest::header::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    };
    let json_type = headers(&[("content-type", "application/json")]);
    let check = |method: Method,
                 path: &str,
                 status: u16,
                 h: &reqwest::header::HeaderMap,
                 body: serde_json::Value| {
        let bytes = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        contract.check(
            &method,
            path,
            StatusCode::from_u16(status).unwrap(),
            h,
            &bytes,
        )
    };
    let player = json!({"player_id": uuid::Uuid::new_v4(), "token": "nfp_abc"});
    // What the server does passes.
    check(Method::POST, "/v1/players", 201, &json_type, player.clone()).unwrap();
    let error = |code: &str| json!({"code": code, "message": "m", "details": null});
    check(
        Method::POST,
        "/v1/players",
        409,
        &json_type,
        error("handle_taken"),
    )
    .unwrap();
    check(Method::GET, "/v1/nope", 404, &json_type, error("not_found")).unwrap();

    let refused = [
        (
            "an undocumented status",
            check(
                Method::GET,
                &format!("/v1/hunts/{}", uuid::Uuid::new_v4()),
                418,
                &json_type,
                error("internal"),
            ),
        ),
        (
            "a malformed id",
            check(
                Method::POST,
                "/v1/players",
                201,
                &json_type,
                json!({"player_id": "42", "token": "nfp_abc"}),
            ),
        ),
        (
            "a missing member",
            check(
                Method::POST,
                "/v1/players",
                201,
                &json_type,
                json!({"player_id": uuid::Uuid::new_v4()}),
            ),
        ),
        (
            "a member the document does not name",
            check(Method::POST, "/v1/players", 201, &json_type, {
                let mut p = player.clone();
                p["secret"] = json!(1);
                p
            }),
        ),
        (
            "a code the operation does not list",
            check(
                Method::POST,
                "/v1/players",
                409,
                &json_type,
                error("team_full"),
            ),
        ),
        (
            "a code no one knows",
            check(
                Method::POST,
                "/v1/players",
                409,
                &json_type,
                error("whatever"),
            ),
        ),
        (
            "a 429 without Retry-After",
            check(
                Method::POST,
                "/v1/players",
                429,
                &json_type,
                error("rate_limited"),
            ),
        ),
        (
            "another content type",
            check(
                Method::POST,
                "/v1/players",
                201,
                &headers(&[("content-type", "text/plain")]),
                player.clone(),
            ),
        ),
        (
            "a body where none is documented",
            check(
                Method::POST,
                &format!("/v1/hunts/{}/pause", uuid::Uuid::new_v4()),
                204,
                &json_type,
                json!({}),
            ),
        ),
        (
            "an unknown path answered 200",
            check(Method::GET, "/v1/nope", 200, &json_type, json!({})),
        ),
        (
            "a known path with an unknown method answered 404",
            check(
                Method::PUT,
                "/v1/players",
                404,
                &json_type,
                error("not_found"),
            ),
        ),
    ];
    for (case, verdict) in refused {
        assert!(verdict.is_err(), "{case} passed the check");
    }
    // And a request the server accepted must fit its schema.
    let ok = contract.check_request(&Method::POST, "/v1/players", &json!({"handle": "ana"}));
    assert!(ok.is_ok(), "{ok:?}");
    let bad = contract.check_request(&Method::POST, "/v1/players", &json!({"handle": ""}));
    assert!(bad.is_err(), "an empty handle passed the request schema");
}

/// What the issue found refused with no schema saying so: each of these requests is refused by
/// the server (400) and by the document's request schema (or its parameter's bounds).
#[tokio::test]
async fn requests_the_server_refuses_are_refused_by_the_document_too() {
    use reqwest::Method;
    let app = TestApp::spawn().await;
    let w = crate::input::World::new(&app).await;
    let fresh = app.player().await;
    let contract = contract_check::contract();
    let now = chrono::Utc::now();
    let hunt_body = |live_at: chrono::DateTime<chrono::Utc>, ends_at| {
        json!({"title": "T", "city": "Paris", "area": paris_area(), "teaser_at": live_at,
            "live_at": live_at, "ends_at": ends_at})
    };
    let cases: Vec<(&str, String, Option<&str>, serde_json::Value)> = vec![
        (
            "an empty handle",
            "/v1/players".into(),
            None,
            json!({"handle": ""}),
        ),
        (
            "an empty team name",
            format!("/v1/hunts/{}/teams", w.hunt),
            Some(&fresh.token),
            json!({"name": ""}),
        ),
        (
            "a blank team name",
            format!("/v1/hunts/{}/teams", w.hunt),
            Some(&fresh.token),
            json!({"name": "   "}),
        ),
        (
            "an empty broadcast",
            format!("/v1/hunts/{}/broadcast", w.hunt),
            Some(&w.gm.token),
            json!({"message": ""}),
        ),
        (
            "a check-in with accuracy_m 0",
            format!("/v1/hunts/{}/checkins", w.hunt),
            Some(&w.player.token),
            checkin_body(48.852968, 2.349902, 0.0, now),
        ),
        (
            "a clue with two rules",
            format!("/v1/hunts/{}/clues", w.hunt),
            Some(&w.owner.token),
            json!({"text": "x", "rule": {"at": now, "cost": 1}}),
        ),
        (
            "a clue with no rule",
            format!("/v1/hunts/{}/clues", w.hunt),
            Some(&w.owner.token),
            json!({"text": "x", "rule": {}}),
        ),
        (
            "a clue costing nothing",
            format!("/v1/hunts/{}/clues", w.hunt),
            Some(&w.owner.token),
            json!({"text": "x", "rule": {"cost": 0}}),
        ),
        (
            "a short password",
            "/v1/staff".into(),
            Some(&w.owner.token),
            json!({"email": "e@brand.example", "password": "short", "role": "editor"}),
        ),
        (
            "a zero team size",
            "/v1/hunts".into(),
            Some(&w.owner.token),
            {
                let mut h = hunt_body(now, now + chrono::Duration::days(1));
                h["rules"] = json!({"team_max_size": 0});
                h
            },
        ),
    ];
    for (case, path, token, body) in cases {
        let (status, answer) = app
            .send(Method::POST, &path, token, Some(body.clone()))
            .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{case}: the server took it: {answer}"
        );
        assert!(
            contract.check_request(&Method::POST, &path, &body).is_err(),
            "{case}: the document allows it"
        );
    }
    // What a schema cannot say is in the description: live_at must come before ends_at.
    let (status, _) = app
        .post("/v1/hunts", Some(&w.owner.token), hunt_body(now, now))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let doc: serde_json::Value = serde_json::from_str(&nenufar::http::openapi_json()).unwrap();
    let described = doc["components"]["schemas"]["CreateHuntRequest"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(described.contains("live_at < ends_at"), "{described}");
    // Query parameters carry their bounds: limit=0 is refused by both.
    let url = format!("/v1/hunts/{}/leaderboard?limit=0", w.hunt);
    let (status, _) = app.get(&url, Some(&w.player.token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let params = &doc["paths"]["/v1/hunts/{hunt_id}/leaderboard"]["get"]["parameters"];
    let limit = params
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == json!("limit"))
        .unwrap();
    assert_eq!(
        (limit["in"].as_str(), limit["schema"]["minimum"].as_i64()),
        (Some("query"), Some(1))
    );
}
