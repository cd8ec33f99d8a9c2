//! Dispatch of gRPC requests to go-plugin's services by service name.
//!
//! A gRPC path is `/<package.Service>/<Method>`, so the first segment picks
//! the service. tonic's own multi-service router is built on axum; this is
//! all the plugin needs and keeps a web framework out of every provider.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::server::NamedService;
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceExt as _};

type HttpRequest = http::Request<Body>;
type HttpResponse = http::Response<Body>;
type Route = BoxCloneSyncService<HttpRequest, HttpResponse, Infallible>;

/// A set of gRPC services, each reached by its fully qualified name.
#[derive(Clone, Default)]
pub struct Routes {
    routes: Arc<Vec<(&'static str, Route)>>,
}

impl Routes {
    /// Adds a generated tonic server (anything with a [`NamedService::NAME`]).
    pub fn add<S>(mut self, service: S) -> Self
    where
        S: Service<HttpRequest, Response = HttpResponse, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        Arc::make_mut(&mut self.routes).push((S::NAME, BoxCloneSyncService::new(service)));
        self
    }

    fn route(&self, path: &str) -> Option<&Route> {
        let name = path.strip_prefix('/')?.split('/').next()?;
        self.routes.iter().find(|(n, _)| *n == name).map(|(_, r)| r)
    }
}

impl Service<HttpRequest> for Routes {
    type Response = HttpResponse;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Each route is made ready when a request is handed to it.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: HttpRequest) -> Self::Future {
        match self.route(request.uri().path()) {
            Some(route) => Box::pin(route.clone().oneshot(request)),
            None => {
                let status = tonic::Status::unimplemented(format!(
                    "no gRPC service serves {}",
                    request.uri().path()
                ));
                Box::pin(async move { Ok(status.into_http()) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str) -> HttpRequest {
        http::Request::builder()
            .uri(path)
            .header("content-type", "application/grpc")
            .body(Body::empty())
            .unwrap()
    }

    fn grpc_status(response: &HttpResponse) -> Option<&str> {
        response.headers().get("grpc-status")?.to_str().ok()
    }

    #[tokio::test]
    async fn unknown_services_are_unimplemented_and_known_ones_are_reached() {
        let (_reporter, health) = tonic_health::server::health_reporter();
        let routes = Routes::default().add(health);

        let unknown = routes
            .clone()
            .oneshot(request("/no.Such/Method"))
            .await
            .unwrap();
        assert_eq!(grpc_status(&unknown), Some("12"), "UNIMPLEMENTED");
        let garbage = routes.clone().oneshot(request("/")).await.unwrap();
        assert_eq!(grpc_status(&garbage), Some("12"));

        // The health service itself answers (a bodiless call is its error to
        // report, not the router's UNIMPLEMENTED).
        let health = routes
            .oneshot(request("/grpc.health.v1.Health/Check"))
            .await
            .unwrap();
        assert_ne!(grpc_status(&health), Some("12"));
    }
}
