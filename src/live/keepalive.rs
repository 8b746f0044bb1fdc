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
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    /// A connection looked after by a fresh keep-alive, and the client's end.
    async fn looked_after() -> (Arc<SendQueue>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let server = Arc::new(server);
        server.writable().await.unwrap();
        let queue = Arc::new(SendQueue::new(server));
        Arc::new(Keepalive::default()).add(queue.clone());
        (queue, client)
    }

    /// The next server frame's opcode (control frames: unmasked, payload under 126 bytes).
    async fn next_opcode(client: &mut TcpStream) -> u8 {
        let mut head = [0u8; 2];
        client.read_exact(&mut head).await.unwrap();
        let mut payload = vec![0u8; usize::from(head[1] & 0x7f)];
        client.read_exact(&mut payload).await.unwrap();
        head[0] & 0x0f
    }

    fn assert_every_ping_interval(pings: &[Duration]) {
        assert!(pings[0] <= PING_EVERY, "first ping at {:?}", pings[0]);
        for w in pings.windows(2) {
            let gap = w[1] - w[0];
            assert!(
                gap.abs_diff(PING_EVERY) <= TICK,
                "pings {gap:?} apart, not every {PING_EVERY:?}: {pings:?}"
            );
        }
    }

    // Tokio's clock is paused: it jumps to the keep-alive's next tick whenever the test waits, so
    // minutes pass in no time, at the instants the real loop would act.
    #[tokio::test(start_paused = true)]
    async fn a_silent_client_is_pinged_every_twenty_seconds_and_closed_after_a_minute_of_silence() {
        let opened = Instant::now();
        let (_queue, mut client) = looked_after().await;
        let mut pings = Vec::new();
        let closed = loop {
            match next_opcode(&mut client).await {
                0x9 => pings.push(opened.elapsed()),
                0x8 => break opened.elapsed(),
                op => panic!("opcode {op:#x}"),
            }
        };
        assert_every_ping_interval(&pings);
        assert!(
            closed > SILENCE_LIMIT && closed <= SILENCE_LIMIT + PING_EVERY + TICK,
            "closed after {closed:?} of silence"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_answers_is_pinged_every_twenty_seconds_and_kept() {
        let opened = Instant::now();
        let (queue, mut client) = looked_after().await;
        let mut pings = Vec::new();
        while opened.elapsed() < Duration::from_secs(300) {
            assert_eq!(next_opcode(&mut client).await, 0x9, "only pings");
            pings.push(opened.elapsed());
            // Its pong, as the session notes it.
            queue.heard();
        }
        assert_every_ping_interval(&pings);
        assert!(!queue.closing());
    }
}
