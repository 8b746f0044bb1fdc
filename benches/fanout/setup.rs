//! Setting up the fan-out run: `nenufar serve` as a child process on a free port, one live hunt
//! made through the API, and many registered players with tokens inserted in two SQL statements.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

/// The server child process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server's `NENUFAR_LIMITS` profile in this benchmark.
pub const LIMITS: &str = "load-test";

pub fn start_server(url: &str, pool_size: Option<&str>) -> anyhow::Result<Server> {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let log = std::env::temp_dir().join(format!("nenufar-bench-fanout-{}.log", addr.port()));
    let out = std::fs::File::create(&log)?;
    // Another build of the server (a scratch copy being profiled) may stand in for this one.
    let program = std::env::var("NENUFAR_BENCH_SERVER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_nenufar").to_owned());
    let mut cmd = Command::new(program);
    cmd.arg("serve")
        .env("NENUFAR_DATABASE_URL", url)
        .env("NENUFAR_BIND", addr.to_string())
        // Ten thousand clients from one address: every limit raised (BENCHMARKS.md says so).
        .env("NENUFAR_LIMITS", LIMITS)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    if let Some(size) = pool_size {
        cmd.env("NENUFAR_DB_POOL_SIZE", size);
    }
    let child = cmd.spawn().context("starting nenufar serve")?;
    Ok(Server { child, addr, log })
}

pub async fn wait_ready(server: &mut Server, client: &reqwest::Client) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(status) = server.child.try_wait()? {
            bail!(
                "nenufar serve exited with {status}; log: {}",
                server.log.display()
            );
        }
        let ready = client
            .get(format!("http://{}/readyz", server.addr))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!(
        "nenufar serve not ready in 60 s; log: {}",
        server.log.display()
    )
}

pub async fn post(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: Value,
) -> anyhow::Result<Value> {
    let mut req = client.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await?;
    let status = resp.status();
    let value: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("POST {url}: {status} {value}");
    }
    Ok(value)
}

fn field(v: &Value, key: &str) -> anyhow::Result<String> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no {key} in {v}"))
}

/// A published, live hunt with one target, made through the API. Returns (hunt id, owner token).
pub async fn live_hunt(
    url: &str,
    base: &str,
    client: &reqwest::Client,
) -> anyhow::Result<(String, String)> {
    let state = nenufar::app::AppState::new(nenufar::db::connect(url, 2)?);
    let email = "fanout-owner@brand.example";
    let password = "correct horse battery";
    nenufar::service::orgs::create_org(&state.ctx, "Fan-out bench", email, password.into())
        .await
        .map_err(|e| anyhow::anyhow!("create_org: {e}"))?;
    let login = post(
        client,
        &format!("{base}/v1/staff/login"),
        None,
        json!({"email": email, "password": password}),
    )
    .await?;
    let staff = field(&login, "token")?;
    let now = Utc::now();
    let area = json!({"type": "Polygon", "coordinates": [[[2.2, 48.8], [2.5, 48.8], [2.5, 48.93], [2.2, 48.93], [2.2, 48.8]]]});
    let hunt = post(
        client,
        &format!("{base}/v1/hunts"),
        Some(&staff),
        json!({"title": "Fan-out benchmark", "city": "Paris", "area": area,
               "teaser_at": now - chrono::Duration::hours(1), "live_at": now - chrono::Duration::minutes(1),
               "ends_at": now + chrono::Duration::days(1),
               "rules": {"accuracy_policy": "centre", "max_accuracy_m": 50, "team_max_size": 10}}),
    )
    .await?;
    let hunt = field(&hunt, "id")?;
    let target = json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "geometry": {"type": "Point", "coordinates": [2.29448, 48.85837]},
        "properties": {"name": "Tour Eiffel", "radius_m": 40.0, "points": 5}}]});
    post(
        client,
        &format!("{base}/v1/hunts/{hunt}/targets/import"),
        Some(&staff),
        target,
    )
    .await?;
    post(
        client,
        &format!("{base}/v1/hunts/{hunt}/publish"),
        Some(&staff),
        json!({}),
    )
    .await?;
    Ok((hunt, staff))
}

/// Registers players `fanout_1` to `fanout_<n>`, player i with the bearer token `<prefix><i>`
/// (stored as its SHA-256, as `service::auth::token_hash` does). Much faster than n sign-ups.
pub async fn players(url: &str, n: usize, token_prefix: &str) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(url).await?;
    diesel::sql_query(
        "insert into players (id, handle) \
         select gen_random_uuid(), 'fanout_' || g from generate_series(1, $1) g",
    )
    .bind::<diesel::sql_types::Integer, _>(n as i32)
    .execute(&mut conn)
    .await?;
    let tokens = diesel::sql_query(
        "insert into access_tokens (token_hash, player_id, expires_at) \
         select sha256(convert_to($2 || g, 'UTF8')), p.id, now() + interval '1 day' \
         from generate_series(1, $1) g join players p on p.handle = 'fanout_' || g",
    )
    .bind::<diesel::sql_types::Integer, _>(n as i32)
    .bind::<diesel::sql_types::Text, _>(token_prefix)
    .execute(&mut conn)
    .await?;
    if tokens != n {
        bail!("inserted {tokens} player tokens, wanted {n}");
    }
    Ok(())
}
