//! Where a provider's signing keys come from (`docs/reference/openai-api.md#key-sources`): the
//! uploaded JWKS, or OIDC discovery (`discovery_url`, else
//! `<issuer>/.well-known/openid-configuration`, then its `jwks_uri`). Discovery results are cached
//! for 600 s; a kid missing from a cached set triggers one refresh before the token is rejected,
//! and is then remembered as missing (no more fetches for it) until the set expires. Fetches are
//! hardened against a hostile issuer (`docs/security.md`): capped body sizes and key counts, no
//! redirects, no proxy, public addresses only (checked when connecting), at most
//! [`FETCHES_PER_WINDOW`] fetches per URL a minute, and a generic error to the caller.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::errors::ExchangeError;
use super::netguard;
use openai_admin::models::{Verification, WorkloadIdentityProvider};
use openai_admin::refusal::Reason;

const CACHE_TTL: Duration = Duration::from_secs(600);
const WELL_KNOWN: &str = "/.well-known/openid-configuration";
/// Bodies past these sizes are cut off while streaming and refused: nothing
/// larger is ever buffered (real discovery documents are a few KiB, JWKS a
/// few keys).
pub const MAX_DISCOVERY_BYTES: usize = 64 * 1024;
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// At most this many keys in a fetched JWKS.
pub const MAX_KEYS: usize = 64;
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
    http: reqwest::Client,
    allow_loopback: bool,
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

/// The discovery document URL for a provider using discovery.
pub fn discovery_document_url(issuer: &str, discovery_url: Option<&str>) -> String {
    // A custom URL may be the base URL or the full well-known URL
    // (`docs/reference/openai-api.md#key-sources`).
    let base = discovery_url.unwrap_or(issuer).trim_end_matches('/');
    if base.ends_with(WELL_KNOWN) {
        base.to_owned()
    } else {
        format!("{base}{WELL_KNOWN}")
    }
}

fn find_kid(keys: &[Json], kid: &str) -> Option<Json> {
    keys.iter()
        .find(|k| k.get("kid").and_then(Json::as_str) == Some(kid))
        .cloned()
}

use crate::oauth::same_issuer;

/// Whether the emulator may fetch from `url`: http(s), no credentials, and
/// (for an IP literal, which no resolver sees) an allowed address. Host
/// names are checked by [`netguard::GuardedResolver`] when connecting.
pub fn check_fetch_url(raw: &str, allow_loopback: bool) -> Result<url::Url, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL contains credentials".into());
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(_) => netguard::literal_ip(&url).is_some_and(|ip| ip.is_loopback()),
        None => return Err("the URL has no host".into()),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        other => return Err(format!("the scheme {other:?} is not https")),
    }
    if let Some(ip) = netguard::literal_ip(&url) {
        netguard::allowed(ip, allow_loopback).map_err(|why| format!("the host is {why}"))?;
    }
    Ok(url)
}

/// Reads a discovery document: its `issuer` must be the provider's, its
/// `jwks_uri` a URL the emulator may fetch.
pub fn parse_discovery(
    body: &[u8],
    issuer: &str,
    allow_loopback: bool,
) -> Result<url::Url, String> {
    let doc: Json = serde_json::from_slice(body).map_err(|e| format!("invalid JSON ({e})"))?;
    match doc.get("issuer").and_then(Json::as_str) {
        Some(found) if same_issuer(found, issuer) => {}
        Some(found) => {
            return Err(format!(
                "its issuer {found:?} is not the provider's issuer {issuer:?}"
            ));
        }
        None => return Err("it has no 'issuer'".into()),
    }
    let jwks_uri = doc
        .get("jwks_uri")
        .and_then(Json::as_str)
        .ok_or("it has no 'jwks_uri'")?;
    check_fetch_url(jwks_uri, allow_loopback).map_err(|e| format!("its jwks_uri: {e}"))
}

/// Reads a JWKS: a `keys` array of at most [`MAX_KEYS`] objects.
pub fn parse_jwks(body: &[u8]) -> Result<Vec<Json>, String> {
    #[derive(serde::Deserialize)]
    struct Jwks {
        keys: Vec<serde_json::Map<String, Json>>,
    }
    let jwks: Jwks = serde_json::from_slice(body)
        .map_err(|e| format!("not a JWKS with a 'keys' array ({e})"))?;
    if jwks.keys.len() > MAX_KEYS {
        return Err(format!(
            "it has {} keys, more than the {MAX_KEYS} the emulator reads",
            jwks.keys.len()
        ));
    }
    Ok(jwks.keys.into_iter().map(Json::Object).collect())
}

/// The body of `response`, refused as soon as it passes `cap` bytes, so a
/// huge or endless body is never held in memory.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, String> {
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(format!("the body is larger than {cap} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > cap {
            return Err(format!("the body is larger than {cap} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl KeyCache {
    /// `allow_loopback`: whether discovery may reach loopback addresses (the
    /// built-in issuer, test stand-ins).
    pub fn new(allow_loopback: bool) -> reqwest::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            // A redirect could lead anywhere; a proxy would connect for us,
            // past the address check.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(netguard::GuardedResolver::shared(allow_loopback))
            .build()?;
        Ok(KeyCache {
            http,
            allow_loopback,
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

    async fn get(&self, url: url::Url, cap: usize) -> Result<Vec<u8>, String> {
        let response = self
            .http
            .get(url.clone())
            .send()
            .await
            .map_err(|e| format!("GET {url}: {}", error_chain(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("GET {url}: HTTP {status}"));
        }
        read_capped(response, cap)
            .await
            .map_err(|e| format!("GET {url}: {e}"))
    }

    async fn fetch(&self, discovery_url: &str, issuer: &str) -> Result<Vec<Json>, String> {
        let url = check_fetch_url(discovery_url, self.allow_loopback)
            .map_err(|e| format!("discovery URL {discovery_url}: {e}"))?;
        let doc = self.get(url, MAX_DISCOVERY_BYTES).await?;
        let jwks_uri = parse_discovery(&doc, issuer, self.allow_loopback)
            .map_err(|e| format!("the discovery document at {discovery_url}: {e}"))?;
        let jwks = self.get(jwks_uri.clone(), MAX_JWKS_BYTES).await?;
        parse_jwks(&jwks).map_err(|e| format!("the JWKS at {jwks_uri}: {e}"))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_url_forms() {
        assert_eq!(
            discovery_document_url("https://iss.example.com/", None),
            "https://iss.example.com/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_document_url("x", Some("https://d.example.com/base")),
            "https://d.example.com/base/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_document_url(
                "x",
                Some("https://d.example.com/.well-known/openid-configuration")
            ),
            "https://d.example.com/.well-known/openid-configuration"
        );
    }
}
