//! Clues: how a clue becomes readable for a team.

use chrono::{DateTime, Utc};

use super::ids::TargetId;

/// How a clue is revealed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClueRule {
    /// To every team at this time.
    At(DateTime<Utc>),
    /// To a team when it finds this target.
    AfterTarget(TargetId),
    /// To a team that pays this many points.
    Cost(i32),
}
