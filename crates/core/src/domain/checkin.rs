//! Check-in verdicts: the gate before any geometry (phase, status, accuracy) and the settlement after it.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::hunt::{HuntStatus, Phase, Rules, Schedule};
use super::ids::TargetId;
use super::position::{InvalidPosition, LatLon};

/// Largest `accuracy_m` accepted as input at all; above a hunt's `max_accuracy_m` it is `too_inaccurate`.
pub const ACCURACY_INPUT_LIMIT_M: f64 = 10_000.0;
/// How far ahead of the server clock `captured_at` may be.
pub const MAX_CLOCK_AHEAD: Duration = Duration::seconds(30);
/// How far behind the server clock `captured_at` may be.
pub const MAX_FIX_AGE: Duration = Duration::minutes(10);

/// The answer to a check-in. Explains which rule decided, never where a hidden target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Found,
    AlreadyFound,
    NothingHere,
    TooInaccurate,
    NotLive,
}

impl Verdict {
    /// The stable name used in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Found => "found",
            Self::AlreadyFound => "already_found",
            Self::NothingHere => "nothing_here",
            Self::TooInaccurate => "too_inaccurate",
            Self::NotLive => "not_live",
        }
    }
}

/// Why a hunt does not accept check-ins right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotLiveReason {
    NotPublished,
    Paused,
    NotStarted,
    Ended,
}

/// A fix that passed input validation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    pub position: LatLon,
    pub accuracy_m: f64,
    pub captured_at: DateTime<Utc>,
}

/// Why a fix was refused as input (400 `invalid_fix`).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum InvalidFix {
    #[error(transparent)]
    Position(#[from] InvalidPosition),
    #[error("accuracy_m must be a number in (0, 10000], got {0}")]
    Accuracy(f64),
    #[error("captured_at is more than 30 s ahead of the server clock")]
    FromTheFuture,
    #[error("captured_at is more than 10 min old")]
    TooOld,
}

impl Fix {
    /// Validates untrusted input against the server clock `now`.
    pub fn new(
        lat: f64,
        lon: f64,
        accuracy_m: f64,
        captured_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Self, InvalidFix> {
        let position = LatLon::new(lat, lon)?;
        if !(accuracy_m > 0.0 && accuracy_m <= ACCURACY_INPUT_LIMIT_M) {
            return Err(InvalidFix::Accuracy(accuracy_m));
        }
        if captured_at > now + MAX_CLOCK_AHEAD {
            return Err(InvalidFix::FromTheFuture);
        }
        if captured_at < now - MAX_FIX_AGE {
            return Err(InvalidFix::TooOld);
        }
        Ok(Self {
            position,
            accuracy_m,
            captured_at,
        })
    }
}

/// What a hunt's state says before any geometry is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Judge the fix against the targets.
    Open,
    /// Answer `not_live` with this reason.
    NotLive(NotLiveReason),
    /// Answer `too_inaccurate`, wherever the fix is (deciding per target would reveal a near target).
    TooInaccurate,
}

/// Decides, in DESIGN order, whether geometry runs at all: `not_live` first, then `too_inaccurate`.
pub fn gate(
    status: HuntStatus,
    schedule: &Schedule,
    rules: &Rules,
    fix: &Fix,
    received_at: DateTime<Utc>,
) -> Gate {
    match status {
        HuntStatus::Draft => return Gate::NotLive(NotLiveReason::NotPublished),
        HuntStatus::Paused => return Gate::NotLive(NotLiveReason::Paused),
        HuntStatus::Published => {}
    }
    match schedule.phase_at(received_at) {
        Phase::Upcoming | Phase::Teaser => return Gate::NotLive(NotLiveReason::NotStarted),
        Phase::Ended | Phase::Archived => return Gate::NotLive(NotLiveReason::Ended),
        Phase::Live => {}
    }
    if fix.accuracy_m > rules.max_accuracy_m {
        return Gate::TooInaccurate;
    }
    Gate::Open
}

/// A target the geometry admitted, with what the rules need to know about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Admitted {
    pub target: TargetId,
    pub prerequisites: Vec<TargetId>,
}

/// Keeps the admitted targets whose prerequisites the team has all found; a locked target
/// behaves as if it were not there (`nothing_here`), so a check-in never reveals it.
pub fn unlocked(admitted: Vec<Admitted>, team_finds: &HashSet<TargetId>) -> Vec<TargetId> {
    admitted
        .into_iter()
        .filter(|a| a.prerequisites.iter().all(|p| team_finds.contains(p)))
        .map(|a| a.target)
        .collect()
}

/// The verdict once the database said which of the `matched` targets this check-in found first.
pub fn claim_verdict(matched: &[TargetId], newly_found: &[TargetId]) -> Verdict {
    if !newly_found.is_empty() {
        Verdict::Found
    } else if !matched.is_empty() {
        Verdict::AlreadyFound
    } else {
        Verdict::NothingHere
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::geofence::AccuracyPolicy;

    fn live_schedule(now: DateTime<Utc>) -> Schedule {
        Schedule {
            teaser_at: now - Duration::hours(1),
            live_at: now - Duration::minutes(1),
            ends_at: now + Duration::hours(1),
            archive_at: None,
        }
    }

    fn fix(accuracy_m: f64, now: DateTime<Utc>) -> Fix {
        Fix::new(48.85, 2.35, accuracy_m, now, now).unwrap()
    }

    #[test]
    fn a_paused_hunt_is_not_live_before_accuracy_is_looked_at() {
        let now = Utc::now();
        let rules = Rules {
            accuracy_policy: AccuracyPolicy::Centre,
            max_accuracy_m: 50.0,
            team_max_size: 6,
            ..Rules::default()
        };
        let g = gate(
            HuntStatus::Paused,
            &live_schedule(now),
            &rules,
            &fix(500.0, now),
            now,
        );
        assert_eq!(g, Gate::NotLive(NotLiveReason::Paused));
    }

    #[test]
    fn an_inaccurate_fix_is_too_inaccurate_anywhere() {
        let now = Utc::now();
        let g = gate(
            HuntStatus::Published,
            &live_schedule(now),
            &Rules::default(),
            &fix(50.5, now),
            now,
        );
        assert_eq!(g, Gate::TooInaccurate);
        let g = gate(
            HuntStatus::Published,
            &live_schedule(now),
            &Rules::default(),
            &fix(50.0, now),
            now,
        );
        assert_eq!(g, Gate::Open);
    }

    #[test]
    fn fixes_from_the_future_or_too_old_are_invalid() {
        let now = Utc::now();
        assert_eq!(
            Fix::new(0.0, 0.0, 5.0, now + Duration::seconds(31), now),
            Err(InvalidFix::FromTheFuture)
        );
        assert_eq!(
            Fix::new(0.0, 0.0, 5.0, now - Duration::minutes(11), now),
            Err(InvalidFix::TooOld)
        );
        assert!(Fix::new(0.0, 0.0, 0.0, now, now).is_err());
        assert!(Fix::new(0.0, 0.0, 10_000.1, now, now).is_err());
        assert!(Fix::new(0.0, 0.0, f64::NAN, now, now).is_err());
    }

    #[test]
    fn a_target_behind_an_unmet_prerequisite_is_not_there() {
        let first = TargetId(uuid::Uuid::new_v4());
        let second = TargetId(uuid::Uuid::new_v4());
        let admitted = vec![Admitted {
            target: second,
            prerequisites: vec![first],
        }];
        assert!(unlocked(admitted.clone(), &HashSet::new()).is_empty());
        assert_eq!(unlocked(admitted, &HashSet::from([first])), vec![second]);
    }

    #[test]
    fn settlement_prefers_found_then_already_found() {
        let t = TargetId(uuid::Uuid::new_v4());
        assert_eq!(claim_verdict(&[t], &[t]), Verdict::Found);
        assert_eq!(claim_verdict(&[t], &[]), Verdict::AlreadyFound);
        assert_eq!(claim_verdict(&[], &[]), Verdict::NothingHere);
    }
}
