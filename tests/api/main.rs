//! The integration test binary: the real router against real PostGIS, one fresh database per test.

mod authz;
mod bad_input;
mod checkins;
mod nodes;
mod contract;
mod geojson_examples;
mod hunts;
mod support;
