//! `GET /v1/live`: the WebSocket endpoint (protocol in `mobile-api/live.md`). The upgrade is done
//! here rather than by axum's extractor so the session gets the raw TCP stream, which the feeds
//! write shared pre-encoded frames onto (see `live::outbox`).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, UPGRADE};
use axum::response::Response;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpStream;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::account::Principal;
use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::bearer;
use crate::http::extract::ApiQuery;
use crate::limits::ConnectionHold;
use crate::limits::addr::ClientAddr;
use crate::live::handshake;
use crate::live::session::{self, Peer, SessionCtx};
use crate::service;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(live))
}

#[derive(Debug, Deserialize)]
struct LiveQuery {
    /// For browsers, which cannot set headers on a WebSocket; never logged.
    token: Option<String>,
}

/// Opens the live WebSocket (RFC 6455, version 13; protocol in `mobile-api/live.md`): a player
/// token in `Authorization: Bearer` or, for browsers, in `?token=`. The token and the role are
/// checked before the handshake headers: 401 without a valid token, 403 for a staff token, then
/// 400 `invalid_request` for a request that is not a WebSocket upgrade.
#[utoipa::path(get, path = "/v1/live", tag = "live",
    security(("bearer" = ["player"]), ("query_token" = ["player"])),
    params(
        ("Upgrade" = String, Header, description = "`websocket`"),
        ("Connection" = String, Header, description = "Includes `upgrade`"),
        ("Sec-WebSocket-Version" = String, Header, description = "`13`"),
        ("Sec-WebSocket-Key" = String, Header, description = "The client's nonce (RFC 6455 section 4.1)"),
    ),
    responses((status = 101, description = "Switched to the WebSocket protocol; messages follow `mobile-api/live.md`.",
        headers(("Upgrade" = String, description = "`websocket`"), ("Connection" = String, description = "`upgrade`"),
            ("Sec-WebSocket-Accept" = String, description = "The answer to `Sec-WebSocket-Key` (RFC 6455 section 4.2.2)")))))]
async fn live(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<LiveQuery>,
    addr: ClientAddr,
    mut req: Request,
) -> Result<Response, AppError> {
    let token = bearer(req.headers())
        .map(str::to_owned)
        .or(q.token)
        .filter(|t| !t.is_empty() && t.len() <= 200)
        .ok_or(AppError::Unauthenticated)?;
    let Principal::Player { id } = service::auth::authenticate(&state.ctx, &token).await? else {
        return Err(AppError::Forbidden("players only"));
    };
    let accept = handshake::client_key(req.headers())
        .map(handshake::accept_key)
        .map_err(AppError::invalid)?;
    // Held by the session until it ends: sessions per player and per address, and the
    // connection's own slots (an upgraded connection still counts against the connection caps).
    let live_slots = state.ctx.limits.live_slots(id, addr.key())?;
    let connection = req.extensions_mut().remove::<ConnectionHold>();
    let on_upgrade = req
        .extensions_mut()
        .remove::<hyper::upgrade::OnUpgrade>()
        .ok_or_else(|| AppError::invalid("this connection cannot be upgraded"))?;
    let ctx = SessionCtx {
        hub: state.hub.clone(),
        service: state.ctx.clone(),
    };
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "a live connection closed during the upgrade");
                return;
            }
        };
        // `nenufar serve` and the tests serve plain TCP (TLS ends at the load balancer) through
        // `http::serve`'s HTTP/1 connections; a router served by `axum::serve` wraps it once more.
        let parts = match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => Some((parts.io, parts.read_buf)),
            Err(upgraded) => {
                hyper_util::server::conn::auto::upgrade::downcast::<TokioIo<TcpStream>>(upgraded)
                    .ok()
                    .map(|parts| (parts.io, parts.read_buf))
            }
        };
        match parts {
            Some((io, read_buf)) => {
                session::run(io.into_inner(), read_buf, ctx, Peer { player: id }).await;
            }
            None => tracing::error!("a live connection is not a plain TCP stream; closed"),
        }
        drop((live_slots, connection));
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(CONNECTION, "upgrade")
        .header(UPGRADE, "websocket")
        .header(SEC_WEBSOCKET_ACCEPT, accept)
        .body(Body::empty())
        .map_err(|e| AppError::Internal(e.into()))
}
