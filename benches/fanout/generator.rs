//! The load generator (`examples/fanout_clients`) as a child process: start it, wait until its
//! clients have subscribed, tell it the messages are out, read its figures.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// A running generator.
pub struct Generator {
    child: Child,
    out: Lines<BufReader<ChildStdout>>,
}

/// Where the generator binary is: `NENUFAR_BENCH_FANOUT_GENERATOR`, else `examples/fanout_clients`
/// beside this benchmark's own profile directory (`cargo build --release --examples`).
pub fn program() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("NENUFAR_BENCH_FANOUT_GENERATOR") {
        return Ok(p.into());
    }
    let exe = std::env::current_exe()?;
    // target/release/deps/fanout-<hash> -> target/release/examples/fanout_clients
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .context("locating the build directory")?;
    let p = profile.join("examples").join("fanout_clients");
    if !p.exists() {
        bail!(
            "{} is missing: build it with `cargo build --release --examples` (ops/bench-live.sh does)",
            p.display()
        );
    }
    Ok(p)
}

impl Generator {
    pub fn spawn(args: &[String]) -> anyhow::Result<Self> {
        let mut child = Command::new(program()?)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting the load generator")?;
        let out = BufReader::new(child.stdout.take().context("generator stdout")?).lines();
        Ok(Self { child, out })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Waits for the line `<word> {json}` and returns the JSON.
    async fn line(&mut self, word: &str, timeout: Duration) -> anyhow::Result<Value> {
        let read = async {
            while let Some(line) = self.out.next_line().await? {
                if let Some(rest) = line.strip_prefix(word).and_then(|r| r.strip_prefix(' ')) {
                    return Ok(serde_json::from_str(rest)?);
                }
            }
            bail!("the load generator exited before printing `{word}`")
        };
        tokio::time::timeout(timeout, read)
            .await
            .with_context(|| format!("no `{word}` from the load generator within {timeout:?}"))?
    }

    /// Waits until every client has subscribed (or failed to).
    pub async fn ready(&mut self) -> anyhow::Result<Value> {
        self.line("ready", Duration::from_secs(900)).await
    }

    /// Says the messages are out and returns the generator's figures.
    pub async fn finish(mut self) -> anyhow::Result<Value> {
        let stdin = self.child.stdin.as_mut().context("generator stdin")?;
        stdin.write_all(b"end\n").await?;
        stdin.flush().await?;
        let result = self.line("result", Duration::from_secs(120)).await?;
        self.child.wait().await?;
        Ok(result)
    }
}
