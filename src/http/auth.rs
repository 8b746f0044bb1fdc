//! Who is calling, decided before anything else is read: the one bearer-token parser (REST and
//! the WebSocket upgrade), and extractors that authenticate and check the caller's role. A
//! handler takes its `Caller<Role>` first, so axum runs it before the path, query and body
//! extractors: a caller who may not use a route gets 403 whatever they send. The roles each
//! operation admits are also written in the OpenAPI document (the bearer requirement's role
//! names); `tests/api/input/auth_order.rs` holds the two to each other.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::domain::account::{Principal, Role};
use crate::error::AppError;
use crate::http::AppState;
use crate::service;

/// Longest bearer token read (ours are 48 characters).
const MAX_TOKEN: usize = 200;

/// The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive
/// (RFC 9110 section 11.1), any other scheme is no credential.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim_start().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty() && token.len() <= MAX_TOKEN).then_some(token)
}

/// Any authenticated caller, from `Authorization: Bearer <token>`.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers).ok_or(AppError::Unauthenticated)?;
        service::auth::authenticate(&state.ctx, token)
            .await
            .map(Auth)
    }
}

/// A set of callers a route admits.
pub trait Admits {
    /// Why anyone else is refused (the 403's message).
    const REFUSAL: &'static str;
    fn admits(principal: &Principal) -> bool;
}

/// Players (OpenAPI roles `player`).
pub struct Players;
/// Staff of any role (`owner`, `editor`, `game_master`).
pub struct Staff;
/// Staff who build hunts (`owner`, `editor`).
pub struct Editors;
/// Staff who run live hunts (`owner`, `game_master`).
pub struct GameMasters;
/// Owners (`owner`).
pub struct Owners;

impl Admits for Players {
    const REFUSAL: &'static str = "players only";
    fn admits(p: &Principal) -> bool {
        matches!(p, Principal::Player { .. })
    }
}

impl Admits for Staff {
    const REFUSAL: &'static str = "staff only";
    fn admits(p: &Principal) -> bool {
        matches!(p, Principal::Staff { .. })
    }
}

impl Admits for Editors {
    const REFUSAL: &'static str = "owners and editors only";
    fn admits(p: &Principal) -> bool {
        matches!(p, Principal::Staff { role, .. } if role.may_edit_hunts())
    }
}

impl Admits for GameMasters {
    const REFUSAL: &'static str = "owners and game masters only";
    fn admits(p: &Principal) -> bool {
        matches!(
            p,
            Principal::Staff {
                role: Role::Owner | Role::GameMaster,
                ..
            }
        )
    }
}

impl Admits for Owners {
    const REFUSAL: &'static str = "owners only";
    fn admits(p: &Principal) -> bool {
        matches!(
            p,
            Principal::Staff {
                role: Role::Owner,
                ..
            }
        )
    }
}

/// An authenticated caller that `R` admits; anyone else is 403 `forbidden` before the rest of
/// the request is read. Services check again (they are also called from elsewhere).
pub struct Caller<R> {
    pub principal: Principal,
    admitted_by: PhantomData<R>,
}

impl<R: Admits> FromRequestParts<AppState> for Caller<R> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Auth(principal) = Auth::from_request_parts(parts, state).await?;
        if R::admits(&principal) {
            Ok(Self {
                principal,
                admitted_by: PhantomData,
            })
        } else {
            Err(AppError::Forbidden(R::REFUSAL))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_the_only_one_read() {
        for v in [
            "Bearer abc",
            "bearer abc",
            "BEARER abc",
            "bEaReR   abc ",
            " Bearer abc",
        ] {
            assert_eq!(bearer(&headers(v)), Some("abc"), "{v:?}");
        }
        for v in ["Basic abc", "Bearer", "Bearer ", "Bearerabc", "Token abc"] {
            assert_eq!(bearer(&headers(v)), None, "{v:?}");
        }
        assert_eq!(
            bearer(&headers(&format!("Bearer {}", "a".repeat(201)))),
            None
        );
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
