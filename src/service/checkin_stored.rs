//! The stored answer of a check-in (`checkins.response`), versioned apart from the API's response
//! type: a key replayed months later answers from what was stored then, whatever the API grew
//! since. Every format ever written is read here; only the current one is written.
//!
//! Formats:
//! - 1 (until 2026-12): the API response itself, no version member.
//! - 2: the same members and `"v": 2`. A later format that adds members bumps `v` and says here
//!   what an older row answers for them.
//!
//! `db::checkin_writes::store` sets the top-level `team_score` of a written row that matched no
//! target in SQL; every format keeps it there.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::checkin::{CheckinResponse, VerdictTarget};
use crate::domain::checkin::{NotLiveReason, Verdict};
use crate::domain::geofence::AccuracyPolicy;
use crate::domain::ids::TargetId;

/// The format written now.
pub const CURRENT: u32 = 2;

/// A stored answer that no known format reads (a bug or a hand-edited row).
#[derive(Debug, Error)]
pub enum StoredError {
    #[error("unknown stored response format {0}")]
    UnknownFormat(u64),
    #[error("stored response (format {format}) does not parse: {source}")]
    Malformed {
        format: u32,
        source: serde_json::Error,
    },
}

/// A target as stored: id, name and points as the answer named them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredTarget {
    id: TargetId,
    name: String,
    points: i32,
}

/// Format 2.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct V2 {
    v: u32,
    verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<NotLiveReason>,
    targets: Vec<StoredTarget>,
    accuracy_m: f64,
    policy: AccuracyPolicy,
    team_score: i64,
}

/// Format 1: the API response as it was, without a version.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct V1 {
    verdict: Verdict,
    #[serde(default)]
    reason: Option<NotLiveReason>,
    targets: Vec<StoredTarget>,
    accuracy_m: f64,
    policy: AccuracyPolicy,
    team_score: i64,
}

fn targets_in(targets: Vec<StoredTarget>) -> Vec<VerdictTarget> {
    targets
        .into_iter()
        .map(|t| VerdictTarget {
            id: t.id,
            name: t.name,
            points: t.points,
        })
        .collect()
}

/// The JSON to store for an answer, in the current format.
pub fn encode(r: &CheckinResponse) -> Result<serde_json::Value, serde_json::Error> {
    let v2 = V2 {
        v: CURRENT,
        verdict: r.verdict,
        reason: r.reason,
        targets: r
            .targets
            .iter()
            .map(|t| StoredTarget {
                id: t.id,
                name: t.name.clone(),
                points: t.points,
            })
            .collect(),
        accuracy_m: r.accuracy_m,
        policy: r.policy,
        team_score: r.team_score,
    };
    serde_json::to_value(v2)
}

/// The answer a stored row holds, whatever format wrote it.
pub fn decode(stored: serde_json::Value) -> Result<CheckinResponse, StoredError> {
    match stored.get("v").map(serde_json::Value::as_u64) {
        None => {
            let v1: V1 = serde_json::from_value(stored)
                .map_err(|source| StoredError::Malformed { format: 1, source })?;
            Ok(CheckinResponse {
                verdict: v1.verdict,
                reason: v1.reason,
                targets: targets_in(v1.targets),
                accuracy_m: v1.accuracy_m,
                policy: v1.policy,
                team_score: v1.team_score,
            })
        }
        Some(Some(2)) => {
            let v2: V2 = serde_json::from_value(stored)
                .map_err(|source| StoredError::Malformed { format: 2, source })?;
            Ok(CheckinResponse {
                verdict: v2.verdict,
                reason: v2.reason,
                targets: targets_in(v2.targets),
                accuracy_m: v2.accuracy_m,
                policy: v2.policy,
                team_score: v2.team_score,
            })
        }
        Some(other) => Err(StoredError::UnknownFormat(other.unwrap_or(u64::MAX))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn found() -> CheckinResponse {
        CheckinResponse {
            verdict: Verdict::Found,
            reason: None,
            targets: vec![VerdictTarget {
                id: TargetId(uuid::Uuid::from_u128(7)),
                name: "Fontaine".into(),
                points: 5,
            }],
            accuracy_m: 12.5,
            policy: AccuracyPolicy::Centre,
            team_score: 15,
        }
    }

    /// The exact bytes each format stores: a change here is a new format, not an edit.
    #[test]
    fn the_current_format_is_format_2_member_for_member() {
        assert_eq!(
            encode(&found()).unwrap(),
            json!({"v": 2, "verdict": "found", "targets": [{"id": "00000000-0000-0000-0000-000000000007",
                   "name": "Fontaine", "points": 5}], "accuracy_m": 12.5, "policy": "centre", "team_score": 15})
        );
        let not_live = CheckinResponse {
            verdict: Verdict::NotLive,
            reason: Some(NotLiveReason::Paused),
            targets: vec![],
            ..found()
        };
        assert_eq!(encode(&not_live).unwrap()["reason"], "paused");
        assert_eq!(decode(encode(&not_live).unwrap()).unwrap(), not_live);
    }

    #[test]
    fn a_format_1_row_reads_as_the_answer_it_was() {
        let v1 = json!({"verdict": "found", "targets": [{"id": "00000000-0000-0000-0000-000000000007",
                        "name": "Fontaine", "points": 5}], "accuracy_m": 12.5, "policy": "centre", "team_score": 15});
        assert_eq!(decode(v1).unwrap(), found());
        let not_live = json!({"verdict": "not_live", "reason": "ended", "targets": [], "accuracy_m": 3.0,
                              "policy": "strict", "team_score": 0});
        let r = decode(not_live).unwrap();
        assert_eq!(
            (r.verdict, r.reason, r.policy),
            (
                Verdict::NotLive,
                Some(NotLiveReason::Ended),
                AccuracyPolicy::Strict
            )
        );
    }

    #[test]
    fn rows_no_format_reads_are_errors_not_answers() {
        assert!(matches!(
            decode(json!({"v": 9, "verdict": "found"})),
            Err(StoredError::UnknownFormat(9))
        ));
        assert!(matches!(
            decode(json!({"v": "2"})),
            Err(StoredError::UnknownFormat(_))
        ));
        assert!(matches!(
            decode(json!({"v": 2, "verdict": "found"})),
            Err(StoredError::Malformed { format: 2, .. })
        ));
        assert!(matches!(
            decode(serde_json::Value::Null),
            Err(StoredError::Malformed { format: 1, .. })
        ));
    }
}
