//! The clock seam: production reads the system clock, tests move time (`FakeClock` in process,
//! `file::FileClock` in a spawned `nenufar serve` built with the `test-clock` feature).
//!
//! What goes through [`Clock`]: every wall-clock decision of the game. Schedule phases and the
//! check-in gate, timed clues, token expiry (and the token cache), the VAPID `exp` and the reuse of
//! a signed header, a push's age and TTL, when a failed push is due again, when an unsent
//! notification is stale, and when a hunt's caches may go (archived). A service reads `now` once and
//! passes it down; the domain never reads a clock.
//!
//! What stays off it, on purpose:
//! - monotonic waits on tokio time (`Instant`, `sleep`, `interval`): job ticks, WebSocket
//!   keep-alive and silence limits, HTTP and push request timeouts, cache idle times. They bound
//!   how long something waits, not what the game decides; tests pause tokio time or call a job's
//!   `step` instead of moving them.
//! - rate-limit windows: the in-memory limiters (governor's monotonic clock) and failed-login
//!   counts, which PostgreSQL keeps with its own `now()` across nodes.
//! - PostgreSQL's `now()` where only SQL writes and reads a time shared by nodes: the push outbox's
//!   claim lease (a node whose clock is off must not steal another's claim) and live presence
//!   heartbeats.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};

#[cfg(feature = "test-clock")]
pub mod file;

/// Where "now" comes from. Domain code never reads it: services pass `now` down.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock for tests: it stands still until the test sets or advances it, so whatever a job or a
/// request decides at "now" is decided at the instant the test chose. Share it as an `Arc` between
/// the test and the node (`AppState::with_clock`).
#[derive(Debug)]
pub struct FakeClock {
    now: Mutex<DateTime<Utc>>,
}

impl FakeClock {
    /// A clock standing at `now`.
    pub fn at(now: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self {
            now: Mutex::new(now),
        })
    }

    /// A clock standing at the system time of the call.
    pub fn starting_now() -> Arc<Self> {
        Self::at(Utc::now())
    }

    /// Moves the clock to `now` (backwards too).
    pub fn set(&self, now: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    /// Moves the clock forward by `by`; returns the new time.
    pub fn advance(&self, by: chrono::Duration) -> DateTime<Utc> {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
        *now
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fake_clock_stands_still_until_set_or_advanced() {
        let t0 = DateTime::parse_from_rfc3339("2026-06-21T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = FakeClock::at(t0);
        let shared: Arc<dyn Clock> = clock.clone();
        assert_eq!(shared.now(), t0);
        assert_eq!(shared.now(), t0);
        let later = clock.advance(chrono::Duration::seconds(90));
        assert_eq!(later, t0 + chrono::Duration::seconds(90));
        assert_eq!(shared.now(), later);
        clock.set(t0 - chrono::Duration::days(1));
        assert_eq!(shared.now(), t0 - chrono::Duration::days(1));
    }
}
