//! The WebSocket protocol's edges, spoken over a raw TCP stream: what a plain GET gets, the close
//! codes for frames that break RFC 6455 or our limits, and backpressure on a client that sends
//! without reading.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// Opens `/v1/live` on a raw stream and completes the handshake; the bytes read past the
/// response are dropped (the server sends nothing before the client speaks).
async fn raw(app: &TestApp, token: &str) -> TcpStream {
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "GET /v1/live HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Authorization: Bearer {token}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            s.read(&mut byte).await.unwrap(),
            1,
            "the handshake ended early"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // RFC 6455's own example key and answer.
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    s
}

/// A client frame: `opcode` with FIN, masked with a fixed key unless `masked` is false, and a
/// header that claims `claimed` bytes of payload (the length of `payload` when `None`).
fn frame(opcode: u8, payload: &[u8], masked: bool, claimed: Option<usize>) -> Vec<u8> {
    let len = claimed.unwrap_or(payload.len());
    let mask_bit = if masked { 0x80 } else { 0 };
    let mut f = vec![0x80 | opcode];
    match len {
        0..=125 => f.push(mask_bit | len as u8),
        126..=65535 => {
            f.push(mask_bit | 126);
            f.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            f.push(mask_bit | 127);
            f.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    let key = [0x12, 0x34, 0x56, 0x78];
    if masked {
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        f.extend_from_slice(payload);
    }
    f
}

/// Reads server frames until a close frame; returns its code (None for an empty close, or if the
/// stream ended without one).
async fn close_code(s: &mut TcpStream) -> Option<u16> {
    let mut buf = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        // Server frames are unmasked and, here, short: a 2- or 4-byte header.
        while buf.len() >= 2 {
            let (opcode, short) = (buf[0] & 0x0f, usize::from(buf[1] & 0x7f));
            let (len, at) = match short {
                126 if buf.len() >= 4 => (usize::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
                126 => break,
                127 => panic!("an unexpectedly long server frame"),
                n => (n, 2),
            };
            if buf.len() < at + len {
                break;
            }
            if opcode == 0x8 {
                let p = &buf[at..at + len];
                return (p.len() >= 2).then(|| u16::from_be_bytes([p[0], p[1]]));
            }
            buf.drain(..at + len);
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    }
}

#[tokio::test]
async fn a_plain_get_is_invalid_request_a_missing_token_401_and_a_staff_token_403() {
    let app = TestApp::spawn().await;
    let player = app.player().await;
    let staff = app.staff().await;
    let url = format!("{}/v1/live", app.base);

    let plain = app
        .client
        .get(&url)
        .bearer_auth(&player.token)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::BAD_REQUEST);
    let body: Value = plain.json().await.unwrap();
    assert_eq!(body["code"], "invalid_request", "{body}");

    let upgrade = |token: Option<&str>| {
        let mut r = app
            .client
            .get(&url)
            .header("upgrade", "websocket")
            .header("connection", "upgrade")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", "13");
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let anonymous = upgrade(None).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["code"], "unauthenticated", "{body}");
    let staff = upgrade(Some(&staff.token)).await.unwrap();
    assert_eq!(staff.status(), StatusCode::FORBIDDEN);
    let body: Value = staff.json().await.unwrap();
    assert_eq!(body["code"], "forbidden", "{body}");
}

#[tokio::test]
async fn frames_that_break_the_protocol_close_with_1002_1007_or_1009() {
    let app = TestApp::spawn().await;
    let player = app.player().await;
    let cases: [(&str, Vec<u8>, u16); 4] = [
        ("unmasked", frame(0x1, b"{}", false, None), 1002),
        (
            "fragmented ping",
            {
                let mut f = frame(0x9, b"hi", true, None);
                f[0] &= 0x7f; // FIN cleared
                f
            },
            1002,
        ),
        (
            "not UTF-8",
            frame(0x1, &[0xff, 0xfe, 0x41], true, None),
            1007,
        ),
        // Refused from its header: the 17 KiB are never sent.
        ("over 16 KiB", frame(0x1, &[], true, Some(17 * 1024)), 1009),
    ];
    for (what, bytes, code) in cases {
        let mut s = raw(&app, &player.token).await;
        s.write_all(&bytes).await.unwrap();
        assert_eq!(close_code(&mut s).await, Some(code), "{what}");
    }
    // A 16 KiB message is within the limit: it is read, and answered as a bad request.
    let mut s = raw(&app, &player.token).await;
    let big = format!(
        "{{\"type\":\"nope\",\"pad\":\"{}\"}}",
        "x".repeat(16 * 1024 - 24)
    );
    assert_eq!(big.len(), 16 * 1024);
    s.write_all(&frame(0x1, big.as_bytes(), true, None))
        .await
        .unwrap();
    let mut answer = [0u8; 4];
    s.read_exact(&mut answer[..2]).await.unwrap();
    assert_eq!(answer[0], 0x81, "a text frame answers the message");
}

#[tokio::test]
async fn the_close_handshake_echoes_a_sendable_code_and_refuses_what_no_endpoint_may_send() {
    let app = TestApp::spawn().await;
    let player = app.player().await;
    let with_reason = |code: u16, reason: &[u8]| [&code.to_be_bytes()[..], reason].concat();
    let cases: [(&str, Vec<u8>, u16); 7] = [
        ("no code", Vec::new(), 1000),
        ("going away", with_reason(1001, b""), 1001),
        (
            "an application's code with a reason",
            with_reason(4000, b"bye"),
            4000,
        ),
        ("1005, never sent", with_reason(1005, b""), 1002),
        ("1006, never sent", with_reason(1006, b""), 1002),
        ("a one-byte payload", vec![0x03], 1002),
        (
            "a reason that is not UTF-8",
            with_reason(1000, &[0xff]),
            1007,
        ),
    ];
    for (what, payload, code) in cases {
        let mut s = raw(&app, &player.token).await;
        s.write_all(&frame(0x8, &payload, true, None))
            .await
            .unwrap();
        assert_eq!(close_code(&mut s).await, Some(code), "{what}");
        // After its close frame the server ends the TCP connection.
        let mut rest = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(15), s.read(&mut rest))
            .await
            .unwrap_or_else(|_| panic!("{what}: the connection stayed open after the close"));
        assert!(
            matches!(n, Ok(0) | Err(_)),
            "{what}: more bytes after the close: {n:?}"
        );
    }
}

#[tokio::test]
async fn a_client_that_sends_without_reading_stops_being_read() {
    let app = TestApp::spawn().await;
    let player = app.player().await;
    let mut s = raw(&app, &player.token).await;
    // Each ping asks for a pong the client never reads. Kernel buffers on both sides hold some
    // megabytes; a server that kept reading would queue pongs without bound and take all 256 MiB.
    let ping = frame(0x9, &[7u8; 125], true, None);
    let burst: Vec<u8> = ping
        .iter()
        .copied()
        .cycle()
        .take(ping.len() * 512)
        .collect();
    let limit = 256 << 20;
    let mut sent = 0usize;
    let stalled = loop {
        if sent >= limit {
            break false;
        }
        match tokio::time::timeout(Duration::from_secs(3), s.write_all(&burst)).await {
            Ok(Ok(())) => sent += burst.len(),
            Ok(Err(e)) => panic!("the server dropped the connection: {e}"),
            Err(_) => break true,
        }
    };
    assert!(
        stalled,
        "the server read {sent} bytes of pings without the pongs being read"
    );
    assert!(sent > 0);
}
