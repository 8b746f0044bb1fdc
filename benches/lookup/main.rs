//! Benchmark (prints numbers, asserts nothing): the check-in lookup over 100,000 circle targets in
//! Paris. Ours is `HuntIndex::admitted` (R-tree + exact geodesic test); the baseline is the same
//! lookup in PostGIS: a GiST index on `geography`, one prepared query per fix over a real
//! connection, a constant outer radius for the index and the exact per-row test
//! (`st_dwithin(geom, fix, 60 + allowance) and st_dwithin(geom, fix, radius_m + allowance)`).
//! Same fixes, same invocation, 1 thread vs 1 client and 2 threads vs 2 clients; every fix's result
//! set is compared. The two sides alternate in blocks of fixes, so a shared machine's noise hits
//! both; PostGIS runs with its default plan caching and with one generic plan, and the ratio kept
//! for BENCHMARKS.md is the lower of the two. A bound for any leaner client is printed beside it:
//! the ratio with the client's own CPU (diesel, tokio-postgres) taken out of PostGIS's time.
//! Depends on the library's pure `spatial` core and on PostgreSQL only.
//!
//! Run by `ops/bench.sh`; by hand:
//! `NENUFAR_BENCH_ADMIN_URL=postgresql:///postgres?user=postgres&host=DIR \
//! cargo bench --bench lookup`.
//! `NENUFAR_BENCH_LOOKUP_FIXES` (default 20000) sets the number of fixes. Without `--bench` (as
//! under `cargo test` or nextest) it does nothing.
#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

mod postgis;

use std::sync::Barrier;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use nenufar::domain::geofence::AccuracyPolicy;
use nenufar::domain::ids::TargetId;
use nenufar::domain::position::LatLon;
use nenufar::spatial::index::{HuntIndex, IndexedTarget};
use nenufar::spatial::shape::{Circle, Shape};

use postgis::{Plan, admin_url, database_url, drop_database, load_postgis, postgis_client};

const TARGETS: usize = 100_000;
/// Largest target radius, metres: the constant outer radius of the PostGIS index condition.
const MAX_RADIUS_M: f64 = 60.0;
const MIN_RADIUS_M: f64 = 10.0;
/// Paris, inside the boulevard périphérique and the two woods.
const LON: (f64, f64) = (2.22, 2.47);
const LAT: (f64, f64) = (48.81, 48.90);
/// Our side repeats the fixes until it has run about this long, for a stable rate.
const OURS_MIN_TIME: Duration = Duration::from_secs(2);
/// Fixes per block when the two sides alternate (see [`race`]).
const BLOCK: usize = 1000;

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

/// What [`race`] measured.
struct Race {
    ours_rate: f64,
    postgis_rate: f64,
    /// CPU the PostGIS clients (diesel, tokio-postgres) spent per lookup, microseconds.
    client_cpu_us: f64,
    /// The PostGIS rate with that client CPU taken out of the elapsed time: the baseline as if
    /// its client cost nothing, an upper bound for any leaner client.
    postgis_free_client_rate: f64,
    /// PostGIS ids of every fix, in order.
    results: Vec<Vec<uuid::Uuid>>,
}

/// Runs the fixes through PostGIS (`parallel` clients) and through our index (`parallel` threads,
/// each block `passes` times) in alternating blocks of [`BLOCK`] fixes, so that background load
/// on a shared machine hits both sides alike.
fn race(
    url: &str,
    index: &HuntIndex,
    fixes: &[Fix],
    policy: AccuracyPolicy,
    parallel: usize,
    plan: Plan,
    passes: usize,
) -> anyhow::Result<Race> {
    let blocks: Vec<&[Fix]> = fixes.chunks(BLOCK).collect();
    let (start, done) = (Barrier::new(parallel + 1), Barrier::new(parallel + 1));
    std::thread::scope(|s| {
        let clients: Vec<_> = (0..parallel)
            .map(|c| {
                let (blocks, barriers) = (&blocks, (&start, &done));
                s.spawn(move || postgis_client(url, blocks, (c, parallel), policy, plan, barriers))
            })
            .collect();
        let (mut postgis_s, mut ours_s) = (0.0, 0.0);
        let mut ours_failure = None;
        for block in &blocks {
            start.wait();
            let t = Instant::now();
            done.wait();
            postgis_s += t.elapsed().as_secs_f64();
            match ours_timed(index, block, policy, parallel, passes) {
                Ok(secs) => ours_s += secs,
                Err(e) => ours_failure = Some(e),
            }
        }
        let mut per_client = Vec::new();
        for h in clients {
            per_client.push(
                h.join()
                    .map_err(|_| anyhow::anyhow!("a PostGIS client thread panicked"))??,
            );
        }
        if let Some(e) = ours_failure {
            return Err(e);
        }
        let mut results = Vec::with_capacity(fixes.len());
        for b in 0..blocks.len() {
            for (client, _) in &mut per_client {
                results.append(&mut client[b]);
            }
        }
        let n = fixes.len() as f64;
        let client_cpu_s: f64 = per_client.iter().map(|(_, cpu)| cpu).sum();
        // Client and server alternate within a client, and clients run side by side.
        let free_client_s = (postgis_s - client_cpu_s / parallel as f64).max(1e-9);
        Ok(Race {
            ours_rate: n * passes as f64 / ours_s,
            postgis_rate: n / postgis_s,
            postgis_free_client_rate: n / free_client_s,
            client_cpu_us: client_cpu_s * 1e6 / n,
            results,
        })
    })
}

/// Our lookup on `threads` threads, each over its share of the fixes, repeated `passes` times;
/// returns the elapsed seconds.
fn ours_timed(
    index: &HuntIndex,
    fixes: &[Fix],
    policy: AccuracyPolicy,
    threads: usize,
    passes: usize,
) -> anyhow::Result<f64> {
    let share = fixes.len().div_ceil(threads);
    let barrier = Barrier::new(threads + 1);
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
                            let admitted = index.admitted(fix.at, fix.accuracy_m, policy);
                            found += std::hint::black_box(admitted).len();
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
        Ok(start.elapsed().as_secs_f64())
    })
}

/// How many passes over the fixes make our side run at least as long as PostGIS would (about
/// [`OURS_MIN_TIME`] on one thread), so both sides get similar shares of the machine's noise.
fn passes_for(index: &HuntIndex, fixes: &[Fix], policy: AccuracyPolicy) -> anyhow::Result<usize> {
    let one = ours_timed(index, fixes, policy, 1, 1)?.max(1e-6);
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
    println!("lookup: limits profile: none (no server: the index and PostGIS are called directly)");
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
    if let Err(e) = rt.block_on(load_postgis(&admin, &db, &targets)) {
        rt.block_on(drop_database(&admin, &db))?;
        return Err(e);
    }
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
            // (ratio as measured, ratio with the client's CPU taken out), lowest over plan modes.
            let mut lowest = (f64::INFINITY, f64::INFINITY);
            let mut shown = Vec::new();
            for plan in [Plan::Auto, Plan::Generic] {
                let race = race(url, index, fixes, policy, parallel, plan, passes)?;
                let bad = mismatches(fixes, &ours, &race.results, index, &label);
                total_mismatches += bad;
                let (ours_rate, theirs_rate) = (race.ours_rate, race.postgis_rate);
                let free = race.postgis_free_client_rate;
                let (ratio, ratio_free) = (ours_rate / theirs_rate, ours_rate / free);
                shown.push(format!(
                    "{}: ours {ours_rate:.0}/s, PostGIS {theirs_rate:.0}/s ({ratio:.1}x; {:.0} us \
                     of client CPU per lookup, without it {free:.0}/s, {ratio_free:.1}x), \
                     {bad} mismatches",
                    plan.name(),
                    race.client_cpu_us,
                ));
                lowest = (lowest.0.min(ratio), lowest.1.min(ratio_free));
            }
            println!(
                "  {parallel} thread(s) vs {parallel} client(s), lookups/s:\n    {}",
                shown.join("\n    ")
            );
            lines.push(format!(
                "lookup {label}: {}x ST_DWithin (the lower of the two plan modes; with the \
                 client's CPU taken out of PostGIS's time: {:.0} times)",
                lowest.0.floor(),
                lowest.1.floor()
            ));
        }
    }
    println!(
        "\nlookup: result sets compared for every fix and run; mismatches in total: \
         {total_mismatches}"
    );
    Ok(lines)
}
