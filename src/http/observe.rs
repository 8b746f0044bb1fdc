//! The outermost layer of every request: its request id (`x-request-id`), its `http` span, and
//! its counters and latency histogram by route template. Logs and labels carry the route
//! template and ids, never the raw query string, a body, or a header but the request id.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::http::AppState;

/// The header that carries a request's id, both ways.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The `route` of a request no route matched (one label for all of them: bounded cardinality).
pub const UNMATCHED: &str = "unmatched";
/// Longest request id accepted from a client or proxy.
const MAX_ID_LEN: usize = 64;

/// Gives the request its id (a well-formed one it came with, from a proxy say, else a new UUID),
/// runs it inside its `http` span, answers with the id in `x-request-id`, and records it.
pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = match req.headers().get(&X_REQUEST_ID).filter(|v| well_formed(v)) {
        Some(v) => v.clone(),
        None => {
            // A UUID's text is always a valid header value.
            let made = HeaderValue::try_from(uuid::Uuid::new_v4().to_string())
                .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
            req.headers_mut().insert(X_REQUEST_ID.clone(), made.clone());
            made
        }
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let route_label = route.as_deref().unwrap_or(UNMATCHED);
    let method = method_label(req.method());
    let span = tracing::info_span!(
        "http",
        request.id = id.to_str().unwrap_or_default(),
        http.method = method,
        http.route = route_label,
        hunt.id = tracing::field::Empty,
        http.status = tracing::field::Empty,
    );
    if let Some(hunt) = route.as_deref().and_then(|r| hunt_in(r, req.uri().path())) {
        span.record("hunt.id", tracing::field::display(hunt));
    }
    let mut response = async {
        let response = next.run(req).await;
        let status = response.status().as_u16();
        tracing::Span::current().record("http.status", status);
        tracing::debug!(
            duration_ms = started.elapsed().as_secs_f64() * 1e3,
            "request answered"
        );
        response
    }
    .instrument(span)
    .await;
    response.headers_mut().insert(X_REQUEST_ID.clone(), id);
    state.ctx.metrics.http_request(
        method,
        route_label,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// A request id we pass on as it came: short, and only letters, digits, `-`, `_`, `.`.
fn well_formed(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_ID_LEN
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// The `method` label: the methods routes answer to, and one label for anything else.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The hunt id in `path` where the route template has `{hunt_id}`, if it is a UUID.
fn hunt_in(route: &str, path: &str) -> Option<uuid::Uuid> {
    route
        .split('/')
        .zip(path.split('/'))
        .find(|(r, _)| *r == "{hunt_id}")
        .and_then(|(_, p)| uuid::Uuid::parse_str(p).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hunt_id_comes_from_its_place_in_the_template() {
        let id = uuid::Uuid::new_v4();
        let path = format!("/v1/hunts/{id}/clues/{}/buy", uuid::Uuid::new_v4());
        assert_eq!(
            hunt_in("/v1/hunts/{hunt_id}/clues/{clue_id}/buy", &path),
            Some(id)
        );
        assert_eq!(hunt_in("/v1/hunts/nearby", "/v1/hunts/nearby"), None);
        assert_eq!(hunt_in("/v1/hunts/{hunt_id}", "/v1/hunts/not-a-uuid"), None);
    }

    #[test]
    fn only_short_plain_request_ids_are_passed_on() {
        assert!(well_formed(&HeaderValue::from_static("lb-1234.abc_DEF")));
        assert!(!well_formed(&HeaderValue::from_static("")));
        assert!(!well_formed(&HeaderValue::from_static("a b")));
        assert!(!well_formed(&HeaderValue::from_static("id\"}")));
        let long = HeaderValue::try_from("x".repeat(MAX_ID_LEN + 1)).unwrap();
        assert!(!well_formed(&long));
    }
}
