//! HTTP set-up shared by the benchmarks that drive a node through its API (included with
//! `#[path]`): a POST with a bearer token, a field of the answer, an organisation whose owner is
//! logged in, and a live hunt over Paris with its targets imported and published.

use anyhow::{Context, bail};
use chrono::Utc;
use serde_json::{Value, json};

/// POSTs `body` as JSON; a non-2xx answer is an error naming the URL and status. An empty
/// answer is `Null`.
pub async fn post(
    client: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> anyhow::Result<Value> {
    let mut req = client.post(&url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await?;
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        bail!("POST {url}: {status} {text}");
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The string field `key` of an answer.
pub fn field(v: &Value, key: &str) -> anyhow::Result<String> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no {key} in {v}"))
}

/// Creates an organisation and its owner `email` (through the service, as `nenufar org create`
/// does) and returns the owner's bearer token from `POST /v1/staff/login` on `base`.
pub async fn owner_token(
    state: &nenufar::app::AppState,
    base: &str,
    client: &reqwest::Client,
    email: &str,
) -> anyhow::Result<String> {
    let password = "correct horse battery";
    nenufar::service::orgs::create_org(&state.ctx, "Bench", email, password.into())
        .await
        .map_err(|e| anyhow::anyhow!("create_org: {e}"))?;
    let login = post(
        client,
        format!("{base}/v1/staff/login"),
        None,
        json!({"email": email, "password": password}),
    )
    .await?;
    field(&login, "token")
}

/// A hunt over Paris, live from a minute ago for a day, with `rules` and the GeoJSON target
/// `features` imported, published; returns its id.
pub async fn live_hunt(
    base: &str,
    client: &reqwest::Client,
    staff: &str,
    title: &str,
    rules: Value,
    features: Vec<Value>,
) -> anyhow::Result<String> {
    let now = Utc::now();
    let ring = [
        [2.2, 48.8],
        [2.5, 48.8],
        [2.5, 48.93],
        [2.2, 48.93],
        [2.2, 48.8],
    ];
    let hunt = post(
        client,
        format!("{base}/v1/hunts"),
        Some(staff),
        json!({
            "title": title, "city": "Paris",
            "area": {"type": "Polygon", "coordinates": [ring]},
            "teaser_at": now - chrono::Duration::hours(1),
            "live_at": now - chrono::Duration::minutes(1),
            "ends_at": now + chrono::Duration::days(1),
            "rules": rules,
        }),
    )
    .await?;
    let hunt = field(&hunt, "id")?;
    post(
        client,
        format!("{base}/v1/hunts/{hunt}/targets/import"),
        Some(staff),
        json!({"type": "FeatureCollection", "features": features}),
    )
    .await?;
    post(
        client,
        format!("{base}/v1/hunts/{hunt}/publish"),
        Some(staff),
        json!({}),
    )
    .await?;
    Ok(hunt)
}
