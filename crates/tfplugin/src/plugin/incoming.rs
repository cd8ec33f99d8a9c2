//! Turns the listener into the stream of ready connections tonic serves:
//! accepts, runs TLS handshakes off the accept path, and drops failures.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::either::Either;
use tonic::transport::server::Connected;

use super::listener::{PluginListener, RawConn};

/// A slow or silent client must not hold a handshake task forever.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection ready for HTTP/2: plaintext (h2c) or TLS. A type of our
/// own only so that it can be tonic's `Connected`; reading and writing go
/// straight to the `Either` inside.
pub(crate) struct Conn(Either<RawConn, Box<TlsStream<RawConn>>>);

impl Connected for Conn {
    // Peers are always local (unix socket or loopback); nothing worth exposing.
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

/// Spawns the accept loop. The stream ends when the listener fails for good;
/// the task ends when the stream's receiver is dropped (or on abort).
pub(crate) fn incoming(
    listener: PluginListener,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> (ReceiverStream<io::Result<Conn>>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(16);
    let acceptor = tls.map(TlsAcceptor::from);
    let task = tokio::spawn(async move {
        // Holding the listener here keeps the socket file alive until the task ends.
        while !tx.is_closed() {
            let raw = match listener.accept().await {
                Ok(raw) => raw,
                Err(e) => {
                    // Typically EMFILE; back off instead of spinning.
                    tracing::warn!(error = %e, "accepting a plugin connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let tx = tx.clone();
            match &acceptor {
                None => {
                    if tx.send(Ok(Conn(Either::Left(raw)))).await.is_err() {
                        return;
                    }
                }
                Some(acceptor) => {
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(raw))
                            .await
                        {
                            Ok(Ok(tls)) => {
                                let _ = tx.send(Ok(Conn(Either::Right(Box::new(tls))))).await;
                            }
                            Ok(Err(e)) => {
                                tracing::warn!(error = %e, "TLS handshake with a plugin client failed")
                            }
                            Err(_) => {
                                tracing::warn!("TLS handshake with a plugin client timed out")
                            }
                        }
                    });
                }
            }
        }
    });
    (ReceiverStream::new(rx), task)
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}
