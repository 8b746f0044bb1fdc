//! This node's short-lived cache of verified bearer tokens: saves a database round trip on every
//! authenticated request (the check-in path above all). Entries live at most `TTL` and never past
//! the token's own expiry, so a token deleted in PostgreSQL stops working within `TTL` on every node.
//! Bounded (`NENUFAR_CACHE_MAX_TOKENS`): a full cache drops its least recently used eighth, and the
//! node's sweep drops expired entries.

use chrono::{DateTime, Duration, Utc};

use crate::cache::{Cache, CacheConfig};
use crate::domain::account::Principal;

/// How long a verified token is trusted without asking PostgreSQL again.
pub const TTL: Duration = Duration::seconds(60);

/// A verified principal and until when it is trusted.
type Entry = (Principal, DateTime<Utc>);

/// Token hash -> entry.
#[derive(Debug)]
pub struct TokenCache {
    entries: Cache<Vec<u8>, Entry>,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self::new(&CacheConfig::default())
    }
}

impl TokenCache {
    pub fn new(config: &CacheConfig) -> Self {
        // Entries expire by `until` (at most `TTL`); an unused one goes sooner if the idle time is.
        let ttl = TTL.to_std().unwrap_or_default();
        Self {
            entries: Cache::new("tokens", config.max_tokens, config.idle.min(ttl)),
        }
    }

    /// The cache itself (its gauge).
    pub fn cache(&self) -> &Cache<Vec<u8>, Entry> {
        &self.entries
    }

    /// The principal of a token verified less than `TTL` ago, if any.
    pub fn get(&self, token_hash: &[u8], now: DateTime<Utc>) -> Option<Principal> {
        self.entries
            .get_if(token_hash, |(_, until)| now < *until)
            .map(|(p, _)| p)
    }

    /// Remembers a verified token until `min(now + TTL, expires_at)`.
    pub fn put(
        &self,
        token_hash: Vec<u8>,
        principal: Principal,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) {
        self.entries
            .insert(token_hash, (principal, (now + TTL).min(expires_at)));
    }

    /// Drops the entries expired at `now` or unused for the idle time; returns how many.
    pub fn sweep(&self, now: DateTime<Utc>) -> usize {
        self.entries
            .sweep(std::time::Instant::now(), |_, (_, until)| *until <= now)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::PlayerId;
    use crate::ids::RandomId;

    #[test]
    fn an_entry_expires_after_the_ttl_or_with_its_token() {
        let cache = TokenCache::default();
        let now = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let p = Principal::Player {
            id: PlayerId::new_random(),
        };
        cache.put(vec![1], p, now, now + Duration::days(1));
        assert_eq!(cache.get(&[1], now + Duration::seconds(59)), Some(p));
        assert_eq!(cache.get(&[1], now + Duration::seconds(61)), None);
        cache.put(vec![2], p, now, now + Duration::seconds(5));
        assert_eq!(cache.get(&[2], now + Duration::seconds(6)), None);
        assert_eq!(cache.sweep(now + Duration::seconds(6)), 1);
        assert_eq!(cache.sweep(now + Duration::seconds(61)), 1);
        assert!(cache.cache().is_empty());
    }
}
