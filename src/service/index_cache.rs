//! This node's cache of hunt indexes, keyed by `targets_version`: a check-in that reads a newer
//! version than the cached one rebuilds the index first, so every node sees every target change.
//! Bounded, and emptied of idle and archived hunts by the node's sweep (`cache::node`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::cache::{Cache, CacheConfig};
use crate::db;
use crate::db::schema::hunts;
use crate::db::targets::TargetRecord;
use crate::domain::ids::HuntId;
use crate::error::AppError;
use crate::spatial::index::{HuntIndex, IndexedTarget};

/// An index and the `targets_version` it was built from.
#[derive(Debug)]
pub struct CachedIndex {
    pub version: i64,
    pub index: HuntIndex,
}

/// Hunt indexes of this node, bounded and evicted when idle or archived (rebuilt on next use).
/// Each hunt has its own build lock while it builds, so one slow build never blocks check-ins of
/// other hunts and concurrent check-ins of one hunt build it once.
#[derive(Debug)]
pub struct IndexCache {
    entries: Cache<HuntId, Arc<CachedIndex>>,
    build_locks: Mutex<HashMap<HuntId, Arc<tokio::sync::Mutex<()>>>>,
    /// Indexes built from PostgreSQL (`nenufar_index_rebuilds_total`).
    builds: AtomicU64,
}

impl Default for IndexCache {
    fn default() -> Self {
        Self::new(&CacheConfig::default())
    }
}

impl IndexCache {
    pub fn new(config: &CacheConfig) -> Self {
        Self {
            entries: Cache::new("hunt_indexes", config.max_hunts, config.idle),
            build_locks: Mutex::default(),
            builds: AtomicU64::new(0),
        }
    }

    /// Number of hunts with an index in memory.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Indexes this cache built from PostgreSQL (first builds and rebuilds after a target change
    /// or an eviction).
    pub fn builds(&self) -> u64 {
        AtomicU64::load(&self.builds, Ordering::Relaxed)
    }

    /// Whether no index is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cache itself (its gauge, its sweep).
    pub fn cache(&self) -> &Cache<HuntId, Arc<CachedIndex>> {
        &self.entries
    }

    fn cached(&self, hunt: HuntId, min_version: i64) -> Option<Arc<CachedIndex>> {
        self.entries.get_if(&hunt, |c| c.version >= min_version)
    }

    /// The hunt's index at `min_version` or newer, built from PostgreSQL when missing or older.
    pub async fn get(
        &self,
        pool: &db::Pool,
        hunt: HuntId,
        min_version: i64,
    ) -> Result<Arc<CachedIndex>, AppError> {
        if let Some(hit) = self.cached(hunt, min_version) {
            return Ok(hit);
        }
        let lock = self
            .build_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(hunt)
            .or_default()
            .clone();
        let built = async {
            let _guard = lock.lock().await;
            if let Some(hit) = self.cached(hunt, min_version) {
                return Ok(hit);
            }
            let mut conn = pool.get().await?;
            let built = Arc::new(build(&mut conn, hunt).await?);
            drop(conn);
            self.builds.fetch_add(1, Ordering::Relaxed);
            let (slot, _) = self.entries.upsert(hunt, |current| match current {
                Some(c) if c.version >= built.version => c.clone(),
                _ => built.clone(),
            });
            Ok(slot)
        }
        .await;
        // The lock goes with its last user (clones are only made under the map's lock).
        let mut locks = self
            .build_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if Arc::strong_count(&lock) == 2 {
            locks.remove(&hunt);
        }
        built
    }
}

/// Loads the targets and their version from one snapshot and builds the index.
pub async fn build(conn: &mut AsyncPgConnection, hunt: HuntId) -> Result<CachedIndex, AppError> {
    let (version, records) = conn
        .build_transaction()
        .read_only()
        .repeatable_read()
        .run::<_, diesel::result::Error, _>(async move |conn| {
            let version: i64 = hunts::table
                .find(hunt.0)
                .select(hunts::targets_version)
                .first(conn)
                .await?;
            let records = db::targets::load_all(conn, hunt).await?;
            Ok((version, records))
        })
        .await?;
    let index = tokio::task::spawn_blocking(move || HuntIndex::build(indexed_targets(records)))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(CachedIndex { version, index })
}

/// Stored targets as the index holds them. Stored shapes were validated on import (as simple
/// features since issue 9; a hunt published before that keeps its shapes and scores them as stored,
/// even-odd, rather than losing targets mid-game: publishing checks them, see README); one that no
/// longer builds at all is skipped, with a warning, rather than failing the whole hunt.
pub fn indexed_targets(records: Vec<TargetRecord>) -> Vec<IndexedTarget> {
    records
        .into_iter()
        .filter_map(|r| {
            let shape = r
                .shape
                .to_shape()
                .inspect_err(|e| {
                    tracing::warn!(target.id = %r.id, reason = %e.reason, "stored target shape skipped")
                })
                .ok()?;
            Some(IndexedTarget {
                id: r.id,
                name: r.name,
                points: r.points,
                prerequisites: r.prerequisites,
                shape,
            })
        })
        .collect()
}
