//! Input at the edge (issue 9, items 5, 7, 8 and 9): one validation for every text field, strict
//! JSON bodies (unknown and duplicate keys, merge-patch PATCH), authorisation before validation,
//! and look-alike names. The tables walk the OpenAPI document, so a new route or field is covered
//! by itself. Shared helpers live here; each submodule is one promise.

mod auth_order;
mod geojson_members;
mod hunt_patch;
mod names;
mod strict_json;
mod text_fields;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::authz::colleague;
use crate::support::*;

/// The generated OpenAPI document as JSON.
pub fn openapi() -> Value {
    serde_json::from_str(&nenufar::http::openapi_json()).unwrap()
}

/// Every operation of the document: (method, path template, operation object).
pub fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    out
}

/// Follows a `$ref` to its schema.
pub fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// Whether a schema's `type` says (or allows) `kind`.
fn has_type(schema: &Value, kind: &str) -> bool {
    match &schema["type"] {
        Value::String(t) => t == kind,
        Value::Array(ts) => ts.iter().any(|t| t == kind),
        _ => false,
    }
}

/// JSON pointers of every `string` in a schema, at any depth (`$ref`, `oneOf`/`anyOf`/`allOf`,
/// object properties, array items at index 0).
pub fn string_pointers(doc: &Value, schema: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if has_type(schema, "string") && !out.iter().any(|p| p == at) {
        out.push(at.to_owned());
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for s in schema[key].as_array().into_iter().flatten() {
            string_pointers(doc, s, at, out);
        }
    }
    if let Some(props) = schema["properties"].as_object() {
        for (name, s) in props {
            string_pointers(doc, s, &format!("{at}/{name}"), out);
        }
    }
    if has_type(schema, "array") {
        string_pointers(doc, &schema["items"], &format!("{at}/0"), out);
    }
}

/// The JSON schema of an operation's request body, if it has one.
pub fn body_schema(op: &Value) -> Option<&Value> {
    op["requestBody"]["content"]["application/json"]
        .get("schema")
        .filter(|s| !s.is_null())
}

/// The query parameters of an operation (`in: query`; none of them may be in the path template).
pub fn query_params(path: &str, op: &Value) -> Vec<String> {
    let names: Vec<String> = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == json!("query"))
        .filter_map(|p| p["name"].as_str())
        .map(str::to_owned)
        .collect();
    for name in &names {
        assert!(
            !path.contains(&format!("{{{name}}}")),
            "{path}: {name} is a path parameter declared in the query"
        );
    }
    names
}

/// Sets the value at a JSON pointer, creating objects (and arrays for numeric segments) on the way.
pub fn set_pointer(doc: &mut Value, pointer: &str, value: Value) {
    let segments: Vec<&str> = pointer.split('/').skip(1).collect();
    let mut at = doc;
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let next_is_index = segments
            .get(i + 1)
            .is_some_and(|s| s.parse::<usize>().is_ok());
        let fresh = || if next_is_index { json!([]) } else { json!({}) };
        at = match seg.parse::<usize>() {
            Ok(index) if at.is_array() => {
                let items = at.as_array_mut().unwrap();
                while items.len() <= index {
                    items.push(fresh());
                }
                &mut items[index]
            }
            _ => {
                if !at.is_object() {
                    *at = json!({});
                }
                let obj = at.as_object_mut().unwrap();
                let slot = obj.entry(seg.to_string()).or_insert_with(fresh);
                if !(last || slot.is_object() || slot.is_array()) {
                    *slot = fresh();
                }
                slot
            }
        };
        if last {
            *at = value;
            return;
        }
    }
    *at = value;
}

/// Row counts of every table a request could write, as one JSON object.
pub async fn snapshot(app: &TestApp) -> Value {
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
        "events",
        "clues",
        "clue_reveals",
        "push_subscriptions",
        "push_preferences",
    ];
    // Phase announcements are appended by a background job whenever a phase starts: not by a request.
    let fields: Vec<String> = tables
        .iter()
        .map(|t| match *t {
            "events" => {
                "'events', (select count(*) from events where kind <> 'phase_changed')".to_owned()
            }
            t => format!("'{t}', (select count(*) from {t})"),
        })
        .collect();
    let sql = format!(
        "select json_build_object({})::text as counts",
        fields.join(", ")
    );
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let row: Counts = diesel::sql_query(sql).get_result(&mut conn).await.unwrap();
    serde_json::from_str(&row.counts).unwrap()
}

/// Asserts a 400 `invalid_request` whose details name `field` (a JSON pointer) in `location`.
pub fn assert_names_field(
    case: &str,
    (status, body): &(StatusCode, Value),
    field: &str,
    location: &str,
) {
    assert_eq!(*status, StatusCode::BAD_REQUEST, "{case}: {body}");
    assert_eq!(body["code"], json!("invalid_request"), "{case}: {body}");
    assert_eq!(
        (
            body["details"]["field"].as_str(),
            body["details"]["in"].as_str()
        ),
        (Some(field), Some(location)),
        "{case}: the details must name the field: {body}"
    );
}

/// An organisation with a published live hunt over Paris (one circle target at Notre-Dame and a
/// clue for sale), its staff of every role, and a player in a team.
pub struct World {
    pub owner: Staff,
    pub editor: Staff,
    pub gm: Staff,
    pub player: Player,
    pub hunt: String,
    pub target: String,
    pub clue: String,
    pub team: String,
    pub invite_code: String,
}

impl World {
    pub async fn new(app: &TestApp) -> Self {
        let owner = app.staff().await;
        let editor = colleague(app, &owner, "editor").await;
        let gm = colleague(app, &owner, "game_master").await;
        let hunt = app.draft_hunt(&owner, paris_area(), json!({})).await;
        let target = app
            .import(
                &owner,
                &hunt,
                collection(vec![circle("Notre-Dame", 48.852968, 2.349902, 40.0, 3)]),
            )
            .await
            .remove(0);
        app.publish(&owner, &hunt).await;
        let (status, clue) = app
            .post(
                &format!("/v1/hunts/{hunt}/clues"),
                Some(&owner.token),
                json!({"text": "Look up", "rule": {"cost": 1}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{clue}");
        let player = app.player().await;
        let (status, team) = app
            .post(
                &format!("/v1/hunts/{hunt}/teams"),
                Some(&player.token),
                json!({"name": "Les Lynx"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{team}");
        Self {
            owner,
            editor,
            gm,
            player,
            hunt,
            target,
            clue: clue["id"].as_str().unwrap().to_owned(),
            team: team["team_id"].as_str().unwrap().to_owned(),
            invite_code: team["invite_code"].as_str().unwrap().to_owned(),
        }
    }

    /// `template` with its path parameters replaced by this world's ids.
    pub fn path(&self, template: &str) -> String {
        template
            .replace("{hunt_id}", &self.hunt)
            .replace("{target_id}", &self.target)
            .replace("{clue_id}", &self.clue)
            .replace("{team_id}", &self.team)
    }
}
