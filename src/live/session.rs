//! One WebSocket session: subscribe/unsubscribe messages, backlog then live frames in offset order,
//! pings every 20 s, close after 60 s of silence, resync and close when the client falls too far behind.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

use super::feed::Frame;
use super::hub::Hub;
use crate::db;
use crate::domain::ids::{HuntId, PlayerId, TeamId};
use crate::error::AppError;

/// Frames queued per session before it counts as too far behind.
pub const QUEUE: usize = 512;
/// Ping period and the silence after which a session is closed.
pub const PING_EVERY: Duration = Duration::from_secs(20);
pub const SILENCE_LIMIT: Duration = Duration::from_secs(60);
/// Backlog events read per database round trip.
const BACKLOG_BATCH: i64 = 500;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Subscribe { hunt_id: HuntId, after: Option<i64> },
    Unsubscribe { hunt_id: HuntId },
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
    pub pool: db::Pool,
}

struct Subscription {
    /// Last event offset delivered for this hunt.
    last: i64,
}

/// Runs a session until the client leaves, falls behind, or goes silent.
pub async fn run(socket: WebSocket, ctx: SessionCtx, peer: Peer) {
    let id = ctx.hub.next_session_id();
    let (tx, mut rx) = mpsc::channel::<Frame>(QUEUE);
    let mut overflowed_flags: Vec<Arc<AtomicBool>> = Vec::new();
    let mut subs: HashMap<HuntId, Subscription> = HashMap::new();
    let (mut sink, mut stream) = socket.split();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut last_heard = Instant::now();

    let outcome: Result<(), ()> = async {
        loop {
            if overflowed_flags.iter().any(|f| f.load(Ordering::Acquire)) {
                for (hunt, sub) in &subs {
                    let msg = json!({"type": "resync", "hunt_id": hunt, "after": sub.last}).to_string();
                    let _ = sink.send(Message::Text(msg.into())).await;
                }
                let _ = sink.send(Message::Close(None)).await;
                return Err(());
            }
            tokio::select! {
                incoming = stream.next() => {
                    let Some(Ok(msg)) = incoming else { return Ok(()) };
                    last_heard = Instant::now();
                    let text = match msg {
                        Message::Text(t) => t,
                        Message::Close(_) => return Ok(()),
                        _ => continue,
                    };
                    match serde_json::from_str::<ClientMessage>(text.as_str()) {
                        Ok(ClientMessage::Subscribe { hunt_id, after }) => {
                            if subs.remove(&hunt_id).is_some() {
                                ctx.hub.feed(hunt_id).unregister(id);
                            }
                            match subscribe(&ctx, id, peer, hunt_id, after, &tx, &mut sink).await {
                                Ok((last, flag)) => {
                                    subs.insert(hunt_id, Subscription { last });
                                    overflowed_flags.push(flag);
                                }
                                Err(SubscribeError::Socket) => return Err(()),
                                Err(SubscribeError::Refused(code, message)) => {
                                    let msg = json!({"type": "error", "hunt_id": hunt_id, "code": code, "message": message});
                                    sink.send(Message::Text(msg.to_string().into())).await.map_err(drop)?;
                                }
                            }
                        }
                        Ok(ClientMessage::Unsubscribe { hunt_id }) => {
                            ctx.hub.feed(hunt_id).unregister(id);
                            subs.remove(&hunt_id);
                            let msg = json!({"type": "unsubscribed", "hunt_id": hunt_id});
                            sink.send(Message::Text(msg.to_string().into())).await.map_err(drop)?;
                        }
                        Err(e) => {
                            let msg = json!({"type": "error", "code": "invalid_request", "message": e.to_string()});
                            sink.send(Message::Text(msg.to_string().into())).await.map_err(drop)?;
                        }
                    }
                }
                frame = rx.recv() => {
                    let Some(frame) = frame else { continue };
                    let Some(sub) = subs.get_mut(&frame.hunt) else { continue };
                    if !frame.derived {
                        if frame.offset <= sub.last {
                            continue;
                        }
                        sub.last = frame.offset;
                    }
                    sink.send(Message::Text(frame.text.clone())).await.map_err(drop)?;
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > SILENCE_LIMIT {
                        let _ = sink.send(Message::Close(None)).await;
                        return Ok(());
                    }
                    sink.send(Message::Ping(Default::default())).await.map_err(drop)?;
                }
            }
        }
    }
    .await;
    let _ = outcome;
    for hunt in subs.keys() {
        ctx.hub.feed(*hunt).unregister(id);
    }
}

enum SubscribeError {
    Socket,
    Refused(&'static str, String),
}

type Sink = futures_util::stream::SplitSink<WebSocket, Message>;

/// Registers with the hunt's feed and sends `subscribed` then the backlog after `after`.
/// Returns the last offset delivered and the feed's overflow flag for this session.
async fn subscribe(
    ctx: &SessionCtx,
    id: u64,
    peer: Peer,
    hunt: HuntId,
    after: Option<i64>,
    tx: &mpsc::Sender<Frame>,
    sink: &mut Sink,
) -> Result<(i64, Arc<AtomicBool>), SubscribeError> {
    let refused = |e: AppError| {
        let (_, code) = e.status_and_code();
        SubscribeError::Refused(
            code,
            if code == "internal" {
                "internal error".into()
            } else {
                e.to_string()
            },
        )
    };
    let team = visible_team(&ctx.pool, hunt, peer.player)
        .await
        .map_err(refused)?;
    let feed = ctx.hub.current(&ctx.pool, hunt).await.map_err(refused)?;
    let reg = feed.register(id, team, after, tx.clone());
    let msg = json!({"type": "subscribed", "hunt_id": hunt, "head": reg.head}).to_string();
    sink.send(Message::Text(msg.into()))
        .await
        .map_err(|_| SubscribeError::Socket)?;
    let Some(after) = after else {
        return Ok((reg.head, reg.overflowed));
    };
    match reg.backlog {
        Some(frames) => {
            for f in frames {
                sink.send(Message::Text(f.text))
                    .await
                    .map_err(|_| SubscribeError::Socket)?;
            }
        }
        None => {
            let mut conn = ctx.pool.get().await.map_err(|e| refused(e.into()))?;
            let mut from = after;
            while from < reg.head {
                let events = db::events::read(&mut conn, hunt, from, BACKLOG_BATCH, Some(team))
                    .await
                    .map_err(|e| refused(e.into()))?;
                let Some(last) = events.last().map(|e| e.offset) else {
                    break;
                };
                for e in events.iter().filter(|e| e.offset <= reg.head) {
                    sink.send(Message::Text(e.frame().into()))
                        .await
                        .map_err(|_| SubscribeError::Socket)?;
                }
                from = last;
            }
        }
    }
    Ok((reg.head.max(after), reg.overflowed))
}

/// The player's team in a hunt players can see; `NotFound` for drafts and unknown hunts.
async fn visible_team(
    pool: &db::Pool,
    hunt: HuntId,
    player: PlayerId,
) -> Result<Option<TeamId>, AppError> {
    let mut conn = pool.get().await?;
    if !db::hunts::is_visible_to_players(&mut conn, hunt).await? {
        return Err(AppError::NotFound("hunt"));
    }
    Ok(db::teams::membership(&mut conn, hunt, player).await?)
}
