//! Liveness, readiness, Prometheus metrics and the OpenAPI document.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::app::AppState;
use crate::error::AppError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, AppError> {
    let mut conn = state
        .ctx
        .pool
        .get()
        .await
        .map_err(|_| AppError::Unavailable("database"))?;
    diesel::sql_query("select 1")
        .execute(&mut conn)
        .await
        .map_err(|_| AppError::Unavailable("database"))?;
    Ok(Json(json!({"status": "ready"})))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let status = state.ctx.pool.status();
    let mut body = state
        .ctx
        .metrics
        .render(status.size, status.available, state.ctx.indexes.len());
    body.push_str(&crate::telemetry::cache_gauges(
        &crate::cache::node::entries(&state),
    ));
    body.push_str(&crate::service::push::metrics(&state.ctx).await);
    body.push_str(&state.ctx.limits.render());
    body.push_str(&state.ctx.passwords.render());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi_json.to_string(),
    )
}
