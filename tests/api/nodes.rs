//! Several `nenufar serve` processes against one database behave as one.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use diesel_async::{AsyncConnection, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;
#[cfg(feature = "test-clock")]
use nenufar::clock::file::FileClock;
use nenufar::clock::{Clock, SystemClock};

/// A `nenufar serve` child process on a free loopback port, killed on drop.
pub struct Node {
    child: Child,
    pub app: TestApp,
    /// Where the process writes its logs (debug level).
    pub log: std::path::PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address a node's log says it serves on (`serving addr=...`), once it says so.
fn served_addr(log: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .filter(|l| l.contains(" serving "))
        .find_map(|l| l.split_once("addr=").map(|(_, rest)| rest))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
}

impl Node {
    /// The process id (for `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process at once (SIGKILL): no shutdown, whatever it was doing.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Starts a real server process on `db_url` and waits until it is ready.
    pub async fn start(db_url: &str) -> Self {
        Self::start_with(db_url, &[]).await
    }

    /// A real server process with extra `NENUFAR_*` variables (after the `load-test` profile).
    pub async fn start_with(db_url: &str, vars: &[(&str, &str)]) -> Self {
        Self::start_on_clock(db_url, vars, Arc::new(SystemClock)).await
    }

    /// A real server process whose clock is the instant in `clock`'s file (`NENUFAR_TEST_CLOCK_FILE`,
    /// read by builds with the `test-clock` feature, as `ops/test.sh` makes them); its `app` helper
    /// reads the same file.
    #[cfg(feature = "test-clock")]
    pub async fn start_with_clock(db_url: &str, clock: &TestClock) -> Self {
        let file = clock.path.to_str().expect("a UTF-8 path");
        let vars = [("NENUFAR_TEST_CLOCK_FILE", file)];
        let node = Self::start_on_clock(db_url, &vars, clock.reader()).await;
        let log = std::fs::read_to_string(&node.log).unwrap();
        assert!(
            log.contains("test clock: now is read from NENUFAR_TEST_CLOCK_FILE"),
            "the node ignores NENUFAR_TEST_CLOCK_FILE: build it with --features test-clock \
             (ops/test.sh does)"
        );
        node
    }

    async fn start_on_clock(db_url: &str, vars: &[(&str, &str)], clock: Arc<dyn Clock>) -> Self {
        let log = std::env::temp_dir().join(format!(
            "nenufar-node-{}.log",
            uuid::Uuid::new_v4().simple()
        ));
        // Port 0: the node binds a free port itself and logs it (a port chosen here and bound by
        // the child later could be taken meanwhile by another test's node).
        let mut child = Command::new(env!("CARGO_BIN_EXE_nenufar"))
            .arg("serve")
            .env("NENUFAR_DATABASE_URL", db_url)
            .env("NENUFAR_BIND", "127.0.0.1:0")
            .env("NENUFAR_DB_POOL_SIZE", "4")
            .env("NENUFAR_LIMITS", "load-test")
            .env("RUST_LOG", "debug")
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let addr = wait_until("the node saying where it serves", STARTS, async || {
            if let Some(exited) = child.try_wait().unwrap() {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("the node exited ({exited}) before serving:\n{text}");
            }
            served_addr(&log)
        })
        .await;
        // The node's own state is in the child; this TestApp only gives the HTTP helpers and DB
        // access (and runs jobs on the same database and clock as the child).
        let mut app = TestApp::spawn_on_with_clock(db_url.to_owned(), clock).await;
        app.base = format!("http://{addr}");
        let node = Self { child, app, log };
        let ready = format!("node on {addr} ready");
        wait_until(&ready, STARTS, async || {
            let url = format!("{}/readyz", node.app.base);
            let r = node
                .app
                .client
                .get(url)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if r.status() != StatusCode::OK {
                return Err(r.status().to_string());
            }
            let headers = r.headers().clone();
            let bytes = r.bytes().await.unwrap();
            contract_check::contract()
                .check(
                    &reqwest::Method::GET,
                    "/readyz",
                    StatusCode::OK,
                    &headers,
                    &bytes,
                )
                .unwrap();
            Ok(())
        })
        .await;
        node
    }

    /// The node's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// How long a node may take to start and become ready on a loaded 2-core machine.
const STARTS: Duration = Duration::from_secs(30);

/// The clock of nodes started with [`Node::start_with_clock`]: a file holding an instant, which
/// stands still until the test sets or advances it. Removed on drop.
#[cfg(feature = "test-clock")]
pub struct TestClock {
    path: std::path::PathBuf,
    now: std::sync::Mutex<chrono::DateTime<chrono::Utc>>,
}

#[cfg(feature = "test-clock")]
impl TestClock {
    /// A clock standing at the system time of the call.
    pub fn starting_now() -> Self {
        let path =
            std::env::temp_dir().join(format!("nenufar-clock-{}", uuid::Uuid::new_v4().simple()));
        let now = chrono::Utc::now();
        FileClock::write(&path, now).unwrap();
        Self {
            path,
            now: std::sync::Mutex::new(now),
        }
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        *self.now.lock().unwrap()
    }

    /// Sets the clock of every node reading it.
    pub fn set(&self, now: chrono::DateTime<chrono::Utc>) {
        FileClock::write(&self.path, now).unwrap();
        *self.now.lock().unwrap() = now;
    }

    /// A clock reading the file, for in-process nodes.
    fn reader(&self) -> Arc<dyn Clock> {
        Arc::new(FileClock::open(&self.path).unwrap())
    }
}

#[cfg(feature = "test-clock")]
impl Drop for TestClock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[tokio::test]
async fn a_target_imported_through_node_a_is_found_through_node_b_right_after() {
    let db = fresh_database().await;
    let (a, b) = tokio::join!(Node::start(&db), Node::start(&db));
    let staff = a.app.staff().await;
    let hunt = a.app.draft_hunt(&staff, paris_area(), json!({})).await;
    a.app
        .import(
            &staff,
            &hunt,
            collection(vec![circle("Tour Eiffel", 48.85837, 2.29448, 40.0, 5)]),
        )
        .await;
    a.app.publish(&staff, &hunt).await;

    // The player lives on node B, which builds its index of the hunt on this first check-in.
    let p = b.app.player_in_team(&hunt).await;
    let (_, body) = b.app.check_in(&p, &hunt, 48.85837, 2.29448, 5.0).await;
    assert_eq!(body["verdict"], json!("found"), "{body}");
    let (_, body) = b.app.check_in(&p, &hunt, 48.8738, 2.2950, 5.0).await;
    assert_eq!(body["verdict"], json!("nothing_here"));

    // Node A adds a target; node B's very next check-in there finds it.
    a.app
        .import(
            &staff,
            &hunt,
            collection(vec![circle("Arc de Triomphe", 48.8738, 2.2950, 50.0, 4)]),
        )
        .await;
    let (_, body) = b.app.check_in(&p, &hunt, 48.8738, 2.2950, 5.0).await;
    assert_eq!(body["verdict"], json!("found"), "{body}");
    assert_eq!(body["team_score"], json!(9));

    // The same check-in retried through the other node is the same answer, counted once.
    let retry = checkin_body(48.8606, 2.3376, 5.0, chrono::Utc::now());
    let path = format!("/v1/hunts/{hunt}/checkins");
    let (_, on_a) = a.app.post(&path, Some(&p.token), retry.clone()).await;
    let (_, on_b) = b.app.post(&path, Some(&p.token), retry).await;
    assert_eq!(on_a, on_b);
    let (_, progress) = a
        .app
        .get(&format!("/v1/hunts/{hunt}/progress"), Some(&p.token))
        .await;
    assert_eq!(progress["score"], json!(9));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_ins_acknowledged_before_a_node_is_killed_are_stored_and_counted_once() {
    let db = fresh_database().await;
    let mut node = Node::start(&db).await;
    let staff = node.app.staff().await;
    let hunt = node
        .app
        .draft_hunt(&staff, paris_area(), json!({"team_max_size": 5}))
        .await;
    // 100 targets 100 m apart along a meridian; check-ins alternate between them and the gaps.
    let lat = |i: u32| 48.84 + 100.0 * f64::from(i) / 111_200.0;
    let targets = (0..100)
        .map(|i| circle(&format!("t{i}"), lat(i), 2.3, 20.0, 1))
        .collect();
    node.app.import(&staff, &hunt, collection(targets)).await;
    node.app.publish(&staff, &hunt).await;
    let mut players = Vec::new();
    for _ in 0..4 {
        players.extend(node.app.team_of(&hunt, 5).await);
    }

    // Every player posts check-ins back to back until the node dies; keep what was acknowledged.
    let url = format!("{}/v1/hunts/{hunt}/checkins", node.app.base);
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, Value, Value)>::new()));
    let mut tasks = Vec::new();
    for (n, p) in players.iter().enumerate() {
        let (client, url, token, acked, hunt) = (
            node.app.client.clone(),
            url.clone(),
            p.token.clone(),
            acked.clone(),
            hunt.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for k in 0u32.. {
                let spot = (k * 7 + n as u32 * 13) % 200;
                let body = checkin_body(
                    lat(spot / 2) + f64::from(spot % 2) * 0.0004,
                    2.3,
                    5.0,
                    chrono::Utc::now(),
                );
                let Ok(r) = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                else {
                    return;
                };
                let (status, headers) = (r.status(), r.headers().clone());
                let Ok(bytes) = r.bytes().await else {
                    return;
                };
                let path = format!("/v1/hunts/{hunt}/checkins");
                contract_check::contract()
                    .check(&reqwest::Method::POST, &path, status, &headers, &bytes)
                    .unwrap();
                let answer: Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(status, StatusCode::OK, "{answer}");
                acked.lock().unwrap().push((token.clone(), body, answer));
            }
        }));
    }
    wait_until("150 check-ins acknowledged", STARTS, async || {
        let n = acked.lock().unwrap().len();
        if n >= 150 { Ok(()) } else { Err(n) }
    })
    .await;
    node.kill();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.iter().any(|(_, _, a)| a["verdict"] == json!("found")));

    // Every acknowledged check-in is stored with the answer it got.
    let mut conn = diesel_async::AsyncPgConnection::establish(&db)
        .await
        .unwrap();
    for (_, body, answer) in &acked {
        let stored: Vec<Stored> =
            diesel::sql_query("select response from checkins where idempotency_key = $1")
                .bind::<diesel::sql_types::Uuid, _>(
                    body["idempotency_key"]
                        .as_str()
                        .unwrap()
                        .parse::<uuid::Uuid>()
                        .unwrap(),
                )
                .load(&mut conn)
                .await
                .unwrap();
        assert_eq!(stored.len(), 1, "{body}");
        assert_eq!(&answered(&stored[0].response), answer);
    }
    // Scores are their finds counted once, whatever the kill interrupted.
    let off: Vec<Off> = diesel::sql_query(
        "select count(*) as n from teams t where score <> \
             (select coalesce(sum(points), 0) from finds f where f.team_id = t.id) \
         union all select count(*) from player_scores s where score <> \
             (select coalesce(sum(points), 0) from finds f where f.player_id = s.player_id) \
         union all select count(*) from finds f where not exists \
             (select 1 from checkins c where c.id = f.checkin_id and c.verdict = 'found')",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert!(
        off.iter().all(|o| o.n == 0),
        "team scores, player scores, finds without check-in"
    );

    // A new node answers every retry of an acknowledged check-in with the same answer.
    let node = Node::start(&db).await;
    let path = format!("/v1/hunts/{hunt}/checkins");
    for (token, body, answer) in acked.iter().step_by(5) {
        let (status, again) = node.app.post(&path, Some(token), body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(&again, answer);
    }
}

#[derive(diesel::QueryableByName)]
struct Stored {
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    response: Value,
}

#[derive(diesel::QueryableByName)]
struct Off {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test]
async fn request_logs_never_hold_positions_query_strings_or_tokens() {
    let db = fresh_database().await;
    let node = Node::start(&db).await;
    let staff = node.app.staff().await;
    let hunt = node.app.draft_hunt(&staff, paris_area(), json!({})).await;
    node.app
        .import(
            &staff,
            &hunt,
            collection(vec![circle("Tour Eiffel", 48.85837, 2.29448, 40.0, 5)]),
        )
        .await;
    node.app.publish(&staff, &hunt).await;
    let p = node.app.player_in_team(&hunt).await;
    let (status, _) = node
        .app
        .get(
            "/v1/hunts/nearby?lat=48.861234&lon=2.335678&radius_m=5000",
            Some(&p.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    node.app.check_in(&p, &hunt, 48.871234, 2.345678, 5.0).await;
    let ws = format!("{}/v1/live?token={}", node.app.base, p.token);
    let _ = node.app.client.get(ws).send().await;
    // The last request's line is the last to be written.
    let log = wait_until("the live request logged", STARTS, async || {
        let log = node.log_text();
        let done = log
            .lines()
            .any(|l| l.contains(r#"http.route="/v1/live""#) && l.contains("request answered"));
        if done { Ok(log) } else { Err(log.len()) }
    })
    .await;
    assert!(
        log.contains("/v1/hunts/nearby"),
        "the request was logged at all: {log}"
    );
    for secret in [
        "48.861234",
        "2.335678",
        "48.871234",
        "2.345678",
        "lat=",
        "token=",
        p.token.as_str(),
        staff.token.as_str(),
        "48.85837",
    ] {
        assert!(!log.contains(secret), "the log holds {secret:?}");
    }
}
