//! Extractors that read requests through the edge rules of [`crate::input`] and answer with our
//! error envelope: JSON bodies, GeoJSON bodies, queries, paths. Who is calling is `http::auth`.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::AppError;
use crate::input::{self, BodyError, Input, Location};

pub use super::auth::{Auth, Caller};

/// A JSON object body read into `T` through the edge rules; bad bodies become `invalid_json`
/// (not JSON), `invalid_request` (naming the field), `unsupported_media_type` or `body_too_large`.
pub struct ApiJson<T>(pub T);

impl<T: Input, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(req, state).await?;
        input::body::<T>(&bytes).map(Self).map_err(body_error)
    }
}

/// Maps an edge refusal of a body onto our codes.
pub fn body_error(e: BodyError) -> AppError {
    match e {
        BodyError::Syntax(message) => AppError::InvalidJson(message),
        BodyError::Field(field) => field.into(),
    }
}

/// Where GeoJSON documents may hold line breaks: a target's properties (its metadata; the name
/// has its own rules). RFC 7946 foreign members are read like any other member, then ignored.
const GEOJSON_MULTILINE: &[&str] = &["/properties", "/features/*/properties"];

/// A GeoJSON body (target imports) through the edge rules; anything that is not JSON is
/// `invalid_geojson`.
pub struct GeoJsonBody(pub serde_json::Value);

impl<S: Send + Sync> FromRequest<S> for GeoJsonBody {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(req, state).await?;
        match input::document(&bytes, Location::Body, GEOJSON_MULTILINE) {
            Ok(v) => Ok(Self(v)),
            Err(BodyError::Syntax(message)) => {
                let e = crate::spatial::geojson::invalid(format!("not JSON: {message}"));
                Err(crate::service::targets::geojson_refusal(vec![e]))
            }
            Err(BodyError::Field(field)) => Err(field.into()),
        }
    }
}

/// The body bytes of a request that says it is JSON (`application/json` or any
/// `application/*+json`, such as `application/merge-patch+json`), within the route's body limit.
async fn json_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, AppError> {
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase())
        .and_then(|essence| {
            let (kind, sub) = essence.split_once('/')?;
            Some(kind == "application" && (sub == "json" || sub.ends_with("+json")))
        })
        .unwrap_or(false);
    if !is_json {
        return Err(AppError::UnsupportedMediaType);
    }
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::BodyTooLarge
        } else {
            AppError::invalid(e.body_text())
        }
    })
}

/// Query parameters through the edge rules (each given once, one line of text); bad ones are
/// `invalid_request` naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        input::query(parts.uri.query())
            .map(Self)
            .map_err(Into::into)
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
