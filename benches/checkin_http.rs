//! Benchmark (prints numbers, asserts nothing): check-ins end to end over HTTP with durable commit,
//! beside the same check-in written as one PostGIS statement driven by pgbench, on the same cluster.
//!
//! Starts `nenufar serve` (the release binary) as a child process on a free port against a fresh
//! database, sets up one live hunt over HTTP (10,000 circle targets in Paris, 640 players in 64
//! teams), then 64 keep-alive connections post check-ins (unique keys, captured now, fixes spread
//! over the city) for a warm-up and a measured window: check-ins/s and latency percentiles. Then
//! pgbench at 64 clients (-j 2), same database, same duration, one statement per check-in: GiST
//! prefilter + spheroid test against the hunt's targets, insert the finds, insert the check-in.
//! The load generator writes raw HTTP/1.1 (as wrk would), so its own cost stays small on 2 cores.
//!
//! Run by `ops/bench.sh`, which starts a durable cluster (fsync on); by hand:
//! `NENUFAR_BENCH_ADMIN_URL=postgresql:///postgres?user=postgres&host=DIR cargo bench --bench checkin_http`.
//! Knobs: `NENUFAR_BENCH_SECONDS` (20), `NENUFAR_BENCH_WARMUP_SECONDS` (3), `NENUFAR_BENCH_CONNECTIONS` (64),
//! `NENUFAR_BENCH_POOL_SIZE` (passed to the server as `NENUFAR_DB_POOL_SIZE`; unset: its default),
//! `NENUFAR_BENCH_PGBENCH` (`/usr/lib/postgresql/15/bin/pgbench`).
//! Without `--bench` (as under `cargo test` or nextest) it does nothing.
#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TARGETS: usize = 10_000;
const TEAMS: usize = 64;
const TEAM_SIZE: usize = 10;
const LON: (f64, f64) = (2.22, 2.47);
const LAT: (f64, f64) = (48.81, 48.90);
/// Largest target radius, metres: the constant outer radius of the baseline's GiST prefilter.
const MAX_RADIUS_M: f64 = 60.0;

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
    seconds: u64,
    warmup: u64,
    connections: usize,
    pool_size: Option<String>,
    pgbench: String,
}

fn main() -> anyhow::Result<()> {
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    let settings = Settings {
        admin: std::env::var("NENUFAR_BENCH_ADMIN_URL")
            .context("NENUFAR_BENCH_ADMIN_URL is not set: run ops/bench.sh, or set it to the postgres database URL of a cluster")?,
        seconds: env_or("NENUFAR_BENCH_SECONDS", 20)?,
        warmup: env_or("NENUFAR_BENCH_WARMUP_SECONDS", 3)?,
        connections: env_or("NENUFAR_BENCH_CONNECTIONS", 64)?,
        pool_size: std::env::var("NENUFAR_BENCH_POOL_SIZE").ok(),
        pgbench: env_or("NENUFAR_BENCH_PGBENCH", "/usr/lib/postgresql/15/bin/pgbench".to_owned())?,
    };
    let db = format!(
        "nenufar_bench_http_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let outcome = rt.block_on(run(&settings, &db));
    rt.block_on(async {
        let mut conn = AsyncPgConnection::establish(&settings.admin).await?;
        diesel::sql_query(format!("drop database if exists {db} with (force)"))
            .execute(&mut conn)
            .await?;
        anyhow::Ok(())
    })?;
    outcome
}

/// The server child process, killed when dropped.
struct Server {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(url: &str, settings: &Settings) -> anyhow::Result<(Server, SocketAddr)> {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let log = std::env::temp_dir().join(format!("nenufar-bench-serve-{}.log", addr.port()));
    let out = std::fs::File::create(&log)?;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nenufar"));
    cmd.arg("serve")
        .env("NENUFAR_DATABASE_URL", url)
        .env("NENUFAR_BIND", addr.to_string())
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    if let Some(size) = &settings.pool_size {
        cmd.env("NENUFAR_DB_POOL_SIZE", size);
    }
    Ok((
        Server {
            child: cmd.spawn().context("starting nenufar serve")?,
            log,
        },
        addr,
    ))
}

async fn wait_ready(
    server: &mut Server,
    base: &str,
    client: &reqwest::Client,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(status) = server.child.try_wait()? {
            bail!(
                "nenufar serve exited with {status}; log: {}",
                server.log.display()
            );
        }
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!(
        "nenufar serve did not become healthy in 60 s; log: {}",
        server.log.display()
    )
}

async fn post(
    client: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> anyhow::Result<Value> {
    let mut req = client.post(&url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await?;
    let status = resp.status();
    let value: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("POST {url}: {status} {value}");
    }
    Ok(value)
}

fn field(v: &Value, key: &str) -> anyhow::Result<String> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no {key} in {v}"))
}

/// A live hunt with its targets, players and teams, made through the API. Returns the hunt id and
/// every player's (id, token).
async fn set_up(
    url: &str,
    base: &str,
    client: &reqwest::Client,
) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let state = nenufar::app::AppState::new(nenufar::db::connect(url, 2)?);
    let email = "bench-owner@brand.example";
    nenufar::service::orgs::create_org(&state.ctx, "Bench", email, "correct horse battery".into())
        .await
        .map_err(|e| anyhow::anyhow!("create_org: {e}"))?;
    let login = post(
        client,
        format!("{base}/v1/staff/login"),
        None,
        json!({"email": email, "password": "correct horse battery"}),
    )
    .await?;
    let staff = field(&login, "token")?;
    let now = Utc::now();
    let area = json!({"type": "Polygon", "coordinates": [[[2.2, 48.8], [2.5, 48.8], [2.5, 48.93], [2.2, 48.93], [2.2, 48.8]]]});
    let hunt = post(
        client,
        format!("{base}/v1/hunts"),
        Some(&staff),
        json!({"title": "Benchmark hunt", "city": "Paris", "area": area,
               "teaser_at": now - chrono::Duration::hours(1), "live_at": now - chrono::Duration::minutes(1),
               "ends_at": now + chrono::Duration::days(1),
               "rules": {"accuracy_policy": "centre", "max_accuracy_m": 50, "team_max_size": TEAM_SIZE}}),
    )
    .await?;
    let hunt = field(&hunt, "id")?;
    let mut rng = StdRng::seed_from_u64(0x6e65_6e75);
    let features: Vec<Value> = (0..TARGETS)
        .map(|i| {
            let (lat, lon) = (rng.random_range(LAT.0..LAT.1), rng.random_range(LON.0..LON.1));
            json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                   "properties": {"name": format!("target {i}"), "radius_m": rng.random_range(10.0..MAX_RADIUS_M), "points": 1 + i % 5}})
        })
        .collect();
    post(
        client,
        format!("{base}/v1/hunts/{hunt}/targets/import"),
        Some(&staff),
        json!({"type": "FeatureCollection", "features": features}),
    )
    .await?;
    post(
        client,
        format!("{base}/v1/hunts/{hunt}/publish"),
        Some(&staff),
        json!({}),
    )
    .await?;

    let mut players = Vec::new();
    for team in 0..TEAMS {
        let mut set = tokio::task::JoinSet::new();
        for member in 0..TEAM_SIZE {
            let (client, base) = (client.clone(), base.to_owned());
            set.spawn(async move {
                let p = post(
                    &client,
                    format!("{base}/v1/players"),
                    None,
                    json!({"handle": format!("bench_{team}_{member}")}),
                )
                .await?;
                anyhow::Ok((field(&p, "player_id")?, field(&p, "token")?))
            });
        }
        let members: Vec<(String, String)> = set
            .join_all()
            .await
            .into_iter()
            .collect::<anyhow::Result<_>>()?;
        let created = post(
            client,
            format!("{base}/v1/hunts/{hunt}/teams"),
            Some(&members[0].1),
            json!({"name": format!("team {team}")}),
        )
        .await?;
        let code = field(&created, "invite_code")?;
        for (_, token) in &members[1..] {
            post(
                client,
                format!("{base}/v1/teams/join"),
                Some(token),
                json!({"invite_code": code}),
            )
            .await?;
        }
        players.extend(members);
    }
    Ok((hunt, players))
}

/// What one load connection saw in the measured window.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
    verdicts: BTreeMap<String, u64>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Sends one request and reads one response on a keep-alive connection: (status, body).
async fn exchange(
    stream: &mut TcpStream,
    request: &[u8],
    buf: &mut Vec<u8>,
) -> anyhow::Result<(u16, Vec<u8>)> {
    stream.write_all(request).await?;
    buf.clear();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = find(buf, b"\r\n\r\n") {
            break pos + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("the server closed the connection");
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end])?;
    let status: u16 = head.get(9..12).context("short status line")?.parse()?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.trim().parse())
        })
        .context("response without content-length")??;
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("the server closed the connection mid-body");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok((status, buf[head_end..head_end + length].to_vec()))
}

fn verdict_of(body: &[u8]) -> String {
    let key = b"\"verdict\":\"";
    find(body, key)
        .and_then(|at| {
            let rest = &body[at + key.len()..];
            rest.iter()
                .position(|&b| b == b'"')
                .map(|end| String::from_utf8_lossy(&rest[..end]).into_owned())
        })
        .unwrap_or_else(|| "(none)".into())
}

/// One connection posting check-ins back to back until `end`; records those completed in [`from`, `end`].
async fn load_connection(
    addr: SocketAddr,
    hunt: String,
    tokens: Vec<String>,
    seed: u64,
    from: Instant,
    end: Instant,
) -> anyhow::Result<Tally> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tally = Tally::default();
    let mut buf = Vec::with_capacity(16 * 1024);
    for k in 0.. {
        let body = format!(
            r#"{{"lat":{},"lon":{},"accuracy_m":{},"captured_at":"{}","idempotency_key":"{}"}}"#,
            rng.random_range(LAT.0..LAT.1),
            rng.random_range(LON.0..LON.1),
            rng.random_range(5.0..30.0),
            Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            uuid::Uuid::new_v4()
        );
        let request = format!(
            "POST /v1/hunts/{hunt}/checkins HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            tokens[k % tokens.len()],
            body.len()
        );
        let sent = Instant::now();
        let (status, body) = exchange(&mut stream, request.as_bytes(), &mut buf).await?;
        let done = Instant::now();
        if done > end {
            break;
        }
        if done >= from {
            tally
                .latencies_us
                .push(done.duration_since(sent).as_micros().min(u32::MAX as u128) as u32);
            *tally.statuses.entry(status).or_default() += 1;
            *tally.verdicts.entry(verdict_of(&body)).or_default() += 1;
        }
    }
    Ok(tally)
}

fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted_us.len() as f64 * p).ceil() as usize).clamp(1, sorted_us.len()) - 1;
    sorted_us[i] as f64 / 1000.0
}

async fn run(settings: &Settings, db: &str) -> anyhow::Result<()> {
    let url = settings.admin.replacen("/postgres?", &format!("/{db}?"), 1);
    let mut admin = AsyncPgConnection::establish(&settings.admin).await?;
    diesel::sql_query(format!("create database {db}"))
        .execute(&mut admin)
        .await?;
    nenufar::db::migrate::run_pending(&url).await?;
    let (mut server, addr) = start_server(&url, settings)?;
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();
    wait_ready(&mut server, &base, &client).await?;
    let start = Instant::now();
    let (hunt, players) = set_up(&url, &base, &client).await?;
    println!(
        "checkin_http: hunt with {TARGETS} circle targets, {} players in {TEAMS} teams set up over HTTP in {:.1} s",
        players.len(),
        start.elapsed().as_secs_f64()
    );

    let conns = settings.connections.max(1);
    let from = Instant::now() + Duration::from_secs(settings.warmup);
    let end = from + Duration::from_secs(settings.seconds);
    let mut set = tokio::task::JoinSet::new();
    for c in 0..conns {
        let tokens: Vec<String> = players
            .iter()
            .skip(c)
            .step_by(conns)
            .map(|(_, t)| t.clone())
            .collect();
        let tokens = if tokens.is_empty() {
            vec![players[c % players.len()].1.clone()]
        } else {
            tokens
        };
        set.spawn(load_connection(
            addr,
            hunt.clone(),
            tokens,
            1000 + c as u64,
            from,
            end,
        ));
    }
    let mut all = Tally::default();
    for t in set.join_all().await {
        let t = t?;
        all.latencies_us.extend(t.latencies_us);
        for (k, v) in t.statuses {
            *all.statuses.entry(k).or_default() += v;
        }
        for (k, v) in t.verdicts {
            *all.verdicts.entry(k).or_default() += v;
        }
    }
    drop(server);
    all.latencies_us.sort_unstable();
    let n = all.latencies_us.len();
    let rate = n as f64 / settings.seconds as f64;
    let (p50, p99, p999, max) = (
        percentile_ms(&all.latencies_us, 0.50),
        percentile_ms(&all.latencies_us, 0.99),
        percentile_ms(&all.latencies_us, 0.999),
        percentile_ms(&all.latencies_us, 1.0),
    );
    println!(
        "checkin_http: nenufar {rate:.0} check-ins/s over {} s after {} s warm-up, {conns} connections; \
         latency p50 {p50:.1} ms, p99 {p99:.1} ms, p99.9 {p999:.1} ms, max {max:.1} ms",
        settings.seconds, settings.warmup
    );
    println!("  statuses {:?}, verdicts {:?}", all.statuses, all.verdicts);
    let stored = count(
        &mut AsyncPgConnection::establish(&url).await?,
        "select count(*) as n from checkins",
    )
    .await?;
    println!("  check-in rows stored (warm-up and measured window): {stored}");

    let (tps, pg_p50, pg_p99) = pgbench(settings, &url, &hunt).await?;
    println!(
        "checkin_http: pgbench one-statement check-in {tps:.0} tps, latency p50 {pg_p50:.1} ms, p99 {pg_p99:.1} ms \
         ({conns} clients, -j 2, {} s after {} s warm-up)",
        settings.seconds, settings.warmup
    );
    println!("\nlines for BENCHMARKS.md:");
    println!(
        "checkin_http nenufar: {rate:.0} check-ins/s, p50 {p50:.1} ms, p99 {p99:.1} ms ({conns} connections, durable commit)"
    );
    println!(
        "checkin_http PostGIS one statement (pgbench): {tps:.0} check-ins/s, p50 {pg_p50:.1} ms, p99 {pg_p99:.1} ms"
    );
    println!(
        "checkin_http ratio: {:.2}x the PostGIS one-statement rate",
        rate / tps
    );
    Ok(())
}

async fn count(conn: &mut AsyncPgConnection, sql: &str) -> anyhow::Result<i64> {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let row: N = diesel::sql_query(sql).get_result(conn).await?;
    Ok(row.n)
}

/// The check-in a team without nenufar would write: one statement, GiST prefilter on the constant
/// outer radius, spheroid test per row, finds inserted once per team and target, the check-in row
/// with its verdict and response. `HUNT` is replaced by the hunt id.
const PGBENCH_SCRIPT: &str = r#"\set p random(0, 639)
\set lat 48.81 + 0.09 * random(0, 1000000) / 1000000.0
\set lon 2.22 + 0.25 * random(0, 1000000) / 1000000.0
\set acc 5 + 25 * random(0, 1000000) / 1000000.0
with fix as (
    select st_setsrid(st_makepoint(:lon::float8, :lat::float8), 4326)::geography as g,
           gen_random_uuid() as checkin_id, gen_random_uuid() as idempotency_key, now() as at),
who as (select player_id, team_id from bench_players where n = :p),
hit as (
    select t.id, t.name, t.points from targets t, fix
    where t.hunt_id = 'HUNT' and st_dwithin(t.geom, fix.g, OUTER) and st_dwithin(t.geom, fix.g, t.radius_m)),
found as (
    insert into finds (team_id, target_id, hunt_id, player_id, checkin_id, points, found_at)
    select who.team_id, hit.id, 'HUNT'::uuid, who.player_id, fix.checkin_id, hit.points, fix.at from hit, who, fix
    on conflict (team_id, target_id) do nothing
    returning target_id),
verdict as (
    select case when exists (select 1 from found) then 'found'
                when exists (select 1 from hit) then 'already_found'
                else 'nothing_here' end as v)
insert into checkins (id, hunt_id, player_id, team_id, idempotency_key, request_hash, fix, accuracy_m,
                      captured_at, received_at, verdict, response)
select fix.checkin_id, 'HUNT'::uuid, who.player_id, who.team_id, fix.idempotency_key,
       sha256(convert_to(concat_ws('|', 'HUNT', :lat::text, :lon::text, :acc::text), 'UTF8')), fix.g, :acc::float8, fix.at, fix.at,
       verdict.v,
       jsonb_build_object('verdict', verdict.v, 'accuracy_m', :acc::float8, 'policy', 'centre',
           'targets', coalesce((select jsonb_agg(jsonb_build_object('id', id, 'name', name, 'points', points)) from hit), '[]'::jsonb))
from fix, who, verdict;
"#;

/// Runs pgbench (warm-up, then the measured run) on the benchmark database; returns (tps, p50 ms, p99 ms).
async fn pgbench(settings: &Settings, url: &str, hunt: &str) -> anyhow::Result<(f64, f64, f64)> {
    let mut conn = AsyncPgConnection::establish(url).await?;
    diesel::sql_query(
        "create table bench_players as \
         select (row_number() over (order by player_id) - 1)::int as n, player_id, team_id from team_members where hunt_id = $1",
    )
    .bind::<SqlUuid, _>(uuid::Uuid::parse_str(hunt)?)
    .execute(&mut conn)
    .await?;
    diesel::sql_query("alter table bench_players add primary key (n)")
        .execute(&mut conn)
        .await?;
    diesel::sql_query("analyze").execute(&mut conn).await?;
    let players = count(&mut conn, "select count(*) as n from bench_players").await?;
    if players != (TEAMS * TEAM_SIZE) as i64 {
        bail!(
            "expected {} players in teams, found {players}",
            TEAMS * TEAM_SIZE
        );
    }

    let dir = std::env::temp_dir().join(format!("nenufar-bench-pgbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("checkin.sql");
    std::fs::write(
        &script,
        PGBENCH_SCRIPT
            .replace("HUNT", hunt)
            .replace("OUTER", &MAX_RADIUS_M.to_string()),
    )?;
    let before = count(&mut conn, "select count(*) as n from checkins").await?;
    pgbench_once(settings, url, &script, &dir, settings.warmup.max(1), false)?;
    let outcome = pgbench_once(settings, url, &script, &dir, settings.seconds, true);
    let after = count(&mut conn, "select count(*) as n from checkins").await?;
    println!(
        "  pgbench check-in rows stored (warm-up and measured run): {}",
        after - before
    );
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

fn pgbench_once(
    settings: &Settings,
    url: &str,
    script: &Path,
    dir: &Path,
    seconds: u64,
    measured: bool,
) -> anyhow::Result<(f64, f64, f64)> {
    let prefix = dir.join(if measured { "measured" } else { "warmup" });
    let out = Command::new(&settings.pgbench)
        .args(["--no-vacuum", "--protocol=prepared", "--jobs=2", "--log"])
        .arg(format!("--client={}", settings.connections))
        .arg(format!("--time={seconds}"))
        .arg(format!("--log-prefix={}", prefix.display()))
        .arg(format!("--file={}", script.display()))
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", settings.pgbench))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "pgbench failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if measured {
        for line in stdout.lines().filter(|l| {
            l.contains("processed") || l.contains("failed") || l.contains("latency average")
        }) {
            println!("  pgbench: {line}");
        }
    }
    let tps: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .context("no tps line in pgbench output")?
        .parse()?;
    // Per-transaction log lines: client_id transaction_no time_us script_no epoch_s epoch_us.
    let mut latencies: Vec<u32> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(if measured { "measured" } else { "warmup" }))
        {
            for line in std::fs::read_to_string(&path)?.lines() {
                if let Some(us) = line.split_whitespace().nth(2).and_then(|v| v.parse().ok()) {
                    latencies.push(us);
                }
            }
        }
    }
    latencies.sort_unstable();
    Ok((
        tps,
        percentile_ms(&latencies, 0.50),
        percentile_ms(&latencies, 0.99),
    ))
}
