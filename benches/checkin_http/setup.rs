//! Setting up the run: `nenufar serve` as a child process on a free port, and one live hunt made
//! through the API (targets, players, teams). Knows nothing of the load or of pgbench.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::api::{field, live_hunt, owner_token, post};
use crate::{LAT, LON, Settings, TARGETS, TEAM_SIZE, TEAMS};

/// The server child process, killed when dropped; its log is removed then unless a failure
/// pointed to it.
pub struct Server {
    pub child: Child,
    log: std::path::PathBuf,
    keep_log: bool,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.keep_log {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// Starts `nenufar serve` (the release binary cargo built with this benchmark) on a free loopback
/// port against `url`.
/// `limits` is the server's `NENUFAR_LIMITS` profile.
pub fn start_server(
    url: &str,
    settings: &Settings,
    limits: &str,
) -> anyhow::Result<(Server, SocketAddr)> {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let log = std::env::temp_dir().join(format!("nenufar-bench-serve-{}.log", addr.port()));
    let out = std::fs::File::create(&log)?;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nenufar"));
    cmd.arg("serve")
        .env("NENUFAR_DATABASE_URL", url)
        .env("NENUFAR_BIND", addr.to_string())
        .env("NENUFAR_LIMITS", limits)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    if let Some(size) = &settings.pool_size {
        cmd.env("NENUFAR_DB_POOL_SIZE", size);
    }
    Ok((
        Server {
            child: cmd.spawn().context("starting nenufar serve")?,
            log,
            keep_log: false,
        },
        addr,
    ))
}

/// Waits until `/healthz` answers (the server migrates first), at most 60 s.
pub async fn wait_ready(
    server: &mut Server,
    base: &str,
    client: &reqwest::Client,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(status) = server.child.try_wait()? {
            server.keep_log = true;
            bail!(
                "nenufar serve exited with {status}; log: {}",
                server.log.display()
            );
        }
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.keep_log = true;
    bail!(
        "nenufar serve did not become healthy in 60 s; log: {}",
        server.log.display()
    )
}

/// The hunt's circle targets: (lat, lon, radius_m), radii drawn in `[radius_m.0, radius_m.1)`,
/// the same on every run (a fixed seed: the centres do not depend on the radii).
pub fn targets(radius_m: (f64, f64)) -> Vec<(f64, f64, f64)> {
    let mut rng = StdRng::seed_from_u64(0x6e65_6e75);
    (0..TARGETS)
        .map(|_| {
            let (lat, lon) = (
                rng.random_range(LAT.0..LAT.1),
                rng.random_range(LON.0..LON.1),
            );
            (lat, lon, rng.random_range(radius_m.0..radius_m.1))
        })
        .collect()
}

/// A live hunt with its targets, players and teams, made through the API (the organisation and
/// its owner through the service, as `nenufar org create` does). Returns the hunt id, every
/// player's bearer token and the owner's. `radius_m`: see [`targets`].
pub async fn set_up(
    url: &str,
    base: &str,
    client: &reqwest::Client,
    radius_m: (f64, f64),
) -> anyhow::Result<(String, Vec<String>, String)> {
    let state = nenufar::app::AppState::new(nenufar::db::connect(url, 2)?);
    let staff = owner_token(&state, base, client, "bench-owner@brand.example").await?;
    let features: Vec<Value> = targets(radius_m)
        .into_iter()
        .enumerate()
        .map(|(i, (lat, lon, radius_m))| {
            json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "name": format!("target {i}"), "radius_m": radius_m, "points": 1 + i % 5,
                },
            })
        })
        .collect();
    let rules =
        json!({"accuracy_policy": "centre", "max_accuracy_m": 50, "team_max_size": TEAM_SIZE});
    let hunt = live_hunt(base, client, &staff, "Benchmark hunt", rules, features).await?;

    let mut players = Vec::new();
    for team in 0..TEAMS {
        let mut set = tokio::task::JoinSet::new();
        for member in 0..TEAM_SIZE {
            let (client, base) = (client.clone(), base.to_owned());
            set.spawn(async move {
                let p = post(
                    &client,
                    format!("{base}/v1/players"),
                    None,
                    json!({"handle": format!("bench_{team}_{member}")}),
                )
                .await?;
                field(&p, "token")
            });
        }
        let members: Vec<String> = set
            .join_all()
            .await
            .into_iter()
            .collect::<anyhow::Result<_>>()?;
        let created = post(
            client,
            format!("{base}/v1/hunts/{hunt}/teams"),
            Some(&members[0]),
            json!({"name": format!("team {team}")}),
        )
        .await?;
        let code = field(&created, "invite_code")?;
        for token in &members[1..] {
            post(
                client,
                format!("{base}/v1/teams/join"),
                Some(token),
                json!({"invite_code": code}),
            )
            .await?;
        }
        players.extend(members);
    }
    Ok((hunt, players, staff))
}

/// Registers a push subscription for every player (an https endpoint per device that is never
/// called: the benchmark's server has no VAPID subject, so it expands notifications into the
/// outbox but sends none). Measures what preparing pushes costs the check-in path.
pub async fn subscribe_all(
    base: &str,
    client: &reqwest::Client,
    tokens: &[String],
) -> anyhow::Result<()> {
    // RFC 8291's example device key and secret: any valid pair will do.
    let keys = json!({
        "p256dh": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
        "auth": "BTBZMqHH6r4Tts7J_aSIgg",
    });
    for (i, token) in tokens.iter().enumerate() {
        let body = json!({"endpoint": format!("https://push.example.net/bench/{i}"), "keys": keys});
        let resp = client
            .post(format!("{base}/v1/push/subscriptions"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("subscribing player {i}: {}", resp.status());
        }
    }
    Ok(())
}
