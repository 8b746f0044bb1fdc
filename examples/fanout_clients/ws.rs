//! A minimal WebSocket client (RFC 6455) over a tokio `TcpStream`: the upgrade, one masked text
//! frame to send, and unmasked server frames to read, pings answered. As lean as the hand-written
//! RESP subscriber beside it, so both servers are measured through equally cheap clients.

use anyhow::{Context, bail};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a server frame says.
pub enum Frame<'a> {
    Text(&'a [u8]),
    Ping(&'a [u8]),
    Close,
    Other,
}

/// The first complete frame in `buf` and the bytes it takes, or `None` when incomplete.
pub fn parse(buf: &[u8]) -> anyhow::Result<Option<(Frame<'_>, usize)>> {
    let [b0, b1, ..] = *buf else { return Ok(None) };
    if b1 & 0x80 != 0 {
        bail!("the server masked a frame");
    }
    let (len, at) = match b1 & 0x7f {
        126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
        127 if buf.len() >= 10 => {
            let mut n = [0u8; 8];
            n.copy_from_slice(&buf[2..10]);
            (u64::from_be_bytes(n) as usize, 10)
        }
        126 | 127 => return Ok(None),
        n => (n as usize, 2),
    };
    let Some(payload) = buf.get(at..at + len) else {
        return Ok(None);
    };
    if b0 & 0x80 == 0 {
        bail!("fragmented frames are not expected here");
    }
    let frame = match b0 & 0x0f {
        0x1 => Frame::Text(payload),
        0x8 => Frame::Close,
        0x9 => Frame::Ping(payload),
        _ => Frame::Other,
    };
    Ok(Some((frame, at + len)))
}

/// A masked client frame (payload under 64 KiB).
pub fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x6e, 0x66, 0x62, 0x21];
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.push(0x80 | opcode);
    if payload.len() < 126 {
        out.push(0x80 | payload.len() as u8);
    } else {
        out.push(0x80 | 126);
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// Opens `/v1/live` with a bearer token and subscribes to `hunt` for live events; returns the
/// stream and any bytes already read past the `subscribed` answer.
pub async fn subscribe(
    addr: &str,
    hunt: &str,
    token: &str,
) -> anyhow::Result<(TcpStream, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let request = format!(
        "GET /v1/live HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: bmVudWZhci1mYW5vdXQhIQ==\r\nSec-WebSocket-Version: 13\r\n\
         Authorization: Bearer {token}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("closed during the upgrade");
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]);
    if !head.starts_with("HTTP/1.1 101") {
        bail!(
            "upgrade refused: {}",
            head.lines().next().context("empty answer")?
        );
    }
    buf.drain(..head_end);
    let subscribe = json!({"type": "subscribe", "hunt_id": hunt, "after": null}).to_string();
    stream.write_all(&frame(0x1, subscribe.as_bytes())).await?;
    loop {
        while let Some((f, used)) = parse(&buf)? {
            match f {
                Frame::Text(t) if t.windows(12).any(|w| w == b"\"subscribed\"") => {
                    buf.drain(..used);
                    return Ok((stream, buf));
                }
                Frame::Text(t) => {
                    bail!(
                        "unexpected answer to subscribe: {}",
                        String::from_utf8_lossy(t)
                    )
                }
                Frame::Close => bail!("closed before subscribed"),
                Frame::Ping(_) | Frame::Other => {}
            }
            buf.drain(..used);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("closed before subscribed");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
