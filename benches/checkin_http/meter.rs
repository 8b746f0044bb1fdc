//! Where a window's CPU and WAL went: the server, PostgreSQL, the load generator, pgbench and the
//! rest of the machine, from `/proc` and `pg_stat_wal`. The profile a 2-core machine without
//! `perf` allows.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// Logical CPUs of the machine.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Kernel clock ticks per second, for `/proc` CPU times.
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Fields of `/proc/<pid>/stat` after the command name: index 0 is field 3 (`state`).
pub fn proc_stat(pid: &str) -> Option<Vec<u64>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    // `state` is a letter; keep the numeric fields aligned by replacing it with 0.
    Some(
        rest.split_whitespace()
            .enumerate()
            .map(|(i, f)| if i == 0 { 0 } else { f.parse().unwrap_or(0) })
            .collect(),
    )
}

const PPID: usize = 1;
const UTIME: usize = 11;
const STIME: usize = 12;
const CUTIME: usize = 13;
const CSTIME: usize = 14;

/// CPU ticks, WAL counters and time at one instant.
pub struct Snapshot {
    at: Instant,
    busy: u64,
    own: u64,
    children: u64,
    server: u64,
    postgres: u64,
    wal_syncs: i64,
    wal_bytes: f64,
    /// Bytes in the server log.
    pub log_len: u64,
    /// PostgreSQL's statistics, when `pgstats` is on.
    pub stats: Option<crate::pgstats::Sample>,
}

/// Cost of a window, per operation (CPU in microseconds) and in cores.
pub struct Cost {
    pub server_us: f64,
    pub postgres_us: f64,
    pub own_us: f64,
    pub children_us: f64,
    pub wal_syncs: f64,
    pub wal_bytes: f64,
    pub busy_cores: f64,
    pub other_cores: f64,
}

impl Cost {
    /// One line: CPU per operation by process, WAL per operation, how busy the machine was.
    /// `client` names what this process's children (pgbench) or this process (the load
    /// generator) are.
    pub fn describe(&self, client: &str) -> String {
        let client_us = self.own_us + self.children_us;
        let server = if self.server_us > 0.0 {
            format!("server CPU {:.0} us, ", self.server_us)
        } else {
            String::new()
        };
        format!(
            "{server}PostgreSQL CPU {:.0} us, {client} CPU {client_us:.0} us; {:.3} WAL syncs, \
             {:.0} WAL bytes; machine busy {:.2} of {} cores, of which other processes {:.2}",
            self.postgres_us,
            self.wal_syncs,
            self.wal_bytes,
            self.busy_cores,
            cores(),
            self.other_cores
        )
    }
}

impl Snapshot {
    pub fn since(&self, first: &Snapshot, ops: f64) -> Cost {
        let tick_us = 1e6 / clock_ticks();
        let secs = self.at.duration_since(first.at).as_secs_f64().max(1e-9);
        let d = |a: u64, b: u64| a.saturating_sub(b) as f64 * tick_us;
        let (server, postgres) = (
            d(self.server, first.server),
            d(self.postgres, first.postgres),
        );
        let (own, children) = (d(self.own, first.own), d(self.children, first.children));
        let busy = d(self.busy, first.busy);
        let ops = ops.max(1.0);
        Cost {
            server_us: server / ops,
            postgres_us: postgres / ops,
            own_us: own / ops,
            children_us: children / ops,
            wal_syncs: (self.wal_syncs - first.wal_syncs) as f64 / ops,
            wal_bytes: (self.wal_bytes - first.wal_bytes) / ops,
            busy_cores: busy / 1e6 / secs,
            other_cores: (busy - server - postgres - own - children).max(0.0) / 1e6 / secs,
        }
    }
}

/// Reads the counters that split a window's cost between the server, PostgreSQL (the benchmark
/// cluster's postmaster and every backend, including those that exited: the postmaster reaps
/// them), this process (the load generator), its waited-for children (pgbench) and the rest.
pub struct Meter {
    conn: tokio::sync::Mutex<AsyncPgConnection>,
    postmaster: String,
    server: Option<u32>,
    /// The cluster's server log (in its data directory), for [`crate::sqlprofile`].
    pub log: PathBuf,
    /// Samples the benchmark database's statistics with every snapshot ([`crate::pgstats`]).
    pub stats: Option<crate::pgstats::Stats>,
}

#[derive(diesel::QueryableByName)]
struct Wal {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    wal_sync: i64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    wal_bytes: f64,
}

impl Meter {
    pub async fn new(admin: &str, server: Option<u32>) -> anyhow::Result<Self> {
        // The data directory is the socket directory: the `host` parameter of the URL.
        let dir = admin
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("host="))
            .context("the admin URL has no host= parameter (the cluster's socket directory)")?;
        let pid_file = Path::new(dir).join("postmaster.pid");
        let postmaster = std::fs::read_to_string(&pid_file)
            .with_context(|| format!("reading {}", pid_file.display()))?
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let conn = AsyncPgConnection::establish(admin).await?;
        Ok(Self {
            conn: tokio::sync::Mutex::new(conn),
            postmaster,
            server,
            log: Path::new(dir).join("postgresql.log"),
            stats: None,
        })
    }

    pub async fn snapshot(&self) -> anyhow::Result<Snapshot> {
        let stats = match &self.stats {
            Some(s) => Some(s.sample().await?),
            None => None,
        };
        // Pending statistics reach pg_stat_wal within about a second: close enough over 20 s.
        let wal: Wal = diesel::sql_query("select wal_sync, wal_bytes::float8 from pg_stat_wal")
            .get_result(&mut *self.conn.lock().await)
            .await?;
        let cpu = |f: &[u64]| f[UTIME] + f[STIME];
        let own = proc_stat("self").context("reading /proc/self/stat")?;
        let mut postgres = 0;
        for entry in std::fs::read_dir("/proc")? {
            let name = entry?.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            let Some(f) = proc_stat(pid) else { continue };
            if pid == self.postmaster {
                postgres += cpu(&f) + f[CUTIME] + f[CSTIME];
            } else if f[PPID].to_string() == self.postmaster {
                postgres += cpu(&f);
            }
        }
        let stat = std::fs::read_to_string("/proc/stat")?;
        let busy = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .enumerate()
            // user nice system idle iowait irq softirq steal: all but idle and iowait.
            .filter(|(i, _)| *i < 8 && *i != 3 && *i != 4)
            .map(|(_, v)| v.parse::<u64>().unwrap_or(0))
            .sum();
        Ok(Snapshot {
            at: Instant::now(),
            busy,
            own: cpu(&own),
            children: own[CUTIME] + own[CSTIME],
            server: self
                .server
                .and_then(|pid| proc_stat(&pid.to_string()))
                .map_or(0, |f| cpu(&f)),
            postgres,
            wal_syncs: wal.wal_sync,
            wal_bytes: wal.wal_bytes,
            log_len: std::fs::metadata(&self.log).map_or(0, |m| m.len()),
            stats,
        })
    }
}
