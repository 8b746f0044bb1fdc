//! Benchmark (prints numbers, asserts nothing): check-ins end to end over HTTP with durable
//! commit, beside the same check-in written as one PostGIS statement driven by pgbench, on the
//! same cluster.
//!
//! Starts `nenufar serve` (the release binary) as a child process on a free port against a fresh
//! database, sets up one live hunt over HTTP (10,000 circle targets in Paris, 640 players in 64
//! teams), then 64 keep-alive connections post check-ins (unique keys, captured now, fixes spread
//! over the city) for a warm-up and a measured window: check-ins/s and latency percentiles. Then
//! pgbench at 64 clients (-j 2), same database, same duration, one statement per check-in: GiST
//! prefilter + spheroid test against the hunt's targets, insert the finds, insert the check-in.
//!
//! It also prints where each side's CPU and WAL went (see `meter`), the profile to start from.
//!
//! Run by `ops/bench.sh`, which starts a durable cluster (fsync on); by hand:
//! `NENUFAR_BENCH_ADMIN_URL=postgresql:///postgres?user=postgres&host=DIR \
//! cargo bench --bench checkin_http`. Knobs: `NENUFAR_BENCH_SECONDS` (20),
//! `NENUFAR_BENCH_WARMUP_SECONDS` (3), `NENUFAR_BENCH_CONNECTIONS` (64), `NENUFAR_BENCH_POOL_SIZE`
//! (passed to the server as `NENUFAR_DB_POOL_SIZE`; unset: the server's default),
//! `NENUFAR_BENCH_PGBENCH` (`/usr/lib/postgresql/15/bin/pgbench`), `NENUFAR_BENCH_PROFILE_SQL=1`
//! (a statement-level profile of the HTTP window, see `sqlprofile`; slows that run down),
//! `NENUFAR_BENCH_SOCKETS` (0: WebSocket clients subscribed to the hunt during the load, each
//! receiving its live events, see `sockets`; `ops/bench.sh checkin_live` sets 2,000),
//! `NENUFAR_BENCH_PUSH_SUBSCRIBERS=1` (every player has a push subscription: the server prepares
//! one notification per device for finds, clues and rank changes, and sends none),
//! `NENUFAR_BENCH_KEY_COLLISIONS` (0: the share of check-ins sent as two parallel requests of one
//! player with one key and different bodies, one at a target; e.g. 0.01 to compare p99 with and
//! without key races, see `load`),
//! `NENUFAR_BENCH_LIMITS` (`load-test,off`: the server's `NENUFAR_LIMITS` profile of each run),
//! `NENUFAR_BENCH_RADIUS_M` (`10-60`: the radii of the targets, metres, and so the find rate:
//! `10-60` finds in about 21 % of check-ins, `30-80` in about 57 %, a hunt's opening minutes or a
//! drop; the run prints the mix it measured), `NENUFAR_BENCH_PROFILE_SQL=stats` (where
//! PostgreSQL's work went, per check-in: by statement from `pg_stat_statements`, by table and
//! index, by trigger function, and WAL by relation and record type from `pg_walinspect`; see
//! `pgstats`; `ops/bench.sh` preloads `pg_stat_statements` for it, which costs a few per cent).
//!
//! Limits: by default the whole HTTP measurement runs twice, each on a fresh database and a fresh
//! server: with the limits layer in place (`NENUFAR_LIMITS=load-test`: every limit raised out of
//! the load's way, so what is measured is the cost of the limiting itself) and without it
//! (`NENUFAR_LIMITS=off`, benchmarks only), then prints the ratio of the two rates. pgbench runs
//! once, after the first.
//! Without `--bench` (as under `cargo test` or nextest) it does nothing.
#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

#[path = "../support/api.rs"]
mod api;
mod load;
mod meter;
mod pgbench;
mod pgstats;
mod setup;
mod sockets;
mod sqlprofile;

#[path = "../support/scratch.rs"]
mod scratch;

use std::time::Instant;

use anyhow::Context;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use load::run_load;
use meter::Meter;
use pgbench::pgbench;
use setup::{set_up, start_server, wait_ready};

const TARGETS: usize = 10_000;
const TEAMS: usize = 64;
const TEAM_SIZE: usize = 10;
const LON: (f64, f64) = (2.22, 2.47);
const LAT: (f64, f64) = (48.81, 48.90);
/// Target radii, metres, unless `NENUFAR_BENCH_RADIUS_M` says otherwise: about 21 % of the
/// uniform fixes find a target (the mix of every earlier figure in BENCHMARKS.md).
const RADIUS_M: (f64, f64) = (10.0, 60.0);
const PGBENCH: &str = "/usr/lib/postgresql/15/bin/pgbench";

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
    sockets: usize,
    /// Every player has a push subscription (`NENUFAR_BENCH_PUSH_SUBSCRIBERS=1`).
    push: bool,
    /// The server's `NENUFAR_LIMITS` of each run, in order (`NENUFAR_BENCH_LIMITS`).
    limits: Vec<String>,
    /// Share of check-ins sent as a same-key pair (`NENUFAR_BENCH_KEY_COLLISIONS`, 0 to 1).
    key_collisions: f64,
    /// Radii of the hunt's circle targets, metres, drawn uniformly in `[min, max)`
    /// (`NENUFAR_BENCH_RADIUS_M=min-max`): the knob of the find rate. The largest is also the
    /// constant outer radius of the baseline's GiST prefilter.
    radius_m: (f64, f64),
}

/// Parses `min-max` (metres, 0 < min < max <= 1000).
fn radius_range(v: &str) -> anyhow::Result<(f64, f64)> {
    let parsed = v
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?)));
    match parsed {
        Some((min, max)) if min > 0.0 && min < max && max <= 1000.0 => Ok((min, max)),
        _ => anyhow::bail!("NENUFAR_BENCH_RADIUS_M: {v:?} is not min-max in metres (e.g. 30-80)"),
    }
}

/// What one run measured.
struct Measured {
    rate: f64,
    p50: f64,
    p99: f64,
}

fn main() -> anyhow::Result<()> {
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    let settings = Settings {
        admin: std::env::var("NENUFAR_BENCH_ADMIN_URL")
            .context("NENUFAR_BENCH_ADMIN_URL is not set: run ops/bench.sh")?,
        seconds: env_or("NENUFAR_BENCH_SECONDS", 20u64)?.max(1),
        warmup: env_or("NENUFAR_BENCH_WARMUP_SECONDS", 3)?,
        connections: env_or("NENUFAR_BENCH_CONNECTIONS", 64usize)?.max(1),
        pool_size: std::env::var("NENUFAR_BENCH_POOL_SIZE").ok(),
        pgbench: env_or("NENUFAR_BENCH_PGBENCH", PGBENCH.to_owned())?,
        sockets: env_or("NENUFAR_BENCH_SOCKETS", 0usize)?,
        push: env_or("NENUFAR_BENCH_PUSH_SUBSCRIBERS", 0u8)? == 1,
        key_collisions: env_or("NENUFAR_BENCH_KEY_COLLISIONS", 0.0f64)?,
        radius_m: match std::env::var("NENUFAR_BENCH_RADIUS_M") {
            Ok(v) => radius_range(&v)?,
            Err(_) => RADIUS_M,
        },
        limits: env_or("NENUFAR_BENCH_LIMITS", "load-test,off".to_owned())?
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect(),
    };
    for p in &settings.limits {
        if !matches!(p.as_str(), "default" | "load-test" | "off") {
            anyhow::bail!("NENUFAR_BENCH_LIMITS: {p:?} is not default, load-test or off");
        }
    }
    if !(0.0..=1.0).contains(&settings.key_collisions) {
        anyhow::bail!("NENUFAR_BENCH_KEY_COLLISIONS: a share between 0 and 1");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let settings = &settings;
    let mut measured = Vec::new();
    for (i, profile) in settings.limits.iter().enumerate() {
        let mut m = None;
        scratch::run_then_drop(&rt, &settings.admin, "http", |db| {
            let m = &mut m;
            async move {
                *m = Some(run(settings, &db, profile, i == 0).await?);
                Ok(())
            }
        })?;
        if let Some(m) = m {
            measured.push((profile.as_str(), m));
        }
    }
    if measured.len() > 1 {
        println!(
            "
limits:"
        );
        for (profile, m) in &measured {
            println!(
                "checkin_http limits {profile}: {:.0} check-ins/s, p50 {:.1} ms, p99 {:.1} ms",
                m.rate, m.p50, m.p99
            );
        }
        let (first, m0) = &measured[0];
        for (profile, m) in &measured[1..] {
            println!(
                "checkin_http ratio {first} / {profile}: {:.3}",
                m0.rate / m.rate
            );
        }
    }
    Ok(())
}

/// One measurement against a server with limits profile `profile`; pgbench too when `baseline`.
async fn run(
    settings: &Settings,
    db: &str,
    profile: &str,
    baseline: bool,
) -> anyhow::Result<Measured> {
    let url = settings.admin.replacen("/postgres?", &format!("/{db}?"), 1);
    let mut admin = AsyncPgConnection::establish(&settings.admin).await?;
    diesel::sql_query(format!("create database {db}"))
        .execute(&mut admin)
        .await?;
    nenufar::db::migrate::run_pending(&url).await?;
    if sqlprofile::enabled() {
        diesel::sql_query(format!(
            "alter database {db} set log_min_duration_statement = 0"
        ))
        .execute(&mut admin)
        .await?;
    }
    let (mut server, addr) = start_server(&url, settings, profile)?;
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();
    wait_ready(&mut server, &base, &client).await?;
    let start = Instant::now();
    let (hunt, tokens, staff) = set_up(&url, &base, &client, settings.radius_m).await?;
    println!(
        "checkin_http: hunt with {TARGETS} circle targets (radius {}-{} m), {} players in {TEAMS} \
         teams set up over HTTP in {:.1} s; server pool size {}; limits profile {profile}",
        settings.radius_m.0,
        settings.radius_m.1,
        tokens.len(),
        start.elapsed().as_secs_f64(),
        settings.pool_size.as_deref().unwrap_or("default")
    );

    if settings.push {
        setup::subscribe_all(&base, &client, &tokens).await?;
        println!(
            "checkin_http: every player has a push subscription (expanded into the outbox, not sent)"
        );
    }
    let clients = if settings.sockets > 0 {
        let (n, hunt, tokens) = (settings.sockets, hunt.clone(), tokens.clone());
        let start = Instant::now();
        let clients =
            tokio::task::spawn_blocking(move || sockets::connect(n, addr, &hunt, &tokens))
                .await??;
        println!(
            "checkin_http: {n} WebSocket clients subscribed to the hunt in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        Some(clients)
    } else {
        None
    };
    let mut meter = Meter::new(&settings.admin, Some(server.child.id())).await?;
    if pgstats::enabled() {
        meter.stats = Some(pgstats::Stats::connect(&url).await?);
    }
    let before = clients.as_ref().map(|c| c.received.snapshot());
    let load_start = Instant::now();
    let probes = clients.as_ref().map(|_| {
        tokio::spawn(sockets::probe(
            client.clone(),
            base.clone(),
            hunt.clone(),
            staff,
        ))
    });
    let http = run_load(settings, addr, &hunt, &tokens, &meter).await?;
    if let Some(p) = probes {
        p.abort();
    }
    if let (Some(clients), Some(before)) = (clients, before) {
        let secs = load_start.elapsed().as_secs_f64();
        let after = clients.received.snapshot();
        let mut lags = clients.received.probe_lags();
        lags.sort_unstable();
        clients.stop();
        println!(
            "  live delivery under load: {} probe broadcasts received ({} per client), latency \
             p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            lags.len(),
            lags.len() / settings.sockets,
            percentile_ms(&lags, 0.50),
            percentile_ms(&lags, 0.99),
            percentile_ms(&lags, 1.0)
        );
        println!(
            "  live clients during the load ({secs:.0} s): {} events delivered ({:.0}/s, {:.0} per \
             client), {:.1} MB; {} resync, {} closed",
            after.0 - before.0,
            (after.0 - before.0) as f64 / secs,
            (after.0 - before.0) as f64 / settings.sockets as f64,
            (after.1 - before.1) as f64 / 1e6,
            after.2 - before.2,
            after.3 - before.3
        );
    }
    drop(server);
    // Check-ins answered 200 (with a verdict) in the window; any other status is reported.
    let n = http.tally.statuses.get(&200).copied().unwrap_or(0);
    let rate = n as f64 / settings.seconds as f64;
    let lat = |p| percentile_ms(&http.tally.latencies_us, p);
    let (p50, p99) = (lat(0.50), lat(0.99));
    println!(
        "checkin_http: nenufar {rate:.0} check-ins/s over {} s after {} s warm-up, \
         {} connections, limits {profile}; latency p50 {p50:.1} ms, p99 {p99:.1} ms, \
         p99.9 {:.1} ms, max {:.1} ms",
        settings.seconds,
        settings.warmup,
        settings.connections,
        lat(0.999),
        lat(1.0)
    );
    println!(
        "  statuses {:?}, verdicts {:?}",
        http.tally.statuses, http.tally.verdicts
    );
    let verdict = |v: &str| http.tally.verdicts.get(v).copied().unwrap_or(0) as f64;
    let answered = http.tally.verdicts.values().sum::<u64>().max(1) as f64;
    println!(
        "  find mix (NENUFAR_BENCH_RADIUS_M={}-{}): {:.1} % of check-ins matched a target: \
         {:.1} % found, {:.1} % already_found",
        settings.radius_m.0,
        settings.radius_m.1,
        100.0 * (verdict("found") + verdict("already_found")) / answered,
        100.0 * verdict("found") / answered,
        100.0 * verdict("already_found") / answered
    );
    if settings.key_collisions > 0.0 {
        println!(
            "  key collisions (NENUFAR_BENCH_KEY_COLLISIONS={}): {} same-key pairs in the window \
             (latencies above include both requests of each pair)",
            settings.key_collisions, http.tally.collisions
        );
    }
    println!("  per check-in: {}", http.cost.describe("load generator"));
    if sqlprofile::enabled() {
        diesel::sql_query(format!(
            "alter database {db} reset log_min_duration_statement"
        ))
        .execute(&mut admin)
        .await?;
        sqlprofile::report(&meter.log, http.log_range.0, http.log_range.1, n as f64)?;
    }
    if let (Some(stats), Some((first, last))) = (&meter.stats, &http.stats) {
        stats.report(first, last, n as f64).await?;
    }
    let mut conn = AsyncPgConnection::establish(&url).await?;
    let stored = count(&mut conn, "select count(*) as n from checkins").await?;
    println!("  check-in rows stored (warm-up and measured window): {stored}");
    if settings.push {
        let queued = count(&mut conn, "select count(*) as n from push_outbox").await?;
        let jobs = count(&mut conn, "select count(*) as n from push_jobs").await?;
        println!(
            "  push notifications prepared (one per device): {queued}; push jobs left: {jobs}"
        );
    }

    let measured = Measured { rate, p50, p99 };
    if !baseline {
        return Ok(measured);
    }
    let pg = pgbench(settings, &url, &hunt).await?;
    println!(
        "checkin_http: pgbench one-statement check-in {:.0} tps, latency p50 {:.1} ms, \
         p99 {:.1} ms ({} clients, -j 2, {} s after {} s warm-up)",
        pg.tps, pg.p50, pg.p99, settings.connections, settings.seconds, settings.warmup
    );
    println!("  per check-in: {}", pg.cost.describe("pgbench"));
    println!("\nlines for BENCHMARKS.md:");
    println!(
        "checkin_http nenufar: {rate:.0} check-ins/s, p50 {p50:.1} ms, p99 {p99:.1} ms \
         ({} connections, durable commit, limits {profile})",
        settings.connections
    );
    println!(
        "checkin_http PostGIS one statement (pgbench): {:.0} check-ins/s, p50 {:.1} ms, \
         p99 {:.1} ms",
        pg.tps, pg.p50, pg.p99
    );
    println!(
        "checkin_http ratio: {:.2}x the PostGIS one-statement rate",
        rate / pg.tps
    );
    Ok(measured)
}

/// The `p` quantile (0 to 1) of sorted microseconds, in milliseconds.
fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted_us.len() as f64 * p).ceil() as usize).clamp(1, sorted_us.len()) - 1;
    sorted_us[i] as f64 / 1000.0
}

/// The `n` of `select count(*) as n ...`.
async fn count(conn: &mut AsyncPgConnection, sql: &str) -> anyhow::Result<i64> {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let row: N = diesel::sql_query(sql).get_result(conn).await?;
    Ok(row.n)
}
