//! The baseline: the check-in a team without nenufar would write, as one PostGIS statement driven
//! by pgbench on the same cluster and database.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::meter::{Cost, Meter};
use crate::{Settings, TEAM_SIZE, TEAMS, count, percentile_ms};

/// The check-in a team without nenufar would write: one statement, GiST prefilter on the constant
/// outer radius, spheroid test per row, finds inserted once per team and target, the check-in row
/// with its verdict and response (nenufar also adds the points to the team's score; this does
/// not). Fixes in the same box as [`crate::LAT`] and [`crate::LON`]. `HUNT` is replaced by the
/// hunt id, `OUTER` by the largest target radius, `LAST_PLAYER` by the number of players minus one.
const PGBENCH_SCRIPT: &str = r#"\set p random(0, LAST_PLAYER)
\set lat 48.81 + 0.09 * random(0, 1000000) / 1000000.0
\set lon 2.22 + 0.25 * random(0, 1000000) / 1000000.0
\set acc 5 + 25 * random(0, 1000000) / 1000000.0
with fix as (
    select st_setsrid(st_makepoint(:lon::float8, :lat::float8), 4326)::geography as g,
           gen_random_uuid() as checkin_id, gen_random_uuid() as idempotency_key, now() as at),
who as (select player_id, team_id from bench_players where n = :p),
hit as (
    select t.id, t.name, t.points from targets t, fix
    where t.hunt_id = 'HUNT' and st_dwithin(t.geom, fix.g, OUTER)
      and st_dwithin(t.geom, fix.g, t.radius_m)),
found as (
    insert into finds (team_id, target_id, hunt_id, player_id, checkin_id, points, found_at)
    select who.team_id, hit.id, 'HUNT'::uuid, who.player_id, fix.checkin_id, hit.points, fix.at
    from hit, who, fix
    on conflict (team_id, target_id) do nothing
    returning target_id),
verdict as (
    select case when exists (select 1 from found) then 'found'
                when exists (select 1 from hit) then 'already_found'
                else 'nothing_here' end as v)
insert into checkins (id, hunt_id, player_id, team_id, idempotency_key, request_hash, fix,
                      accuracy_m, captured_at, received_at, verdict, response)
select fix.checkin_id, 'HUNT'::uuid, who.player_id, who.team_id, fix.idempotency_key,
       sha256(convert_to(concat_ws('|', 'HUNT', :lat::text, :lon::text, :acc::text), 'UTF8')),
       fix.g, :acc::float8, fix.at, fix.at, verdict.v,
       jsonb_build_object('verdict', verdict.v, 'accuracy_m', :acc::float8, 'policy', 'centre',
           'targets', coalesce((select jsonb_agg(jsonb_build_object(
               'id', id, 'name', name, 'points', points)) from hit), '[]'::jsonb))
from fix, who, verdict;
"#;

/// What the measured pgbench run did.
pub struct PgbenchRun {
    pub tps: f64,
    pub p50: f64,
    pub p99: f64,
    pub cost: Cost,
}

/// Runs pgbench (warm-up, then the measured run) on the benchmark database.
pub async fn pgbench(settings: &Settings, url: &str, hunt: &str) -> anyhow::Result<PgbenchRun> {
    let mut conn = AsyncPgConnection::establish(url).await?;
    diesel::sql_query(
        "create table bench_players as \
         select (row_number() over (order by player_id) - 1)::int as n, player_id, team_id \
         from team_members where hunt_id = $1",
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
    let outer = settings.radius_m.1.to_string();
    std::fs::write(
        &script,
        PGBENCH_SCRIPT
            .replace("HUNT", hunt)
            .replace("OUTER", &outer)
            .replace("LAST_PLAYER", &(players - 1).to_string()),
    )?;
    let before = count(&mut conn, "select count(*) as n from checkins").await?;
    pgbench_once(
        settings,
        url,
        &script,
        &dir,
        settings.warmup.max(1),
        "warmup",
    )?;
    let meter = Meter::new(&settings.admin, None).await?;
    let first = meter.snapshot().await?;
    let outcome = pgbench_once(settings, url, &script, &dir, settings.seconds, "measured");
    let last = meter.snapshot().await?;
    let after = count(&mut conn, "select count(*) as n from checkins").await?;
    println!(
        "  pgbench check-in rows stored (warm-up and measured run): {}",
        after - before
    );
    let _ = std::fs::remove_dir_all(&dir);
    let (tps, transactions, p50, p99) = outcome?;
    Ok(PgbenchRun {
        tps,
        p50,
        p99,
        cost: last.since(&first, transactions as f64),
    })
}

/// One pgbench run: (tps, transactions, p50 ms, p99 ms); logs per transaction under `dir/label*`.
fn pgbench_once(
    settings: &Settings,
    url: &str,
    script: &Path,
    dir: &Path,
    seconds: u64,
    label: &str,
) -> anyhow::Result<(f64, u64, f64, f64)> {
    let out = Command::new(&settings.pgbench)
        .args(["--no-vacuum", "--protocol=prepared", "--jobs=2", "--log"])
        .arg(format!("--client={}", settings.connections))
        .arg(format!("--time={seconds}"))
        .arg(format!("--log-prefix={}", dir.join(label).display()))
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
    let value = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .with_context(|| format!("no {prefix:?} line in the pgbench output:\n{stdout}"))
    };
    let tps = value("tps = ")?;
    let transactions = value("number of transactions actually processed: ")? as u64;
    if let Ok(failed) = value("number of failed transactions: ")
        && failed > 0.0
    {
        println!("  pgbench: {failed} failed transactions");
    }
    // Per-transaction log lines: client_id transaction_no time_us script_no epoch_s epoch_us.
    let mut latencies: Vec<u32> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(label) && !n.ends_with(".sql"))
        {
            for line in std::fs::read_to_string(&path)?.lines() {
                if let Some(us) = line.split_whitespace().nth(2).and_then(|v| v.parse().ok()) {
                    latencies.push(us);
                }
            }
        }
    }
    latencies.sort_unstable();
    let (p50, p99) = (
        percentile_ms(&latencies, 0.50),
        percentile_ms(&latencies, 0.99),
    );
    Ok((tps, transactions, p50, p99))
}
