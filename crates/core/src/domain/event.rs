//! Events: what happened in a hunt, who may see it, and the JSON a client receives. No IO.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ids::{HuntId, TeamId};

/// Kinds of stored events. `rank_changed` is derived on each node and never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Team audience: a teammate found a target (name, points; never its position).
    TargetFound,
    /// Hunt audience (team audience while the leaderboard is frozen): a team's new score.
    ScoreChanged,
    /// Team audience: a clue became readable for the team.
    ClueRevealed,
    /// Hunt or team audience: a game master's message.
    Broadcast,
    /// Hunt audience: the schedule moved the hunt to a new phase.
    PhaseChanged,
    /// Hunt audience: paused or resumed.
    StatusChanged,
    /// Hunt audience: a team was created (it enters the leaderboard at 0).
    TeamCreated,
    /// Team audience: a player joined the team.
    MemberJoined,
    /// Hunt audience: the leaderboard is frozen / revealed again.
    LeaderboardFrozen,
    LeaderboardUnfrozen,
}

impl EventKind {
    /// The stable name used in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TargetFound => "target_found",
            Self::ScoreChanged => "score_changed",
            Self::ClueRevealed => "clue_revealed",
            Self::Broadcast => "broadcast",
            Self::PhaseChanged => "phase_changed",
            Self::StatusChanged => "status_changed",
            Self::TeamCreated => "team_created",
            Self::MemberJoined => "member_joined",
            Self::LeaderboardFrozen => "leaderboard_frozen",
            Self::LeaderboardUnfrozen => "leaderboard_unfrozen",
        }
    }

    /// Parses the stable name.
    pub fn parse(name: &str) -> Option<Self> {
        serde_json::from_value(Value::String(name.to_owned())).ok()
    }
}

/// An event to append: its kind, audience (`None`: every player of the hunt) and data.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: EventKind,
    pub team: Option<TeamId>,
    pub data: Value,
}

/// A numbered event as read back from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub offset: i64,
    pub hunt: HuntId,
    pub kind: EventKind,
    pub team: Option<TeamId>,
    pub data: Value,
}

impl Event {
    /// Whether a subscriber in `team` (or in no team) may receive this event.
    pub fn visible_to(&self, team: Option<TeamId>) -> bool {
        self.team.is_none() || self.team == team
    }

    /// The WebSocket frame a client receives.
    pub fn frame(&self) -> String {
        json!({"type": "event", "hunt_id": self.hunt, "offset": self.offset, "kind": self.kind.as_str(), "data": self.data})
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_team_event_is_visible_to_that_team_only() {
        let (a, b) = (TeamId::new_random(), TeamId::new_random());
        let e = Event {
            offset: 3,
            hunt: HuntId::new_random(),
            kind: EventKind::ClueRevealed,
            team: Some(a),
            data: json!({}),
        };
        assert!(e.visible_to(Some(a)));
        assert!(!e.visible_to(Some(b)));
        assert!(!e.visible_to(None));
        let all = Event { team: None, ..e };
        assert!(all.visible_to(Some(b)) && all.visible_to(None));
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in [
            EventKind::TargetFound,
            EventKind::ScoreChanged,
            EventKind::LeaderboardUnfrozen,
        ] {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        let frame: Value = serde_json::from_str(
            &Event {
                offset: 7,
                hunt: HuntId::new_random(),
                kind: EventKind::Broadcast,
                team: None,
                data: json!({"message": "hi"}),
            }
            .frame(),
        )
        .unwrap();
        assert_eq!(
            (
                frame["type"].as_str(),
                frame["offset"].as_i64(),
                frame["kind"].as_str()
            ),
            (Some("event"), Some(7), Some("broadcast"))
        );
    }
}
