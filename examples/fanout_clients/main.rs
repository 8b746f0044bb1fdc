//! Load generator of `benches/fanout`, in its own process (never the server's): N idle subscribers,
//! either WebSocket clients of `nenufar serve` or Redis pub/sub subscribers (the anchor), each
//! noting when every message arrives. Latency = arrival - the send time written in the message
//! (one machine, one clock). Knows nothing of how the messages are produced.
//!
//! Usage (the benchmark runs it; by hand only to debug):
//!   fanout_clients ws    <host:port> <hunt_id> <token_prefix> <clients> <messages> <warmup>
//!   fanout_clients redis <host:port> <channel>                <clients> <messages> <warmup>
//! WebSocket client i (1..=clients) authenticates with the bearer token `<token_prefix><i>` and
//! subscribes to the hunt with `after: null`; a Redis client SUBSCRIBEs to the channel. Both
//! clients are hand-written and equally lean (`ws.rs`, `pubsub.rs`): one read buffer, no copy of a
//! message beyond it, so the two servers are compared through the same client cost.
//! Messages carry `nfb:<seq, 5 digits>:<send time, microseconds since the epoch, 16 digits>:` in
//! their payload; those with seq < warmup are counted but left out of the latency figures.
//!
//! On stdio: once every client has subscribed (or failed) it prints `ready {json}`; the parent then
//! sends the messages and writes `end`; the generator waits until every client has every message
//! (at most `NENUFAR_BENCH_FANOUT_GRACE_MS`, 10,000 ms), prints `result {json}` and exits.
#![expect(
    clippy::print_stdout,
    reason = "stdout is the channel to the benchmark"
)]

mod pubsub;
#[allow(
    dead_code,
    reason = "shared with the benchmarks, which use other parts of it"
)]
#[path = "../../benches/fanout/resp.rs"]
mod resp;
mod ws;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, watch};

/// Connections being opened at once (the server's listen backlog and pool stay comfortable).
const CONNECTING: usize = 256;
const MARKER: &[u8] = b"nfb:";

#[derive(Clone)]
enum Target {
    Ws {
        addr: String,
        hunt: String,
        token_prefix: String,
    },
    Redis {
        addr: String,
        channel: String,
    },
}

/// What one client saw.
#[derive(Default)]
struct Seen {
    /// (seq, latency in microseconds) per message, in arrival order.
    deliveries: Vec<(u32, i64)>,
    duplicates: u64,
    unexpected: u64,
    disconnected: bool,
    frame_bytes: usize,
}

/// Counters every client updates.
#[derive(Default)]
struct Shared {
    subscribed: AtomicUsize,
    failed: AtomicUsize,
    deliveries: AtomicU64,
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// The (seq, send time) written in a message, if it carries one.
fn stamp(payload: &[u8]) -> Option<(u32, i64)> {
    let at = payload.windows(MARKER.len()).position(|w| w == MARKER)? + MARKER.len();
    let field = |from: usize, len: usize| {
        std::str::from_utf8(payload.get(from..from + len)?)
            .ok()?
            .parse::<i64>()
            .ok()
    };
    Some((field(at, 5)? as u32, field(at + 6, 16)?))
}

impl Seen {
    fn note(&mut self, payload: &[u8], arrived_us: i64, seen: &mut [bool], shared: &Shared) {
        self.frame_bytes = payload.len();
        let Some((seq, sent_us)) = stamp(payload) else {
            self.unexpected += 1;
            return;
        };
        match seen.get_mut(seq as usize) {
            Some(true) => self.duplicates += 1,
            Some(flag) => {
                *flag = true;
                self.deliveries.push((seq, arrived_us - sent_us));
                shared.deliveries.fetch_add(1, Ordering::Relaxed);
            }
            None => self.unexpected += 1,
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: fanout_clients ws <host:port> <hunt_id> <token_prefix> <clients> <messages> <warmup>\n       fanout_clients redis <host:port> <channel> <clients> <messages> <warmup>";
    let (target, rest) = match args.first().map(String::as_str) {
        Some("ws") if args.len() == 7 => (
            Target::Ws {
                addr: args[1].clone(),
                hunt: args[2].clone(),
                token_prefix: args[3].clone(),
            },
            &args[4..],
        ),
        Some("redis") if args.len() == 6 => (
            Target::Redis {
                addr: args[1].clone(),
                channel: args[2].clone(),
            },
            &args[3..],
        ),
        _ => bail!("{usage}"),
    };
    let clients: usize = rest[0].parse().context("clients")?;
    let messages: usize = rest[1].parse().context("messages")?;
    let warmup: usize = rest[2].parse().context("warmup")?;
    let grace = Duration::from_millis(
        std::env::var("NENUFAR_BENCH_FANOUT_GRACE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(target, clients, messages, warmup, grace))
}

async fn run(
    target: Target,
    clients: usize,
    messages: usize,
    warmup: usize,
    grace: Duration,
) -> anyhow::Result<()> {
    let shared = Arc::new(Shared::default());
    let connecting = Arc::new(Semaphore::new(CONNECTING));
    let (stop_tx, stop_rx) = watch::channel(false);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for i in 1..=clients {
        let (target, shared, connecting, stop) = (
            target.clone(),
            shared.clone(),
            connecting.clone(),
            stop_rx.clone(),
        );
        tasks.push(tokio::spawn(async move {
            client(i, target, messages, &shared, &connecting, stop).await
        }));
    }
    while shared.subscribed.load(Ordering::Acquire) + shared.failed.load(Ordering::Acquire)
        < clients
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let subscribed = shared.subscribed.load(Ordering::Acquire);
    println!(
        "ready {}",
        json!({"subscribed": subscribed, "failed": shared.failed.load(Ordering::Acquire),
               "seconds": started.elapsed().as_secs_f64()})
    );

    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        if line.trim() == "end" {
            break;
        }
    }
    let expected = (subscribed * messages) as u64;
    let deadline = Instant::now() + grace;
    while shared.deliveries.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_tx.send(true);
    let mut all = Vec::with_capacity(clients);
    for t in tasks {
        match t.await {
            Ok(Ok(seen)) => all.push(seen),
            Ok(Err(_)) => {}
            Err(e) => eprintln!("fanout_clients: a client task failed: {e}"),
        }
    }
    let mut result = summary(&all, messages, warmup);
    result["cpu_s"] = json!(own_cpu_s());
    println!("result {result}");
    Ok(())
}

/// Runs one client: connects and subscribes (holding a `connecting` permit), then records messages
/// until `stop`.
async fn client(
    i: usize,
    target: Target,
    messages: usize,
    shared: &Shared,
    connecting: &Semaphore,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Seen> {
    let permit = connecting.acquire().await?;
    let outcome = match &target {
        Target::Ws {
            addr,
            hunt,
            token_prefix,
        } => ws::subscribe(addr, hunt, &format!("{token_prefix}{i}")).await,
        Target::Redis { addr, channel } => pubsub::subscribe(addr, channel).await,
    };
    drop(permit);
    let (stream, buf) = match outcome {
        Ok(conn) => {
            shared.subscribed.fetch_add(1, Ordering::Release);
            conn
        }
        Err(e) => {
            if shared.failed.fetch_add(1, Ordering::Release) < 5 {
                eprintln!("fanout_clients: client {i} could not subscribe: {e:#}");
            }
            return Err(e);
        }
    };
    let mut seen = Seen {
        deliveries: Vec::with_capacity(messages),
        ..Seen::default()
    };
    let mut flags = vec![false; messages];
    let ws = matches!(target, Target::Ws { .. });
    listen(stream, buf, ws, &mut seen, &mut flags, shared, stop).await;
    Ok(seen)
}

/// Reads messages until `stop`, noting each arrival; answers WebSocket pings.
async fn listen(
    mut stream: TcpStream,
    mut buf: Vec<u8>,
    ws: bool,
    seen: &mut Seen,
    flags: &mut [bool],
    shared: &Shared,
    mut stop: watch::Receiver<bool>,
) {
    let mut chunk = [0u8; 4096];
    let mut replies = Vec::new();
    let mut arrived = now_us();
    loop {
        let ok = if ws {
            ws_messages(&mut buf, arrived, seen, flags, shared, &mut replies)
        } else {
            redis_messages(&mut buf, arrived, seen, flags, shared)
        };
        if !ok || (!replies.is_empty() && stream.write_all(&replies).await.is_err()) {
            seen.disconnected = true;
            return;
        }
        replies.clear();
        tokio::select! {
            n = stream.read(&mut chunk) => {
                arrived = now_us();
                match n {
                    Ok(0) | Err(_) => {
                        seen.disconnected = true;
                        return;
                    }
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Notes every complete WebSocket frame in `buf` and drops it; queues pongs. False on a close.
fn ws_messages(
    buf: &mut Vec<u8>,
    arrived: i64,
    seen: &mut Seen,
    flags: &mut [bool],
    shared: &Shared,
    replies: &mut Vec<u8>,
) -> bool {
    let mut at = 0;
    let mut open = true;
    while let Ok(Some((frame, used))) = ws::parse(&buf[at..]) {
        match frame {
            ws::Frame::Text(t) => seen.note(t, arrived, flags, shared),
            ws::Frame::Ping(p) => replies.extend(ws::frame(0xA, p)),
            ws::Frame::Close => open = false,
            ws::Frame::Other => {}
        }
        at += used;
    }
    buf.drain(..at);
    open && ws::parse(buf).is_ok()
}

/// Notes every complete pub/sub message in `buf` and drops it. False on bytes that are not RESP.
fn redis_messages(
    buf: &mut Vec<u8>,
    arrived: i64,
    seen: &mut Seen,
    flags: &mut [bool],
    shared: &Shared,
) -> bool {
    let mut at = 0;
    loop {
        match resp::parse(&buf[at..]) {
            Ok(Some((reply, used))) => {
                at += used;
                match reply {
                    resp::Reply::Array(Some(items)) if items.len() == 3 => {
                        if let resp::Reply::Bulk(Some(payload)) = &items[2] {
                            seen.note(payload, arrived, flags, shared);
                        }
                    }
                    _ => seen.unexpected += 1,
                }
            }
            Ok(None) => break,
            Err(_) => return false,
        }
    }
    buf.drain(..at);
    true
}

/// This process's CPU time so far (user + system), seconds, at 100 clock ticks a second.
fn own_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// The `p` quantile (0 to 1) of sorted values.
fn quantile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(us: i64) -> f64 {
    us as f64 / 1000.0
}

fn summary(all: &[Seen], messages: usize, warmup: usize) -> serde_json::Value {
    let mut per_seq: Vec<Vec<i64>> = vec![Vec::with_capacity(all.len()); messages];
    for s in all {
        for &(seq, lat) in &s.deliveries {
            per_seq[seq as usize].push(lat);
        }
    }
    let mut measured: Vec<i64> = per_seq[warmup.min(messages)..]
        .iter()
        .flatten()
        .copied()
        .collect();
    measured.sort_unstable();
    let per_message: Vec<_> = per_seq
        .iter_mut()
        .enumerate()
        .map(|(seq, lats)| {
            lats.sort_unstable();
            json!({"seq": seq, "received": lats.len(), "first_ms": ms(quantile(lats, 0.0)),
                   "p50_ms": ms(quantile(lats, 0.5)), "p99_ms": ms(quantile(lats, 0.99)),
                   "last_ms": ms(quantile(lats, 1.0))})
        })
        .collect();
    json!({
        "clients": all.len(),
        "deliveries": all.iter().map(|s| s.deliveries.len()).sum::<usize>(),
        "expected": all.len() * messages,
        "duplicates": all.iter().map(|s| s.duplicates).sum::<u64>(),
        "unexpected": all.iter().map(|s| s.unexpected).sum::<u64>(),
        "disconnected": all.iter().filter(|s| s.disconnected).count(),
        "frame_bytes": all.iter().map(|s| s.frame_bytes).max().unwrap_or(0),
        "measured": {
            "deliveries": measured.len(),
            "expected": all.len() * messages.saturating_sub(warmup),
            "p50_ms": ms(quantile(&measured, 0.50)),
            "p90_ms": ms(quantile(&measured, 0.90)),
            "p99_ms": ms(quantile(&measured, 0.99)),
            "p999_ms": ms(quantile(&measured, 0.999)),
            "max_ms": ms(quantile(&measured, 1.0)),
        },
        "per_message": per_message,
    })
}
