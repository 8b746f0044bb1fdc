//! Untrusted input at the edge: every JSON body, query string and WebSocket message passes here
//! before a handler sees it. Strict JSON (a key given twice in one object is refused, at any
//! depth), one text rule for every string (no control characters, bounded length; line breaks
//! only in fields a request type declares multi-line), typed reading that names the offending
//! field as a JSON pointer (RFC 6901), and JSON Merge Patch (RFC 7396). No IO: used by
//! `http::extract` and `live::session`.

pub mod json;
pub mod merge;
pub mod text;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::AppError;

/// Where a refused field was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A JSON request body.
    Body,
    /// The query string (each parameter is a member of the query object: `/limit`).
    Query,
    /// A WebSocket message from the client.
    Message,
}

impl Location {
    /// The stable name in error details.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Body => "body",
            Self::Query => "query",
            Self::Message => "message",
        }
    }
}

/// A refused field: where it is and why (the reason is safe to show).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", if field.is_empty() { "the document" } else { field.as_str() })]
pub struct FieldError {
    pub location: Location,
    /// A JSON pointer: `/rules/max_accuracy_m`, `/features/3/properties/name`; empty for the whole document.
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(location: Location, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            location,
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The `details` of the error envelope.
    pub fn details(&self) -> Value {
        serde_json::json!({"field": self.field, "in": self.location.as_str()})
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        Self::InvalidRequest {
            message: e.to_string(),
            details: Some(e.details()),
        }
    }
}

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Not JSON at all (`invalid_json`): the parser's message.
    Syntax(String),
    /// JSON, but a field breaks a rule (`invalid_request`).
    Field(FieldError),
}

impl From<FieldError> for BodyError {
    fn from(e: FieldError) -> Self {
        Self::Field(e)
    }
}

/// A request type read at the edge.
pub trait Input: DeserializeOwned {
    /// Fields whose text may span lines (`\n` and `\t` kept, CRLF read as LF), as JSON pointers
    /// in which `*` stands for any one segment; a string matches a pattern or lies under it.
    /// Every other string is one line.
    const MULTILINE: &'static [&'static str] = &[];
}

/// Reads a JSON document: strict JSON, then every string (and key) through the text rules.
pub fn document(bytes: &[u8], location: Location, multiline: &[&str]) -> Result<Value, BodyError> {
    let mut value = json::parse(bytes).map_err(|e| match e {
        json::JsonError::Syntax(message) => BodyError::Syntax(message),
        json::JsonError::Duplicate(field) => BodyError::Field(FieldError::new(
            location,
            field,
            "this key is given twice in one object",
        )),
    })?;
    text::scan(&mut value, location, multiline)?;
    Ok(value)
}

/// Reads a request body of type `T`: a JSON object passing [`document`], then `T` strictly.
pub fn body<T: Input>(bytes: &[u8]) -> Result<T, BodyError> {
    let value = document(bytes, Location::Body, T::MULTILINE)?;
    if !value.is_object() {
        return Err(FieldError::new(Location::Body, "", "the body must be a JSON object").into());
    }
    Ok(typed(value, Location::Body)?)
}

/// Reads `T` from a checked document, naming the field serde refused.
pub fn typed<T: DeserializeOwned>(value: Value, location: Location) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = pointer_of(e.path(), &e.inner().to_string());
        FieldError::new(location, field, e.inner().to_string())
    })
}

/// Reads query parameters into `T`: each parameter once, every value one line of text.
pub fn query<T: DeserializeOwned>(raw: Option<&str>) -> Result<T, FieldError> {
    let raw = raw.unwrap_or("");
    let mut seen = std::collections::BTreeSet::new();
    for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        let field = format!("/{}", json::escape(&name));
        text::check_key(&name).map_err(|r| FieldError::new(Location::Query, &field, r))?;
        if !seen.insert(name.into_owned()) {
            return Err(FieldError::new(
                Location::Query,
                field,
                "this parameter is given twice",
            ));
        }
        text::check(&value, false).map_err(|r| FieldError::new(Location::Query, field, r))?;
    }
    let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(raw.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = pointer_of(e.path(), &e.inner().to_string());
        FieldError::new(Location::Query, field, e.inner().to_string())
    })
}

/// The JSON pointer of a serde error: its path, plus the field a "missing field", "unknown
/// field" or "duplicate field" message names (serde reports those at the enclosing object).
fn pointer_of(path: &serde_path_to_error::Path, message: &str) -> String {
    use serde_path_to_error::Segment;
    let mut segments: Vec<String> = path
        .iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Map { key } => Some(key.clone()),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect();
    for prefix in ["missing field `", "unknown field `", "duplicate field `"] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((name, _)) = rest.split_once('`')
            && segments.last().map(String::as_str) != Some(name)
        {
            segments.push(name.to_owned());
        }
    }
    segments
        .iter()
        .map(|s| format!("/{}", json::escape(s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "read by serde only")]
    struct Inner {
        n: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "read by serde only")]
    struct Outer {
        title: String,
        inner: Inner,
        #[serde(default)]
        list: Vec<Inner>,
    }

    impl Input for Outer {}

    fn field_of(body: &str) -> String {
        match super::body::<Outer>(body.as_bytes()) {
            Err(BodyError::Field(e)) => e.field,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn serde_errors_name_the_field_as_a_json_pointer() {
        assert_eq!(field_of(r#"{"title": 1, "inner": {"n": 1}}"#), "/title");
        assert_eq!(field_of(r#"{"inner": {"n": 1}}"#), "/title");
        assert_eq!(
            field_of(r#"{"title": "t", "inner": {"n": -1}}"#),
            "/inner/n"
        );
        assert_eq!(
            field_of(r#"{"title": "t", "inner": {"n": 1, "x": 2}}"#),
            "/inner/x"
        );
        assert_eq!(field_of(r#"{"title": "t", "inner": {}}"#), "/inner/n");
        assert_eq!(
            field_of(r#"{"title": "t", "inner": {"n": 1}, "list": [{"n": 1}, {"n": "2"}]}"#),
            "/list/1/n"
        );
        assert_eq!(
            field_of(r#"{"title": "t", "inner": {"n": 1}, "a/b~": 0}"#),
            "/a~1b~0"
        );
        assert_eq!(field_of(r#"["t"]"#), "");
    }

    #[test]
    fn query_parameters_are_named_and_given_once() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[expect(dead_code, reason = "read by serde only")]
        struct Q {
            limit: Option<u32>,
            kind: Option<String>,
        }
        assert!(query::<Q>(Some("limit=3&kind=team")).is_ok());
        assert!(query::<Q>(None).is_ok());
        let e = query::<Q>(Some("limit=x")).unwrap_err();
        assert_eq!((e.field.as_str(), e.location), ("/limit", Location::Query));
        assert_eq!(query::<Q>(Some("kind=a%00")).unwrap_err().field, "/kind");
        assert_eq!(
            query::<Q>(Some("limit=1&limit=2")).unwrap_err().field,
            "/limit"
        );
        assert_eq!(query::<Q>(Some("other=1")).unwrap_err().field, "/other");
    }
}
