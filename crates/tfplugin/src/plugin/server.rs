//! A bound plugin server: listener, optional AutoMTLS and the gRPC services,
//! split into `bind` (so the handshake line is known) and `run`.

use std::time::Duration;

use tonic::transport::Server;
use tonic_health::ServingStatus;

use super::TransportError;
use super::env::{CLIENT_CERT_KEY, PROTOCOL_VERSIONS_KEY, PluginEnv};
use super::handshake::{HandshakeLine, check_magic_cookie, negotiate_protocol_version};
use super::incoming::incoming;
use super::listener::{Network, PluginListener};
use super::routes::Routes;
use super::services::{Broker, Controller, ShutdownSignal, Stdio};
use super::tls::{AutoMtls, auto_mtls};
use crate::proto::plugin::grpc_broker_server::GrpcBrokerServer;
use crate::proto::plugin::grpc_controller_server::GrpcControllerServer;
use crate::proto::plugin::grpc_stdio_server::GrpcStdioServer;
use crate::proto::tfplugin6::provider_server::{Provider, ProviderServer};

/// Message size cap in both directions. Terraform allows itself far more;
/// schemas and states of large configurations exceed tonic's 4 MiB default.
pub const MAX_MESSAGE_SIZE: usize = 256 * 1024 * 1024;

/// go-plugin registers its health status under this service name.
pub const HEALTH_SERVICE_NAME: &str = "plugin";

/// How long in-flight responses (the Shutdown reply itself) get to drain
/// after a shutdown request; Terraform kills us 2 s after asking anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// A listening plugin server that has not started serving yet.
pub struct PluginServer {
    listener: PluginListener,
    tls: Option<AutoMtls>,
    app_protocol_version: u32,
}

impl PluginServer {
    /// Prepares to serve a Terraform-managed process: checks the magic
    /// cookie, negotiates the protocol version, binds the listener and, when
    /// `PLUGIN_CLIENT_CERT` is set, sets up AutoMTLS pinned to that certificate.
    pub async fn bind_managed(
        env: &PluginEnv,
        provider_address: &str,
        network: Network,
    ) -> Result<Self, TransportError> {
        check_magic_cookie(env, provider_address)?;
        let app_protocol_version = negotiate_protocol_version(env.get(PROTOCOL_VERSIONS_KEY));
        let tls = match env.get(CLIENT_CERT_KEY) {
            Some(pem) => Some(auto_mtls(pem)?),
            None => {
                tracing::info!("PLUGIN_CLIENT_CERT not set; serving plaintext gRPC");
                None
            }
        };
        let listener = PluginListener::bind(network, env).await?;
        Ok(PluginServer {
            listener,
            tls,
            app_protocol_version,
        })
    }

    /// Prepares to serve in reattach (`--debug`) mode: no cookie, no TLS
    /// (Terraform never uses TLS when reattaching), protocol 6.
    pub async fn bind_debug(env: &PluginEnv, network: Network) -> Result<Self, TransportError> {
        let listener = PluginListener::bind(network, env).await?;
        Ok(PluginServer {
            listener,
            tls: None,
            app_protocol_version: 6,
        })
    }

    pub fn network(&self) -> Network {
        self.listener.network()
    }

    /// Socket path or `127.0.0.1:PORT`.
    pub fn address(&self) -> &str {
        self.listener.address()
    }

    /// The line to print on stdout for the host.
    pub fn handshake_line(&self) -> HandshakeLine {
        HandshakeLine {
            app_protocol_version: self.app_protocol_version,
            network: self.network(),
            address: self.address().to_owned(),
            server_cert_der: self.tls.as_ref().map(|t| t.server_cert_der.to_vec()),
        }
    }

    /// Serves `provider` plus go-plugin's health, controller, stdio and broker
    /// services until `GRPCController.Shutdown` is called or `stop` resolves.
    /// The listener (and its socket file) is gone when this returns.
    pub async fn run<P: Provider>(
        self,
        provider: P,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<(), TransportError> {
        let shutdown = ShutdownSignal::new();

        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_service_status(HEALTH_SERVICE_NAME, ServingStatus::Serving)
            .await;

        let provider = ProviderServer::new(provider)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);

        let (connections, accept_task) = incoming(self.listener, self.tls.map(|t| t.config));

        let routes = Routes::default()
            .add(health_service)
            .add(GrpcControllerServer::new(Controller {
                shutdown: shutdown.clone(),
            }))
            .add(GrpcStdioServer::new(Stdio {
                shutdown: shutdown.clone(),
            }))
            .add(GrpcBrokerServer::new(Broker {
                shutdown: shutdown.clone(),
            }))
            .add(provider);
        let serve =
            Server::builder().serve_with_incoming_shutdown(routes, connections, shutdown.wait());
        tokio::pin!(serve);

        let finished = tokio::select! {
            result = &mut serve => Some(result),
            () = stop => {
                shutdown.trigger();
                None
            }
            () = shutdown.wait() => None,
        };
        let result = match finished {
            Some(result) => result,
            None => match tokio::time::timeout(SHUTDOWN_GRACE, serve).await {
                Ok(result) => result,
                Err(_) => {
                    // Open streams such as health Watch; go-plugin stops hard too.
                    tracing::debug!("closing plugin connections still open after shutdown grace");
                    Ok(())
                }
            },
        };

        accept_task.abort();
        // Wait for the task so the listener is dropped and the socket removed.
        let _ = accept_task.await;
        tracing::debug!("plugin server stopped");
        result.map_err(TransportError::Serve)
    }
}
