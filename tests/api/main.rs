//! The integration test binary: the real router against real PostGIS, one fresh database per test.

// Tests stop loudly on anything unexpected.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]

mod authz;
mod bad_input;
mod caches;
mod checkin_races;
mod checkins;
mod cluster_location;
mod contract;
mod contract_drift;
mod credentials;
mod events;
mod geodesic;
mod geojson_examples;
mod hunts;
mod input;
mod limits;
mod live;
mod nodes;
mod observability;
mod oracle;
mod push;
mod stored_answers;
mod support;
mod writer_failures;
