//! `Gcra`: a small keyed GCRA (generic cell rate algorithm) of our own, for check-ins only. It
//! differs from `governor` in two ways the check-in rules need: the rate may differ per call (a
//! hunt's own rule, capped by the server ceiling), and a cell can be given back (a check-in that
//! turns out to replay a stored idempotency key must not count, and that is only known after the
//! group-commit writer answered; `governor` cannot give a cell back).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::RateLimited;
use super::config::Rate;

/// Shards of the table (one mutex each), so that concurrent check-ins rarely wait on each other.
const SHARDS: usize = 16;

/// Per key, the theoretical arrival time (TAT) of the next cell: a key whose TAT is not in the
/// future has its whole burst available, exactly like a key never seen, so it can be forgotten.
pub struct Gcra<K> {
    name: &'static str,
    shards: Vec<Mutex<HashMap<K, Instant>>>,
    hasher: RandomState,
    max_keys_per_shard: usize,
    refused: AtomicU64,
}

impl<K> std::fmt::Debug for Gcra<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gcra")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A cell taken for `key` at `interval`: what `give_back` needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell<K> {
    key: K,
    interval: Duration,
}

impl<K: Hash + Eq + Copy> Gcra<K> {
    /// A limiter named `name` in metrics, remembering at most about `max_keys` keys.
    pub fn new(name: &'static str, max_keys: usize) -> Self {
        Self {
            name,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            max_keys_per_shard: max_keys.div_ceil(SHARDS).max(1),
            refused: AtomicU64::new(0),
        }
    }

    fn shard(&self, key: &K) -> MutexGuard<'_, HashMap<K, Instant>> {
        let i = (self.hasher.hash_one(key) as usize) % SHARDS;
        self.shards[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one cell for `key` at `rate`, or says how long to wait.
    pub fn take(&self, key: K, rate: Rate, now: Instant) -> Result<Cell<K>, RateLimited> {
        let interval = rate.interval;
        let tolerance = interval.saturating_mul(rate.burst.saturating_sub(1));
        let mut shard = self.shard(&key);
        let tat = match shard.get(&key) {
            Some(tat) => (*tat).max(now),
            None => {
                if shard.len() >= self.max_keys_per_shard {
                    shard.retain(|_, tat| *tat > now);
                    if shard.len() >= self.max_keys_per_shard {
                        drop(shard);
                        return Err(self.refuse(Duration::from_secs(1)));
                    }
                }
                now
            }
        };
        let ahead = tat - now;
        if ahead > tolerance {
            drop(shard);
            return Err(self.refuse(ahead - tolerance));
        }
        shard.insert(key, tat + interval);
        Ok(Cell { key, interval })
    }

    fn refuse(&self, retry_after: Duration) -> RateLimited {
        self.refused.fetch_add(1, Ordering::Relaxed);
        RateLimited {
            limiter: self.name,
            retry_after,
        }
    }

    /// Gives a taken cell back: the key's state is as if that request had never come (cells of
    /// one key commute, and a TAT in the past is the same as a full burst).
    pub fn give_back(&self, cell: Cell<K>) {
        let mut shard = self.shard(&cell.key);
        if let Some(tat) = shard.get_mut(&cell.key) {
            *tat = tat.checked_sub(cell.interval).unwrap_or(*tat);
        }
    }

    /// Forgets keys back at full burst.
    pub fn sweep(&self, now: Instant) {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            shard.retain(|_, tat| *tat > now);
            shard.shrink_to_fit();
        }
    }

    /// Keys remembered.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name in metrics.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Requests refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_5s_burst_3() -> Rate {
        Rate {
            interval: Duration::from_secs(5),
            burst: 3,
        }
    }

    #[test]
    fn a_key_gets_its_burst_then_one_cell_per_interval() {
        let g = Gcra::new("t", 100);
        let t0 = Instant::now();
        for _ in 0..3 {
            g.take(1, every_5s_burst_3(), t0).unwrap();
        }
        let refused = g.take(1, every_5s_burst_3(), t0).unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(5));
        assert!(
            g.take(1, every_5s_burst_3(), t0 + Duration::from_secs(5))
                .is_ok()
        );
        assert!(
            g.take(1, every_5s_burst_3(), t0 + Duration::from_secs(5))
                .is_err()
        );
        assert!(g.take(2, every_5s_burst_3(), t0).is_ok());
    }

    #[test]
    fn a_cell_given_back_is_as_if_never_taken() {
        let g = Gcra::new("t", 100);
        let t0 = Instant::now();
        for _ in 0..20 {
            let cell = g.take(1, every_5s_burst_3(), t0).unwrap();
            g.give_back(cell);
        }
        for _ in 0..3 {
            g.take(1, every_5s_burst_3(), t0).unwrap();
        }
        assert!(g.take(1, every_5s_burst_3(), t0).is_err());
    }

    #[test]
    fn keys_at_full_burst_are_forgotten_and_the_table_is_bounded() {
        let g = Gcra::new("t", SHARDS);
        let t0 = Instant::now();
        let mut refused = 0;
        for k in 0..1000 {
            refused += usize::from(g.take(k, every_5s_burst_3(), t0).is_err());
        }
        assert!(g.len() <= SHARDS, "{}", g.len());
        assert!(refused > 0);
        g.sweep(t0 + Duration::from_secs(5));
        assert!(g.is_empty());
    }
}
