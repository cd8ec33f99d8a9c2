//! The accept loop. Connections are served with hyper directly (not
//! `axum::serve`) so a fault can kill one: each connection gets a
//! [`ConnControl`] in its requests' extensions, and aborting it drops the
//! connection with `SO_LINGER` 0, i.e. the peer sees a TCP reset with no response.
//!
//! Slow or idle clients cannot hold the emulator: request headers must arrive
//! within [`Limits::header_read_timeout`], a whole request (body included)
//! is answered or dropped within [`Limits::request_timeout`], and at most
//! [`Limits::max_connections`] connections are served at once (further ones
//! wait in the listen backlog).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tower::ServiceExt as _;

/// Per-connection handle a request can use to kill its own connection.
#[derive(Clone, Default)]
pub struct ConnControl {
    abort: Arc<Notify>,
}

impl ConnControl {
    pub fn abort(&self) {
        // notify_one stores a permit, so the signal is not lost if the
        // connection task is not waiting at this instant.
        self.abort.notify_one();
    }
}

/// Resolves once shutdown is signalled (the watch guard is dropped inside,
/// keeping the callers' futures `Send`).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// What one client may take from the server.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
}

pub async fn accept_loop(
    listener: TcpListener,
    router: Router,
    shutdown: watch::Receiver<bool>,
    limits: Limits,
) {
    let mut stop = shutdown.clone();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            _ = stopped(&mut stop) => break,
        };
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let (router, shutdown) = (router.clone(), shutdown.clone());
                    tokio::spawn(async move {
                        serve_connection(stream, router, shutdown, limits).await;
                        drop(slot);
                    });
                }
                Err(e) => {
                    // E.g. too many open files: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = stopped(&mut stop) => break,
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
    limits: Limits,
) {
    let _ = stream.set_nodelay(true);
    // A second handle on the socket, to set SO_LINGER 0 right before it closes.
    let linger_handle = socket2::SockRef::from(&stream).try_clone().ok();
    let ctl = ConnControl::default();
    let request_ctl = ctl.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(request_ctl.clone());
        let router = router.clone();
        async move {
            let answer = router.oneshot(req.map(Body::new));
            match tokio::time::timeout(limits.request_timeout, answer).await {
                Ok(response) => Ok::<_, Infallible>(response.unwrap_or_else(|e| match e {})),
                // Also ends a body that arrives too slowly.
                Err(_) => Ok(axum::http::Response::builder()
                    .status(axum::http::StatusCode::REQUEST_TIMEOUT)
                    .header("connection", "close")
                    .body(Body::empty())
                    .expect("a static response")),
            }
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        _ = ctl.abort.notified() => {
            if let Some(socket) = &linger_handle {
                let _ = socket.set_linger(Some(Duration::ZERO));
            }
        }
        _ = stopped(&mut shutdown) => {}
    }
    // Dropping both handles closes the socket.
}
