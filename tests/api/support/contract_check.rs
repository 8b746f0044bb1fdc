//! The contract check every API test runs: each response a test receives is looked up in the
//! OpenAPI document by method and path template, and refused unless its status is documented for
//! that operation, its content type is the documented one, its documented headers are there, its
//! JSON body matches the documented schema (JSON Schema 2020-12) and, for an error, its `code` is
//! one of those the operation lists (`x-error-codes`). A request whose path no operation has must
//! be answered 404 (405 when only the method is unknown) with an error body. So a drift between the
//! server and `mobile-api/openapi.json` fails a test.
//!
//! The check is stricter than the document on one point: a response object may not carry a member
//! its schema does not name (`unevaluatedProperties: false` is added to every object schema with
//! `properties`), so a field the server sends is a field the document describes. Clients, for
//! their part, should ignore members they do not know. The other way round, a JSON request body
//! the server accepted (2xx) must match the operation's request schema ([`Contract::check_request`]):
//! the document may not refuse what the server takes.
//!
//! Two ways in: [`checked_router`] wraps a node's router so every response it serves is checked
//! (raw `reqwest` calls and WebSocket upgrades included) and the violations are kept in a
//! [`Violations`] list the `TestApp` helpers drain; [`Contract::check`] checks one response a test
//! read from elsewhere (another process). Both use the one document, built once.

use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Value, json};

/// The contract of the running code: the generated document, compiled once per test binary.
pub fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let doc: Value = serde_json::from_str(&nenufar::http::openapi_json()).expect("document");
        Contract::new(doc).expect("the OpenAPI document compiles as JSON Schema")
    })
}

/// One documented operation.
struct Operation {
    method: String,
    template: String,
    segments: Vec<Option<String>>, // `None` for a `{parameter}` segment
    responses: serde_json::Map<String, Value>,
    /// `$defs` key of each documented JSON response schema, by status.
    schemas: Vec<(String, String)>,
    /// `$defs` key of the JSON request body's schema.
    request: Option<String>,
}

/// The document's operations and a validator for every documented JSON response body.
pub struct Contract {
    operations: Vec<Operation>,
    validators: jsonschema::ValidatorMap,
    error_body: String,
}

impl Contract {
    /// Compiles a document (OpenAPI 3.1: its schemas are JSON Schema 2020-12).
    pub fn new(doc: Value) -> Result<Self, String> {
        let mut defs = serde_json::Map::new();
        for (name, schema) in doc["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let mut strict = strict(schema.clone());
            retarget_refs(&mut strict, "c_");
            defs.insert(format!("c_{name}"), strict);
            let mut plain = schema.clone();
            retarget_refs(&mut plain, "n_");
            defs.insert(format!("n_{name}"), plain);
        }
        let mut operations = Vec::new();
        for (template, item) in doc["paths"].as_object().ok_or("no paths")? {
            for (method, op) in item.as_object().ok_or("a path item is not an object")? {
                let responses = op["responses"].as_object().cloned().unwrap_or_default();
                let mut schemas = Vec::new();
                for (status, response) in &responses {
                    let response = deref(&doc, response);
                    if let Some(schema) = response["content"]["application/json"].get("schema") {
                        let key = format!("r{}_{status}", defs.len());
                        let mut schema = strict(schema.clone());
                        retarget_refs(&mut schema, "c_");
                        defs.insert(key.clone(), schema);
                        schemas.push((status.clone(), key));
                    }
                }
                let request = op
                    .pointer("/requestBody/content/application~1json/schema")
                    .map(|schema| {
                        let key = format!("q{}", defs.len());
                        let mut schema = schema.clone();
                        retarget_refs(&mut schema, "n_");
                        defs.insert(key.clone(), schema);
                        key
                    });
                let responses = responses
                    .into_iter()
                    .map(|(s, r)| (s, deref(&doc, &r).clone()))
                    .collect();
                operations.push(Operation {
                    method: method.to_uppercase(),
                    template: template.clone(),
                    segments: segments(template)
                        .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                        .collect(),
                    responses,
                    schemas,
                    request,
                });
            }
        }
        defs.insert("error_body".into(), json!({"$ref": "#/$defs/c_ErrorBody"}));
        let root =
            json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": defs});
        let validators = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build_map(&root)
            .map_err(|e| format!("the document's schemas do not compile: {e}"))?;
        Ok(Self {
            operations,
            validators,
            error_body: "#/$defs/error_body".into(),
        })
    }

    /// The operation a request goes to: the template matching every segment, literal segments
    /// first (OpenAPI: `/v1/hunts/nearby` before `/v1/hunts/{hunt_id}`).
    fn operation(&self, method: &Method, path: &str) -> Result<&Operation, PathMatch> {
        let parts: Vec<&str> = segments(path).collect();
        let mut best: Option<(&Operation, usize)> = None;
        let mut path_known = false;
        for op in &self.operations {
            if op.segments.len() != parts.len() {
                continue;
            }
            let fits = op.segments.iter().zip(&parts).all(|(s, p)| match s {
                Some(literal) => literal == p,
                None => !p.is_empty(),
            });
            if !fits {
                continue;
            }
            path_known = true;
            if op.method != method.as_str() {
                continue;
            }
            let literals = op.segments.iter().filter(|s| s.is_some()).count();
            if best.is_none_or(|(_, n)| literals > n) {
                best = Some((op, literals));
            }
        }
        match best {
            Some((op, _)) => Ok(op),
            None if path_known => Err(PathMatch::MethodUnknown),
            None => Err(PathMatch::PathUnknown),
        }
    }

    /// Checks one response against the document; the error says what does not match.
    pub fn check(
        &self,
        method: &Method,
        path: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        let path = path.split('?').next().unwrap_or(path);
        let here = format!("{method} {path} answered {status}");
        let op = match self.operation(method, path) {
            Ok(op) => op,
            Err(unknown) => {
                let (expected, code) = match unknown {
                    PathMatch::MethodUnknown => {
                        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
                    }
                    PathMatch::PathUnknown => (StatusCode::NOT_FOUND, "not_found"),
                };
                if path.starts_with("/docs") {
                    return Ok(()); // Swagger UI: the viewer of the document, not part of it
                }
                if status != expected {
                    return Err(format!(
                        "{here}: no operation has this request, so it must be {expected}"
                    ));
                }
                let value = json_body(body).map_err(|e| format!("{here}: {e}"))?;
                self.validate(&self.error_body, &value)
                    .map_err(|e| format!("{here}: {e}"))?;
                return match value["code"].as_str() {
                    Some(c) if c == code => Ok(()),
                    other => Err(format!("{here}: code {other:?}, expected {code}")),
                };
            }
        };
        let here = format!("{here} ({} {})", op.method, op.template);
        let key = status.as_u16().to_string();
        let Some(response) = op.responses.get(&key) else {
            let documented: Vec<&String> = op.responses.keys().collect();
            return Err(format!(
                "{here}: status {key} is not documented (documented: {documented:?})"
            ));
        };
        for name in response["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(n, _)| n)
        {
            if !headers.contains_key(name.as_str()) {
                return Err(format!("{here}: the documented header {name} is missing"));
            }
        }
        let content = response["content"].as_object().cloned().unwrap_or_default();
        let content_type = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        if content.is_empty() {
            if !body.is_empty() {
                return Err(format!(
                    "{here}: documented without a body, but has {} bytes",
                    body.len()
                ));
            }
            return Ok(());
        }
        let Some(content_type) = content_type.clone().filter(|t| content.contains_key(t)) else {
            let documented: Vec<&String> = content.keys().collect();
            return Err(format!(
                "{here}: content type {content_type:?}, documented {documented:?}"
            ));
        };
        if content_type != "application/json" {
            return Ok(());
        }
        let value = json_body(body).map_err(|e| format!("{here}: {e}"))?;
        if let Some((_, def)) = op.schemas.iter().find(|(s, _)| *s == key) {
            self.validate(&format!("#/$defs/{def}"), &value)
                .map_err(|e| format!("{here}: {e}"))?;
        }
        if let Some(codes) = response["x-error-codes"].as_array() {
            let code = value["code"].as_str().unwrap_or_default();
            if !codes.iter().any(|c| c == code) {
                return Err(format!(
                    "{here}: code `{code}` is not one the operation lists for {key} ({codes:?}): {value}"
                ));
            }
        }
        Ok(())
    }

    /// Checks a JSON request body the server accepted against the operation's request schema.
    pub fn check_request(&self, method: &Method, path: &str, body: &Value) -> Result<(), String> {
        let path = path.split('?').next().unwrap_or(path);
        let Ok(op) = self.operation(method, path) else {
            return Ok(()); // the response check says what is wrong
        };
        let Some(def) = &op.request else {
            return Ok(()); // a body the operation does not read
        };
        self.validate(&format!("#/$defs/{def}"), body).map_err(|e| {
            format!(
                "{method} {path} ({} {}) accepted a request its schema refuses: {e}",
                op.method, op.template
            )
        })
    }

    fn validate(&self, pointer: &str, value: &Value) -> Result<(), String> {
        let validator = self
            .validators
            .get(pointer)
            .ok_or_else(|| format!("no validator at {pointer}"))?;
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the body does not match its schema: {}; body: {value}",
                errors.join("; ")
            ))
        }
    }
}

enum PathMatch {
    PathUnknown,
    MethodUnknown,
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.trim_start_matches('/').split('/')
}

fn json_body(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| {
        format!(
            "the body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(body)
        )
    })
}

/// Follows a `#/components/...` reference of the document (responses, headers).
fn deref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .map_or(v, |t| deref(doc, t)),
        None => v,
    }
}

/// Adds `unevaluatedProperties: false` to every object schema naming its properties and saying
/// nothing about others, at any depth.
fn strict(mut schema: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if map.contains_key("properties")
                    && !map.contains_key("additionalProperties")
                    && !map.contains_key("unevaluatedProperties")
                {
                    map.insert("unevaluatedProperties".into(), Value::Bool(false));
                }
                map.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut schema);
    schema
}

/// Points `#/components/schemas/X` references at the compiled root's `#/$defs/<prefix>X`.
fn retarget_refs(v: &mut Value, prefix: &str) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some(name) = r.strip_prefix("#/components/schemas/")
            {
                *r = format!("#/$defs/{prefix}{name}");
            }
            map.values_mut().for_each(|v| retarget_refs(v, prefix));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| retarget_refs(v, prefix)),
        _ => {}
    }
}

/// What a checked node found wrong, in order; the `TestApp` helpers drain it after every
/// response and its drop fails the test if anything is left.
#[derive(Clone, Default)]
pub struct Violations(Arc<Mutex<Vec<String>>>);

impl Violations {
    pub fn push(&self, v: String) {
        self.0.lock().unwrap().push(v);
    }

    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// Fails the test (from the caller) if any response broke the contract.
    pub fn assert_none(&self) {
        let found = self.take();
        assert!(
            found.is_empty(),
            "responses that break the OpenAPI document (fix the document or the server):\n{}",
            found.join("\n")
        );
    }
}

/// `router` with every response it serves checked against the contract into `violations`.
pub fn checked_router(router: axum::Router, violations: Violations) -> axum::Router {
    router.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let violations = violations.clone();
            async move { check_served(req, next, violations).await }
        },
    ))
}

async fn check_served(req: Request, next: Next, violations: Violations) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let response = next.run(req).await;
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            violations.push(format!("{method} {path}: the response body failed: {e}"));
            return Response::from_parts(parts, Body::empty());
        }
    };
    if let Err(v) = contract().check(&method, &path, parts.status, &parts.headers, &bytes) {
        violations.push(v);
    }
    Response::from_parts(parts, Body::from(bytes))
}
