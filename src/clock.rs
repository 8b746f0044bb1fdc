//! The clock seam: production reads the system clock, tests may move time.

use chrono::{DateTime, Utc};

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
