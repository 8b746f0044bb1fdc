//! Liveness, readiness, Prometheus metrics and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::AppError;
use crate::http::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi))
}

/// The process answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: Alive,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Alive {
    Ok,
}

/// The process answers and reaches its database.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    pub status: Ready,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ready {
    Ready,
}

/// Liveness: the process answers (it reads nothing, the database included).
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: Alive::Ok })
}

/// Readiness: the node reaches its database; 503 `unavailable` otherwise.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, description = "Here also when the database is unreachable.")))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Readiness>, AppError> {
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
    Ok(Json(Readiness {
        status: Ready::Ready,
    }))
}

/// Prometheus metrics of this node, in the text exposition format 0.0.4: counters, latency
/// histograms (requests by route template, check-in judge and commit, writer batch sizes, live
/// event lag and fan-out passes), pool, cache and limiter gauges, push outcomes and queues. For
/// the operator's scraper; not part of the player contract.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "The exposition text.", content_type = "text/plain", body = String)))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let body = crate::http::scrape::scrape(&state.ctx, &state.hub).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

/// This document (OpenAPI 3.1), as checked in at `mobile-api/openapi.json`; Swagger UI at `/docs`.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI document.", body = Object)))]
async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi_json.to_string(),
    )
}
