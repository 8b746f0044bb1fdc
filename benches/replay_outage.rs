//! Benchmark (prints numbers, asserts nothing): the outage of issue 9 item 1. WebSocket clients
//! subscribe with `"after": 0` to a hunt with a long history and never read (4 KiB receive
//! buffers, so every replay is stuck on its socket); meanwhile one client sends check-ins and a
//! game master reads the hunt, one request at a time, and their latencies are measured. For each
//! history size and each count of stuck subscribers it prints p50, p99 and the worst latency, the
//! 5xx answers and whether p99 stays under 100 ms (the goal: always, up to the connection limits).
//!
//! Run by `ops/bench-live.sh replay_outage` (its own cluster); by hand:
//! `NENUFAR_BENCH_ADMIN_URL=postgresql:///postgres?user=postgres&host=DIR cargo bench --bench
//! replay_outage`. Knobs: `NENUFAR_BENCH_OUTAGE_SUBSCRIBERS` (counts, default `0,26,80,250,1000`),
//! `NENUFAR_BENCH_OUTAGE_HISTORY_MB` (sizes, default `10,20`: a replay is only stuck once the
//! history exceeds what the kernel buffers for the socket, a few MB), `NENUFAR_BENCH_OUTAGE_REQUESTS`
//! (per step, default 200), `NENUFAR_BENCH_POOL_SIZE` (default 24, the server's default). The
//! node, its clients and the probes share this process (2 cores): the figures are relative.
//! Limits: the `load-test` profile (the probes are one player sending 100 check-ins back to
//! back) with the default WebSocket limits (4 sessions per player, 1,000 per address: the stuck
//! clients are distinct players on one address, so 1,000 is as many as one address may hold).
//! Without `--bench` it does nothing.
#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

#[path = "support/api.rs"]
mod api;
#[path = "support/scratch.rs"]
mod scratch;

use std::time::{Duration, Instant};

use anyhow::Context;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use nenufar::limits::config::{LimitsConfig, Profile};

use api::{field, live_hunt, owner_token, post};

fn list(var: &str, default: &str) -> Vec<usize> {
    std::env::var(var)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

fn number(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    let admin = std::env::var("NENUFAR_BENCH_ADMIN_URL")
        .context("NENUFAR_BENCH_ADMIN_URL is not set: run ops/bench-live.sh replay_outage")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let admin = admin.as_str();
    for mb in list("NENUFAR_BENCH_OUTAGE_HISTORY_MB", "10,20") {
        scratch::run_then_drop(&rt, admin, "outage", |db| async move {
            history(admin, &db, mb).await
        })?;
    }
    Ok(())
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A client that subscribes from the start of the hunt and then reads nothing.
async fn stuck(addr: std::net::SocketAddr, token: &str, hunt: &str) -> anyhow::Result<Ws> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(4096)?;
    let stream = socket.connect(addr).await?;
    let mut req = format!("ws://{addr}/v1/live").into_client_request()?;
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    let (mut ws, _) =
        tokio_tungstenite::client_async(req, tokio_tungstenite::MaybeTlsStream::Plain(stream))
            .await?;
    let subscribe = json!({"type": "subscribe", "hunt_id": hunt, "after": 0});
    ws.send(Message::Text(subscribe.to_string().into())).await?;
    Ok(ws)
}

async fn history(admin: &str, db: &str, mb: usize) -> anyhow::Result<()> {
    let url = admin.replacen("/postgres?", &format!("/{db}?"), 1);
    let mut conn = AsyncPgConnection::establish(admin).await?;
    diesel::sql_query(format!("create database {db}"))
        .execute(&mut conn)
        .await?;
    nenufar::db::migrate::run_pending(&url).await?;
    let pool_size = number("NENUFAR_BENCH_POOL_SIZE", 24);
    let defaults = LimitsConfig::profile(Profile::Default);
    let limits = LimitsConfig {
        live_per_player: defaults.live_per_player,
        live_per_address: defaults.live_per_address,
        ..LimitsConfig::profile(Profile::LoadTest)
    };
    let pool = nenufar::db::connect_with_wait(&url, pool_size, limits.db_pool_wait)?;
    let state = nenufar::app::AppState::new(pool).with_limits(limits);
    state.start_background(url.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let router = nenufar::http::router(state.clone());
    tokio::spawn(nenufar::http::serve::serve(
        listener,
        router,
        state.ctx.limits.clone(),
        std::future::pending(),
    ));
    let client = reqwest::Client::new();
    let staff = owner_token(&state, &base, &client, "bench-outage@brand.example").await?;
    let target = json!({"type": "Feature",
        "geometry": {"type": "Point", "coordinates": [2.29448, 48.85837]},
        "properties": {"name": "Tour Eiffel", "radius_m": 40, "points": 5}});
    let hunt = live_hunt(&base, &client, &staff, "Outage", json!({}), vec![target]).await?;
    let prober = post(
        &client,
        format!("{base}/v1/players"),
        None,
        json!({"handle": "prober"}),
    )
    .await?;
    let prober = field(&prober, "token")?;
    post(
        &client,
        format!("{base}/v1/hunts/{hunt}/teams"),
        Some(&prober),
        json!({"name": "Probes"}),
    )
    .await?;
    let events = mb * 1024 * 1024 / 1000;
    let mut conn = AsyncPgConnection::establish(&url).await?;
    diesel::sql_query(format!(
        "insert into events (hunt_id, kind, team_id, data) \
         select '{hunt}', 'broadcast', null, \
                jsonb_build_object('message', 'old ' || n || ' ' || repeat('x', 1000), 'team_id', null) \
         from generate_series(1, {events}) as n order by n"
    ))
    .execute(&mut conn)
    .await?;
    println!(
        "replay outage: {mb} MB of history ({events} broadcasts of 1 kB), pool of {pool_size}, \
         limits profile load-test with the default WebSocket limits (4 per player, 1,000 per address)"
    );
    let requests = number("NENUFAR_BENCH_OUTAGE_REQUESTS", 200);
    let mut tokens = Vec::new();
    for n in list("NENUFAR_BENCH_OUTAGE_SUBSCRIBERS", "0,26,80,250,1000") {
        while tokens.len() < n {
            let p = post(
                &client,
                format!("{base}/v1/players"),
                None,
                json!({"handle": format!("stuck{}", tokens.len())}),
            )
            .await?;
            tokens.push(field(&p, "token")?);
        }
        let mut clients = Vec::new();
        for t in &tokens[..n] {
            clients.push(stuck(addr, t, &hunt).await?);
        }
        // Give the replays time to start and fill the sockets (reported, not awaited forever).
        let deadline = Instant::now() + Duration::from_secs(30);
        while state.hub.replays() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let replaying = state.hub.replays();
        let mut latencies = Vec::with_capacity(requests);
        let mut failed = 0;
        for i in 0..requests {
            let started = Instant::now();
            let status = if i % 2 == 0 {
                let body = json!({"lat": 48.80 + (i % 100) as f64 * 1e-3, "lon": 2.45, "accuracy_m": 5.0,
                    "captured_at": chrono::Utc::now(), "idempotency_key": uuid::Uuid::new_v4()});
                client
                    .post(format!("{base}/v1/hunts/{hunt}/checkins"))
                    .bearer_auth(&prober)
                    .json(&body)
                    .timeout(Duration::from_secs(35))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            } else {
                client
                    .get(format!("{base}/v1/hunts/{hunt}"))
                    .bearer_auth(&staff)
                    .timeout(Duration::from_secs(35))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            };
            latencies.push(started.elapsed());
            if !matches!(status, Ok(200)) {
                failed += 1;
            }
        }
        latencies.sort_unstable();
        let at =
            |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
        let p99 = at(0.99);
        println!(
            "  {n:>4} stuck subscribers ({replaying} replaying): p50 {:>7.1} ms, p99 {:>7.1} ms, \
             worst {:>7.1} ms, {failed} of {requests} not 200; p99 under 100 ms: {}",
            at(0.5).as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            latencies[latencies.len() - 1].as_secs_f64() * 1e3,
            if p99 < Duration::from_millis(100) {
                "yes"
            } else {
                "NO"
            }
        );
        drop(clients);
        let deadline = Instant::now() + Duration::from_secs(30);
        while state.hub.replays() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}
