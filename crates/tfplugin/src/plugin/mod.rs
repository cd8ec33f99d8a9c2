//! Plugin transport: how Terraform starts this binary and talks to it.
//!
//! This is the server side of HashiCorp's go-plugin over gRPC: magic-cookie
//! check, protocol negotiation, the stdout handshake line, AutoMTLS, the
//! go-plugin housekeeping services and reattach (`--debug`) mode. It knows
//! nothing about resources; it serves any `tfplugin6.Provider` implementation.

mod debug;
mod env;
mod error;
mod handshake;
mod incoming;
mod listener;
mod routes;
mod server;
mod services;
mod tls;

use std::io::Write;

pub use debug::{debug_instructions, reattach_config};
pub use env::{
    CLIENT_CERT_KEY, MAGIC_COOKIE_KEY, MAX_PORT_KEY, MIN_PORT_KEY, PROTOCOL_VERSIONS_KEY,
    PluginEnv, UNIX_SOCKET_DIR_KEY,
};
pub use error::TransportError;
pub use handshake::{
    CORE_PROTOCOL_VERSION, HandshakeLine, MAGIC_COOKIE_VALUE, NotLaunchedByTerraform,
    SUPPORTED_PROTOCOL_VERSIONS, check_magic_cookie, negotiate_protocol_version,
};
pub use listener::Network;
pub use server::{HEALTH_SERVICE_NAME, MAX_MESSAGE_SIZE, PluginServer};

use crate::proto::tfplugin6::provider_server::Provider;

/// How to run the provider process.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Provider source address, e.g. `registry.terraform.io/example/example`;
    /// used in the reattach JSON and in the "run by hand" hint.
    pub provider_address: String,
    /// Reattach mode: no cookie, no TLS, print `TF_REATTACH_PROVIDERS`, stop on Ctrl-C.
    pub debug: bool,
}

/// Runs the provider as a Terraform plugin until Terraform shuts it down
/// (or, with `debug`, until Ctrl-C).
///
/// Without Terraform's magic cookie this fails with a
/// [`NotLaunchedByTerraform`] error (downcast it from the `anyhow::Error`),
/// whose `Display` is the explanation to print before exiting with status 1.
/// Returns `Ok(())` after a clean shutdown, so the caller can exit 0.
pub async fn serve<P: Provider>(provider: P, config: ServeConfig) -> anyhow::Result<()> {
    let env = PluginEnv::from_process();
    let network = Network::platform_default();
    if config.debug {
        let server = PluginServer::bind_debug(&env, network).await?;
        let text = debug_instructions(
            &config.provider_address,
            server.network(),
            server.address(),
            std::process::id(),
        );
        write_stdout(text.as_bytes())?;
        tracing::info!(address = server.address(), "serving in debug mode");
        let stop = async {
            tokio::select! {
                () = ctrl_c() => {}
                () = terminate_requested() => {}
            }
        };
        server.run(provider, stop).await?;
    } else {
        check_magic_cookie(&env, &config.provider_address)?;
        ignore_interrupts();
        let server = PluginServer::bind_managed(&env, &config.provider_address, network).await?;
        write_stdout(format!("{}\n", server.handshake_line()).as_bytes())?;
        tracing::debug!(address = server.address(), "plugin handshake sent");
        server.run(provider, terminate_requested()).await?;
    }
    Ok(())
}

/// Writes and flushes at once: Terraform waits for the handshake line and
/// reads only the first line of stdout.
fn write_stdout(bytes: &[u8]) -> Result<(), TransportError> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(TransportError::Stdout)
}

/// Terraform's Ctrl-C reaches the whole process group, but the host answers
/// it by calling `StopProvider` and later `Shutdown`; like go-plugin servers,
/// we must survive the signal itself. Installing a handler replaces the
/// default "terminate" action for the rest of the process. The handler is
/// installed before returning, so there is no window before the handshake.
fn ignore_interrupts() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::interrupt()) {
            Ok(mut sigint) => {
                tokio::spawn(async move {
                    let mut count = 0u64;
                    while sigint.recv().await.is_some() {
                        count += 1;
                        tracing::trace!(
                            count,
                            "ignoring SIGINT; Terraform stops providers over gRPC"
                        );
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot ignore SIGINT; Ctrl-C may kill the provider")
            }
        }
    }
    #[cfg(not(unix))]
    tokio::spawn(async {
        while tokio::signal::ctrl_c().await.is_ok() {
            tracing::trace!("ignoring Ctrl-C; Terraform stops providers over gRPC");
        }
    });
}

/// Resolves on Ctrl-C; never, if the handler cannot be installed.
async fn ctrl_c() {
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::warn!(error = %e, "cannot listen for Ctrl-C; stop the provider another way");
        std::future::pending::<()>().await;
    }
}

/// Resolves on SIGTERM, so a polite kill still removes the socket. Terraform
/// itself never sends it (it uses Shutdown, then SIGKILL). Never resolves on
/// platforms without SIGTERM or if the handler cannot be installed.
async fn terminate_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
                tracing::debug!("SIGTERM received; shutting down");
                return;
            }
            Err(e) => tracing::warn!(error = %e, "cannot listen for SIGTERM"),
        }
    }
    std::future::pending::<()>().await;
}
