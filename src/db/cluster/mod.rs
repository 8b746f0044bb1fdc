//! The embedded PostgreSQL cluster's public API: [`ClusterOptions`], [`EmbeddedCluster`] and [`ClusterError`].
//!
//! The embedded default database is a private PostgreSQL cluster started and reused by nenufar
//! itself. Synchronous, `std::process` only: it runs the PostgreSQL 15 tools (`initdb`, `pg_ctl`,
//! `pg_isready`, `pg_config`) and must not depend on the async runtime or the rest of the crate.
//! As root, PostgreSQL runs as the `postgres` user through `runuser`, because `initdb` and the
//! server refuse to run as root.
//!
//! Layout: `error` holds [`ClusterError`], `home` where a user's clusters are ([`ClusterHome`]:
//! the default one, the list of those made, the per-checkout ones of earlier versions), `paths`
//! the data directory and socket path rules and the URL formatting, `commands` the running of the
//! PostgreSQL tools and the log tails.

mod commands;
mod error;
mod home;
mod paths;

use std::fs;
use std::path::{Path, PathBuf};

pub use error::ClusterError;
pub use home::{ClusterHome, HomeEnv};

use commands::{Tools, check_postgis, run, server_options, with_log_tail};
use home::has_cluster;
use paths::{prepare_data_dir, socket_url};

/// The port in the socket file name; fixed because the socket directory is private to the cluster.
const PORT: u16 = 5432;
/// Log file inside the data directory.
const LOG_FILE: &str = "postgresql.log";
/// Seconds `pg_ctl` and `pg_isready` wait for the server.
const WAIT_S: &str = "120";

/// How to run the embedded cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    /// Data directory; also the unix socket directory, so its socket path must stay under 100 bytes.
    pub data_dir: PathBuf,
    /// Trade durability for speed (fsync, synchronous commit and full page writes off): tests only.
    /// A throwaway cluster is neither listed nor checked against the user's others.
    pub throwaway: bool,
    /// Whether a cluster missing from `data_dir` may be made while this user has others.
    pub create: Create,
    /// Where this user's clusters are; `None` when there is no such place (nothing is then
    /// listed or checked).
    pub home: Option<ClusterHome>,
}

/// What to do when the data directory has no cluster yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Make it only if this user has no other cluster; otherwise fail naming them (every command
    /// that merely needs the database).
    IfAlone,
    /// Make it, warning about the others (`nenufar db start`, asked for explicitly).
    Always,
}

/// A running private cluster: listens only on a unix socket inside its data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedCluster {
    data_dir: PathBuf,
    socket_dir: PathBuf,
    port: u16,
}

impl EmbeddedCluster {
    /// Initialises the cluster if `opts.data_dir` has no `PG_VERSION`, starts it unless it is
    /// already running, and waits until it accepts connections.
    ///
    /// Idempotent: a second call reuses the running cluster (its settings stay those it was
    /// started with). Fails with a message naming the missing package when PostgreSQL 15 or
    /// PostGIS is not installed. As root, the data directory is created `0700` and owned by
    /// `postgres`, and the directories created above it are `0755`.
    ///
    /// A durable cluster is added to the user's list. Before one is made, an earlier version's
    /// per-checkout cluster may become the default (see [`ClusterHome::adopt_legacy`]), and with
    /// [`Create::IfAlone`] the user's other clusters make it fail instead.
    pub fn ensure_started(opts: &ClusterOptions) -> Result<Self, ClusterError> {
        let tools = Tools::find()?;
        check_postgis(&tools)?;
        let home = opts.home.as_ref().filter(|_| !opts.throwaway);
        if let Some(home) = home
            && !has_cluster(&opts.data_dir)
        {
            check_before_creating(home, opts)?;
        }
        let data_dir = prepare_data_dir(&tools, &opts.data_dir)?;
        let (socket_dir, port) = (data_dir.clone(), PORT);
        let logged_dir = data_dir.display();
        if !data_dir.join("PG_VERSION").exists() {
            tracing::info!(db.data_dir = %logged_dir, "initialising the embedded PostgreSQL cluster");
            run(tools.cmd("initdb").arg("--pgdata").arg(&data_dir).args([
                "--username=postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-instructions",
            ]))?;
        }
        if tools.is_running(&data_dir)? {
            tracing::debug!(db.data_dir = %logged_dir, "reusing the running embedded cluster");
        } else {
            tracing::info!(db.data_dir = %logged_dir, db.throwaway = opts.throwaway, "starting the embedded PostgreSQL cluster");
            let started = run(tools
                .cmd("pg_ctl")
                .args([
                    "start",
                    "--wait",
                    "--silent",
                    "--timeout",
                    WAIT_S,
                    "--pgdata",
                ])
                .arg(&data_dir)
                .arg("--log")
                .arg(data_dir.join(LOG_FILE))
                .arg("-o")
                .arg(server_options(&socket_dir, port, opts.throwaway)));
            // Another process may have started it between our status check and our start.
            if let Err(err) = started
                && !tools.is_running(&data_dir)?
            {
                return Err(with_log_tail(err, &data_dir));
            }
        }
        run(tools
            .cmd("pg_isready")
            .args([
                "--quiet",
                "--timeout",
                WAIT_S,
                "--port",
                &port.to_string(),
                "--host",
            ])
            .arg(&socket_dir))
        .map_err(|err| with_log_tail(err, &data_dir))?;
        if let Some(home) = home
            && let Err(e) = home.record(&data_dir)
        {
            tracing::warn!(error = %e, "could not add the cluster to this user's list of clusters");
        }
        Ok(Self {
            data_dir,
            socket_dir,
            port,
        })
    }

    /// Stops the cluster at `data_dir` (fast mode: open sessions are rolled back) if it is running.
    pub fn stop(data_dir: &Path) -> Result<(), ClusterError> {
        if !data_dir.join("PG_VERSION").exists() {
            return Ok(());
        }
        let tools = Tools::find()?;
        if !tools.is_running(data_dir)? {
            return Ok(());
        }
        tracing::info!(db.data_dir = %data_dir.display(), "stopping the embedded PostgreSQL cluster");
        run(tools
            .cmd("pg_ctl")
            .args([
                "stop",
                "--mode=fast",
                "--wait",
                "--silent",
                "--timeout",
                WAIT_S,
                "--pgdata",
            ])
            .arg(data_dir))
        .map_err(|err| with_log_tail(err, data_dir))?;
        Ok(())
    }

    /// `postgresql:///<dbname>?user=postgres&host=<socket dir>`, percent-encoded.
    ///
    /// The host is empty and given as a parameter: with a named host tokio-postgres would try
    /// `localhost:5432` first, which is the system cluster.
    pub fn database_url(&self, dbname: &str) -> String {
        socket_url(&self.socket_dir, dbname)
    }

    /// The data directory (absolute, symlinks resolved), which is also the socket directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

/// Before making a cluster in `opts.data_dir`: adopts an earlier version's cluster as the
/// default one when that is plain, then refuses (or warns, for [`Create::Always`]) when the user
/// has other clusters.
fn check_before_creating(home: &ClusterHome, opts: &ClusterOptions) -> Result<(), ClusterError> {
    let wanted = &opts.data_dir;
    let is_default = std::path::absolute(wanted).ok().as_deref() == Some(&home.default_data_dir);
    if is_default {
        let cwd = std::env::current_dir().and_then(fs::canonicalize).ok();
        if let Some(adopted) = home.adopt_legacy(cwd.as_deref())? {
            tracing::warn!(
                db.data_dir = %adopted.display(),
                db.default = %wanted.display(),
                "the cluster an earlier version kept per checkout is now the default cluster (a link)"
            );
            return Ok(());
        }
    }
    let others = home.others(wanted);
    if others.is_empty() {
        return Ok(());
    }
    match opts.create {
        Create::IfAlone => Err(ClusterError::OtherClusters {
            wanted: std::path::absolute(wanted).unwrap_or_else(|_| wanted.clone()),
            others,
            is_default,
        }),
        Create::Always => {
            let others: Vec<String> = others.iter().map(|p| p.display().to_string()).collect();
            tracing::warn!(
                db.data_dir = %wanted.display(),
                db.others = %others.join(", "),
                "creating another embedded cluster for this user"
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(dir: &str) -> EmbeddedCluster {
        EmbeddedCluster {
            data_dir: dir.into(),
            socket_dir: dir.into(),
            port: PORT,
        }
    }

    #[test]
    fn the_url_has_an_empty_host_and_the_socket_dir_as_parameter() {
        assert_eq!(
            cluster("/tmp/nft-abc123").database_url("postgres"),
            "postgresql:///postgres?user=postgres&host=/tmp/nft-abc123"
        );
    }

    #[test]
    fn the_url_percent_encodes_unusual_bytes() {
        assert_eq!(
            cluster("/srv/a&b%c").database_url("my db"),
            "postgresql:///my%20db?user=postgres&host=/srv/a%26b%25c"
        );
        assert_eq!(
            cluster("/é").database_url("x/y"),
            "postgresql:///x%2Fy?user=postgres&host=/%C3%A9"
        );
    }
}
