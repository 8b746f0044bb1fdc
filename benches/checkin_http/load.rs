//! The load generator: keep-alive connections writing raw HTTP/1.1 check-ins back to back (as wrk
//! would, so its own cost stays small on 2 cores) and tallying what came back. With
//! `NENUFAR_BENCH_KEY_COLLISIONS=p`, a share `p` of the check-ins collide: the same key is sent
//! at once on a second connection of the same player with another body (one at a target, one
//! elsewhere), as a client racing itself would; one of the two is answered 409.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::meter::{Cost, Meter};
use crate::{LAT, LON, Settings};

/// What one load connection saw in the measured window: latencies of the answered requests,
/// statuses (0: the connection failed) and verdicts.
#[derive(Default)]
pub struct Tally {
    pub latencies_us: Vec<u32>,
    pub statuses: BTreeMap<u16, u64>,
    pub verdicts: BTreeMap<String, u64>,
    /// Pairs of requests sharing one key (`NENUFAR_BENCH_KEY_COLLISIONS`).
    pub collisions: u64,
}

impl Tally {
    pub fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        for (k, v) in other.verdicts {
            *self.verdicts.entry(k).or_default() += v;
        }
        self.collisions += other.collisions;
    }

    /// Records one answered request that completed at `done`, if inside the window.
    fn record(&mut self, from: Instant, sent: Instant, done: Instant, status: u16, body: &[u8]) {
        if done >= from {
            self.latencies_us
                .push(done.duration_since(sent).as_micros().min(u32::MAX as u128) as u32);
            *self.statuses.entry(status).or_default() += 1;
            *self.verdicts.entry(verdict_of(body)).or_default() += 1;
        }
    }
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Sends one request and reads one response on a keep-alive connection: (status, body).
pub async fn exchange(
    stream: &mut TcpStream,
    request: &[u8],
    buf: &mut Vec<u8>,
) -> anyhow::Result<(u16, Vec<u8>)> {
    stream.write_all(request).await?;
    buf.clear();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = find(buf, b"\r\n\r\n") {
            break pos + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("the server closed the connection");
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end])?;
    let status: u16 = head.get(9..12).context("short status line")?.parse()?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.trim().parse())
        })
        .context("response without content-length")??;
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("the server closed the connection mid-body");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok((status, buf[head_end..head_end + length].to_vec()))
}

pub fn verdict_of(body: &[u8]) -> String {
    let key = b"\"verdict\":\"";
    find(body, key)
        .and_then(|at| {
            let rest = &body[at + key.len()..];
            rest.iter()
                .position(|&b| b == b'"')
                .map(|end| String::from_utf8_lossy(&rest[..end]).into_owned())
        })
        .unwrap_or_else(|| "(none)".into())
}

/// A raw check-in request of `token` to `hunt`.
fn checkin_request(
    addr: SocketAddr,
    hunt: &str,
    token: &str,
    (lat, lon, accuracy_m): (f64, f64, f64),
    key: uuid::Uuid,
) -> String {
    let body = format!(
        r#"{{"lat":{lat},"lon":{lon},"accuracy_m":{accuracy_m},"captured_at":"{}","idempotency_key":"{key}"}}"#,
        Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    );
    format!(
        "POST /v1/hunts/{hunt}/checkins HTTP/1.1\r\nhost: {addr}\r\n\
         authorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

async fn connect(addr: SocketAddr) -> anyhow::Result<TcpStream> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// What one load connection sends.
pub struct ConnectionLoad {
    pub addr: SocketAddr,
    pub hunt: String,
    pub tokens: Vec<String>,
    pub seed: u64,
    /// Share of check-ins sent as a same-key pair (0 to 1).
    pub collisions: f64,
    /// The hunt's circle targets (lat, lon, radius_m): where a colliding pair's first body goes.
    pub targets: Arc<Vec<(f64, f64, f64)>>,
}

/// One connection posting check-ins back to back until `end` (a colliding pair also uses a second
/// connection, opened on first use); records those completed in [`from`, `end`].
pub async fn load_connection(
    load: ConnectionLoad,
    from: Instant,
    end: Instant,
) -> anyhow::Result<Tally> {
    let addr = load.addr;
    let mut stream = connect(addr).await?;
    let mut partner: Option<TcpStream> = None;
    let mut rng = StdRng::seed_from_u64(load.seed);
    let mut tally = Tally::default();
    let (mut buf, mut partner_buf) = (Vec::with_capacity(16 * 1024), Vec::with_capacity(16 * 1024));
    for k in 0.. {
        let token = &load.tokens[k % load.tokens.len()];
        let key = uuid::Uuid::new_v4();
        let random_fix = (
            rng.random_range(LAT.0..LAT.1),
            rng.random_range(LON.0..LON.1),
            rng.random_range(5.0..30.0),
        );
        let request = checkin_request(addr, &load.hunt, token, random_fix, key);
        if load.collisions > 0.0 && rng.random_bool(load.collisions.min(1.0)) {
            // The same key at a target on this connection and elsewhere on the partner, at once.
            let (lat, lon, _) = load.targets[rng.random_range(0..load.targets.len())];
            let at_target = checkin_request(addr, &load.hunt, token, (lat, lon, 5.0), key);
            let mut other = match partner.take() {
                Some(s) => s,
                None => connect(addr).await?,
            };
            let sent = Instant::now();
            let (mine, theirs) = tokio::join!(
                async {
                    let r = exchange(&mut stream, at_target.as_bytes(), &mut buf).await;
                    (r, Instant::now())
                },
                async {
                    let r = exchange(&mut other, request.as_bytes(), &mut partner_buf).await;
                    (r, Instant::now())
                },
            );
            if mine.1.max(theirs.1) > end {
                break;
            }
            if mine.1 >= from {
                tally.collisions += 1;
            }
            let (mine_failed, theirs_failed) = (mine.0.is_err(), theirs.0.is_err());
            for (outcome, done) in [mine, theirs] {
                match outcome {
                    Ok((status, body)) => tally.record(from, sent, done, status, &body),
                    Err(_) if done >= from => *tally.statuses.entry(0).or_default() += 1,
                    Err(_) => {}
                }
            }
            // A transport failure: carry on over a new connection.
            if mine_failed {
                stream = connect(addr).await?;
            }
            if !theirs_failed {
                partner = Some(other);
            }
            continue;
        }
        let sent = Instant::now();
        let outcome = exchange(&mut stream, request.as_bytes(), &mut buf).await;
        let done = Instant::now();
        if done > end {
            break;
        }
        let Ok((status, body)) = outcome else {
            // A transport failure counts as status 0; carry on over a new connection.
            if done >= from {
                *tally.statuses.entry(0).or_default() += 1;
            }
            stream = connect(addr).await?;
            continue;
        };
        tally.record(from, sent, done, status, &body);
    }
    Ok(tally)
}

/// What the HTTP load did in its measured window.
pub struct HttpRun {
    pub tally: Tally,
    pub cost: Cost,
    /// Byte offsets of the server log at both ends of the window.
    pub log_range: (u64, u64),
    /// PostgreSQL's statistics at both ends of the window, when sampled.
    pub stats: Option<(crate::pgstats::Sample, crate::pgstats::Sample)>,
}

/// Runs `settings.connections` connections through the warm-up and the measured window; each
/// connection takes every `connections`-th player in turn.
pub async fn run_load(
    settings: &Settings,
    addr: SocketAddr,
    hunt: &str,
    tokens: &[String],
    meter: &Meter,
) -> anyhow::Result<HttpRun> {
    let conns = settings.connections;
    let from = Instant::now() + Duration::from_secs(settings.warmup.max(1));
    let end = from + Duration::from_secs(settings.seconds);
    let targets = Arc::new(crate::setup::targets(settings.radius_m));
    let mut set = tokio::task::JoinSet::new();
    for c in 0..conns {
        let mut mine: Vec<String> = tokens.iter().skip(c).step_by(conns).cloned().collect();
        if mine.is_empty() {
            mine.push(tokens[c % tokens.len()].clone());
        }
        let load = ConnectionLoad {
            addr,
            hunt: hunt.to_owned(),
            tokens: mine,
            seed: 1000 + c as u64,
            collisions: settings.key_collisions,
            targets: targets.clone(),
        };
        set.spawn(load_connection(load, from, end));
    }
    tokio::time::sleep_until(from.into()).await;
    let mut first = meter.snapshot().await?;
    tokio::time::sleep_until(end.into()).await;
    let mut last = meter.snapshot().await?;
    let mut tally = Tally::default();
    for t in set.join_all().await {
        tally.merge(t?);
    }
    tally.latencies_us.sort_unstable();
    Ok(HttpRun {
        cost: last.since(
            &first,
            tally.statuses.get(&200).copied().unwrap_or(0) as f64,
        ),
        log_range: (first.log_len, last.log_len),
        stats: first.stats.take().zip(last.stats.take()),
        tally,
    })
}
