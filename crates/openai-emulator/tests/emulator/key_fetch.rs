//! OIDC discovery and JWKS fetching against a hostile issuer: bodies are
//! capped while streaming, unknown kids cannot multiply upstream requests,
//! redirects are not followed, the discovery document's issuer must be the
//! provider's, loopback is reached only when allowed, and the caller gets no
//! upstream detail.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use openai_emulator::EmulatorConfig;
use openai_emulator::oidc::SigningKey;
use serde_json::json;

use crate::support::{ADMIN_KEY, Emu, assert_refused, now};

const AUD: &str = "https://api.openai.com/v1";

#[derive(Default)]
struct Hits {
    discovery: AtomicUsize,
    keys: AtomicUsize,
    elsewhere: AtomicUsize,
    /// Bytes of the keys body the server has produced so far.
    keys_bytes: AtomicUsize,
}

impl Hits {
    fn keys(&self) -> usize {
        self.keys.load(Ordering::SeqCst)
    }
}

/// How the stand-in issuer misbehaves.
#[derive(Clone, Copy)]
enum Issuer {
    /// Serves this JWKS honestly.
    Honest,
    /// A JWKS of about 20 MB, streamed without a length.
    HugeJwks,
    /// Discovery answers with a redirect to a good document elsewhere.
    Redirect,
    /// The discovery document names another issuer.
    NamesAnother,
}

/// Starts the stand-in on loopback; returns its URL (with `host` as the
/// host name) and its counters.
async fn issuer(kind: Issuer, key: Arc<SigningKey>, host: &str) -> (String, Arc<Hits>) {
    let hits = Arc::new(Hits::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{host}:{}", listener.local_addr().unwrap().port());
    let doc = {
        let (url, hits) = (url.clone(), hits.clone());
        move || {
            let (url, hits) = (url.clone(), hits.clone());
            async move {
                hits.discovery.fetch_add(1, Ordering::SeqCst);
                match kind {
                    Issuer::Redirect => (
                        StatusCode::FOUND,
                        [(header::LOCATION, format!("{url}/elsewhere"))],
                    )
                        .into_response(),
                    Issuer::NamesAnother => axum::Json(
                        json!({"issuer": "https://other.example.com", "jwks_uri": format!("{url}/keys")}),
                    )
                    .into_response(),
                    _ => axum::Json(json!({"issuer": url, "jwks_uri": format!("{url}/keys")}))
                        .into_response(),
                }
            }
        }
    };
    let elsewhere = {
        let (url, hits) = (url.clone(), hits.clone());
        move || {
            let (url, hits) = (url.clone(), hits.clone());
            async move {
                hits.elsewhere.fetch_add(1, Ordering::SeqCst);
                axum::Json(json!({"issuer": url, "jwks_uri": format!("{url}/keys")}))
            }
        }
    };
    let keys = {
        let hits = hits.clone();
        move || {
            let (hits, key) = (hits.clone(), key.clone());
            async move {
                hits.keys.fetch_add(1, Ordering::SeqCst);
                match kind {
                    Issuer::HugeJwks => huge_jwks(hits),
                    _ => axum::Json(key.jwks()).into_response(),
                }
            }
        }
    };
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(doc))
        .route(
            "/elsewhere/.well-known/openid-configuration",
            get(elsewhere),
        )
        .route("/keys", get(keys));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

/// `{"keys": [...]}` of about 20 MB in 64 KiB chunks, counting what was produced.
fn huge_jwks(hits: Arc<Hits>) -> Response {
    const TOTAL: usize = 20 * 1024 * 1024;
    let key =
        json!({"kty": "RSA", "kid": "filler", "n": "x".repeat(60_000), "e": "AQAB"}).to_string();
    let chunks = std::iter::once("{\"keys\":[".to_owned())
        .chain(std::iter::repeat_n(format!("{key},"), TOTAL / key.len()))
        .chain(std::iter::once(format!("{key}]}}")));
    let stream = tokio_stream::iter(chunks.map(move |c| {
        hits.keys_bytes.fetch_add(c.len(), Ordering::SeqCst);
        Ok::<_, std::io::Error>(c)
    }));
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap()
}

struct Case {
    e: Emu,
    provider: String,
    account: String,
    issuer: String,
}

async fn case(e: Emu, issuer: String) -> Case {
    let project = e.project("p").await;
    let account = e.service_account(&project).await;
    let p = e
        .provider(json!({"type": "oidc", "name": "ext", "issuer": issuer, "audience": AUD}))
        .await;
    let provider = p["id"].as_str().unwrap().to_owned();
    e.rule(
        &provider,
        json!({"project_id": project, "service_account_id": account, "attribute_matchers": {"sub": "w"}}),
    )
    .await;
    Case {
        e,
        provider,
        account,
        issuer,
    }
}

impl Case {
    async fn exchange_signed(&self, key: &SigningKey) -> crate::support::Reply {
        let token = key
            .sign(&json!({"iss": self.issuer, "aud": AUD, "sub": "w", "iat": now(), "exp": now() + 300}))
            .unwrap();
        self.e.exchange(&self.provider, &self.account, &token).await
    }
}

fn assert_keys_unavailable(reply: &crate::support::Reply) {
    assert_refused(
        reply,
        "invalid_grant",
        "could not fetch the signing keys of workload identity provider",
    );
}

#[tokio::test]
async fn a_20_mb_jwks_is_cut_off_and_the_emulator_keeps_serving() {
    let key = Arc::new(SigningKey::generate_rsa("k").unwrap());
    let (url, hits) = issuer(Issuer::HugeJwks, key.clone(), "127.0.0.1").await;
    let c = case(Emu::start().await, url).await;
    let reply = c.exchange_signed(&key).await;
    assert_keys_unavailable(&reply);
    assert_eq!(hits.keys(), 1);
    // The emulator stopped reading early: the stand-in never produced the
    // whole body (what it did produce sits at most in socket buffers).
    let produced = hits.keys_bytes.load(Ordering::SeqCst);
    assert!(produced < 20 * 1024 * 1024, "{produced} bytes produced");
    // Other clients are still served.
    let (status, _) = c.e.get("/v1/organization/projects").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn unknown_kids_cannot_multiply_upstream_fetches() {
    let key = Arc::new(SigningKey::generate_rsa("k").unwrap());
    let (url, hits) = issuer(Issuer::Honest, key.clone(), "127.0.0.1").await;
    let c = case(Emu::start().await, url).await;
    let (status, v) = c.exchange_signed(&key).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(hits.keys(), 1);
    // The same unknown kid again and again: one refresh, then remembered.
    let stranger = SigningKey::generate_rsa("stranger").unwrap();
    for _ in 0..10 {
        let reply = c.exchange_signed(&stranger).await;
        assert_refused(&reply, "invalid_subject_token", "unknown kid");
    }
    assert_eq!(hits.keys(), 2);
    // 50 different unknown kids: the per-URL limit caps the refreshes.
    let signer = SigningKey::generate_rsa("unused").unwrap();
    for i in 0..50 {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": format!("kid-{i}")});
        let claims =
            json!({"iss": c.issuer, "aud": AUD, "sub": "w", "iat": now(), "exp": now() + 300});
        let token = signer.sign_with_header(&header, &claims).unwrap();
        let reply = c.e.exchange(&c.provider, &c.account, &token).await;
        assert_refused(&reply, "invalid_subject_token", "unknown kid");
    }
    assert!(hits.keys() <= 3, "{} JWKS fetches", hits.keys());
    assert!(hits.discovery.load(Ordering::SeqCst) <= 3);
    // The cached key still works.
    let (status, v) = c.exchange_signed(&key).await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let key = Arc::new(SigningKey::generate_rsa("k").unwrap());
    let (url, hits) = issuer(Issuer::Redirect, key.clone(), "127.0.0.1").await;
    let c = case(Emu::start().await, url).await;
    assert_keys_unavailable(&c.exchange_signed(&key).await);
    assert_eq!(hits.discovery.load(Ordering::SeqCst), 1);
    assert_eq!(hits.elsewhere.load(Ordering::SeqCst), 0);
    assert_eq!(hits.keys(), 0);
}

#[tokio::test]
async fn the_discovery_documents_issuer_must_be_the_providers() {
    let key = Arc::new(SigningKey::generate_rsa("k").unwrap());
    let (url, hits) = issuer(Issuer::NamesAnother, key.clone(), "127.0.0.1").await;
    let c = case(Emu::start().await, url).await;
    assert_keys_unavailable(&c.exchange_signed(&key).await);
    assert_eq!(hits.keys(), 0);
}

#[tokio::test]
async fn loopback_is_fetched_from_only_when_allowed() {
    // Refusals name the failed check only with verbose_refusals; the reason
    // for a failed fetch reaches only the log either way.
    let key = Arc::new(SigningKey::generate_rsa("k").unwrap());
    let mut config = EmulatorConfig::new(ADMIN_KEY);
    config.allow_loopback_key_fetch = false;
    config.verbose_refusals = true;
    // By name (checked by the resolver when connecting) and as a literal.
    for host in ["localhost", "127.0.0.1"] {
        let (url, hits) = issuer(Issuer::Honest, key.clone(), host).await;
        let c = case(Emu::start_with(config.clone()).await, url).await;
        assert_keys_unavailable(&c.exchange_signed(&key).await);
        assert_eq!(hits.discovery.load(Ordering::SeqCst), 0, "{host}");
    }
    // Allowed (the default): the same issuer works.
    let (url, _) = issuer(Issuer::Honest, key.clone(), "localhost").await;
    let c = case(Emu::start().await, url).await;
    let (status, v) = c.exchange_signed(&key).await;
    assert_eq!(status, 200, "{v}");
}

/// Provider A (issuer X) and provider B (issuer GitHub) share a discovery
/// URL whose document names X. B is refused, and stays refused after A's
/// exchange has cached X's keys: the cache is keyed by URL and issuer.
#[tokio::test]
async fn keys_cached_for_one_issuer_never_verify_another_providers_tokens() {
    let key = Arc::new(SigningKey::generate_rsa("k").unwrap());
    let (url, hits) = issuer(Issuer::Honest, key.clone(), "127.0.0.1").await;
    let a = case(Emu::start().await, url.clone()).await;
    let github = "https://token.actions.githubusercontent.com";
    let b =
        a.e.provider(
            json!({"type": "oidc", "name": "b", "issuer": github, "audience": AUD,
            "verification": {"type": "discovery", "discovery_url": url}}),
        )
        .await;
    let b_id = b["id"].as_str().unwrap().to_owned();
    a.e.rule(
        &b_id,
        json!({"project_id": a.e.emu.organization().projects[0].id, "service_account_id": a.account,
            "attribute_matchers": {"sub": "w"}}),
    )
    .await;
    let forged = key
        .sign(&json!({"iss": github, "aud": AUD, "sub": "w", "iat": now(), "exp": now() + 300}))
        .unwrap();
    assert_keys_unavailable(&a.e.exchange(&b_id, &a.account, &forged).await);
    // A's own exchange fetches and caches X's keys.
    let (status, v) = a.exchange_signed(&key).await;
    assert_eq!(status, 200, "{v}");
    let fetched = hits.keys();
    // B is still refused: its lookup neither hits A's entry nor is let past
    // the issuer check of the document.
    let reply = a.e.exchange(&b_id, &a.account, &forged).await;
    assert_eq!(reply.0, 401, "{}", reply.1);
    assert_keys_unavailable(&reply);
    assert_eq!(hits.keys(), fetched, "B never got X's JWKS");
}
