//! A stand-in for the SPIFFE Workload API (`--spiffe-socket PATH`): a gRPC
//! server on a unix socket that issues JWT-SVIDs from the built-in issuer,
//! so the provider's `spiffe` token source can be tested without SPIRE.
//!
//! Like a SPIRE agent it requires the `workload.spiffe.io: true` metadata on
//! every call, and issues SVIDs for one identity (`--spiffe-id`, default
//! [`DEFAULT_SPIFFE_ID`]): `sub` is that SPIFFE ID, `aud` the requested
//! audiences. A request for another SPIFFE ID is refused, as an agent
//! refuses an identity the workload is not entitled to.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use serde_json::json;
use tokio::net::UnixListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::{Request, Response, Status};

use crate::App;

/// The SPIFFE ID of the issued SVIDs when `--spiffe-id` is not given.
pub const DEFAULT_SPIFFE_ID: &str = "spiffe://example.org/ci";
/// How long an issued JWT-SVID lives.
const SVID_LIFETIME_SECONDS: i64 = 300;
const SECURITY_HEADER: &str = "workload.spiffe.io";

mod pb {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("_");
}

use pb::spiffe_workload_api_server::{SpiffeWorkloadApi, SpiffeWorkloadApiServer};

/// Signs with the built-in issuer, for the emulator's one SPIFFE ID.
struct WorkloadApi {
    app: Arc<App>,
}

#[tonic::async_trait]
impl SpiffeWorkloadApi for WorkloadApi {
    async fn fetch_jwtsvid(
        &self,
        request: Request<pb::JwtsvidRequest>,
    ) -> Result<Response<pb::JwtsvidResponse>, Status> {
        let has_header = request
            .metadata()
            .get(SECURITY_HEADER)
            .and_then(|v| v.to_str().ok())
            == Some("true");
        if !has_header {
            return Err(Status::invalid_argument(
                "security header missing from request",
            ));
        }
        let request = request.into_inner();
        if request.audience.is_empty() || request.audience.iter().any(String::is_empty) {
            return Err(Status::invalid_argument(
                "audience must be specified and not empty",
            ));
        }
        let spiffe_id = &self.app.spiffe_id;
        if !request.spiffe_id.is_empty() && request.spiffe_id != *spiffe_id {
            return Err(Status::permission_denied(format!(
                "no identity issued for {}",
                request.spiffe_id
            )));
        }
        let now = self.app.now();
        let claims = json!({
            "iss": self.app.issuer.url,
            "sub": spiffe_id,
            "aud": request.audience,
            "iat": now,
            "exp": now + SVID_LIFETIME_SECONDS,
        });
        let svid = self
            .app
            .issuer
            .key
            .sign(&claims)
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(pb::JwtsvidResponse {
            svids: vec![pb::Jwtsvid {
                spiffe_id: spiffe_id.clone(),
                svid,
                hint: String::new(),
            }],
        }))
    }
}

/// The running socket server; stops with the emulator.
pub(crate) struct SocketServer {
    pub task: JoinHandle<()>,
    path: PathBuf,
}

impl Drop for SocketServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds `path` (replacing a stale socket left by an earlier run, never any
/// other kind of file) and serves until `shutdown` turns true.
pub(crate) fn serve(
    path: &Path,
    app: Arc<App>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<SocketServer> {
    remove_stale_socket(path)?;
    let listener = UnixListener::bind(path)
        .with_context(|| format!("could not listen on the unix socket {}", path.display()))?;
    let service = SpiffeWorkloadApiServer::new(WorkloadApi { app });
    let task = tokio::spawn(async move {
        let stop = async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        };
        let served = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(UnixListenerStream::new(listener), stop)
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the SPIFFE Workload API stand-in stopped");
        }
    });
    tracing::info!(socket = %path.display(), "SPIFFE Workload API stand-in listening");
    Ok(SocketServer {
        task,
        path: path.to_owned(),
    })
}

fn remove_stale_socket(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::FileTypeExt as _;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path)
            .with_context(|| format!("could not remove the old socket {}", path.display())),
        Ok(_) => anyhow::bail!(
            "{} exists and is not a socket; choose another --spiffe-socket path",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot inspect {}", path.display())),
    }
}
