//! Where the CLI finds its embedded cluster, through the `nenufar` binary in a scratch directory
//! (`NENUFAR_STATE_DIR`, `HOME` and the XDG variables all point into it, so the machine's own
//! `/var/lib/nenufar` is never touched): the same default cluster from any directory, no second
//! cluster made silently, and the per-checkout cluster of an earlier version adopted.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use sha2::{Digest, Sha256};

/// A scratch directory under /tmp (short: the clusters' unix sockets live in it), enterable by
/// the `postgres` user; its clusters are stopped and it is removed on drop.
struct Scratch {
    dir: PathBuf,
    clusters: Vec<PathBuf>,
}

impl Scratch {
    fn new() -> Self {
        let dir = PathBuf::from(format!(
            "/tmp/nfc-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ));
        DirBuilder::new().mode(0o755).create(&dir).unwrap();
        Self {
            dir,
            clusters: Vec::new(),
        }
    }

    fn mkdir(&self, name: &str) -> PathBuf {
        let dir = self.dir.join(name);
        DirBuilder::new().mode(0o755).create(&dir).unwrap();
        dir
    }

    fn state(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// Runs `nenufar args` in `cwd` with no `NENUFAR_*` variable but the scratch ones and `env`.
    fn nenufar(&self, cwd: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nenufar"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("NENUFAR_") {
                cmd.env_remove(name);
            }
        }
        cmd.args(args)
            .current_dir(cwd)
            .env("NENUFAR_STATE_DIR", self.state())
            .env("HOME", self.dir.join("home"))
            .env("XDG_DATA_HOME", self.dir.join("xdg-data"))
            .env("XDG_STATE_HOME", self.dir.join("xdg-state"))
            .env("RUST_LOG", "warn");
        for (name, value) in env {
            cmd.env(name, value);
        }
        cmd.output().unwrap()
    }

    /// Like `nenufar`, asserting success; its standard output.
    fn ok(&self, cwd: &Path, args: &[&str], env: &[(&str, &Path)]) -> String {
        let out = self.nenufar(cwd, args, env);
        assert!(
            out.status.success(),
            "nenufar {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Stops the cluster in `dir` when the test ends.
    fn stop_later(&mut self, dir: &Path) {
        self.clusters.push(dir.to_owned());
    }

    fn names(&self, dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for dir in &self.clusters {
            let data_dir = dir.to_string_lossy().into_owned();
            let _ = Command::new(env!("CARGO_BIN_EXE_nenufar"))
                .args(["db", "stop", "--data-dir", &data_dir])
                .env("RUST_LOG", "error")
                .output();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn applied(stdout: &str) -> u32 {
    stdout
        .trim()
        .strip_suffix(" migration(s) applied")
        .unwrap_or_else(|| panic!("{stdout:?}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_default_cluster_is_the_same_from_any_directory_and_a_second_is_never_made_silently() {
    let mut s = Scratch::new();
    let (a, b) = (s.mkdir("a"), s.mkdir("b"));
    let main = s.state().join("main");
    s.stop_later(&main);

    // Made from one directory, found from another: the second run has nothing to migrate, and an
    // organisation created from there is in the database the first one migrated.
    assert!(applied(&s.ok(&a, &["migrate"], &[])) > 0);
    assert_eq!(applied(&s.ok(&b, &["migrate"], &[])), 0);
    let org = s.ok(
        &b,
        &[
            "org",
            "create",
            "Brand",
            "--owner-email",
            "owner@brand.example",
            "--owner-password",
            "correct horse battery",
        ],
        &[],
    );
    let url = s.ok(&a, &["db", "start"], &[]);
    let url = url.lines().last().unwrap();
    assert!(url.contains(&*main.to_string_lossy()), "{url}");
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query(format!(
        "select count(*) as n from organisations where id = '{}'",
        org.trim()
    ))
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(n.n, 1);

    // A command that would make a cluster elsewhere says where this user's cluster is, how to
    // use it or really make a new one, and makes nothing.
    let other = s.dir.join("other");
    let out = s.nenufar(
        &a,
        &[
            "org",
            "create",
            "Other",
            "--owner-email",
            "other@brand.example",
            "--owner-password",
            "correct horse battery",
        ],
        &[("NENUFAR_DATA_DIR", &other)],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(out.stdout.is_empty());
    let main_canonical = fs::canonicalize(&main).unwrap();
    for said in [
        format!("NENUFAR_DATA_DIR={}", main_canonical.display()),
        format!("nenufar db start --data-dir {}", other.display()),
    ] {
        assert!(stderr.contains(&said), "{said:?} not in {stderr}");
    }
    assert!(!other.exists(), "nothing made in {}", other.display());

    // One cluster, listed once; nothing in the directories the commands ran from.
    assert_eq!(s.names(&s.state()), ["clusters", "main"]);
    assert_eq!(
        fs::read_to_string(s.state().join("clusters")).unwrap(),
        format!("{}\n", main_canonical.display())
    );
    assert!(s.names(&a).is_empty() && s.names(&b).is_empty());
}

#[tokio::test]
async fn the_cluster_an_earlier_version_kept_per_checkout_becomes_the_default() {
    let mut s = Scratch::new();
    let (checkout, elsewhere) = (s.mkdir("checkout"), s.mkdir("elsewhere"));
    // Where an earlier version, run as root from the checkout, put its cluster: the first 12 hex
    // digits of the SHA-256 of the checkout's canonical path.
    let digest = Sha256::digest(
        fs::canonicalize(&checkout)
            .unwrap()
            .to_string_lossy()
            .as_bytes(),
    );
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let legacy = s.state().join(&hex);
    s.stop_later(&legacy);
    assert!(applied(&s.ok(&elsewhere, &["migrate"], &[("NENUFAR_DATA_DIR", &legacy)])) > 0);
    // Earlier versions kept no list of clusters.
    fs::remove_file(s.state().join("clusters")).unwrap();

    // The first run from the checkout (what ops/demo.sh does) uses it as the default cluster,
    // and so does every later run from anywhere.
    let out = s.nenufar(&checkout, &["migrate"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(applied(&String::from_utf8_lossy(&out.stdout)), 0);
    assert!(stderr.contains("earlier version"), "{stderr}");
    let main = s.state().join("main");
    assert_eq!(fs::read_link(&main).unwrap(), Path::new(&hex));
    assert_eq!(applied(&s.ok(&elsewhere, &["migrate"], &[])), 0);
    let mut expected = vec![hex.clone(), "clusters".into(), "main".into()];
    expected.sort();
    assert_eq!(s.names(&s.state()), expected);
}
