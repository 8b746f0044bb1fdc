//! Which players hold a live WebSocket on this node, kept in PostgreSQL (`push_presence`) so that
//! every node's push trigger skips them: a row per player and node, written when the player's
//! first connection opens, refreshed every `HEARTBEAT`, deleted when the last one closes. A node
//! that dies stops refreshing and its rows stop counting after the trigger's 45 s window.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Once, PoisonError};
use std::time::Duration;

use crate::db;
use crate::domain::ids::PlayerId;
use crate::error::AppError;
use crate::service;

/// How often a node refreshes its rows (well inside the trigger's 45 s window).
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// This node's connected players.
pub struct Presence {
    node: uuid::Uuid,
    pool: db::Pool,
    /// Open connections per player.
    players: Mutex<HashMap<PlayerId, usize>>,
    started: Once,
}

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presence")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl Presence {
    pub fn new(pool: db::Pool) -> Self {
        Self {
            node: uuid::Uuid::new_v4(),
            pool,
            players: Mutex::new(HashMap::new()),
            started: Once::new(),
        }
    }

    /// A connection of `player` opened; their presence is written before this returns (a push
    /// decided right after must see it), unless the database fails (logged: the player may then
    /// get a push as well as the live event).
    pub async fn opened(self: &Arc<Self>, player: PlayerId) {
        self.started.call_once(|| {
            tokio::spawn(self.clone().heartbeat());
        });
        let first = {
            let mut players = self.players.lock().unwrap_or_else(PoisonError::into_inner);
            let n = players.entry(player).or_default();
            *n += 1;
            *n == 1
        };
        if first {
            if let Err(e) = self.write(&[player.0], &[]).await {
                tracing::warn!(error = ?e, "recording live presence failed");
            }
        }
    }

    /// A connection of `player` closed; the last one deletes their row.
    pub async fn closed(&self, player: PlayerId) {
        let last = {
            let mut players = self.players.lock().unwrap_or_else(PoisonError::into_inner);
            match players.get_mut(&player) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                Some(_) => {
                    players.remove(&player);
                    true
                }
                None => false,
            }
        };
        if last {
            if let Err(e) = self.write(&[], &[player.0]).await {
                tracing::warn!(error = ?e, "clearing live presence failed");
            }
        }
    }

    async fn write(&self, present: &[uuid::Uuid], gone: &[uuid::Uuid]) -> Result<(), AppError> {
        service::live::mark_presence(&self.pool, self.node, present, gone).await
    }

    /// Refreshes every present player's row, and deletes this node's stale ones.
    async fn heartbeat(self: Arc<Self>) {
        let mut tick = tokio::time::interval(HEARTBEAT);
        loop {
            tick.tick().await;
            let players: Vec<uuid::Uuid> = self
                .players
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .keys()
                .map(|p| p.0)
                .collect();
            let refreshed = service::live::refresh_presence(&self.pool, self.node, &players);
            if let Err(e) = refreshed.await {
                tracing::warn!(error = ?e, "refreshing live presence failed");
            }
        }
    }
}
