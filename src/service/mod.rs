//! Use cases, one file per resource verb group: load, apply the domain rule, persist in one transaction.

pub mod auth;
pub mod checkin;
mod checkin_batch;
pub mod checkin_cache;
mod checkin_commit;
pub mod checkin_stored;
pub mod checkin_writer;
pub mod clues;
pub mod game_master;
pub mod hunts;
pub mod index_cache;
pub mod live;
pub mod orgs;
pub mod passwords;
pub mod publish;
pub mod push;
pub mod seed;
pub mod targets;
pub mod teams;
pub mod token_cache;

use std::sync::Arc;

use crate::clock::Clock;
use crate::db::Pool;
use crate::telemetry::Metrics;
use checkin_cache::{HuntGates, Memberships};
use checkin_writer::CheckinWriter;
use index_cache::IndexCache;
use token_cache::TokenCache;

/// What every use case may touch: the database, this node's index cache, the clock, counters.
#[derive(Clone)]
pub struct Ctx {
    pub pool: Pool,
    pub indexes: Arc<IndexCache>,
    /// Hunt gates and memberships check-ins read from memory.
    pub gates: Arc<HuntGates>,
    pub members: Arc<Memberships>,
    /// Group commit of check-ins.
    pub writer: Arc<CheckinWriter>,
    pub tokens: Arc<TokenCache>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    /// Woken after a commit that appended events, so this node's sequencer numbers them at once.
    pub sequencer: Arc<tokio::sync::Notify>,
    /// Web Push: settings, key, sender, counters.
    pub push: Arc<crate::push::Push>,
    /// This node's rate limiters and connection slots (`NENUFAR_LIMITS` and friends).
    pub limits: Arc<crate::limits::Limiters>,
    /// The bounded password-hashing pool.
    pub passwords: Arc<passwords::Passwords>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("pool", &self.pool.status())
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}
