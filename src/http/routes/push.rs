//! Web Push for players: the VAPID public key, device subscriptions and preferences
//! (`mobile-api/push.md`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::{Caller, Players};
use crate::http::extract::ApiJson;
use crate::http::openapi::core_types;
use crate::input::Input;
use crate::push::subscription::SubscriptionJson;
use crate::service;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(vapid_public_key))
        .routes(routes!(subscribe, unsubscribe))
        .routes(routes!(get_preferences, put_preferences))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKey {
    /// The uncompressed P-256 point, base64url without padding: the browser's
    /// `applicationServerKey`.
    #[schema(pattern = "^[A-Za-z0-9_-]{87}$")]
    pub public_key: String,
}

/// The key to subscribe with (`pushManager.subscribe({applicationServerKey})`). No token needed.
#[utoipa::path(get, path = "/v1/push/vapid-public-key", tag = "push",
    responses((status = 200, body = PublicKey)))]
async fn vapid_public_key(State(state): State<AppState>) -> Result<Json<PublicKey>, AppError> {
    let public_key = service::push::public_key(&state.ctx).await?;
    Ok(Json(PublicKey { public_key }))
}

/// Stores this device's subscription (the browser's `PushSubscription.toJSON()`); sending the
/// same endpoint again updates it, and moves it to the caller if another player had it.
#[utoipa::path(post, path = "/v1/push/subscriptions", tag = "push", security(("bearer" = ["player"])),
    request_body = SubscriptionJson,
    responses((status = 204, description = "Stored."),
        (status = 400, description = "Also `invalid_subscription`: the endpoint is not an https URL of a public push service, or a key is not what `keys` describes.")))]
async fn subscribe(
    State(state): State<AppState>,
    caller: Caller<Players>,
    ApiJson(body): ApiJson<SubscriptionJson>,
) -> Result<StatusCode, AppError> {
    service::push::subscribe(&state.ctx, caller.principal, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Unsubscribe {
    /// The endpoint of the subscription to delete.
    pub endpoint: String,
}

impl Input for Unsubscribe {}

/// Deletes the caller's subscription for this endpoint; its queued notifications are dropped.
#[utoipa::path(delete, path = "/v1/push/subscriptions", tag = "push", security(("bearer" = ["player"])),
    request_body = Unsubscribe,
    responses((status = 204, description = "Deleted."),
        (status = 404, description = "`not_found`: the caller has no subscription for this endpoint.")))]
async fn unsubscribe(
    State(state): State<AppState>,
    caller: Caller<Players>,
    ApiJson(body): ApiJson<Unsubscribe>,
) -> Result<StatusCode, AppError> {
    service::push::unsubscribe(&state.ctx, caller.principal, &body.endpoint).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    /// Categories not pushed to this player (sent back sorted, each once).
    #[schema(value_type = Vec<core_types::Category>)]
    pub muted: Vec<String>,
    /// Push even while the app holds a live WebSocket (default false: a connected app gets the
    /// event live and no push).
    #[serde(default)]
    #[schema(default = false)]
    pub also_when_connected: bool,
}

impl Input for PreferencesBody {}

/// The caller's push preferences.
#[utoipa::path(get, path = "/v1/push/preferences", tag = "push", security(("bearer" = ["player"])),
    responses((status = 200, body = PreferencesBody)))]
async fn get_preferences(
    State(state): State<AppState>,
    caller: Caller<Players>,
) -> Result<Json<PreferencesBody>, AppError> {
    let p = service::push::preferences(&state.ctx, caller.principal).await?;
    Ok(Json(PreferencesBody {
        muted: p.muted,
        also_when_connected: p.also_when_connected,
    }))
}

/// Replaces the caller's push preferences.
#[utoipa::path(put, path = "/v1/push/preferences", tag = "push", security(("bearer" = ["player"])),
    request_body = PreferencesBody,
    responses((status = 200, description = "The preferences now.", body = PreferencesBody)))]
async fn put_preferences(
    State(state): State<AppState>,
    caller: Caller<Players>,
    ApiJson(body): ApiJson<PreferencesBody>,
) -> Result<Json<PreferencesBody>, AppError> {
    let p = service::push::set_preferences(
        &state.ctx,
        caller.principal,
        &body.muted,
        body.also_when_connected,
    )
    .await?;
    Ok(Json(PreferencesBody {
        muted: p.muted,
        also_when_connected: p.also_when_connected,
    }))
}
