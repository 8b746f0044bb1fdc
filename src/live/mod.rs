//! Live play on this node: per-hunt feeds that read the event log in offset order, keep the
//! leaderboards (from stored snapshots), and fan events out to WebSocket sessions; the LISTEN
//! relay that wakes them.
//!
//! **The live pipeline, end to end** (one event, from the use case to a phone):
//! 1. *Decide and append.* A use case builds the event with a `domain::event::NewEvent`
//!    constructor (its kind, typed data and [`Audience`](crate::domain::event::Audience)) and
//!    appends it unnumbered in its own transaction (`db::events::append_many`), with a push job if
//!    `EventData::pushable` (so a committed event's push is never lost).
//! 2. *Number.* After commit, `jobs::sequencer` numbers committed events under an advisory lock
//!    (`db::events::sequence`), so a later commit never gets an offset below one a client has
//!    passed, and sends one `pg_notify('nenufar_events', hunt)` per hunt and batch.
//! 3. *Wake.* On every node, [`relay`] LISTENs and wakes the hunt's [`feed`] through the [`hub`]
//!    (one feed per followed hunt; a periodic poke covers a lost LISTEN connection).
//! 4. *Fold and serialise.* The feed reads the numbered events after its head
//!    (`service::live::events_after`), folds them into the [`boards`] (scores, and the names of
//!    the hunt as its log defines them), and serialises each event once with those names
//!    (`Event::wire`): a WebSocket frame, pre-encoded ([`wire`]).
//! 5. *Fan out.* [`fanout`] offers the batch to every subscribed socket whose
//!    [`Viewer`](crate::domain::event::Viewer) the frame's audience admits, over the node's cores.
//! 6. *Write.* Each socket's [`send_queue`] writes at once when idle, else queues (bounded) for its
//!    [`session`] to flush; a reader too far behind gets `resync` and is closed.
//!
//! A resume (`subscribe` with an offset) is served from the feed's recent frames, or from the log
//! with the same audience rule and the feed's current names. Players without a live socket get
//! Web Push instead: `jobs::push` -> `push::dispatch` expands push jobs to devices
//! (`db::push_outbox`, same audience rule in SQL) and sends them.

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
