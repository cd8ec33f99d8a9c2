//! Where the plugin listens: a unix socket (go-plugin's choice everywhere but
//! Windows) or TCP on loopback, plus removal of the socket when we stop.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use tokio::net::{TcpListener, TcpStream};
#[cfg(unix)]
use tokio_util::either::Either;

use super::TransportError;
use super::env::{MAX_PORT_KEY, MIN_PORT_KEY, PluginEnv, UNIX_SOCKET_DIR_KEY};

/// Network type as written in the handshake line and reattach JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    Unix,
    Tcp,
}

impl Network {
    /// What go-plugin servers use on this OS.
    pub fn platform_default() -> Self {
        if cfg!(unix) {
            Network::Unix
        } else {
            Network::Tcp
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Network::Unix => "unix",
            Network::Tcp => "tcp",
        })
    }
}

/// A bound listener; dropping it removes the unix socket it created.
pub(crate) struct PluginListener {
    inner: Inner,
    address: String,
    _cleanup: Option<SocketCleanup>,
}

enum Inner {
    #[cfg(unix)]
    Unix(tokio::net::UnixListener),
    Tcp(TcpListener),
}

impl PluginListener {
    pub(crate) async fn bind(network: Network, env: &PluginEnv) -> Result<Self, TransportError> {
        match network {
            Network::Tcp => bind_tcp(env).await,
            #[cfg(unix)]
            Network::Unix => bind_unix(env),
            #[cfg(not(unix))]
            Network::Unix => Err(TransportError::UnixUnsupported),
        }
    }

    pub(crate) fn network(&self) -> Network {
        match self.inner {
            #[cfg(unix)]
            Inner::Unix(_) => Network::Unix,
            Inner::Tcp(_) => Network::Tcp,
        }
    }

    /// Socket path or `127.0.0.1:PORT`.
    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    pub(crate) async fn accept(&self) -> io::Result<RawConn> {
        match &self.inner {
            #[cfg(unix)]
            Inner::Unix(l) => l.accept().await.map(|(s, _)| Either::Left(s)),
            Inner::Tcp(l) => l.accept().await.map(|(s, _)| {
                // gRPC messages are small and latency-bound.
                let _ = s.set_nodelay(true);
                #[cfg(unix)]
                let s = Either::Right(s);
                s
            }),
        }
    }
}

async fn bind_tcp(env: &PluginEnv) -> Result<PluginListener, TransportError> {
    let port = |key| env.get(key).and_then(|v| v.trim().parse::<u16>().ok());
    // go-plugin tries each port of the host's range in turn; without a range
    // the OS picks one.
    let ports: Vec<u16> = match (port(MIN_PORT_KEY), port(MAX_PORT_KEY)) {
        (Some(lo), Some(hi)) if lo <= hi => (lo..=hi).collect(),
        _ => vec![0],
    };
    let mut last_err = None;
    for p in ports {
        match TcpListener::bind(("127.0.0.1", p)).await {
            Ok(l) => {
                let address = l.local_addr().map_err(TransportError::Tcp)?.to_string();
                return Ok(PluginListener {
                    inner: Inner::Tcp(l),
                    address,
                    _cleanup: None,
                });
            }
            Err(e) => last_err = Some(e),
        }
    }
    Err(TransportError::Tcp(last_err.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::AddrNotAvailable, "empty port range")
    })))
}

#[cfg(unix)]
fn bind_unix(env: &PluginEnv) -> Result<PluginListener, TransportError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};

    // With a host-chosen directory, put the socket straight into it (the host
    // manages its permissions). Otherwise make a private 0700 directory in the
    // temp dir so that other local users cannot even reach the socket; that
    // matters when TLS is off (TF_DISABLE_PLUGIN_TLS, --debug).
    let (dir, private_dir) = match env.get(UNIX_SOCKET_DIR_KEY) {
        Some(d) => (PathBuf::from(d), false),
        None => {
            let base = std::env::temp_dir();
            let dir = (0..16)
                .map(|_| base.join(format!("tfplugin-{:08x}", rand::random::<u32>())))
                .find(|d| std::fs::DirBuilder::new().mode(0o700).create(d).is_ok())
                .ok_or_else(|| TransportError::Socket {
                    path: base.clone(),
                    source: io::Error::other("could not create a private directory"),
                })?;
            (dir, true)
        }
    };
    let path = if private_dir {
        dir.join("plugin.sock")
    } else {
        dir.join(format!("plugin{:010}", rand::random::<u32>()))
    };
    let cleanup = SocketCleanup {
        socket: path.clone(),
        dir: private_dir.then(|| dir.clone()),
    };
    let listener =
        tokio::net::UnixListener::bind(&path).map_err(|source| TransportError::Socket {
            path: path.clone(),
            source,
        })?;
    if private_dir {
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(PluginListener {
        inner: Inner::Unix(listener),
        address: path.to_string_lossy().into_owned(),
        _cleanup: Some(cleanup),
    })
}

/// Removes the socket file (and our private directory) on drop, as go-plugin does on close.
struct SocketCleanup {
    socket: PathBuf,
    dir: Option<PathBuf>,
}

impl Drop for SocketCleanup {
    fn drop(&mut self) {
        remove_quietly(&self.socket, std::fs::remove_file(&self.socket));
        if let Some(dir) = &self.dir {
            remove_quietly(dir, std::fs::remove_dir(dir));
        }
    }
}

fn remove_quietly(path: &Path, result: io::Result<()>) {
    if let Err(e) = result
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::debug!(path = %path.display(), error = %e, "could not remove plugin socket");
    }
}

/// An accepted connection before any TLS: a unix socket's or a loopback
/// TCP one. `Either` reads and writes through whichever it holds.
#[cfg(unix)]
pub(crate) type RawConn = Either<tokio::net::UnixStream, TcpStream>;
#[cfg(not(unix))]
pub(crate) type RawConn = TcpStream;

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[tokio::test]
    async fn unix_socket_lives_in_the_requested_dir_and_is_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let env: PluginEnv = [(UNIX_SOCKET_DIR_KEY, dir.path().to_str().unwrap())]
            .into_iter()
            .collect();
        let listener = PluginListener::bind(Network::Unix, &env).await.unwrap();
        let path = PathBuf::from(listener.address());
        assert_eq!(path.parent(), Some(dir.path()));
        assert!(path.exists());
        assert_eq!(listener.network(), Network::Unix);
        drop(listener);
        assert!(!path.exists());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn default_socket_dir_is_private_and_removed_on_drop() {
        use std::os::unix::fs::PermissionsExt;
        let listener = PluginListener::bind(Network::Unix, &PluginEnv::default())
            .await
            .unwrap();
        let path = PathBuf::from(listener.address());
        let dir = path.parent().unwrap().to_path_buf();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        drop(listener);
        assert!(!path.exists());
        assert!(!dir.exists());
    }

    #[tokio::test]
    async fn tcp_listens_on_loopback_within_the_port_range() {
        // Ask the OS for a free port first, so the range holds exactly one usable port.
        let probe = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let env: PluginEnv = [
            (MIN_PORT_KEY, port.to_string()),
            (MAX_PORT_KEY, port.to_string()),
        ]
        .into_iter()
        .collect();
        let listener = PluginListener::bind(Network::Tcp, &env).await.unwrap();
        assert_eq!(listener.address(), format!("127.0.0.1:{port}"));
        assert_eq!(listener.network(), Network::Tcp);
    }
}
