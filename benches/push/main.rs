//! Benchmark (prints numbers, asserts nothing): Web Push encryption and outbox draining.
//!
//! 1. Encryption alone, one thread: P-256 key agreements per second (a fresh key pair plus ECDH,
//!    what every message needs: the ceiling; with ring, and with the p256 crate for comparison),
//!    then whole requests built the way the dispatcher builds them
//!    (`push::send::Sender::request`: RFC 8291 aes128gcm payload, VAPID header,
//!    TTL/Urgency/Topic) per second, and the ratio of the two.
//! 2. Draining: a live hunt with 1,000 players (100 teams of 10), each with a device subscribed at
//!    a local web-push-testing peer (the same real push service the tests use), and 10 hunt-wide
//!    broadcasts: 10,000 notifications in the outbox, written by a node that does not dispatch.
//!    Then 1 (and, for a second batch, 2) `nenufar serve` dispatcher processes start; measured:
//!    time from the first delivery to an empty outbox, notifications per second, every device's
//!    count checked at the peer, and the CPU each process used.
//!
//! Run by `ops/bench.sh push` (its own cluster; the peer is installed by ops/ensure-deps.sh); by
//! hand: `NENUFAR_BENCH_ADMIN_URL=postgresql:///postgres?user=postgres&host=DIR cargo bench
//! --bench push`. Knobs: `NENUFAR_BENCH_ENCRYPTIONS` (20,000). Without `--bench` it does nothing.
#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

#[path = "../support/api.rs"]
mod api;
#[path = "../../tests/api/push/peer.rs"]
#[allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "the tests' push peer harness, shared: it stops loudly"
)]
mod peer;
#[path = "../fanout/procfs.rs"]
#[allow(dead_code, reason = "only the CPU reading is used here")]
mod procfs;
mod setup;
#[path = "../../tests/api/support/wait.rs"]
mod wait;

#[path = "../support/scratch.rs"]
mod scratch;

use std::time::{Duration, Instant};

use anyhow::Context;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use p256::elliptic_curve::rand_core::OsRng;

use nenufar::domain::push::Urgency;
use nenufar::push::send::{Message, Sender};
use nenufar::push::subscription::AllowHttpLoopback;
use nenufar::push::vapid::{self, Vapid};

/// Players, each with one device.
pub const PLAYERS: usize = 1000;
pub const TEAM_SIZE: usize = 10;
/// Hunt-wide broadcasts per batch: PLAYERS x BROADCASTS notifications.
pub const BROADCASTS: usize = 10;

fn main() -> anyhow::Result<()> {
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    println!("push: limits profile: load-test (the set-up node and the dispatching nodes)");
    let n: usize = std::env::var("NENUFAR_BENCH_ENCRYPTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    encryption(n)?;
    let admin = std::env::var("NENUFAR_BENCH_ADMIN_URL")
        .context("NENUFAR_BENCH_ADMIN_URL is not set: run ops/bench.sh push")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let admin = admin.as_str();
    scratch::run_then_drop(
        &rt,
        admin,
        "push",
        |db| async move { drain(admin, &db).await },
    )
}

/// Part 1: key agreements and whole requests per second on one thread.
fn encryption(n: usize) -> anyhow::Result<()> {
    let device = p256::SecretKey::random(&mut OsRng);
    let device_public = device.public_key();
    let rate = |f: &mut dyn FnMut()| {
        for _ in 0..n / 10 {
            f(); // warm-up
        }
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        n as f64 / start.elapsed().as_secs_f64()
    };
    // The ceiling: one fresh P-256 key pair and its key agreement per message (ring, as in
    // `push::ece`), and the same with the pure-Rust p256 crate `web-push-native` builds on.
    let ring_rng = ring::rand::SystemRandom::new();
    let device_bytes =
        p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&device_public, false);
    let device_ring = ring::agreement::UnparsedPublicKey::new(
        &ring::agreement::ECDH_P256,
        device_bytes.as_bytes(),
    );
    let mut agreement_failed = 0usize;
    let agreement = rate(&mut || {
        let ok =
            ring::agreement::EphemeralPrivateKey::generate(&ring::agreement::ECDH_P256, &ring_rng)
                .and_then(|k| {
                    let public = k.compute_public_key()?;
                    let shared = ring::agreement::agree_ephemeral(k, &device_ring, |s| s[0])?;
                    Ok(std::hint::black_box((public.as_ref()[0], shared)))
                });
        agreement_failed += usize::from(ok.is_err());
    });
    anyhow::ensure!(
        agreement_failed == 0,
        "{agreement_failed} key agreements failed"
    );
    let pure_rust = rate(&mut || {
        let ephemeral = p256::ecdh::EphemeralSecret::random(&mut OsRng);
        let public = ephemeral.public_key();
        let shared = ephemeral.diffie_hellman(&device_public);
        std::hint::black_box((public, shared.raw_secret_bytes()[0]));
    });
    let (private, _) = vapid::generate();
    let vapid = Vapid::from_private(&private)?;
    let sender = Sender::new(AllowHttpLoopback(false))?;
    let p256dh =
        p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&device_public, false);
    let auth = [9u8; 16];
    let payload = br#"{"category":"find","title":"ana found Tour Eiffel","body":"+5 points for your team","hunt_id":"0f650b00-cdae-4176-9c13-840c9c100f2c","hunt_title":"Paris","offset":1291,"kind":"target_found","url":"/hunts/0f650b00-cdae-4176-9c13-840c9c100f2c?after=1290"}"#;
    let mut failed = 0usize;
    let requests = rate(&mut || {
        let m = Message {
            endpoint: "https://fcm.googleapis.com/fcm/send/device",
            p256dh: p256dh.as_bytes(),
            auth: &auth,
            payload: payload.to_vec(),
            ttl_s: 3600,
            urgency: Urgency::Normal,
            topic: None,
        };
        if sender
            .request(
                &vapid,
                "mailto:bench@nenufar.example",
                m,
                chrono::Utc::now(),
            )
            .is_err()
        {
            failed += 1;
        }
    });
    anyhow::ensure!(failed == 0, "{failed} requests could not be built");
    println!(
        "push encryption (one thread, {n} each): key pair + ECDH (ring) {agreement:.0}/s \
         ({:.1} us); key pair + ECDH (p256 crate, as web-push-native) {pure_rust:.0}/s ({:.1} us); \
         whole request (aes128gcm {} B payload, VAPID, headers) {requests:.0}/s ({:.1} us)",
        1e6 / agreement,
        1e6 / pure_rust,
        payload.len(),
        1e6 / requests
    );
    println!(
        "push encryption ratio: whole requests / key agreements = {:.2} (goal >= 0.80)",
        requests / agreement
    );
    Ok(())
}

/// Part 2: 10,000 notifications drained by one node, then another 10,000 by two.
async fn drain(admin: &str, db: &str) -> anyhow::Result<()> {
    let url = admin.replacen("/postgres?", &format!("/{db}?"), 1);
    let mut conn = AsyncPgConnection::establish(admin).await?;
    diesel::sql_query(format!("create database {db}"))
        .execute(&mut conn)
        .await?;
    nenufar::db::migrate::run_pending(&url).await?;
    let peer = peer::PushPeer::start().await;
    let start = Instant::now();
    let world = setup::World::build(&url, &peer).await?;
    println!(
        "push drain: hunt with {PLAYERS} players in {} teams, each with a device subscribed at \
         the local push peer, set up in {:.1} s",
        PLAYERS / TEAM_SIZE,
        start.elapsed().as_secs_f64()
    );
    for (batch, nodes) in [1usize, 2].into_iter().enumerate() {
        let filling = Instant::now();
        let queued = world.fill(BROADCASTS, batch).await?;
        println!(
            "push drain: {BROADCASTS} broadcasts posted, numbered and expanded to {queued} \
             notifications (one per device) in {:.2} s",
            filling.elapsed().as_secs_f64()
        );
        let mut procs = Vec::new();
        let spawned = Instant::now();
        for _ in 0..nodes {
            procs.push(setup::Dispatcher::start(&url)?);
        }
        let first_to_empty = world.wait_empty(queued, Duration::from_secs(300)).await?;
        let since_spawn = spawned.elapsed();
        let cpu: Vec<String> = procs
            .iter()
            .map(|p| procfs::cpu_s(p.pid()).map_or("?".into(), |s| format!("{s:.2} s")))
            .collect();
        drop(procs);
        let expected = (batch + 1) * BROADCASTS;
        let (complete, total) = world.check_peer(&peer, expected).await?;
        let secs = first_to_empty.as_secs_f64();
        println!(
            "push drain: {queued} notifications, {nodes} dispatcher node(s): outbox empty {secs:.2} s \
             after the first delivery ({:.0} notifications/s; {:.2} s after the processes were \
             spawned); peer has {total} messages, {complete}/{PLAYERS} devices with exactly \
             {expected}; CPU per node {}; peer CPU {}",
            queued as f64 / secs,
            since_spawn.as_secs_f64(),
            cpu.join(" + "),
            procfs::cpu_s(peer.pid()).map_or("?".into(), |s| format!("{s:.2} s so far"))
        );
    }
    Ok(())
}
