//! [`ClusterError`]: why the embedded cluster could not be set up, started or stopped.

use std::io;
use std::path::{Path, PathBuf};

use super::paths::MAX_SOCKET_PATH_BYTES;

/// Why the embedded cluster could not be set up, started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The PostgreSQL 15 server package is missing.
    #[error("PostgreSQL 15 binaries not found in {bin_dir} (install postgresql-15)", bin_dir = .bin_dir.display())]
    BinariesMissing {
        /// Directory searched for `initdb`, `pg_ctl`, `pg_config`, `pg_isready` and `postgres`.
        bin_dir: PathBuf,
    },
    /// PostGIS for PostgreSQL 15 is missing.
    #[error(
        "PostGIS is not installed for PostgreSQL 15 (install postgresql-15-postgis-3: apt-get install -y postgresql-15-postgis-3); no {control}",
        control = .control.display()
    )]
    PostgisMissing {
        /// The extension control file looked for.
        control: PathBuf,
    },
    /// Running as root but there is nobody to run PostgreSQL as.
    #[error(
        "running as root, but there is no `postgres` user to run PostgreSQL as (install postgresql-15)"
    )]
    NoPostgresUser,
    /// The data directory's socket path is too long for a unix socket.
    #[error(
        "unix socket path {socket} is {len} bytes, PostgreSQL needs under {MAX_SOCKET_PATH_BYTES}: choose a shorter data directory",
        socket = .socket.display()
    )]
    SocketPathTooLong {
        /// The socket file path.
        socket: PathBuf,
        /// Its length in bytes.
        len: usize,
    },
    /// The data directory path has characters the server option syntax cannot carry.
    #[error(
        "data directory {path} contains whitespace, a quote, a comma, a backslash or a control character: choose a plainer path",
        path = .path.display()
    )]
    UnsupportedPath {
        /// The offending path.
        path: PathBuf,
    },
    /// As root, the `postgres` user cannot reach the data directory.
    #[error(
        "the postgres user cannot enter {path}: as root, PostgreSQL runs as postgres, so choose a data directory outside /root and outside private (0700) directories such as mktemp -d ones (NENUFAR_DATA_DIR or --data-dir)",
        path = .path.display()
    )]
    NotEnterable {
        /// The data directory.
        path: PathBuf,
    },
    /// Not root, and neither `XDG_DATA_HOME` nor `HOME` says where a default cluster could live.
    #[error(
        "no default location for the embedded cluster: neither XDG_DATA_HOME nor HOME is set (set NENUFAR_DATA_DIR or NENUFAR_STATE_DIR)"
    )]
    NoDefaultLocation,
    /// The command would create a cluster while this user already has another one.
    #[error("{}", other_clusters(.wanted, .others, *.is_default))]
    OtherClusters {
        /// Where the cluster was looked for.
        wanted: PathBuf,
        /// The clusters this user has (data directories).
        others: Vec<PathBuf>,
        /// Whether `wanted` is the default location.
        is_default: bool,
    },
    /// A filesystem operation failed.
    #[error("could not {action} {path}", path = .path.display())]
    Io {
        /// What was being done, as a verb phrase.
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A program could not be run at all.
    #[error("could not run {program}")]
    Spawn {
        /// The program.
        program: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A program ran and failed; `detail` holds its output tail and the server log tail.
    #[error("{command} failed ({status})\n{detail}")]
    CommandFailed {
        /// The command line, for the reader.
        command: String,
        /// Its exit status.
        status: String,
        /// Tail of its output and of the server log.
        detail: String,
    },
}

fn other_clusters(wanted: &Path, others: &[PathBuf], is_default: bool) -> String {
    let list = others
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let first = others
        .first()
        .map_or_else(|| "DIR".to_owned(), |p| p.display().to_string());
    let mut text = format!(
        "there is no embedded cluster in {wanted} yet, and this user already has one: {list}. \
         nenufar does not create a second cluster silently (a server may be using the first). \
         To use an existing one, set NENUFAR_DATA_DIR={first} (or pass --data-dir); to create a new \
         one in {wanted}, run `nenufar db start --data-dir {wanted}` first",
        wanted = wanted.display()
    );
    if is_default {
        text.push_str(&format!(
            "; to make one of them the default for every command: ln -s {first} {}",
            wanted.display()
        ));
    }
    text
}

/// Builds a `map_err` adapter for a filesystem failure on `path`.
pub(super) fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ClusterError {
    let path = path.to_owned();
    move |source| ClusterError::Io {
        action,
        path,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::cluster::commands::BIN_DIR;

    #[test]
    fn missing_packages_are_named_in_the_message() {
        let pg = ClusterError::BinariesMissing {
            bin_dir: BIN_DIR.into(),
        }
        .to_string();
        assert!(pg.starts_with(
            "PostgreSQL 15 binaries not found in /usr/lib/postgresql/15/bin (install postgresql-15)"
        ));
        let gis = ClusterError::PostgisMissing {
            control: "/x/postgis.control".into(),
        }
        .to_string();
        assert!(gis.contains("apt-get install -y postgresql-15-postgis-3"));
    }
}
