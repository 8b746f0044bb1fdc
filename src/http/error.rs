//! The only table from `AppError` to HTTP status and stable `code`; the JSON error envelope.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use crate::error::AppError;

/// Every 4xx and 5xx body: `{code, message, details}`. Codes are listed in `mobile-api/errors.md`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code clients switch on.
    #[schema(schema_with = error_code_schema)]
    pub code: &'static str,
    /// Human-readable, may change.
    pub message: String,
    /// Structured context (for example `feature_index` and `reason`), or null.
    #[schema(value_type = Option<Object>)]
    pub details: Value,
}

/// `ErrorBody::code`: one of [`ERROR_CODES`].
fn error_code_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some("Stable snake_case code clients switch on."))
        .enum_values(Some(ERROR_CODES.iter().copied()))
        .build()
}

/// Every stable `code` the API can answer with; `mobile-api/errors.md` documents each.
pub const ERROR_CODES: &[&str] = &[
    "invalid_json",
    "invalid_request",
    "invalid_fix",
    "invalid_subscription",
    "invalid_geojson",
    "unsupported_geometry",
    "unauthenticated",
    "forbidden",
    "not_in_hunt",
    "not_found",
    "method_not_allowed",
    "body_too_large",
    "unsupported_media_type",
    "email_taken",
    "handle_taken",
    "team_name_taken",
    "already_in_team",
    "team_full",
    "hunt_closed",
    "hunt_not_draft",
    "not_publishable",
    "idempotency_key_reused",
    "invite_code_collision",
    "hunt_not_published",
    "clue_not_for_sale",
    "clue_already_revealed",
    "not_enough_points",
    "rate_limited",
    "unavailable",
    "internal",
];

impl AppError {
    /// The status and stable code of this error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::InvalidJson(_) => (StatusCode::BAD_REQUEST, "invalid_json"),
            Self::InvalidRequest { .. } => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::InvalidFix(_) => (StatusCode::BAD_REQUEST, "invalid_fix"),
            Self::InvalidSubscription(_) => (StatusCode::BAD_REQUEST, "invalid_subscription"),
            Self::InvalidGeoJson { .. } => (StatusCode::BAD_REQUEST, "invalid_geojson"),
            Self::UnsupportedGeometry { .. } => (StatusCode::BAD_REQUEST, "unsupported_geometry"),
            Self::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotInHunt => (StatusCode::FORBIDDEN, "not_in_hunt"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            Self::BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            Self::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            Self::WithDetails { inner, .. } => inner.status_and_code(),
        }
    }
}

/// `Retry-After` of a 503 that says nothing more precise, seconds.
pub const UNAVAILABLE_RETRY_AFTER_S: u64 = 1;

impl AppError {
    /// Seconds a client should wait before retrying (`Retry-After`), rounded up: every 429 and
    /// every 503 carries one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after, .. } => {
                let s = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                Some(s.max(1))
            }
            Self::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_S),
            Self::WithDetails { inner, .. } => inner.retry_after(),
            _ => None,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let retry_after = self.retry_after();
        let (message, details) = match self {
            Self::Internal(err) => {
                // Logged once, here; the client learns nothing about it.
                log_internal(&err);
                ("internal error".to_owned(), Value::Null)
            }
            Self::WithDetails { inner, details } => (inner.to_string(), details),
            Self::InvalidRequest { message, details } => (message, details.unwrap_or(Value::Null)),
            other => (other.to_string(), Value::Null),
        };
        let mut response = (
            status,
            Json(ErrorBody {
                code,
                message,
                details,
            }),
        )
            .into_response();
        if let Some(after) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, after.into());
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// The tracing target that, enabled at `debug` (`NENUFAR_LOG_BACKTRACES=1` does it), adds the
/// backtrace anyhow captured to an internal error's log line.
pub const BACKTRACE_TARGET: &str = "nenufar::backtrace";

/// Logs an internal error once: its cause chain on one line (`{:#}`). `{:?}` would print
/// anyhow's multi-line report with the backtrace it captures whenever `RUST_BACKTRACE` or
/// `RUST_LIB_BACKTRACE` is set (about 51 KB per error); that backtrace is logged only on request.
fn log_internal(err: &anyhow::Error) {
    let chain = format!("{err:#}");
    let captured = err.backtrace().status() == std::backtrace::BacktraceStatus::Captured;
    if captured && tracing::enabled!(target: BACKTRACE_TARGET, tracing::Level::DEBUG) {
        tracing::error!(error = %chain, backtrace = %err.backtrace(), "internal error");
    } else {
        tracing::error!(error = %chain, "internal error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_never_leak_their_detail() {
        let e = AppError::Internal(anyhow::anyhow!("password=hunter2 at db.internal:5432"));
        let (status, code) = e.status_and_code();
        assert_eq!(
            (status, code),
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        );
        assert!(!format!("{e}").contains("hunter2"));
    }

    /// A writer into a shared buffer, for reading what a subscriber logged.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_internal_error_logs_its_cause_chain_once_on_one_line_without_a_backtrace() {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let err = anyhow::anyhow!("connection reset")
                .context("reading the hunt")
                .context("checking in");
            let _ = AppError::Internal(err).into_response();
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "one line: {text}");
        assert!(
            text.contains("checking in: reading the hunt: connection reset"),
            "{text}"
        );
        assert!(
            !text.contains("Caused by") && !text.contains("backtrace"),
            "{text}"
        );
    }

    #[test]
    fn limits_and_unavailability_say_when_to_retry_rounded_up() {
        let e = AppError::RateLimited {
            limiter: "t",
            retry_after: std::time::Duration::from_millis(4_001),
        };
        assert_eq!(e.retry_after(), Some(5));
        let e = AppError::RateLimited {
            limiter: "t",
            retry_after: std::time::Duration::ZERO,
        };
        assert_eq!(e.retry_after(), Some(1));
        let r = AppError::Unavailable("x").into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()["retry-after"], "1");
    }

    #[test]
    fn details_keep_the_inner_status() {
        let e = AppError::InvalidGeoJson {
            feature_index: Some(2),
            reason: "x".into(),
        }
        .with_details(Value::Null);
        assert_eq!(e.status_and_code().1, "invalid_geojson");
    }
}
