//! The embedded cluster's data directory and socket path checks, and the socket URL (the default
//! location is in `home`).

use std::fmt::Write as _;
use std::fs::{self, DirBuilder};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::PORT;
use super::commands::{Tools, run};
use super::error::{ClusterError, io_err};

/// PostgreSQL rejects socket paths of 108 bytes or more; we keep a margin.
pub(super) const MAX_SOCKET_PATH_BYTES: usize = 100;

/// Creates the data directory, makes it private to whoever runs PostgreSQL, and returns its
/// canonical path.
pub(super) fn prepare_data_dir(tools: &Tools, requested: &Path) -> Result<PathBuf, ClusterError> {
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

fn check_socket_path(socket_dir: &Path, port: u16) -> Result<(), ClusterError> {
    let socket = socket_dir.join(format!(".s.PGSQL.{port}"));
    let len = socket.as_os_str().len();
    if len >= MAX_SOCKET_PATH_BYTES {
        Err(ClusterError::SocketPathTooLong { socket, len })
    } else {
        Ok(())
    }
}

/// Bytes a data directory may contain: anything but whitespace, control characters, quotes,
/// backslashes and commas, which the shell or `unix_socket_directories` would interpret.
fn is_plain_path_byte(b: u8) -> bool {
    !(b.is_ascii_whitespace() || b.is_ascii_control() || matches!(b, b'\'' | b'"' | b'\\' | b','))
}

pub(super) fn socket_url(socket_dir: &Path, dbname: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_dir_socket_fits_in_a_unix_socket_path() {
        let dir = Path::new("/var/lib/nenufar/main");
        assert!(check_socket_path(dir, PORT).is_ok());
        let long = PathBuf::from(format!("/tmp/{}", "d".repeat(90)));
        assert!(matches!(
            check_socket_path(&long, PORT),
            Err(ClusterError::SocketPathTooLong { .. })
        ));
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
}
