//! The load generator: keep-alive connections writing raw HTTP/1.1 check-ins back to back (as wrk
//! would, so its own cost stays small on 2 cores) and tallying what came back.

use std::collections::BTreeMap;
use std::net::SocketAddr;
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

/// One connection posting check-ins back to back until `end`; records those completed in
/// [`from`, `end`].
pub async fn load_connection(
    addr: SocketAddr,
    hunt: String,
    tokens: Vec<String>,
    seed: u64,
    from: Instant,
    end: Instant,
) -> anyhow::Result<Tally> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tally = Tally::default();
    let mut buf = Vec::with_capacity(16 * 1024);
    for k in 0.. {
        let body = format!(
            r#"{{"lat":{},"lon":{},"accuracy_m":{},"captured_at":"{}","idempotency_key":"{}"}}"#,
            rng.random_range(LAT.0..LAT.1),
            rng.random_range(LON.0..LON.1),
            rng.random_range(5.0..30.0),
            Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            uuid::Uuid::new_v4()
        );
        let request = format!(
            "POST /v1/hunts/{hunt}/checkins HTTP/1.1\r\nhost: {addr}\r\n\
             authorization: Bearer {}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            tokens[k % tokens.len()],
            body.len()
        );
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
            stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            continue;
        };
        if done >= from {
            tally
                .latencies_us
                .push(done.duration_since(sent).as_micros().min(u32::MAX as u128) as u32);
            *tally.statuses.entry(status).or_default() += 1;
            *tally.verdicts.entry(verdict_of(&body)).or_default() += 1;
        }
    }
    Ok(tally)
}

/// What the HTTP load did in its measured window.
pub struct HttpRun {
    pub tally: Tally,
    pub cost: Cost,
    /// Byte offsets of the server log at both ends of the window.
    pub log_range: (u64, u64),
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
    let mut set = tokio::task::JoinSet::new();
    for c in 0..conns {
        let mut mine: Vec<String> = tokens.iter().skip(c).step_by(conns).cloned().collect();
        if mine.is_empty() {
            mine.push(tokens[c % tokens.len()].clone());
        }
        set.spawn(load_connection(
            addr,
            hunt.to_owned(),
            mine,
            1000 + c as u64,
            from,
            end,
        ));
    }
    tokio::time::sleep_until(from.into()).await;
    let first = meter.snapshot().await?;
    tokio::time::sleep_until(end.into()).await;
    let last = meter.snapshot().await?;
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
        tally,
    })
}
