//! Events: what happened in a hunt (one typed variant per kind), who may see it ([`Audience`]),
//! whether it may be pushed, and the JSON a client receives. No IO.
//!
//! An event is decided here and stored as decided: its kind (`events.kind`), its data as
//! [`EventData::stored`] writes it (`events.data`: ids, never display names other than the one
//! an event defines) and its audience (`events.team_id`, `events.player_id`, `events.staff_only`;
//! `db::events::VISIBLE` is the SQL of [`Audience::admits`], tested against it). Handles and team
//! names are resolved when an event is serialised for a client ([`Event::wire`]) from the names
//! the node keeps current ([`Names`]: the live feed's boards), so a rename shows everywhere,
//! replays included. `team_created` and `member_joined` are the events that define a name: they
//! store it.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::hunt::Phase;
use super::ids::{ClueId, HuntId, PlayerId, TargetId, TeamId};

/// Kinds of stored events. `rank_changed` is derived on each node and never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    TargetFound,
    ScoreChanged,
    ClueRevealed,
    Broadcast,
    PhaseChanged,
    StatusChanged,
    TeamCreated,
    MemberJoined,
    LeaderboardFrozen,
    LeaderboardUnfrozen,
}

impl EventKind {
    pub const ALL: [Self; 10] = [
        Self::TargetFound,
        Self::ScoreChanged,
        Self::ClueRevealed,
        Self::Broadcast,
        Self::PhaseChanged,
        Self::StatusChanged,
        Self::TeamCreated,
        Self::MemberJoined,
        Self::LeaderboardFrozen,
        Self::LeaderboardUnfrozen,
    ];

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
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// How a clue was revealed (the `rule` of `clue_revealed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevealRule {
    /// At its time.
    At,
    /// When the team found its target.
    AfterTarget,
    /// Bought with points.
    Cost,
}

/// A game master paused or resumed the hunt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusChange {
    Paused,
    Resumed,
}

/// A teammate found a target. Team audience; never a position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetFound {
    pub team_id: TeamId,
    pub target_id: TargetId,
    /// The target's name as staff set it.
    pub name: String,
    pub points: i32,
    /// The finder (their handle is resolved when sent).
    pub player_id: PlayerId,
}

/// A team's new score (its name resolved when sent). For a find, also the finder and their score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreChanged {
    pub team_id: TeamId,
    pub score: i64,
    pub delta: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub player_id: Option<PlayerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub player_score: Option<i64>,
}

/// A clue became readable for a team (the team is the audience).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClueRevealed {
    pub clue_id: ClueId,
    pub text: String,
    pub media_url: Option<String>,
    pub rule: RevealRule,
    /// The points the team paid, for a `cost` clue.
    pub cost: Option<i32>,
}

/// What happened: one variant per stored kind, with its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum EventData {
    TargetFound(TargetFound),
    ScoreChanged(ScoreChanged),
    ClueRevealed(ClueRevealed),
    Broadcast {
        message: String,
        team_id: Option<TeamId>,
    },
    PhaseChanged {
        phase: Phase,
        previous: Option<Phase>,
    },
    StatusChanged {
        status: StatusChange,
    },
    /// Defines the team's name (a later rename event would redefine it).
    TeamCreated {
        team_id: TeamId,
        name: String,
    },
    /// Defines the player's handle as the hunt shows it.
    MemberJoined {
        team_id: TeamId,
        player_id: PlayerId,
        handle: String,
    },
    LeaderboardFrozen {},
    LeaderboardUnfrozen {},
}

/// A stored event's data that does not read as its kind (a bug or a hand-edited row).
#[derive(Debug, thiserror::Error)]
#[error("event data does not read as `{kind}`: {source}")]
pub struct BadEventData {
    pub kind: String,
    pub source: serde_json::Error,
}

impl EventData {
    pub fn kind(&self) -> EventKind {
        match self {
            Self::TargetFound(_) => EventKind::TargetFound,
            Self::ScoreChanged(_) => EventKind::ScoreChanged,
            Self::ClueRevealed(_) => EventKind::ClueRevealed,
            Self::Broadcast { .. } => EventKind::Broadcast,
            Self::PhaseChanged { .. } => EventKind::PhaseChanged,
            Self::StatusChanged { .. } => EventKind::StatusChanged,
            Self::TeamCreated { .. } => EventKind::TeamCreated,
            Self::MemberJoined { .. } => EventKind::MemberJoined,
            Self::LeaderboardFrozen {} => EventKind::LeaderboardFrozen,
            Self::LeaderboardUnfrozen {} => EventKind::LeaderboardUnfrozen,
        }
    }

    /// The JSON stored in `events.data`.
    pub fn stored(&self) -> Value {
        match serde_json::to_value(self) {
            Ok(Value::Object(mut m)) => m.remove("data").unwrap_or_else(|| json!({})),
            // Plain structs of strings, ids and integers always serialise to an object.
            _ => json!({}),
        }
    }

    /// Reads a stored event's data. Members this version does not know (names that events
    /// stored before names were resolved at sending) are ignored.
    pub fn from_stored(kind: &str, data: Value) -> Result<Self, BadEventData> {
        serde_json::from_value(json!({"kind": kind, "data": data})).map_err(|source| BadEventData {
            kind: kind.to_owned(),
            source,
        })
    }

    /// Whether a player's device may be notified of it (`push_jobs`): finds, clues, broadcasts,
    /// the hunt going live or ending, and scores that went up (someone may have been overtaken).
    pub fn pushable(&self) -> bool {
        match self {
            Self::TargetFound(_) | Self::ClueRevealed(_) | Self::Broadcast { .. } => true,
            Self::PhaseChanged { phase, .. } => matches!(phase, Phase::Live | Phase::Ended),
            Self::ScoreChanged(s) => s.delta > 0,
            _ => false,
        }
    }

    /// The team whose score, membership or find this is about, if any.
    pub fn team(&self) -> Option<TeamId> {
        match self {
            Self::TargetFound(f) => Some(f.team_id),
            Self::ScoreChanged(s) => Some(s.team_id),
            Self::Broadcast { team_id, .. } => *team_id,
            Self::TeamCreated { team_id, .. } | Self::MemberJoined { team_id, .. } => {
                Some(*team_id)
            }
            _ => None,
        }
    }

    /// The team and player whose names this event shows when sent.
    pub fn named(&self) -> (Option<TeamId>, Option<PlayerId>) {
        match self {
            Self::TargetFound(f) => (None, Some(f.player_id)),
            Self::ScoreChanged(s) => (Some(s.team_id), s.player_id),
            Self::TeamCreated { team_id, .. } => (Some(*team_id), None),
            Self::MemberJoined { player_id, .. } => (None, Some(*player_id)),
            _ => (None, None),
        }
    }

    /// The data a client receives: the stored data with the current names (`handle` of the
    /// finder or member, `team_name` of a score, `name` of a created team).
    fn wire_data(&self, names: &dyn Names) -> Value {
        let mut data = match self.stored() {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let mut put = |key: &str, value: String| {
            data.insert(key.to_owned(), Value::String(value));
        };
        match self {
            Self::TargetFound(f) => put("handle", names.handle(f.player_id)),
            Self::ScoreChanged(s) => {
                put("team_name", names.team(s.team_id));
                if let Some(p) = s.player_id {
                    put("handle", names.handle(p));
                }
            }
            Self::TeamCreated { team_id, name } => {
                put("name", names.team_or(*team_id, name));
            }
            Self::MemberJoined {
                player_id, handle, ..
            } => put("handle", names.handle_or(*player_id, handle)),
            _ => {}
        }
        Value::Object(data)
    }
}

/// The names a node shows now: team names and player handles of a hunt.
pub trait Names {
    /// The team's current name; `None` if unknown here.
    fn team_name(&self, team: TeamId) -> Option<&str>;
    /// The player's current handle in the hunt; `None` if unknown here.
    fn player_handle(&self, player: PlayerId) -> Option<&str>;
}

impl dyn Names + '_ {
    fn team(&self, team: TeamId) -> String {
        self.team_name(team).unwrap_or_default().to_owned()
    }
    fn team_or(&self, team: TeamId, defined: &str) -> String {
        self.team_name(team).unwrap_or(defined).to_owned()
    }
    fn handle(&self, player: PlayerId) -> String {
        self.player_handle(player).unwrap_or_default().to_owned()
    }
    fn handle_or(&self, player: PlayerId, defined: &str) -> String {
        self.player_handle(player).unwrap_or(defined).to_owned()
    }
}

/// Names looked up for a few events (the push dispatcher reads them from the tables per batch).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NameMap {
    pub teams: HashMap<TeamId, String>,
    pub players: HashMap<PlayerId, String>,
}

impl Names for NameMap {
    fn team_name(&self, team: TeamId) -> Option<&str> {
        self.teams.get(&team).map(String::as_str)
    }
    fn player_handle(&self, player: PlayerId) -> Option<&str> {
        self.players.get(&player).map(String::as_str)
    }
}

/// No names known: events show the names they define, others empty names (tests, tools).
pub struct NoNames;

impl Names for NoNames {
    fn team_name(&self, _: TeamId) -> Option<&str> {
        None
    }
    fn player_handle(&self, _: PlayerId) -> Option<&str> {
        None
    }
}

/// Who may see an event. Decided when the event is made (see [`NewEvent`]'s constructors) and
/// stored with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Every player of the hunt (and staff).
    Hunt,
    /// The team's members (and staff).
    Team(TeamId),
    /// One player (and staff).
    Player(PlayerId),
    /// Staff of the hunt's organisation only.
    Staff,
}

/// Someone who receives events: a player (in a team or not yet) or staff of the hunt's brand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Player {
        player: PlayerId,
        team: Option<TeamId>,
    },
    Staff,
}

impl Audience {
    /// Whether `viewer` may see an event of this audience. The one rule: the writer decides the
    /// audience, feeds, backlogs, boards and push deliver by it, `db::events::VISIBLE` is its SQL.
    pub fn admits(self, viewer: &Viewer) -> bool {
        match (self, viewer) {
            (_, Viewer::Staff) | (Self::Hunt, _) => true,
            (Self::Team(t), Viewer::Player { team, .. }) => *team == Some(t),
            (Self::Player(p), Viewer::Player { player, .. }) => *player == p,
            (Self::Staff, Viewer::Player { .. }) => false,
        }
    }

    /// The stored columns: (`team_id`, `player_id`, `staff_only`).
    pub fn columns(self) -> (Option<TeamId>, Option<PlayerId>, bool) {
        match self {
            Self::Hunt => (None, None, false),
            Self::Team(t) => (Some(t), None, false),
            Self::Player(p) => (None, Some(p), false),
            Self::Staff => (None, None, true),
        }
    }

    /// The audience the stored columns say (the inverse of [`Audience::columns`]).
    pub fn from_columns(team: Option<TeamId>, player: Option<PlayerId>, staff_only: bool) -> Self {
        match (team, player, staff_only) {
            (_, _, true) => Self::Staff,
            (Some(t), _, false) => Self::Team(t),
            (None, Some(p), false) => Self::Player(p),
            (None, None, false) => Self::Hunt,
        }
    }
}

/// An event to append: what happened and who may see it. Built by the constructors below, which
/// hold the audience rules.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub audience: Audience,
    pub data: EventData,
}

impl NewEvent {
    /// A find: the finder's team only (others learn the score, never what was found).
    pub fn target_found(f: TargetFound) -> Self {
        Self {
            audience: Audience::Team(f.team_id),
            data: EventData::TargetFound(f),
        }
    }

    /// A new score: the whole hunt, or only the team itself while the leaderboard is frozen.
    pub fn score_changed(s: ScoreChanged, frozen: bool) -> Self {
        Self {
            audience: if frozen {
                Audience::Team(s.team_id)
            } else {
                Audience::Hunt
            },
            data: EventData::ScoreChanged(s),
        }
    }

    /// A clue for `team`: that team only.
    pub fn clue_revealed(team: TeamId, c: ClueRevealed) -> Self {
        Self {
            audience: Audience::Team(team),
            data: EventData::ClueRevealed(c),
        }
    }

    /// A game master's message to the hunt or to one team.
    pub fn broadcast(message: String, team: Option<TeamId>) -> Self {
        Self {
            audience: team.map_or(Audience::Hunt, Audience::Team),
            data: EventData::Broadcast {
                message,
                team_id: team,
            },
        }
    }

    /// The schedule moved the hunt: everyone.
    pub fn phase_changed(phase: Phase, previous: Option<Phase>) -> Self {
        Self::to_hunt(EventData::PhaseChanged { phase, previous })
    }

    /// Paused or resumed: everyone.
    pub fn status_changed(status: StatusChange) -> Self {
        Self::to_hunt(EventData::StatusChanged { status })
    }

    /// A new team (it enters the leaderboard at 0): everyone.
    pub fn team_created(team: TeamId, name: String) -> Self {
        Self::to_hunt(EventData::TeamCreated {
            team_id: team,
            name,
        })
    }

    /// A player joined a team: that team (the player board learns the handle from it).
    pub fn member_joined(team: TeamId, player: PlayerId, handle: String) -> Self {
        Self {
            audience: Audience::Team(team),
            data: EventData::MemberJoined {
                team_id: team,
                player_id: player,
                handle,
            },
        }
    }

    /// The leaderboard froze (`true`) or was revealed again: everyone.
    pub fn leaderboard(frozen: bool) -> Self {
        Self::to_hunt(if frozen {
            EventData::LeaderboardFrozen {}
        } else {
            EventData::LeaderboardUnfrozen {}
        })
    }

    fn to_hunt(data: EventData) -> Self {
        Self {
            audience: Audience::Hunt,
            data,
        }
    }
}

/// A numbered event as read back from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub offset: i64,
    pub hunt: HuntId,
    pub audience: Audience,
    pub data: EventData,
}

impl Event {
    pub fn kind(&self) -> EventKind {
        self.data.kind()
    }

    /// The WebSocket frame a client receives, with the names `names` holds now.
    pub fn wire(&self, names: &dyn Names) -> String {
        json!({"type": "event", "hunt_id": self.hunt, "offset": self.offset,
               "kind": self.kind().as_str(), "data": self.data.wire_data(names)})
        .to_string()
    }
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
