//! Web Push: the deployment's VAPID key, subscription checks, one encrypted request per device,
//! and the dispatcher that drains the outbox (filled in the event's own transaction by a trigger,
//! see migration 8). Protocol for apps: `mobile-api/push.md`.

pub mod dispatch;
pub mod ece;
pub mod send;
pub mod subscription;
pub mod vapid;

use std::sync::atomic::{AtomicU64, Ordering};

use subscription::AllowHttpLoopback;
use vapid::Vapid;

use crate::db;

/// How a node pushes: read from `NENUFAR_VAPID_SUBJECT` and `NENUFAR_PUSH_ALLOW_HTTP_LOOPBACK`.
#[derive(Debug, Clone, Default)]
pub struct PushSettings {
    /// The contact push services see (`mailto:` or `https:`); without one this node queues
    /// notifications but sends none (another node may).
    pub subject: Option<String>,
    pub allow_http_loopback: AllowHttpLoopback,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct PushMetrics {
    pub sent: AtomicU64,
    /// Given up after retries until the TTL ran out.
    pub failed: AtomicU64,
    /// Subscriptions deleted after a 404 or 410.
    pub pruned: AtomicU64,
    /// Refused by the push service with another 4xx (or could not be built).
    pub dropped: AtomicU64,
    /// Sends with no answer in time: left to their lease and sent again.
    pub unknown: AtomicU64,
}

impl PushMetrics {
    /// The Prometheus text of the counters, and of the outbox `depth` when it could be read.
    pub fn render(&self, depth: Option<db::push_outbox::Depth>) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        let mut rows = vec![
            (
                "nenufar_push_sent_total",
                "counter",
                "Notifications a push service accepted",
                self.sent.load(Relaxed) as f64,
            ),
            (
                "nenufar_push_failed_total",
                "counter",
                "Notifications given up when their TTL ran out",
                self.failed.load(Relaxed) as f64,
            ),
            (
                "nenufar_push_pruned_total",
                "counter",
                "Subscriptions deleted after a 404 or 410",
                self.pruned.load(Relaxed) as f64,
            ),
            (
                "nenufar_push_dropped_total",
                "counter",
                "Notifications refused with another 4xx",
                self.dropped.load(Relaxed) as f64,
            ),
            (
                "nenufar_push_unknown_total",
                "counter",
                "Sends without an answer in time (sent again after the lease)",
                self.unknown.load(Relaxed) as f64,
            ),
        ];
        if let Some(d) = depth {
            rows.push((
                "nenufar_push_queue_depth",
                "gauge",
                "Notifications waiting in the outbox (all nodes)",
                d.queued as f64,
            ));
            rows.push((
                "nenufar_push_oldest_age_seconds",
                "gauge",
                "Age of the oldest notification waiting",
                d.oldest_s.unwrap_or(0.0),
            ));
        }
        crate::telemetry::exposition(&rows)
    }
}

/// The node's push side.
#[derive(Debug)]
pub struct Push {
    pub settings: PushSettings,
    pub metrics: PushMetrics,
    /// Built on first use (a node that never sends never builds its HTTP client).
    sender: std::sync::OnceLock<send::Sender>,
    vapid: tokio::sync::OnceCell<Vapid>,
    /// Dispatch rounds over (see `jobs::push::step`).
    rounds: AtomicU64,
}

impl Push {
    pub fn new(settings: PushSettings) -> Self {
        Self {
            settings,
            metrics: PushMetrics::default(),
            sender: std::sync::OnceLock::new(),
            vapid: tokio::sync::OnceCell::new(),
            rounds: AtomicU64::new(0),
        }
    }

    /// Dispatch rounds this node finished, failed ones included. A round sends and settles all it
    /// claimed before the next begins, so once this count passes the value it had when the outbox
    /// was seen empty, every send claimed before then is over (tests wait on it).
    pub fn rounds(&self) -> u64 {
        self.rounds.load(Ordering::Acquire)
    }

    pub(crate) fn round_done(&self) {
        self.rounds.fetch_add(1, Ordering::Release);
    }

    /// The node's HTTP sender.
    pub fn sender(&self) -> anyhow::Result<&send::Sender> {
        if let Some(s) = self.sender.get() {
            return Ok(s);
        }
        let built = send::Sender::new(self.settings.allow_http_loopback)?;
        Ok(self.sender.get_or_init(|| built))
    }

    /// Signed VAPID headers kept (a cache of the node, see `cache::node`).
    pub fn header_entries(&self) -> usize {
        self.vapid.get().map_or(0, Vapid::headers_kept)
    }

    /// Drops VAPID headers too old at `now` to be reused; returns how many.
    pub fn sweep_headers(&self, now: chrono::DateTime<chrono::Utc>) -> usize {
        self.vapid.get().map_or(0, |v| v.sweep(now))
    }

    /// The deployment's key, created on first use by whichever node comes first.
    pub async fn vapid(&self, pool: &db::Pool) -> anyhow::Result<&Vapid> {
        self.vapid
            .get_or_try_init(|| async {
                let mut conn = pool.get().await?;
                let private = db::push::vapid_key(&mut conn, vapid::generate()).await?;
                Vapid::from_private(&private)
            })
            .await
    }
}
