//! A real Web Push service for push tests: web-push-testing 1.2.2 under node, one per test, on a
//! loopback port. Depends on std, tokio, reqwest, serde_json and `support/wait.rs` only;
//! node and the package come from `ops/ensure-deps.sh` (into `tools/push-peer/node_modules`).
//!
//! What the peer does (read from its source, `src/PushApiModel.js` and `src/server.js`):
//! - It keeps subscriptions and messages in memory; every route is a `POST`.
//! - A push to `endpoint` answers 201 with an empty body once the payload is decrypted and
//!   stored; 410 `{"reason": ...}` after [`PushPeer::expire`]; 400 `{"error":{"message"}}`
//!   otherwise, including an unknown endpoint (never 404).
//! - It requires `TTL` (anything `parseInt` reads: `-1` and `10s` pass, a missing or `abc` one
//!   fails), `Content-Encoding: aes128gcm` (or the legacy `aesgcm`) and
//!   `Content-Type: application/octet-stream` (any other type leaves the body unread, so
//!   decryption fails with 400).
//! - With `aes128gcm`, `Authorization` must be `vapid t=<jwt>, k=<key>` (lowercase `vapid`);
//!   `k` must decode to the same bytes as the subscription's application server key. The JWT
//!   must be ES256 signed by that key, and a past `exp` or future `nbf` fails; `aud` (with or
//!   without the port, or another origin) and `sub` are not checked, nor is a missing or far `exp`.
//! - `Urgency` and `Topic` are ignored: any value, or none, is accepted.
#![allow(dead_code, reason = "each push test uses some of these helpers")]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

// The harness's `support/wait.rs`, which the push benchmark (including this file) includes too.
use super::wait::wait_until;

/// How long node may take to start the peer on a loaded 2-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// One web-push-testing server on `127.0.0.1:<port>`, killed and cleaned up on drop.
pub struct PushPeer {
    /// `http://127.0.0.1:<port>`, without a trailing slash; endpoints start with
    /// `<base>/notify/`.
    pub base: String,
    /// `node tools/push-peer/serve.js <port>`: it serves HTTP itself (no daemon child) and exits
    /// when its stdin, which this handle holds, closes.
    child: Child,
    /// Its working directory, holding `peer.log` (stdout and stderr).
    dir: PathBuf,
    http: reqwest::Client,
}

impl PushPeer {
    /// Starts a peer on a free loopback port in its own temporary directory and waits until it
    /// listens. Retries on another port if the chosen one was taken in between.
    pub async fn start() -> PushPeer {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/push-peer");
        assert!(
            root.join("node_modules/web-push-testing/package.json")
                .is_file(),
            "web-push-testing is not installed in {}: run ops/ensure-deps.sh",
            root.display()
        );
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("push peer: reqwest client");
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("push peer: pick a free loopback port")
                .port();
            let dir = fresh_dir(port);
            let log = File::create(dir.join("peer.log")).expect("push peer: create peer.log");
            let mut child = Command::new("node")
                .arg(root.join("serve.js"))
                .arg(port.to_string())
                .current_dir(&dir)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(log.try_clone().expect("push peer: clone log handle"))
                .spawn()
                .expect("push peer: spawn node (is Node.js installed? run ops/ensure-deps.sh)");
            // The line comes only after listen() succeeded on *this* port, so unlike polling
            // /status it cannot be answered by another process that took the port meanwhile.
            let ready = format!("Server running on 127.0.0.1:{port}");
            let stdout = child.stdout.take().expect("push peer: its stdout");
            let listening = copy_to_log(stdout, log, ready);
            let peer = PushPeer {
                base: format!("http://127.0.0.1:{port}"),
                child,
                dir,
                http: http.clone(),
            };
            match tokio::time::timeout(START_TIMEOUT, listening).await {
                Ok(Ok(())) => return peer,
                // Its stdout ended first: most likely EADDRINUSE. Drop cleans up; another port.
                Ok(Err(_)) => last_log = peer.log(),
                Err(_) => panic!(
                    "push peer did not start within {START_TIMEOUT:?}; its log:\n{}",
                    peer.log()
                ),
            }
        }
        panic!("push peer failed to start 5 times; its last log:\n{last_log}");
    }

    /// Subscribes like a browser's `pushManager.subscribe({userVisibleOnly: true,
    /// applicationServerKey})`, with the key as base64url (no padding) of the uncompressed P-256
    /// point. Returns the `PushSubscription.toJSON()` shape:
    /// `{"endpoint": "<base>/notify/<64 hex>", "expirationTime": null,
    ///   "keys": {"p256dh": "<base64url, 65 bytes>", "auth": "<base64url, 16 bytes>"}}`.
    pub async fn subscribe(&self, application_server_key_b64url: &str) -> Value {
        // The peer wants the boolean as a string: it was written for form posts.
        let body = json!({
            "applicationServerKey": application_server_key_b64url,
            "userVisibleOnly": "true",
        });
        let data = self.post("/subscribe", Some(body)).await;
        json!({
            "endpoint": data["endpoint"],
            "expirationTime": null,
            "keys": {"p256dh": data["keys"]["p256dh"], "auth": data["keys"]["auth"]},
        })
    }

    /// Every message delivered to `endpoint` so far, oldest first (the peer never drains them).
    /// A payload that is JSON comes back parsed; any other payload as `Value::String` of its
    /// text (decoded as UTF-8, lossily).
    pub async fn notifications(&self, endpoint: &str) -> Vec<Value> {
        let body = json!({"clientHash": client_hash(endpoint)});
        let data = self.post("/get-notifications", Some(body)).await;
        let messages = data["messages"]
            .as_array()
            .unwrap_or_else(|| panic!("push peer: no messages array in {data}"));
        messages
            .iter()
            .map(|m| {
                let text = m.as_str().expect("push peer: a message is a string");
                serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
            })
            .collect()
    }

    /// Polls [`Self::notifications`] until `endpoint` has at least `count` messages, for
    /// deliveries made in the background; panics after `timeout`.
    pub async fn wait_for_notifications(
        &self,
        endpoint: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<Value> {
        let what = format!("push peer: {count} notifications");
        wait_until(&what, timeout, async || {
            let got = self.notifications(endpoint).await;
            if got.len() >= count {
                Ok(got)
            } else {
                Err(got)
            }
        })
        .await
    }

    /// Whether a request reached the peer and waits unread in one of its sockets (as when it is
    /// frozen): an established connection to its port with bytes in the receive queue, from
    /// `/proc/net/tcp`.
    pub fn holds_unread_bytes(&self) -> bool {
        let port = self
            .base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok());
        let port = port.expect("push peer: the port of its base URL");
        let table = fs::read_to_string("/proc/net/tcp").expect("push peer: read /proc/net/tcp");
        table.lines().skip(1).any(|line| {
            // sl local_address rem_address st tx_queue:rx_queue ...
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = f.get(1).and_then(|a| a.rsplit(':').next());
            let rx = f.get(4).and_then(|q| q.split(':').nth(1));
            local_port.and_then(|p| u16::from_str_radix(p, 16).ok()) == Some(port)
                && f.get(3) == Some(&"01")
                && rx
                    .and_then(|q| u64::from_str_radix(q, 16).ok())
                    .is_some_and(|n| n > 0)
        })
    }

    /// Marks the subscription expired: later pushes to `endpoint` get 410.
    pub async fn expire(&self, endpoint: &str) {
        let path = format!("/expire-subscription/{}", client_hash(endpoint));
        self.post(&path, None).await;
    }

    /// The PID of the node process that serves HTTP.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the peer with SIGSTOP: connections are still accepted by the kernel, but no request
    /// is answered until [`Self::thaw`].
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Resumes a peer stopped by [`Self::freeze`] with SIGCONT.
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(signal)
            .arg(self.pid().to_string())
            .status()
            .expect("push peer: run kill");
        assert!(
            status.success(),
            "push peer: kill {signal} {} failed",
            self.pid()
        );
    }

    /// The peer's stdout and stderr so far.
    pub fn log(&self) -> String {
        fs::read(self.dir.join("peer.log"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// POSTs to the peer and returns the `data` of a 200 answer; panics on any other.
    async fn post(&self, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.post(format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("push peer: POST {path}: {e}"));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(
            status.as_u16() == 200,
            "push peer: POST {path}: {status} {text}"
        );
        if text.is_empty() || text == "OK" {
            return Value::Null; // sendStatus(200) answers the text "OK"
        }
        let answer: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("push peer: POST {path}: {e} in {text}"));
        answer["data"].clone()
    }
}

impl Drop for PushPeer {
    fn drop(&mut self) {
        // SIGKILL also ends a frozen peer, which would sit on a SIGTERM until thawed.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("push peer {} log:\n{}", self.base, self.log());
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Copies the peer's stdout into its log, line by line, on a thread of its own (until the peer
/// exits); the answer comes when the line `ready` went by, or is dropped if the output ended first.
fn copy_to_log(
    stdout: std::process::ChildStdout,
    mut log: File,
    ready: String,
) -> tokio::sync::oneshot::Receiver<()> {
    use std::io::{BufRead, Write};
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = writeln!(log, "{line}");
            if line.contains(&ready)
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(());
            }
        }
    });
    rx
}

/// The peer's id for a subscription: the last path segment of its endpoint.
fn client_hash(endpoint: &str) -> &str {
    endpoint
        .rsplit('/')
        .next()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| panic!("push peer: no client hash in endpoint {endpoint:?}"))
}

const DIR_PREFIX: &str = "nenufar-push-peer-";

/// A new empty directory under the system temp dir, unique across test processes and peers.
fn fresh_dir(port: u16) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = std::env::temp_dir();
    if n == 0 {
        sweep_stale_dirs(&tmp);
    }
    let dir = tmp.join(format!("{DIR_PREFIX}{}-{n}-{port}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("push peer: create {}: {e}", dir.display()));
    dir
}

/// Removes the directories of test processes that died before their `Drop` ran (their peers
/// already exited: `serve.js` quits when its stdin closes).
fn sweep_stale_dirs(tmp: &Path) {
    let Ok(entries) = fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(DIR_PREFIX)) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        if !pid.is_empty() && !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}
