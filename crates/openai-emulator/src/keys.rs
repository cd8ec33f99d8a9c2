//! Where a provider's signing keys come from (`docs/reference/openai-api.md#key-sources`): the
//! uploaded JWKS, or OIDC discovery (`discovery_url`, else
//! `<issuer>/.well-known/openid-configuration`, then its `jwks_uri`). Discovery results are cached
//! for 600 s; a kid missing from a cached set triggers one refresh before the token is rejected.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::errors::ExchangeError;
use openai_admin::models::{Verification, WorkloadIdentityProvider};
use openai_admin::refusal::Reason;

const CACHE_TTL: Duration = Duration::from_secs(600);
const WELL_KNOWN: &str = "/.well-known/openid-configuration";

struct Cached {
    fetched: Instant,
    keys: Vec<Json>,
}

pub struct KeyCache {
    http: reqwest::Client,
    // std mutex: only held for map access, never across an await.
    entries: Mutex<HashMap<String, Cached>>,
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

impl KeyCache {
    pub fn new(http: reqwest::Client) -> Self {
        KeyCache {
            http,
            entries: Mutex::new(HashMap::new()),
        }
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
                let cached = {
                    let entries = self.entries.lock().expect("key cache lock");
                    entries
                        .get(&url)
                        .filter(|c| c.fetched.elapsed() < CACHE_TTL)
                        .map(|c| c.keys.clone())
                };
                if let Some(key) = cached.as_deref().and_then(|keys| find_kid(keys, kid)) {
                    return Ok(key);
                }
                // Not cached, stale, or an unknown kid: fetch once more.
                let keys = self.fetch(&url).await?;
                let found = find_kid(&keys, kid);
                self.entries.lock().expect("key cache lock").insert(
                    url.clone(),
                    Cached {
                        fetched: Instant::now(),
                        keys,
                    },
                );
                found.ok_or_else(|| {
                    ExchangeError::new(
                        Reason::UnknownKid,
                        format!("no key with kid '{kid}' in the JWKS published through {url}"),
                    )
                })
            }
        }
    }

    async fn get_json(&self, url: &str, what: &str) -> Result<Json, ExchangeError> {
        let fail = |why: String| {
            ExchangeError::new(
                Reason::KeysUnavailable,
                format!(
                    "could not fetch the {what} from {url}: {why}; check the provider's issuer or discovery_url"
                ),
            )
        };
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !response.status().is_success() {
            return Err(fail(format!("HTTP {}", response.status())));
        }
        response
            .json::<Json>()
            .await
            .map_err(|e| fail(format!("invalid JSON ({e})")))
    }

    async fn fetch(&self, discovery_url: &str) -> Result<Vec<Json>, ExchangeError> {
        let doc = self
            .get_json(discovery_url, "OIDC discovery document")
            .await?;
        let Some(jwks_uri) = doc.get("jwks_uri").and_then(Json::as_str) else {
            return Err(ExchangeError::new(
                Reason::KeysUnavailable,
                format!("the OIDC discovery document at {discovery_url} has no 'jwks_uri'"),
            ));
        };
        let jwks = self.get_json(jwks_uri, "JWKS").await?;
        match jwks.get("keys").and_then(Json::as_array) {
            Some(keys) => Ok(keys.clone()),
            None => Err(ExchangeError::new(
                Reason::KeysUnavailable,
                format!("the JWKS at {jwks_uri} has no 'keys' array"),
            )),
        }
    }
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
