//! HTTP: our accept loop (`serve`: timeouts, connection caps, client address), the axum router,
//! its layers (request id, span and metrics per request without query strings, request limits
//! and timeout, panics to 500), the error table, extractors, and the OpenAPI document.

pub mod auth;
pub mod edge;
pub mod error;
pub mod extract;
pub mod observe;
pub mod openapi;
pub mod routes;
pub mod scrape;
pub mod serve;
pub mod state;

pub use state::AppState;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::response::IntoResponse;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::AppError;

/// Largest body of every endpoint but the target import.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The API routes and their OpenAPI document (finished: see `openapi::finish`).
pub fn api() -> (Router<AppState>, serde_json::Value) {
    let (router, doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(routes::staff::router())
        .merge(routes::players::router())
        .merge(routes::hunts::router())
        .merge(routes::targets::router())
        .merge(routes::teams::router())
        .merge(routes::checkins::router())
        .merge(routes::clues::router())
        .merge(routes::leaderboard::router())
        .merge(routes::game_master::router())
        .merge(routes::push::router())
        .merge(routes::live::router())
        .merge(routes::health::router())
        .split_for_parts();
    (router, openapi::finish(&doc))
}

/// The OpenAPI document as checked in at `mobile-api/openapi.json`.
pub fn openapi_json() -> String {
    serde_json::to_string_pretty(&api().1).unwrap_or_else(|_| "{}".to_owned())
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api();
    let docs = utoipa_swagger_ui::SwaggerUi::new("/docs")
        .external_url_unchecked("/docs/openapi.json", doc);
    Router::new()
        .merge(api)
        .merge(docs)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            edge::limit_requests,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            AppError::Internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            edge::request_timeout,
        ))
        // Outermost, so timeouts and panics are counted and logged in the request's span too.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .with_state(state)
}

async fn not_found() -> AppError {
    AppError::NotFound("route")
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
