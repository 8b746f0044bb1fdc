//! Extractors that answer with our error envelope: JSON bodies, queries, paths, bearer auth.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::domain::account::Principal;
use crate::error::AppError;
use crate::service;

/// A JSON object body; bad bodies become `invalid_json`, `invalid_request`, `unsupported_media_type`
/// or `body_too_large`. Only an object is read into a struct (serde would also read an array).
pub struct ApiJson<T>(pub T);

/// Reads a request struct from a parsed body, which must be a JSON object.
pub fn from_object<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, AppError> {
    if !value.is_object() {
        return Err(AppError::invalid("the body must be a JSON object"));
    }
    serde_json::from_value(value).map_err(|e| AppError::invalid(format!("invalid body: {e}")))
}

/// A GeoJSON body (target imports): anything that is not JSON is `invalid_geojson`.
pub struct GeoJsonBody(pub serde_json::Value);

impl<S: Send + Sync> FromRequest<S> for GeoJsonBody {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(JsonRejection::JsonSyntaxError(e)) => {
                let reason = format!("not JSON: {}", e.body_text());
                let e = crate::spatial::geojson::invalid(reason);
                Err(crate::service::targets::geojson_refusal(vec![e]))
            }
            Err(other) => Err(json_rejection(other)),
        }
    }
}

/// Maps axum's JSON rejections onto our codes (no 422: wrong types and missing fields are 400).
pub fn json_rejection(rejection: JsonRejection) -> AppError {
    match rejection {
        JsonRejection::JsonDataError(e) => AppError::invalid(e.body_text()),
        JsonRejection::JsonSyntaxError(e) => AppError::InvalidJson(e.body_text()),
        JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType,
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => AppError::BodyTooLarge,
        other => AppError::invalid(other.body_text()),
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(json_rejection)?;
        from_object(value).map(Self)
    }
}

/// Query parameters; bad ones are `invalid_request`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e: QueryRejection| AppError::invalid(e.body_text()))
    }
}

/// Path parameters; a malformed id is `invalid_request`.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|e: PathRejection| AppError::invalid(e.body_text()))
    }
}

/// The authenticated caller, from `Authorization: Bearer <token>`.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or(AppError::Unauthenticated)?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 200)
            .ok_or(AppError::Unauthenticated)?;
        service::auth::authenticate(&state.ctx, token)
            .await
            .map(Auth)
    }
}
