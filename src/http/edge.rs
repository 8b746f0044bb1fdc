//! The limits every request meets before its handler: requests per address and per bearer token
//! (429 `rate_limited` with `Retry-After`), and the request timeout (503 `unavailable` with its
//! JSON body and `Retry-After`). Also the `ClientAddr` extractor handlers use for their own limits.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::http::AppState;
use crate::limits::TokenKey;
use crate::limits::addr::ClientAddr;
use crate::service;

/// The client address the accept loop (`http::serve`) put on the request; a request that did not
/// come through it (a router driven directly) counts as the unspecified address.
impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(client_addr(parts.extensions.get::<ClientAddr>()))
    }
}

fn client_addr(found: Option<&ClientAddr>) -> ClientAddr {
    found.copied().unwrap_or(ClientAddr {
        peer: std::net::Ipv4Addr::UNSPECIFIED.into(),
        client: std::net::Ipv4Addr::UNSPECIFIED.into(),
    })
}

/// The bearer token's hash, when the request carries one.
fn bearer_key(req: &Request) -> Option<TokenKey> {
    let value = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?
        .trim();
    if token.is_empty() || token.len() > 200 {
        return None;
    }
    service::auth::token_hash(token).try_into().ok()
}

/// Requests per address, and per token for tokens this node verified (its token cache): an
/// unknown or forged token is never a key, so random tokens cannot fill the table; the per-address
/// limit covers them. A token verified while its request was served is counted afterwards.
pub async fn limit_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limits = &state.ctx.limits;
    if !limits.config.enforced() {
        return next.run(req).await;
    }
    let addr = client_addr(req.extensions().get::<ClientAddr>()).key();
    let token = bearer_key(&req);
    let now = state.ctx.clock.now();
    let known = token.filter(|t| state.ctx.tokens.get(t, now).is_some());
    if let Err(limited) = limits.check_request(addr, known.as_ref()) {
        return AppError::from(limited).into_response();
    }
    let response = next.run(req).await;
    if let Some(t) = token
        && known.is_none()
        && state.ctx.tokens.get(&t, state.ctx.clock.now()).is_some()
    {
        limits.count_token(&t);
    }
    response
}

/// Answers 503 `unavailable` (JSON body, `Retry-After`) when a request takes longer than
/// `NENUFAR_REQUEST_TIMEOUT_MS`.
pub async fn request_timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let timeout = state.ctx.limits.config.request_timeout;
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => AppError::Unavailable("the request took too long").into_response(),
    }
}
