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
    pub index_rebuilds: AtomicU64,
}

impl Metrics {
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
        exposition(&rows)
    }
}

/// The `nenufar_cache_entries{cache="..."}` gauge, one row per cache of the node.
pub fn cache_gauges(caches: &[(&str, usize)]) -> String {
    let mut out = String::from(
        "# HELP nenufar_cache_entries Entries held by each cache of this node
# TYPE nenufar_cache_entries gauge
",
    );
    for (cache, n) in caches {
        out.push_str(&format!("nenufar_cache_entries{{cache=\"{cache}\"}} {n}\n"));
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
