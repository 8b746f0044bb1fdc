//! The two leaderboards of a hunt (teams, players), folded from `score_changed` and membership
//! events in offset order, so every node that read the same log has the same boards.

use std::collections::HashMap;

use serde_json::Value;

use crate::domain::event::{Event, EventKind};
use crate::domain::ids::{PlayerId, TeamId};
use crate::domain::leaderboard::{Board, Standing};

/// A rank move caused by one event (not stored; sent as `rank_changed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankMove {
    pub team: TeamId,
    pub rank: u32,
    pub previous_rank: u32,
}

/// Team and player boards with the names to show.
#[derive(Debug, Clone, Default)]
pub struct Boards {
    pub teams: Board<TeamId>,
    pub players: Board<PlayerId>,
    pub team_names: HashMap<TeamId, String>,
    pub player_names: HashMap<PlayerId, (String, TeamId)>,
}

fn uuid_at(data: &Value, key: &str) -> Option<uuid::Uuid> {
    data.get(key)
        .and_then(Value::as_str)
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
}

impl Boards {
    /// Applies one event; returns the rank move of the team whose score changed, if its rank moved.
    /// The teams between its old and new rank moved one place the other way (see [`Boards::shifted`]).
    pub fn apply(&mut self, e: &Event) -> Vec<RankMove> {
        match e.kind {
            EventKind::TeamCreated => {
                if let Some(team) = uuid_at(&e.data, "team_id").map(TeamId) {
                    let name = e
                        .data
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    self.team_names.insert(team, name);
                    if self.teams.get(team).is_none() {
                        self.teams.set(team, 0, e.offset);
                    }
                }
                Vec::new()
            }
            EventKind::MemberJoined => {
                if let (Some(team), Some(player)) =
                    (uuid_at(&e.data, "team_id"), uuid_at(&e.data, "player_id"))
                {
                    let handle = e
                        .data
                        .get("handle")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    self.player_names
                        .insert(PlayerId(player), (handle, TeamId(team)));
                    if self.players.get(PlayerId(player)).is_none() {
                        self.players.set(PlayerId(player), 0, e.offset);
                    }
                }
                Vec::new()
            }
            EventKind::ScoreChanged => {
                if let (Some(player), Some(score)) = (
                    uuid_at(&e.data, "player_id"),
                    e.data.get("player_score").and_then(Value::as_i64),
                ) {
                    self.players.set(PlayerId(player), score, e.offset);
                }
                let (Some(team), Some(score)) = (
                    uuid_at(&e.data, "team_id").map(TeamId),
                    e.data.get("score").and_then(Value::as_i64),
                ) else {
                    return Vec::new();
                };
                let before = self.teams.rank(team);
                self.teams.set(team, score, e.offset);
                let after = self.teams.rank(team).unwrap_or(1);
                match before {
                    Some(before) if before != after => vec![RankMove {
                        team,
                        rank: after,
                        previous_rank: before,
                    }],
                    _ => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }

    /// The rank move of `other` caused by `moved`: teams between the two ranks shift by one.
    pub fn shifted(&self, moved: &RankMove, other: TeamId) -> Option<RankMove> {
        let rank = self.teams.rank(other)?;
        let (lo, hi) = (
            moved.rank.min(moved.previous_rank),
            moved.rank.max(moved.previous_rank),
        );
        if other == moved.team || rank < lo || rank > hi {
            return None;
        }
        let previous_rank = if moved.rank < moved.previous_rank {
            rank - 1
        } else {
            rank + 1
        };
        Some(RankMove {
            team: other,
            rank,
            previous_rank,
        })
    }

    /// A page of the team board with names.
    pub fn team_page(&self, from: u32, limit: u32) -> Vec<(Standing<TeamId>, String)> {
        self.teams
            .page(from, limit)
            .into_iter()
            .map(|s| {
                (
                    s,
                    self.team_names.get(&s.member).cloned().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// A page of the player board with handles.
    pub fn player_page(&self, from: u32, limit: u32) -> Vec<(Standing<PlayerId>, String)> {
        self.players
            .page(from, limit)
            .into_iter()
            .map(|s| {
                (
                    s,
                    self.player_names
                        .get(&s.member)
                        .map(|(h, _)| h.clone())
                        .unwrap_or_default(),
                )
            })
            .collect()
    }
}
