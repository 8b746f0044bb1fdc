//! The push benchmark's world: an in-process node that does not dispatch (it sets up the hunt,
//! players and subscriptions over HTTP and writes the notifications), and `nenufar serve`
//! dispatcher processes started against the same database.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

use crate::api::{field, live_hunt, owner_token, post};
use crate::peer::PushPeer;
use crate::{PLAYERS, TEAM_SIZE};

/// The hunt, its players' devices, and the node that made them.
pub struct World {
    url: String,
    base: String,
    client: reqwest::Client,
    staff: String,
    hunt: String,
    endpoints: Vec<String>,
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn count(conn: &mut AsyncPgConnection, sql: &str) -> anyhow::Result<i64> {
    let row: N = diesel::sql_query(sql).get_result(conn).await?;
    Ok(row.n)
}

impl World {
    /// Starts the set-up node and makes the hunt, teams, players and subscriptions.
    pub async fn build(url: &str, peer: &PushPeer) -> anyhow::Result<Self> {
        let settings = nenufar::push::PushSettings {
            subject: None,
            allow_http_loopback: nenufar::push::subscription::AllowHttpLoopback(true),
        };
        let limits = nenufar::limits::config::LimitsConfig::profile(
            nenufar::limits::config::Profile::LoadTest,
        );
        let state = nenufar::app::AppState::new(nenufar::db::connect(url, 8)?)
            .with_push(settings)
            .with_limits(limits);
        state.start_background(url.to_owned());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let router = nenufar::http::router(state.clone());
        let limiters = state.ctx.limits.clone();
        tokio::spawn(nenufar::http::serve::serve(
            listener,
            router,
            limiters,
            std::future::pending(),
        ));
        let client = reqwest::Client::new();
        let staff = owner_token(&state, &base, &client, "bench-push@brand.example").await?;
        let target = json!({"type": "Feature",
            "geometry": {"type": "Point", "coordinates": [2.29448, 48.85837]},
            "properties": {"name": "Tour Eiffel", "radius_m": 40, "points": 5}});
        let rules = json!({"team_max_size": TEAM_SIZE});
        let hunt = live_hunt(
            &base,
            &client,
            &staff,
            "Push benchmark",
            rules,
            vec![target],
        )
        .await?;
        // The schedule job announces the hunt live; before any device subscribes, so that the
        // outbox only ever holds the broadcasts' notifications.
        let mut conn = AsyncPgConnection::establish(url).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while count(
            &mut conn,
            "select count(*) as n from events where kind = 'phase_changed'",
        )
        .await?
            == 0
        {
            if Instant::now() > deadline {
                bail!("the hunt was not announced live");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let key = client
            .get(format!("{base}/v1/push/vapid-public-key"))
            .send()
            .await?
            .json::<Value>()
            .await?;
        let key = field(&key, "public_key")?;
        let mut endpoints = Vec::with_capacity(PLAYERS);
        for team in 0..PLAYERS / TEAM_SIZE {
            let mut tokens = Vec::new();
            for member in 0..TEAM_SIZE {
                let p = post(
                    &client,
                    format!("{base}/v1/players"),
                    None,
                    json!({"handle": format!("push_{team}_{member}")}),
                )
                .await?;
                tokens.push(field(&p, "token")?);
            }
            let created = post(
                &client,
                format!("{base}/v1/hunts/{hunt}/teams"),
                Some(&tokens[0]),
                json!({"name": format!("team {team}")}),
            )
            .await?;
            let code = field(&created, "invite_code")?;
            for token in &tokens[1..] {
                post(
                    &client,
                    format!("{base}/v1/teams/join"),
                    Some(token),
                    json!({"invite_code": code}),
                )
                .await?;
            }
            for token in &tokens {
                let sub = peer.subscribe(&key).await;
                post(
                    &client,
                    format!("{base}/v1/push/subscriptions"),
                    Some(token),
                    sub.clone(),
                )
                .await?;
                endpoints.push(field(&sub, "endpoint")?);
            }
        }
        Ok(Self {
            url: url.to_owned(),
            base,
            client,
            staff,
            hunt,
            endpoints,
        })
    }

    /// Posts `broadcasts` hunt-wide messages and waits until their notifications are queued and
    /// their events numbered (dispatchable); returns how many notifications wait.
    pub async fn fill(&self, broadcasts: usize, batch: usize) -> anyhow::Result<i64> {
        for i in 0..broadcasts {
            post(
                &self.client,
                format!("{}/v1/hunts/{}/broadcast", self.base, self.hunt),
                Some(&self.staff),
                json!({"message": format!("batch {batch}, message {i}")}),
            )
            .await?;
        }
        let want = (PLAYERS * broadcasts) as i64;
        let mut conn = AsyncPgConnection::establish(&self.url).await?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let queued = count(&mut conn, "select count(*) as n from push_outbox").await?;
            let unnumbered = count(
                &mut conn,
                "select count(*) as n from events where event_offset is null",
            )
            .await?;
            if queued == want && unnumbered == 0 {
                return Ok(queued);
            }
            if Instant::now() > deadline {
                bail!("{queued} of {want} notifications queued, {unnumbered} events unnumbered");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the outbox is empty; returns the time from the first delivery (the count
    /// dropping below `queued`) to empty.
    pub async fn wait_empty(&self, queued: i64, limit: Duration) -> anyhow::Result<Duration> {
        let mut conn = AsyncPgConnection::establish(&self.url).await?;
        let deadline = Instant::now() + limit;
        let mut first = None;
        loop {
            let left = count(&mut conn, "select count(*) as n from push_outbox").await?;
            let now = Instant::now();
            if left < queued && first.is_none() {
                first = Some(now);
            }
            if left == 0 {
                return Ok(now - first.unwrap_or(now));
            }
            if now > deadline {
                bail!("{left} notifications still queued after {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// (devices with exactly `expected` messages at the peer, messages in all).
    pub async fn check_peer(
        &self,
        peer: &PushPeer,
        expected: usize,
    ) -> anyhow::Result<(usize, usize)> {
        let (mut complete, mut total) = (0, 0);
        for e in &self.endpoints {
            let n = peer.notifications(e).await.len();
            total += n;
            complete += usize::from(n == expected);
        }
        Ok((complete, total))
    }
}

/// A `nenufar serve` process that dispatches pushes (killed when dropped).
pub struct Dispatcher {
    child: Child,
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Dispatcher {
    pub fn start(url: &str) -> anyhow::Result<Self> {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let child = Command::new(env!("CARGO_BIN_EXE_nenufar"))
            .arg("serve")
            .env("NENUFAR_DATABASE_URL", url)
            .env("NENUFAR_BIND", addr.to_string())
            .env("NENUFAR_DB_POOL_SIZE", "8")
            .env("NENUFAR_LIMITS", "load-test")
            .env("NENUFAR_VAPID_SUBJECT", "mailto:bench@nenufar.example")
            .env("NENUFAR_PUSH_ALLOW_HTTP_LOOPBACK", "1")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting nenufar serve")?;
        Ok(Self { child })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}
