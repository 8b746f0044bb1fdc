//! This node's short-lived cache of verified bearer tokens: saves a database round trip on every
//! authenticated request (the check-in path above all). Entries live at most `TTL` and never past
//! the token's own expiry, so a token deleted in PostgreSQL stops working within `TTL` on every node.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

use crate::domain::account::Principal;

/// How long a verified token is trusted without asking PostgreSQL again.
pub const TTL: Duration = Duration::seconds(60);
/// Entries kept at most; the cache is emptied when it would grow past this.
const MAX_ENTRIES: usize = 200_000;

/// A verified principal and until when it is trusted.
type Entry = (Principal, DateTime<Utc>);

/// Token hash -> entry.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<Vec<u8>, Entry>>,
}

impl TokenCache {
    /// The principal of a token verified less than `TTL` ago, if any.
    pub fn get(&self, token_hash: &[u8], now: DateTime<Utc>) -> Option<Principal> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(token_hash)
            .filter(|(_, until)| now < *until)
            .map(|(p, _)| *p)
    }

    /// Remembers a verified token until `min(now + TTL, expires_at)`.
    pub fn put(
        &self,
        token_hash: Vec<u8>,
        principal: Principal,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(token_hash, (principal, (now + TTL).min(expires_at)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::PlayerId;

    #[test]
    fn an_entry_expires_after_the_ttl_or_with_its_token() {
        let cache = TokenCache::default();
        let now = Utc::now();
        let p = Principal::Player {
            id: PlayerId::new_random(),
        };
        cache.put(vec![1], p, now, now + Duration::days(1));
        assert_eq!(cache.get(&[1], now + Duration::seconds(59)), Some(p));
        assert_eq!(cache.get(&[1], now + Duration::seconds(61)), None);
        cache.put(vec![2], p, now, now + Duration::seconds(5));
        assert_eq!(cache.get(&[2], now + Duration::seconds(6)), None);
    }
}
