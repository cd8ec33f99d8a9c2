//! Where a provider's signing keys come from (`docs/reference/openai-api.md#key-sources`): the
//! uploaded JWKS, or OIDC discovery (`discovery_url`, else
//! `<issuer>/.well-known/openid-configuration`, then its `jwks_uri`). Discovery results are cached
//! for 600 s; a kid missing from a cached set triggers one refresh before the token is rejected,
//! and is then remembered as missing (no more fetches for it) until the set expires. Fetches are
//! hardened against a hostile issuer (`docs/security.md`): capped body sizes and key counts, no
//! redirects, no proxy, public addresses only (checked when connecting), at most
//! [`FETCHES_PER_WINDOW`] fetches per URL a minute, and a generic error to the caller. How a fetch
//! is made and what it accepts is `openai_admin::issuer`, which the provider's
//! `openai_workload_identity_issuer` data source uses too, so the two cannot disagree.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::errors::ExchangeError;
use openai_admin::issuer::{Fetcher, discovery_document_url, find_kid};
pub use openai_admin::issuer::{parse_discovery, parse_jwks};
use openai_admin::models::{Verification, WorkloadIdentityProvider};
use openai_admin::refusal::Reason;

const CACHE_TTL: Duration = Duration::from_secs(600);
/// At most this many fetches per discovery URL in any window, so unknown
/// kids cannot turn exchanges into upstream requests.
const FETCHES_PER_WINDOW: usize = 3;
const FETCH_WINDOW: Duration = Duration::from_secs(60);
/// A kid still missing after a refresh is refused without fetching again
/// until the cached set expires; at most this many are remembered per URL.
const MAX_UNKNOWN_KIDS: usize = 256;

/// The lock one entry's fetch holds.
type FetchSlot = std::sync::Arc<tokio::sync::Mutex<()>>;

#[derive(Default)]
struct Entry {
    /// The last good key set and when it was fetched.
    keys: Option<(Instant, Vec<Json>)>,
    /// Recent fetch attempts (good or not), for the rate limit.
    fetches: VecDeque<Instant>,
    /// Kids missing from `keys`, with when that was found out.
    unknown: HashMap<String, Instant>,
}

impl Entry {
    fn fresh_keys(&self) -> Option<&[Json]> {
        self.keys
            .as_ref()
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, k)| k.as_slice())
    }

    /// Records a fetch attempt unless the window is full.
    fn may_fetch(&mut self) -> bool {
        while self
            .fetches
            .front()
            .is_some_and(|at| at.elapsed() >= FETCH_WINDOW)
        {
            self.fetches.pop_front();
        }
        if self.fetches.len() >= FETCHES_PER_WINDOW {
            return false;
        }
        self.fetches.push_back(Instant::now());
        true
    }
}

pub struct KeyCache {
    fetcher: Fetcher,
    // std mutex: only held for map access, never across an await.
    /// By discovery URL and provider issuer together: keys fetched for one
    /// issuer (whose discovery document named it) must never verify tokens
    /// of another provider that points at the same URL with another issuer.
    entries: Mutex<HashMap<(String, String), Entry>>,
    /// One fetch at a time per entry: exchanges that miss a cold cache
    /// together wait for the first one's fetch instead of each fetching
    /// (which would also spend the per-URL fetch budget on one burst).
    fetching: Mutex<HashMap<(String, String), FetchSlot>>,
}

impl KeyCache {
    /// `allow_loopback`: whether discovery may reach loopback addresses (the
    /// built-in issuer, test stand-ins).
    pub fn new(allow_loopback: bool) -> reqwest::Result<Self> {
        Ok(KeyCache {
            fetcher: Fetcher::new(allow_loopback)?,
            entries: Mutex::new(HashMap::new()),
            fetching: Mutex::new(HashMap::new()),
        })
    }

    /// The JWK with `kid` for `provider`, or why there is none.
    pub async fn find(
        &self,
        provider: &WorkloadIdentityProvider,
        kid: &str,
    ) -> Result<Json, ExchangeError> {
        match &provider.verification {
            Verification::UploadedJwks { jwks } => {
                let keys = jwks
                    .get("keys")
                    .and_then(Json::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                find_kid(keys, kid).ok_or_else(|| {
                    ExchangeError::new(
                        Reason::UnknownKid,
                        format!(
                            "no key with kid '{kid}' in the uploaded JWKS of workload identity provider '{}'",
                            provider.id
                        ),
                    )
                })
            }
            // Validation never stores one; kept total for models decoded from elsewhere.
            Verification::Unknown { kind, .. } => Err(ExchangeError::new(
                Reason::KeysUnavailable,
                format!(
                    "workload identity provider '{}' has verification type '{kind}', which the emulator cannot check",
                    provider.id
                ),
            )),
            Verification::Discovery { discovery_url } => {
                let url = discovery_document_url(&provider.issuer, discovery_url.as_deref());
                self.find_discovered(provider, &url, kid).await
            }
        }
    }

    async fn find_discovered(
        &self,
        provider: &WorkloadIdentityProvider,
        url: &str,
        kid: &str,
    ) -> Result<Json, ExchangeError> {
        let unknown_kid = || {
            ExchangeError::new(
                Reason::UnknownKid,
                format!(
                    "no key with kid '{kid}' in the JWKS of workload identity provider '{}'",
                    provider.id
                ),
            )
        };
        // The caller learns only that keys could not be had: what failed
        // (connection refused, a status, a size) would let it probe the
        // network through the emulator. The log has the detail.
        let unavailable = || {
            ExchangeError::new(
                Reason::KeysUnavailable,
                format!(
                    "could not fetch the signing keys of workload identity provider '{}' (OIDC discovery); the emulator's log has the reason",
                    provider.id
                ),
            )
        };
        let slot = self
            .fetching
            .lock()
            .expect("key fetch lock")
            .entry((url.to_owned(), provider.issuer.clone()))
            .or_default()
            .clone();
        // Held from the cache check to the end of the fetch: a caller that
        // waited here finds what the fetch before it cached.
        let _one_fetch = slot.lock().await;
        {
            let mut entries = self.entries.lock().expect("key cache lock");
            let entry = entries
                .entry((url.to_owned(), provider.issuer.clone()))
                .or_default();
            let fresh = entry.fresh_keys();
            if let Some(key) = fresh.and_then(|keys| find_kid(keys, kid)) {
                return Ok(key);
            }
            let fresh = fresh.is_some();
            let known_missing = entry
                .unknown
                .get(kid)
                .is_some_and(|at| at.elapsed() < CACHE_TTL);
            if fresh && known_missing {
                return Err(unknown_kid());
            }
            if !entry.may_fetch() {
                tracing::warn!(
                    url,
                    kid,
                    "key fetch skipped: too many fetches for this URL in the last minute"
                );
                return Err(if fresh { unknown_kid() } else { unavailable() });
            }
        }
        // Not cached, stale, or an unknown kid: fetch once more.
        let keys = match self.fetch(url, &provider.issuer).await {
            Ok(keys) => keys,
            Err(why) => {
                tracing::warn!(provider = %provider.id, url, error = %why, "could not fetch signing keys");
                return Err(unavailable());
            }
        };
        let found = find_kid(&keys, kid);
        let mut entries = self.entries.lock().expect("key cache lock");
        let entry = entries
            .entry((url.to_owned(), provider.issuer.clone()))
            .or_default();
        entry.keys = Some((Instant::now(), keys));
        entry.unknown.clear();
        found.ok_or_else(|| {
            if entry.unknown.len() < MAX_UNKNOWN_KIDS {
                entry.unknown.insert(kid.to_owned(), Instant::now());
            }
            unknown_kid()
        })
    }

    async fn fetch(&self, discovery_url: &str, issuer: &str) -> Result<Vec<Json>, String> {
        self.fetcher
            .discover(discovery_url, issuer)
            .await
            .map(|d| d.keys)
            .map_err(|e| e.to_string())
    }
}
