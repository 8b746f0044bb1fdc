//! Keep-alive for every WebSocket connection of this node: one task visits a slice of the
//! connections every 100 ms, so each is pinged every 20 s and closed after 60 s of silence,
//! without a timer or a task wake-up per connection, and with pings spread evenly over time
//! rather than bunched after a wave of connections.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::send_queue::SendQueue;

/// How often a connection is pinged.
pub const PING_EVERY: Duration = Duration::from_secs(20);
/// Silence (nothing received, pongs included) after which a connection is closed.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(60);
/// Time between two visits of the task, each to one slot.
const TICK: Duration = Duration::from_millis(100);
/// Slots visited in turn: each comes round every `PING_EVERY`.
const SLOTS: usize = (PING_EVERY.as_millis() / TICK.as_millis()) as usize;

/// The node's connections, in slots.
#[derive(Debug)]
pub struct Keepalive {
    slots: Vec<Mutex<Vec<Arc<SendQueue>>>>,
    /// Where the next connection goes (round robin, so slots stay even).
    next: AtomicUsize,
    started: Once,
}

impl Default for Keepalive {
    fn default() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| Mutex::new(Vec::new())).collect(),
            next: AtomicUsize::new(0),
            started: Once::new(),
        }
    }
}

impl Keepalive {
    /// Looks after a connection from now on; returns its slot, for [`Keepalive::remove`]. Starts
    /// the task on first use (it needs a runtime, which the hub's constructor may not have).
    pub fn add(self: &Arc<Self>, queue: Arc<SendQueue>) -> usize {
        self.started.call_once(|| {
            tokio::spawn(self.clone().run());
        });
        let slot = self.next.fetch_add(1, Ordering::Relaxed) % SLOTS;
        self.slot(slot).push(queue);
        slot
    }

    /// Stops looking after a connection.
    pub fn remove(&self, slot: usize, queue: &Arc<SendQueue>) {
        let mut connections = self.slot(slot);
        if let Some(i) = connections.iter().position(|o| Arc::ptr_eq(o, queue)) {
            connections.swap_remove(i);
        }
    }

    fn slot(&self, slot: usize) -> std::sync::MutexGuard<'_, Vec<Arc<SendQueue>>> {
        self.slots[slot % SLOTS]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    async fn run(self: Arc<Self>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for slot in (0..SLOTS).cycle() {
            tick.tick().await;
            self.visit(slot, Instant::now());
        }
    }

    /// Pings the slot's connections, and closes those silent since before `now - SILENCE_LIMIT`.
    fn visit(&self, slot: usize, now: Instant) {
        // A copy, so the slot's lock is not held across the writes.
        let connections: Vec<Arc<SendQueue>> = self.slot(slot).clone();
        for queue in connections {
            queue.keep_alive(now, SILENCE_LIMIT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_connection_comes_round_every_twenty_seconds() {
        assert_eq!(TICK * SLOTS as u32, PING_EVERY);
    }
}
