//! `AppError`: the one error type services return; `http::error` maps it to a status and a stable code.

use serde_json::Value;
use thiserror::Error;

/// Everything a use case can answer instead of a result. Messages are safe to show to clients,
/// except `Internal`, whose detail is logged once at the HTTP boundary and never sent.
#[derive(Debug, Error)]
pub enum AppError {
    #[error("the body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("{message}")]
    InvalidRequest {
        message: String,
        details: Option<Value>,
    },
    #[error("invalid fix: {0}")]
    InvalidFix(String),
    #[error("invalid push subscription: {0}")]
    InvalidSubscription(String),
    #[error("invalid GeoJSON: {reason}")]
    InvalidGeoJson {
        feature_index: Option<usize>,
        reason: String,
    },
    #[error("unsupported geometry: {reason}")]
    UnsupportedGeometry {
        feature_index: Option<usize>,
        reason: String,
    },
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("you are not in a team of this hunt")]
    NotInHunt,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{inner}")]
    WithDetails {
        inner: Box<AppError>,
        details: Value,
    },
    #[error("the body is too large")]
    BodyTooLarge,
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("not ready: {0}")]
    Unavailable(&'static str),
    /// Refused by a limit; nothing was done or stored.
    #[error("too many requests ({limiter}); retry later")]
    RateLimited {
        limiter: &'static str,
        retry_after: std::time::Duration,
    },
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// A 400 `invalid_request` with a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidRequest {
            message: message.into(),
            details: None,
        }
    }

    /// A 400 `invalid_request` about one field of the body (`field` is a JSON pointer such as
    /// `/rules/max_accuracy_m`), named in the details as the edge names the fields it refuses.
    pub fn invalid_field(field: &str, reason: impl std::fmt::Display) -> Self {
        crate::input::FieldError::new(crate::input::Location::Body, field, reason.to_string())
            .into()
    }

    /// The error for a log line: an internal error's whole cause chain on one line (`{:#}`),
    /// never its backtrace (see `http::error`); any other error's message.
    pub fn chain(&self) -> String {
        match self {
            Self::Internal(e) => format!("{e:#}"),
            other => other.to_string(),
        }
    }

    /// Attaches `details` to the error envelope.
    pub fn with_details(self, details: Value) -> Self {
        Self::WithDetails {
            inner: Box::new(self),
            details,
        }
    }

    /// A 409 with a specific code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Internal(anyhow::Error::new(e).context("database"))
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        use diesel_async::pooled_connection::deadpool::PoolError;
        match e {
            // Every connection stayed busy for NENUFAR_DB_POOL_WAIT_MS: the node is overloaded.
            PoolError::Timeout(_) => Self::Unavailable("the database is busy"),
            e => Self::Internal(anyhow::Error::new(e).context("database pool")),
        }
    }
}

impl From<crate::limits::RateLimited> for AppError {
    fn from(e: crate::limits::RateLimited) -> Self {
        Self::RateLimited {
            limiter: e.limiter,
            retry_after: e.retry_after,
        }
    }
}

/// Whether a diesel error is a unique violation (optionally of a named constraint).
pub fn is_unique_violation(e: &diesel::result::Error, constraint: Option<&str>) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            constraint.is_none_or(|c| info.constraint_name() == Some(c))
        }
        _ => false,
    }
}
