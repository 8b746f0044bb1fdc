//! The PostGIS side: the benchmark database (targets table, GiST index), the prepared lookup,
//! and the client threads that run it in step with our side.

use std::sync::Barrier;

use anyhow::Context;
use diesel::prelude::*;
use diesel::sql_types::{Array, Float8, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use postgis_diesel::functions::st_d_within;
use postgis_diesel::types::Point;

use nenufar::domain::geofence::AccuracyPolicy;
use nenufar::spatial::index::IndexedTarget;
use nenufar::spatial::shape::Shape;

use crate::{Fix, MAX_RADIUS_M};

diesel::table! {
    use diesel::sql_types::*;
    use postgis_diesel::sql_types::Geography;

    bench_targets (id) {
        id -> Uuid,
        geom -> Geography,
        radius_m -> Float8,
    }
}

pub fn admin_url() -> anyhow::Result<String> {
    std::env::var("NENUFAR_BENCH_ADMIN_URL")
        .context("NENUFAR_BENCH_ADMIN_URL is not set: run ops/bench.sh")
}

pub fn database_url(admin: &str, db: &str) -> String {
    admin.replacen("/postgres?", &format!("/{db}?"), 1)
}

/// Creates the benchmark database with the targets table, its GiST index and statistics.
pub async fn load_postgis(admin: &str, db: &str, targets: &[IndexedTarget]) -> anyhow::Result<()> {
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

pub async fn drop_database(admin: &str, db: &str) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(admin).await?;
    diesel::sql_query(format!("drop database if exists {db} with (force)"))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// How the PostGIS clients plan the prepared lookup. By default (`Auto`) PostgreSQL plans it
/// again at every execution, because the generic plan's estimate looks costlier; `Generic`
/// (`plan_cache_mode = force_generic_plan`) plans once, which is faster here. Both are measured
/// and the lower of the two ratios is kept.
#[derive(Clone, Copy)]
pub enum Plan {
    Auto,
    Generic,
}

impl Plan {
    pub fn name(self) -> &'static str {
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

/// PostGIS ids of each fix, per block, for one client; and the client's CPU seconds.
pub type ClientResults = (Vec<Vec<Vec<uuid::Uuid>>>, f64);

/// One PostGIS client: its own thread, single-threaded runtime and connection; takes share
/// `client` of every block between the `start` and `done` barriers. Always reaches every barrier,
/// even after an error, so the others never wait forever.
pub fn postgis_client(
    url: &str,
    blocks: &[&[Fix]],
    (client, clients): (usize, usize),
    policy: AccuracyPolicy,
    plan: Plan,
    (start, done): (&Barrier, &Barrier),
) -> anyhow::Result<ClientResults> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let mut out = Vec::with_capacity(blocks.len());
    let mut failure = rt.as_ref().err().map(|e| anyhow::anyhow!("runtime: {e}"));
    let mut conn = None;
    if let Ok(rt) = &rt {
        // Connect and prepare (diesel caches the statement) before the clock.
        match rt.block_on(async {
            let mut conn = AsyncPgConnection::establish(url).await?;
            if matches!(plan, Plan::Generic) {
                diesel::sql_query("set plan_cache_mode = force_generic_plan")
                    .execute(&mut conn)
                    .await?;
            }
            postgis_lookup(&mut conn, blocks[0][0], 0.0).await?;
            anyhow::Ok(conn)
        }) {
            Ok(c) => conn = Some(c),
            Err(e) => failure = Some(e),
        }
    }
    let cpu_before = thread_cpu_s();
    for block in blocks {
        start.wait();
        let share = block.len().div_ceil(clients);
        let mine = block.chunks(share).nth(client).unwrap_or_default();
        let mut ids = Vec::with_capacity(mine.len());
        if let (Ok(rt), Some(conn), None) = (&rt, conn.as_mut(), &failure) {
            let looked_up = rt.block_on(async {
                for fix in mine {
                    let allowance_m = policy.outward_allowance_m(fix.accuracy_m);
                    ids.push(postgis_lookup(conn, *fix, allowance_m).await?);
                }
                anyhow::Ok(())
            });
            failure = looked_up.err();
        }
        done.wait();
        out.push(ids);
    }
    match failure {
        Some(e) => Err(e),
        None => Ok((out, thread_cpu_s() - cpu_before)),
    }
}

/// CPU seconds used by the calling thread so far (Linux; 0 elsewhere).
fn thread_cpu_s() -> f64 {
    let Ok(text) = std::fs::read_to_string("/proc/thread-self/stat") else {
        return 0.0;
    };
    // Fields after the command name: utime and stime are the 12th and 13th, in 1/100 s.
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: Vec<f64> = rest
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    ticks
        .get(10)
        .zip(ticks.get(11))
        .map_or(0.0, |(u, s)| (u + s) / 100.0)
}
