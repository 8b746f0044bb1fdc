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

/// Frames a connection may have waiting (queued behind a full socket, or held while its backlog is
/// sent) before it counts as too far behind: it then gets `resync` and is closed.
pub const QUEUE: usize = 512;
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
    /// Frames held across all hunts.
    held: usize,
    /// A close frame is queued, or the socket failed: nothing more is taken.
    closing: bool,
    /// A write failed: the connection is dead.
    broken: bool,
}

/// A connection's writer (see the module docs).
#[derive(Debug)]
pub struct Outbox {
    state: Mutex<State>,
    /// Tells the session that the queue needs flushing or the connection started closing.
    wake: Notify,
}

impl Outbox {
    pub fn new(stream: Arc<TcpStream>) -> Self {
        Self {
            state: Mutex::new(State {
                stream: Some(stream),
                heard: Instant::now(),
                queue: VecDeque::new(),
                written: 0,
                hunts: Vec::new(),
                held: 0,
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
    /// at or below `accepted` are repeats. Live frames are held until [`Outbox::release`]. Called
    /// by the feed under its lock, so no live frame can come before this.
    pub fn hold(&self, hunt: HuntId, delivered: i64, accepted: i64) {
        let mut st = self.lock();
        st.forget(hunt);
        st.hunts.push(Hunt {
            id: hunt,
            delivered,
            accepted,
            held: Some(Vec::new()),
        });
    }

    /// Ends the wait of [`Outbox::hold`] once `subscribed` and the backlog are queued: the client
    /// then has everything up to `through`, and the held live frames follow.
    pub fn release(&self, hunt: HuntId, through: i64) {
        let mut st = self.lock();
        let Some(h) = st.hunts.iter_mut().find(|h| h.id == hunt) else {
            return;
        };
        let held = h.held.take().unwrap_or_default();
        st.held -= held.len();
        let marker = Queued {
            bytes: Bytes::new(),
            hunt: Some(hunt),
            mark: Some(through),
        };
        if !st.closing {
            self.push(&mut st, std::iter::once(marker).chain(held));
        }
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
        if let Some(held) = &mut st.hunts[h].held {
            held.extend(fresh.iter().map(|f| Queued::event(f)));
            st.held += fresh.len();
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
        // Only what the socket did not take counts against the bound.
        if st.queue.len() + st.held > QUEUE {
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
        st.held = 0;
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
        st.held = 0;
    }
}

impl State {
    fn forget(&mut self, hunt: HuntId) {
        if let Some(i) = self.hunts.iter().position(|h| h.id == hunt) {
            let h = self.hunts.swap_remove(i);
            self.held -= h.held.map_or(0, |v| v.len());
        }
        // Frames not started yet are dropped; a started one must be finished.
        let keep_front = usize::from(self.written > 0);
        let mut i = 0;
        self.queue.retain(|q| {
            i += 1;
            i <= keep_front || q.hunt != Some(hunt)
        });
    }

    fn mark(&mut self, hunt: HuntId, offset: i64) {
        if let Some(h) = self.hunts.iter_mut().find(|h| h.id == hunt) {
            h.delivered = h.delivered.max(offset);
        }
    }

    /// Marks the queue's front as started on the wire.
    fn start_front(&mut self) {
        if let Some(&Queued {
            hunt: Some(hunt),
            mark: Some(offset),
            ..
        }) = self.queue.front()
        {
            self.mark(hunt, offset);
        }
    }

    fn fail(&mut self) {
        self.broken = true;
        self.closing = true;
        self.queue.clear();
        self.written = 0;
    }

    /// Writes the queue's front onward until the socket would block.
    fn write_queue(&mut self) {
        let Some(stream) = self.stream.clone() else {
            return;
        };
        loop {
            // Empty markers are "on the wire" as soon as everything before them is.
            while self.queue.front().is_some_and(|q| q.bytes.is_empty()) {
                self.start_front();
                self.queue.pop_front();
            }
            let Some(front) = self.queue.front() else {
                return;
            };
            let first = &front.bytes[self.written..];
            let result = if self.queue.len() == 1 {
                stream.try_write(first)
            } else {
                let slices: Vec<IoSlice<'_>> = std::iter::once(IoSlice::new(first))
                    .chain(
                        self.queue
                            .iter()
                            .skip(1)
                            .take(WRITE_SLICES - 1)
                            .map(|q| IoSlice::new(&q.bytes)),
                    )
                    .collect();
                stream.try_write_vectored(&slices)
            };
            let mut n = match result {
                // A stream socket takes no bytes only when it would block.
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.fail();
                    return;
                }
            };
            while n > 0 {
                let Some(len) = self.queue.front().map(|q| q.bytes.len()) else {
                    break;
                };
                if self.written == 0 {
                    self.start_front();
                }
                let rest = len - self.written;
                if n >= rest {
                    n -= rest;
                    self.queue.pop_front();
                    self.written = 0;
                } else {
                    self.written += n;
                    n = 0;
                }
            }
            if self.queue.is_empty() {
                // An idle connection keeps no queue memory.
                self.queue = VecDeque::new();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::Value;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    use super::*;

    /// A connected pair on loopback: the server's end in an outbox, the client's end.
    async fn pair() -> (Arc<TcpStream>, Arc<Outbox>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let server = Arc::new(server);
        // The first writable event arrives from the reactor, as on an upgraded connection.
        server.writable().await.unwrap();
        let outbox = Arc::new(Outbox::new(server.clone()));
        (server, outbox, client)
    }

    fn event(hunt: HuntId, offset: i64, bytes: usize) -> Frame {
        let text =
            json!({"type": "event", "offset": offset, "data": "x".repeat(bytes)}).to_string();
        Frame {
            hunt,
            offset,
            derived: false,
            team: None,
            wire: wire::text(&text),
        }
    }

    /// What the session does: flush whenever the queue needs it, until the outbox is finished.
    fn flusher(stream: Arc<TcpStream>, outbox: Arc<Outbox>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            while !outbox.finished() {
                if outbox.pending() {
                    stream.writable().await.unwrap();
                } else {
                    tokio::select! {
                        () = outbox.wanted() => {}
                        () = tokio::time::sleep(Duration::from_millis(50)) => {}
                    }
                }
                outbox.flush();
            }
        })
    }

    /// The first complete server frame in `buf`: opcode, payload and the bytes it takes.
    fn split_frame(buf: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
        let (len, at) = match buf.get(1).map(|b| b & 0x7f)? {
            126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
            127 if buf.len() >= 10 => (
                u64::from_be_bytes(buf[2..10].try_into().unwrap()) as usize,
                10,
            ),
            l if l < 126 => (l as usize, 2),
            _ => return None,
        };
        let payload = buf.get(at..at + len)?;
        assert_eq!(buf[1] & 0x80, 0, "server frames are not masked");
        Some((buf[0] & 0x0f, payload.to_vec(), at + len))
    }

    /// Reads unmasked server frames until `n` have arrived, a close frame arrived, or the stream
    /// ended: (opcode, payload).
    async fn read_frames(client: &mut TcpStream, n: usize) -> Vec<(u8, Vec<u8>)> {
        let mut buf = Vec::new();
        let mut frames = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        while frames.len() < n {
            while let Some((op, payload, used)) = split_frame(&buf) {
                frames.push((op, payload));
                buf.drain(..used);
            }
            if frames.len() >= n || frames.last().is_some_and(|f| f.0 == 0x8) {
                break;
            }
            let got = tokio::time::timeout(Duration::from_secs(10), client.read(&mut chunk))
                .await
                .expect("the server stalled")
                .unwrap();
            if got == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..got]);
        }
        frames
    }

    fn offset_of(payload: &[u8]) -> i64 {
        let v: Value = serde_json::from_slice(payload).unwrap();
        v["offset"].as_i64().unwrap()
    }

    #[tokio::test]
    async fn a_socket_that_would_block_queues_its_frames_and_still_gets_every_one_in_order() {
        let (stream, outbox, mut client) = pair().await;
        let hunt = HuntId::new_random();
        outbox.hold(hunt, 0, 0);
        outbox.release(hunt, 0);
        // Offer 60 KiB frames, the client reading nothing, until the socket stops taking them.
        let mut offset = 0;
        while !outbox.pending() {
            offset += 1;
            assert!(offset < 2000, "the socket never filled");
            let f = event(hunt, offset, 60 * 1024);
            assert_eq!(outbox.offer(hunt, &[&f]), Offer::Taken);
        }
        let direct = offset;
        // More frames and a ping of the session's own go behind the waiting ones, not between.
        for _ in 0..100 {
            offset += 1;
            let f = event(hunt, offset, 60 * 1024);
            assert_eq!(outbox.offer(hunt, &[&f]), Offer::Taken);
        }
        outbox.send(wire::ping());
        assert!(outbox.queued() > 100 && outbox.queued() <= QUEUE);
        let flushing = flusher(stream, outbox.clone());
        let frames = read_frames(&mut client, offset as usize + 1).await;
        let offsets: Vec<i64> = frames[..offset as usize]
            .iter()
            .map(|(op, p)| {
                assert_eq!(*op, 0x1);
                offset_of(p)
            })
            .collect();
        assert_eq!(
            offsets,
            (1..=offset).collect::<Vec<_>>(),
            "{direct} written at once"
        );
        assert_eq!(
            frames[offset as usize],
            (0x9, Vec::new()),
            "the ping comes last"
        );
        assert!(!outbox.pending());
        outbox.shut();
        flushing.await.unwrap();
    }

    #[tokio::test]
    async fn a_client_too_far_behind_gets_what_it_started_then_resync_and_close() {
        let (stream, outbox, mut client) = pair().await;
        let hunt = HuntId::new_random();
        outbox.hold(hunt, 7, 7);
        outbox.release(hunt, 7);
        let mut offset = 7;
        loop {
            offset += 1;
            let f = event(hunt, offset, 20 * 1024);
            if outbox.offer(hunt, &[&f]) == Offer::Gone {
                break;
            }
            assert!(offset < 100_000, "never overflowed");
        }
        // Gone: later frames are refused.
        let late = event(hunt, offset + 1, 10);
        assert_eq!(outbox.offer(hunt, &[&late]), Offer::Gone);
        let flushing = flusher(stream, outbox.clone());
        let frames = read_frames(&mut client, usize::MAX).await;
        let (close, rest) = frames.split_last().unwrap();
        let (resync, events) = rest.split_last().unwrap();
        assert_eq!(*close, (0x8, Vec::new()));
        let resync: Value = serde_json::from_slice(&resync.1).unwrap();
        let offsets: Vec<i64> = events.iter().map(|(_, p)| offset_of(p)).collect();
        assert_eq!(offsets, (8..8 + offsets.len() as i64).collect::<Vec<_>>());
        assert!(offsets.len() < (offset - 8) as usize);
        assert_eq!(
            resync,
            json!({"type": "resync", "hunt_id": hunt, "after": offsets.last().copied().unwrap_or(7)})
        );
        flushing.await.unwrap();
    }

    #[tokio::test]
    async fn live_frames_wait_for_the_backlog_and_repeats_are_dropped() {
        let (stream, outbox, mut client) = pair().await;
        let hunt = HuntId::new_random();
        // Subscribed after 3 with the feed at 5: the backlog is 4 and 5, live frames start at 6.
        outbox.hold(hunt, 3, 5);
        let live: Vec<Frame> = (5..=7).map(|o| event(hunt, o, 10)).collect();
        assert_eq!(outbox.offer(hunt, &[&live[0], &live[1]]), Offer::Taken);
        outbox.send(wire::text(r#"{"type":"subscribed","offset":0}"#));
        for o in [4, 5] {
            outbox.send_event(hunt, o, event(hunt, o, 10).wire);
        }
        outbox.release(hunt, 5);
        assert_eq!(outbox.offer(hunt, &[&live[1], &live[2]]), Offer::Taken);
        let flushing = flusher(stream, outbox.clone());
        let frames = read_frames(&mut client, 5).await;
        let offsets: Vec<i64> = frames.iter().map(|(_, p)| offset_of(p)).collect();
        assert_eq!(offsets, [0, 4, 5, 6, 7]);
        outbox.shut();
        flushing.await.unwrap();
    }

    #[tokio::test]
    async fn the_keep_alive_pings_closes_a_silent_connection_then_gives_it_up() {
        let (_stream, outbox, mut client) = pair().await;
        let limit = Duration::from_secs(60);
        outbox.keep_alive(Instant::now() + Duration::from_secs(20), limit);
        assert_eq!(read_frames(&mut client, 1).await, [(0x9, Vec::new())]);
        // Heard from: still alive a minute after the connection opened.
        tokio::time::sleep(Duration::from_millis(20)).await;
        outbox.heard();
        outbox.keep_alive(Instant::now() + Duration::from_secs(50), limit);
        assert_eq!(read_frames(&mut client, 1).await, [(0x9, Vec::new())]);
        assert!(!outbox.closing());
        // Silent for longer than the limit: a close frame, and nothing after it.
        outbox.keep_alive(Instant::now() + Duration::from_secs(61), limit);
        assert!(outbox.closing() && outbox.finished());
        outbox.send(wire::ping());
        assert_eq!(read_frames(&mut client, 2).await, [(0x8, Vec::new())]);
        // Still silent at the next visit: given up.
        let (_stream, stuck, _client) = pair().await;
        let hunt = HuntId::new_random();
        stuck.hold(hunt, 0, 0);
        stuck.release(hunt, 0);
        let mut offset = 0;
        while !stuck.pending() {
            offset += 1;
            stuck.offer(hunt, &[&event(hunt, offset, 60 * 1024)]);
        }
        stuck.keep_alive(Instant::now() + Duration::from_secs(61), limit);
        assert!(
            stuck.closing() && !stuck.finished(),
            "the close waits behind the queue"
        );
        stuck.keep_alive(Instant::now() + Duration::from_secs(81), limit);
        assert!(stuck.finished());
    }
}
