//! What a check-in reads, kept in this node's memory: each hunt's gate (status, schedule, rules,
//! index version, revision) and each player's team. The check-in writer verifies a gate's revision
//! under a lock at commit, so a stale gate costs a re-judgement, never a wrong verdict. Both are
//! bounded and emptied of idle and archived hunts by the node's sweep (`cache::node`): an evicted
//! entry is read again by the next check-in that needs it.

use std::sync::Arc;

use crate::cache::{Cache, CacheConfig};
use crate::db;
use crate::domain::hunt::HuntGate;
use crate::domain::ids::{HuntId, PlayerId, TeamId};
use crate::error::AppError;

/// Gates of the hunts this node judged check-ins for. Entries are replaced when the writer finds
/// them stale; a hunt that became a draft again (never today) or vanished is simply not found.
#[derive(Debug)]
pub struct HuntGates {
    entries: Cache<HuntId, Arc<HuntGate>>,
}

impl Default for HuntGates {
    fn default() -> Self {
        Self::new(&CacheConfig::default())
    }
}

impl HuntGates {
    pub fn new(config: &CacheConfig) -> Self {
        Self {
            entries: Cache::new("hunt_gates", config.max_hunts, config.idle),
        }
    }

    /// The cache itself (its gauge, its sweep).
    pub fn cache(&self) -> &Cache<HuntId, Arc<HuntGate>> {
        &self.entries
    }

    /// The cached gate, or the stored one; `None` when the hunt does not exist or is a draft
    /// (players never see drafts).
    pub async fn get(
        &self,
        pool: &db::Pool,
        hunt: HuntId,
    ) -> Result<Option<Arc<HuntGate>>, AppError> {
        if let Some(hit) = self.entries.get(&hunt) {
            return Ok(Some(hit));
        }
        self.reload(pool, hunt).await
    }

    /// Reads the gate again (after the writer found `stale` outdated) and caches it.
    pub async fn refresh(
        &self,
        pool: &db::Pool,
        hunt: HuntId,
        stale: &HuntGate,
    ) -> Result<Option<Arc<HuntGate>>, AppError> {
        if let Some(hit) = self.entries.get_if(&hunt, |g| g.revision > stale.revision) {
            return Ok(Some(hit));
        }
        self.reload(pool, hunt).await
    }

    async fn reload(
        &self,
        pool: &db::Pool,
        hunt: HuntId,
    ) -> Result<Option<Arc<HuntGate>>, AppError> {
        let mut conn = pool.get().await?;
        let Some(gate) = db::gates::gate(&mut conn, hunt).await? else {
            self.entries.remove(&hunt);
            return Ok(None);
        };
        drop(conn);
        let gate = Arc::new(gate);
        let (slot, _) = self.entries.upsert(hunt, |current| match current {
            Some(c) if c.revision >= gate.revision => c.clone(),
            _ => gate.clone(),
        });
        Ok(Some(slot))
    }
}

/// Memberships this node has seen. Only members are cached: a player joins at most one team per
/// hunt and nobody leaves or renames today, so an entry never goes stale while it is used; a
/// player not yet in a team is read again on each check-in, so joining takes effect at once on
/// every node. Entries go when idle, with their hunt's archive, or when the bound is reached.
///
/// A future "leave team" or rename changes what is cached here, on every node: it must bump the
/// hunt's revision in its transaction (so every node's writer finds the check-ins judged before
/// it stale) and call [`Memberships::evict`] on the node that serves it; the re-judging path of
/// `service::checkin` then evicts and reads the player's membership again with the fresh gate.
#[derive(Debug)]
pub struct Memberships {
    entries: Cache<(HuntId, PlayerId), TeamId>,
}

impl Default for Memberships {
    fn default() -> Self {
        Self::new(&CacheConfig::default())
    }
}

impl Memberships {
    pub fn new(config: &CacheConfig) -> Self {
        Self {
            entries: Cache::new("memberships", config.max_members, config.idle),
        }
    }

    /// The cache itself (its gauge, its sweep).
    pub fn cache(&self) -> &Cache<(HuntId, PlayerId), TeamId> {
        &self.entries
    }

    /// The player's team in the hunt, or `None` when the player has none.
    pub async fn get(
        &self,
        pool: &db::Pool,
        hunt: HuntId,
        player: PlayerId,
    ) -> Result<Option<TeamId>, AppError> {
        if let Some(hit) = self.entries.get(&(hunt, player)) {
            return Ok(Some(hit));
        }
        let mut conn = pool.get().await?;
        let Some(team) = db::teams::membership(&mut conn, hunt, player).await? else {
            return Ok(None);
        };
        self.entries.insert((hunt, player), team);
        Ok(Some(team))
    }

    /// Forgets a player's membership (read again on next use).
    pub fn evict(&self, hunt: HuntId, player: PlayerId) {
        self.entries.remove(&(hunt, player));
    }

    /// Number of cached memberships.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
