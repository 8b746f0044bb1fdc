//! Benchmark (prints numbers, asserts nothing): "score update + rank lookup" on a 100,000-member
//! board, in process on `domain::leaderboard::Board` against Redis `ZINCRBY` + `ZREVRANK` over
//! loopback, the same random sequence of operations on both, in the same invocation.
//!
//! In process an operation is `set(member, old + delta, offset)` then `rank(member)`, as a node does
//! for each `score_changed`; members are `PlayerId`s (UUIDs), Redis members their 36-character
//! text. Redis gets one connection to a private `redis-server` on a free port, and the headline
//! figure sends one command and waits for its reply (two round trips per operation), as a service
//! calling Redis per event would. Also printed, for information: both commands of an operation in
//! one write (one round trip), and 1,000 operations pipelined per write. The final scores of both
//! sides are compared (ranks can differ on ties: Redis breaks them by member, we by offset).
//!
//! Run by `ops/bench-live.sh`; by hand `cargo bench --bench leaderboard`. Knobs:
//! `NENUFAR_BENCH_LEADERBOARD_OPS` (200000), `NENUFAR_BENCH_LEADERBOARD_MEMBERS` (100000),
//! `NENUFAR_BENCH_REDIS_SERVER`. Without `--bench` (as under `cargo test`) it does nothing.
#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

#[allow(
    dead_code,
    reason = "shared with the fan-out benchmark, which uses all of it"
)]
#[path = "fanout/redis.rs"]
mod redis;
#[allow(
    dead_code,
    reason = "shared with the fan-out benchmark, which uses other parts"
)]
#[path = "fanout/resp.rs"]
mod resp;

use std::collections::HashMap;
use std::hint::black_box;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use anyhow::{Context, bail};
use nenufar::domain::ids::PlayerId;
use nenufar::domain::leaderboard::Board;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use redis::RedisServer;
use resp::Reply;

const KEY: &[u8] = b"nfb-board";
/// Operations per write in the pipelined variant.
const PIPELINE: usize = 1000;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}: cannot parse {v:?}")),
        Err(_) => Ok(default),
    }
}

/// One operation: member index, score delta.
type Op = (u32, i64);

fn main() -> anyhow::Result<()> {
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    println!("leaderboard: limits profile: none (no server: the treap is driven directly)");
    let members_n: usize = env_or("NENUFAR_BENCH_LEADERBOARD_MEMBERS", 100_000usize)?.max(1);
    let ops_n: usize = env_or("NENUFAR_BENCH_LEADERBOARD_OPS", 200_000usize)?.max(1);
    let mut rng = StdRng::seed_from_u64(0x6c65_6164);
    let members: Vec<PlayerId> = (0..members_n)
        .map(|_| PlayerId(uuid::Builder::from_random_bytes(rng.random()).into_uuid()))
        .collect();
    let initial: Vec<i64> = (0..members_n).map(|_| rng.random_range(0..1000)).collect();
    let ops: Vec<Op> = (0..ops_n)
        .map(|_| {
            (
                rng.random_range(0..members_n as u32),
                rng.random_range(1..=10),
            )
        })
        .collect();
    println!(
        "leaderboard: {members_n} members with random scores 0-999, {ops_n} operations \
         (score update + rank lookup) on uniformly random members, deltas 1-10, one seeded sequence"
    );

    // In process: build once, run the sequence on three fresh copies, keep the median.
    let t = Instant::now();
    let mut built = Board::default();
    for (i, (m, s)) in members.iter().zip(&initial).enumerate() {
        built.set(*m, *s, i as i64);
    }
    println!(
        "leaderboard: in-process board built in {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let mut rates = Vec::new();
    let mut final_board = None;
    for _ in 0..3 {
        let mut board = built.clone();
        let t = Instant::now();
        let mut offset = members_n as i64;
        let mut ranks = 0u64;
        for &(i, delta) in &ops {
            let m = members[i as usize];
            let old = board.get(m).map_or(0, |(s, _)| s);
            offset += 1;
            board.set(m, old + delta, offset);
            ranks += u64::from(board.rank(m).unwrap_or(0));
        }
        black_box(ranks);
        rates.push(ops_n as f64 / t.elapsed().as_secs_f64());
        final_board = Some(board);
    }
    rates.sort_by(f64::total_cmp);
    let ours = rates[1];
    println!(
        "leaderboard: in-process Board {ours:.0} ops/s ({:.2} us per op; runs {:.0} / {:.0} / {:.0} ops/s)",
        1e6 / ours,
        rates[0],
        rates[1],
        rates[2]
    );

    let server = RedisServer::start(100)?;
    println!(
        "leaderboard: redis-server {} on port {}",
        RedisServer::version(),
        server.port
    );
    let mut redis = Conn::open(server.port)?;
    let names: Vec<Vec<u8>> = members
        .iter()
        .map(|m| m.0.hyphenated().to_string().into_bytes())
        .collect();

    redis.load(&names, &initial)?;
    let t = Instant::now();
    for &(i, delta) in &ops {
        let name = &names[i as usize];
        redis.send(&[b"ZINCRBY", KEY, delta.to_string().as_bytes(), name])?;
        redis.reply()?;
        redis.send(&[b"ZREVRANK", KEY, name])?;
        black_box(redis.reply()?);
    }
    let one_by_one = ops_n as f64 / t.elapsed().as_secs_f64();
    let same = redis.scores()? == final_scores(final_board.as_ref(), &members);
    println!(
        "leaderboard: Redis ZINCRBY + ZREVRANK, one request at a time {one_by_one:.0} ops/s \
         ({:.1} us per op); final scores equal to the in-process board's: {}",
        1e6 / one_by_one,
        if same { "yes" } else { "NO" }
    );

    redis.load(&names, &initial)?;
    let t = Instant::now();
    for &(i, delta) in &ops {
        let name = &names[i as usize];
        redis.queue(&[b"ZINCRBY", KEY, delta.to_string().as_bytes(), name]);
        redis.queue(&[b"ZREVRANK", KEY, name]);
        redis.flush()?;
        redis.reply()?;
        black_box(redis.reply()?);
    }
    let paired = ops_n as f64 / t.elapsed().as_secs_f64();
    println!(
        "leaderboard: Redis, both commands of an operation in one write (one round trip) \
         {paired:.0} ops/s ({:.1} us per op)",
        1e6 / paired
    );

    redis.load(&names, &initial)?;
    let t = Instant::now();
    for chunk in ops.chunks(PIPELINE) {
        for &(i, delta) in chunk {
            let name = &names[i as usize];
            redis.queue(&[b"ZINCRBY", KEY, delta.to_string().as_bytes(), name]);
            redis.queue(&[b"ZREVRANK", KEY, name]);
        }
        redis.flush()?;
        for _ in 0..chunk.len() * 2 {
            black_box(redis.reply()?);
        }
    }
    let pipelined = ops_n as f64 / t.elapsed().as_secs_f64();
    println!(
        "leaderboard: Redis, {PIPELINE} operations pipelined per write {pipelined:.0} ops/s \
         ({:.2} us per op)",
        1e6 / pipelined
    );

    println!("\nlines for BENCHMARKS.md:");
    println!(
        "leaderboard: update + rank on a {members_n}-member board, {ops_n} ops: in-process \
         {ours:.0} ops/s; Redis ZINCRBY + ZREVRANK over loopback {one_by_one:.0} ops/s \
         (request/response), {paired:.0} ops/s (one round trip per op), {pipelined:.0} ops/s \
         (pipelined by {PIPELINE})"
    );
    println!(
        "leaderboard ratio: {:.1}x Redis request/response (goal >= 10x); {:.1}x one round trip \
         per op; {:.1}x pipelined",
        ours / one_by_one,
        ours / paired,
        ours / pipelined
    );
    Ok(())
}

fn final_scores(board: Option<&Board<PlayerId>>, members: &[PlayerId]) -> HashMap<String, i64> {
    members
        .iter()
        .map(|m| {
            let score = board.and_then(|b| b.get(*m)).map_or(i64::MIN, |(s, _)| s);
            (m.0.hyphenated().to_string(), score)
        })
        .collect()
}

/// One blocking connection to Redis with its read buffer.
struct Conn {
    stream: TcpStream,
    out: Vec<u8>,
    buf: Vec<u8>,
    at: usize,
}

impl Conn {
    fn open(port: u16) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            out: Vec::new(),
            buf: Vec::with_capacity(64 * 1024),
            at: 0,
        })
    }

    fn queue(&mut self, args: &[&[u8]]) {
        resp::command(&mut self.out, args);
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        self.stream.write_all(&self.out)?;
        self.out.clear();
        Ok(())
    }

    fn send(&mut self, args: &[&[u8]]) -> anyhow::Result<()> {
        self.queue(args);
        self.flush()
    }

    fn reply(&mut self) -> anyhow::Result<Reply> {
        loop {
            if let Some((reply, used)) =
                resp::parse(&self.buf[self.at..]).map_err(anyhow::Error::msg)?
            {
                self.at += used;
                if self.at == self.buf.len() {
                    self.buf.clear();
                    self.at = 0;
                }
                if let Reply::Error(e) = &reply {
                    bail!("redis: {e}");
                }
                return Ok(reply);
            }
            if self.at > 0 {
                self.buf.drain(..self.at);
                self.at = 0;
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                bail!("redis closed the connection");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Replaces the board with the initial scores (pipelined, not timed).
    fn load(&mut self, names: &[Vec<u8>], scores: &[i64]) -> anyhow::Result<()> {
        self.send(&[b"DEL", KEY])?;
        self.reply()?;
        let pairs: Vec<(&Vec<u8>, String)> = names
            .iter()
            .zip(scores)
            .map(|(n, s)| (n, s.to_string()))
            .collect();
        for chunk in pairs.chunks(1000) {
            let mut args: Vec<&[u8]> = vec![b"ZADD", KEY];
            for (name, score) in chunk {
                args.push(score.as_bytes());
                args.push(name);
            }
            self.send(&args)?;
            self.reply()?;
        }
        Ok(())
    }

    /// Every member's score.
    fn scores(&mut self) -> anyhow::Result<HashMap<String, i64>> {
        self.send(&[b"ZRANGE", KEY, b"0", b"-1", b"WITHSCORES"])?;
        let Reply::Array(Some(items)) = self.reply()? else {
            bail!("unexpected answer to ZRANGE");
        };
        items
            .chunks(2)
            .map(|pair| match pair {
                [Reply::Bulk(Some(name)), score] => Ok((
                    String::from_utf8_lossy(name).into_owned(),
                    score.as_i64().context("a score")?,
                )),
                _ => bail!("unexpected ZRANGE item"),
            })
            .collect()
    }
}
