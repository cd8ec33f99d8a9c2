//! Why the plugin transport could not start or keep serving.

use std::io;
use std::path::PathBuf;

use super::handshake::NotLaunchedByTerraform;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(transparent)]
    NotLaunchedByTerraform(#[from] NotLaunchedByTerraform),

    #[error(
        "could not create the plugin socket at {}: {source}. \
         Make sure the temporary directory (or PLUGIN_UNIX_SOCKET_DIR) is writable.",
        path.display()
    )]
    Socket { path: PathBuf, source: io::Error },

    #[error(
        "could not listen on a loopback TCP port: {0}. \
         Check PLUGIN_MIN_PORT/PLUGIN_MAX_PORT and that 127.0.0.1 is available."
    )]
    Tcp(io::Error),

    #[cfg(not(unix))]
    #[error("unix sockets are not available on this platform; use the TCP listener")]
    UnixUnsupported,

    #[error(
        "PLUGIN_CLIENT_CERT does not hold a PEM certificate ({0}). It is set by Terraform for \
         AutoMTLS; unset it, or set TF_DISABLE_PLUGIN_TLS=1 in Terraform's environment to run without TLS."
    )]
    ClientCert(String),

    #[error("could not generate the plugin's TLS certificate: {0}")]
    ServerCert(rcgen::Error),

    #[error("could not build the plugin's TLS configuration: {0}")]
    Tls(rustls::Error),

    #[error(
        "could not write the plugin handshake to stdout: {0}. Terraform reads it from a pipe; was it closed?"
    )]
    Stdout(io::Error),

    #[error("the plugin's gRPC server failed: {0}")]
    Serve(tonic::transport::Error),
}
