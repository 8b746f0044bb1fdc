//! The mobile contract: the checked-in OpenAPI document and error code list match the code, an
//! OpenAPI 3.1 validator accepts the document (and refuses a broken one), every operation lists
//! the statuses any request can meet; every migration's `down.sql` works. That the suite's
//! contract check refuses what breaks the document is in `contract_drift.rs`.

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
