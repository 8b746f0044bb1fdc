//! A bounded map with idle eviction, the one shape of every cache of a node (hunt indexes and
//! gates, memberships, tokens, live feeds, VAPID headers): at most `max` entries, each stamped
//! when last used; a sweep drops the idle ones, and an insert into a full map first drops the
//! least recently used eighth. Depends on nothing but `std`; `node` sweeps the node's caches.

pub mod config;
pub mod node;

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

pub use config::CacheConfig;

struct Slot<V> {
    value: V,
    used: Instant,
}

/// Says whether an entry chosen for eviction may go (a feed with subscribers may not). It runs
/// under the cache's lock, so it may end the entry atomically with its removal.
pub type Evictable<K, V> = fn(&K, &V) -> bool;

/// A bounded map whose entries go when idle (see the module docs).
pub struct Cache<K, V> {
    name: &'static str,
    max: usize,
    idle: Duration,
    evictable: Evictable<K, V>,
    entries: Mutex<HashMap<K, Slot<V>>>,
}

impl<K, V> std::fmt::Debug for Cache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("name", &self.name)
            .field("max", &self.max)
            .field("idle", &self.idle)
            .finish_non_exhaustive()
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Cache<K, V> {
    /// A cache named `name` (its `cache` label on `/metrics`) of at most `max` entries (at least
    /// 1), whose entries go after `idle` without use.
    pub fn new(name: &'static str, max: usize, idle: Duration) -> Self {
        Self {
            name,
            max: max.max(1),
            idle,
            evictable: |_, _| true,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Only entries for which `evictable` says yes ever go (the bound then counts the others).
    pub fn with_evictable(mut self, evictable: Evictable<K, V>) -> Self {
        self.evictable = evictable;
        self
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, Slot<V>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry, marked as used now.
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let mut entries = self.lock();
        let slot = entries.get_mut(key)?;
        slot.used = Instant::now();
        Some(slot.value.clone())
    }

    /// The entry, not marked as used.
    pub fn peek<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.lock().get(key).map(|s| s.value.clone())
    }

    /// The entry if `keep` accepts it (marked as used), else none (and the entry stays).
    pub fn get_if<Q: Hash + Eq + ?Sized>(&self, key: &Q, keep: impl FnOnce(&V) -> bool) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let mut entries = self.lock();
        let slot = entries.get_mut(key).filter(|s| keep(&s.value))?;
        slot.used = Instant::now();
        Some(slot.value.clone())
    }

    /// Sets the entry to `make(current)` and returns it, with whatever made room for it.
    pub fn upsert(&self, key: K, make: impl FnOnce(Option<&V>) -> V) -> (V, Vec<V>) {
        let mut entries = self.lock();
        let now = Instant::now();
        let mut evicted = Vec::new();
        if let Some(slot) = entries.get_mut(&key) {
            slot.value = make(Some(&slot.value));
            slot.used = now;
            return (slot.value.clone(), evicted);
        }
        if entries.len() >= self.max {
            evicted = self.make_room(&mut entries);
        }
        let value = make(None);
        entries.insert(
            key,
            Slot {
                value: value.clone(),
                used: now,
            },
        );
        (value, evicted)
    }

    /// Inserts or replaces the entry; returns whatever made room for it.
    pub fn insert(&self, key: K, value: V) -> Vec<V> {
        self.upsert(key, |_| value).1
    }

    /// Removes the entry (whatever `evictable` says).
    pub fn remove<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.lock().remove(key).map(|s| s.value)
    }

    /// Removes every entry `drop` selects (whatever `evictable` says).
    pub fn remove_where(&self, mut drop: impl FnMut(&K, &V) -> bool) -> Vec<V> {
        let mut entries = self.lock();
        let keys: Vec<K> = entries
            .iter()
            .filter(|(k, s)| drop(k, &s.value))
            .map(|(k, _)| k.clone())
            .collect();
        keys.iter()
            .filter_map(|k| entries.remove(k).map(|s| s.value))
            .collect()
    }

    /// The keys of the entries `select` selects.
    pub fn keys_where(&self, mut select: impl FnMut(&K, &V) -> bool) -> Vec<K> {
        self.lock()
            .iter()
            .filter(|(k, s)| select(k, &s.value))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Every value (not marked as used).
    pub fn values(&self) -> Vec<V> {
        self.lock().values().map(|s| s.value.clone()).collect()
    }

    /// Drops entries unused for longer than the idle time at `now`, and those `stale` selects
    /// (an archived hunt's), when `evictable`; returns them.
    pub fn sweep(&self, now: Instant, mut stale: impl FnMut(&K, &V) -> bool) -> Vec<V> {
        let mut entries = self.lock();
        let evictable = self.evictable;
        let idle = self.idle;
        let keys: Vec<K> = entries
            .iter()
            .filter(|(k, s)| {
                (now.saturating_duration_since(s.used) >= idle || stale(k, &s.value))
                    && evictable(k, &s.value)
            })
            .map(|(k, _)| k.clone())
            .collect();
        keys.iter()
            .filter_map(|k| entries.remove(k).map(|s| s.value))
            .collect()
    }

    /// Drops the least recently used eighth of the bound (at least one entry), among those that
    /// may go. Sorting costs O(n log n), amortised over the n/8 inserts that fill the room again.
    fn make_room(&self, entries: &mut HashMap<K, Slot<V>>) -> Vec<V> {
        let mut by_age: Vec<(Instant, K)> =
            entries.iter().map(|(k, s)| (s.used, k.clone())).collect();
        let want = (self.max / 8).max(1);
        by_age.sort_unstable_by_key(|(used, _)| *used);
        let mut evicted = Vec::new();
        for (_, k) in by_age {
            if evicted.len() >= want {
                break;
            }
            if entries
                .get(&k)
                .is_some_and(|s| (self.evictable)(&k, &s.value))
            {
                if let Some(s) = entries.remove(&k) {
                    evicted.push(s.value);
                }
            }
        }
        evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_cache_drops_its_least_recently_used_and_a_sweep_its_idle() {
        let c: Cache<u32, u32> = Cache::new("t", 16, Duration::from_secs(60));
        for k in 0..16 {
            c.insert(k, k);
        }
        // 0 and 1 were used again: the oldest are now 2 and 3.
        assert_eq!(c.get(&0), Some(0));
        assert_eq!(c.get(&1), Some(1));
        let evicted = c.insert(16, 16);
        assert_eq!(evicted, [2, 3], "an eighth of 16, oldest first");
        assert_eq!(c.len(), 15);
        assert_eq!(c.get(&2), None);
        assert!(c.sweep(Instant::now(), |_, _| false).is_empty());
        let mut later = c.sweep(Instant::now() + Duration::from_secs(61), |_, _| false);
        later.sort_unstable();
        assert_eq!(later.len(), 15);
        assert!(c.is_empty());
    }

    #[test]
    fn stale_entries_go_at_the_sweep_and_pinned_ones_never() {
        let c: Cache<u32, u32> =
            Cache::new("t", 4, Duration::from_secs(60)).with_evictable(|_, v| *v != 0);
        for k in 0..4 {
            c.insert(k, k);
        }
        assert_eq!(c.sweep(Instant::now(), |k, _| *k == 3), [3]);
        // 0 is pinned: idle or not, it stays; a full cache evicts the next oldest instead.
        c.insert(3, 3);
        assert_eq!(c.insert(4, 4), [1]);
        let mut idle = c.sweep(Instant::now() + Duration::from_secs(61), |_, _| false);
        idle.sort_unstable();
        assert_eq!(idle, [2, 3, 4]);
        assert_eq!(c.get(&0), Some(0));
    }

    #[test]
    fn upsert_sees_the_current_value() {
        let c: Cache<u32, u32> = Cache::new("t", 4, Duration::from_secs(60));
        assert_eq!(c.upsert(1, |v| v.map_or(10, |v| v + 1)).0, 10);
        assert_eq!(c.upsert(1, |v| v.map_or(10, |v| v + 1)).0, 11);
        assert_eq!(c.get_if(&1, |v| *v > 20), None);
        assert_eq!(c.len(), 1);
    }
}
