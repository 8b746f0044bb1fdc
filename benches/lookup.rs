//! Benchmark (prints numbers, asserts nothing): the check-in lookup over 100,000 circle targets in
//! Paris. Ours is `HuntIndex::admitted` (R-tree + exact geodesic test); the baseline is the same
//! lookup in PostGIS: a GiST index on `geography`, one prepared query per fix over a real
//! connection, a constant outer radius for the index and the exact per-row test
//! (`st_dwithin(geom, fix, 60 + allowance) and st_dwithin(geom, fix, radius_m + allowance)`).
//! Same fixes, same invocation, 1 thread vs 1 client and 2 threads vs 2 clients; every fix's result
//! set is compared. Depends on the library's pure `spatial` core and on PostgreSQL only.
//!
//! Run by `ops/bench.sh`; by hand:
//! `NENUFAR_BENCH_ADMIN_URL=postgresql:///postgres?user=postgres&host=DIR \
//! cargo bench --bench lookup`.
//! `NENUFAR_BENCH_LOOKUP_FIXES` (default 20000) sets the number of fixes. Without `--bench` (as
//! under `cargo test` or nextest) it does nothing.
#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::time::{Duration, Instant};

use anyhow::Context;
use diesel::prelude::*;
use diesel::sql_types::{Array, Float8, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use postgis_diesel::functions::st_d_within;
use postgis_diesel::types::Point;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use nenufar::domain::geofence::AccuracyPolicy;
use nenufar::domain::ids::TargetId;
use nenufar::domain::position::LatLon;
use nenufar::spatial::index::{HuntIndex, IndexedTarget};
use nenufar::spatial::shape::{Circle, Shape};

diesel::table! {
    use diesel::sql_types::*;
    use postgis_diesel::sql_types::Geography;

    bench_targets (id) {
        id -> Uuid,
        geom -> Geography,
        radius_m -> Float8,
    }
}

const TARGETS: usize = 100_000;
/// Largest target radius, metres: the constant outer radius of the PostGIS index condition.
const MAX_RADIUS_M: f64 = 60.0;
const MIN_RADIUS_M: f64 = 10.0;
/// Paris, inside the boulevard périphérique and the two woods.
const LON: (f64, f64) = (2.22, 2.47);
const LAT: (f64, f64) = (48.81, 48.90);
/// Our side repeats the fixes until it has run this long, for a stable rate.
const OURS_MIN_TIME: Duration = Duration::from_secs(2);

#[derive(Clone, Copy)]
struct Fix {
    at: LatLon,
    accuracy_m: f64,
}

fn random_position(rng: &mut StdRng) -> anyhow::Result<LatLon> {
    Ok(LatLon::new(
        rng.random_range(LAT.0..LAT.1),
        rng.random_range(LON.0..LON.1),
    )?)
}

fn targets(rng: &mut StdRng) -> anyhow::Result<Vec<IndexedTarget>> {
    (0..TARGETS)
        .map(|i| {
            let centre = random_position(rng)?;
            let radius_m = rng.random_range(MIN_RADIUS_M..MAX_RADIUS_M);
            Ok(IndexedTarget {
                id: TargetId(uuid::Uuid::new_v4()),
                name: format!("target {i}"),
                points: 1,
                prerequisites: Vec::new(),
                shape: Shape::Circle(Circle::new(centre, radius_m)),
            })
        })
        .collect()
}

fn fixes(rng: &mut StdRng, n: usize) -> anyhow::Result<Vec<Fix>> {
    (0..n)
        .map(|_| {
            Ok(Fix {
                at: random_position(rng)?,
                accuracy_m: rng.random_range(5.0..30.0),
            })
        })
        .collect()
}

fn admin_url() -> anyhow::Result<String> {
    std::env::var("NENUFAR_BENCH_ADMIN_URL")
        .context("NENUFAR_BENCH_ADMIN_URL is not set: run ops/bench.sh")
}

fn database_url(admin: &str, db: &str) -> String {
    admin.replacen("/postgres?", &format!("/{db}?"), 1)
}

/// Creates the benchmark database with the targets table, its GiST index and statistics.
async fn load_postgis(admin: &str, db: &str, targets: &[IndexedTarget]) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(admin).await?;
    diesel::sql_query(format!("create database {db}"))
        .execute(&mut conn)
        .await?;
    let mut conn = AsyncPgConnection::establish(&database_url(admin, db)).await?;
    diesel::sql_query("create extension if not exists postgis")
        .execute(&mut conn)
        .await?;
    diesel::sql_query(
        "create table bench_targets (id uuid primary key, \
         geom geography(Point, 4326) not null, radius_m float8 not null)",
    )
    .execute(&mut conn)
    .await?;
    let mut ids = Vec::new();
    let (mut lons, mut lats, mut radii) = (Vec::new(), Vec::new(), Vec::new());
    for t in targets {
        let Shape::Circle(c) = &t.shape else { continue };
        ids.push(t.id.0);
        lons.push(c.centre().lon());
        lats.push(c.centre().lat());
        radii.push(c.radius_m());
    }
    diesel::sql_query(
        "insert into bench_targets (id, geom, radius_m) \
         select id, st_setsrid(st_makepoint(lon, lat), 4326)::geography, r \
         from unnest($1::uuid[], $2::float8[], $3::float8[], $4::float8[]) as u(id, lon, lat, r)",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Float8>, _>(lons)
    .bind::<Array<Float8>, _>(lats)
    .bind::<Array<Float8>, _>(radii)
    .execute(&mut conn)
    .await?;
    diesel::sql_query("create index bench_targets_geom_gist on bench_targets using gist (geom)")
        .execute(&mut conn)
        .await?;
    diesel::sql_query("vacuum analyze bench_targets")
        .execute(&mut conn)
        .await?;
    Ok(())
}

async fn drop_database(admin: &str, db: &str) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(admin).await?;
    diesel::sql_query(format!("drop database if exists {db} with (force)"))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// How the PostGIS clients plan the prepared lookup. By default (`Auto`) PostgreSQL plans it
/// again at every execution, because the generic plan's estimate looks costlier; `Generic`
/// (`plan_cache_mode = force_generic_plan`) plans once, which is faster here. Both are measured
/// and our ratio is taken against the faster.
#[derive(Clone, Copy)]
enum Plan {
    Auto,
    Generic,
}

impl Plan {
    fn name(self) -> &'static str {
        match self {
            Self::Auto => "with default plan caching",
            Self::Generic => "with one generic plan",
        }
    }
}

/// One PostGIS lookup: index condition on the constant outer radius, exact test per row.
async fn postgis_lookup(
    conn: &mut AsyncPgConnection,
    fix: Fix,
    allowance_m: f64,
) -> QueryResult<Vec<uuid::Uuid>> {
    let at = Point {
        x: fix.at.lon(),
        y: fix.at.lat(),
        srid: Some(4326),
    };
    bench_targets::table
        .filter(st_d_within(
            bench_targets::geom,
            at,
            MAX_RADIUS_M + allowance_m,
        ))
        .filter(st_d_within(
            bench_targets::geom,
            at,
            bench_targets::radius_m + allowance_m,
        ))
        .select(bench_targets::id)
        .load(conn)
        .await
}

/// Runs every fix through PostGIS on `clients` connections in parallel (a contiguous share each),
/// each client on its own thread and single-threaded runtime. Returns lookups/s and each fix's ids.
fn postgis_run(
    url: &str,
    fixes: &[Fix],
    policy: AccuracyPolicy,
    clients: usize,
    plan: Plan,
) -> anyhow::Result<(f64, Vec<Vec<uuid::Uuid>>)> {
    let share = fixes.len().div_ceil(clients);
    let barrier = std::sync::Barrier::new(clients + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = fixes
            .chunks(share)
            .map(|chunk| {
                let barrier = &barrier;
                s.spawn(move || -> anyhow::Result<Vec<Vec<uuid::Uuid>>> {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    rt.block_on(async {
                        // Connect and prepare (diesel caches the statement) before the clock.
                        let ready = async {
                            let mut conn = AsyncPgConnection::establish(url).await?;
                            if matches!(plan, Plan::Generic) {
                                diesel::sql_query("set plan_cache_mode = force_generic_plan")
                                    .execute(&mut conn)
                                    .await?;
                            }
                            postgis_lookup(&mut conn, chunk[0], 0.0).await?;
                            anyhow::Ok(conn)
                        }
                        .await;
                        barrier.wait();
                        let mut conn = ready?;
                        let mut out = Vec::with_capacity(chunk.len());
                        for fix in chunk {
                            out.push(
                                postgis_lookup(
                                    &mut conn,
                                    *fix,
                                    policy.outward_allowance_m(fix.accuracy_m),
                                )
                                .await?,
                            );
                        }
                        Ok(out)
                    })
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let mut results = Vec::with_capacity(fixes.len());
        for h in handles {
            let part = h
                .join()
                .map_err(|_| anyhow::anyhow!("a PostGIS client thread panicked"))??;
            results.extend(part);
        }
        Ok((fixes.len() as f64 / start.elapsed().as_secs_f64(), results))
    })
}

/// Our lookup on `threads` threads, each over its share of the fixes, repeated `passes` times.
fn ours_timed(
    index: &HuntIndex,
    fixes: &[Fix],
    policy: AccuracyPolicy,
    threads: usize,
    passes: usize,
) -> anyhow::Result<f64> {
    let share = fixes.len().div_ceil(threads);
    let barrier = std::sync::Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = fixes
            .chunks(share)
            .map(|chunk| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    let mut found = 0usize;
                    for _ in 0..passes {
                        for fix in chunk {
                            found += std::hint::black_box(index.admitted(
                                fix.at,
                                fix.accuracy_m,
                                policy,
                            ))
                            .len();
                        }
                    }
                    std::hint::black_box(found)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a lookup thread panicked"))?;
        }
        Ok((fixes.len() * passes) as f64 / start.elapsed().as_secs_f64())
    })
}

/// How many passes over the fixes make our side run at least [`OURS_MIN_TIME`] on one thread.
fn passes_for(index: &HuntIndex, fixes: &[Fix], policy: AccuracyPolicy) -> anyhow::Result<usize> {
    let start = Instant::now();
    ours_timed(index, fixes, policy, 1, 1)?;
    let one = start.elapsed().as_secs_f64().max(1e-6);
    Ok(((OURS_MIN_TIME.as_secs_f64() / one).ceil() as usize).max(1))
}

/// Fixes whose PostGIS result differs from ours; prints the first few.
fn mismatches(
    fixes: &[Fix],
    ours: &[Vec<uuid::Uuid>],
    theirs: &[Vec<uuid::Uuid>],
    index: &HuntIndex,
    label: &str,
) -> usize {
    let mut count = 0;
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        let mut b = b.clone();
        b.sort();
        if *a != b {
            count += 1;
            if count <= 5 {
                let only_ours: Vec<_> = a.iter().filter(|id| !b.contains(id)).collect();
                let only_theirs: Vec<_> = b.iter().filter(|id| !a.contains(id)).collect();
                let margins: Vec<String> = only_ours
                    .iter()
                    .chain(&only_theirs)
                    .filter_map(|id| index.get(TargetId(**id)))
                    .map(|t| format!("{:.9} m", t.shape.signed_margin_m(fixes[i].at)))
                    .collect();
                println!(
                    "  MISMATCH {label} fix {i} ({:.7}, {:.7}, accuracy {:.3} m): only ours \
                     {only_ours:?}, only PostGIS {only_theirs:?}, margins {margins:?}",
                    fixes[i].at.lat(),
                    fixes[i].at.lon(),
                    fixes[i].accuracy_m
                );
            }
        }
    }
    count
}

fn main() -> anyhow::Result<()> {
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    let admin = admin_url()?;
    let n_fixes: usize = match std::env::var("NENUFAR_BENCH_LOOKUP_FIXES") {
        Ok(v) => v
            .parse()
            .context("NENUFAR_BENCH_LOOKUP_FIXES must be a positive integer")?,
        Err(_) => 20_000,
    };
    let mut rng = StdRng::seed_from_u64(0x6e65_6e75);
    let targets = targets(&mut rng)?;
    let fixes = fixes(&mut rng, n_fixes.max(2))?;

    let db = format!(
        "nenufar_bench_lookup_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let start = Instant::now();
    rt.block_on(load_postgis(&admin, &db, &targets))?;
    println!(
        "lookup: PostGIS table of {TARGETS} circles loaded and indexed in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    let index = HuntIndex::build(targets);
    println!(
        "lookup: our index of {TARGETS} circles built in {:.3} s",
        start.elapsed().as_secs_f64()
    );
    let url = database_url(&admin, &db);
    let outcome = run_all(&index, &fixes, &url);
    rt.block_on(drop_database(&admin, &db))?;
    let lines = outcome?;
    println!("\nlines for BENCHMARKS.md:");
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

fn run_all(index: &HuntIndex, fixes: &[Fix], url: &str) -> anyhow::Result<Vec<String>> {
    println!(
        "lookup: {TARGETS} circle targets (radius {MIN_RADIUS_M}-{MAX_RADIUS_M} m) in lon {LON:?} \
         lat {LAT:?}, {} fixes (accuracy 5-30 m)",
        fixes.len()
    );
    let mut lines = Vec::new();
    let mut total_mismatches = 0;
    for (policy, suffix) in [
        (AccuracyPolicy::Centre, ""),
        (AccuracyPolicy::Lenient, " lenient"),
    ] {
        let ours: Vec<Vec<uuid::Uuid>> = fixes
            .iter()
            .map(|f| {
                let mut ids: Vec<uuid::Uuid> = index
                    .admitted(f.at, f.accuracy_m, policy)
                    .iter()
                    .map(|t| t.id.0)
                    .collect();
                ids.sort();
                ids
            })
            .collect();
        let admitted: usize = ours.iter().map(Vec::len).sum();
        let empty = ours.iter().filter(|v| v.is_empty()).count();
        println!(
            "\npolicy {}: {:.3} targets admitted per fix on average, {:.1} % of fixes admit none",
            policy.as_str(),
            admitted as f64 / fixes.len() as f64,
            100.0 * empty as f64 / fixes.len() as f64
        );
        let passes = passes_for(index, fixes, policy)?;
        for parallel in [1, 2] {
            let label = format!("{parallel}v{parallel}{suffix}");
            // Ours right before and right after the PostGIS runs, averaged: drift on a shared
            // machine then hits both sides alike.
            let before = ours_timed(index, fixes, policy, parallel, passes)?;
            let mut best = 0.0_f64;
            let mut rates = Vec::new();
            for plan in [Plan::Auto, Plan::Generic] {
                let (rate, theirs) = postgis_run(url, fixes, policy, parallel, plan)?;
                let bad = mismatches(fixes, &ours, &theirs, index, &label);
                total_mismatches += bad;
                rates.push(format!("{rate:.0}/s {} ({bad} mismatches)", plan.name()));
                best = best.max(rate);
            }
            let after = ours_timed(index, fixes, policy, parallel, passes)?;
            let ours_rate = 0.5 * (before + after);
            let ratio = ours_rate / best;
            println!(
                "  {parallel} thread(s) vs {parallel} client(s): ours {ours_rate:.0} lookups/s \
                 ({before:.0} before, {after:.0} after); PostGIS ST_DWithin {}; ratio to the \
                 faster PostGIS {ratio:.1}",
                rates.join(", ")
            );
            lines.push(format!(
                "lookup {label}: {}x ST_DWithin (ours {ours_rate:.0}/s, PostGIS {best:.0}/s)",
                ratio.floor()
            ));
        }
    }
    println!(
        "\nlookup: result sets compared for every fix and run; mismatches in total: \
         {total_mismatches}"
    );
    Ok(lines)
}
