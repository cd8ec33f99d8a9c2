//! go-plugin's housekeeping gRPC services, which every plugin server carries
//! next to `tfplugin6.Provider`: controller (shutdown), stdio and broker.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::{Stream, StreamExt, stream};
use tokio::sync::watch;
use tonic::{Request, Response, Status, Streaming};

use crate::proto::plugin::grpc_broker_server::GrpcBroker;
use crate::proto::plugin::grpc_controller_server::GrpcController;
use crate::proto::plugin::grpc_stdio_server::GrpcStdio;
use crate::proto::plugin::{ConnInfo, Empty, StdioData};

/// Process-wide "stop serving" flag, set by `GRPCController.Shutdown`, Ctrl-C
/// in debug mode, or the caller. Long-lived streams end when it is set, so
/// the gRPC server's graceful shutdown does not wait on them.
#[derive(Clone, Debug)]
pub(crate) struct ShutdownSignal(Arc<watch::Sender<bool>>);

impl ShutdownSignal {
    pub(crate) fn new() -> Self {
        ShutdownSignal(Arc::new(watch::channel(false).0))
    }

    pub(crate) fn trigger(&self) {
        self.0.send_replace(true);
    }

    /// Resolves once [`trigger`](Self::trigger) has been called (immediately if it was).
    pub(crate) fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.0.subscribe();
        async move {
            // Err means the sender is gone, which cannot happen while `self` exists;
            // treat it as a shutdown anyway.
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }
}

/// `plugin.GRPCController`: Terraform calls `Shutdown` when done with us.
pub(crate) struct Controller {
    pub(crate) shutdown: ShutdownSignal,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::debug!("plugin host requested shutdown");
        self.shutdown.trigger();
        Ok(Response::new(Empty {}))
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// A stream that yields nothing and ends when `until` resolves.
fn idle_stream<T: Send + 'static>(
    until: impl Future<Output = ()> + Send + 'static,
) -> BoxStream<T> {
    Box::pin(stream::once(until).filter_map(|()| async { None }))
}

/// `plugin.GRPCStdio`: go-plugin would forward the plugin's stdout/stderr
/// here. Our logs go to stderr directly (Terraform reads that pipe), so the
/// stream stays open and silent until shutdown.
pub(crate) struct Stdio {
    pub(crate) shutdown: ShutdownSignal,
}

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream = BoxStream<StdioData>;

    async fn stream_stdio(
        &self,
        _: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(idle_stream(self.shutdown.wait())))
    }
}

/// `plugin.GRPCBroker`: brokers extra connections between host and plugin.
/// Terraform providers never use it; the host still opens the stream, so we
/// accept it, ignore what arrives, and close it when the host does or at shutdown.
pub(crate) struct Broker {
    pub(crate) shutdown: ShutdownSignal,
}

#[tonic::async_trait]
impl GrpcBroker for Broker {
    type StartStreamStream = BoxStream<ConnInfo>;

    async fn start_stream(
        &self,
        request: Request<Streaming<ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        let mut inbound = request.into_inner();
        let shutdown = self.shutdown.wait();
        let until = async move {
            let drain = async {
                while let Some(Ok(info)) = inbound.next().await {
                    tracing::debug!(service_id = info.service_id, "ignoring broker message");
                }
            };
            tokio::select! {
                () = drain => {}
                () = shutdown => {}
            }
        };
        Ok(Response::new(idle_stream(until)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shutdown_rpc_triggers_the_signal() {
        let signal = ShutdownSignal::new();
        let controller = Controller {
            shutdown: signal.clone(),
        };
        controller.shutdown(Request::new(Empty {})).await.unwrap();
        // Would hang (and the test time out) if the flag were not set.
        signal.wait().await;
    }

    #[tokio::test]
    async fn stdio_stream_ends_without_data_at_shutdown() {
        let signal = ShutdownSignal::new();
        let stdio = Stdio {
            shutdown: signal.clone(),
        };
        let mut stream = stdio
            .stream_stdio(Request::new(()))
            .await
            .unwrap()
            .into_inner();
        signal.trigger();
        assert!(stream.next().await.is_none());
    }
}
