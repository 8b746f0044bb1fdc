//! The two leaderboards of a hunt (teams, players), folded from `score_changed` and membership
//! events in offset order, so every node that read the same log has the same boards.

use std::collections::HashMap;

use crate::domain::event::{Event, EventData, Names};
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

impl Boards {
    /// Applies one event; returns the rank move of the team whose score changed, if its rank moved.
    /// The teams between its old and new rank moved one place the other way (see [`Boards::shifted`]).
    pub fn apply(&mut self, e: &Event) -> Vec<RankMove> {
        match &e.data {
            EventData::TeamCreated { team_id, name } => {
                self.team_names.insert(*team_id, name.clone());
                if self.teams.get(*team_id).is_none() {
                    self.teams.set(*team_id, 0, e.offset);
                }
                Vec::new()
            }
            EventData::MemberJoined {
                team_id,
                player_id,
                handle,
            } => {
                self.player_names
                    .insert(*player_id, (handle.clone(), *team_id));
                if self.players.get(*player_id).is_none() {
                    self.players.set(*player_id, 0, e.offset);
                }
                Vec::new()
            }
            EventData::ScoreChanged(s) => {
                if let (Some(player), Some(score)) = (s.player_id, s.player_score) {
                    self.players.set(player, score, e.offset);
                }
                let team = s.team_id;
                let before = self.teams.rank(team);
                self.teams.set(team, s.score, e.offset);
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

/// The boards hold the names of the hunt as its log defines them now: events are sent with them.
impl Names for Boards {
    fn team_name(&self, team: TeamId) -> Option<&str> {
        self.team_names.get(&team).map(String::as_str)
    }

    fn player_handle(&self, player: PlayerId) -> Option<&str> {
        self.player_names.get(&player).map(|(h, _)| h.as_str())
    }
}
