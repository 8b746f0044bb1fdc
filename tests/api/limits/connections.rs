//! Slow and idle connections are closed (the timeouts are set short here; the tests assert that
//! the connection is closed, never how fast), and connections are capped per address.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection (Ok) or `wait` passes (Err).
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> Result<(), ()> {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(()),
            Ok(Ok(_)) => continue,
            Err(_) => return Err(()),
        }
    }
}

#[tokio::test]
async fn a_slowloris_client_sending_its_head_a_byte_at_a_time_is_dropped() {
    let app = TestApp::spawn_with_limits(limits_from(&[
        ("NENUFAR_HEADER_TIMEOUT_MS", "1000"),
        ("NENUFAR_IDLE_TIMEOUT_MS", "600000"),
    ]))
    .await;
    let mut s = connect(&app).await;
    // A head that never ends: one byte every 50 ms, for at most a minute.
    let head = b"GET /healthz HTTP/1.1\r\nHost: nenufar\r\nX-Padding: ";
    let mut dropped = false;
    for i in 0..1200 {
        let byte = head.get(i).copied().unwrap_or(b'a');
        if s.write_all(&[byte]).await.is_err() {
            dropped = true;
            break;
        }
        let mut buf = [0u8; 64];
        match tokio::time::timeout(Duration::from_millis(50), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                dropped = true;
                break;
            }
            Ok(Ok(n)) => panic!("a head was never finished, yet {n} bytes came back"),
            Err(_) => {}
        }
    }
    assert!(dropped, "the slow head kept its connection for a minute");
    // The node still serves everyone else.
    let (status, _) = app.get("/healthz", None).await;
    assert_eq!(status, reqwest::StatusCode::OK);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    // The header timeout is long: only the idle timeout can close this connection in time.
    let app = TestApp::spawn_with_limits(limits_from(&[
        ("NENUFAR_HEADER_TIMEOUT_MS", "600000"),
        ("NENUFAR_IDLE_TIMEOUT_MS", "300"),
    ]))
    .await;
    let mut s = connect(&app).await;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: nenufar\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(!answer.to_ascii_lowercase().contains("connection: close"));
    // Keep-alive, then silence: the server closes it.
    assert_eq!(closed_within(&mut s, Duration::from_secs(60)).await, Ok(()));
}

#[tokio::test]
async fn connections_beyond_the_per_address_cap_are_closed_at_once() {
    let app =
        TestApp::spawn_with_limits(limits_from(&[("NENUFAR_MAX_CONNECTIONS_PER_ADDRESS", "3")]))
            .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = connect(&app).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: nenufar\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        assert!(s.read(&mut buf).await.unwrap() > 0);
        held.push(s);
    }
    let mut fourth = connect(&app).await;
    let _ = fourth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: nenufar\r\n\r\n")
        .await;
    assert_eq!(
        closed_within(&mut fourth, Duration::from_secs(30)).await,
        Ok(())
    );
    // Closing one frees its slot.
    drop(held.pop());
    let what = "the closed connection's slot released";
    wait_until(what, Duration::from_secs(30), async || {
        let mut s = connect(&app).await;
        let _ = s
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: nenufar\r\n\r\n")
            .await;
        let mut buf = [0u8; 1024];
        s.read(&mut buf).await.is_ok_and(|n| n > 0)
    })
    .await;
}
