//! nenufar's pure core: the game rules ([`domain`]) and the geometry ([`spatial`]). No IO, no
//! async, no logging, no OpenAPI: Cargo keeps it so (this crate's dependencies are pure crates,
//! checked in CI by `ops/check-core-deps.sh`), and `tests/purity.rs` checks what Cargo cannot see
//! (no `std::fs`/`std::net`/`std::process`, no `async`, `domain` never reaches `spatial`).
//!
//! The service crate (`nenufar`) re-exports both modules, so `nenufar::domain::...` and
//! `crate::domain::...` inside it name these.

pub mod domain;
pub mod spatial;
