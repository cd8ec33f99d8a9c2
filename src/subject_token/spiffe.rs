//! SPIFFE: a JWT-SVID for the audience from the SPIFFE Workload API (for
//! example a SPIRE agent), reached on the socket that
//! `SPIFFE_ENDPOINT_SOCKET` names (`unix:///path` or `tcp://host:port`),
//! through the maintained `spiffe` crate, which adds the
//! `workload.spiffe.io: true` metadata the API requires.

use std::time::Duration;

use spiffe::{SpiffeId, WorkloadApiClient};

use super::{Env, FetchError, require};
use openai_admin::secret::Secret;

pub(crate) const ENV_ENDPOINT_SOCKET: &str = "SPIFFE_ENDPOINT_SOCKET";
const WHAT: &str = "SPIFFE Workload API";

/// Whether `id` is a SPIFFE ID (`spiffe://TRUST_DOMAIN/PATH`), and why not.
pub(crate) fn check_spiffe_id(id: &str) -> Result<(), String> {
    SpiffeId::new(id).map(|_| ()).map_err(|e| {
        format!("{id:?} is not a SPIFFE ID ({e}); it looks like spiffe://example.org/ci.")
    })
}

/// Fetches a JWT-SVID for `audience`; of `spiffe_id` when given, otherwise
/// the workload's default identity.
pub(super) async fn jwt_svid(
    env: Env<'_>,
    audience: &str,
    spiffe_id: Option<&str>,
    timeout: Duration,
) -> Result<Secret, FetchError> {
    let endpoint = require(
        env,
        ENV_ENDPOINT_SOCKET,
        "it names the Workload API socket (e.g. unix:///run/spire/agent/public/api.sock); \
         the SPIRE agent's workload attestor or the platform sets it",
    )?;
    let id = spiffe_id
        .map(SpiffeId::new)
        .transpose()
        .map_err(|e| FetchError::BadSpiffeId {
            id: spiffe_id.unwrap_or_default().to_owned(),
            reason: e.to_string(),
        })?;
    let unreachable = |detail: String| FetchError::Transport {
        what: WHAT,
        url: endpoint.clone(),
        detail,
        hint: "check that the SPIRE agent (or other Workload API server) is running and that \
               this workload may use its socket",
    };
    let timed_out = || unreachable(format!("no answer within {}s", timeout.as_secs()));

    let client = tokio::time::timeout(timeout, WorkloadApiClient::connect_to(&endpoint))
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| unreachable(e.to_string()))?;
    let svid = tokio::time::timeout(timeout, client.fetch_jwt_token([audience], id.as_ref()))
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| FetchError::Refused {
            what: WHAT,
            url: endpoint.clone(),
            detail: match &id {
                Some(id) => format!("{e} (asked for {id})"),
                None => e.to_string(),
            },
            hint: "check that a registration entry matches this workload (and spiffe_id, when \
                   set, names an identity it is entitled to)",
        })?;
    Ok(Secret::new(svid.trim()))
}
