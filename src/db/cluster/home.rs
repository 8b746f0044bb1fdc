//! [`ClusterHome`]: where one user's embedded clusters are, whatever the current directory: the
//! default data directory, the list of the clusters nenufar made for that user, and the
//! per-checkout clusters earlier versions made as root (`/var/lib/nenufar/<12 hex>`, a hash of
//! the directory they ran from), which the default adopts when that is unambiguous.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs::{self, DirBuilder};
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::{ClusterError, io_err};

/// The state directory as root, when `NENUFAR_STATE_DIR` does not name another.
const ROOT_STATE_DIR: &str = "/var/lib/nenufar";
/// The default cluster's name inside a state directory.
const DEFAULT_NAME: &str = "main";
/// The list of clusters inside a state directory.
const LIST_NAME: &str = "clusters";

/// Where one user's embedded clusters are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterHome {
    /// The data directory used when none is given (`NENUFAR_DATA_DIR`, `--data-dir`).
    pub default_data_dir: PathBuf,
    /// The list of the durable clusters nenufar started for this user, one absolute data
    /// directory per line; `None` when there is nowhere to keep it.
    pub list: Option<PathBuf>,
    /// Where earlier versions put per-checkout clusters (`<dir>/<12 hex>`).
    pub legacy_root: Option<PathBuf>,
}

/// The environment a [`ClusterHome`] is resolved from.
#[derive(Debug, Clone, Copy, Default)]
pub struct HomeEnv<'a> {
    pub is_root: bool,
    /// `NENUFAR_STATE_DIR`: absolute.
    pub state_dir: Option<&'a Path>,
    pub xdg_data_home: Option<&'a OsStr>,
    pub xdg_state_home: Option<&'a OsStr>,
    pub home: Option<&'a OsStr>,
}

impl ClusterHome {
    /// This process's home: `state_dir` is `NENUFAR_STATE_DIR`.
    pub fn from_env(state_dir: Option<&Path>) -> Result<Self, ClusterError> {
        let (xdg_data, xdg_state, home) = (
            std::env::var_os("XDG_DATA_HOME"),
            std::env::var_os("XDG_STATE_HOME"),
            std::env::var_os("HOME"),
        );
        Self::resolve(HomeEnv {
            is_root: super::commands::is_root(),
            state_dir,
            xdg_data_home: xdg_data.as_deref(),
            xdg_state_home: xdg_state.as_deref(),
            home: home.as_deref(),
        })
    }

    /// With a state directory (`NENUFAR_STATE_DIR`, or `/var/lib/nenufar` as root): its `main`
    /// and `clusters`; otherwise `$XDG_DATA_HOME/nenufar` (or `~/.local/share/nenufar`), listed in
    /// `$XDG_STATE_HOME/nenufar/clusters` (or `~/.local/state/nenufar/clusters`). Never the
    /// current directory.
    pub fn resolve(env: HomeEnv<'_>) -> Result<Self, ClusterError> {
        let state = env
            .state_dir
            .map(Path::to_path_buf)
            .or_else(|| env.is_root.then(|| PathBuf::from(ROOT_STATE_DIR)));
        if let Some(state) = state {
            return Ok(Self {
                default_data_dir: state.join(DEFAULT_NAME),
                list: Some(state.join(LIST_NAME)),
                legacy_root: Some(state),
            });
        }
        // The XDG spec says relative values are invalid and must be ignored.
        let absolute = |v: Option<&OsStr>| {
            v.map(Path::new)
                .filter(|p| p.is_absolute())
                .map(Path::to_path_buf)
        };
        let home = absolute(env.home);
        let data =
            absolute(env.xdg_data_home).or_else(|| home.as_ref().map(|h| h.join(".local/share")));
        let state =
            absolute(env.xdg_state_home).or_else(|| home.as_ref().map(|h| h.join(".local/state")));
        let data = data.ok_or(ClusterError::NoDefaultLocation)?;
        Ok(Self {
            default_data_dir: data.join("nenufar"),
            list: state.map(|s| s.join("nenufar").join(LIST_NAME)),
            legacy_root: None,
        })
    }

    /// The clusters of this user other than the one in `wanted`: those listed, the default one
    /// and the per-checkout ones of earlier versions, that still exist; canonical paths.
    pub fn others(&self, wanted: &Path) -> Vec<PathBuf> {
        let wanted = canonical(wanted);
        let mut found: BTreeSet<PathBuf> = self.listed().into_iter().collect();
        found.extend(self.legacy());
        if has_cluster(&self.default_data_dir) {
            found.insert(canonical(&self.default_data_dir));
        }
        found.remove(&wanted);
        found.into_iter().collect()
    }

    /// Makes the per-checkout cluster an earlier version made the default one (a symbolic link
    /// at the default location), when the default has none yet and the choice is plain: the one
    /// made from `cwd`, or the only one. Returns it.
    pub fn adopt_legacy(&self, cwd: Option<&Path>) -> Result<Option<PathBuf>, ClusterError> {
        let Some(root) = &self.legacy_root else {
            return Ok(None);
        };
        if has_cluster(&self.default_data_dir) {
            return Ok(None);
        }
        let legacy = self.legacy();
        let own = cwd.map(|cwd| legacy_dir_for(root, cwd));
        let Some(chosen) = pick_legacy(&legacy, own.as_deref()) else {
            return Ok(None);
        };
        let link = &self.default_data_dir;
        // A failed first start may have left the default directory empty.
        if link.is_dir() && !link.is_symlink() {
            fs::remove_dir(link).map_err(io_err("remove the empty", link))?;
        }
        let target = chosen.file_name().map(Path::new).unwrap_or(&chosen);
        std::os::unix::fs::symlink(target, link).map_err(io_err("link", link))?;
        Ok(Some(chosen))
    }

    /// Adds `data_dir` (canonical) to the list, dropping clusters that no longer exist. A lost
    /// update (two first starts at once) is repaired by the next start of the cluster it lost.
    pub fn record(&self, data_dir: &Path) -> Result<(), ClusterError> {
        let Some(list) = &self.list else {
            return Ok(());
        };
        let before = self.listed();
        let mut after: Vec<PathBuf> = before.clone();
        if !after.iter().any(|d| d == data_dir) {
            after.push(data_dir.to_owned());
        }
        let stored = fs::read_to_string(list).unwrap_or_default();
        if after == before && stored.lines().count() == before.len() {
            return Ok(());
        }
        let parent = list.parent().unwrap_or(Path::new("/"));
        DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(parent)
            .map_err(io_err("create", parent))?;
        let tmp = list.with_extension(format!("tmp.{}", std::process::id()));
        let mut text = Vec::new();
        for dir in &after {
            text.extend_from_slice(dir.as_os_str().as_bytes());
            text.push(b'\n');
        }
        fs::File::create(&tmp)
            .and_then(|mut f| f.write_all(&text))
            .map_err(io_err("write", &tmp))?;
        fs::rename(&tmp, list).map_err(io_err("replace", list))
    }

    /// The listed clusters that still exist.
    fn listed(&self) -> Vec<PathBuf> {
        let Some(list) = &self.list else {
            return Vec::new();
        };
        let text = fs::read(list).unwrap_or_default();
        text.split(|b| *b == b'\n')
            .filter(|line| line.starts_with(b"/"))
            .map(|line| PathBuf::from(OsStr::from_bytes(line)))
            .filter(|dir| has_cluster(dir))
            .collect()
    }

    /// The per-checkout clusters of earlier versions, sorted.
    fn legacy(&self) -> Vec<PathBuf> {
        let Some(root) = &self.legacy_root else {
            return Vec::new();
        };
        let Ok(entries) = fs::read_dir(root) else {
            return Vec::new();
        };
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| is_legacy_name(&e.file_name()))
            .map(|e| e.path())
            .filter(|dir| has_cluster(dir))
            .collect();
        dirs.sort();
        dirs
    }
}

/// Whether `dir` holds an initialised cluster.
pub(super) fn has_cluster(dir: &Path) -> bool {
    dir.join("PG_VERSION").exists()
}

fn canonical(dir: &Path) -> PathBuf {
    fs::canonicalize(dir)
        .or_else(|_| std::path::absolute(dir))
        .unwrap_or_else(|_| dir.to_owned())
}

/// Where an earlier version put the cluster of a process started in `canonical_cwd` as root:
/// the first 12 hex digits of the SHA-256 of that path.
fn legacy_dir_for(root: &Path, canonical_cwd: &Path) -> PathBuf {
    let digest = Sha256::digest(canonical_cwd.as_os_str().as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    root.join(hex)
}

fn is_legacy_name(name: &OsStr) -> bool {
    let name = name.as_bytes();
    name.len() == 12
        && name
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// The legacy cluster to adopt: the current directory's, else the only one; none when it is not
/// plain which (the caller then names them all).
fn pick_legacy(legacy: &[PathBuf], own: Option<&Path>) -> Option<PathBuf> {
    match own {
        Some(own) if legacy.iter().any(|d| d == own) => Some(own.to_owned()),
        _ if legacy.len() == 1 => legacy.first().cloned(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(is_root: bool, home: Option<&'a str>) -> HomeEnv<'a> {
        HomeEnv {
            is_root,
            home: home.map(OsStr::new),
            ..HomeEnv::default()
        }
    }

    #[test]
    fn root_gets_one_main_cluster_under_var_lib_nenufar() {
        let h = ClusterHome::resolve(env(true, Some("/root"))).unwrap();
        assert_eq!(h.default_data_dir, Path::new("/var/lib/nenufar/main"));
        assert_eq!(
            h.list.as_deref(),
            Some(Path::new("/var/lib/nenufar/clusters"))
        );
        assert_eq!(
            h.legacy_root.as_deref(),
            Some(Path::new("/var/lib/nenufar"))
        );
    }

    #[test]
    fn a_state_dir_moves_everything_for_root_and_users() {
        for is_root in [true, false] {
            let h = ClusterHome::resolve(HomeEnv {
                state_dir: Some(Path::new("/srv/n")),
                ..env(is_root, Some("/home/u"))
            })
            .unwrap();
            assert_eq!(h.default_data_dir, Path::new("/srv/n/main"));
            assert_eq!(h.list.as_deref(), Some(Path::new("/srv/n/clusters")));
        }
    }

    #[test]
    fn a_user_gets_xdg_data_home_then_home_and_never_the_current_directory() {
        let xdg = ClusterHome::resolve(HomeEnv {
            xdg_data_home: Some(OsStr::new("/x/data")),
            xdg_state_home: Some(OsStr::new("/x/state")),
            ..env(false, Some("/home/u"))
        })
        .unwrap();
        assert_eq!(xdg.default_data_dir, Path::new("/x/data/nenufar"));
        assert_eq!(
            xdg.list.as_deref(),
            Some(Path::new("/x/state/nenufar/clusters"))
        );
        let home = ClusterHome::resolve(HomeEnv {
            xdg_data_home: Some(OsStr::new("relative")),
            ..env(false, Some("/home/u"))
        })
        .unwrap();
        assert_eq!(
            home.default_data_dir,
            Path::new("/home/u/.local/share/nenufar")
        );
        assert_eq!(
            home.list.as_deref(),
            Some(Path::new("/home/u/.local/state/nenufar/clusters"))
        );
        assert!(matches!(
            ClusterHome::resolve(env(false, None)),
            Err(ClusterError::NoDefaultLocation)
        ));
    }

    #[test]
    fn the_old_per_checkout_location_is_the_hash_of_the_directory() {
        let dir = legacy_dir_for(Path::new("/var/lib/nenufar"), Path::new("/work/main"));
        let name = dir.file_name().unwrap();
        assert!(is_legacy_name(name), "{dir:?}");
        assert_ne!(
            dir,
            legacy_dir_for(Path::new("/var/lib/nenufar"), Path::new("/work/other"))
        );
        assert!(!is_legacy_name(OsStr::new("main")));
        assert!(!is_legacy_name(OsStr::new("0A1B2C3D4E5F")));
    }

    #[test]
    fn a_legacy_cluster_is_adopted_only_when_it_is_plain_which() {
        let (a, b) = (
            PathBuf::from("/v/aaaaaaaaaaaa"),
            PathBuf::from("/v/bbbbbbbbbbbb"),
        );
        let both = [a.clone(), b.clone()];
        assert_eq!(pick_legacy(&both, Some(&b)), Some(b.clone()));
        assert_eq!(pick_legacy(&both, Some(Path::new("/v/cccccccccccc"))), None);
        assert_eq!(pick_legacy(&both, None), None);
        assert_eq!(
            pick_legacy(std::slice::from_ref(&a), Some(&b)),
            Some(a.clone())
        );
        assert_eq!(pick_legacy(&[], Some(&a)), None);
    }
}
