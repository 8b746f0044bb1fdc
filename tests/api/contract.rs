//! The mobile contract: the checked-in OpenAPI document and error code list match the code;
//! every migration's `down.sql` works.

use reqwest::StatusCode;

use crate::support::*;

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
