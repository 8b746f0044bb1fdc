//! A minimal RESP2 codec for the benchmarks' Redis anchors (`benches/fanout`, `benches/leaderboard.rs`,
//! `examples/fanout_clients.rs`): encode a command, parse one reply off the front of a buffer. No IO.

/// One RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    /// `None` is the null bulk string.
    Bulk(Option<Vec<u8>>),
    /// `None` is the null array.
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The integer of an `Int` reply, or of a bulk string holding a number (`ZINCRBY` answers one).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(n) => Some(*n),
            Self::Bulk(Some(b)) => std::str::from_utf8(b)
                .ok()?
                .parse::<f64>()
                .ok()
                .map(|f| f as i64),
            _ => None,
        }
    }
}

/// Appends `args` as one command (an array of bulk strings) to `out`.
pub fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Parses one reply at the start of `buf`: `Ok(Some((reply, bytes used)))`, or `Ok(None)` when
/// `buf` holds only part of it.
pub fn parse(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let Some((&tag, rest)) = buf[..eol].split_first() else {
        return Err("empty line".into());
    };
    let line = std::str::from_utf8(rest).map_err(|e| e.to_string())?;
    let after = eol + 2;
    let number = || line.parse::<i64>().map_err(|e| format!("{line:?}: {e}"));
    match tag {
        b'+' => Ok(Some((Reply::Simple(line.to_owned()), after))),
        b'-' => Ok(Some((Reply::Error(line.to_owned()), after))),
        b':' => Ok(Some((Reply::Int(number()?), after))),
        b'$' => {
            let n = number()?;
            if n < 0 {
                return Ok(Some((Reply::Bulk(None), after)));
            }
            let end = after + n as usize;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            Ok(Some((Reply::Bulk(Some(buf[after..end].to_vec())), end + 2)))
        }
        b'*' => {
            let n = number()?;
            if n < 0 {
                return Ok(Some((Reply::Array(None), after)));
            }
            let mut items = Vec::with_capacity(n as usize);
            let mut at = after;
            for _ in 0..n {
                match parse(&buf[at..])? {
                    Some((item, used)) => {
                        items.push(item);
                        at += used;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Reply::Array(Some(items)), at)))
        }
        other => Err(format!("unexpected RESP type byte {other:#04x}")),
    }
}
