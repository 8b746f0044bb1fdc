//! A private `redis-server` for a benchmark's anchor: a free loopback port, no persistence, killed
//! when dropped. Also used by `benches/leaderboard.rs`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A running `redis-server` child process.
pub struct RedisServer {
    child: Child,
    pub port: u16,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RedisServer {
    /// Starts `redis-server` (`NENUFAR_BENCH_REDIS_SERVER` overrides the program) accepting up to
    /// `max_clients` connections, and waits until it answers `PING`.
    pub fn start(max_clients: usize) -> anyhow::Result<Self> {
        let program =
            std::env::var("NENUFAR_BENCH_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(&program)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--maxclients", &max_clients.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {program} (apt-get install redis-server)"))?;
        let mut server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!("{program} exited with {status}");
            }
            if server.ping().is_ok() {
                return Ok(server);
            }
            if Instant::now() > deadline {
                bail!("{program} did not answer PING on port {port} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn ping(&self) -> anyhow::Result<()> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.write_all(b"PING\r\n")?;
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf)?;
        if &buf != b"+PONG\r\n" {
            bail!("unexpected answer to PING");
        }
        Ok(())
    }

    /// The server's process id (to read its memory and CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The version `redis-server --version` reports, for the record.
    pub fn version() -> String {
        let program =
            std::env::var("NENUFAR_BENCH_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        Command::new(program)
            .arg("--version")
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("v="))
                    .unwrap_or("?")
                    .to_owned()
            })
            .unwrap_or_else(|_| "?".into())
    }
}
