//! The embedded default database: a private PostgreSQL cluster started and reused by nenufar itself.
//!
//! Synchronous, `std::process` only: it runs the PostgreSQL 15 tools (`initdb`, `pg_ctl`,
//! `pg_isready`, `pg_config`) and must not depend on the async runtime or the rest of the crate.
//! As root, PostgreSQL runs as the `postgres` user through `runuser`, because `initdb` and the
//! server refuse to run as root.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs::{self, DirBuilder, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use sha2::{Digest, Sha256};

/// Where Debian's `postgresql-15` package puts the server binaries.
const BIN_DIR: &str = "/usr/lib/postgresql/15/bin";
/// The port in the socket file name; fixed because the socket directory is private to the cluster.
const PORT: u16 = 5432;
/// PostgreSQL rejects socket paths of 108 bytes or more; we keep a margin.
const MAX_SOCKET_PATH_BYTES: usize = 100;
/// Log file inside the data directory.
const LOG_FILE: &str = "postgresql.log";
/// How many lines of a log or command output an error carries.
const TAIL_LINES: usize = 30;
/// Seconds `pg_ctl` and `pg_isready` wait for the server.
const WAIT_S: &str = "120";

/// How to run the embedded cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    /// Data directory; also the unix socket directory, so its socket path must stay under 100 bytes.
    pub data_dir: PathBuf,
    /// Trade durability for speed (fsync, synchronous commit and full page writes off): tests only.
    pub throwaway: bool,
}

/// A running private cluster: listens only on a unix socket inside its data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedCluster {
    data_dir: PathBuf,
    socket_dir: PathBuf,
    port: u16,
}

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

impl EmbeddedCluster {
    /// Default data dir: as root `/var/lib/nenufar/<first 12 hex of sha256 of the canonical current dir>`,
    /// otherwise `$XDG_DATA_HOME/nenufar` (fallback `$HOME/.local/share/nenufar`).
    ///
    /// As root the directory is per checkout, so two clones do not share a database. Without any
    /// usable home it falls back to `.nenufar` in the current directory.
    pub fn default_data_dir() -> PathBuf {
        let cwd = std::env::current_dir().ok();
        let canonical = cwd
            .as_deref()
            .and_then(|dir| fs::canonicalize(dir).ok())
            .or(cwd);
        default_data_dir_for(
            is_root(),
            canonical.as_deref(),
            std::env::var_os("XDG_DATA_HOME").as_deref(),
            std::env::var_os("HOME").as_deref(),
        )
    }

    /// Initialises the cluster if `opts.data_dir` has no `PG_VERSION`, starts it unless it is
    /// already running, and waits until it accepts connections.
    ///
    /// Idempotent: a second call reuses the running cluster (its settings stay those it was
    /// started with). Fails with a message naming the missing package when PostgreSQL 15 or
    /// PostGIS is not installed. As root, the data directory is created `0700` and owned by
    /// `postgres`, and the directories created above it are `0755`.
    pub fn ensure_started(opts: &ClusterOptions) -> Result<Self, ClusterError> {
        let tools = Tools::find()?;
        check_postgis(&tools)?;
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

/// The PostgreSQL 15 binaries and whether to run them as `postgres`.
struct Tools {
    bin_dir: PathBuf,
    as_postgres: bool,
}

impl Tools {
    fn find() -> Result<Self, ClusterError> {
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
    fn cmd(&self, program: impl AsRef<Path>) -> Command {
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
    fn is_running(&self, data_dir: &Path) -> Result<bool, ClusterError> {
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
fn run(cmd: &mut Command) -> Result<Output, ClusterError> {
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
fn check_postgis(tools: &Tools) -> Result<(), ClusterError> {
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

/// Creates the data directory, makes it private to whoever runs PostgreSQL, and returns its
/// canonical path.
fn prepare_data_dir(tools: &Tools, requested: &Path) -> Result<PathBuf, ClusterError> {
    let absolute = std::path::absolute(requested).map_err(io_err("resolve", requested))?;
    check_usable(&absolute)?;
    // Created parents must stay enterable by postgres; the data dir itself becomes 0700 below.
    DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(&absolute)
        .map_err(io_err("create", &absolute))?;
    let data_dir = fs::canonicalize(&absolute).map_err(io_err("resolve", &absolute))?;
    // Symlinks may have lengthened the path.
    check_usable(&data_dir)?;
    if data_dir.join("PG_VERSION").exists() {
        return Ok(data_dir);
    }
    if tools.as_postgres {
        run(Command::new("chown")
            .arg("postgres:postgres")
            .arg(&data_dir))?;
    }
    fs::set_permissions(&data_dir, fs::Permissions::from_mode(0o700))
        .map_err(io_err("chmod 0700", &data_dir))?;
    // `test -w` as postgres resolves every parent, so it also fails on an unenterable one.
    if tools.as_postgres && run(tools.cmd("/usr/bin/test").arg("-w").arg(&data_dir)).is_err() {
        return Err(ClusterError::NotEnterable { path: data_dir });
    }
    Ok(data_dir)
}

fn check_usable(dir: &Path) -> Result<(), ClusterError> {
    if dir
        .as_os_str()
        .as_bytes()
        .iter()
        .any(|b| !is_plain_path_byte(*b))
    {
        return Err(ClusterError::UnsupportedPath {
            path: dir.to_owned(),
        });
    }
    check_socket_path(dir, PORT)
}

/// Builds a `map_err` adapter for a filesystem failure on `path`.
fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ClusterError {
    let path = path.to_owned();
    move |source| ClusterError::Io {
        action,
        path,
        source,
    }
}

fn check_socket_path(socket_dir: &Path, port: u16) -> Result<(), ClusterError> {
    let socket = socket_dir.join(format!(".s.PGSQL.{port}"));
    let len = socket.as_os_str().len();
    if len >= MAX_SOCKET_PATH_BYTES {
        Err(ClusterError::SocketPathTooLong { socket, len })
    } else {
        Ok(())
    }
}

/// The `pg_ctl -o` string; `pg_ctl` hands it to `/bin/sh`, hence the quoting.
fn server_options(socket_dir: &Path, port: u16, throwaway: bool) -> String {
    let mut options = format!(
        "-c listen_addresses='' -k '{}' -p {port} -c unix_socket_permissions=0777 -c max_connections=300 -c shared_buffers=256MB",
        socket_dir.display()
    );
    if throwaway {
        options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
    }
    options
}

/// Bytes a data directory may contain: anything but whitespace, control characters, quotes,
/// backslashes and commas, which the shell or `unix_socket_directories` would interpret.
fn is_plain_path_byte(b: u8) -> bool {
    !(b.is_ascii_whitespace() || b.is_ascii_control() || matches!(b, b'\'' | b'"' | b'\\' | b','))
}

fn socket_url(socket_dir: &Path, dbname: &str) -> String {
    format!(
        "postgresql:///{}?user=postgres&host={}",
        percent_encode(dbname.as_bytes(), false),
        percent_encode(socket_dir.as_os_str().as_bytes(), true)
    )
}

/// Percent-encodes all but RFC 3986 unreserved bytes (and `/` when `keep_slash`).
fn percent_encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn default_data_dir_for(
    is_root: bool,
    canonical_cwd: Option<&Path>,
    xdg_data_home: Option<&OsStr>,
    home: Option<&OsStr>,
) -> PathBuf {
    if is_root {
        let digest = Sha256::digest(
            canonical_cwd
                .map(|p| p.as_os_str().as_bytes())
                .unwrap_or_default(),
        );
        let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        return Path::new("/var/lib/nenufar").join(hex);
    }
    // The XDG spec says relative values are invalid and must be ignored.
    let absolute = |v: Option<&OsStr>| {
        v.map(Path::new)
            .filter(|p| p.is_absolute())
            .map(Path::to_path_buf)
    };
    if let Some(xdg) = absolute(xdg_data_home) {
        return xdg.join("nenufar");
    }
    if let Some(home) = absolute(home) {
        return home.join(".local/share/nenufar");
    }
    canonical_cwd.unwrap_or(Path::new(".")).join(".nenufar")
}

fn is_root() -> bool {
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
fn with_log_tail(err: ClusterError, data_dir: &Path) -> ClusterError {
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

    #[test]
    fn root_gets_a_per_checkout_dir_under_var_lib() {
        let dir = default_data_dir_for(
            true,
            Some(Path::new("/work/main")),
            None,
            Some(OsStr::new("/root")),
        );
        let name = dir
            .file_name()
            .and_then(OsStr::to_str)
            .unwrap_or_default()
            .to_owned();
        assert_eq!(dir.parent(), Some(Path::new("/var/lib/nenufar")));
        assert_eq!(name.len(), 12);
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let other = default_data_dir_for(true, Some(Path::new("/work/other")), None, None);
        assert_ne!(dir, other);
        assert_eq!(
            dir,
            default_data_dir_for(true, Some(Path::new("/work/main")), None, None)
        );
    }

    #[test]
    fn a_user_gets_xdg_data_home_then_home() {
        let xdg = default_data_dir_for(
            false,
            None,
            Some(OsStr::new("/x/data")),
            Some(OsStr::new("/home/u")),
        );
        assert_eq!(xdg, Path::new("/x/data/nenufar"));
        let home = default_data_dir_for(
            false,
            None,
            Some(OsStr::new("relative")),
            Some(OsStr::new("/home/u")),
        );
        assert_eq!(home, Path::new("/home/u/.local/share/nenufar"));
        let none = default_data_dir_for(false, Some(Path::new("/w")), None, None);
        assert_eq!(none, Path::new("/w/.nenufar"));
    }

    #[test]
    fn the_default_dir_socket_fits_in_a_unix_socket_path() {
        let dir = default_data_dir_for(true, Some(Path::new("/work/main")), None, None);
        assert!(check_socket_path(&dir, PORT).is_ok());
        let long = PathBuf::from(format!("/tmp/{}", "d".repeat(90)));
        assert!(matches!(
            check_socket_path(&long, PORT),
            Err(ClusterError::SocketPathTooLong { .. })
        ));
    }

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
    fn paths_with_shell_or_list_syntax_are_not_plain() {
        assert!(
            b"/var/lib/nenufar/0a1b-c_d.e"
                .iter()
                .all(|b| is_plain_path_byte(*b))
        );
        for bad in ["/a b", "/a'b", "/a,b", "/a\\b", "/a\"b", "/a\nb"] {
            assert!(!bad.bytes().all(is_plain_path_byte), "{bad:?}");
        }
    }

    #[test]
    fn tail_lines_keeps_the_last_n_lines() {
        assert_eq!(tail_lines("a\nb\nc", 2), "b\nc");
        assert_eq!(tail_lines("a\nb", 5), "a\nb");
        assert_eq!(tail_lines("", 3), "");
    }

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
