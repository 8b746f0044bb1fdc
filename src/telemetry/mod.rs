//! Logging set-up, and the node's metrics: what `/metrics` serves and how it is recorded.
//!
//! **Metrics.** One Prometheus recorder (`metrics-exporter-prometheus`, recorder and handle only:
//! no listener of its own) per node, owned by the node's [`Metrics`] in `AppState`, and rendered
//! by our own `/metrics` route (`http::scrape`). Not a global recorder: tests run many nodes in one
//! process (two nodes on one database, several test apps under `cargo test`), and each must read
//! its own counters exactly, the way a scraper reads one process; a global recorder would mix
//! them and every test would have to reason in deltas. No other crate we use emits `metrics`, so
//! nothing is lost by not installing it globally; the house rule is no global state anyway
//! (STYLE 6). Hot paths hold pre-registered handles (an atomic add, no lookup); the HTTP latency
//! histogram is registered by key per (method, route template, status) on the node's recorder.
//! Values that other parts keep as their own atomics or sizes (caches, pool, limiters, hashing
//! pool, push outcomes, index builds) are set on the recorder when scraped.
//!
//! Buckets, explicit per histogram (`recorder::BUCKETS`): request-scale
//! latencies (HTTP, commit, event lag) 0.5 ms .. 5 s; in-memory work (judge, fan-out pass)
//! 10 µs .. 1 s; writer batch sizes 1 .. 512 by powers of two.
//!
//! `nenufar_live_event_lag_seconds` measures, per event a feed delivers, from the event row's
//! `created_at` (PostgreSQL `now()` of the transaction that appended it: for a check-in, the
//! start of its writer batch, a few milliseconds before commit) to the end of the fan-out pass
//! that offered its frame to this node's subscribers (written to idle sockets, queued for busy
//! ones). So it includes the rest of that transaction and its commit, the sequencer's numbering,
//! NOTIFY and LISTEN, the feed's read and fold, and the pass itself; not the network to the
//! client. Only events offered to at least one subscriber count (a feed starting up folds its
//! backlog without recording it). It compares the database's clock with the node's: skew
//! between them shows as lag (negative differences count as 0).
//!
//! **Spans** (stable field names, dotted as in every log line; never a position, a token, a
//! query string or a body): `http` per request (`request.id`, also the `x-request-id` response
//! header; `http.method`, `http.route` the route template, `hunt.id` when the route has one,
//! `http.status`); `check_in` (`hunt.id`, `player.id`) inside it; `checkin_batch`
//! (`batch.size`) per writer batch; `feed` (`hunt.id`) per catch-up of a hunt's feed;
//! `push_round` (`push.expanded`, `push.claimed`) per dispatcher round.

pub mod recorder;

pub use recorder::{LiveMetrics, Metrics, RerunReason};

use tracing_subscriber::EnvFilter;

/// Installs the tracing subscriber on stderr (stdout is for command output): JSON lines when
/// `json`, human-readable otherwise.
/// `RUST_LOG` overrides the default level (`info`). `backtraces` (`NENUFAR_LOG_BACKTRACES=1`)
/// adds the backtrace anyhow captured to the log line of an internal error (see `http::error`).
pub fn init(json: bool, backtraces: bool) {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if backtraces
        && let Ok(directive) = format!("{}=debug", crate::http::error::BACKTRACE_TARGET).parse()
    {
        filter = filter.add_directive(directive);
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    // A second init (tests, `demo` after `serve`) keeps the first subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
