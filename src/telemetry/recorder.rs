//! The node's Prometheus recorder (`metrics` + `metrics-exporter-prometheus`, recorder only): the
//! name, help text and buckets of every series, the handles the hot paths record through, and the
//! exposition text `/metrics` serves. No IO here; what is read at scrape time is in `scrape`.

use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, Recorder};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

/// Every series of `/metrics`, with its help text. Names are a contract with dashboards
/// (`ops/grafana/nenufar.json`, tested against this output), README and tests: add, never rename.
pub mod names {
    pub const HTTP_REQUESTS: &str = "nenufar_http_requests_total";
    pub const HTTP_ERRORS_5XX: &str = "nenufar_http_errors_5xx_total";
    pub const HTTP_DURATION: &str = "nenufar_http_request_duration_seconds";
    pub const CHECKINS: &str = "nenufar_checkins_total";
    pub const CHECKINS_FOUND: &str = "nenufar_checkins_found_total";
    pub const CHECKINS_REPLAYED: &str = "nenufar_checkins_replayed_total";
    pub const CHECKINS_STALE: &str = "nenufar_checkins_stale_total";
    pub const CHECKIN_JUDGE: &str = "nenufar_checkin_judge_seconds";
    pub const CHECKIN_BATCHES: &str = "nenufar_checkin_batches_total";
    pub const CHECKIN_BATCH_RERUNS: &str = "nenufar_checkin_batch_reruns_total";
    pub const CHECKIN_BATCH_SIZE: &str = "nenufar_checkin_batch_size";
    pub const CHECKIN_COMMIT: &str = "nenufar_checkin_commit_seconds";
    pub const CHECKIN_WRITER_QUEUE: &str = "nenufar_checkin_writer_queue";
    pub const INDEX_REBUILDS: &str = "nenufar_index_rebuilds_total";
    pub const INDEXED_HUNTS: &str = "nenufar_indexed_hunts";
    pub const CACHE_ENTRIES: &str = "nenufar_cache_entries";
    pub const DB_POOL_SIZE: &str = "nenufar_db_pool_size";
    pub const DB_POOL_AVAILABLE: &str = "nenufar_db_pool_available";
    pub const LIVE_EVENT_LAG: &str = "nenufar_live_event_lag_seconds";
    pub const LIVE_FANOUT_PASS: &str = "nenufar_live_fanout_pass_seconds";
    pub const PUSH_OUTCOMES: &str = "nenufar_push_outcomes_total";
    pub const PUSH_SENT: &str = "nenufar_push_sent_total";
    pub const PUSH_FAILED: &str = "nenufar_push_failed_total";
    pub const PUSH_PRUNED: &str = "nenufar_push_pruned_total";
    pub const PUSH_DROPPED: &str = "nenufar_push_dropped_total";
    pub const PUSH_UNKNOWN: &str = "nenufar_push_unknown_total";
    pub const PUSH_QUEUE_DEPTH: &str = "nenufar_push_queue_depth";
    pub const PUSH_OLDEST_AGE: &str = "nenufar_push_oldest_age_seconds";
    pub const RATE_LIMITER_KEYS: &str = "nenufar_rate_limiter_keys";
    pub const RATE_LIMITED: &str = "nenufar_rate_limited_total";
    pub const SLOTS_HELD: &str = "nenufar_slots_held";
    pub const PASSWORD_HASHES: &str = "nenufar_password_hashes_total";
    pub const PASSWORD_QUEUE_FULL: &str = "nenufar_password_queue_full_total";
}

use names::*;

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// (name, kind, help) of every series, described to the recorder once (its `# HELP` lines).
const SERIES: &[(&str, Kind, &str)] = &[
    (HTTP_REQUESTS, Kind::Counter, "HTTP requests served"),
    (
        HTTP_ERRORS_5XX,
        Kind::Counter,
        "HTTP responses with a 5xx status",
    ),
    (
        HTTP_DURATION,
        Kind::Histogram,
        "Time from a request's arrival at the router to its response head, by method, route template and status",
    ),
    (CHECKINS, Kind::Counter, "Check-ins answered with a verdict"),
    (
        CHECKINS_FOUND,
        Kind::Counter,
        "Check-ins that found at least one target",
    ),
    (
        CHECKINS_REPLAYED,
        Kind::Counter,
        "Check-ins answered from a stored response",
    ),
    (
        CHECKINS_STALE,
        Kind::Counter,
        "Check-ins judged again because their hunt changed before they were stored",
    ),
    (
        CHECKIN_JUDGE,
        Kind::Histogram,
        "Time to judge one check-in before the writer: gate, index (built first on a cold hunt), rules",
    ),
    (
        CHECKIN_BATCHES,
        Kind::Counter,
        "Transactions of the check-in writer, each storing a batch of check-ins",
    ),
    (
        CHECKIN_BATCH_RERUNS,
        Kind::Counter,
        "Check-in writer batches run again, by reason",
    ),
    (
        CHECKIN_BATCH_SIZE,
        Kind::Histogram,
        "Check-ins taken into one writer batch",
    ),
    (
        CHECKIN_COMMIT,
        Kind::Histogram,
        "Time of one committed check-in writer transaction, begin to commit",
    ),
    (
        CHECKIN_WRITER_QUEUE,
        Kind::Gauge,
        "Check-ins waiting for a writer to take them into a batch",
    ),
    (INDEX_REBUILDS, Kind::Counter, "Hunt index (re)builds"),
    (INDEXED_HUNTS, Kind::Gauge, "Hunts with an index in memory"),
    (
        CACHE_ENTRIES,
        Kind::Gauge,
        "Entries held by each cache of this node",
    ),
    (DB_POOL_SIZE, Kind::Gauge, "Database connections open"),
    (DB_POOL_AVAILABLE, Kind::Gauge, "Database connections idle"),
    (
        LIVE_EVENT_LAG,
        Kind::Histogram,
        "Time from an event's append (its row's created_at, the appending transaction's start) to the end of the fan-out pass that offered it to this node's subscribers",
    ),
    (
        LIVE_FANOUT_PASS,
        Kind::Histogram,
        "Time of one fan-out pass of a hunt's feed over its subscribers",
    ),
    (
        PUSH_OUTCOMES,
        Kind::Counter,
        "Notifications settled by this node, by outcome",
    ),
    (
        PUSH_SENT,
        Kind::Counter,
        "Notifications a push service accepted",
    ),
    (
        PUSH_FAILED,
        Kind::Counter,
        "Notifications given up when their TTL ran out",
    ),
    (
        PUSH_PRUNED,
        Kind::Counter,
        "Subscriptions deleted after a 404 or 410",
    ),
    (
        PUSH_DROPPED,
        Kind::Counter,
        "Notifications refused with another 4xx",
    ),
    (
        PUSH_UNKNOWN,
        Kind::Counter,
        "Sends without an answer in time (sent again after the lease)",
    ),
    (
        PUSH_QUEUE_DEPTH,
        Kind::Gauge,
        "Notifications waiting in the outbox (all nodes)",
    ),
    (
        PUSH_OLDEST_AGE,
        Kind::Gauge,
        "Age of the oldest notification waiting",
    ),
    (
        RATE_LIMITER_KEYS,
        Kind::Gauge,
        "Keys a rate limiter remembers",
    ),
    (
        RATE_LIMITED,
        Kind::Counter,
        "Requests refused by a rate limiter",
    ),
    (
        SLOTS_HELD,
        Kind::Gauge,
        "Connections and WebSocket sessions held",
    ),
    (
        PASSWORD_HASHES,
        Kind::Counter,
        "Argon2 computations (hashes, verifications, work spent on unknown e-mails)",
    ),
    (
        PASSWORD_QUEUE_FULL,
        Kind::Counter,
        "Password requests refused with 503 because the hashing queue was full",
    ),
];

/// Buckets of request-scale latencies, seconds: 0.5 ms (a cached read) to 5 s (past the request
/// timeout's default, so a stuck request still lands in a bucket of its own).
pub const LATENCY_S: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// Buckets of in-memory work, seconds: 10 µs (a judge on a warm index, a pass over a few
/// sockets) to 1 s (a judge that first built a large hunt's index).
pub const IN_MEMORY_S: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25,
    1.0,
];
/// Buckets of writer batch sizes, check-ins: powers of two up to the writer's `MAX_BATCH` (512).
pub const BATCH_SIZES: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

const BUCKETS: &[(&str, &[f64])] = &[
    (HTTP_DURATION, LATENCY_S),
    (CHECKIN_JUDGE, IN_MEMORY_S),
    (CHECKIN_COMMIT, LATENCY_S),
    (CHECKIN_BATCH_SIZE, BATCH_SIZES),
    (LIVE_EVENT_LAG, LATENCY_S),
    (LIVE_FANOUT_PASS, IN_MEMORY_S),
];

/// What the `metrics` macros would pass; the Prometheus recorder ignores it.
static META: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

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
    /// Another node stored a claimed check-in's key, or one of its finds, between the batch's
    /// reads and writes: the whole batch ran again.
    Race,
}

impl RerunReason {
    pub const ALL: [Self; 4] = [Self::Retry, Self::Reconnect, Self::OneByOne, Self::Race];

    /// The `reason` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Retry => "retry",
            Self::Reconnect => "reconnect",
            Self::OneByOne => "one_by_one",
            Self::Race => "race",
        }
    }
}

/// The live feeds' histograms, handed to the hub and each feed it starts.
#[derive(Clone)]
pub struct LiveMetrics {
    /// `nenufar_live_event_lag_seconds`: see [`names::LIVE_EVENT_LAG`]'s help.
    pub event_lag: Histogram,
    /// `nenufar_live_fanout_pass_seconds`.
    pub fanout_pass: Histogram,
}

impl LiveMetrics {
    /// Handles that record nothing (a feed made outside a node, in tests).
    pub fn noop() -> Self {
        Self {
            event_lag: Histogram::noop(),
            fanout_pass: Histogram::noop(),
        }
    }
}

impl std::fmt::Debug for LiveMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveMetrics").finish_non_exhaustive()
    }
}

/// One node's recorder and the handles its hot paths record through (an atomic add each, no
/// lookup). Series with labels that vary per call (`http_request`) and the values read at scrape
/// time (`set_gauge`, `set_counter`) are registered by key on this node's recorder.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    pub http_requests: Counter,
    pub http_errors_5xx: Counter,
    pub checkins: Counter,
    pub checkins_found: Counter,
    pub checkins_replayed: Counter,
    /// Transactions of the check-in writer (check-ins / batches = mean batch size).
    pub checkin_batches: Counter,
    /// Check-ins the writer sent back to be judged again: their hunt changed since.
    pub checkins_stale: Counter,
    /// Check-ins handed to the writer and not yet taken into a batch.
    pub checkin_writer_queue: Gauge,
    reruns: [Counter; RerunReason::ALL.len()],
    /// Seconds to judge one check-in in memory (`service::checkin::judge`).
    pub checkin_judge: Histogram,
    /// Seconds of one committed writer transaction.
    pub checkin_commit: Histogram,
    /// Check-ins per writer batch.
    pub checkin_batch_size: Histogram,
    live: LiveMetrics,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A recorder of its own with every series described and the unlabelled ones registered (so
    /// they show as 0 before their first event).
    pub fn new() -> Self {
        #[expect(
            clippy::expect_used,
            reason = "only an empty bucket list is refused; the lists are constants (tested)"
        )]
        let builder = BUCKETS
            .iter()
            .try_fold(PrometheusBuilder::new(), |b, (name, buckets)| {
                b.set_buckets_for_metric(Matcher::Full((*name).to_owned()), buckets)
            })
            .expect("bucket lists are not empty");
        let recorder = builder.build_recorder();
        for (name, kind, help) in SERIES {
            let (name, help) = (KeyName::from_const_str(name), (*help).into());
            match kind {
                Kind::Counter => recorder.describe_counter(name, None, help),
                Kind::Gauge => recorder.describe_gauge(name, None, help),
                Kind::Histogram => recorder.describe_histogram(name, None, help),
            }
        }
        let counter =
            |name: &'static str| recorder.register_counter(&Key::from_static_name(name), &META);
        let histogram =
            |name: &'static str| recorder.register_histogram(&Key::from_static_name(name), &META);
        let rerun = |r: RerunReason| {
            recorder.register_counter(
                &Key::from_parts(
                    CHECKIN_BATCH_RERUNS,
                    vec![Label::from_static_parts("reason", r.label())],
                ),
                &META,
            )
        };
        Self {
            http_requests: counter(HTTP_REQUESTS),
            http_errors_5xx: counter(HTTP_ERRORS_5XX),
            checkins: counter(CHECKINS),
            checkins_found: counter(CHECKINS_FOUND),
            checkins_replayed: counter(CHECKINS_REPLAYED),
            checkin_batches: counter(CHECKIN_BATCHES),
            checkins_stale: counter(CHECKINS_STALE),
            checkin_writer_queue: recorder
                .register_gauge(&Key::from_static_name(CHECKIN_WRITER_QUEUE), &META),
            reruns: RerunReason::ALL.map(rerun),
            checkin_judge: histogram(CHECKIN_JUDGE),
            checkin_commit: histogram(CHECKIN_COMMIT),
            checkin_batch_size: histogram(CHECKIN_BATCH_SIZE),
            live: LiveMetrics {
                event_lag: histogram(LIVE_EVENT_LAG),
                fanout_pass: histogram(LIVE_FANOUT_PASS),
            },
            handle: recorder.handle(),
            recorder,
        }
    }

    /// Counts one re-run of a check-in batch.
    pub fn rerun(&self, reason: RerunReason) {
        if let Some(i) = RerunReason::ALL.iter().position(|r| *r == reason) {
            self.reruns[i].increment(1);
        }
    }

    /// The live feeds' histograms.
    pub fn live(&self) -> LiveMetrics {
        self.live.clone()
    }

    /// Records one HTTP response: the request counters, and its latency by method, route template
    /// (`route`: bounded, never a raw path) and status code.
    pub fn http_request(&self, method: &'static str, route: &str, status: u16, elapsed: Duration) {
        self.http_requests.increment(1);
        if (500..600).contains(&status) {
            self.http_errors_5xx.increment(1);
        }
        let labels = vec![
            Label::from_static_parts("method", method),
            Label::new("route", route.to_owned()),
            Label::new("status", status_label(status)),
        ];
        self.recorder
            .register_histogram(&Key::from_parts(HTTP_DURATION, labels), &META)
            .record(elapsed.as_secs_f64());
    }

    /// Sets a gauge read at scrape time, with its labels.
    pub fn set_gauge(&self, name: &'static str, labels: &[(&'static str, &str)], value: f64) {
        self.recorder
            .register_gauge(&key(name, labels), &META)
            .set(value);
    }

    /// Sets a counter kept elsewhere (an atomic of the limiter, the hashing pool, the push side)
    /// to its value, read at scrape time.
    pub fn set_counter(&self, name: &'static str, labels: &[(&'static str, &str)], value: u64) {
        self.recorder
            .register_counter(&key(name, labels), &META)
            .absolute(value);
    }

    /// The Prometheus text exposition (format 0.0.4) of everything recorded; histograms' samples
    /// are folded into their buckets here.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Folds histogram samples into their buckets without rendering, so a node nobody scrapes
    /// does not keep every sample (run by `jobs::telemetry`).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
    let labels: Vec<Label> = labels
        .iter()
        .map(|(k, v)| Label::new(*k, (*v).to_owned()))
        .collect();
    Key::from_parts(name, labels)
}

/// Status codes the node answers with, labelled by their code.
const STATUS_CODES: &[(u16, &str)] = &[
    (101, "101"),
    (200, "200"),
    (201, "201"),
    (204, "204"),
    (304, "304"),
    (400, "400"),
    (401, "401"),
    (403, "403"),
    (404, "404"),
    (405, "405"),
    (409, "409"),
    (413, "413"),
    (415, "415"),
    (422, "422"),
    (429, "429"),
    (500, "500"),
    (503, "503"),
];

/// The `status` label: the code for those we answer with, one label per class otherwise (so the
/// series stay few whatever a handler or a layer returns).
fn status_label(status: u16) -> &'static str {
    if let Some((_, label)) = STATUS_CODES.iter().find(|(code, _)| *code == status) {
        return label;
    }
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests;
