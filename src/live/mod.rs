//! Live play on this node: per-hunt feeds that read the event log in offset order, keep the
//! leaderboards (from stored snapshots), and fan events out to WebSocket sessions; the LISTEN
//! relay that wakes them.

pub mod boards;
pub mod fanout;
pub mod feed;
pub mod handshake;
pub mod hub;
pub mod keepalive;
pub mod presence;
pub mod relay;
pub mod send_queue;
pub mod session;
pub mod snapshot;
pub mod wire;
