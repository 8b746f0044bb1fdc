//! Benchmark (prints numbers, asserts nothing): one hunt-wide event a second fanned out to 10,000
//! idle WebSocket clients of one `nenufar serve` node, beside Redis pub/sub delivering a message
//! of the same size to 10,000 subscribers, in the same invocation.
//!
//! Starts `nenufar serve` (the release binary) as a child process against a fresh database, makes
//! one live hunt over HTTP and 10,000 registered players in SQL, then runs the load generator
//! (`examples/fanout_clients`, a separate process) whose clients all subscribe to the hunt with
//! `after: null`. Once they are subscribed and idle it reads the server's resident memory, then
//! posts one broadcast a second through `POST /v1/hunts/{id}/broadcast` (a 200-byte message holding
//! its sequence number and send time); every client notes each arrival. Latency = arrival - send
//! time (same machine clock), so it covers the whole path: HTTP, commit, sequencer, NOTIFY, the
//! node's feed, the socket writes, and the generator being scheduled. Then the server is stopped,
//! a private `redis-server` started, and the same generator subscribes 10,000 connections to one
//! channel; the same number of messages go out with PUBLISH, once a second, each as long as the
//! WebSocket frame the clients received.
//!
//! Run by `ops/bench-live.sh`, which starts a throwaway cluster (fsync off: this measures
//! delivery, not commit durability) and raises the descriptor limit; by hand:
//! `NENUFAR_BENCH_ADMIN_URL=postgresql:///postgres?user=postgres&host=DIR cargo bench --bench fanout`
//! after `cargo build --release --examples`. Knobs: `NENUFAR_BENCH_FANOUT_CLIENTS` (10000),
//! `NENUFAR_BENCH_FANOUT_EVENTS` (30 measured), `NENUFAR_BENCH_FANOUT_WARMUP` (2 events before
//! them, delivered and counted but left out of the latency figures), `NENUFAR_BENCH_FANOUT_MESSAGE_BYTES`
//! (200), `NENUFAR_BENCH_FANOUT_REDIS` (1; 0 skips the anchor), `NENUFAR_BENCH_POOL_SIZE` (the
//! server's `NENUFAR_DB_POOL_SIZE`), `NENUFAR_BENCH_SERVER_BIN` (another `nenufar` build to
//! measure), `NENUFAR_BENCH_FANOUT_GENERATOR`, `NENUFAR_BENCH_REDIS_SERVER`.
//! Without `--bench` (as under `cargo test`) it does nothing.
#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

mod generator;
mod procfs;
mod redis;
mod report;
#[allow(
    dead_code,
    reason = "shared with the leaderboard benchmark and the load generator"
)]
mod resp;
mod setup;

#[path = "../support/scratch.rs"]
mod scratch;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use generator::Generator;
use redis::RedisServer;
use report::{report, summary_lines};

const TOKEN_PREFIX: &str = "nfb-fanout-";
const CHANNEL: &str = "nfb-fanout";
/// How long the delivering process's CPU use is watched with every client idle.
const IDLE_WINDOW: Duration = Duration::from_secs(5);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}: cannot parse {v:?}")),
        Err(_) => Ok(default),
    }
}

struct Settings {
    admin: String,
    clients: usize,
    events: usize,
    warmup: usize,
    message_bytes: usize,
    redis: bool,
    pool_size: Option<String>,
}

fn main() -> anyhow::Result<()> {
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    println!(
        "fanout: limits profile: {} (the server's NENUFAR_LIMITS)",
        setup::LIMITS
    );
    let settings = Settings {
        admin: std::env::var("NENUFAR_BENCH_ADMIN_URL")
            .context("NENUFAR_BENCH_ADMIN_URL is not set: run ops/bench-live.sh")?,
        clients: env_or("NENUFAR_BENCH_FANOUT_CLIENTS", 10_000usize)?.max(1),
        events: env_or("NENUFAR_BENCH_FANOUT_EVENTS", 30usize)?.max(1),
        warmup: env_or("NENUFAR_BENCH_FANOUT_WARMUP", 2usize)?,
        message_bytes: env_or("NENUFAR_BENCH_FANOUT_MESSAGE_BYTES", 200usize)?.clamp(32, 1000),
        redis: env_or("NENUFAR_BENCH_FANOUT_REDIS", 1u8)? != 0,
        pool_size: std::env::var("NENUFAR_BENCH_POOL_SIZE").ok(),
    };
    if let Some(limit) = procfs::open_files_limit() {
        if (limit as usize) < settings.clients + 200 {
            bail!(
                "the open-files limit is {limit}, too low for {} clients: run `ulimit -n 20000` first \
                 (ops/bench-live.sh does)",
                settings.clients
            );
        }
    }
    generator::program()?;
    // One worker: this process only paces the messages and must take little CPU from the others
    // (multi-threaded all the same, as the migrations need).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let settings = &settings;
    scratch::run_then_drop(&rt, &settings.admin, "fanout", |db| async move {
        run(settings, &db).await
    })
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// A message `bytes` long carrying its sequence number and send time (read by the generator).
fn payload(seq: usize, bytes: usize) -> String {
    let mut s = format!("nfb:{seq:05}:{:016}:", now_us());
    while s.len() < bytes {
        s.push('.');
    }
    s
}

/// How the messages go out.
enum Publisher {
    Http {
        client: reqwest::Client,
        url: String,
        token: String,
    },
    Redis {
        conn: TcpStream,
        buf: Vec<u8>,
    },
}

impl Publisher {
    /// Sends one message; returns what the publishing side acknowledged (Redis: the receivers).
    async fn send(&mut self, message: String) -> anyhow::Result<Option<i64>> {
        match self {
            Self::Http { client, url, token } => {
                let resp = client
                    .post(url.as_str())
                    .bearer_auth(token.as_str())
                    .json(&json!({"message": message}))
                    .send()
                    .await?;
                if !resp.status().is_success() {
                    bail!("broadcast: {} {}", resp.status(), resp.text().await?);
                }
                Ok(None)
            }
            Self::Redis { conn, buf } => {
                let mut cmd = Vec::new();
                resp::command(
                    &mut cmd,
                    &[b"PUBLISH", CHANNEL.as_bytes(), message.as_bytes()],
                );
                conn.write_all(&cmd).await?;
                buf.clear();
                let mut chunk = [0u8; 64];
                loop {
                    let n = conn.read(&mut chunk).await?;
                    if n == 0 {
                        bail!("redis closed the publishing connection");
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some((reply, _)) = resp::parse(buf).map_err(anyhow::Error::msg)? {
                        return Ok(reply.as_i64());
                    }
                }
            }
        }
    }
}

/// One side's run: the generator's figures plus what this process saw.
struct Phase {
    name: &'static str,
    /// Messages sent before the measured ones.
    warmup: usize,
    subscribed: Value,
    /// Resident memory of the delivering process (server or redis), KiB.
    rss_before: u64,
    rss_idle: u64,
    rss_after: u64,
    generator_rss_idle: u64,
    /// Per message: send to acknowledgement (HTTP 204, or the PUBLISH reply), ms.
    acks_ms: Vec<f64>,
    receivers: Option<i64>,
    server_cpu_s: f64,
    /// The delivering process's CPU seconds per second with every client idle.
    idle_cpu_per_s: f64,
    generator_cpu_s: f64,
    window_s: f64,
    result: Value,
}

async fn measure(
    name: &'static str,
    settings: &Settings,
    pid: u32,
    args: Vec<String>,
    mut publisher: Publisher,
    bytes: usize,
) -> anyhow::Result<Phase> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = procfs::rss_kib(pid).context("reading the delivering process's memory")?;
    println!(
        "fanout {name}: {} clients subscribing (load average {:.2})",
        settings.clients,
        procfs::load1()
    );
    let mut generator = Generator::spawn(&args)?;
    let gen_pid = generator.pid().context("generator pid")?;
    let subscribed = generator.ready().await?;
    println!("fanout {name}: subscribed {subscribed}");
    // Let the last subscriptions settle into idleness before reading memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = procfs::rss_kib(pid).context("reading memory")?;
    let generator_rss_idle = procfs::rss_kib(gen_pid).unwrap_or(0);
    let cpu = || {
        (
            procfs::cpu_s(pid).unwrap_or(0.0),
            procfs::cpu_s(gen_pid).unwrap_or(0.0),
        )
    };
    // What the idle connections cost (pings, timers, polls), to tell it from the deliveries' cost.
    let (idle0, _) = cpu();
    tokio::time::sleep(IDLE_WINDOW).await;
    let idle_cpu_per_s = (cpu().0 - idle0) / IDLE_WINDOW.as_secs_f64();
    let (server0, gen0) = cpu();
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut acks_ms = Vec::new();
    let mut receivers = None;
    for seq in 0..settings.warmup + settings.events {
        tick.tick().await;
        let sent = Instant::now();
        receivers = publisher.send(payload(seq, bytes)).await?.or(receivers);
        acks_ms.push(sent.elapsed().as_secs_f64() * 1e3);
    }
    // The generator waits for stragglers (at most its grace period) before it answers.
    let result = generator.finish().await?;
    let window_s = started.elapsed().as_secs_f64();
    // The generator has exited: it reported its own CPU time.
    let (server1, gen1) = (
        procfs::cpu_s(pid).unwrap_or(0.0),
        result["cpu_s"].as_f64().unwrap_or(gen0),
    );
    let rss_after = procfs::rss_kib(pid).unwrap_or(0);
    println!("fanout {name}: done (load average {:.2})", procfs::load1());
    Ok(Phase {
        name,
        warmup: settings.warmup,
        subscribed,
        rss_before,
        rss_idle,
        rss_after,
        generator_rss_idle,
        acks_ms,
        receivers,
        server_cpu_s: server1 - server0,
        idle_cpu_per_s,
        generator_cpu_s: gen1 - gen0,
        window_s,
        result,
    })
}

async fn run(settings: &Settings, db: &str) -> anyhow::Result<()> {
    let url = settings.admin.replacen("/postgres?", &format!("/{db}?"), 1);
    let mut admin = AsyncPgConnection::establish(&settings.admin).await?;
    diesel::sql_query(format!("create database {db}"))
        .execute(&mut admin)
        .await?;
    nenufar::db::migrate::run_pending(&url).await?;
    let mut server = setup::start_server(&url, settings.pool_size.as_deref())?;
    let client = reqwest::Client::new();
    setup::wait_ready(&mut server, &client).await?;
    let base = format!("http://{}", server.addr);
    let start = Instant::now();
    let (hunt, staff) = setup::live_hunt(&url, &base, &client).await?;
    setup::players(&url, settings.clients, TOKEN_PREFIX).await?;
    println!(
        "fanout: live hunt and {} players with tokens set up in {:.1} s; server pool size {}",
        settings.clients,
        start.elapsed().as_secs_f64(),
        settings.pool_size.as_deref().unwrap_or("default")
    );
    // Open the server's database pool before the memory baseline, so the baseline holds it.
    let warm: Vec<_> = (0..64)
        .map(|_| client.get(format!("{base}/readyz")).send())
        .collect();
    futures_util::future::join_all(warm).await;

    let total = settings.warmup + settings.events;
    let args = |mode: &str, addr: String, what: Vec<String>| {
        let mut a = vec![mode.to_owned(), addr];
        a.extend(what);
        a.extend([
            settings.clients.to_string(),
            total.to_string(),
            settings.warmup.to_string(),
        ]);
        a
    };
    let ours = measure(
        "nenufar",
        settings,
        server.child.id(),
        args(
            "ws",
            server.addr.to_string(),
            vec![hunt.clone(), TOKEN_PREFIX.to_owned()],
        ),
        Publisher::Http {
            client: client.clone(),
            url: format!("{base}/v1/hunts/{hunt}/broadcast"),
            token: staff,
        },
        settings.message_bytes,
    )
    .await?;
    if let Some(status) = server.child.try_wait()? {
        bail!(
            "nenufar serve exited with {status}; log: {}",
            server.log.display()
        );
    }
    drop(server);
    report(&ours);

    let anchor = if settings.redis {
        // Each subscriber receives as many payload bytes as a WebSocket client received.
        let bytes = ours.result["frame_bytes"]
            .as_u64()
            .map_or(settings.message_bytes, |b| b as usize)
            .max(32);
        let redis = RedisServer::start(20_000)?;
        let addr = format!("127.0.0.1:{}", redis.port);
        let conn = TcpStream::connect(&addr).await?;
        conn.set_nodelay(true)?;
        let phase = measure(
            "Redis",
            settings,
            redis.pid(),
            args("redis", addr, vec![CHANNEL.to_owned()]),
            Publisher::Redis {
                conn,
                buf: Vec::new(),
            },
            bytes,
        )
        .await?;
        println!("fanout Redis: redis-server {}", RedisServer::version());
        report(&phase);
        Some(phase)
    } else {
        None
    };
    summary_lines(settings, &ours, anchor.as_ref());
    Ok(())
}
