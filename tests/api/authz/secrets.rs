//! How a leak is recognised: the hidden coordinates, exact or to 4 decimals, anywhere in a
//! response's text; and a witness that keeps every response of a game to search afterwards.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::*;

/// The coordinates of the hidden targets of the leak test, as placed in the GeoJSON.
pub struct Secrets(pub Vec<f64>);

impl Secrets {
    /// Fails if `text` (a response body) gives any of the coordinates away.
    pub fn assert_absent(&self, case: &str, text: &str) {
        for c in &self.0 {
            // As serde_json prints it.
            let full = serde_json::to_string(c).unwrap();
            assert!(
                !text.contains(&full),
                "{case}: the response contains {full}: {text}"
            );
        }
        match serde_json::from_str::<Value>(text) {
            Ok(v) => self.walk(case, text, &v),
            Err(_) => self.check_string(case, text, text),
        }
    }

    fn walk(&self, case: &str, text: &str, v: &Value) {
        match v {
            Value::Number(n) => {
                let n = n.as_f64().unwrap();
                for c in &self.0 {
                    assert!(
                        (n - c).abs() >= 1e-4,
                        "{case}: the number {n} is within 1e-4 of {c}: {text}"
                    );
                }
            }
            Value::String(s) => self.check_string(case, text, s),
            Value::Array(items) => items.iter().for_each(|i| self.walk(case, text, i)),
            Value::Object(m) => m.iter().for_each(|(k, i)| {
                self.check_string(case, text, k);
                self.walk(case, text, i);
            }),
            Value::Bool(_) | Value::Null => {}
        }
    }

    /// Every string but a timestamp must not hold a 4-decimal prefix of a coordinate. (A timestamp's
    /// seconds and fraction, "…:48.8617…", could match by chance.)
    fn check_string(&self, case: &str, text: &str, s: &str) {
        if chrono::DateTime::parse_from_rfc3339(s).is_ok() {
            return;
        }
        for c in &self.0 {
            let prefix = format!("{:.4}", (c * 10_000.0).trunc() / 10_000.0);
            assert!(
                !s.contains(&prefix),
                "{case}: {s:?} contains {prefix}: {text}"
            );
        }
    }
}

/// Sends requests and keeps each response's text, to search them all for coordinates afterwards.
pub struct Witness<'a> {
    pub app: &'a TestApp,
    pub seen: Vec<(String, String)>,
}

impl Witness<'_> {
    /// Sends a request, asserts it is no server error, keeps its text and returns the parsed body.
    pub async fn call(
        &mut self,
        case: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, text) = raw(self.app, method, path, token, body).await;
        assert!(!status.is_server_error(), "{case}: {status} {text}");
        self.seen.push((case.to_owned(), text.clone()));
        (
            status,
            serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
        )
    }
}

/// Sends a request and returns the status and the raw body text.
pub async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, String) {
    let mut req = app.client.request(method, format!("{}{path}", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// Metres to degrees near Paris (latitude 48.86).
pub fn north(lat: f64, m: f64) -> f64 {
    lat + m / 111_200.0
}

pub fn east(lon: f64, m: f64) -> f64 {
    lon + m / 73_270.0
}
