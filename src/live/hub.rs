//! The node's hub: one feed per hunt that anyone here cares about, and the wake-ups that drive them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::feed::Feed;
use super::keepalive::Keepalive;
use super::presence::Presence;
use crate::db;
use crate::domain::ids::HuntId;
use crate::error::AppError;

/// Least time between two fan-out passes of a hunt with many subscribers. The first event after
/// a quiet spell goes out at once; under a stream of events each socket then gets one write per
/// interval carrying everything since, instead of a write (a system call, and a wake-up of the
/// client) per commit. Measured in BENCHMARKS.md ("Check-ins with 2,000 live clients").
pub const PASS_INTERVAL: Duration = Duration::from_millis(50);
/// Subscribers from which a feed's passes are paced (below it a pass costs too little to matter).
const PACED_FROM: usize = 256;

/// Feeds by hunt.
pub struct Hub {
    pool: db::Pool,
    feeds: Mutex<HashMap<HuntId, Arc<Feed>>>,
    next_session: AtomicU64,
    /// Pings every WebSocket connection of this node and closes the silent ones.
    pub keepalive: Arc<Keepalive>,
    /// Players connected here, for the push trigger (no push while connected).
    pub presence: Arc<Presence>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("feeds", &self.feeds().len())
            .finish_non_exhaustive()
    }
}

impl Hub {
    pub fn new(pool: db::Pool) -> Self {
        Self {
            pool: pool.clone(),
            feeds: Mutex::new(HashMap::new()),
            next_session: AtomicU64::new(1),
            keepalive: Arc::default(),
            presence: Arc::new(Presence::new(pool.clone())),
        }
    }

    /// The hunt's feed, created empty on first use (its first `catch_up` folds the whole log) with
    /// a task that catches it up whenever it is woken; wake-ups coalesce.
    pub fn feed(&self, hunt: HuntId) -> Arc<Feed> {
        let mut feeds = self.feeds.lock().unwrap_or_else(PoisonError::into_inner);
        feeds
            .entry(hunt)
            .or_insert_with(|| {
                let feed = Arc::new(Feed::new(hunt));
                let (task_feed, pool) = (feed.clone(), self.pool.clone());
                tokio::spawn(async move {
                    loop {
                        task_feed.woken().await;
                        let started = Instant::now();
                        if let Err(e) = task_feed.catch_up(&pool).await {
                            tracing::warn!(hunt.id = %task_feed.hunt, error = ?e, "catching up a hunt feed failed");
                        }
                        // Wake-ups meanwhile coalesce: the next pass carries all they announced.
                        if task_feed.subscribers() >= PACED_FROM {
                            tokio::time::sleep_until(started + PASS_INTERVAL).await;
                        }
                    }
                });
                feed
            })
            .clone()
    }

    /// Wakes a hunt's feed (after a notification), if this node has one.
    pub fn poke(&self, hunt: HuntId) {
        if let Some(feed) = self.existing(hunt) {
            feed.wake();
        }
    }

    /// Wakes every feed (after a missed-notification risk, and as the periodic safety net).
    pub fn poke_all(&self) {
        for feed in self.feeds() {
            feed.wake();
        }
    }

    /// The hunt's feed, caught up with the log.
    pub async fn current(&self, pool: &db::Pool, hunt: HuntId) -> Result<Arc<Feed>, AppError> {
        let feed = self.feed(hunt);
        feed.catch_up(pool).await?;
        Ok(feed)
    }

    /// Feeds that exist on this node.
    pub fn feeds(&self) -> Vec<Arc<Feed>> {
        self.feeds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Wakes a hunt's feed after a notification, if this node has it.
    pub fn existing(&self, hunt: HuntId) -> Option<Arc<Feed>> {
        self.feeds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&hunt)
            .cloned()
    }

    /// A process-unique session id.
    pub fn next_session_id(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }
}
