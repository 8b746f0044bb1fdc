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
use crate::telemetry::Metrics;

/// How a node pushes: read from `NENUFAR_VAPID_SUBJECT` and `NENUFAR_PUSH_ALLOW_HTTP_LOOPBACK`.
#[derive(Debug, Clone, Default)]
pub struct PushSettings {
    /// The contact push services see (`mailto:` or `https:`); without one this node queues
    /// notifications but sends none (another node may).
    pub subject: Option<String>,
    pub allow_http_loopback: AllowHttpLoopback,
}

/// How this node settled a claimed notification: `nenufar_push_outcomes_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// A push service accepted it.
    Sent,
    /// The subscription is gone (404 or 410): pruned.
    Gone,
    /// Refused with another 4xx (or could not be built): dropped.
    Rejected,
    /// 429 or 5xx: tried again later, with backoff.
    Retry,
    /// Given up: the next retry would come after its TTL.
    Failed,
    /// Its TTL ran out before it could be sent (or it was not a pushable event).
    Expired,
    /// No answer in time: left to its lease, sent again.
    Unknown,
}

impl PushOutcome {
    pub const ALL: [Self; 7] = [
        Self::Sent,
        Self::Gone,
        Self::Rejected,
        Self::Retry,
        Self::Failed,
        Self::Expired,
        Self::Unknown,
    ];

    /// The `outcome` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Gone => "gone",
            Self::Rejected => "rejected",
            Self::Retry => "retry",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::Unknown => "unknown",
        }
    }
}

/// Push outcomes counted by this node, read when `/metrics` is scraped.
#[derive(Debug, Default)]
pub struct PushMetrics {
    outcomes: [AtomicU64; PushOutcome::ALL.len()],
}

impl PushMetrics {
    /// Counts `n` notifications settled with `outcome`.
    pub fn count(&self, outcome: PushOutcome, n: u64) {
        if let Some(i) = PushOutcome::ALL.iter().position(|o| *o == outcome) {
            self.outcomes[i].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Notifications settled with `outcome` so far.
    pub fn get(&self, outcome: PushOutcome) -> u64 {
        PushOutcome::ALL
            .iter()
            .position(|o| *o == outcome)
            .map_or(0, |i| self.outcomes[i].load(Ordering::Relaxed))
    }

    /// Sets the outcome counters on `m`, and the outbox `depth` when it could be read (at
    /// scrape). The counters named per outcome before `nenufar_push_outcomes_total` stay, with
    /// their meaning: `failed` there counts both given up and expired.
    pub fn report(&self, m: &Metrics, depth: Option<db::push_outbox::Depth>) {
        use crate::telemetry::recorder::names::*;
        for o in PushOutcome::ALL {
            m.set_counter(PUSH_OUTCOMES, &[("outcome", o.label())], self.get(o));
        }
        m.set_counter(PUSH_SENT, &[], self.get(PushOutcome::Sent));
        m.set_counter(
            PUSH_FAILED,
            &[],
            self.get(PushOutcome::Failed) + self.get(PushOutcome::Expired),
        );
        m.set_counter(PUSH_PRUNED, &[], self.get(PushOutcome::Gone));
        m.set_counter(PUSH_DROPPED, &[], self.get(PushOutcome::Rejected));
        m.set_counter(PUSH_UNKNOWN, &[], self.get(PushOutcome::Unknown));
        if let Some(d) = depth {
            m.set_gauge(PUSH_QUEUE_DEPTH, &[], d.queued as f64);
            m.set_gauge(PUSH_OLDEST_AGE, &[], d.oldest_s.unwrap_or(0.0));
        }
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
