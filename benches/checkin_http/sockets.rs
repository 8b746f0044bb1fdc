//! Live WebSocket clients connected during the check-in load (`NENUFAR_BENCH_SOCKETS`): each one
//! subscribes to the hunt for live events and drains what it receives, answering pings, on a
//! runtime thread of its own so the HTTP load keeps its own. Counts event frames, bytes and
//! `resync` messages (a client too far behind), to say what the server delivered meanwhile.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../../examples/fanout_clients/ws.rs"]
mod ws;

/// What the clients received, all together.
#[derive(Debug, Default)]
pub struct Received {
    pub events: AtomicU64,
    pub bytes: AtomicU64,
    pub resyncs: AtomicU64,
    pub closed: AtomicU64,
}

impl Received {
    /// (events, bytes, resyncs, closed) now.
    pub fn snapshot(&self) -> (u64, u64, u64, u64) {
        (
            self.events.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
            self.resyncs.load(Ordering::Relaxed),
            self.closed.load(Ordering::Relaxed),
        )
    }
}

/// Clients running on their own thread until `stop` is set.
pub struct Clients {
    pub received: Arc<Received>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Clients {
    /// Stops the clients and waits for their thread.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Connects `n` clients (player tokens taken in turn) and returns once all are subscribed.
pub fn connect(
    n: usize,
    addr: SocketAddr,
    hunt: &str,
    tokens: &[String],
) -> anyhow::Result<Clients> {
    let received = Arc::new(Received::default());
    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<()>>();
    let (hunt, tokens) = (hunt.to_owned(), tokens.to_vec());
    let (r, s) = (received.clone(), stop.clone());
    let thread = std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                let _ = ready_tx.send(Err(e.into()));
                return;
            }
        };
        rt.block_on(async move {
            let addr = addr.to_string();
            let mut streams = Vec::with_capacity(n);
            for i in 0..n {
                match ws::subscribe(&addr, &hunt, &tokens[i % tokens.len()]).await {
                    Ok(s) => streams.push(s),
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.context(format!("client {i}"))));
                        return;
                    }
                }
            }
            let tasks: Vec<_> = streams
                .into_iter()
                .map(|(stream, rest)| tokio::spawn(drain(stream, rest, r.clone(), s.clone())))
                .collect();
            let _ = ready_tx.send(Ok(()));
            for t in tasks {
                let _ = t.await;
            }
        });
    });
    ready_rx.recv()??;
    Ok(Clients {
        received,
        stop,
        thread: Some(thread),
    })
}

async fn drain(
    mut stream: tokio::net::TcpStream,
    mut buf: Vec<u8>,
    received: Arc<Received>,
    stop: Arc<AtomicBool>,
) {
    let mut chunk = vec![0u8; 64 * 1024];
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(200));
    loop {
        let n = tokio::select! {
            r = stream.read(&mut chunk) => match r {
                Ok(0) | Err(_) => {
                    received.closed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Ok(n) => n,
            },
            _ = tick.tick() => {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                continue;
            }
        };
        received.bytes.fetch_add(n as u64, Ordering::Relaxed);
        buf.extend_from_slice(&chunk[..n]);
        let mut used_total = 0;
        let mut pongs: Vec<Vec<u8>> = Vec::new();
        while let Ok(Some((frame, used))) = ws::parse(&buf[used_total..]) {
            match frame {
                ws::Frame::Text(t) if contains(t, br#""type":"event""#) => {
                    received.events.fetch_add(1, Ordering::Relaxed);
                }
                ws::Frame::Text(t) if contains(t, br#""type":"resync""#) => {
                    received.resyncs.fetch_add(1, Ordering::Relaxed);
                }
                ws::Frame::Ping(p) => pongs.push(ws::frame(0xA, p)),
                ws::Frame::Text(_) | ws::Frame::Close | ws::Frame::Other => {}
            }
            used_total += used;
        }
        buf.drain(..used_total);
        for pong in pongs {
            if stream.write_all(&pong).await.is_err() {
                return;
            }
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
