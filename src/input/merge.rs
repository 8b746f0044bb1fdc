//! JSON Merge Patch (RFC 7396): a PATCH body is applied to the resource's current JSON shape at
//! every depth, and the result is then read strictly like a creation, so a field (or rule) added
//! later follows by itself.

use serde_json::Value;

use super::json::escape;

/// What a `null` member of a patch does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nulls {
    /// RFC 7396 as written: the member is removed (free-form documents such as target metadata).
    Remove,
    /// The member becomes an explicit `null`, for documents read strictly afterwards: a field
    /// that may be empty is cleared, any other refuses null and names itself, instead of
    /// silently going back to its default.
    Keep,
}

/// Applies `patch` to `target`. Members at the `atomic` pointers (GeoJSON geometries, which are
/// values, not records) are replaced whole rather than merged.
pub fn merge_patch(target: &mut Value, patch: &Value, nulls: Nulls, atomic: &[&str]) {
    merge_at(target, patch, nulls, atomic, &mut String::new());
}

fn merge_at(target: &mut Value, patch: &Value, nulls: Nulls, atomic: &[&str], at: &mut String) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if atomic.contains(&at.as_str()) {
        *target = patch.clone();
        return;
    }
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    let Value::Object(object) = target else {
        return;
    };
    for (key, value) in members {
        let len = at.len();
        at.push('/');
        at.push_str(&escape(key));
        match (value, nulls) {
            (Value::Null, Nulls::Remove) => {
                object.remove(key);
            }
            (Value::Null, Nulls::Keep) => {
                object.insert(key.clone(), Value::Null);
            }
            (value, _) => {
                let slot = object.entry(key.clone()).or_insert(Value::Null);
                merge_at(slot, value, nulls, atomic, at);
            }
        }
        at.truncate(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(target: Value, patch: Value, nulls: Nulls) -> Value {
        let mut t = target;
        merge_patch(&mut t, &patch, nulls, &["/area"]);
        t
    }

    #[test]
    fn the_examples_of_rfc_7396_appendix_a_hold_with_nulls_removed() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (target, patch, want) in cases {
            assert_eq!(
                merged(target.clone(), patch.clone(), Nulls::Remove),
                want,
                "{target} + {patch}"
            );
        }
    }

    #[test]
    fn kept_nulls_stay_for_the_strict_reader_and_atomic_members_are_replaced_whole() {
        let current = json!({"title": "t", "archive_at": "2026-01-01T00:00:00Z",
            "rules": {"policy": "centre", "max": 50}, "area": {"type": "MultiPolygon", "coordinates": [], "bbox": [0]}});
        let patch = json!({"archive_at": null, "rules": {"max": 40},
            "area": {"type": "Polygon", "coordinates": [[]]}});
        assert_eq!(
            merged(current, patch, Nulls::Keep),
            json!({"title": "t", "archive_at": null, "rules": {"policy": "centre", "max": 40},
                "area": {"type": "Polygon", "coordinates": [[]]}})
        );
    }
}
