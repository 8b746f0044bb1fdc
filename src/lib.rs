//! nenufar: a geolocated social-game engine for urban treasure hunts.
//!
//! Where to start reading: the check-in path runs
//! [`http::routes::checkins`] (parse the fix) -> [`service::checkin`] (gate and team from
//! [`service::checkin_cache`], judge) -> [`spatial::index`] (candidate targets, exact geodesic
//! test) -> [`domain::checkin`] (verdict) -> [`service::checkin_writer`] (group commit: one
//! transaction per writer for every check-in waiting, `service::checkin_commit`; finds decided by
//! [`domain::find`] from the locked rows) -> [`db::checkin_writes`] (the batched statements).
//!
//! Layers, inner to outer: the pure core `nenufar-core` (crates/core: [`domain`] rules and
//! events, [`spatial`] geometry; re-exported here; Cargo keeps IO out of it) <- [`db`] (queries)
//! <- [`service`] (use cases; routes, WebSocket sessions and feeds ask it who a caller is, read
//! the event log and store snapshots and presence through it) <- [`live`], [`push`],
//! [`jobs`] <- [`http`] (routes, the `AppState` handlers share) <- [`app`] (builds a node and
//! starts it; nothing imports it but `main`, tests and benches). Untrusted input (bodies, query
//! strings, WebSocket messages) is read through [`input`] (strict JSON, the text rule, fields
//! named by JSON pointer) before any handler sees it. The live pipeline (commit, sequencer,
//! notify, relay, hub, feed, fan-out, send queue) is told end to end in [`live`]; Web Push starts
//! at [`jobs::push`] -> [`push::dispatch`].

// A clock tests can set from outside the process must never reach an optimised (release) build.
#[cfg(all(feature = "test-clock", not(debug_assertions)))]
compile_error!("the `test-clock` feature is for test builds (ops/test.sh) only, never a release");

pub mod app;
pub mod cache;
pub mod clock;
pub mod config;
pub mod db;
pub use nenufar_core::domain;
pub mod error;
pub mod http;
pub mod ids;
pub mod input;
pub mod jobs;
pub mod limits;
pub mod live;
pub mod push;
pub mod service;
pub use nenufar_core::spatial;
pub mod telemetry;
