//! Benchmark (prints numbers, asserts nothing): a hunt index of 1,000,000 circle targets rebuilt
//! from PostGIS by `service::index_cache::build`, the code a node runs at start or after a target
//! change (one repeatable-read snapshot, load and decode every row, `bulk_load` the R-tree).
//! Prints each repetition, the median, and a breakdown (query + decode, then shapes + R-tree).
//!
//! Run by `ops/bench.sh`; by hand:
//! `NENUFAR_BENCH_ADMIN_URL=postgresql:///postgres?user=postgres&host=DIR \
//! cargo bench --bench index_rebuild`. `NENUFAR_BENCH_REBUILD_TARGETS` (default 1000000) and
//! `NENUFAR_BENCH_REPEAT` (default 3) change the size and the repetitions.
//! Without `--bench` (as under `cargo test` or nextest) it does nothing.
#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

#[path = "support/scratch.rs"]
mod scratch;

use std::time::Instant;

use anyhow::Context;
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use nenufar::domain::ids::HuntId;
use nenufar::ids::RandomId;
use nenufar::service::index_cache;
use nenufar::spatial::index::HuntIndex;

fn env_usize(name: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .with_context(|| format!("{name} must be a positive integer, got {v:?}")),
        Err(_) => Ok(default),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    println!("index_rebuild: limits profile: none (no server: the index is built directly)");
    let admin = std::env::var("NENUFAR_BENCH_ADMIN_URL")
        .context("NENUFAR_BENCH_ADMIN_URL is not set: run ops/bench.sh")?;
    let n = env_usize("NENUFAR_BENCH_REBUILD_TARGETS", 1_000_000)?;
    let repeat = env_usize("NENUFAR_BENCH_REPEAT", 3)?.max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let admin = admin.as_str();
    scratch::run_then_drop(&rt, admin, "rebuild", |db| async move {
        run(admin, &db, n, repeat).await
    })
}

async fn run(admin: &str, db: &str, n: usize, repeat: usize) -> anyhow::Result<()> {
    let url = admin.replacen("/postgres?", &format!("/{db}?"), 1);
    let mut conn = AsyncPgConnection::establish(admin).await?;
    diesel::sql_query(format!("create database {db}"))
        .execute(&mut conn)
        .await?;
    nenufar::db::migrate::run_pending(&url).await?;
    let mut conn = AsyncPgConnection::establish(&url).await?;

    let hunt = HuntId::new_random();
    let org = uuid::Uuid::new_v4();
    diesel::sql_query("insert into organisations (id, name) values ($1, 'Rebuild benchmark')")
        .bind::<SqlUuid, _>(org)
        .execute(&mut conn)
        .await?;
    diesel::sql_query(
        "insert into hunts (id, org_id, title, city, area, teaser_at, live_at, ends_at, status) \
         values ($1, $2, 'Rebuild benchmark', 'Paris', \
                 st_multi(st_makeenvelope(2.2, 48.8, 2.5, 48.93, 4326))::geography, \
                 now(), now(), now() + interval '1 day', 'published')",
    )
    .bind::<SqlUuid, _>(hunt.0)
    .bind::<SqlUuid, _>(org)
    .execute(&mut conn)
    .await?;
    let start = Instant::now();
    // Random circles in Paris, radius 10-60 m, through the real schema (checks, GiST, b-trees).
    diesel::sql_query(
        "insert into targets (id, hunt_id, kind, geom, radius_m, name, points) \
         select gen_random_uuid(), $1, 'circle', \
                st_setsrid(st_makepoint(2.22 + 0.25 * random(), 48.81 + 0.09 * random()), 4326) \
                    ::geography, \
                10 + 50 * random(), 'target ' || g, 1 + (g % 5)::int \
         from generate_series(1, $2) as g",
    )
    .bind::<SqlUuid, _>(hunt.0)
    .bind::<BigInt, _>(n as i64)
    .execute(&mut conn)
    .await?;
    diesel::sql_query("vacuum analyze targets")
        .execute(&mut conn)
        .await?;
    println!(
        "index_rebuild: {n} circle targets inserted (one statement) and analysed in {:.1} s",
        start.elapsed().as_secs_f64()
    );

    let mut times = Vec::new();
    for i in 1..=repeat {
        let start = Instant::now();
        let built = index_cache::build(&mut conn, hunt)
            .await
            .map_err(|e| anyhow::anyhow!("index_cache::build: {e}"))?;
        let s = start.elapsed().as_secs_f64();
        println!(
            "  rebuild {i}/{repeat}: {s:.2} s ({} targets indexed)",
            built.index.len()
        );
        drop(built);
        times.push(s);
    }

    // Where the time goes: the load (query + decode into records), then shapes and the R-tree.
    let start = Instant::now();
    let records = nenufar::db::targets::load_all(&mut conn, hunt).await?;
    let load_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let targets = nenufar::service::index_cache::indexed_targets(records);
    let shapes_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let index = HuntIndex::build(targets);
    let tree_s = start.elapsed().as_secs_f64();
    println!(
        "  breakdown: load_all (query + decode) {load_s:.2} s, records to shapes \
         {shapes_s:.2} s, R-tree bulk_load {tree_s:.2} s ({} targets)",
        index.len()
    );
    println!(
        "\nline for BENCHMARKS.md:\nindex_rebuild {n} targets: {:.2} s median of {repeat} \
         (goal < 10 s)",
        median(times)
    );
    Ok(())
}
