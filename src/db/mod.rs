//! PostgreSQL + PostGIS access: pool, migrations, the embedded cluster, and one query module per table group.
//!
//! Query functions take `&mut AsyncPgConnection` so they run inside the caller's transaction.

pub mod accounts;
pub mod checkin_writes;
pub mod checkins;
pub mod clues;
pub mod cluster;
pub mod events;
pub mod gates;
pub mod geo;
pub mod hunts;
pub mod login_attempts;
pub mod migrate;
pub mod pool;
pub mod prepared;
pub mod push;
pub mod push_outbox;
pub mod schema;
pub mod snapshots;
pub mod targets;
pub mod teams;

pub use pool::{Pool, connect, connect_with_wait};
