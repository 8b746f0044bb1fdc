//! The text rule every string of every request passes, whatever the field: no control character
//! (C0, DEL, C1), no line or paragraph separator, no noncharacter, at most [`MAX_CHARS`]
//! characters. Fields a request type declares multi-line (clue texts, broadcasts, a target's
//! metadata) may hold `\n` and `\t`, and a CRLF there is read as LF; everywhere else a string is
//! one line. Each field's own rule (a team name's 40 characters, its look-alike checks) comes
//! after this, in the service.

use serde_json::Value;

use super::json::escape;
use super::{FieldError, Location};

/// Longest string accepted in any field, characters (fields document tighter limits).
pub const MAX_CHARS: usize = 4096;
/// Longest object key, characters.
pub const MAX_KEY_CHARS: usize = 256;

/// Checks every key and string of `value`, normalising CRLF to LF in multi-line fields.
pub fn scan(value: &mut Value, location: Location, multiline: &[&str]) -> Result<(), FieldError> {
    let mut path = Vec::new();
    walk(value, &mut path, location, multiline)
}

fn walk(
    value: &mut Value,
    path: &mut Vec<String>,
    location: Location,
    multiline: &[&str],
) -> Result<(), FieldError> {
    let here = |path: &[String]| {
        path.iter()
            .map(|s| format!("/{}", escape(s)))
            .collect::<String>()
    };
    match value {
        Value::String(s) => {
            if let Some(fixed) = check(s, is_multiline(path, multiline))
                .map_err(|reason| FieldError::new(location, here(path), reason))?
            {
                *s = fixed;
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(i.to_string());
                walk(item, path, location, multiline)?;
                path.pop();
            }
        }
        Value::Object(members) => {
            for (key, member) in members.iter_mut() {
                path.push(key.clone());
                check_key(key).map_err(|reason| FieldError::new(location, here(path), reason))?;
                walk(member, path, location, multiline)?;
                path.pop();
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// Whether the string at `path` may span lines.
fn is_multiline(path: &[String], patterns: &[&str]) -> bool {
    patterns.iter().any(|pattern| {
        let segments: Vec<&str> = pattern.split('/').skip(1).collect();
        segments.len() <= path.len()
            && segments
                .iter()
                .zip(path)
                .all(|(p, s)| *p == "*" || escape(s) == *p)
    })
}

/// Checks an object key: one line, at most [`MAX_KEY_CHARS`].
pub fn check_key(key: &str) -> Result<(), String> {
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(format!("a key longer than {MAX_KEY_CHARS} characters"));
    }
    check(key, false).map(drop)
}

/// Checks one string; `Ok(Some(s))` is the string with CRLF read as LF.
pub fn check(s: &str, multiline: bool) -> Result<Option<String>, String> {
    let mut chars = 0usize;
    let mut crlf = false;
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        chars += 1;
        match c {
            '\n' | '\t' if multiline => {}
            '\r' if multiline && it.peek() == Some(&'\n') => crlf = true,
            '\n' | '\r' => return Err("a line break in a one-line field".into()),
            '\u{2028}' | '\u{2029}' => {
                return Err(format!(
                    "a line or paragraph separator (U+{:04X}): use \\n where a field allows line breaks",
                    u32::from(c)
                ));
            }
            c if c.is_control() => {
                return Err(format!("a control character (U+{:04X})", u32::from(c)));
            }
            c if is_noncharacter(c) => {
                return Err(format!("a noncharacter (U+{:04X})", u32::from(c)));
            }
            _ => {}
        }
    }
    if chars > MAX_CHARS {
        return Err(format!("longer than {MAX_CHARS} characters"));
    }
    Ok(crlf.then(|| s.replace("\r\n", "\n")))
}

/// Unicode noncharacters: U+FDD0..U+FDEF and the last two code points of every plane.
fn is_noncharacter(c: char) -> bool {
    let n = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&n) || n & 0xFFFE == 0xFFFE
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn control_characters_are_refused_wherever_they_are() {
        for bad in [
            "a\u{0}b",
            "\u{1b}[31m",
            "x\u{7f}",
            "\u{85}",
            "\u{9f}",
            "a\u{2028}",
            "\u{fffe}",
            "\u{10ffff}",
        ] {
            assert!(check(bad, false).is_err(), "{bad:?}");
            assert!(check(bad, true).is_err(), "{bad:?} multi-line");
        }
        for fine in ["Les Lynx", "Équipe été", "東京", "🦊", ""] {
            assert_eq!(check(fine, false), Ok(None), "{fine:?}");
        }
    }

    #[test]
    fn line_breaks_only_in_multi_line_fields_and_crlf_becomes_lf() {
        assert!(check("a\nb", false).is_err());
        assert!(check("a\tb", false).is_err());
        assert_eq!(check("a\n\tb", true), Ok(None));
        assert_eq!(check("a\r\nb\r\n", true), Ok(Some("a\nb\n".into())));
        assert!(check("a\rb", true).is_err());
        assert!(check("a\r", true).is_err());
    }

    #[test]
    fn length_is_bounded_in_characters() {
        assert!(check(&"é".repeat(MAX_CHARS), false).is_ok());
        assert!(check(&"é".repeat(MAX_CHARS + 1), false).is_err());
        assert!(check_key(&"k".repeat(MAX_KEY_CHARS + 1)).is_err());
    }

    #[test]
    fn the_scan_names_the_field_and_follows_the_multi_line_patterns() {
        let patterns = ["/text", "/features/*/properties"];
        let mut ok =
            json!({"text": "a\r\nb", "features": [{"properties": {"note": {"x": "1\n2"}}}]});
        scan(&mut ok, Location::Body, &patterns).unwrap();
        assert_eq!(ok["text"], json!("a\nb"));
        let mut bad = json!({"features": [{"geometry": {"type": "Po\nint"}}]});
        let e = scan(&mut bad, Location::Body, &patterns).unwrap_err();
        assert_eq!(e.field, "/features/0/geometry/type");
        let mut key = json!({"rules": {"a\u{0}": 1}});
        let e = scan(&mut key, Location::Body, &[]).unwrap_err();
        assert_eq!(e.field, "/rules/a\u{0}");
    }
}
