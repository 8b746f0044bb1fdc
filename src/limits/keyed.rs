//! `KeyedLimiter`: a `governor` keyed rate limiter with a cap on the keys it remembers, a sweep
//! that forgets keys back at full burst, and counters for `/metrics`.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::RateLimited;
use super::config::Rate;

/// A rate per key (an address, a token). Memory is bounded: at most `max_keys` keys; when full,
/// keys back at full burst are forgotten, and if that frees nothing the check is refused (the
/// node is then under a flood of distinct keys, and refusing keeps the table bounded).
pub struct KeyedLimiter<K: Hash + Eq + Clone> {
    name: &'static str,
    limiter: DefaultKeyedRateLimiter<K>,
    clock: DefaultClock,
    max_keys: usize,
    refused: AtomicU64,
}

impl<K: Hash + Eq + Clone> std::fmt::Debug for KeyedLimiter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedLimiter")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// governor's quota for a rate.
fn quota(rate: Rate) -> Quota {
    let burst = NonZeroU32::new(rate.burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(rate.interval.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// A limiter named `name` in metrics.
    pub fn new(name: &'static str, rate: Rate, max_keys: usize) -> Self {
        Self {
            name,
            limiter: RateLimiter::keyed(quota(rate)),
            clock: DefaultClock::default(),
            max_keys: max_keys.max(1),
            refused: AtomicU64::new(0),
        }
    }

    /// Takes one cell for `key`, or says how long to wait.
    pub fn check(&self, key: &K) -> Result<(), RateLimited> {
        if self.limiter.len() >= self.max_keys {
            self.limiter.retain_recent();
            if self.limiter.len() >= self.max_keys {
                return Err(self.refuse(Duration::from_secs(1)));
            }
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| self.refuse(not_until.wait_time_from(self.clock.now())))
    }

    fn refuse(&self, retry_after: Duration) -> RateLimited {
        self.refused.fetch_add(1, Ordering::Relaxed);
        RateLimited {
            limiter: self.name,
            retry_after,
        }
    }

    /// Forgets keys back at full burst (they behave exactly like unknown keys).
    pub fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Keys remembered.
    pub fn len(&self) -> usize {
        self.limiter.len()
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

    #[test]
    fn a_key_gets_its_burst_then_waits_and_keys_are_independent() {
        let l = KeyedLimiter::new("t", Rate::per_second(1.0 / 60.0, 3), 10);
        for _ in 0..3 {
            assert!(l.check(&1).is_ok());
        }
        let refused = l.check(&1).unwrap_err();
        assert!(refused.retry_after > Duration::from_secs(50));
        assert!(l.check(&2).is_ok());
        assert_eq!(l.refused(), 1);
    }

    #[test]
    fn a_full_table_refuses_new_keys_instead_of_growing() {
        let l = KeyedLimiter::new("t", Rate::per_second(1.0 / 60.0, 3), 2);
        assert!(l.check(&1).is_ok());
        assert!(l.check(&2).is_ok());
        assert!(l.check(&3).is_err());
        assert_eq!(l.len(), 2);
    }
}
