//! What a check-in reads, kept in this node's memory: each hunt's gate (status, schedule, rules,
//! index version, revision) and each player's team. The check-in writer verifies a gate's revision
//! under a lock at commit, so a stale gate costs a re-judgement, never a wrong verdict.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::db;
use crate::db::checkins::{HuntGate, Member};
use crate::domain::ids::{HuntId, PlayerId};
use crate::error::AppError;

/// Gates of the hunts this node judged check-ins for. Entries are replaced when the writer finds
/// them stale; a hunt that became a draft again (never today) or vanished is simply not found.
#[derive(Debug, Default)]
pub struct HuntGates {
    entries: Mutex<HashMap<HuntId, Arc<HuntGate>>>,
}

impl HuntGates {
    /// The cached gate, or the stored one; `None` when the hunt does not exist or is a draft
    /// (players never see drafts).
    pub async fn get(
        &self,
        pool: &db::Pool,
        hunt: HuntId,
    ) -> Result<Option<Arc<HuntGate>>, AppError> {
        if let Some(hit) = self.lock().get(&hunt).cloned() {
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
        if let Some(hit) = self.lock().get(&hunt).cloned()
            && hit.revision > stale.revision
        {
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
        let Some(gate) = db::checkins::gate(&mut conn, hunt).await? else {
            self.lock().remove(&hunt);
            return Ok(None);
        };
        let gate = Arc::new(gate);
        let mut entries = self.lock();
        let slot = entries.entry(hunt).or_insert_with(|| gate.clone());
        if slot.revision < gate.revision {
            *slot = gate;
        }
        Ok(Some(slot.clone()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<HuntId, Arc<HuntGate>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Memberships this node has seen. Only members are cached: a player joins at most one team per
/// hunt and nobody leaves or renames today, so an entry never goes stale; a player not yet in a
/// team is read again on each check-in, so joining takes effect at once on every node. (A future
/// "leave team" or rename must evict here: noted in the module's callers.)
#[derive(Debug, Default)]
pub struct Memberships {
    entries: Mutex<HashMap<(HuntId, PlayerId), Arc<Member>>>,
}

impl Memberships {
    /// The player's team in the hunt, or `None` when the player has none.
    pub async fn get(
        &self,
        pool: &db::Pool,
        hunt: HuntId,
        player: PlayerId,
    ) -> Result<Option<Arc<Member>>, AppError> {
        if let Some(hit) = self.lock().get(&(hunt, player)).cloned() {
            return Ok(Some(hit));
        }
        let mut conn = pool.get().await?;
        let Some(member) = db::checkins::member(&mut conn, hunt, player).await? else {
            return Ok(None);
        };
        let member = Arc::new(member);
        self.lock().insert((hunt, player), member.clone());
        Ok(Some(member))
    }

    /// Number of cached memberships.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(HuntId, PlayerId), Arc<Member>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
