//! `PATCH /v1/hunts/{hunt_id}` is a JSON Merge Patch (RFC 7396) at every depth: an absent field is
//! kept, a present one changed, `null` clears a field the hunt may hold empty and is 400 on any
//! other. The table walks the OpenAPI document's `UpdateHuntRequest` (rules included), so a field
//! or rule added later must get a value here. An area change that would leave a target outside is
//! 409 `not_publishable` naming the targets, in any status.

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::json;

use super::*;
use crate::support::*;

/// Pointers of the leaves of a schema: fields that are not objects with properties. A field
/// whose schema is a choice of objects (the area's Polygon or MultiPolygon) is a leaf: it is
/// replaced whole; a nullable object (`oneOf: [object, null]`) is walked into.
fn leaf_pointers(doc: &Value, schema: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    let mut alternatives = vec![schema];
    for key in ["oneOf", "anyOf", "allOf"] {
        let choices: Vec<&Value> = schema[key].as_array().into_iter().flatten().collect();
        if key != "allOf" && !choices.iter().any(|s| s["type"] == json!("null")) {
            continue;
        }
        alternatives.extend(choices.into_iter().map(|s| resolve(doc, s)));
    }
    let objects: Vec<&Value> = alternatives
        .into_iter()
        .filter(|s| s["properties"].is_object())
        .collect();
    if objects.is_empty() {
        out.push(at.to_owned());
        return;
    }
    for s in objects {
        for (name, prop) in s["properties"].as_object().unwrap() {
            leaf_pointers(doc, prop, &format!("{at}/{name}"), out);
        }
    }
}

/// Whether the schema at `pointer` (under `schema`) allows null.
fn nullable(doc: &Value, schema: &Value, pointer: &str) -> bool {
    let mut s = resolve(doc, schema);
    for seg in pointer.split('/').skip(1) {
        s = resolve(doc, &s["properties"][seg]);
    }
    let types_null = match &s["type"] {
        Value::Array(ts) => ts.iter().any(|t| t == "null"),
        Value::String(t) => t == "null",
        _ => false,
    };
    types_null
        || s["oneOf"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|a| a["type"] == json!("null"))
        || s["nullable"] == json!(true)
}

/// A new valid value for each patchable field (the schedule stays ordered whatever the order).
fn new_value(pointer: &str, now: DateTime<Utc>) -> Value {
    match pointer {
        "/title" => json!("Renamed hunt"),
        "/city" => json!("Paris, France"),
        "/area" => rect(2.1, 48.7, 2.6, 49.0),
        "/teaser_at" => json!(now - Duration::hours(2)),
        "/live_at" => json!(now - Duration::minutes(30)),
        "/ends_at" => json!(now + Duration::days(2)),
        "/archive_at" => json!(now + Duration::days(3)),
        "/rules/accuracy_policy" => json!("strict"),
        "/rules/max_accuracy_m" => json!(40.0),
        "/rules/team_max_size" => json!(3),
        "/rules/checkin_interval_s" => json!(2.5),
        "/rules/checkin_burst" => json!(8),
        other => panic!("no value for the patchable field {other}: add one to this test"),
    }
}

fn at<'a>(v: &'a Value, pointer: &str) -> &'a Value {
    v.pointer(pointer).unwrap_or(&Value::Null)
}

/// Equal as the API means it: dates as instants, numbers as doubles, a Polygon as its MultiPolygon.
fn same(a: &Value, b: &Value) -> bool {
    // PostgreSQL keeps microseconds.
    let date = |v: &Value| {
        v.as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.timestamp_micros())
    };
    let multi = |v: &Value| match v["type"].as_str() {
        Some("Polygon") => json!({"type": "MultiPolygon", "coordinates": [v["coordinates"]]}),
        _ => v.clone(),
    };
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(_), Value::String(_)) if date(a).is_some() && date(b).is_some() => {
            date(a) == date(b)
        }
        (Value::Object(_), Value::Object(_)) => multi(a) == multi(b),
        _ => a == b,
    }
}

#[tokio::test]
async fn every_patchable_field_is_kept_when_absent_changed_when_sent_and_cleared_by_null_only_where_allowed()
 {
    let app = TestApp::spawn().await;
    let w = World::new(&app).await;
    let doc = openapi();
    let update = &doc["components"]["schemas"]["UpdateHuntRequest"];
    let hunt_schema = &doc["components"]["schemas"]["HuntResponse"];
    let mut fields = Vec::new();
    leaf_pointers(&doc, update, "", &mut fields);
    assert!(fields.len() >= 10, "{fields:?}");
    let path = format!("/v1/hunts/{}", w.hunt);
    let token = Some(w.owner.token.as_str());
    let now = Utc::now();
    let (_, mut current) = app.get(&path, token).await;

    for field in &fields {
        let value = new_value(field, now);
        let mut patch = json!({});
        set_pointer(&mut patch, field, value.clone());
        let (status, after) = app
            .send(Method::PATCH, &path, token, Some(patch.clone()))
            .await;
        assert_eq!(status, StatusCode::OK, "PATCH {patch}: {after}");
        assert!(
            same(at(&after, field), &value),
            "{field} was not changed by {patch}: {after}"
        );
        for other in fields.iter().filter(|f| *f != field) {
            assert!(
                same(at(&after, other), at(&current, other)),
                "PATCH {patch} changed {other}: {} -> {}",
                at(&current, other),
                at(&after, other)
            );
        }
        let (_, stored) = app.get(&path, token).await;
        assert_eq!(stored, after, "the answer is what is stored");
        current = after;
    }

    let mut cleared = 0;
    for field in &fields {
        let mut patch = json!({});
        set_pointer(&mut patch, field, Value::Null);
        let answer = app
            .send(Method::PATCH, &path, token, Some(patch.clone()))
            .await;
        if nullable(&doc, hunt_schema, field) {
            assert_eq!(answer.0, StatusCode::OK, "PATCH {patch}: {}", answer.1);
            assert!(
                at(&answer.1, field).is_null(),
                "{field} was not cleared: {}",
                answer.1
            );
            for other in fields.iter().filter(|f| *f != field) {
                assert!(
                    same(at(&answer.1, other), at(&current, other)),
                    "PATCH {patch} changed {other}"
                );
            }
            cleared += 1;
        } else {
            assert_names_field(&format!("PATCH {patch}"), &answer, field, "body");
        }
        let (_, stored) = app.get(&path, token).await;
        for other in fields.iter().filter(|f| *f != field) {
            assert!(
                same(at(&stored, other), at(&current, other)),
                "a refused {patch} changed {other}"
            );
        }
        current = stored;
    }
    assert!(
        nullable(&doc, hunt_schema, "/archive_at"),
        "archive_at can be cleared"
    );
    assert!(cleared >= 1);

    // Null on a whole object that cannot be empty, and unknown keys at every depth.
    let refused = [
        (json!({"rules": null}), "/rules"),
        (json!({"owner": "me"}), "/owner"),
        (
            json!({"rules": {"speed_limit_mps": 3}}),
            "/rules/speed_limit_mps",
        ),
        (
            json!({"title": "Changed too?", "rules": {"max_accuracy_m": 45, "bogus": true}}),
            "/rules/bogus",
        ),
        (json!({"rules": 7}), "/rules"),
    ];
    for (patch, field) in refused {
        let before = snapshot(&app).await;
        let answer = app
            .send(Method::PATCH, &path, token, Some(patch.clone()))
            .await;
        assert_names_field(&format!("PATCH {patch}"), &answer, field, "body");
        assert_eq!(snapshot(&app).await, before);
        let (_, stored) = app.get(&path, token).await;
        assert_eq!(
            stored["title"], current["title"],
            "a refused PATCH changed the title"
        );
        assert_eq!(
            stored["rules"], current["rules"],
            "a refused PATCH changed the rules"
        );
    }
}

#[tokio::test]
async fn a_patch_of_one_rule_of_a_live_hunt_keeps_the_others() {
    let app = TestApp::spawn().await;
    let owner = app.staff().await;
    let hunt = app
        .draft_hunt(
            &owner,
            paris_area(),
            json!({"accuracy_policy": "lenient", "team_max_size": 3, "checkin_burst": 7}),
        )
        .await;
    app.import(
        &owner,
        &hunt,
        collection(vec![circle("Notre-Dame", 48.852968, 2.349902, 40.0, 3)]),
    )
    .await;
    app.publish(&owner, &hunt).await;
    let path = format!("/v1/hunts/{hunt}");
    let (status, h) = app
        .send(
            Method::PATCH,
            &path,
            Some(&owner.token),
            Some(json!({"rules": {"max_accuracy_m": 40}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{h}");
    assert_eq!(
        h["rules"],
        json!({"accuracy_policy": "lenient", "max_accuracy_m": 40.0, "team_max_size": 3,
               "checkin_interval_s": 5.0, "checkin_burst": 7}),
        "{h}"
    );
    // The merge-patch media type is accepted too.
    let r = app
        .client
        .patch(format!("{}{path}", app.base))
        .bearer_auth(&owner.token)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"archive_at": null, "title": "Merge-patched"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap()["title"],
        json!("Merge-patched")
    );
}

#[tokio::test]
async fn an_area_that_would_leave_targets_outside_is_409_naming_them_in_any_status() {
    let app = TestApp::spawn().await;
    let owner = app.staff().await;
    for publish in [false, true] {
        let hunt = app.draft_hunt(&owner, paris_area(), json!({})).await;
        let ids = app
            .import(
                &owner,
                &hunt,
                collection(vec![
                    circle("Notre-Dame", 48.852968, 2.349902, 40.0, 3),
                    circle("Sacré-Cœur", 48.886705, 2.343104, 40.0, 3),
                    json!({"type": "Feature", "properties": {"name": "Parc"},
                        "geometry": rect(2.36, 48.86, 2.38, 48.875)}),
                ]),
            )
            .await;
        if publish {
            app.publish(&owner, &hunt).await;
        }
        let path = format!("/v1/hunts/{hunt}");
        let (_, before) = app.get(&path, Some(&owner.token)).await;
        // Notre-Dame inside; Sacré-Cœur north of it; the park straddles the northern edge.
        let small = rect(2.30, 48.84, 2.40, 48.87);
        let answer = app
            .send(
                Method::PATCH,
                &path,
                Some(&owner.token),
                Some(json!({"area": small, "title": "Smaller"})),
            )
            .await;
        let case = if publish { "published" } else { "draft" };
        assert_eq!(
            (answer.0, answer.1["code"].as_str()),
            (StatusCode::CONFLICT, Some("not_publishable")),
            "{case}: {}",
            answer.1
        );
        let mut named: Vec<&str> = answer.1["details"]["targets"]
            .as_array()
            .unwrap_or_else(|| panic!("{case}: the details name the targets: {}", answer.1))
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        named.sort_unstable();
        let mut want = vec![ids[1].as_str(), ids[2].as_str()];
        want.sort_unstable();
        assert_eq!(named, want, "{case}: {}", answer.1);
        let (_, after) = app.get(&path, Some(&owner.token)).await;
        assert_eq!(
            after, before,
            "{case}: a refused area change changed the hunt"
        );
        // An area that still holds every target is fine.
        let (status, h) = app
            .send(
                Method::PATCH,
                &path,
                Some(&owner.token),
                Some(json!({"area": rect(2.25, 48.82, 2.45, 48.9)})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{case}: {h}");
    }
}
