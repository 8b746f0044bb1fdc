//! Observability: `/metrics` histograms after a check-in, index rebuilds counted, one span and
//! request id per request in the logs (and no position, token or query string in them), and the
//! Grafana dashboard naming only series the server exposes.

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const EIFFEL: (f64, f64) = (48.85837, 2.29448);
const CHECKINS_ROUTE: &str = "/v1/hunts/{hunt_id}/checkins";

/// A live hunt with one circle target at the Eiffel tower, and a player in a team.
async fn live_hunt(app: &TestApp) -> (Staff, String, Player) {
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
    app.import(
        &staff,
        &hunt,
        collection(vec![circle("Tour Eiffel", EIFFEL.0, EIFFEL.1, 40.0, 5)]),
    )
    .await;
    app.publish(&staff, &hunt).await;
    let player = app.player_in_team(&hunt).await;
    (staff, hunt, player)
}

async fn metrics_text(app: &TestApp) -> String {
    let resp = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.unwrap()
}

/// The value of the sample whose whole series (name and labels) is `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// An unlabelled counter or gauge of a node's `/metrics`.
async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = metrics_text(app).await;
    sample(&text, name).unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

/// The `_count` of a histogram's series whose labels contain `labels` (empty: unlabelled).
fn histogram_count(text: &str, name: &str, labels: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.strip_prefix(&format!("{name}_count")))
        .filter(|rest| labels.is_empty() || rest.contains(labels))
        .filter_map(|rest| rest.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn a_check_in_shows_in_the_request_judge_commit_and_batch_histograms() {
    let app = TestApp::spawn().await;
    let (_, hunt, player) = live_hunt(&app).await;
    let (status, body) = app.check_in(&player, &hunt, EIFFEL.0, EIFFEL.1, 5.0).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["verdict"], json!("found"));
    let (status, _) = app.get("/no/such/route", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let text = metrics_text(&app).await;
    let route = format!("route=\"{CHECKINS_ROUTE}\"");
    assert!(
        text.lines().any(
            |l| l.starts_with("nenufar_http_request_duration_seconds_bucket{")
                && l.contains("method=\"POST\"")
                && l.contains(&route)
                && l.contains("status=\"200\"")
                && l.contains("le=\"0.0005\"")
        ),
        "{text}"
    );
    let answered = histogram_count(&text, "nenufar_http_request_duration_seconds", &route);
    assert_eq!(answered, 1.0, "one check-in request:\n{text}");
    // Unknown routes share one label; a raw path (with its hunt id) is never a label.
    assert!(
        histogram_count(
            &text,
            "nenufar_http_request_duration_seconds",
            "route=\"unmatched\""
        ) >= 1.0
    );
    assert!(
        !text.contains(&hunt),
        "a raw path leaked into a label:\n{text}"
    );
    assert!(!text.contains("/no/such/route"), "{text}");

    assert!(
        histogram_count(&text, "nenufar_checkin_judge_seconds", "") >= 1.0,
        "{text}"
    );
    assert!(
        histogram_count(&text, "nenufar_checkin_commit_seconds", "") >= 1.0,
        "{text}"
    );
    assert!(
        histogram_count(&text, "nenufar_checkin_batch_size", "") >= 1.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, "nenufar_checkin_batch_size_bucket{le=\"512\"}"),
        Some(histogram_count(&text, "nenufar_checkin_batch_size", ""))
    );
    // Registered at start, so dashboards see them before the first live event.
    for series in [
        "nenufar_live_event_lag_seconds_bucket{le=\"0.0005\"}",
        "nenufar_live_fanout_pass_seconds_bucket{le=\"0.00001\"}",
        "nenufar_push_outcomes_total{outcome=\"sent\"}",
        "nenufar_checkin_batch_reruns_total{reason=\"retry\"}",
        "nenufar_cache_entries{cache=\"hunt_indexes\"}",
    ] {
        assert!(sample(&text, series).is_some(), "no {series} in\n{text}");
    }
    // The counters the README and other tests name are still there.
    assert_eq!(sample(&text, "nenufar_checkins_total"), Some(1.0));
    assert_eq!(sample(&text, "nenufar_checkins_found_total"), Some(1.0));
    assert!(sample(&text, "nenufar_http_requests_total").unwrap() >= 2.0);
}

#[tokio::test]
async fn a_delivered_event_shows_in_the_event_lag_and_the_fan_out_pass() {
    use crate::live::{ARRIVES, broadcast, subscribed, until_broadcast, until_kind};
    let app = TestApp::spawn().await;
    let (staff, hunt, player) = live_hunt(&app).await;
    let text = metrics_text(&app).await;
    assert_eq!(
        histogram_count(&text, "nenufar_live_event_lag_seconds", ""),
        0.0
    );
    let mut ws = subscribed(&app, &player.token, &hunt, None).await;
    let (status, _) = app.check_in(&player, &hunt, EIFFEL.0, EIFFEL.1, 5.0).await;
    assert_eq!(status, StatusCode::OK);
    until_kind(&mut ws, "target_found", ARRIVES).await;
    // A later event as a fence: a feed's passes run one after the other, and each records its
    // figures before the next batch is read, so the find's pass is counted once this arrives.
    broadcast(&app, &staff, &hunt, "fence", None).await;
    until_broadcast(&mut ws, "fence").await;

    let text = metrics_text(&app).await;
    let lagged = histogram_count(&text, "nenufar_live_event_lag_seconds", "");
    assert!(lagged >= 1.0, "the find's events at least:\n{text}");
    let lag_s = sample(&text, "nenufar_live_event_lag_seconds_sum").unwrap();
    assert!(
        lag_s > 0.0 && lag_s < lagged * ARRIVES.as_secs_f64(),
        "{text}"
    );
    assert!(
        histogram_count(&text, "nenufar_live_fanout_pass_seconds", "") >= 1.0,
        "{text}"
    );
}

#[tokio::test]
async fn index_rebuilds_count_first_builds_and_target_changes_only() {
    let app = TestApp::spawn().await;
    let (staff, hunt, player) = live_hunt(&app).await;
    let before = metric(&app, "nenufar_index_rebuilds_total").await;
    let (status, _) = app.check_in(&player, &hunt, EIFFEL.0, EIFFEL.1, 5.0).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        metric(&app, "nenufar_index_rebuilds_total").await,
        before + 1.0
    );

    // A warm index is reused.
    app.check_in(&player, &hunt, EIFFEL.0 + 0.01, EIFFEL.1, 5.0)
        .await;
    assert_eq!(
        metric(&app, "nenufar_index_rebuilds_total").await,
        before + 1.0
    );

    // A target change bumps the hunt's targets version: the next check-in rebuilds.
    app.import(
        &staff,
        &hunt,
        collection(vec![circle("Louvre", 48.8606, 2.3376, 60.0, 3)]),
    )
    .await;
    app.check_in(&player, &hunt, EIFFEL.0 + 0.02, EIFFEL.1, 5.0)
        .await;
    assert_eq!(
        metric(&app, "nenufar_index_rebuilds_total").await,
        before + 2.0
    );
}

/// Log lines as the JSON subscriber writes them.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    /// The lines written from byte `from` on, parsed.
    fn since(&self, from: usize) -> Vec<Value> {
        let bytes = self.0.lock().unwrap()[from..].to_vec();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// The spans a log line was emitted in, outermost first, by name.
fn span<'a>(line: &'a Value, name: &str) -> Option<&'a Value> {
    line["spans"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == json!(name))
}

/// Posts a check-in (optionally with our own `x-request-id`); the status and the response's
/// `x-request-id`.
async fn post_check_in(
    app: &TestApp,
    player: &Player,
    hunt: &str,
    body: &Value,
    request_id: Option<&str>,
) -> (StatusCode, String) {
    let path = format!("/v1/hunts/{hunt}/checkins");
    let mut req = app
        .client
        .post(format!("{}{path}?lat=48.1234567", app.base))
        .bearer_auth(&player.token)
        .json(body);
    if let Some(id) = request_id {
        req = req.header("x-request-id", id);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let text = resp.text().await.unwrap();
    app.check_contract(
        &reqwest::Method::POST,
        &path,
        status,
        &headers,
        text.as_bytes(),
    );
    let id = headers["x-request-id"].to_str().unwrap().to_owned();
    (status, id)
}

// A current-thread runtime: the server's tasks run on this thread, under its log subscriber.
#[tokio::test]
async fn a_requests_log_lines_share_its_span_and_request_id_and_hold_no_position_or_token() {
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let filtered = tracing_subscriber::layer::SubscriberExt::with(
        subscriber,
        tracing_subscriber::filter::Targets::new().with_target("nenufar", tracing::Level::DEBUG),
    );
    let _guard = tracing::subscriber::set_default(filtered);

    let app = TestApp::spawn().await;
    let (_, hunt, player) = live_hunt(&app).await;
    let (lat, lon, accuracy) = (EIFFEL.0 + 0.000_012_3, EIFFEL.1 + 0.000_045_6, 7.123_456);
    let body = checkin_body(lat, lon, accuracy, Utc::now());

    let from = lines.len();
    let (status, id) = post_check_in(&app, &player, &hunt, &body, None).await;
    assert_eq!(status, StatusCode::OK);
    uuid::Uuid::parse_str(&id).expect("a request id the server made is a UUID");
    let logged = lines.since(from);
    let in_request: Vec<&Value> = logged
        .iter()
        .filter(|l| span(l, "http").is_some())
        .collect();
    // The layer's own line, and the service's (inside its `check_in` span) at least.
    assert!(
        in_request
            .iter()
            .any(|l| l["fields"]["message"] == json!("request answered")),
        "{logged:#?}"
    );
    let judged: Vec<&&Value> = in_request
        .iter()
        .filter(|l| l["fields"]["message"] == json!("check-in judged"))
        .collect();
    assert_eq!(judged.len(), 1, "{logged:#?}");
    assert_eq!(span(judged[0], "check_in").unwrap()["hunt.id"], json!(hunt));
    for l in &in_request {
        let http = span(l, "http").unwrap();
        assert_eq!(http["request.id"], json!(id), "{l:#}");
        assert_eq!(http["http.route"], json!(CHECKINS_ROUTE), "{l:#}");
        assert_eq!(http["hunt.id"], json!(hunt), "{l:#}");
    }
    // Nothing the request's own path logs escapes its span (only the node's tasks log outside).
    for l in logged.iter().filter(|l| span(l, "http").is_none()) {
        let target = l["target"].as_str().unwrap();
        assert!(
            target != "nenufar::service::checkin"
                && !target.starts_with("nenufar::http::routes")
                && target != "nenufar::http::observe",
            "a line of the request outside its span: {l:#}"
        );
    }
    assert!(
        logged
            .iter()
            .any(|l| span(l, "checkin_batch").is_some_and(|s| s["batch.size"] == json!(1))),
        "the writer logs in its batch span: {logged:#?}"
    );
    let text: String = logged.iter().map(|l| format!("{l}\n")).collect();
    for secret in [
        format!("{lat}"),
        format!("{lon}"),
        format!("{accuracy}"),
        "48.1234567".to_owned(),
        player.token.clone(),
    ] {
        assert!(!text.contains(&secret), "{secret} in the logs:\n{text}");
    }

    // An id from a proxy is kept (and logged); a malformed one is replaced.
    let body = checkin_body(lat, lon, accuracy, Utc::now());
    let from = lines.len();
    let (_, kept) = post_check_in(&app, &player, &hunt, &body, Some("lb-42.a_b")).await;
    assert_eq!(kept, "lb-42.a_b");
    assert!(
        lines
            .since(from)
            .iter()
            .any(|l| span(l, "http").is_some_and(|s| s["request.id"] == json!("lb-42.a_b")))
    );
    let body = checkin_body(lat, lon, accuracy, Utc::now());
    let (_, replaced) = post_check_in(&app, &player, &hunt, &body, Some("bad id\"}")).await;
    uuid::Uuid::parse_str(&replaced).expect("a malformed request id is replaced");
}

/// Every `nenufar_*` name in the text of `expr`.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("nenufar_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

/// Every panel's query expressions, rows' panels included.
fn expressions(panels: &[Value], out: &mut Vec<String>) {
    for p in panels {
        for t in p["targets"].as_array().into_iter().flatten() {
            if let Some(e) = t["expr"].as_str() {
                out.push(e.to_owned());
            }
        }
        if let Some(inner) = p["panels"].as_array() {
            expressions(inner, out);
        }
    }
}

#[tokio::test]
async fn the_grafana_dashboard_names_only_series_the_server_exposes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/ops/grafana/nenufar.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(dashboard["__inputs"][0]["name"], json!("DS_PROMETHEUS"));
    let mut exprs = Vec::new();
    expressions(dashboard["panels"].as_array().unwrap(), &mut exprs);
    assert!(exprs.len() >= 12, "{exprs:?}");
    for p in dashboard["panels"].as_array().unwrap() {
        if p["type"] != json!("row") {
            assert_eq!(p["datasource"]["uid"], json!("${DS_PROMETHEUS}"), "{p:#}");
        }
    }

    let app = TestApp::spawn().await;
    let (_, hunt, player) = live_hunt(&app).await;
    let (status, _) = app.check_in(&player, &hunt, EIFFEL.0, EIFFEL.1, 5.0).await;
    assert_eq!(status, StatusCode::OK);
    let text = metrics_text(&app).await;
    let exposed: std::collections::HashSet<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let mut used: Vec<String> = exprs.iter().flat_map(|e| metric_names(e)).collect();
    used.sort();
    used.dedup();
    assert!(used.len() >= 12, "{used:?}");
    for name in &used {
        assert!(
            exposed.contains(name.as_str()),
            "the dashboard uses {name}, which /metrics does not expose:\n{text}"
        );
    }
}
