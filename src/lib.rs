//! nenufar: a geolocated social-game engine for urban treasure hunts.
//!
//! Where to start reading: the check-in path runs
//! [`http::routes::checkins`] (parse the fix) -> [`service::checkin`] (gate and team from
//! [`service::checkin_cache`], judge) -> [`spatial::index`] (candidate targets, exact geodesic
//! test) -> [`domain::checkin`] (verdict) -> [`service::checkin_writer`] (group commit: one
//! transaction for every check-in waiting) -> [`db::checkin_writes`] (the batched statements).
//!
//! Layers, inner to outer: `domain` (pure rules) <- `spatial` (pure geometry) <- `service`
//! (use cases) <- `http` <- `app`; `db` is used by `service` (and the background `jobs`, `live`
//! feeds and `push` dispatcher). Untrusted input (bodies, query strings, WebSocket messages) is
//! read through [`input`] (strict JSON, the text rule, fields named by JSON pointer) before any
//! handler sees it. Web Push starts at [`jobs::push`] -> [`push::dispatch`].

pub mod app;
pub mod cache;
pub mod clock;
pub mod config;
pub mod db;
pub use nenufar_core::domain;
pub mod error;
pub mod http;
pub mod input;
pub mod jobs;
pub mod limits;
pub mod live;
pub mod push;
pub mod service;
pub use nenufar_core::spatial;
pub mod telemetry;
