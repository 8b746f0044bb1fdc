//! A Redis pub/sub subscriber over a tokio `TcpStream`: SUBSCRIBE to one channel and wait for the
//! confirmation; the messages are read by the generator's common loop.

use anyhow::bail;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::resp;

/// Subscribes to `channel`; returns the stream and any bytes already read past the confirmation.
pub async fn subscribe(addr: &str, channel: &str) -> anyhow::Result<(TcpStream, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut cmd = Vec::new();
    resp::command(&mut cmd, &[b"SUBSCRIBE", channel.as_bytes()]);
    stream.write_all(&cmd).await?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("closed before subscribed");
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some((reply, used)) = resp::parse(&buf).map_err(anyhow::Error::msg)? {
            return match reply {
                resp::Reply::Array(Some(items))
                    if items.first() == Some(&resp::Reply::Bulk(Some(b"subscribe".to_vec()))) =>
                {
                    buf.drain(..used);
                    Ok((stream, buf))
                }
                other => bail!("unexpected answer to SUBSCRIBE: {other:?}"),
            };
        }
    }
}
