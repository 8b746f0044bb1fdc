//! `GET /v1/live`: the WebSocket endpoint (protocol in `mobile-api/live.md`).

use axum::Router;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::account::Principal;
use crate::error::AppError;
use crate::live::session::{self, Peer, SessionCtx};
use crate::service;

/// Largest message a client may send, bytes.
const MAX_CLIENT_MESSAGE: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/live", get(live))
}

#[derive(Debug, Deserialize)]
struct LiveQuery {
    /// For browsers, which cannot set headers on a WebSocket; never logged.
    token: Option<String>,
}

async fn live(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LiveQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let token = bearer
        .or(q.token)
        .filter(|t| !t.is_empty() && t.len() <= 200)
        .ok_or(AppError::Unauthenticated)?;
    let Principal::Player { id } = service::auth::authenticate(&state.ctx, &token).await? else {
        return Err(AppError::Forbidden("players only"));
    };
    let ctx = SessionCtx {
        hub: state.hub.clone(),
        pool: state.ctx.pool.clone(),
    };
    // Small buffers: an idle connection should cost a few KiB, not tungstenite's 128 KiB default.
    Ok(ws
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| session::run(socket, ctx, Peer { player: id })))
}
