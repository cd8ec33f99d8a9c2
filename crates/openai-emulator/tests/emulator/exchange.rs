//! Token exchange of the emulator: successes with the built-in issuer
//! (standard and custom discovery) and with uploaded JWKS, and every refusal.

use crate::support::{ADMIN_KEY, Emu, GRANT, JWT, assert_refused, now};
use openai_emulator::BUILTIN_KID;
use openai_emulator::oidc::SigningKey;
use serde_json::{Value, json};

const PROVIDERS: &str = "/v1/organization/workload_identity_providers";
const AUD: &str = "https://api.openai.com/v1";

/// One project + keyless service account + provider (built-in issuer) + rule.
struct Setup {
    e: Emu,
    provider: String,
    account: String,
    project: String,
    rule: String,
}

async fn setup() -> Setup {
    let e = Emu::start().await;
    let project = e.project("p").await;
    let account = e.service_account(&project).await;
    let provider = e.builtin_provider("builtin", AUD).await;
    let rule = e
        .rule(
            &provider,
            json!({"project_id": project, "service_account_id": account,
                   "attribute_matchers": {"sub": "repo:my-org/*", "ref": "refs/heads/main"}}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Setup {
        e,
        provider,
        account,
        project,
        rule,
    }
}

fn good_claims() -> Value {
    json!({"sub": "repo:my-org/my-repo:ref:refs/heads/main", "aud": AUD, "ref": "refs/heads/main"})
}

#[tokio::test]
async fn builtin_issuer_serves_discovery_and_jwks() {
    let e = Emu::start().await;
    let doc: Value = e
        .http
        .get(e.url("/_emulator/oidc/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], e.emu.issuer_url());
    let jwks: Value = e
        .http
        .get(doc["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kid"], BUILTIN_KID);
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert!(jwks["keys"][0].get("d").is_none());
}

#[tokio::test]
async fn exchange_succeeds_with_discovery() {
    let s = setup().await;
    let token = s.e.mint(good_claims()).await;
    let (status, v) = s.e.exchange(&s.provider, &s.account, &token).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["access_token"].as_str().unwrap().len() > 20);
    assert_eq!(
        v["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(v["token_type"], "Bearer");
    let expires_in = v["expires_in"].as_i64().unwrap();
    // Default minted exp is now+600: the access token never outlives it.
    assert!(expires_in > 0 && expires_in <= 600, "{expires_in}");
    assert!(
        v.get("scope").is_none(),
        "default permissions carry no scope: {v}"
    );

    // A long-lived subject token is capped at one hour.
    let mut claims = good_claims();
    claims["exp"] = json!(now() + 7200);
    let token = s.e.mint(claims).await;
    let (_, v) = s.e.exchange(&s.provider, &s.account, &token).await;
    assert_eq!(v["expires_in"], 3600);

    // Array aud containing the audience, and the id_token subject type.
    let mut claims = good_claims();
    claims["aud"] = json!(["other", AUD]);
    let token = s.e.mint(claims).await;
    let (status, v) = s
        .e
        .exchange_body(json!({"grant_type": GRANT, "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
                               "subject_token": token, "identity_provider_id": s.provider, "service_account_id": s.account}))
        .await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test]
async fn restricted_permissions_become_the_scope() {
    let s = setup().await;
    let path = format!("{PROVIDERS}/{}/federation_rules/{}", s.provider, s.rule);
    let (st, _) = s
        .e
        .post(&path, json!({"permissions": {"type": "restricted", "scopes": ["api.model.read", "api.model.request"]}}))
        .await;
    assert_eq!(st, 200);
    let token = s.e.mint(good_claims()).await;
    let (status, v) = s.e.exchange(&s.provider, &s.account, &token).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["scope"], "api.model.read api.model.request");
}

#[tokio::test]
async fn exchange_succeeds_with_custom_discovery_url() {
    let s = setup().await;
    // The issuer differs from where keys are fetched: the URL only moves
    // discovery. The moved document still names the issuer (it must), and
    // points at the built-in issuer's keys.
    let jwks_uri = format!("{}/jwks", s.e.emu.issuer_url());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let discovery_url = format!("http://{}/mirror", listener.local_addr().unwrap());
    let mirror = axum::Router::new().route(
        "/mirror/.well-known/openid-configuration",
        axum::routing::get(move || async move {
            axum::Json(json!({"issuer": "https://tokens.example.com/", "jwks_uri": jwks_uri}))
        }),
    );
    tokio::spawn(async move { axum::serve(listener, mirror).await.unwrap() });
    let p =
        s.e.provider(
            json!({"type": "oidc", "name": "custom", "issuer": "https://tokens.example.com/", "audience": AUD,
                         "verification": {"type": "discovery", "discovery_url": discovery_url}}),
        )
        .await;
    let pid = p["id"].as_str().unwrap();
    s.e.rule(pid, json!({"project_id": s.project, "service_account_id": s.account, "attribute_matchers": {"sub": "x"}}))
        .await;
    // Trailing slash on iss vs issuer is ignored.
    let token =
        s.e.mint(json!({"sub": "x", "aud": AUD, "iss": "https://tokens.example.com"}))
            .await;
    let (status, v) = s.e.exchange(pid, &s.account, &token).await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test]
async fn exchange_succeeds_with_uploaded_jwks_of_each_key_type() {
    let s = setup().await;
    for key in [
        SigningKey::generate_rsa("k8s-rsa").unwrap(),
        SigningKey::generate_es256("spiffe-ec").unwrap(),
        SigningKey::generate_ps256("rsa-pss").unwrap(),
        SigningKey::generate_ed25519("ed25519").unwrap(),
    ] {
        let issuer = format!("https://{}.example.com", key.kid());
        let p =
            s.e.provider(
                json!({"type": "oidc", "name": key.kid(), "issuer": issuer, "audience": AUD,
                             "verification": {"type": "uploaded_jwks", "jwks": key.jwks()}}),
            )
            .await;
        let pid = p["id"].as_str().unwrap();
        s.e.rule(pid, json!({"project_id": s.project, "service_account_id": s.account,
                             "attribute_matchers": {"sub": "system:serviceaccount:default:openai-wif"}}))
            .await;
        let claims = json!({"iss": issuer, "aud": [AUD], "sub": "system:serviceaccount:default:openai-wif",
                            "iat": now(), "exp": now() + 300});
        let token = key.sign(&claims).unwrap();
        let (status, v) = s.e.exchange(pid, &s.account, &token).await;
        assert_eq!(status, 200, "{}: {v}", key.alg());

        // Another key with the same kid does not verify.
        let impostor = SigningKey::generate_rsa(key.kid()).unwrap();
        let forged = impostor.sign(&claims).unwrap();
        let reply = s.e.exchange(pid, &s.account, &forged).await;
        if key.alg() == "RS256" {
            assert_refused(&reply, "invalid_subject_token", "bad signature");
        } else {
            // The header says RS256 but the key is ES256.
            assert_refused(&reply, "invalid_subject_token", "alg");
        }
    }
}

#[tokio::test]
async fn transformations_feed_openai_attributes() {
    let s = setup().await;
    // 2040 nested parentheses once overflowed the emulator's stack during an exchange.
    let hostile = format!("{}assertion.sub{}", "(".repeat(2040), ")".repeat(2040));
    let p = s
        .e
        .provider(json!({"type": "oidc", "name": "gha", "issuer": s.e.emu.issuer_url(), "audience": AUD,
            "attribute_transformations": [
                {"attribute": "openai.repository_ref", "expression": "assertion.repository + \"@\" + assertion.ref"},
                {"attribute": "openai.production", "expression": "assertion.ref == \"refs/heads/main\""},
                {"attribute": "openai.env", "expression": "assertion[\"https://sts.amazonaws.com/\"][\"principal_tags\"][\"environment\"]"},
                {"attribute": "openai.broken", "expression": "assertion.sub + 1"},
                {"attribute": "openai.length", "expression": "size(assertion.sub)"},
                {"attribute": "openai.hostile", "expression": hostile}
            ]}))
        .await;
    let pid = p["id"].as_str().unwrap().to_owned();
    let rule = s
        .e
        .rule(&pid, json!({"project_id": s.project, "service_account_id": s.account,
            "attribute_matchers": {"openai.repository_ref": "my-org/my-repo@refs/heads/main", "openai.production": true, "openai.env": "prod"}}))
        .await;
    let claims = json!({"sub": "s", "aud": AUD, "repository": "my-org/my-repo", "ref": "refs/heads/main",
                        "https://sts.amazonaws.com/": {"principal_tags": {"environment": "prod"}},
                        // A raw claim named like a derived attribute is ignored.
                        "openai.env": "dev"});
    let token = s.e.mint(claims.clone()).await;
    let (status, v) = s.e.exchange(&pid, &s.account, &token).await;
    assert_eq!(status, 200, "{v}");

    let mut other = claims.clone();
    other["ref"] = json!("refs/heads/dev");
    let token = s.e.mint(other).await;
    let reply = s.e.exchange(&pid, &s.account, &token).await;
    assert_refused(&reply, "invalid_grant", "no enabled federation rule");

    // A matcher on a transformation that fails refuses the exchange.
    let rpath = format!(
        "{PROVIDERS}/{pid}/federation_rules/{}",
        rule["id"].as_str().unwrap()
    );
    s.e.post(
        &rpath,
        json!({"attribute_matchers": {"openai.broken": "1"}}),
    )
    .await;
    let token = s.e.mint(claims.clone()).await;
    let reply = s.e.exchange(&pid, &s.account, &token).await;
    assert_refused(&reply, "invalid_grant", "openai.broken");

    // Real CEL: functions such as size() work.
    s.e.post(&rpath, json!({"attribute_matchers": {"openai.length": 1}}))
        .await;
    let token = s.e.mint(claims.clone()).await;
    let (status, v) = s.e.exchange(&pid, &s.account, &token).await;
    assert_eq!(status, 200, "{v}");

    // A hostile expression is refused cleanly, and the emulator goes on serving.
    s.e.post(
        &rpath,
        json!({"attribute_matchers": {"openai.hostile": "s"}}),
    )
    .await;
    let token = s.e.mint(claims.clone()).await;
    let reply = s.e.exchange(&pid, &s.account, &token).await;
    assert_refused(&reply, "invalid_grant", "at most 32");
    s.e.post(&rpath, json!({"attribute_matchers": {"openai.length": 1}}))
        .await;
    let token = s.e.mint(claims).await;
    let (status, v) = s.e.exchange(&pid, &s.account, &token).await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test]
async fn refusals_of_the_subject_token() {
    let s = setup().await;
    let e = &s.e;
    let s = &s;
    let ex = |token: String| async move { s.e.exchange(&s.provider, &s.account, &token).await };

    let mut c = good_claims();
    c["aud"] = json!("https://someone-else");
    assert_refused(
        &ex(e.mint(c).await).await,
        "invalid_subject_token",
        "audience mismatch",
    );

    let mut c = good_claims();
    c["iss"] = json!("https://evil.example.com");
    assert_refused(
        &ex(e.mint(c).await).await,
        "invalid_subject_token",
        "issuer mismatch",
    );

    let mut c = good_claims();
    c["exp"] = json!(now() - 30);
    c["iat"] = json!(now() - 300);
    assert_refused(
        &ex(e.mint(c).await).await,
        "invalid_subject_token",
        "expired",
    );

    let mut c = good_claims();
    c.as_object_mut().unwrap().remove("sub");
    assert_refused(&ex(e.mint(c).await).await, "invalid_subject_token", "'sub'");
    for claim in ["iss", "aud", "exp", "iat"] {
        let mut c = good_claims();
        c[claim] = Value::Null;
        assert_refused(
            &ex(e.mint(c).await).await,
            "invalid_subject_token",
            &format!("'{claim}'"),
        );
    }

    assert_refused(
        &ex(e.mint_with(good_claims(), "?kid=rotated-away").await).await,
        "invalid_subject_token",
        "unknown kid",
    );
    assert_refused(
        &ex(e.mint_with(good_claims(), "?no_kid=true").await).await,
        "invalid_subject_token",
        "kid",
    );

    // Same kid, different key: bad signature.
    let impostor = SigningKey::generate_rsa(BUILTIN_KID).unwrap();
    let mut c = good_claims();
    c["iss"] = json!(e.emu.issuer_url());
    c["iat"] = json!(now());
    c["exp"] = json!(now() + 300);
    assert_refused(
        &ex(impostor.sign(&c).unwrap()).await,
        "invalid_subject_token",
        "bad signature",
    );

    // Tampered payload.
    let token = e.mint(good_claims()).await;
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut other = good_claims();
    other["sub"] = json!("repo:my-org/other:ref:refs/heads/main");
    other["iss"] = json!(e.emu.issuer_url());
    other["iat"] = json!(now());
    other["exp"] = json!(now() + 300);
    use base64::Engine as _;
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(other.to_string());
    assert_refused(
        &ex(parts.join(".")).await,
        "invalid_subject_token",
        "bad signature",
    );

    assert_refused(
        &ex("not-a-jwt".into()).await,
        "invalid_subject_token",
        "malformed",
    );
}

#[tokio::test]
async fn refusals_of_provider_and_mapping() {
    let s = setup().await;
    let e = &s.e;
    let token = e.mint(good_claims()).await;

    assert_refused(
        &e.exchange("wip_unknown", &s.account, &token).await,
        "invalid_grant",
        "not found",
    );

    // No rule matches the claims.
    let mut c = good_claims();
    c["ref"] = json!("refs/heads/feature");
    let reply = e.exchange(&s.provider, &s.account, &e.mint(c).await).await;
    assert_refused(&reply, "invalid_grant", "no enabled federation rule");

    // A service account without any rule under this provider.
    let lonely = e.service_account(&s.project).await;
    assert_refused(
        &e.exchange(&s.provider, &lonely, &token).await,
        "invalid_grant",
        "no federation rule",
    );

    // Disabled rule.
    let rpath = format!("{PROVIDERS}/{}/federation_rules/{}", s.provider, s.rule);
    e.post(&rpath, json!({"enabled": false})).await;
    assert_refused(
        &e.exchange(&s.provider, &s.account, &token).await,
        "invalid_grant",
        "disabled",
    );
    e.post(&rpath, json!({"enabled": true})).await;

    // Ambiguous: a second enabled rule for the same account also matches.
    let second = e
        .rule(&s.provider, json!({"project_id": s.project, "service_account_id": s.account, "attribute_matchers": {"ref": "refs/heads/*"}}))
        .await;
    assert_refused(
        &e.exchange(&s.provider, &s.account, &token).await,
        "invalid_grant",
        "ambiguous",
    );
    // Disabling one resolves the ambiguity.
    let spath = format!(
        "{PROVIDERS}/{}/federation_rules/{}",
        s.provider,
        second["id"].as_str().unwrap()
    );
    e.post(&spath, json!({"enabled": false})).await;
    let (status, _) = e.exchange(&s.provider, &s.account, &token).await;
    assert_eq!(status, 200);

    // Disabled provider.
    e.post(
        &format!("{PROVIDERS}/{}", s.provider),
        json!({"enabled": false}),
    )
    .await;
    assert_refused(
        &e.exchange(&s.provider, &s.account, &token).await,
        "invalid_grant",
        "is disabled",
    );
}

#[tokio::test]
async fn refusals_of_the_request() {
    let s = setup().await;
    let token = s.e.mint(good_claims()).await;
    let full = json!({"grant_type": GRANT, "subject_token_type": JWT, "subject_token": token,
                      "identity_provider_id": s.provider, "service_account_id": s.account});
    for field in [
        "grant_type",
        "subject_token_type",
        "subject_token",
        "identity_provider_id",
        "service_account_id",
    ] {
        let mut body = full.clone();
        body.as_object_mut().unwrap().remove(field);
        assert_refused(&s.e.exchange_body(body).await, "invalid_request", field);
    }
    let mut body = full.clone();
    body["subject_token_type"] = json!("urn:ietf:params:oauth:token-type:saml2");
    assert_refused(
        &s.e.exchange_body(body).await,
        "invalid_request",
        "subject_token_type",
    );
    let mut body = full.clone();
    body["grant_type"] = json!("client_credentials");
    assert_refused(
        &s.e.exchange_body(body).await,
        "invalid_request",
        "grant_type",
    );
    let resp =
        s.e.http
            .post(s.e.emu.token_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=x")
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"], "invalid_request");
}

#[tokio::test]
async fn access_tokens_are_not_admin_keys() {
    let s = setup().await;
    let token = s.e.mint(good_claims()).await;
    let (_, v) = s.e.exchange(&s.provider, &s.account, &token).await;
    let access = v["access_token"].as_str().unwrap();
    assert_ne!(access, ADMIN_KEY);
    let resp =
        s.e.http
            .get(s.e.url(PROVIDERS))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 401);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_api_key");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("access tokens")
    );
}

/// A stand-in external issuer whose JWKS the test can swap, counting fetches.
mod fake_issuer {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use axum::routing::get;
    use axum::{Json, Router};
    use serde_json::{Value, json};

    #[derive(Default)]
    pub struct Issuer {
        pub jwks: Mutex<Value>,
        pub fetches: AtomicUsize,
    }

    impl Issuer {
        pub fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }
    }

    /// Serves discovery + JWKS on a free port; returns (issuer URL, state).
    pub async fn start(jwks: Value) -> (String, Arc<Issuer>) {
        let state = Arc::new(Issuer {
            jwks: Mutex::new(jwks),
            fetches: AtomicUsize::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let jwks_uri = format!("{url}/keys");
        let issuer = url.clone();
        let s = state.clone();
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { Json(json!({"issuer": issuer, "jwks_uri": jwks_uri})) }),
            )
            .route(
                "/keys",
                get(move || async move {
                    s.fetches.fetch_add(1, Ordering::SeqCst);
                    let v = s.jwks.lock().unwrap().clone();
                    Json(v)
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, state)
    }
}

#[tokio::test]
async fn discovery_is_cached_and_refreshed_once_on_unknown_kid() {
    let s = setup().await;
    let old = SigningKey::generate_rsa("old").unwrap();
    let new = SigningKey::generate_rsa("new").unwrap();
    let (issuer_url, issuer) = fake_issuer::start(old.jwks()).await;
    let p =
        s.e.provider(json!({"type": "oidc", "name": "ext", "issuer": issuer_url, "audience": AUD}))
            .await;
    let pid = p["id"].as_str().unwrap();
    s.e.rule(pid, json!({"project_id": s.project, "service_account_id": s.account, "attribute_matchers": {"sub": "w"}}))
        .await;
    let token = |key: &SigningKey| {
        key.sign(
            &json!({"iss": issuer_url, "aud": AUD, "sub": "w", "iat": now(), "exp": now() + 300}),
        )
        .unwrap()
    };

    let (status, v) = s.e.exchange(pid, &s.account, &token(&old)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(issuer.fetches(), 1);
    // Served from the cache.
    let (status, _) = s.e.exchange(pid, &s.account, &token(&old)).await;
    assert_eq!(status, 200);
    assert_eq!(issuer.fetches(), 1);

    // Key rotation: the unknown kid triggers one refresh, which finds it.
    *issuer.jwks.lock().unwrap() = new.jwks();
    let (status, v) = s.e.exchange(pid, &s.account, &token(&new)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(issuer.fetches(), 2);

    // A kid that is gone for good: one refresh, then refused.
    let reply = s.e.exchange(pid, &s.account, &token(&old)).await;
    assert_refused(&reply, "invalid_subject_token", "unknown kid");
    assert_eq!(issuer.fetches(), 3);
}

#[tokio::test]
async fn unreachable_discovery_is_a_provider_problem() {
    let s = setup().await;
    // Nothing listens on port 1.
    let p =
        s.e.provider(json!({"type": "oidc", "name": "down", "issuer": "http://127.0.0.1:1", "audience": AUD}))
            .await;
    let pid = p["id"].as_str().unwrap();
    let key = SigningKey::generate_rsa("k").unwrap();
    let token = key
        .sign(&json!({"iss": "http://127.0.0.1:1", "aud": AUD, "sub": "w", "iat": now(), "exp": now() + 300}))
        .unwrap();
    let reply = s.e.exchange(pid, &s.account, &token).await;
    assert_refused(
        &reply,
        "invalid_grant",
        "could not fetch the signing keys of workload identity provider",
    );
    // What failed, and where, stays in the emulator's log: the caller must
    // not be able to probe ports through the emulator.
    let description = reply.1["error_description"].as_str().unwrap();
    assert!(!description.contains("127.0.0.1:1"), "{description}");
    assert!(
        !description.to_lowercase().contains("connect"),
        "{description}"
    );
}

/// Without `verbose_refusals` a refusal says which kind of check failed, in
/// OpenAI's style, but names no rule and no expected value.
#[tokio::test]
async fn refusals_are_terse_by_default() {
    use openai_admin::refusal::Reason;
    let e = Emu::start_with(openai_emulator::EmulatorConfig::new(ADMIN_KEY)).await;
    let project = e.project("p").await;
    let account = e.service_account(&project).await;
    let provider = e.builtin_provider("builtin", AUD).await;
    let rule = e
        .rule(
            &provider,
            json!({"project_id": project, "service_account_id": account,
                   "attribute_matchers": {"ref": "refs/heads/secret-branch-name"}}),
        )
        .await;
    let rule_id = rule["id"].as_str().unwrap();
    let token = e
        .mint(json!({"sub": "w", "aud": AUD, "ref": "refs/heads/dev"}))
        .await;

    let (status, v) = e.exchange(&provider, &account, &token).await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["error"], "invalid_grant");
    assert_eq!(
        v["error_description"],
        Reason::NoMatchingRule.message(),
        "{v}"
    );
    let text = v.to_string();
    for secret in [rule_id, "secret-branch-name", "refs/heads/dev"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }

    // An account without any mapping gets OpenAI's own sentence.
    let lonely = e.service_account(&project).await;
    let (status, v) = e.exchange(&provider, &lonely, &token).await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(
        v["error_description"],
        "No service account mapping found for the provided service_account_id."
    );

    // A token the provider does not accept is a 401.
    let wrong = e
        .mint(json!({"sub": "w", "aud": "https://elsewhere"}))
        .await;
    let (status, v) = e.exchange(&provider, &account, &wrong).await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["error"], "invalid_subject_token");
    assert_eq!(v["error_description"], Reason::AudienceMismatch.message());
    assert!(!v.to_string().contains("elsewhere"), "{v}");
}

/// Costly transformations, the refused kind (nested comprehensions over a long claim, which
/// once took tens of seconds of CPU on an async worker) and the costliest allowed kind, leave
/// the Admin API answering at once, and the exchanges end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn costly_transformations_leave_the_admin_api_responsive() {
    let s = setup().await;
    let nested = "assertion.g.map(a, assertion.g.map(b, assertion.g.map(c, a + b + c))).size() > 0";
    // One comprehension whose body is as long as the operator limit allows.
    let wide = format!(
        "assertion.g.filter(a, {}).size() > 0",
        vec!["a.endsWith(assertion.x)"; 30].join(" || ")
    );
    let p =
        s.e.provider(
            json!({"type": "oidc", "name": "costly", "issuer": s.e.emu.issuer_url(), "audience": AUD,
            "attribute_transformations": [
                {"attribute": "openai.nested", "expression": nested},
                {"attribute": "openai.wide", "expression": wide},
            ]}),
        )
        .await;
    let pid = p["id"].as_str().unwrap().to_owned();
    let rule =
        s.e.rule(
            &pid,
            json!({"project_id": s.project, "service_account_id": s.account,
            "attribute_matchers": {"openai.nested": true}}),
        )
        .await;
    let rule_id = rule["id"].as_str().unwrap().to_owned();
    let g: Vec<String> = (0..1000).map(|i| format!("g{i:04}")).collect();
    let token =
        s.e.mint(json!({"sub": "s", "aud": AUD, "g": g, "x": "zz"}))
            .await;

    for matcher in ["openai.nested", "openai.wide"] {
        s.e.post(
            &format!("{PROVIDERS}/{pid}/federation_rules/{rule_id}"),
            json!({"attribute_matchers": {matcher: true}}),
        )
        .await;
        let runs: Vec<_> = (0..2)
            .map(|_| {
                let url = s.e.emu.token_url();
                let body = json!({"grant_type": GRANT, "subject_token_type": JWT,
                    "subject_token": token, "identity_provider_id": pid,
                    "service_account_id": s.account});
                tokio::spawn(async move {
                    let resp = reqwest::Client::new()
                        .post(url)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    (resp.status(), resp.json::<Value>().await.unwrap())
                })
            })
            .collect();
        let mut answered = 0;
        while !runs.iter().all(|r| r.is_finished()) || answered == 0 {
            let started = std::time::Instant::now();
            let (status, v) = s.e.get("/v1/organization/projects").await;
            assert_eq!(status, 200, "{v}");
            let took = started.elapsed();
            assert!(
                took < std::time::Duration::from_secs(1),
                "{matcher}: {took:?}"
            );
            answered += 1;
        }
        for run in runs {
            let reply = run.await.unwrap();
            // The nested one is refused when parsed; the wide one matches nothing.
            let needle = if matcher == "openai.nested" {
                "product of the lists"
            } else {
                "no enabled federation rule"
            };
            assert_refused(&reply, "invalid_grant", needle);
        }
    }
}
