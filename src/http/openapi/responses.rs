//! The statuses an operation can meet whatever its handler does, added to every operation of the
//! document from what the operation declares: 400 when it reads parameters or a body, 401 and
//! 403 from its security requirement, 404 when its path has ids, 413 and 415 with a body, and
//! 429, 500 and 503 everywhere (a limit, an internal error, an overloaded node). Every error
//! response gets the `ErrorBody` schema, a description, and its codes in `x-error-codes`: the
//! status's own codes plus every code of `ERROR_CODES` the annotation's description names in
//! backticks (`(status = 409, description = "`team_full`: ...")`); for a status every such
//! operation has, the annotation's description follows the generic one ("Also `not_in_hunt`:
//! ..."). 429 and 503 carry `Retry-After`, 401 `WWW-Authenticate`.

use serde_json::{Map, Value, json};

use super::schemas::GEOJSON_BODIES;
use crate::http::error::ERROR_CODES;

/// Every role a bearer requirement can name; an operation admitting all of them refuses no one.
const ROLES: [&str; 4] = ["player", "owner", "editor", "game_master"];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// What an operation declares, as far as the statuses it can meet go.
struct Declared {
    reads_input: bool,
    /// `invalid_json`, or `invalid_geojson` for a GeoJSON body; `None` without a body.
    syntax_code: Option<&'static str>,
    /// The roles of its security requirements; `None` when it needs no token.
    roles: Option<Vec<String>>,
    has_ids: bool,
}

impl Declared {
    fn of(path: &str, op: &Value) -> Self {
        let has_params = op["parameters"].as_array().is_some_and(|p| !p.is_empty());
        let body = op.get("requestBody");
        let syntax_code = body.map(|b| {
            let schema = b.pointer("/content/application~1json/schema/$ref");
            let geojson = schema
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .is_some_and(|name| GEOJSON_BODIES.contains(&name));
            if geojson {
                "invalid_geojson"
            } else {
                "invalid_json"
            }
        });
        let roles = op["security"].as_array().map(|reqs| {
            reqs.iter()
                .filter_map(Value::as_object)
                .flat_map(|req| req.values())
                .filter_map(Value::as_array)
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        });
        Self {
            reads_input: has_params || body.is_some(),
            syntax_code,
            roles,
            has_ids: path.contains('{'),
        }
    }

    /// The statuses this operation can meet whatever its handler does, with their codes.
    fn generic(&self) -> Vec<(&'static str, Vec<&'static str>)> {
        let mut out = Vec::new();
        if self.reads_input {
            let mut codes = vec!["invalid_request"];
            codes.extend(self.syntax_code);
            out.push(("400", codes));
        }
        if let Some(roles) = &self.roles {
            out.push(("401", vec!["unauthenticated"]));
            if !ROLES.iter().all(|r| roles.iter().any(|x| x == r)) {
                out.push(("403", vec!["forbidden"]));
            }
        }
        if self.has_ids {
            out.push(("404", vec!["not_found"]));
        }
        if self.syntax_code.is_some() {
            out.push(("413", vec!["body_too_large"]));
            out.push(("415", vec!["unsupported_media_type"]));
        }
        out.push(("429", vec!["rate_limited"]));
        out.push(("500", vec!["internal"]));
        out.push(("503", vec!["unavailable"]));
        out
    }
}

/// What a status means when the annotation says nothing more.
fn generic_description(status: &str) -> &'static str {
    match status {
        "200" => "OK.",
        "201" => "Created.",
        "204" => "Done; no body.",
        "400" => {
            "The request breaks a rule: the body, a query parameter or a path id (a malformed UUID \
             too). `details` names the field at fault as a JSON pointer, `{\"field\", \"in\"}`, \
             where one is."
        }
        "401" => "No valid bearer token (`WWW-Authenticate: Bearer`).",
        "403" => {
            "The caller may not do this: a role the operation's security requirement does not \
             list (checked before anything else is read), or what the codes below say."
        }
        "404" => {
            "No such resource for this caller: unknown, another organisation's, or a hunt not \
             published yet on a player route."
        }
        "409" => "The request conflicts with the resource's state.",
        "413" => "The body is too large: 1 MiB, 16 MiB for a target import.",
        "415" => "The body is not sent as `application/json` (or another `application/*+json`).",
        "429" => {
            "Refused by a limit (requests per address and per token; check-ins, logins, sign-ups \
             and WebSocket sessions have their own): nothing was done or stored. Retry after \
             `Retry-After` seconds."
        }
        "500" => {
            "An internal error, logged on the server and never described. Retry with the same \
             idempotency key where the operation has one."
        }
        "503" => {
            "The node is overloaded or not ready (the database unreachable or busy, the \
             password-hashing queue full, or the request over the time limit, which may have \
             taken effect). Retry after `Retry-After` seconds (a check-in with the same key)."
        }
        _ => "",
    }
}

/// The codes of `ERROR_CODES` a description names in backticks.
fn named_codes(description: &str) -> Vec<&'static str> {
    description
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|word| ERROR_CODES.iter().copied().find(|c| *c == word))
        .collect()
}

fn header_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/headers/{name}")})
}

/// Completes every operation's responses (see the module doc) and adds the shared headers.
pub fn complete(doc: &mut Value) {
    let Some(root) = doc.as_object_mut() else {
        return;
    };
    let components = root
        .entry("components")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    if let Some(components) = components {
        let headers = components.entry("headers").or_insert_with(|| json!({}));
        headers["Retry-After"] = json!({
            "description": "Seconds to wait before retrying (an integer, at least 1).",
            "schema": {"type": "integer", "minimum": 1},
        });
        headers["WWW-Authenticate"] = json!({
            "description": "`Bearer`: the scheme to authenticate with.",
            "schema": {"type": "string", "enum": ["Bearer"]},
        });
        add_shared(components);
    }
    let Some(paths) = root.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            if let Some(op) = item.get_mut(method) {
                complete_operation(path, op);
            }
        }
    }
}

fn complete_operation(path: &str, op: &mut Value) {
    let declared = Declared::of(path, op);
    let Some(op) = op.as_object_mut() else {
        return;
    };
    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    let Some(responses) = responses else {
        return;
    };
    for (status, codes) in declared.generic() {
        let response = responses.entry(status).or_insert_with(|| json!({}));
        let mut all = codes;
        if let Some(own) = response["description"].as_str().filter(|d| !d.is_empty()) {
            // The annotation adds to what the status means everywhere ("Also `not_in_hunt`: ...").
            all.extend(named_codes(own));
            response["description"] = json!(format!("{} {own}", generic_description(status)));
        }
        response["x-error-codes"] = json!(all);
    }
    for (status, response) in responses.iter_mut() {
        complete_response(status, response);
        if let Some(name) = shared_name(status, response) {
            *response = json!({"$ref": format!("#/components/responses/{name}")});
        }
    }
}

/// The shared responses (`components.responses`): a generic status with its generic codes only.
const SHARED: [(&str, &[&str], &str); 10] = [
    ("400", &["invalid_request"], "InvalidParameters"),
    (
        "400",
        &["invalid_request", "invalid_json"],
        "InvalidRequest",
    ),
    ("401", &["unauthenticated"], "Unauthenticated"),
    ("403", &["forbidden"], "Forbidden"),
    ("404", &["not_found"], "NotFound"),
    ("413", &["body_too_large"], "BodyTooLarge"),
    ("415", &["unsupported_media_type"], "UnsupportedMediaType"),
    ("429", &["rate_limited"], "RateLimited"),
    ("500", &["internal"], "Internal"),
    ("503", &["unavailable"], "Unavailable"),
];

/// A shared response as [`complete_response`] makes it.
fn shared(status: &str, codes: &[&str]) -> Value {
    let mut response = json!({"x-error-codes": codes});
    complete_response(status, &mut response);
    response
}

/// The name of the shared response `response` is, if it is one.
fn shared_name(status: &str, response: &Value) -> Option<&'static str> {
    SHARED
        .iter()
        .find(|(s, codes, _)| *s == status && *response == shared(s, codes))
        .map(|(_, _, name)| *name)
}

/// Adds the shared responses to the components.
fn add_shared(components: &mut Map<String, Value>) {
    let responses = components.entry("responses").or_insert_with(|| json!({}));
    for (status, codes, name) in SHARED {
        responses[name] = shared(status, codes);
    }
}

fn complete_response(status: &str, response: &mut Value) {
    let Some(r) = response.as_object_mut() else {
        return;
    };
    let own = r
        .get("description")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
        .map(str::to_owned);
    if !status.starts_with(['4', '5']) {
        r.insert(
            "description".into(),
            json!(own.unwrap_or_else(|| generic_description(status).to_owned())),
        );
        return;
    }
    let mut codes: Vec<String> = match r.get("x-error-codes").and_then(Value::as_array) {
        Some(listed) => listed
            .iter()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect(),
        None => own
            .as_deref()
            .map(named_codes)
            .unwrap_or_default()
            .into_iter()
            .map(str::to_owned)
            .collect(),
    };
    let mut seen = std::collections::HashSet::new();
    codes.retain(|c| seen.insert(c.clone()));
    let lead = own.unwrap_or_else(|| generic_description(status).to_owned());
    let list: Vec<String> = codes.iter().map(|c| format!("`{c}`")).collect();
    let description = if list.is_empty() {
        lead
    } else {
        format!("{lead}\n\nCodes: {}.", list.join(", "))
    };
    r.insert("description".into(), json!(description));
    r.insert("x-error-codes".into(), json!(codes));
    r.insert(
        "content".into(),
        json!({"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}),
    );
    let headers = r.entry("headers").or_insert_with(|| json!({}));
    if let Some(headers) = headers.as_object_mut() {
        match status {
            "401" => {
                headers.insert("WWW-Authenticate".into(), header_ref("WWW-Authenticate"));
            }
            "429" | "503" => {
                headers.insert("Retry-After".into(), header_ref("Retry-After"));
            }
            _ => {}
        }
    }
    if r.get("headers")
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
    {
        r.remove("headers");
    }
}
