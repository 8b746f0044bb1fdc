//! Live WebSocket clients connected during the check-in load (`NENUFAR_BENCH_SOCKETS`): each one
//! subscribes to the hunt for live events and drains what it receives, answering pings, on a
//! runtime thread of its own so the HTTP load keeps its own. Counts event frames, bytes and
//! `resync` messages (a client too far behind), to say what the server delivered meanwhile.
//! A probe posts a game-master broadcast carrying its send time 4 times a second during the load;
//! every client notes how long each took to reach it: live delivery latency under load.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use memchr::memmem::Finder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../../examples/fanout_clients/ws.rs"]
mod ws;

/// Bytes a client reads at most per system call.
const READ_BUFFER: usize = 64 * 1024;

/// How a client tells events and `resync` apart from other text frames (a vectorised search: a
/// naive one cost the benchmark's client thread more CPU than the server spent per delivery).
static EVENT: std::sync::LazyLock<Finder<'static>> =
    std::sync::LazyLock::new(|| Finder::new(br#""type":"event""#));
static RESYNC: std::sync::LazyLock<Finder<'static>> =
    std::sync::LazyLock::new(|| Finder::new(br#""type":"resync""#));
static PROBE: std::sync::LazyLock<Finder<'static>> =
    std::sync::LazyLock::new(|| Finder::new(PROBE_MARKER));

/// Starts a probe broadcast's message; its send time follows (microseconds since the Unix epoch).
const PROBE_MARKER: &[u8] = b"probe-sent-us:";
/// Time between two probe broadcasts.
const PROBE_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Posts a probe broadcast every `PROBE_EVERY` until aborted.
pub async fn probe(client: reqwest::Client, base: String, hunt: String, staff: String) {
    let url = format!("{base}/v1/hunts/{hunt}/broadcast");
    let mut tick = tokio::time::interval(PROBE_EVERY);
    loop {
        tick.tick().await;
        let marker = String::from_utf8_lossy(PROBE_MARKER);
        let body = serde_json::json!({"message": format!("{marker}{}", now_us())});
        if let Err(e) = crate::api::post(&client, url.clone(), Some(&staff), body).await {
            eprintln!("checkin_http: a probe broadcast failed: {e}");
        }
    }
}

/// The send time a probe broadcast's frame carries.
fn probe_sent_us(text: &[u8]) -> Option<u64> {
    let at = PROBE.find(text)? + PROBE_MARKER.len();
    let digits = text[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&text[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

/// What the clients received, all together.
#[derive(Debug, Default)]
pub struct Received {
    pub events: AtomicU64,
    pub bytes: AtomicU64,
    pub resyncs: AtomicU64,
    pub closed: AtomicU64,
    /// Send-to-receive time of every probe broadcast at every client, microseconds.
    lags: std::sync::Mutex<Vec<u32>>,
}

impl Received {
    /// The probe latencies noted so far (microseconds).
    pub fn probe_lags(&self) -> Vec<u32> {
        self.lags.lock().map(|l| l.clone()).unwrap_or_default()
    }

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
    // Reads land straight after the carried-over bytes of an incomplete frame: no second copy.
    buf.reserve(READ_BUFFER);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(200));
    loop {
        if buf.capacity() - buf.len() < READ_BUFFER / 4 {
            buf.reserve(READ_BUFFER);
        }
        let n = tokio::select! {
            r = stream.read_buf(&mut buf) => match r {
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
        let (mut used_total, mut events, mut resyncs) = (0, 0, 0);
        let mut lags: Vec<u32> = Vec::new();
        let mut pongs: Vec<Vec<u8>> = Vec::new();
        while let Ok(Some((frame, used))) = ws::parse(&buf[used_total..]) {
            match frame {
                ws::Frame::Text(t) if EVENT.find(t).is_some() => {
                    events += 1;
                    if let Some(sent) = probe_sent_us(t) {
                        lags.push(now_us().saturating_sub(sent).min(u64::from(u32::MAX)) as u32);
                    }
                }
                ws::Frame::Text(t) if RESYNC.find(t).is_some() => resyncs += 1,
                ws::Frame::Ping(p) => pongs.push(ws::frame(0xA, p)),
                ws::Frame::Text(_) | ws::Frame::Close | ws::Frame::Other => {}
            }
            used_total += used;
        }
        buf.drain(..used_total);
        received.events.fetch_add(events, Ordering::Relaxed);
        received.resyncs.fetch_add(resyncs, Ordering::Relaxed);
        if !lags.is_empty() {
            if let Ok(mut all) = received.lags.lock() {
                all.extend(lags);
            }
        }
        for pong in pongs {
            if stream.write_all(&pong).await.is_err() {
                return;
            }
        }
    }
}
