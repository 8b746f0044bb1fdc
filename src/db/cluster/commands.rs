//! Running the PostgreSQL 15 tools (`initdb`, `pg_ctl`, `pg_isready`, `pg_config`), as `postgres`
//! through `runuser` when we are root, and the output and server log tails their failures carry.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::LOG_FILE;
use super::error::ClusterError;

/// Where Debian's `postgresql-15` package puts the server binaries.
pub(super) const BIN_DIR: &str = "/usr/lib/postgresql/15/bin";
/// How many lines of a log or command output an error carries.
const TAIL_LINES: usize = 30;

/// The PostgreSQL 15 binaries and whether to run them as `postgres`.
pub(super) struct Tools {
    bin_dir: PathBuf,
    /// Whether we are root, so PostgreSQL runs as `postgres`.
    pub(super) as_postgres: bool,
}

impl Tools {
    pub(super) fn find() -> Result<Self, ClusterError> {
        let bin_dir = PathBuf::from(BIN_DIR);
        let bins = ["initdb", "pg_ctl", "pg_config", "pg_isready", "postgres"];
        if !bins.iter().all(|bin| bin_dir.join(bin).is_file()) {
            return Err(ClusterError::BinariesMissing { bin_dir });
        }
        let as_postgres = is_root();
        if as_postgres && run(Command::new("id").args(["-u", "postgres"])).is_err() {
            return Err(ClusterError::NoPostgresUser);
        }
        Ok(Self {
            bin_dir,
            as_postgres,
        })
    }

    /// `program` (a path or a name in the bin dir), run as `postgres` when we are root.
    pub(super) fn cmd(&self, program: impl AsRef<Path>) -> Command {
        let program = self.bin_dir.join(program);
        let mut cmd = if self.as_postgres {
            let mut cmd = Command::new(runuser());
            cmd.args(["-u", "postgres", "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        };
        // As postgres, the caller's current directory (often /root) may be unreadable.
        cmd.current_dir("/");
        cmd
    }

    /// `pg_ctl status`: 0 running, 3 not running; anything else is an error.
    pub(super) fn is_running(&self, data_dir: &Path) -> Result<bool, ClusterError> {
        let cmd = &mut self.cmd("pg_ctl");
        let output = spawn(cmd.arg("status").arg("--pgdata").arg(data_dir))?;
        match output.status.code() {
            Some(0) => Ok(true),
            Some(3) => Ok(false),
            _ => Err(failed(cmd, &output)),
        }
    }
}

/// Runs `cmd` to completion with stdin closed; a non-zero exit is an error carrying its output tail.
pub(super) fn run(cmd: &mut Command) -> Result<Output, ClusterError> {
    let output = spawn(cmd)?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(failed(cmd, &output))
    }
}

/// Runs `cmd` to completion with stdin closed, whatever its exit status.
fn spawn(cmd: &mut Command) -> Result<Output, ClusterError> {
    cmd.stdin(Stdio::null())
        .output()
        .map_err(|source| ClusterError::Spawn {
            program: describe(cmd),
            source,
        })
}

/// Fails unless `postgis.control` is under `pg_config --sharedir`/extension.
pub(super) fn check_postgis(tools: &Tools) -> Result<(), ClusterError> {
    // pg_config needs no privileges, so it runs as ourselves.
    let output = run(Command::new(tools.bin_dir.join("pg_config")).arg("--sharedir"))?;
    let sharedir = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let control = Path::new(&sharedir).join("extension/postgis.control");
    if control.is_file() {
        Ok(())
    } else {
        Err(ClusterError::PostgisMissing { control })
    }
}

/// The `pg_ctl -o` string; `pg_ctl` hands it to `/bin/sh`, hence the quoting.
pub(super) fn server_options(socket_dir: &Path, port: u16, throwaway: bool) -> String {
    let mut options = format!(
        "-c listen_addresses='' -k '{}' -p {port} -c unix_socket_permissions=0777 -c max_connections=300 -c shared_buffers=256MB",
        socket_dir.display()
    );
    if throwaway {
        options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
    }
    options
}

pub(super) fn is_root() -> bool {
    // /proc/self belongs to the effective uid; `id -u` covers systems without /proc.
    match fs::metadata("/proc/self") {
        Ok(meta) => meta.uid() == 0,
        Err(_) => Command::new("id")
            .arg("-u")
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|out| out.status.success() && out.stdout.trim_ascii() == b"0"),
    }
}

fn runuser() -> &'static str {
    ["/usr/sbin/runuser", "/sbin/runuser"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .unwrap_or("runuser")
}

fn describe(cmd: &Command) -> String {
    let parts = std::iter::once(cmd.get_program()).chain(cmd.get_args());
    parts
        .map(|part| part.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

fn failed(cmd: &Command, output: &Output) -> ClusterError {
    let mut detail = String::new();
    for stream in [&output.stdout, &output.stderr] {
        let text = String::from_utf8_lossy(stream);
        let text = tail_lines(text.trim_end(), TAIL_LINES);
        if !text.is_empty() {
            detail.push_str(text);
            detail.push('\n');
        }
    }
    ClusterError::CommandFailed {
        command: describe(cmd),
        status: output.status.to_string(),
        detail,
    }
}

/// Appends the server log tail to a command failure, where the real reason usually is.
pub(super) fn with_log_tail(err: ClusterError, data_dir: &Path) -> ClusterError {
    match err {
        ClusterError::CommandFailed {
            command,
            status,
            mut detail,
        } => {
            let log = data_dir.join(LOG_FILE);
            if let Some(tail) = read_tail(&log) {
                let _ = write!(detail, "last lines of {}:\n{tail}", log.display());
            }
            ClusterError::CommandFailed {
                command,
                status,
                detail,
            }
        }
        other => other,
    }
}

/// The last lines of a file, reading at most its last 16 KiB; `None` if unreadable or empty.
fn read_tail(path: &Path) -> Option<String> {
    const MAX_BYTES: u64 = 16 * 1024;
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(MAX_BYTES)))
        .ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let tail = tail_lines(text.trim_end(), TAIL_LINES);
    (!tail.is_empty()).then(|| tail.to_owned())
}

fn tail_lines(text: &str, n: usize) -> &str {
    let start = text
        .rmatch_indices('\n')
        .nth(n.saturating_sub(1))
        .map_or(0, |(i, _)| i + 1);
    &text[start..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::cluster::PORT;

    #[test]
    fn throwaway_clusters_turn_durability_off_and_durable_ones_do_not() {
        let durable = server_options(Path::new("/tmp/nft-1"), PORT, false);
        assert!(durable.contains("-k '/tmp/nft-1' -p 5432"));
        assert!(durable.contains("listen_addresses=''"));
        assert!(!durable.contains("fsync=off"));
        let throwaway = server_options(Path::new("/tmp/nft-1"), PORT, true);
        assert!(throwaway.contains("fsync=off") && throwaway.contains("full_page_writes=off"));
    }

    #[test]
    fn tail_lines_keeps_the_last_n_lines() {
        assert_eq!(tail_lines("a\nb\nc", 2), "b\nc");
        assert_eq!(tail_lines("a\nb", 5), "a\nb");
        assert_eq!(tail_lines("", 3), "");
    }
}
