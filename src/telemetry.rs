//! Logging set-up and the Prometheus counters served on `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

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

/// Counters of one node, rendered in Prometheus text format.
#[derive(Debug, Default)]
pub struct Metrics {
    pub http_requests: AtomicU64,
    pub http_errors_5xx: AtomicU64,
    pub checkins: AtomicU64,
    pub checkins_found: AtomicU64,
    pub checkins_replayed: AtomicU64,
    /// Transactions of the check-in writer (check-ins / batches = mean batch size).
    pub checkin_batches: AtomicU64,
    /// Check-ins the writer sent back to be judged again: their hunt changed since.
    pub checkins_stale: AtomicU64,
    /// Check-ins handed to the writer and not yet taken into a batch (a gauge).
    pub checkin_writer_queue: AtomicU64,
    /// Check-in writer batches run again, by [`RerunReason`].
    pub checkin_batch_reruns: [AtomicU64; RerunReason::ALL.len()],
    pub index_rebuilds: AtomicU64,
}

/// Why the check-in writer ran a batch again: `nenufar_checkin_batch_reruns_total{reason}`. A key
/// race or a hunt changed since judging costs only the check-ins concerned, never a re-run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RerunReason {
    /// A deadlock or serialization failure: the whole batch ran again.
    Retry,
    /// The batch lost its database connection: it ran again on a fresh one.
    Reconnect,
    /// The batch failed as a whole: each of its check-ins was then written alone.
    OneByOne,
}

impl RerunReason {
    pub const ALL: [Self; 3] = [Self::Retry, Self::Reconnect, Self::OneByOne];

    /// The `reason` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Retry => "retry",
            Self::Reconnect => "reconnect",
            Self::OneByOne => "one_by_one",
        }
    }
}

impl Metrics {
    /// Counts one re-run of a check-in batch.
    pub fn rerun(&self, reason: RerunReason) {
        if let Some(i) = RerunReason::ALL.iter().position(|r| *r == reason) {
            Self::inc(&self.checkin_batch_reruns[i]);
        }
    }

    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus exposition text.
    pub fn render(&self, pool_size: usize, pool_available: usize, indexed_hunts: usize) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let rows = [
            (
                "nenufar_http_requests_total",
                "counter",
                "HTTP requests served",
                get(&self.http_requests),
            ),
            (
                "nenufar_http_errors_5xx_total",
                "counter",
                "HTTP responses with a 5xx status",
                get(&self.http_errors_5xx),
            ),
            (
                "nenufar_checkins_total",
                "counter",
                "Check-ins answered with a verdict",
                get(&self.checkins),
            ),
            (
                "nenufar_checkins_found_total",
                "counter",
                "Check-ins that found at least one target",
                get(&self.checkins_found),
            ),
            (
                "nenufar_checkins_replayed_total",
                "counter",
                "Check-ins answered from a stored response",
                get(&self.checkins_replayed),
            ),
            (
                "nenufar_checkin_batches_total",
                "counter",
                "Transactions of the check-in writer, each storing a batch of check-ins",
                get(&self.checkin_batches),
            ),
            (
                "nenufar_checkins_stale_total",
                "counter",
                "Check-ins judged again because their hunt changed before they were stored",
                get(&self.checkins_stale),
            ),
            (
                "nenufar_checkin_writer_queue",
                "gauge",
                "Check-ins waiting for a writer to take them into a batch",
                get(&self.checkin_writer_queue),
            ),
            (
                "nenufar_index_rebuilds_total",
                "counter",
                "Hunt index (re)builds",
                get(&self.index_rebuilds),
            ),
            (
                "nenufar_db_pool_size",
                "gauge",
                "Database connections open",
                pool_size as u64,
            ),
            (
                "nenufar_db_pool_available",
                "gauge",
                "Database connections idle",
                pool_available as u64,
            ),
            (
                "nenufar_indexed_hunts",
                "gauge",
                "Hunts with an index in memory",
                indexed_hunts as u64,
            ),
        ];
        let rows: Vec<(&str, &str, &str, f64)> = rows
            .into_iter()
            .map(|(name, kind, help, value)| (name, kind, help, value as f64))
            .collect();
        let mut out = exposition(&rows);
        out.push_str(&labelled(
            "nenufar_checkin_batch_reruns_total",
            "counter",
            "Check-in writer batches run again, by reason",
            "reason",
            &RerunReason::ALL
                .iter()
                .zip(&self.checkin_batch_reruns)
                .map(|(r, c)| (r.label(), get(c) as f64))
                .collect::<Vec<_>>(),
        ));
        out
    }
}

/// The `nenufar_cache_entries{cache="..."}` gauge, one row per cache of the node.
pub fn cache_gauges(caches: &[(&str, usize)]) -> String {
    let series: Vec<(&str, f64)> = caches.iter().map(|(c, n)| (*c, *n as f64)).collect();
    labelled(
        "nenufar_cache_entries",
        "gauge",
        "Entries held by each cache of this node",
        "cache",
        &series,
    )
}

/// Prometheus exposition text of one metric with a label: (label value, value) per series.
fn labelled(name: &str, kind: &str, help: &str, label: &str, series: &[(&str, f64)]) -> String {
    let mut out = format!("# HELP {name} {help}\n# TYPE {name} {kind}\n");
    for (value_of_label, value) in series {
        out.push_str(&format!("{name}{{{label}=\"{value_of_label}\"}} {value}\n"));
    }
    out
}

/// Prometheus exposition text for (name, type, help, value) rows.
pub fn exposition(rows: &[(&str, &str, &str, f64)]) -> String {
    let mut out = String::new();
    for (name, kind, help, value) in rows {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    }
    out
}
