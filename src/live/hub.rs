//! The node's hub: one feed per hunt that anyone here cares about, and the wake-ups that drive them.
//! Feeds are a bounded cache: one nobody subscribes to goes when idle or when its hunt is archived
//! (its task ends, its state is stored as the hunt's snapshot), and comes back from the snapshot.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::feed::Feed;
use super::keepalive::Keepalive;
use super::presence::Presence;
use crate::cache::{Cache, CacheConfig};
use crate::db;
use crate::domain::ids::HuntId;
use crate::error::AppError;
use crate::telemetry::LiveMetrics;

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
    metrics: LiveMetrics,
    feeds: Cache<HuntId, Arc<Feed>>,
    next_session: AtomicU64,
    /// Sessions sending a backlog right now.
    replaying: Arc<AtomicUsize>,
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
    /// A hub whose feeds record their lag and passes in `metrics`.
    pub fn new(pool: db::Pool, metrics: LiveMetrics) -> Self {
        Self::with_caches(pool, &CacheConfig::default(), metrics)
    }

    /// A hub whose feeds follow `config` (bound, idle time).
    pub fn with_caches(pool: db::Pool, config: &CacheConfig, metrics: LiveMetrics) -> Self {
        Self {
            pool: pool.clone(),
            metrics,
            // A feed with subscribers is never evicted; one without ends atomically as it goes.
            feeds: Cache::new("live_feeds", config.max_hunts, config.idle)
                .with_evictable(|_, feed| feed.try_end()),
            next_session: AtomicU64::new(1),
            replaying: Arc::default(),
            keepalive: Arc::default(),
            presence: Arc::new(Presence::new(pool.clone())),
        }
    }

    /// The cache of feeds (its gauge).
    pub fn cache(&self) -> &Cache<HuntId, Arc<Feed>> {
        &self.feeds
    }

    /// The hunt's feed, created empty on first use (its first `catch_up` starts from the hunt's
    /// snapshot) with a task that catches it up whenever it is woken, until the feed ends;
    /// wake-ups coalesce.
    pub fn feed(&self, hunt: HuntId) -> Arc<Feed> {
        let (feed, evicted) = self.feeds.upsert(hunt, |current| match current {
            Some(feed) => feed.clone(),
            None => self.spawn(hunt),
        });
        self.let_go(evicted);
        feed
    }

    fn spawn(&self, hunt: HuntId) -> Arc<Feed> {
        let feed = Arc::new(Feed::new(hunt).observed(self.metrics.clone()));
        let (task_feed, pool) = (feed.clone(), self.pool.clone());
        tokio::spawn(async move {
            loop {
                task_feed.woken().await;
                if task_feed.ended() {
                    return;
                }
                let started = Instant::now();
                if let Err(e) = task_feed.catch_up(&pool).await {
                    tracing::warn!(hunt.id = %task_feed.hunt, error = ?e, "catching up a hunt feed failed");
                }
                if task_feed.snapshot_due() {
                    if let Err(e) = task_feed.store_snapshot(&pool).await {
                        tracing::warn!(hunt.id = %task_feed.hunt, error = ?e, "storing a leaderboard snapshot failed");
                    }
                }
                // Wake-ups meanwhile coalesce: the next pass carries all they announced.
                if task_feed.subscribers() >= PACED_FROM {
                    tokio::time::sleep_until(started + PASS_INTERVAL).await;
                }
            }
        });
        feed
    }

    /// Stores the state of feeds that were let go as their hunts' snapshots (in the background).
    fn let_go(&self, evicted: Vec<Arc<Feed>>) {
        for feed in evicted {
            let pool = self.pool.clone();
            tokio::spawn(async move {
                if let Err(e) = feed.store_snapshot(&pool).await {
                    tracing::warn!(hunt.id = %feed.hunt, error = ?e, "storing a leaderboard snapshot failed");
                }
            });
        }
    }

    /// Lets go of feeds nobody subscribes to that were unused for the idle time, or whose hunt
    /// is archived (`archived`, or a `phase_changed` the feed read); their state is stored as
    /// their hunts' snapshots before this returns. Returns how many went.
    pub async fn sweep(&self, now: std::time::Instant, archived: impl Fn(HuntId) -> bool) -> usize {
        let evicted = self
            .feeds
            .sweep(now, |hunt, feed| feed.archived() || archived(*hunt));
        let n = evicted.len();
        for feed in evicted {
            if let Err(e) = feed.store_snapshot(&self.pool).await {
                tracing::warn!(hunt.id = %feed.hunt, error = ?e, "storing a leaderboard snapshot failed");
            }
        }
        n
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
        self.feeds.values()
    }

    /// The hunt's feed if this node has one (not counted as a use: notifications and
    /// unsubscribes do not keep a feed alive).
    pub fn existing(&self, hunt: HuntId) -> Option<Arc<Feed>> {
        self.feeds.peek(&hunt)
    }

    /// Sessions sending a backlog (a replay) right now.
    pub fn replays(&self) -> usize {
        self.replaying.load(Ordering::Relaxed)
    }

    /// Counts a replay until the guard drops.
    pub fn replay(&self) -> Replay {
        self.replaying.fetch_add(1, Ordering::Relaxed);
        Replay(self.replaying.clone())
    }

    /// A process-unique session id.
    pub fn next_session_id(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }
}

/// A replay under way (see [`Hub::replay`]).
#[derive(Debug)]
pub struct Replay(Arc<AtomicUsize>);

impl Drop for Replay {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
