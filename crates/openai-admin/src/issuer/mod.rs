//! Fetching and judging an OIDC issuer's keys the way OpenAI will: shared by
//! the emulator's token exchange (`openai-emulator`'s `keys.rs`, `oauth.rs`)
//! and the provider's `openai_workload_identity_issuer` data source, so the
//! two cannot disagree (`docs/reference/openai-api.md#key-sources`).
//!
//! - Where from: the discovery document at `discovery_url` (a base URL or
//!   the full well-known URL) or `<issuer>/.well-known/openid-configuration`,
//!   then its `jwks_uri`. https only (http only to loopback), no
//!   credentials in the URL, no redirects, no proxy, public addresses only
//!   ([`netguard`], checked when connecting), capped bodies and key counts.
//! - The document's `issuer` must be the configured issuer, a trailing slash
//!   aside ([`same_issuer`], documented by OpenAI).
//! - Which keys verify ([`key_problem`]): RSA keys of at least
//!   [`MIN_RSA_BITS`] bits with an odd public exponent of 3 or more, EC keys
//!   on P-256 or P-384, Ed25519 (OKP) keys, for the algorithms in
//!   [`SUPPORTED_ALGS`]; never a key
//!   whose `use` is not `sig`.

pub mod netguard;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::Value as Json;

pub const WELL_KNOWN: &str = "/.well-known/openid-configuration";
/// Bodies past these sizes are cut off while streaming and refused: nothing
/// larger is ever buffered (real discovery documents are a few KiB, JWKS a
/// few keys).
pub const MAX_DISCOVERY_BYTES: usize = 64 * 1024;
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// At most this many keys in a fetched JWKS.
pub const MAX_KEYS: usize = 64;
/// RSA keys shorter than this verify nothing.
pub const MIN_RSA_BITS: usize = 2048;
/// The signing algorithms a subject token may use.
pub const SUPPORTED_ALGS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];
/// How long one fetch may take, and its connection.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The discovery document URL for a provider using discovery.
pub fn discovery_document_url(issuer: &str, discovery_url: Option<&str>) -> String {
    let base = discovery_url.unwrap_or(issuer).trim_end_matches('/');
    if base.ends_with(WELL_KNOWN) {
        base.to_owned()
    } else {
        format!("{base}{WELL_KNOWN}")
    }
}

/// Equal, or equal but for one trailing slash on either side (issuers are
/// written both ways); `https://i//` is not `https://i`.
pub fn same_issuer(a: &str, b: &str) -> bool {
    a.strip_suffix('/').unwrap_or(a) == b.strip_suffix('/').unwrap_or(b)
}

/// Whether keys may be fetched from `url`: http(s), no credentials, https
/// unless the host is loopback, and (for an IP literal, which no resolver
/// sees) an allowed address. Host names are checked by
/// [`netguard::GuardedResolver`] when connecting.
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

/// What is wrong with a discovery document.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryProblem {
    #[error("invalid JSON ({0})")]
    InvalidJson(String),
    #[error("it has no 'issuer'")]
    NoIssuer,
    #[error("its issuer {found:?} is not the provider's issuer {expected:?}")]
    IssuerMismatch { found: String, expected: String },
    #[error("it has no 'jwks_uri'")]
    NoJwksUri,
    #[error("its jwks_uri: {0}")]
    BadJwksUri(String),
}

/// Reads a discovery document: its `issuer` must be `issuer`, its `jwks_uri`
/// a URL keys may be fetched from.
pub fn parse_discovery(
    body: &[u8],
    issuer: &str,
    allow_loopback: bool,
) -> Result<url::Url, DiscoveryProblem> {
    let doc: Json =
        serde_json::from_slice(body).map_err(|e| DiscoveryProblem::InvalidJson(e.to_string()))?;
    match doc.get("issuer").and_then(Json::as_str) {
        Some(found) if same_issuer(found, issuer) => {}
        Some(found) => {
            return Err(DiscoveryProblem::IssuerMismatch {
                found: found.to_owned(),
                expected: issuer.to_owned(),
            });
        }
        None => return Err(DiscoveryProblem::NoIssuer),
    }
    let jwks_uri = doc
        .get("jwks_uri")
        .and_then(Json::as_str)
        .ok_or(DiscoveryProblem::NoJwksUri)?;
    check_fetch_url(jwks_uri, allow_loopback).map_err(DiscoveryProblem::BadJwksUri)
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
            "it has {} keys, more than the {MAX_KEYS} that are read",
            jwks.keys.len()
        ));
    }
    Ok(jwks.keys.into_iter().map(Json::Object).collect())
}

/// The key with `kid` in `keys`.
pub fn find_kid(keys: &[Json], kid: &str) -> Option<Json> {
    keys.iter()
        .find(|k| k.get("kid").and_then(Json::as_str) == Some(kid))
        .cloned()
}

fn text<'a>(jwk: &'a Json, member: &str) -> Option<&'a str> {
    jwk.get(member).and_then(Json::as_str)
}

/// Why an RSA JWK's public exponent `e` is unfit, when it is: below 3, or
/// even (such keys verify forged signatures or none at all).
pub fn rsa_exponent_problem(jwk: &Json) -> Option<String> {
    if text(jwk, "kty") != Some("RSA") {
        return None;
    }
    let e = text(jwk, "e")?;
    let bytes = B64.decode(e.trim_end_matches('=')).ok()?;
    let digits: Vec<u8> = bytes.into_iter().skip_while(|&b| b == 0).collect();
    let small = digits.len() <= 1 && digits.first().copied().unwrap_or(0) < 3;
    let even = digits.last().is_none_or(|b| b % 2 == 0);
    (small || even)
        .then(|| "its public exponent 'e' is below 3 or even; use 65537 (\"AQAB\")".to_owned())
}

/// The size of an RSA JWK's modulus `n`, when it is one.
pub fn rsa_modulus_bits(jwk: &Json) -> Option<usize> {
    if text(jwk, "kty") != Some("RSA") {
        return None;
    }
    let n = B64.decode(text(jwk, "n")?.trim_end_matches('=')).ok()?;
    let first = n.iter().position(|&b| b != 0)?;
    Some((n.len() - first) * 8 - n[first].leading_zeros() as usize)
}

/// The size in bits of a JWK's key: the RSA modulus, or the EC curve's.
pub fn key_bits(jwk: &Json) -> Option<usize> {
    match text(jwk, "kty")? {
        "RSA" => rsa_modulus_bits(jwk),
        "EC" => match text(jwk, "crv")? {
            "P-256" => Some(256),
            "P-384" => Some(384),
            "P-521" => Some(521),
            _ => None,
        },
        _ => None,
    }
}

/// Why OpenAI cannot verify a token with this JWK, or `None` when it can.
pub fn key_problem(jwk: &Json) -> Option<String> {
    // An encryption key must never verify a signature (RFC 7517 section 4.2).
    if let Some(usage) = jwk.get("use")
        && usage.as_str() != Some("sig")
    {
        return Some(format!(
            "its \"use\" is {usage}, not \"sig\": it is not a signing key"
        ));
    }
    if let Some(alg) = text(jwk, "alg")
        && !SUPPORTED_ALGS.contains(&alg)
    {
        return Some(format!(
            "its alg {alg} is not supported; use one of {}",
            SUPPORTED_ALGS.join(", ")
        ));
    }
    match text(jwk, "kty") {
        Some("RSA") => {
            if let Some(problem) = rsa_exponent_problem(jwk) {
                return Some(problem);
            }
            match rsa_modulus_bits(jwk) {
                Some(bits) if bits < MIN_RSA_BITS => Some(format!(
                    "it is a {bits}-bit RSA key; use one of at least {MIN_RSA_BITS} bits"
                )),
                Some(_) => None,
                None => Some("it has no valid modulus 'n'".to_owned()),
            }
        }
        Some("EC") => match text(jwk, "crv") {
            Some("P-256" | "P-384") => None,
            Some(crv) => Some(format!(
                "it is an EC key on {crv}; only P-256 (ES256) and P-384 (ES384) are supported"
            )),
            None => Some("it is an EC key without a 'crv'".to_owned()),
        },
        Some("OKP") => match text(jwk, "crv") {
            Some("Ed25519") => None,
            Some(crv) => Some(format!(
                "it is an OKP key on {crv}; only Ed25519 (EdDSA) is supported"
            )),
            None => Some("it is an OKP key without a 'crv'".to_owned()),
        },
        Some(kty) => Some(format!(
            "its kty is {kty:?}; only RSA, EC and Ed25519 (OKP) public keys verify subject \
             tokens"
        )),
        None => Some("it has no 'kty'".to_owned()),
    }
}

/// The body of `response`, refused as soon as it passes `cap` bytes, so a
/// huge or endless body is never held in memory.
async fn read_capped(response: reqwest::Response, cap: usize) -> Result<Vec<u8>, String> {
    crate::body::read_limited(response, cap)
        .await
        .map_err(|e| match e {
            crate::body::BodyError::TooLarge(_) => format!("the body is larger than {cap} bytes"),
            crate::body::BodyError::Transport(e) => e.to_string(),
        })
}

/// What a discovery fetch found wrong, by the step that failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The discovery URL itself may not be fetched (scheme, host, address).
    #[error("discovery URL {url}: {why}")]
    DiscoveryUrl { url: String, why: String },
    /// The discovery document could not be fetched.
    #[error("{why}")]
    DiscoveryFetch { url: String, why: String },
    /// The document was fetched but is wrong.
    #[error("the discovery document at {url}: {problem}")]
    Discovery {
        url: String,
        problem: DiscoveryProblem,
    },
    /// The JWKS could not be fetched or read.
    #[error("{why}")]
    Jwks { url: String, why: String },
}

/// A discovered key set.
#[derive(Clone, Debug, PartialEq)]
pub struct Discovered {
    pub jwks_uri: url::Url,
    pub keys: Vec<Json>,
}

/// The hardened HTTP client key fetches use.
#[derive(Clone)]
pub struct Fetcher {
    http: reqwest::Client,
    allow_loopback: bool,
}

impl Fetcher {
    /// `allow_loopback`: whether fetches may reach loopback addresses (the
    /// emulator's built-in issuer, test stand-ins). OpenAI's never do.
    pub fn new(allow_loopback: bool) -> reqwest::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            // A redirect could lead anywhere; a proxy would connect for us,
            // past the address check.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(netguard::GuardedResolver::shared(allow_loopback))
            .build()?;
        Ok(Fetcher {
            http,
            allow_loopback,
        })
    }

    pub fn allows_loopback(&self) -> bool {
        self.allow_loopback
    }

    /// A GET of at most `cap` bytes that must answer 2xx.
    pub async fn get(&self, url: url::Url, cap: usize) -> Result<Vec<u8>, String> {
        let response = self
            .http
            .get(url.clone())
            .send()
            .await
            .map_err(|e| format!("GET {url}: {}", crate::error::chain(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("GET {url}: HTTP {status}"));
        }
        read_capped(response, cap)
            .await
            .map_err(|e| format!("GET {url}: {e}"))
    }

    /// The discovery document at `discovery_url` for `issuer`, then its JWKS.
    pub async fn discover(
        &self,
        discovery_url: &str,
        issuer: &str,
    ) -> Result<Discovered, FetchError> {
        let url = check_fetch_url(discovery_url, self.allow_loopback).map_err(|why| {
            FetchError::DiscoveryUrl {
                url: discovery_url.to_owned(),
                why,
            }
        })?;
        let doc =
            self.get(url, MAX_DISCOVERY_BYTES)
                .await
                .map_err(|why| FetchError::DiscoveryFetch {
                    url: discovery_url.to_owned(),
                    why,
                })?;
        let jwks_uri = parse_discovery(&doc, issuer, self.allow_loopback).map_err(|problem| {
            FetchError::Discovery {
                url: discovery_url.to_owned(),
                problem,
            }
        })?;
        let jwks = self
            .get(jwks_uri.clone(), MAX_JWKS_BYTES)
            .await
            .map_err(|why| FetchError::Jwks {
                url: jwks_uri.to_string(),
                why,
            })?;
        let keys = parse_jwks(&jwks).map_err(|e| FetchError::Jwks {
            url: jwks_uri.to_string(),
            why: format!("the JWKS at {jwks_uri}: {e}"),
        })?;
        Ok(Discovered { jwks_uri, keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn issuers_equal_but_for_one_trailing_slash() {
        assert!(same_issuer("https://i", "https://i/"));
        assert!(same_issuer("https://i/", "https://i/"));
        assert!(!same_issuer("https://i//", "https://i"));
        assert!(!same_issuer("https://i/a", "https://i"));
    }

    #[test]
    fn which_keys_verify() {
        let rsa = |n: &[u8], e: &str| json!({"kty": "RSA", "n": B64.encode(n), "e": e});
        let mut big = vec![0x80];
        big.extend([0x11; 255]);
        assert_eq!(key_problem(&rsa(&big, "AQAB")), None);
        assert_eq!(key_bits(&rsa(&big, "AQAB")), Some(2048));
        assert!(
            key_problem(&rsa(&[0x80; 128], "AQAB"))
                .unwrap()
                .contains("1024-bit")
        );
        assert!(key_problem(&rsa(&big, "AQ")).unwrap().contains("exponent"));
        let mut enc = rsa(&big, "AQAB");
        enc["use"] = json!("enc");
        assert!(key_problem(&enc).unwrap().contains("not a signing key"));
        let mut hs = rsa(&big, "AQAB");
        hs["alg"] = json!("HS256");
        assert!(key_problem(&hs).unwrap().contains("HS256"));
        assert_eq!(key_problem(&json!({"kty": "EC", "crv": "P-256"})), None);
        assert!(
            key_problem(&json!({"kty": "EC", "crv": "P-521"}))
                .unwrap()
                .contains("P-521")
        );
        assert!(
            key_problem(&json!({"kty": "oct", "k": "c2VjcmV0"}))
                .unwrap()
                .contains("oct")
        );
        // Ed25519 verifies EdDSA tokens (OpenAI's SDK lists EdDSA); X25519
        // is a key-agreement curve.
        assert_eq!(key_problem(&json!({"kty": "OKP", "crv": "Ed25519"})), None);
        assert!(
            key_problem(&json!({"kty": "OKP", "crv": "X25519"}))
                .unwrap()
                .contains("X25519")
        );
    }

    #[test]
    fn discovery_documents_are_judged_by_issuer_and_jwks_uri() {
        let doc = |v: Json| serde_json::to_vec(&v).unwrap();
        let ok =
            doc(json!({"issuer": "https://i.example.com/", "jwks_uri": "https://i.example.com/k"}));
        assert!(parse_discovery(&ok, "https://i.example.com", false).is_ok());
        let other = doc(
            json!({"issuer": "https://evil.example.com", "jwks_uri": "https://i.example.com/k"}),
        );
        assert!(matches!(
            parse_discovery(&other, "https://i.example.com", false),
            Err(DiscoveryProblem::IssuerMismatch { .. })
        ));
        let private =
            doc(json!({"issuer": "https://i.example.com", "jwks_uri": "https://10.0.0.1/k"}));
        assert!(matches!(
            parse_discovery(&private, "https://i.example.com", false),
            Err(DiscoveryProblem::BadJwksUri(_))
        ));
        assert!(check_fetch_url("http://i.example.com/x", false).is_err());
        assert!(check_fetch_url("https://169.254.169.254/x", false).is_err());
        assert!(check_fetch_url("https://user:pw@i.example.com/x", false).is_err());
    }
}
