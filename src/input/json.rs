//! Strict JSON: RFC 8259 text into a `serde_json::Value`, refusing an object that gives a key
//! twice (serde_json's own `Value` keeps the last one, so a body could say two things and be read
//! as either). The parser is serde_json's (its recursion limit of 128 holds); only the building
//! of the value is ours, so it sees every key.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON (the parser's message, with line and column).
    Syntax(String),
    /// A key given twice: the JSON pointer of its second occurrence.
    Duplicate(String),
}

/// Parses `bytes` as one JSON value, with nothing but whitespace after it.
pub fn parse(bytes: &[u8]) -> Result<Value, JsonError> {
    let mut state = State::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict { state: &mut state }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    match (value, state.duplicate) {
        (_, Some(pointer)) => Err(JsonError::Duplicate(pointer)),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(JsonError::Syntax(e.to_string())),
    }
}

/// Escapes one JSON pointer segment (RFC 6901: `~` is `~0`, `/` is `~1`).
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The pointer of a path of segments.
pub fn pointer(path: &[String]) -> String {
    path.iter().map(|s| format!("/{}", escape(s))).collect()
}

#[derive(Debug, Default)]
struct State {
    path: Vec<String>,
    duplicate: Option<String>,
}

struct Strict<'a> {
    state: &'a mut State,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            self.state.path.push(items.len().to_string());
            let next = seq.next_element_seed(Strict {
                state: &mut *self.state,
            })?;
            self.state.path.pop();
            match next {
                Some(v) => items.push(v),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.state.path.push(key.clone());
            if object.contains_key(&key) {
                self.state.duplicate = Some(pointer(&self.state.path));
                return Err(de::Error::custom("duplicate key"));
            }
            let value = map.next_value_seed(Strict {
                state: &mut *self.state,
            })?;
            self.state.path.pop();
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn it_reads_what_serde_json_reads() {
        let text = r#"{"a": [1, -2, 3.5, true, null, "x\u00e9"], "b": {"c": {}}, "d": 18446744073709551615}"#;
        assert_eq!(
            parse(text.as_bytes()),
            Ok(serde_json::from_str::<Value>(text).unwrap())
        );
    }

    #[test]
    fn a_key_given_twice_is_refused_at_any_depth_with_its_pointer() {
        assert_eq!(
            parse(br#"{"a": 1, "a": 2}"#),
            Err(JsonError::Duplicate("/a".into()))
        );
        assert_eq!(
            parse(br#"{"f": [{"p": {"n": 1}}, {"p": {"n": 1, "n": 1}}]}"#),
            Err(JsonError::Duplicate("/f/1/p/n".into()))
        );
        assert_eq!(
            parse(br#"{"a/b": {"x~": 1, "x~": 1}}"#),
            Err(JsonError::Duplicate("/a~1b/x~0".into()))
        );
        // The same key in sibling objects is fine.
        assert!(parse(br#"[{"a": 1}, {"a": 2}]"#).is_ok());
    }

    #[test]
    fn malformed_text_trailing_garbage_and_huge_numbers_are_syntax_errors() {
        for bad in [&b"{"[..], b"", b"{} x", b"[1,]", b"{'a': 1}", b"NaN"] {
            assert!(matches!(parse(bad), Err(JsonError::Syntax(_))), "{bad:?}");
        }
        match parse(b"[1e400]") {
            Err(JsonError::Syntax(m)) => assert!(m.contains("number out of range"), "{m}"),
            other => panic!("{other:?}"),
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(matches!(parse(deep.as_bytes()), Err(JsonError::Syntax(_))));
        assert_eq!(parse(b" {\"a\": 1} \n"), Ok(json!({"a": 1})));
    }
}
