//! The WebSocket opening handshake (RFC 6455 4.2) on the server side: which requests may upgrade,
//! and the `Sec-WebSocket-Accept` answer. Pure header handling; the route does the upgrade.

use base64::Engine;
use http::HeaderMap;
use http::header::{CONNECTION, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE};
use sha1::{Digest, Sha1};

/// Appended to the client's key before hashing (RFC 6455 1.3).
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value answering the client's `Sec-WebSocket-Key`.
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID);
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

fn has_token(headers: &HeaderMap, name: http::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The client's key when the request asks for a version 13 WebSocket, else what is missing.
pub fn client_key(headers: &HeaderMap) -> Result<&[u8], &'static str> {
    if !has_token(headers, CONNECTION, "upgrade") {
        return Err("a WebSocket upgrade needs `Connection: upgrade`");
    }
    if !has_token(headers, UPGRADE, "websocket") {
        return Err("a WebSocket upgrade needs `Upgrade: websocket`");
    }
    if headers.get(SEC_WEBSOCKET_VERSION).map(|v| v.as_bytes()) != Some(b"13") {
        return Err("only WebSocket version 13 is supported");
    }
    headers
        .get(SEC_WEBSOCKET_KEY)
        .map(|v| v.as_bytes())
        .filter(|k| !k.is_empty())
        .ok_or("a WebSocket upgrade needs `Sec-WebSocket-Key`")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_accept_key_is_the_rfc_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn a_browser_upgrade_is_accepted_whatever_the_case_and_token_lists() {
        let h = headers(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "WebSocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]);
        assert_eq!(client_key(&h), Ok(&b"dGhlIHNhbXBsZSBub25jZQ=="[..]));
    }

    #[test]
    fn plain_requests_and_other_versions_are_refused() {
        let full = [
            ("connection", "upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "x"),
        ];
        for missing in 0..full.len() {
            let partial: Vec<_> = full
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != missing)
                .map(|(_, p)| *p)
                .collect();
            assert!(client_key(&headers(&partial)).is_err(), "without {missing}");
        }
        let mut old = full;
        old[2] = ("sec-websocket-version", "8");
        assert!(client_key(&headers(&old)).is_err());
    }
}
