//! WebSocket framing (RFC 6455) as this server speaks it: unmasked frames out, masked client
//! frames in, no extensions. Pure byte handling; the sockets live in `queue` and `session`.

use bytes::{BufMut, Bytes, BytesMut};

/// Largest message a client may send (after reassembling fragments), bytes.
pub const MAX_CLIENT_MESSAGE: usize = 16 * 1024;
/// Control frames carry at most this many payload bytes (RFC 6455 5.5).
const MAX_CONTROL: usize = 125;

const FIN: u8 = 0x80;
const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// Close codes this server sends (RFC 6455 7.4.1).
pub const CLOSE_NORMAL: u16 = 1000;
pub const CLOSE_PROTOCOL: u16 = 1002;
pub const CLOSE_INVALID_DATA: u16 = 1007;
pub const CLOSE_TOO_BIG: u16 = 1009;

/// One complete server frame, header and payload in one buffer, so it can be shared by every
/// socket that receives it and written with one call.
fn frame(opcode: u8, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(payload.len() + 10);
    out.put_u8(FIN | opcode);
    match payload.len() {
        n if n < 126 => out.put_u8(n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.put_u8(126);
            out.put_u16(n as u16);
        }
        n => {
            out.put_u8(127);
            out.put_u64(n as u64);
        }
    }
    out.put_slice(payload);
    out.freeze()
}

/// A text frame holding `text`.
pub fn text(text: &str) -> Bytes {
    frame(OP_TEXT, text.as_bytes())
}

/// A ping with an empty payload.
pub fn ping() -> Bytes {
    Bytes::from_static(&[FIN | OP_PING, 0])
}

/// The pong answering a ping with `payload` (at most 125 bytes, as the reader guarantees).
pub fn pong(payload: &[u8]) -> Bytes {
    frame(OP_PONG, payload)
}

/// A close frame, with a status code or without one.
pub fn close(code: Option<u16>) -> Bytes {
    match code {
        Some(code) => frame(OP_CLOSE, &code.to_be_bytes()),
        None => frame(OP_CLOSE, &[]),
    }
}

/// A message from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    Text(String),
    /// Binary messages mean nothing in this protocol; they are read and ignored.
    Binary,
    Ping(Vec<u8>),
    Pong,
    /// The client's close frame, with its status code if it gave one.
    Close(Option<u16>),
}

/// Why the client's bytes are not an acceptable WebSocket stream; the connection is closed with
/// [`ProtocolError::close_code`].
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("a client frame was not masked")]
    Unmasked,
    #[error("reserved bits set without a negotiated extension")]
    Reserved,
    #[error("unknown opcode {0:#x}")]
    Opcode(u8),
    #[error("a control frame was fragmented or longer than 125 bytes")]
    BadControl,
    #[error("a continuation frame without a message to continue, or a new message inside one")]
    BadContinuation,
    #[error("a message longer than {MAX_CLIENT_MESSAGE} bytes")]
    TooBig,
    #[error("a text message or close reason that is not UTF-8")]
    NotUtf8,
    #[error("a close frame with a one-byte payload or a status code no endpoint may send")]
    BadClose,
}

impl ProtocolError {
    pub fn close_code(&self) -> u16 {
        match self {
            Self::TooBig => CLOSE_TOO_BIG,
            Self::NotUtf8 => CLOSE_INVALID_DATA,
            _ => CLOSE_PROTOCOL,
        }
    }
}

/// Reassembles client frames from the bytes read so far. Holds no memory while the connection is
/// idle: bytes are only kept for an incomplete frame or message.
#[derive(Debug, Default)]
pub struct Reader {
    /// Bytes of an incomplete frame.
    pending: Vec<u8>,
    /// The opcode and payload of a fragmented message so far.
    message: Option<(u8, Vec<u8>)>,
}

/// A frame's header: opcode, fin, mask key, payload length, header length.
struct Header {
    opcode: u8,
    fin: bool,
    mask: [u8; 4],
    len: usize,
    at: usize,
}

fn header(buf: &[u8]) -> Result<Option<Header>, ProtocolError> {
    let [b0, b1, ..] = *buf else { return Ok(None) };
    if b0 & 0x70 != 0 {
        return Err(ProtocolError::Reserved);
    }
    if b1 & 0x80 == 0 {
        return Err(ProtocolError::Unmasked);
    }
    let (len, at) = match b1 & 0x7f {
        126 => match buf.get(2..4) {
            Some(n) => (usize::from(u16::from_be_bytes([n[0], n[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(n) => {
                let mut b = [0u8; 8];
                b.copy_from_slice(n);
                (
                    usize::try_from(u64::from_be_bytes(b)).unwrap_or(usize::MAX),
                    10,
                )
            }
            None => return Ok(None),
        },
        n => (usize::from(n), 2),
    };
    // Refuse an oversized frame from its header, before buffering any of it.
    if len > MAX_CLIENT_MESSAGE {
        return Err(ProtocolError::TooBig);
    }
    let Some(key) = buf.get(at..at + 4) else {
        return Ok(None);
    };
    Ok(Some(Header {
        opcode: b0 & 0x0f,
        fin: b0 & FIN != 0,
        mask: [key[0], key[1], key[2], key[3]],
        len,
        at: at + 4,
    }))
}

impl Reader {
    /// Takes newly read bytes and appends every complete message in them to `out`, in order.
    /// After an error the connection must be closed; the reader is not usable any more.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Incoming>) -> Result<(), ProtocolError> {
        if self.pending.is_empty() {
            let used = self.frames(bytes, out)?;
            self.pending.extend_from_slice(&bytes[used..]);
        } else {
            let mut buf = std::mem::take(&mut self.pending);
            buf.extend_from_slice(bytes);
            let used = self.frames(&buf, out)?;
            buf.drain(..used);
            self.pending = buf;
        }
        if self.pending.is_empty() && self.pending.capacity() > 0 {
            // An idle connection keeps no buffer.
            self.pending = Vec::new();
        }
        Ok(())
    }

    /// Reads complete frames from the start of `buf`; returns the bytes they took.
    fn frames(&mut self, buf: &[u8], out: &mut Vec<Incoming>) -> Result<usize, ProtocolError> {
        let mut used = 0;
        while let Some(h) = header(&buf[used..])? {
            let start = used + h.at;
            let Some(masked) = buf.get(start..start + h.len) else {
                break;
            };
            let payload: Vec<u8> = masked
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ h.mask[i % 4])
                .collect();
            used = start + h.len;
            if let Some(m) = self.frame(h.opcode, h.fin, payload)? {
                out.push(m);
            }
        }
        Ok(used)
    }

    fn frame(
        &mut self,
        opcode: u8,
        fin: bool,
        payload: Vec<u8>,
    ) -> Result<Option<Incoming>, ProtocolError> {
        match opcode {
            OP_CLOSE | OP_PING | OP_PONG => {
                if !fin || payload.len() > MAX_CONTROL {
                    return Err(ProtocolError::BadControl);
                }
                Ok(Some(match opcode {
                    OP_PING => Incoming::Ping(payload),
                    OP_PONG => Incoming::Pong,
                    _ => Incoming::Close(close_code(&payload)?),
                }))
            }
            OP_TEXT | OP_BINARY => {
                if self.message.is_some() {
                    return Err(ProtocolError::BadContinuation);
                }
                if fin {
                    return message(opcode, payload).map(Some);
                }
                self.message = Some((opcode, payload));
                Ok(None)
            }
            OP_CONTINUATION => {
                let Some((op, mut so_far)) = self.message.take() else {
                    return Err(ProtocolError::BadContinuation);
                };
                if so_far.len() + payload.len() > MAX_CLIENT_MESSAGE {
                    return Err(ProtocolError::TooBig);
                }
                so_far.extend_from_slice(&payload);
                if fin {
                    return message(op, so_far).map(Some);
                }
                self.message = Some((op, so_far));
                Ok(None)
            }
            other => Err(ProtocolError::Opcode(other)),
        }
    }
}

/// The status code of a client's close frame (RFC 6455 5.5.1, 7.4): none, or two bytes of a code
/// an endpoint may send followed by a UTF-8 reason. 1005 and 1006 are never sent (they stand for
/// "no code" and "closed without a frame"), 1015 neither; 1004 and 1016-2999 are not assigned,
/// 3000-4999 belong to libraries and applications.
fn close_code(payload: &[u8]) -> Result<Option<u16>, ProtocolError> {
    let (code, reason) = match payload {
        [] => return Ok(None),
        [_] => return Err(ProtocolError::BadClose),
        [a, b, reason @ ..] => (u16::from_be_bytes([*a, *b]), reason),
    };
    if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
        return Err(ProtocolError::BadClose);
    }
    std::str::from_utf8(reason).map_err(|_| ProtocolError::NotUtf8)?;
    Ok(Some(code))
}

fn message(opcode: u8, payload: Vec<u8>) -> Result<Incoming, ProtocolError> {
    if opcode == OP_BINARY {
        return Ok(Incoming::Binary);
    }
    String::from_utf8(payload)
        .map(Incoming::Text)
        .map_err(|_| ProtocolError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame, as a browser would send it.
    fn client(first: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut out = vec![first];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n <= 0xffff => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<Incoming>, ProtocolError> {
        let mut r = Reader::default();
        let mut out = Vec::new();
        r.push(bytes, &mut out)?;
        Ok(out)
    }

    #[test]
    fn server_frames_have_the_rfc_header_for_each_length_class() {
        assert_eq!(&text("hi")[..], b"\x81\x02hi");
        let mid = "x".repeat(300);
        let f = text(&mid);
        assert_eq!(&f[..4], &[0x81, 126, 0x01, 0x2c]);
        assert_eq!(f.len(), 304);
        let big = "y".repeat(70_000);
        let f = text(&big);
        assert_eq!(&f[..2], &[0x81, 127]);
        assert_eq!(u64::from_be_bytes(f[2..10].try_into().unwrap()), 70_000);
        assert_eq!(&ping()[..], &[0x89, 0]);
        assert_eq!(&pong(b"ab")[..], b"\x8a\x02ab");
        assert_eq!(&close(Some(1000))[..], &[0x88, 2, 0x03, 0xe8]);
        assert_eq!(&close(None)[..], &[0x88, 0]);
    }

    #[test]
    fn masked_text_ping_pong_and_close_are_read() {
        let mut bytes = client(0x81, br#"{"type":"subscribe"}"#);
        bytes.extend(client(0x89, b"hello"));
        bytes.extend(client(0x8a, b""));
        bytes.extend(client(0x82, &[1, 2, 3]));
        bytes.extend(client(0x88, &1001u16.to_be_bytes()));
        assert_eq!(
            read_all(&bytes).unwrap(),
            [
                Incoming::Text(r#"{"type":"subscribe"}"#.into()),
                Incoming::Ping(b"hello".to_vec()),
                Incoming::Pong,
                Incoming::Binary,
                Incoming::Close(Some(1001)),
            ]
        );
    }

    #[test]
    fn frames_split_at_every_byte_are_reassembled() {
        let long = "é".repeat(200);
        let mut bytes = client(0x81, long.as_bytes());
        bytes.extend(client(0x89, b"p"));
        for cut in 0..bytes.len() {
            let mut r = Reader::default();
            let mut out = Vec::new();
            r.push(&bytes[..cut], &mut out).unwrap();
            r.push(&bytes[cut..], &mut out).unwrap();
            assert_eq!(
                out,
                [Incoming::Text(long.clone()), Incoming::Ping(b"p".to_vec())],
                "cut at {cut}"
            );
            assert!(r.pending.is_empty() && r.pending.capacity() == 0);
        }
    }

    #[test]
    fn a_fragmented_message_is_joined_and_control_frames_may_come_between_fragments() {
        let mut bytes = client(0x01, b"{\"a\":");
        bytes.extend(client(0x89, b""));
        bytes.extend(client(0x00, b"1"));
        bytes.extend(client(0x80, b"}"));
        assert_eq!(
            read_all(&bytes).unwrap(),
            [
                Incoming::Ping(Vec::new()),
                Incoming::Text("{\"a\":1}".into())
            ]
        );
    }

    #[test]
    fn close_frames_with_no_code_a_sendable_code_or_a_reason_are_read() {
        let sendable = [1001u16, 1003, 1007, 1011, 1014, 3000, 4999];
        let mut bytes = client(0x88, b"");
        for code in sendable {
            bytes.extend(client(0x88, &code.to_be_bytes()));
        }
        bytes.extend(client(
            0x88,
            &[&1000u16.to_be_bytes()[..], b"au revoir"].concat(),
        ));
        let mut want = vec![Incoming::Close(None)];
        want.extend(sendable.map(|c| Incoming::Close(Some(c))));
        want.push(Incoming::Close(Some(1000)));
        assert_eq!(read_all(&bytes).unwrap(), want);
    }

    #[test]
    fn broken_streams_are_refused_with_the_right_close_code() {
        let unmasked = [0x81u8, 0x01, b'x'];
        let cases: Vec<(Vec<u8>, ProtocolError, u16)> = vec![
            (unmasked.to_vec(), ProtocolError::Unmasked, 1002),
            (client(0xc1, b"x"), ProtocolError::Reserved, 1002),
            (client(0x83, b"x"), ProtocolError::Opcode(3), 1002),
            (client(0x09, b""), ProtocolError::BadControl, 1002),
            (client(0x89, &[0; 126]), ProtocolError::BadControl, 1002),
            (client(0x80, b"x"), ProtocolError::BadContinuation, 1002),
            (
                [client(0x01, b"x"), client(0x81, b"y")].concat(),
                ProtocolError::BadContinuation,
                1002,
            ),
            (
                client(0x81, &vec![b'x'; MAX_CLIENT_MESSAGE + 1]),
                ProtocolError::TooBig,
                1009,
            ),
            (
                [
                    client(0x01, &vec![b'x'; MAX_CLIENT_MESSAGE]),
                    client(0x80, b"y"),
                ]
                .concat(),
                ProtocolError::TooBig,
                1009,
            ),
            (client(0x81, &[0xff, 0xfe]), ProtocolError::NotUtf8, 1007),
            (client(0x88, &[0x03]), ProtocolError::BadClose, 1002),
            (
                client(0x88, &[&1000u16.to_be_bytes()[..], &[0xff]].concat()),
                ProtocolError::NotUtf8,
                1007,
            ),
        ];
        // Close codes no endpoint may send: reserved for "none" or "no frame", or unassigned.
        let unsendable = [1005u16, 1006, 1015, 1004, 999, 2999, 5000].map(|c| {
            (
                client(0x88, &c.to_be_bytes()),
                ProtocolError::BadClose,
                1002,
            )
        });
        for (bytes, error, code) in cases.into_iter().chain(unsendable) {
            let got = read_all(&bytes).unwrap_err();
            assert_eq!((&got, got.close_code()), (&error, code));
        }
    }

    #[test]
    fn an_oversized_frame_is_refused_from_its_header_alone() {
        let mut head = vec![0x81u8, 0x80 | 127];
        head.extend_from_slice(&(1u64 << 40).to_be_bytes());
        assert_eq!(read_all(&head).unwrap_err(), ProtocolError::TooBig);
    }
}
