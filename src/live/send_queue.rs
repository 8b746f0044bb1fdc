//! One connection's writer, shared by the hunt feeds that fan frames out and the session that owns
//! the socket. A frame goes straight onto the TCP stream when nothing is waiting (no task wake-up);
//! otherwise it joins a bounded queue the session flushes when the socket is writable. Every write
//! happens under one lock and always continues the queue's front first, so frames never interleave.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::feed::Frame;
use super::wire;
use crate::domain::ids::HuntId;

/// Frames a connection may have waiting behind a full socket before it counts as too far behind:
/// it then gets `resync` and is closed.
pub const QUEUE: usize = 512;
/// Live frames held per hunt while its backlog is sent. Past this they are dropped and the session
/// sends them as more backlog (see [`SendQueue::release`]): a client resuming from far back on a busy
/// hunt catches up instead of overflowing and getting `resync` again.
pub const HELD: usize = 256;
/// Slices handed to one vectored write.
const WRITE_SLICES: usize = 64;

/// What became of frames offered by a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Written, queued or held: the client will receive them (or nothing was new).
    Taken,
    /// The connection is closing (it fell too far behind, failed or ended): the feed forgets it.
    Gone,
}

/// A frame waiting to be written.
#[derive(Debug)]
struct Queued {
    bytes: Bytes,
    /// The hunt of a feed frame (dropped on unsubscribe); `None` for the session's own messages.
    hunt: Option<HuntId>,
    /// Once this starts on the wire the client has the hunt's events up to this offset (event
    /// frames, and the empty marker after a backlog).
    mark: Option<i64>,
}

impl Queued {
    fn event(f: &Frame) -> Self {
        Self {
            bytes: f.wire.clone(),
            hunt: Some(f.hunt),
            mark: (!f.derived).then_some(f.offset),
        }
    }
}

/// One subscribed hunt.
#[derive(Debug)]
struct Hunt {
    id: HuntId,
    /// The last offset the client has (or is receiving): what `resync` reports.
    delivered: i64,
    /// The highest offset taken for sending; a feed frame at or below it is a repeat.
    accepted: i64,
    /// Live frames that wait while the session sends `subscribed` and the backlog.
    held: Option<Vec<Queued>>,
    /// More than `HELD` frames came while held: they were dropped (up to `accepted`).
    dropped: bool,
}

#[derive(Debug)]
struct State {
    /// `None` once the session has ended.
    stream: Option<Arc<TcpStream>>,
    /// When the client was last heard from (any frame).
    heard: Instant,
    queue: VecDeque<Queued>,
    /// Bytes of the queue's front already written.
    written: usize,
    hunts: Vec<Hunt>,
    /// A close frame is queued, or the socket failed: nothing more is taken.
    closing: bool,
    /// A write failed: the connection is dead.
    broken: bool,
}

/// A connection's writer (see the module docs).
#[derive(Debug)]
pub struct SendQueue {
    state: Mutex<State>,
    /// Tells the session that the queue needs flushing or the connection started closing.
    wake: Notify,
}

impl SendQueue {
    pub fn new(stream: Arc<TcpStream>) -> Self {
        Self {
            state: Mutex::new(State {
                stream: Some(stream),
                heard: Instant::now(),
                queue: VecDeque::new(),
                written: 0,
                hunts: Vec::new(),
                closing: false,
                broken: false,
            }),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a subscription to `hunt` (replacing any): the client has `delivered`, and live frames
    /// at or below `accepted` are repeats. Live frames are held until [`SendQueue::release`]. Called
    /// by the feed under its lock, so no live frame can come before this.
    pub fn hold(&self, hunt: HuntId, delivered: i64, accepted: i64) {
        let mut st = self.lock();
        st.forget(hunt);
        st.hunts.push(Hunt {
            id: hunt,
            delivered,
            accepted,
            held: Some(Vec::new()),
            dropped: false,
        });
    }

    /// Ends the wait of [`SendQueue::hold`] once `subscribed` and the backlog are queued: the client
    /// then has everything up to `through`, and the held live frames follow. If more than `HELD`
    /// live frames came meanwhile they were dropped: the wait goes on, and `Err(upto)` asks the
    /// session for the backlog up to `upto` first (frames after it are being held again).
    pub fn release(&self, hunt: HuntId, through: i64) -> Result<(), i64> {
        let mut st = self.lock();
        let closing = st.closing;
        let Some(h) = st.hunts.iter_mut().find(|h| h.id == hunt) else {
            return Ok(());
        };
        if h.dropped && !closing {
            h.dropped = false;
            h.held = Some(Vec::new());
            return Err(h.accepted);
        }
        let held = h.held.take().unwrap_or_default();
        let marker = Queued {
            bytes: Bytes::new(),
            hunt: Some(hunt),
            mark: Some(through),
        };
        if !st.closing {
            self.push(&mut st, std::iter::once(marker).chain(held));
        }
        Ok(())
    }

    /// Ends the subscription to `hunt`: its frames not yet started are dropped, later ones ignored.
    pub fn forget(&self, hunt: HuntId) {
        self.lock().forget(hunt);
    }

    /// Takes a feed's frames for this connection (in offset order, derived frames after their
    /// event): writes them at once if nothing is waiting, else queues or holds them.
    pub fn offer(&self, hunt: HuntId, frames: &[&Frame]) -> Offer {
        let mut st = self.lock();
        if st.closing {
            return Offer::Gone;
        }
        let Some(h) = st.hunts.iter_mut().position(|h| h.id == hunt) else {
            // Unsubscribed while the feed was fanning out.
            return Offer::Taken;
        };
        // A subscription replaced during a fan-out pass would otherwise see a frame twice.
        let accepted = st.hunts[h].accepted;
        let fresh = &frames[frames.partition_point(|f| f.offset <= accepted)..];
        let Some(last) = fresh.last() else {
            return Offer::Taken;
        };
        st.hunts[h].accepted = last.offset;
        let held_hunt = &mut st.hunts[h];
        if let Some(held) = &mut held_hunt.held {
            if !held_hunt.dropped {
                held.extend(fresh.iter().map(|f| Queued::event(f)));
                if held.len() > HELD {
                    // The session sends these from the feed or the log instead (see `release`).
                    *held = Vec::new();
                    held_hunt.dropped = true;
                }
            }
        } else if st.queue.is_empty() {
            for chunk in fresh.chunks(WRITE_SLICES) {
                if st.queue.is_empty() {
                    self.write_direct(&mut st, hunt, chunk);
                } else {
                    st.queue.extend(chunk.iter().map(|f| Queued::event(f)));
                }
            }
        } else {
            st.queue.extend(fresh.iter().map(|f| Queued::event(f)));
        }
        if st.broken {
            return Offer::Gone;
        }
        // Only what the socket did not take counts against the bound (held frames have their own).
        if st.queue.len() > QUEUE {
            self.overflow(&mut st);
            return Offer::Gone;
        }
        Offer::Taken
    }

    /// The idle connection's fast path: one write of the frames, the rest queued.
    fn write_direct(&self, st: &mut State, hunt: HuntId, frames: &[&Frame]) {
        let Some(stream) = st.stream.clone() else {
            return;
        };
        let result = match frames {
            [one] => stream.try_write(&one.wire),
            _ => {
                let slices: Vec<IoSlice<'_>> =
                    frames.iter().map(|f| IoSlice::new(&f.wire)).collect();
                stream.try_write_vectored(&slices)
            }
        };
        let mut n = match result {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(_) => {
                st.fail();
                self.wake.notify_one();
                return;
            }
        };
        for f in frames {
            if n == 0 {
                st.queue.push_back(Queued::event(f));
                continue;
            }
            if !f.derived {
                st.mark(hunt, f.offset);
            }
            if n >= f.wire.len() {
                n -= f.wire.len();
            } else {
                st.queue.push_back(Queued::event(f));
                st.written = n;
                n = 0;
            }
        }
        if !st.queue.is_empty() {
            self.wake.notify_one();
        }
    }

    /// Queues the session's own message (`subscribed`, `error`, a ping or pong) behind anything
    /// waiting, and writes what it can.
    pub fn send(&self, bytes: Bytes) {
        let mut st = self.lock();
        if !st.closing {
            let q = Queued {
                bytes,
                hunt: None,
                mark: None,
            };
            self.push(&mut st, std::iter::once(q));
        }
    }

    /// Queues a backlog event of `hunt` (the session sends the backlog before the held live frames).
    pub fn send_event(&self, hunt: HuntId, offset: i64, bytes: Bytes) {
        let mut st = self.lock();
        if !st.closing {
            let q = Queued {
                bytes,
                hunt: Some(hunt),
                mark: Some(offset),
            };
            self.push(&mut st, std::iter::once(q));
        }
    }

    /// Queues a close frame (`code`, or none) after what is waiting; nothing is taken after it.
    pub fn close(&self, code: Option<u16>) {
        let mut st = self.lock();
        if !st.closing {
            let q = Queued {
                bytes: wire::close(code),
                hunt: None,
                mark: None,
            };
            self.push(&mut st, std::iter::once(q));
            st.closing = true;
        }
    }

    fn push(&self, st: &mut State, items: impl IntoIterator<Item = Queued>) {
        let was_empty = st.queue.is_empty();
        st.queue.extend(items);
        if was_empty {
            st.write_queue();
            if !st.queue.is_empty() || st.broken {
                self.wake.notify_one();
            }
        }
    }

    /// The client is too far behind: what it has not started receiving is dropped, and it gets
    /// `resync` with the last offset it has of each hunt, then a close.
    fn overflow(&self, st: &mut State) {
        st.queue.truncate(usize::from(st.written > 0));
        for h in &mut st.hunts {
            h.held = None;
        }
        let resyncs: Vec<Queued> = st
            .hunts
            .iter()
            .map(|h| Queued {
                bytes: wire::text(
                    &json!({"type": "resync", "hunt_id": h.id, "after": h.delivered}).to_string(),
                ),
                hunt: None,
                mark: None,
            })
            .collect();
        st.queue.extend(resyncs);
        st.queue.push_back(Queued {
            bytes: wire::close(None),
            hunt: None,
            mark: None,
        });
        st.closing = true;
        // The socket is full: the session writes these when the client reads again.
        self.wake.notify_one();
    }

    /// Notes that the client was heard from.
    pub fn heard(&self) {
        self.lock().heard = Instant::now();
    }

    /// The keep-alive's visit: a ping, or after `silence` without a word from the client a close
    /// frame; if the client has not even let that be written since, the connection is given up.
    pub fn keep_alive(&self, now: Instant, silence: Duration) {
        let mut st = self.lock();
        if now.saturating_duration_since(st.heard) <= silence {
            if !st.closing {
                let ping = Queued {
                    bytes: wire::ping(),
                    hunt: None,
                    mark: None,
                };
                self.push(&mut st, std::iter::once(ping));
            }
        } else if !st.closing {
            let close = Queued {
                bytes: wire::close(None),
                hunt: None,
                mark: None,
            };
            self.push(&mut st, std::iter::once(close));
            st.closing = true;
            self.wake.notify_one();
        } else {
            st.fail();
            self.wake.notify_one();
        }
    }

    /// Writes what is queued, as far as the socket takes it (the session calls this when woken
    /// or when the socket became writable).
    pub fn flush(&self) {
        self.lock().write_queue();
    }

    /// Waits until the queue needs the session: something was queued, or the connection started
    /// closing or failed.
    pub async fn wanted(&self) {
        self.wake.notified().await;
    }

    /// Frames wait for the socket.
    pub fn pending(&self) -> bool {
        !self.lock().queue.is_empty()
    }

    /// Frames waiting in the queue (not counting held ones).
    pub fn queued(&self) -> usize {
        self.lock().queue.len()
    }

    /// The connection is over: a write failed, or the close frame is fully written.
    pub fn finished(&self) -> bool {
        let st = self.lock();
        st.broken || (st.closing && st.queue.is_empty())
    }

    /// A close frame is queued or written (or the socket failed).
    pub fn closing(&self) -> bool {
        self.lock().closing
    }

    /// The session ended: let go of the socket so it closes once the session drops its handle.
    pub fn shut(&self) {
        let mut st = self.lock();
        st.closing = true;
        st.stream = None;
        st.queue.clear();
        st.hunts.clear();
    }
}

mod state;

#[cfg(test)]
mod tests;
