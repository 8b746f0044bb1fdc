//! The test harness: a fresh database per test cloned from the migrated template, the real router
//! on a loopback port, and helpers to make staff, players, hunts and check-ins. Every response a
//! node serves is checked against the OpenAPI document (`contract_check`): the helpers fail the
//! test at the first response that breaks it, and a node's drop fails it for any left unread.
//! Tests wait on conditions with a deadline (`wait_until`), never for a fixed time.

pub mod contract_check;
pub mod documents;
pub mod wait;

pub use documents::*;
pub use wait::*;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::{Value, json};

use nenufar::app::AppState;
use nenufar::clock::{Clock, SystemClock};
use nenufar::limits::config::{LimitsConfig, Profile};

/// Builds the URL of `db` on the test cluster from the admin URL (`postgresql:///postgres?...`).
pub fn db_url(db: &str) -> String {
    let admin = admin_url();
    admin.replacen("/postgres?", &format!("/{db}?"), 1)
}

pub fn admin_url() -> String {
    std::env::var("NENUFAR_TEST_ADMIN_URL")
        .expect("NENUFAR_TEST_ADMIN_URL is not set: run the tests with ops/test.sh (README line 2)")
}

/// A fresh database cloned from the migrated template.
pub async fn fresh_database() -> String {
    let template =
        std::env::var("NENUFAR_TEST_TEMPLATE").unwrap_or_else(|_| "nenufar_template".into());
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = AsyncPgConnection::establish(&admin_url())
        .await
        .expect("admin connection");
    diesel::sql_query(format!(
        "create database {name} template {template} strategy file_copy"
    ))
    .execute(&mut admin)
    .await
    .expect("create test database");
    db_url(&name)
}

/// One node: the real router on a loopback port, over its own pool, against a test database.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub db_url: String,
    /// Responses this node served that break the OpenAPI document.
    pub contract: contract_check::Violations,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.contract.assert_none();
        }
    }
}

/// A staff member's bearer token and organisation.
pub struct Staff {
    pub token: String,
    pub org: String,
}

/// A player's id and bearer token.
pub struct Player {
    #[allow(dead_code, reason = "used by some test modules only")]
    pub id: String,
    pub token: String,
}

/// The `load-test` limits profile: what tests that are not about limits run with.
pub fn load_test_limits() -> LimitsConfig {
    LimitsConfig::profile(Profile::LoadTest)
}

/// Limits parsed from `NENUFAR_*` pairs, as a node would read them (`NENUFAR_LIMITS` included).
pub fn limits_from(pairs: &[(&str, &str)]) -> LimitsConfig {
    let vars = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    LimitsConfig::from_vars(&vars).expect("limits")
}

impl TestApp {
    /// A node on a fresh database, with the `load-test` limits profile.
    pub async fn spawn() -> Self {
        Self::spawn_on(fresh_database().await).await
    }

    /// Another node on an existing database (its own pool and index cache), `load-test` limits.
    pub async fn spawn_on(db_url: String) -> Self {
        Self::spawn_on_with_limits(db_url, load_test_limits()).await
    }

    /// A node on a fresh database with these limits.
    pub async fn spawn_with_limits(limits: LimitsConfig) -> Self {
        Self::spawn_on_with_limits(fresh_database().await, limits).await
    }

    /// Another node on an existing database with these limits.
    pub async fn spawn_on_with_limits(db_url: String, limits: LimitsConfig) -> Self {
        let push = nenufar::push::PushSettings::default();
        Self::spawn_with(db_url, push, limits, Arc::new(SystemClock)).await
    }

    /// Another node on an existing database, on `clock` (a `FakeClock`, or the file clock of the
    /// processes it runs beside), `load-test` limits.
    pub async fn spawn_on_with_clock(db_url: String, clock: Arc<dyn Clock>) -> Self {
        let push = nenufar::push::PushSettings::default();
        Self::spawn_with(db_url, push, load_test_limits(), clock).await
    }

    /// A node on a fresh database that sends pushes (to plain-http loopback push services).
    pub async fn spawn_pushing() -> Self {
        Self::spawn_pushing_on(fresh_database().await).await
    }

    /// Another pushing node on an existing database: its own pool and push dispatcher.
    pub async fn spawn_pushing_on(db_url: String) -> Self {
        Self::spawn_pushing_on_with_clock(db_url, Arc::new(SystemClock)).await
    }

    /// A pushing node on a fresh database, on `clock`.
    pub async fn spawn_pushing_with_clock(clock: Arc<dyn Clock>) -> Self {
        Self::spawn_pushing_on_with_clock(fresh_database().await, clock).await
    }

    async fn spawn_pushing_on_with_clock(db_url: String, clock: Arc<dyn Clock>) -> Self {
        let settings = nenufar::push::PushSettings {
            subject: Some("mailto:tests@nenufar.example".into()),
            allow_http_loopback: nenufar::push::subscription::AllowHttpLoopback(true),
        };
        Self::spawn_with(db_url, settings, load_test_limits(), clock).await
    }

    async fn spawn_with(
        db_url: String,
        push: nenufar::push::PushSettings,
        limits: LimitsConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let pool = nenufar::db::connect_with_wait(&db_url, 8, limits.db_pool_wait).expect("pool");
        let state = AppState::with_clock(pool, clock)
            .with_push(push)
            .with_limits(limits);
        Self::spawn_state(db_url, state).await
    }

    /// The node's now (its clock: the system's, or the test's).
    pub fn now(&self) -> DateTime<Utc> {
        self.state.ctx.clock.now()
    }

    /// A node serving `state` (built on a pool of `db_url`, with its limits), background jobs
    /// started.
    pub async fn spawn_state(db_url: String, state: AppState) -> Self {
        state.start_background(db_url.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let contract = contract_check::Violations::default();
        let router =
            contract_check::checked_router(nenufar::http::router(state.clone()), contract.clone());
        let limiters = state.ctx.limits.clone();
        tokio::spawn(nenufar::http::serve::serve(
            listener,
            router,
            limiters,
            std::future::pending(),
        ));
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            state,
            db_url,
            contract,
        }
    }

    /// Fails the test if `response` (read from this node) breaks the OpenAPI document, or if
    /// anything this node served did.
    pub fn check_contract(
        &self,
        method: &reqwest::Method,
        path: &str,
        status: StatusCode,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) {
        if let Err(v) = contract_check::contract().check(method, path, status, headers, body) {
            panic!("a response breaks the OpenAPI document (fix the document or the server):\n{v}");
        }
        self.contract.assert_none();
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = &body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        self.check_contract(&method, path, status, &headers, text.as_bytes());
        if let Some(b) = body.as_ref().filter(|_| status.is_success())
            && let Err(v) = contract_check::contract().check_request(&method, path, b)
        {
            panic!("the OpenAPI document refuses a request the server accepted:\n{v}");
        }
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    /// Sends raw bytes with a content type (for malformed bodies).
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.post(format!("{}{path}", self.base)).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let method = reqwest::Method::POST;
        self.check_contract(&method, path, status, &headers, text.as_bytes());
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A new organisation with a logged-in owner.
    pub async fn staff(&self) -> Staff {
        let email = format!("owner-{}@brand.example", uuid::Uuid::new_v4().simple());
        let org = nenufar::service::orgs::create_org(
            &self.state.ctx,
            "Brand",
            &email,
            "correct horse battery".into(),
        )
        .await
        .expect("org");
        let (status, body) = self
            .post(
                "/v1/staff/login",
                None,
                json!({"email": email, "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        Staff {
            token: body["token"].as_str().expect("token").to_owned(),
            org: org.to_string(),
        }
    }

    /// A new player.
    pub async fn player(&self) -> Player {
        let handle = format!("p{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let (status, body) = self
            .post("/v1/players", None, json!({"handle": handle}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        Player {
            id: body["player_id"].as_str().expect("id").to_owned(),
            token: body["token"].as_str().expect("token").to_owned(),
        }
    }

    /// A draft hunt over `area` with `rules`, live from a minute ago (on the node's clock) for a day.
    pub async fn draft_hunt(&self, staff: &Staff, area: Value, rules: Value) -> String {
        let now = self.now();
        let (status, body) = self
            .post(
                "/v1/hunts",
                Some(&staff.token),
                json!({
                    "title": "Test hunt", "city": "Paris", "area": area,
                    "teaser_at": now - Duration::hours(1), "live_at": now - Duration::minutes(1),
                    "ends_at": now + Duration::days(1), "rules": rules,
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// Imports a document into a hunt, asserting success; returns the target ids.
    pub async fn import(&self, staff: &Staff, hunt: &str, doc: Value) -> Vec<String> {
        let (status, body) = self
            .post(
                &format!("/v1/hunts/{hunt}/targets/import"),
                Some(&staff.token),
                doc,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["target_ids"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|v| v.as_str().expect("id").to_owned())
            .collect()
    }

    pub async fn publish(&self, staff: &Staff, hunt: &str) {
        let (status, body) = self
            .post(
                &format!("/v1/hunts/{hunt}/publish"),
                Some(&staff.token),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// A player in a new team of `hunt`.
    pub async fn player_in_team(&self, hunt: &str) -> Player {
        self.new_team(hunt).await.0
    }

    /// `n` players in one new team of `hunt` (the captain first, the others joined by invite code;
    /// the hunt's `team_max_size` must allow `n`).
    pub async fn team_of(&self, hunt: &str, n: usize) -> Vec<Player> {
        let (captain, team) = self.new_team(hunt).await;
        let mut members = vec![captain];
        members.extend(
            self.joiners(&team["invite_code"], n.saturating_sub(1))
                .await,
        );
        members
    }

    /// A new player and the new team of `hunt` they captain, as created (`team_id`, `invite_code`).
    pub async fn new_team(&self, hunt: &str) -> (Player, Value) {
        let captain = self.player().await;
        let name = format!("team {}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let (status, team) = self
            .post(
                &format!("/v1/hunts/{hunt}/teams"),
                Some(&captain.token),
                json!({ "name": name }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{team}");
        (captain, team)
    }

    /// `n` new players who join the team of `invite_code`.
    pub async fn joiners(&self, invite_code: &Value, n: usize) -> Vec<Player> {
        let mut members = Vec::with_capacity(n);
        for _ in 0..n {
            let p = self.player().await;
            let (status, body) = self
                .post(
                    "/v1/teams/join",
                    Some(&p.token),
                    json!({"invite_code": invite_code}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            members.push(p);
        }
        members
    }

    /// Posts from a task of its own, for concurrent requests: the status and the JSON body.
    pub fn spawn_post(
        &self,
        path: &str,
        token: &str,
        body: Value,
    ) -> tokio::task::JoinHandle<(StatusCode, Value)> {
        let (client, url, token, path, violations) = (
            self.client.clone(),
            format!("{}{path}", self.base),
            token.to_owned(),
            path.to_owned(),
            self.contract.clone(),
        );
        tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("request");
            let (status, headers) = (r.status(), r.headers().clone());
            let bytes = r.bytes().await.expect("body");
            let contract = contract_check::contract();
            if let Err(v) = contract.check(&reqwest::Method::POST, &path, status, &headers, &bytes)
            {
                panic!(
                    "a response breaks the OpenAPI document (fix the document or the server):\n{v}"
                );
            }
            violations.assert_none();
            if status.is_success()
                && let Err(v) = contract.check_request(&reqwest::Method::POST, &path, &body)
            {
                panic!("the OpenAPI document refuses a request the server accepted:\n{v}");
            }
            (status, serde_json::from_slice(&bytes).expect("JSON body"))
        })
    }

    /// A check-in at (lat, lon) with `accuracy_m`, captured now (on the node's clock), with a
    /// fresh key.
    pub async fn check_in(
        &self,
        player: &Player,
        hunt: &str,
        lat: f64,
        lon: f64,
        accuracy_m: f64,
    ) -> (StatusCode, Value) {
        self.post(
            &format!("/v1/hunts/{hunt}/checkins"),
            Some(&player.token),
            checkin_body(lat, lon, accuracy_m, self.now()),
        )
        .await
    }

    /// Rows in a table of this node's database.
    pub async fn count(&self, table: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = AsyncPgConnection::establish(&self.db_url)
            .await
            .expect("conn");
        let n: N = diesel::sql_query(format!("select count(*) as n from {table}"))
            .get_result(&mut conn)
            .await
            .expect("count");
        n.n
    }
}
