//! Hunts: status set by staff, phase derived from the schedule and the clock, rules, and their validation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::geofence::AccuracyPolicy;

/// Set by staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HuntStatus {
    Draft,
    Published,
    Paused,
}

impl HuntStatus {
    /// The stable name used in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Paused => "paused",
        }
    }

    /// Parses the stable name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "draft" => Some(Self::Draft),
            "published" => Some(Self::Published),
            "paused" => Some(Self::Paused),
            _ => None,
        }
    }
}

/// Derived from the schedule and the server clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Before `teaser_at`: not visible to players yet.
    Upcoming,
    Teaser,
    Live,
    Ended,
    Archived,
}

impl Phase {
    /// The stable name used in JSON, events and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upcoming => "upcoming",
            Self::Teaser => "teaser",
            Self::Live => "live",
            Self::Ended => "ended",
            Self::Archived => "archived",
        }
    }

    /// Parses the stable name.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Upcoming,
            Self::Teaser,
            Self::Live,
            Self::Ended,
            Self::Archived,
        ]
        .into_iter()
        .find(|p| p.as_str() == name)
    }
}

/// A hunt as check-ins are judged against it, at one revision of its row (what a node keeps in
/// memory per hunt: `service::checkin_cache`).
#[derive(Debug, Clone, PartialEq)]
pub struct HuntGate {
    pub revision: i64,
    pub status: HuntStatus,
    pub schedule: Schedule,
    pub rules: Rules,
    pub targets_version: i64,
}

/// When a hunt shows, runs and closes. Invariant once published: `teaser_at <= live_at < ends_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub teaser_at: DateTime<Utc>,
    pub live_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub archive_at: Option<DateTime<Utc>>,
}

/// Why a schedule cannot be published.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScheduleError {
    #[error("teaser_at must not be after live_at")]
    TeaserAfterLive,
    #[error("live_at must be before ends_at")]
    LiveNotBeforeEnd,
    #[error("ends_at must be in the future")]
    EndsInThePast,
    #[error("archive_at must not be before ends_at")]
    ArchiveBeforeEnd,
}

impl ScheduleError {
    /// The field at fault, as a JSON pointer into a hunt.
    pub fn field(&self) -> &'static str {
        match self {
            Self::TeaserAfterLive => "/teaser_at",
            Self::LiveNotBeforeEnd | Self::EndsInThePast => "/ends_at",
            Self::ArchiveBeforeEnd => "/archive_at",
        }
    }
}

impl Schedule {
    /// The phase at `now`.
    pub fn phase_at(&self, now: DateTime<Utc>) -> Phase {
        if self.archive_at.is_some_and(|at| now >= at) {
            Phase::Archived
        } else if now >= self.ends_at {
            Phase::Ended
        } else if now >= self.live_at {
            Phase::Live
        } else if now >= self.teaser_at {
            Phase::Teaser
        } else {
            Phase::Upcoming
        }
    }

    /// Checks the order of the dates; a past `live_at` is fine (the hunt is live at once).
    pub fn validate_for_publish(&self, now: DateTime<Utc>) -> Result<(), ScheduleError> {
        self.validate_order()?;
        if self.ends_at <= now {
            return Err(ScheduleError::EndsInThePast);
        }
        Ok(())
    }

    /// Checks the order of the dates alone.
    pub fn validate_order(&self) -> Result<(), ScheduleError> {
        if self.teaser_at > self.live_at {
            return Err(ScheduleError::TeaserAfterLive);
        }
        if self.live_at >= self.ends_at {
            return Err(ScheduleError::LiveNotBeforeEnd);
        }
        if self.archive_at.is_some_and(|at| at < self.ends_at) {
            return Err(ScheduleError::ArchiveBeforeEnd);
        }
        Ok(())
    }
}

/// Largest `max_accuracy_m` a hunt may set.
pub const MAX_ACCURACY_LIMIT_M: f64 = 1000.0;
/// Largest team size a hunt may set.
pub const TEAM_SIZE_LIMIT: i32 = 100;

/// Per-hunt rules. Unknown rules are refused (a misspelt rule must not silently keep its default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// How `accuracy_m` is used at a boundary.
    #[serde(default)]
    pub accuracy_policy: AccuracyPolicy,
    /// Fixes less accurate than this (metres) get `too_inaccurate`. In (0, 1000].
    #[serde(default = "default_max_accuracy_m")]
    pub max_accuracy_m: f64,
    /// Largest team, captain included. In [1, 100].
    #[serde(default = "default_team_max_size")]
    pub team_max_size: i32,
    /// Check-in pace per player: after `checkin_burst` check-ins at once, one every this many
    /// seconds. In [0, 3600]; 0: no pace of the hunt's own (burst included), only the server's
    /// ceiling. The server's ceiling (`NENUFAR_RATE_CHECKINS_PER_PLAYER`) applies too: the
    /// stricter of the two wins.
    #[serde(default = "default_checkin_interval_s")]
    pub checkin_interval_s: f64,
    /// Check-ins a player may send at once before the pace applies. In [1, 1000].
    #[serde(default = "default_checkin_burst")]
    pub checkin_burst: i32,
}

/// Longest check-in interval a hunt may set, seconds.
pub const CHECKIN_INTERVAL_LIMIT_S: f64 = 3600.0;
/// Largest check-in burst a hunt may set.
pub const CHECKIN_BURST_LIMIT: i32 = 1000;

fn default_checkin_interval_s() -> f64 {
    // An honest player walks between targets: one check-in every 5 s sustained is never met,
    // while a sweep of a grid of spoofed fixes is slowed to a walk.
    5.0
}

fn default_checkin_burst() -> i32 {
    5
}

fn default_max_accuracy_m() -> f64 {
    50.0
}

fn default_team_max_size() -> i32 {
    6
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            accuracy_policy: AccuracyPolicy::default(),
            max_accuracy_m: default_max_accuracy_m(),
            team_max_size: default_team_max_size(),
            checkin_interval_s: default_checkin_interval_s(),
            checkin_burst: default_checkin_burst(),
        }
    }
}

/// Why rules were refused.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RulesError {
    #[error("max_accuracy_m must be in (0, 1000], got {0}")]
    MaxAccuracy(f64),
    #[error("team_max_size must be in [1, 100], got {0}")]
    TeamSize(i32),
    #[error("checkin_interval_s must be in [0, 3600], got {0}")]
    CheckinInterval(f64),
    #[error("checkin_burst must be in [1, 1000], got {0}")]
    CheckinBurst(i32),
}

impl RulesError {
    /// The rule at fault, as a JSON pointer into a hunt.
    pub fn field(&self) -> &'static str {
        match self {
            Self::MaxAccuracy(_) => "/rules/max_accuracy_m",
            Self::TeamSize(_) => "/rules/team_max_size",
            Self::CheckinInterval(_) => "/rules/checkin_interval_s",
            Self::CheckinBurst(_) => "/rules/checkin_burst",
        }
    }
}

impl Rules {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), RulesError> {
        if !(self.max_accuracy_m > 0.0 && self.max_accuracy_m <= MAX_ACCURACY_LIMIT_M) {
            return Err(RulesError::MaxAccuracy(self.max_accuracy_m));
        }
        if !(1..=TEAM_SIZE_LIMIT).contains(&self.team_max_size) {
            return Err(RulesError::TeamSize(self.team_max_size));
        }
        if !(0.0..=CHECKIN_INTERVAL_LIMIT_S).contains(&self.checkin_interval_s) {
            return Err(RulesError::CheckinInterval(self.checkin_interval_s));
        }
        if !(1..=CHECKIN_BURST_LIMIT).contains(&self.checkin_burst) {
            return Err(RulesError::CheckinBurst(self.checkin_burst));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn schedule(now: DateTime<Utc>) -> Schedule {
        Schedule {
            teaser_at: now - Duration::hours(2),
            live_at: now - Duration::hours(1),
            ends_at: now + Duration::hours(1),
            archive_at: Some(now + Duration::hours(3)),
        }
    }

    #[test]
    fn the_phase_follows_the_schedule() {
        let now = Utc::now();
        let s = schedule(now);
        assert_eq!(s.phase_at(now - Duration::hours(3)), Phase::Upcoming);
        assert_eq!(s.phase_at(now - Duration::minutes(90)), Phase::Teaser);
        assert_eq!(s.phase_at(now), Phase::Live);
        assert_eq!(s.phase_at(now + Duration::hours(2)), Phase::Ended);
        assert_eq!(s.phase_at(now + Duration::hours(3)), Phase::Archived);
    }

    #[test]
    fn a_past_live_at_publishes_but_a_past_end_does_not() {
        let now = Utc::now();
        assert_eq!(schedule(now).validate_for_publish(now), Ok(()));
        let mut s = schedule(now);
        s.ends_at = now - Duration::seconds(1);
        s.archive_at = None;
        s.live_at = now - Duration::minutes(30);
        assert_eq!(
            s.validate_for_publish(now),
            Err(ScheduleError::EndsInThePast)
        );
    }

    #[test]
    fn rules_out_of_range_are_refused() {
        let mut r = Rules::default();
        assert!(r.validate().is_ok());
        r.max_accuracy_m = 1000.5;
        assert!(r.validate().is_err());
        r.max_accuracy_m = f64::NAN;
        assert!(r.validate().is_err());
        r = Rules {
            team_max_size: 0,
            ..Rules::default()
        };
        assert!(r.validate().is_err());
        for bad in [-1.0, 3600.5, f64::NAN] {
            let r = Rules {
                checkin_interval_s: bad,
                ..Rules::default()
            };
            assert!(r.validate().is_err(), "{bad}");
        }
        for bad in [0, 1001] {
            let r = Rules {
                checkin_burst: bad,
                ..Rules::default()
            };
            assert!(r.validate().is_err(), "{bad}");
        }
        let r = Rules {
            checkin_interval_s: 0.0,
            ..Rules::default()
        };
        assert!(r.validate().is_ok());
    }

    #[test]
    fn rules_sent_without_the_checkin_pace_get_its_defaults() {
        let r: Rules = serde_json::from_str(r#"{"max_accuracy_m": 40}"#).unwrap();
        assert_eq!((r.checkin_interval_s, r.checkin_burst), (5.0, 5));
    }
}
