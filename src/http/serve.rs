//! Our accept loop, in place of `axum::serve`: HTTP/1 only (hyper), upgrades kept, graceful
//! shutdown; a cap on connections in total and per client address; each request gets its
//! `ClientAddr` (trusted proxies resolved) and its connection's slots as extensions.
//!
//! Timeouts. hyper 1.x's `header_read_timeout` starts whenever hyper starts reading a request head:
//! at accept (before the first byte) and again each time a keep-alive connection goes idle, so on
//! its own it would close idle keep-alive connections after the header timeout too. We want the
//! two apart (a short header timeout against slowloris, a longer idle timeout for apps that check
//! in every few seconds), so a watchdog per connection enforces both, from what it sees of the
//! requests: no request yet -> `header_timeout` from accept; between requests -> `idle_timeout`
//! from the end of the last response; a response not written after `request_timeout +
//! idle_timeout` (a client that stopped reading) -> closed. Closing means dropping the connection
//! future, which closes the socket. hyper's own header timeout stays on as a backstop at the
//! longer of the two. Nothing wraps the IO type: an upgraded connection is still the plain
//! `TokioIo<TcpStream>` that `routes::live` downcasts to.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http_body::Frame;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::limits::addr::{AddrKey, ClientAddr};
use crate::limits::{ConnectionHold, ConnectionSlots, Limiters};

/// How long a stopping node waits for open connections to finish their requests.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting, lets open
/// connections finish their request (at most `DRAIN`), and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Arc<Limiters>,
    shutdown: impl Future<Output = ()>,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            // A connection reset before it was accepted: nothing to do.
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of file descriptors, most likely: wait a little rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let trusted = limits.config.trusted_proxies.contains(peer.ip());
        let Some(slots) = limits.connection_slots(AddrKey::of(peer.ip()), trusted) else {
            tracing::debug!("connection cap reached; connection closed");
            drop(stream);
            continue;
        };
        tokio::spawn(connection(
            stream,
            peer.ip(),
            router.clone(),
            limits.clone(),
            slots,
            stop_rx.clone(),
        ));
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(true);
    if tokio::time::timeout(DRAIN, stop_tx.closed()).await.is_err() {
        tracing::warn!("connections still open after the drain; stopping anyway");
    }
}

fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// What a connection's watchdog sees of its requests.
#[derive(Debug)]
struct Activity {
    state: Mutex<ActivityState>,
    /// Wakes the watchdog when a request begins or ends, so it re-arms its deadline.
    changed: tokio::sync::Notify,
}

#[derive(Debug, Clone, Copy)]
struct ActivityState {
    /// Requests whose response is not yet fully written.
    busy: u32,
    /// When the last response finished (or the connection was accepted), or the oldest busy
    /// request began.
    since: Instant,
    /// Whether a response was written (idle timeout) or not yet (header timeout).
    served: bool,
}

/// A request in flight; dropped with its response body, once hyper has written it.
#[derive(Debug)]
struct Busy(Arc<Activity>);

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(ActivityState {
                busy: 0,
                since: Instant::now(),
                served: false,
            }),
            changed: tokio::sync::Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ActivityState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn begin(self: &Arc<Self>) -> Busy {
        let mut s = self.lock();
        if s.busy == 0 {
            s.since = Instant::now();
        }
        s.busy += 1;
        drop(s);
        self.changed.notify_one();
        Busy(self.clone())
    }

    /// When the connection is due to close if nothing happens meanwhile.
    fn deadline(&self, t: &Timeouts) -> Instant {
        let s = *self.lock();
        let allowed = if s.busy > 0 {
            t.request + t.idle
        } else if s.served {
            t.idle
        } else {
            t.header
        };
        s.since + allowed
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.busy = s.busy.saturating_sub(1);
        s.since = Instant::now();
        s.served = true;
        drop(s);
        self.0.changed.notify_one();
    }
}

#[derive(Debug, Clone, Copy)]
struct Timeouts {
    header: Duration,
    idle: Duration,
    request: Duration,
}

/// A response body that tells the watchdog when hyper is done with it.
struct Tracked {
    inner: Body,
    _busy: Busy,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

async fn connection(
    stream: TcpStream,
    peer: std::net::IpAddr,
    router: Router,
    limits: Arc<Limiters>,
    slots: ConnectionSlots,
    mut stop: watch::Receiver<bool>,
) {
    let config = &limits.config;
    let timeouts = Timeouts {
        header: config.header_timeout,
        idle: config.idle_timeout,
        request: config.request_timeout,
    };
    let activity = Activity::new();
    let hold = ConnectionHold(Arc::new(slots));
    let trusted = config.trusted_proxies.clone();
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            let client = trusted.client(peer, req.headers());
            req.extensions_mut().insert(ClientAddr { peer, client });
            req.extensions_mut().insert(hold.clone());
            let busy = activity.begin();
            let response = router.clone().oneshot(req.map(Body::new));
            async move {
                let response = match response.await {
                    Ok(r) => r,
                    Err(never) => match never {},
                };
                Ok::<_, Infallible>(response.map(|inner| Body::new(Tracked { inner, _busy: busy })))
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header.max(timeouts.idle));
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        let deadline = activity.deadline(&timeouts);
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
            () = activity.changed.notified() => {}
            () = tokio::time::sleep_until(deadline) => {
                if Instant::now() >= activity.deadline(&timeouts) {
                    tracing::debug!("connection idle or too slow; closed");
                    return;
                }
            }
        }
    }
}
