//! One WebSocket session over its TCP stream: reads client frames, answers subscribe/unsubscribe,
//! sends `subscribed` and the backlog before live frames. Live frames and the keep-alive's pings
//! reach the socket through the connection's queue, mostly without waking this task; it only
//! flushes what the socket could not take at once.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpStream;

use super::feed::Feed;
use super::hub::Hub;
use super::send_queue::SendQueue;
use super::wire::{self, Incoming, Reader};
use crate::domain::account::Principal;
use crate::domain::event::Viewer;
use crate::domain::ids::{HuntId, PlayerId};
use crate::error::AppError;
use crate::input::{self, BodyError, FieldError, Location};
use crate::service;

/// How long a session that sent its close frame waits for the client's.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// Backlog events read per database round trip.
const BACKLOG_BATCH: i64 = 500;
/// Hunts one connection may follow at once (each may keep a feed alive on this node).
pub const MAX_SUBSCRIPTIONS: usize = 16;
/// Backlog frames queued ahead of the socket before the session waits for the client to read.
const BACKLOG_WINDOW: usize = 64;
/// Bytes read per system call (on the stack: an idle session keeps no read buffer).
const READ_CHUNK: usize = 4096;
/// Frames waiting for the socket above which the client is not read from: a client that sends
/// (pings, subscribes) without reading the answers gets backpressure instead of a growing queue.
const READ_PAUSE: usize = 64;

/// A client message, read through the edge rules like a request body (strict JSON, the text
/// rule, unknown keys refused).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ClientMessage {
    Subscribe { hunt_id: HuntId, after: Option<i64> },
    Unsubscribe { hunt_id: HuntId },
}

impl ClientMessage {
    fn read(text: &str) -> Result<Self, FieldError> {
        let value =
            input::document(text.as_bytes(), Location::Message, &[]).map_err(|e| match e {
                BodyError::Syntax(message) => FieldError::new(Location::Message, "", message),
                BodyError::Field(field) => field,
            })?;
        input::typed(value, Location::Message)
    }
}

/// Who is on the other end.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub player: PlayerId,
}

/// What a session needs from the node.
#[derive(Clone)]
pub struct SessionCtx {
    pub hub: Arc<Hub>,
    /// The use cases (reads go through `service::live`) and the pool feeds read with.
    pub service: crate::service::Ctx,
}

/// The connection was closed or failed: the session ends.
struct Ended;

struct Session {
    id: u64,
    ctx: SessionCtx,
    peer: Peer,
    stream: Arc<TcpStream>,
    queue: Arc<SendQueue>,
    reader: Reader,
    /// Hunts this session is registered with.
    hunts: Vec<HuntId>,
    /// The client sent its close frame.
    client_closed: bool,
}

/// Runs a session on an upgraded connection (`first`: bytes read past the HTTP request) until the
/// client leaves, falls behind, or goes silent.
pub async fn run(stream: TcpStream, first: Bytes, ctx: SessionCtx, peer: Peer) {
    // Frames are whole messages written at once: nothing to gain from Nagle's delay.
    let _ = stream.set_nodelay(true);
    let stream = Arc::new(stream);
    let queue = Arc::new(SendQueue::new(stream.clone()));
    let mut session = Session {
        id: ctx.hub.next_session_id(),
        ctx,
        peer,
        stream,
        queue,
        reader: Reader::default(),
        hunts: Vec::new(),
        client_closed: false,
    };
    // Boxed, like `subscribe`: the database futures are large and would otherwise enlarge every
    // idle session's task for its whole life.
    Box::pin(session.ctx.hub.presence.opened(peer.player)).await;
    let slot = session.ctx.hub.keepalive.add(session.queue.clone());
    let opened = session.received(&first).await;
    // `first` may share the HTTP server's read buffer (kilobytes): let it go before idling.
    drop(first);
    if opened.is_ok() {
        let _ = session.serve().await;
    }
    session.ctx.hub.keepalive.remove(slot, &session.queue);
    for hunt in &session.hunts {
        if let Some(feed) = session.ctx.hub.existing(*hunt) {
            feed.unregister(session.id);
        }
    }
    // The socket closes when this task drops its handle.
    session.queue.shut();
    Box::pin(session.ctx.hub.presence.closed(peer.player)).await;
}

impl Session {
    async fn serve(&mut self) -> Result<(), Ended> {
        while !self.queue.finished() {
            let pending = self.queue.pending();
            let reading = !pending || self.queue.queued() <= READ_PAUSE;
            tokio::select! {
                ready = self.stream.readable(), if reading => {
                    ready.map_err(|_| Ended)?;
                    let bytes = self.read()?;
                    if !bytes.is_empty() {
                        self.received(&bytes).await?;
                    }
                }
                ready = async {
                    if pending {
                        self.stream.writable().await
                    } else {
                        self.queue.wanted().await;
                        Ok(())
                    }
                } => {
                    ready.map_err(|_| Ended)?;
                    self.queue.flush();
                }
            }
        }
        if !self.client_closed {
            // Our close frame is out: give the client a moment to answer it, so the connection
            // ends with a clean close rather than a reset.
            let _ = tokio::time::timeout(CLOSE_GRACE, self.until_client_closes()).await;
        }
        Ok(())
    }

    async fn until_client_closes(&mut self) {
        while !self.client_closed {
            if self.stream.readable().await.is_err() {
                return;
            }
            match self.read() {
                Ok(bytes) if !bytes.is_empty() => {
                    if self.received(&bytes).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(Ended) => return,
            }
        }
    }

    /// Reads what the socket has (possibly nothing: readiness can be stale). `Ended` at the end of
    /// the stream or on an error.
    fn read(&self) -> Result<Vec<u8>, Ended> {
        let mut chunk = [0u8; READ_CHUNK];
        let mut bytes = Vec::new();
        loop {
            match self.stream.try_read(&mut chunk) {
                Ok(0) => return Err(Ended),
                Ok(n) => {
                    bytes.extend_from_slice(&chunk[..n]);
                    if n < chunk.len() {
                        return Ok(bytes);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(bytes),
                Err(_) => return Err(Ended),
            }
        }
    }

    /// Handles the client's bytes: every complete message in them, in order.
    async fn received(&mut self, bytes: &[u8]) -> Result<(), Ended> {
        let mut messages = Vec::new();
        let parsed = self.reader.push(bytes, &mut messages);
        if !messages.is_empty() {
            self.queue.heard();
        }
        for m in messages {
            self.message(m).await?;
        }
        if let Err(e) = parsed {
            tracing::debug!(error = %e, "closing a live connection that broke the protocol");
            self.queue.close(Some(e.close_code()));
        }
        Ok(())
    }

    async fn message(&mut self, m: Incoming) -> Result<(), Ended> {
        match m {
            Incoming::Close(code) => {
                self.client_closed = true;
                // Echo the client's code (RFC 6455 5.5.1); a no-op if ours is already queued.
                self.queue.close(Some(code.unwrap_or(wire::CLOSE_NORMAL)));
            }
            _ if self.queue.closing() => {}
            Incoming::Ping(payload) => self.queue.send(wire::pong(&payload)),
            Incoming::Pong | Incoming::Binary => {}
            Incoming::Text(text) => match ClientMessage::read(&text) {
                Ok(ClientMessage::Subscribe { hunt_id, after }) => {
                    // Boxed: the database work is large and only lives while subscribing, so an
                    // idle session's task stays small.
                    Box::pin(self.subscribe(hunt_id, after)).await?;
                }
                Ok(ClientMessage::Unsubscribe { hunt_id }) => {
                    self.leave(hunt_id);
                    self.send_json(json!({"type": "unsubscribed", "hunt_id": hunt_id}));
                }
                Err(e) => self.send_json(json!({"type": "error", "code": "invalid_request",
                    "message": e.to_string(), "details": e.details()})),
            },
        }
        Ok(())
    }

    fn send_json(&self, msg: serde_json::Value) {
        self.queue.send(wire::text(&msg.to_string()));
    }

    fn leave(&mut self, hunt: HuntId) {
        if let Some(feed) = self.ctx.hub.existing(hunt) {
            feed.unregister(self.id);
        }
        self.queue.forget(hunt);
        self.hunts.retain(|h| *h != hunt);
    }

    /// Registers with the hunt's feed, sends `subscribed` then the backlog after `after`, then
    /// lets the live frames held meanwhile follow. A refusal is answered with an `error` message.
    async fn subscribe(&mut self, hunt: HuntId, after: Option<i64>) -> Result<(), Ended> {
        self.leave(hunt);
        let refused = |e: AppError| {
            let (_, code) = e.status_and_code();
            let message = if code == "internal" {
                "internal error".to_owned()
            } else {
                e.to_string()
            };
            json!({"type": "error", "hunt_id": hunt, "code": code, "message": message})
        };
        if self.hunts.len() >= MAX_SUBSCRIPTIONS {
            self.send_json(refused(AppError::invalid(format!(
                "a connection follows at most {MAX_SUBSCRIPTIONS} hunts"
            ))));
            return Ok(());
        }
        let registered = async {
            let principal = Principal::Player {
                id: self.peer.player,
            };
            let viewer = service::live::viewer(&self.ctx.service, principal, hunt).await?;
            loop {
                let feed = self.ctx.hub.current(&self.ctx.service.pool, hunt).await?;
                // A feed the hub let go of meanwhile: the next one starts from its snapshot.
                if let Ok(reg) = feed.register(self.id, viewer, after, self.queue.clone()) {
                    return Ok::<_, AppError>((viewer, feed, reg));
                }
            }
        };
        let (viewer, feed, reg) = match registered.await {
            Ok(r) => r,
            Err(e) => {
                self.send_json(refused(e));
                return Ok(());
            }
        };
        self.hunts.push(hunt);
        self.send_json(json!({"type": "subscribed", "hunt_id": hunt, "head": reg.head}));
        let Some(after) = after else {
            // Nothing to replay: the marker cannot be refused.
            let _ = self.queue.release(hunt, reg.through);
            return Ok(());
        };
        let _replay = self.ctx.hub.replay();
        let (mut from, mut upto, mut window) = (after, reg.head, reg.backlog);
        loop {
            let sent = match window.take() {
                Some(frames) => {
                    self.backlog_frames(hunt, frames).await;
                    Ok(())
                }
                None => self.backlog_from_log(&feed, &viewer, from, upto).await,
            };
            if let Err(e) = sent {
                self.leave(hunt);
                self.send_json(refused(e));
                return Ok(());
            }
            // A no-op if the connection started closing meanwhile (its queue then ends with the close).
            match self.queue.release(hunt, reg.through.max(upto)) {
                Ok(()) => return Ok(()),
                // Live frames came faster than the backlog went: they were dropped, and are sent
                // as more backlog (from memory when the feed still has them).
                Err(accepted) => {
                    (from, upto) = (from.max(upto), accepted);
                    window = feed.window(from, upto, &viewer);
                }
            }
        }
    }

    /// Queues backlog frames from the feed's memory, waiting while the client has many unread.
    async fn backlog_frames(&self, hunt: HuntId, frames: Vec<super::feed::Frame>) {
        for f in frames {
            if !self.backlog(hunt, f.offset, f.wire).await {
                return;
            }
        }
    }

    /// Sends the events of the feed's hunt `viewer` may see after `after` up to `upto`, from the
    /// log, with the names the feed shows now. A pooled connection is held only while a batch is
    /// read, never while the client reads.
    async fn backlog_from_log(
        &self,
        feed: &Feed,
        viewer: &Viewer,
        after: i64,
        upto: i64,
    ) -> Result<(), AppError> {
        let hunt = feed.hunt;
        let mut from = after;
        while from < upto {
            let pool = &self.ctx.service.pool;
            let events =
                service::live::events_after(pool, hunt, from, BACKLOG_BATCH, Some(viewer)).await?;
            let Some(last) = events.last().map(|e| e.offset) else {
                break;
            };
            for e in events.iter().filter(|e| e.offset <= upto) {
                if !self
                    .backlog(hunt, e.offset, wire::text(&feed.wire_of(e)))
                    .await
                {
                    return Ok(());
                }
            }
            from = last;
        }
        Ok(())
    }

    /// Queues one backlog frame, then waits while the client has many unread ones. False when
    /// the connection is closing (or failed): the rest of the backlog is not sent. A client whose
    /// backlog drains is reading, so it counts as heard from (its pongs are read after the backlog).
    async fn backlog(&self, hunt: HuntId, offset: i64, frame: Bytes) -> bool {
        self.queue.send_event(hunt, offset, frame);
        while self.queue.queued() > BACKLOG_WINDOW && !self.queue.closing() {
            if self.stream.writable().await.is_err() {
                return false;
            }
            let before = self.queue.queued();
            self.queue.flush();
            if self.queue.queued() < before {
                self.queue.heard();
            }
        }
        !self.queue.closing()
    }
}
