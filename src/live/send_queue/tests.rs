//! Tests of the connection writer: direct writes, queueing behind a full socket, order, overflow.
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use super::*;
use crate::ids::RandomId;

/// A connected pair on loopback: the server's end in an queue, the client's end.
async fn pair() -> (Arc<TcpStream>, Arc<SendQueue>, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    let server = Arc::new(server);
    // The first writable event arrives from the reactor, as on an upgraded connection.
    server.writable().await.unwrap();
    let queue = Arc::new(SendQueue::new(server.clone()));
    (server, queue, client)
}

fn event(hunt: HuntId, offset: i64, bytes: usize) -> Frame {
    let text = json!({"type": "event", "offset": offset, "data": "x".repeat(bytes)}).to_string();
    Frame {
        hunt,
        offset,
        derived: false,
        audience: crate::domain::event::Audience::Hunt,
        wire: wire::text(&text),
    }
}

/// What the session does: flush whenever the queue needs it, until the queue is finished.
fn flusher(stream: Arc<TcpStream>, queue: Arc<SendQueue>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while !queue.finished() {
            if queue.pending() {
                stream.writable().await.unwrap();
            } else {
                tokio::select! {
                    () = queue.wanted() => {}
                    () = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
            }
            queue.flush();
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
    let (stream, queue, mut client) = pair().await;
    let hunt = HuntId::new_random();
    queue.hold(hunt, 0, 0);
    queue.release(hunt, 0).unwrap();
    // Offer 60 KiB frames, the client reading nothing, until the socket stops taking them.
    let mut offset = 0;
    while !queue.pending() {
        offset += 1;
        assert!(offset < 2000, "the socket never filled");
        let f = event(hunt, offset, 60 * 1024);
        assert_eq!(queue.offer(hunt, &[&f]), Offer::Taken);
    }
    let direct = offset;
    // More frames and a ping of the session's own go behind the waiting ones, not between.
    for _ in 0..100 {
        offset += 1;
        let f = event(hunt, offset, 60 * 1024);
        assert_eq!(queue.offer(hunt, &[&f]), Offer::Taken);
    }
    queue.send(wire::ping());
    assert!(queue.queued() > 100 && queue.queued() <= QUEUE);
    let flushing = flusher(stream, queue.clone());
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
    assert!(!queue.pending());
    queue.shut();
    flushing.await.unwrap();
}

#[tokio::test]
async fn a_client_too_far_behind_gets_what_it_started_then_resync_and_close() {
    let (stream, queue, mut client) = pair().await;
    let hunt = HuntId::new_random();
    queue.hold(hunt, 7, 7);
    queue.release(hunt, 7).unwrap();
    let mut offset = 7;
    loop {
        offset += 1;
        let f = event(hunt, offset, 20 * 1024);
        if queue.offer(hunt, &[&f]) == Offer::Gone {
            break;
        }
        assert!(offset < 100_000, "never overflowed");
    }
    // Gone: later frames are refused.
    let late = event(hunt, offset + 1, 10);
    assert_eq!(queue.offer(hunt, &[&late]), Offer::Gone);
    let flushing = flusher(stream, queue.clone());
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
    let (stream, queue, mut client) = pair().await;
    let hunt = HuntId::new_random();
    // Subscribed after 3 with the feed at 5: the backlog is 4 and 5, live frames start at 6.
    queue.hold(hunt, 3, 5);
    let live: Vec<Frame> = (5..=7).map(|o| event(hunt, o, 10)).collect();
    assert_eq!(queue.offer(hunt, &[&live[0], &live[1]]), Offer::Taken);
    queue.send(wire::text(r#"{"type":"subscribed","offset":0}"#));
    for o in [4, 5] {
        queue.send_event(hunt, o, event(hunt, o, 10).wire);
    }
    queue.release(hunt, 5).unwrap();
    assert_eq!(queue.offer(hunt, &[&live[1], &live[2]]), Offer::Taken);
    let flushing = flusher(stream, queue.clone());
    let frames = read_frames(&mut client, 5).await;
    let offsets: Vec<i64> = frames.iter().map(|(_, p)| offset_of(p)).collect();
    assert_eq!(offsets, [0, 4, 5, 6, 7]);
    queue.shut();
    flushing.await.unwrap();
}

#[tokio::test]
async fn the_keep_alive_pings_closes_a_silent_connection_then_gives_it_up() {
    let (_stream, queue, mut client) = pair().await;
    let limit = Duration::from_secs(60);
    queue.keep_alive(Instant::now() + Duration::from_secs(20), limit);
    assert_eq!(read_frames(&mut client, 1).await, [(0x9, Vec::new())]);
    // Heard from: still alive a minute after the connection opened.
    queue.heard();
    queue.keep_alive(Instant::now() + Duration::from_secs(50), limit);
    assert_eq!(read_frames(&mut client, 1).await, [(0x9, Vec::new())]);
    assert!(!queue.closing());
    // Silent for longer than the limit: a close frame, and nothing after it.
    queue.keep_alive(Instant::now() + Duration::from_secs(61), limit);
    assert!(queue.closing() && queue.finished());
    queue.send(wire::ping());
    assert_eq!(read_frames(&mut client, 2).await, [(0x8, Vec::new())]);
    // Still silent at the next visit: given up.
    let (_stream, stuck, _client) = pair().await;
    let hunt = HuntId::new_random();
    stuck.hold(hunt, 0, 0);
    stuck.release(hunt, 0).unwrap();
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
