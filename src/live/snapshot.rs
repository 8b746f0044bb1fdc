//! A feed's state as stored in `leaderboard_snapshots`: both boards with their names, the frozen
//! copy and its offset, and whether the hunt was archived. A feed starts from the latest snapshot
//! plus the events after it; every node folds the same log into the same state, so it does not
//! matter which node wrote it.

use serde::{Deserialize, Serialize};

use super::boards::Boards;
use crate::db;
use crate::domain::ids::{HuntId, PlayerId, TeamId};
use crate::error::AppError;

/// The layout of `state` written by this version; other layouts are ignored (the log is folded).
pub const FORMAT: i32 = 1;

/// Both boards in a canonical order (best first; names by id), so two equal boards have equal
/// states whatever order their events were folded in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardsState {
    /// (team, score, offset at which it was reached), best first.
    pub teams: Vec<(uuid::Uuid, i64, i64)>,
    /// (player, score, offset at which it was reached), best first.
    pub players: Vec<(uuid::Uuid, i64, i64)>,
    /// (team, name), by team id.
    pub team_names: Vec<(uuid::Uuid, String)>,
    /// (player, handle, team), by player id.
    pub player_names: Vec<(uuid::Uuid, String, uuid::Uuid)>,
}

impl BoardsState {
    pub fn of(b: &Boards) -> Self {
        let teams = b
            .teams
            .page(0, u32::try_from(b.teams.len()).unwrap_or(u32::MAX))
            .into_iter()
            .map(|s| (s.member.0, s.score, s.reached_at))
            .collect();
        let players = b
            .players
            .page(0, u32::try_from(b.players.len()).unwrap_or(u32::MAX))
            .into_iter()
            .map(|s| (s.member.0, s.score, s.reached_at))
            .collect();
        let mut team_names: Vec<_> = b.team_names.iter().map(|(t, n)| (t.0, n.clone())).collect();
        team_names.sort_unstable();
        let mut player_names: Vec<_> = b
            .player_names
            .iter()
            .map(|(p, (h, t))| (p.0, h.clone(), t.0))
            .collect();
        player_names.sort_unstable();
        Self {
            teams,
            players,
            team_names,
            player_names,
        }
    }

    pub fn into_boards(self) -> Boards {
        let mut b = Boards::default();
        for (team, score, at) in self.teams {
            b.teams.set(TeamId(team), score, at);
        }
        for (player, score, at) in self.players {
            b.players.set(PlayerId(player), score, at);
        }
        b.team_names = self
            .team_names
            .into_iter()
            .map(|(t, n)| (TeamId(t), n))
            .collect();
        b.player_names = self
            .player_names
            .into_iter()
            .map(|(p, h, t)| (PlayerId(p), (h, TeamId(t))))
            .collect();
        b
    }
}

/// What a feed keeps besides its recent frames and subscribers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedState {
    pub boards: BoardsState,
    /// The boards players see while frozen, and the offset they include.
    pub frozen: Option<(BoardsState, i64)>,
    /// A `phase_changed` to `archived` was applied.
    pub archived: bool,
}

/// The hunt's latest snapshot: the offset it includes and the state. A snapshot that no longer
/// reads is ignored (logged): the feed folds the whole log instead.
pub async fn load(pool: &db::Pool, hunt: HuntId) -> Result<Option<(i64, FeedState)>, AppError> {
    let stored = crate::service::live::snapshot(pool, hunt, FORMAT).await?;
    let Some((through, text)) = stored else {
        return Ok(None);
    };
    match serde_json::from_str(&text) {
        Ok(state) => Ok(Some((through, state))),
        Err(e) => {
            tracing::warn!(hunt.id = %hunt, error = %e, "a leaderboard snapshot does not read; folding the log");
            Ok(None)
        }
    }
}

/// Stores the state through `through` (unless a newer snapshot is stored); whether it was written.
pub async fn store(
    pool: &db::Pool,
    hunt: HuntId,
    through: i64,
    state: &FeedState,
) -> Result<bool, AppError> {
    let text = serde_json::to_string(state).map_err(|e| AppError::Internal(e.into()))?;
    crate::service::live::store_snapshot(pool, hunt, through, FORMAT, &text).await
}
