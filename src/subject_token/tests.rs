//! Request shapes and errors of each fetcher, against a loopback stand-in
//! that records what it was asked and answers with a canned response.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::*;

/// A syntactically valid JWT (header `{"alg":"none"}`), never verified here.
const JWT: &str = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln";

#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
}

/// A loopback HTTP server answering every request with `status` and `body`.
struct StandIn {
    addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl StandIn {
    async fn start(status: u16, body: &'static str) -> StandIn {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let app = axum::Router::new().fallback(move |req: Request| {
            let record = Arc::clone(&record);
            async move {
                let uri = req.uri().clone();
                record.lock().unwrap().push(Seen {
                    method: req.method().to_string(),
                    path: uri.path().to_owned(),
                    query: url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                        .into_owned()
                        .collect(),
                    headers: req
                        .headers()
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                        .collect(),
                });
                (StatusCode::from_u16(status).unwrap(), body).into_response()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        StandIn { addr, seen }
    }

    fn only_request(&self) -> Seen {
        let seen = self.seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "{seen:?}");
        seen[0].clone()
    }
}

fn env_of(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + Sync + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    move |k: &str| map.get(k).cloned()
}

/// The error a GitHub Actions fetch with `env` ends in, as shown.
async fn github_error(env: openai_admin::Env<'_>) -> String {
    fetch(
        &platform(Platform::GithubActions, DEFAULT_AUDIENCE, None),
        env,
        T,
    )
    .await
    .unwrap_err()
    .to_string()
}

fn platform(platform: Platform, audience: &str, client_id: Option<&str>) -> Source {
    Source::Platform {
        platform,
        audience: Some(audience.to_owned()),
        client_id: client_id.map(str::to_owned),
        spiffe_id: None,
    }
}

const T: Duration = Duration::from_secs(5);

#[tokio::test]
async fn github_actions_request_shape() {
    let s = StandIn::start(
        200,
        r#"{"count":1,"value":"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln"}"#,
    )
    .await;
    let env = env_of(&[
        (
            ENV_GITHUB_REQUEST_URL,
            format!("http://{}/_apis/token?api-version=2.0", s.addr),
        ),
        (ENV_GITHUB_REQUEST_TOKEN, "req-token-123".to_owned()),
    ]);
    let got = fetch(
        &platform(Platform::GithubActions, "https://aud.example", None),
        &env,
        T,
    )
    .await
    .unwrap();
    assert_eq!(got.token.expose(), JWT);
    assert_eq!(got.token_type, TOKEN_TYPE_JWT);
    let r = s.only_request();
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, "/_apis/token");
    assert_eq!(r.query["api-version"], "2.0");
    assert_eq!(r.query["audience"], "https://aud.example");
    assert_eq!(r.headers["authorization"], "bearer req-token-123");
}

#[tokio::test]
async fn github_actions_errors_name_the_variable_and_hide_the_request_token() {
    let env = env_of(&[]);
    let e = github_error(&env).await;
    assert!(e.contains(ENV_GITHUB_REQUEST_URL), "{e}");
    assert!(e.contains("id-token: write"), "{e}");

    let env = env_of(&[(ENV_GITHUB_REQUEST_URL, "http://127.0.0.1:1/x".to_owned())]);
    let e = github_error(&env).await;
    assert!(e.contains(ENV_GITHUB_REQUEST_TOKEN), "{e}");

    // A refusal that echoes the request token is not quoted.
    let s = StandIn::start(401, "bad token req-token-123").await;
    let env = env_of(&[
        (
            ENV_GITHUB_REQUEST_URL,
            format!("http://{}/t?sig=secretsig", s.addr),
        ),
        (ENV_GITHUB_REQUEST_TOKEN, "req-token-123".to_owned()),
    ]);
    let e = github_error(&env).await;
    assert!(e.contains("HTTP 401"), "{e}");
    assert!(!e.contains("req-token-123"), "{e}");
    assert!(!e.contains("secretsig"), "the query is not shown: {e}");

    // Nor one that echoes it less its last character (a fragment), or
    // escaped; the rest of the refusal is still shown.
    let token = "ghs-request-token-0123456789abcdefghij";
    let cut: &'static str =
        Box::leak(format!("token {} expired", &token[..token.len() - 1]).into_boxed_str());
    let s = StandIn::start(401, cut).await;
    let env = env_of(&[
        (ENV_GITHUB_REQUEST_URL, format!("http://{}/t", s.addr)),
        (ENV_GITHUB_REQUEST_TOKEN, token.to_owned()),
    ]);
    let e = github_error(&env).await;
    assert!(e.contains("HTTP 401"), "{e}");
    assert!(!e.contains(&token[..openai_admin::redact::MIN_RUN]), "{e}");
    assert!(
        !e.contains(&token[token.len() - 13..token.len() - 1]),
        "{e}"
    );
    assert!(e.contains("token [redacted] expired"), "{e}");

    // A refusal that does not is quoted, to help.
    let s = StandIn::start(400, "audience not allowed").await;
    let env = env_of(&[
        (ENV_GITHUB_REQUEST_URL, format!("http://{}/t", s.addr)),
        (ENV_GITHUB_REQUEST_TOKEN, "req-token-123".to_owned()),
    ]);
    let e = github_error(&env).await;
    assert!(e.contains("HTTP 400: audience not allowed"), "{e}");

    // A success without "value".
    let s = StandIn::start(200, r#"{"count":0}"#).await;
    let env = env_of(&[
        (ENV_GITHUB_REQUEST_URL, format!("http://{}/t", s.addr)),
        (ENV_GITHUB_REQUEST_TOKEN, "req-token-123".to_owned()),
    ]);
    let e = github_error(&env).await;
    assert!(e.contains("no \"value\" field"), "{e}");
}

#[tokio::test]
async fn gcp_request_shape_and_id_token_type() {
    let s = StandIn::start(200, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln\n").await;
    let env = env_of(&[(ENV_GCE_METADATA_HOST, s.addr.to_string())]);
    let got = fetch(
        &platform(Platform::Gcp, "https://aud.example", None),
        &env,
        T,
    )
    .await
    .unwrap();
    assert_eq!(got.token.expose(), JWT);
    assert_eq!(got.token_type, TOKEN_TYPE_ID_TOKEN);
    let r = s.only_request();
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, GCP_IDENTITY_PATH);
    assert_eq!(r.query["audience"], "https://aud.example");
    assert_eq!(r.query["format"], "full");
    assert_eq!(r.headers["metadata-flavor"], "Google");
}

#[tokio::test]
async fn gcp_errors() {
    let s = StandIn::start(404, "no service account").await;
    let env = env_of(&[(ENV_GCE_METADATA_HOST, s.addr.to_string())]);
    let e = fetch(&platform(Platform::Gcp, DEFAULT_AUDIENCE, None), &env, T)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("Google Cloud metadata server"), "{e}");
    assert!(e.contains("HTTP 404: no service account"), "{e}");
    assert!(e.contains("GCE_METADATA_HOST"), "{e}");

    // Nothing listens on port 1.
    let env = env_of(&[(ENV_GCE_METADATA_HOST, "127.0.0.1:1".to_owned())]);
    let e = fetch(&platform(Platform::Gcp, DEFAULT_AUDIENCE, None), &env, T)
        .await
        .unwrap_err();
    assert!(matches!(e, FetchError::Transport { .. }), "{e}");
    assert!(e.to_string().contains("127.0.0.1:1"), "{e}");

    // Something that is not a JWT.
    let s = StandIn::start(200, "<html>login</html>").await;
    let env = env_of(&[(ENV_GCE_METADATA_HOST, s.addr.to_string())]);
    let e = fetch(&platform(Platform::Gcp, DEFAULT_AUDIENCE, None), &env, T)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a JWT"), "{e}");
    assert!(!e.contains("login"), "the body is not quoted: {e}");
}

#[tokio::test]
async fn azure_request_shape() {
    let s = StandIn::start(
        200,
        r#"{"access_token":"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln","expires_in":"3599","token_type":"Bearer"}"#,
    )
    .await;
    let env = env_of(&[(ENV_AZURE_IMDS_ENDPOINT, format!("http://{}/", s.addr))]);
    let got = fetch(
        &platform(Platform::Azure, "api://my-app", Some("client-1")),
        &env,
        T,
    )
    .await
    .unwrap();
    assert_eq!(got.token.expose(), JWT);
    assert_eq!(got.token_type, TOKEN_TYPE_JWT);
    let r = s.only_request();
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, AZURE_TOKEN_PATH);
    assert_eq!(r.query["api-version"], "2018-02-01");
    assert_eq!(r.query["resource"], "api://my-app");
    assert_eq!(r.query["client_id"], "client-1");
    assert_eq!(r.headers["metadata"], "true");
}

#[tokio::test]
async fn azure_errors() {
    let s = StandIn::start(
        400,
        r#"{"error":"invalid_request","error_description":"Identity not found"}"#,
    )
    .await;
    let env = env_of(&[(ENV_AZURE_IMDS_ENDPOINT, format!("http://{}", s.addr))]);
    let e = fetch(&platform(Platform::Azure, "api://x", None), &env, T)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("Azure Instance Metadata Service"), "{e}");
    assert!(e.contains("Identity not found"), "{e}");
    assert!(e.contains("client_id"), "{e}");
    // Without client_id the query has none.
    assert!(!s.only_request().query.contains_key("client_id"));

    let env = env_of(&[(ENV_AZURE_IMDS_ENDPOINT, "not a url".to_owned())]);
    let e = fetch(&platform(Platform::Azure, "api://x", None), &env, T)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains(ENV_AZURE_IMDS_ENDPOINT), "{e}");
}

#[tokio::test]
async fn kubernetes_reads_the_overridden_file_and_names_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, format!("{JWT}\n")).unwrap();
    let env = env_of(&[(ENV_K8S_TOKEN_FILE, path.display().to_string())]);
    let got = fetch(
        &platform(Platform::Kubernetes, DEFAULT_AUDIENCE, None),
        &env,
        T,
    )
    .await
    .unwrap();
    assert_eq!(got.token.expose(), JWT);
    assert_eq!(got.token_type, TOKEN_TYPE_JWT);

    let missing = dir.path().join("missing");
    let env = env_of(&[(ENV_K8S_TOKEN_FILE, missing.display().to_string())]);
    let e = fetch(
        &platform(Platform::Kubernetes, DEFAULT_AUDIENCE, None),
        &env,
        T,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains(&missing.display().to_string()), "{e}");
    assert!(e.contains(ENV_K8S_TOKEN_FILE), "{e}");

    // Outside a pod the default path is missing; the message says how to change it.
    if !Path::new(DEFAULT_K8S_TOKEN_FILE).exists() {
        let env = env_of(&[]);
        let e = fetch(
            &platform(Platform::Kubernetes, DEFAULT_AUDIENCE, None),
            &env,
            T,
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(e.contains(DEFAULT_K8S_TOKEN_FILE), "{e}");
        assert!(e.contains(ENV_K8S_TOKEN_FILE), "{e}");
        assert!(e.contains("subject_token_file"), "{e}");
    }
}

#[tokio::test]
async fn aws_reads_the_web_identity_token_file_when_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, JWT).unwrap();
    // The file wins over outbound federation, whose endpoint is unreachable here.
    let env = env_of(&[
        (ENV_AWS_TOKEN_FILE, path.display().to_string()),
        (aws::ENV_REGION, "us-east-1".to_owned()),
        (aws::ENV_ENDPOINT_URL_STS, "http://127.0.0.1:9".to_owned()),
    ]);
    let got = fetch(&platform(Platform::Aws, DEFAULT_AUDIENCE, None), &env, T)
        .await
        .unwrap();
    assert_eq!(got.token.expose(), JWT);
}

/// The claims of a JWT, unverified.
fn claims_of(jwt: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// Plain AWS credentials and a region, with STS at `endpoint` named by the
/// variable `endpoint_var`.
fn aws_env(
    endpoint_var: &str,
    endpoint: String,
    secret: &str,
) -> impl Fn(&str) -> Option<String> + Sync + use<> {
    env_of(&[
        (aws::ENV_REGION, "eu-west-1".to_owned()),
        (endpoint_var, endpoint),
        ("AWS_ACCESS_KEY_ID", "AKIDEMULATED".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", secret.to_owned()),
    ])
}

#[tokio::test]
async fn aws_without_a_token_file_asks_sts_for_a_token_for_the_audience() {
    let emu = openai_emulator::start(openai_emulator::EmulatorConfig::new("sk-admin-aws"))
        .await
        .unwrap();
    let sts = format!("{}/_emulator/aws/sts", emu.base_url());
    let env = aws_env(aws::ENV_ENDPOINT_URL_STS, sts.clone(), "not-a-real-secret");
    let got = fetch(
        &platform(Platform::Aws, "https://api.openai.com/v1", None),
        &env,
        T,
    )
    .await
    .unwrap();
    assert_eq!(got.token_type, TOKEN_TYPE_JWT);
    let claims = claims_of(got.token.expose());
    assert_eq!(claims["aud"], "https://api.openai.com/v1");
    assert_eq!(claims["sub"], openai_emulator::aws_sts::DEFAULT_ROLE_ARN);
    assert_eq!(claims["iss"], emu.issuer_url());

    // Whichever the subject mode, the role is in the STS claim.
    let sts_claim = &claims[openai_emulator::aws_sts::STS_CLAIM];
    assert_eq!(
        sts_claim["principal_id"],
        openai_emulator::aws_sts::DEFAULT_ROLE_ARN
    );

    // AWS_ENDPOINT_URL is the fallback when no STS-specific endpoint is set.
    let env = aws_env(aws::ENV_ENDPOINT_URL, sts.clone(), "not-a-real-secret");
    let got = fetch(&platform(Platform::Aws, "aud-2", None), &env, T)
        .await
        .unwrap();
    assert_eq!(claims_of(got.token.expose())["aud"], "aud-2");

    // SubjectMode=OriginIdentity: `sub` is the origin identity, the role
    // ARN only in the STS claim; the signed request still passes.
    let with_mode = |mode: &'static str| {
        let base = aws_env(aws::ENV_ENDPOINT_URL_STS, sts.clone(), "not-a-real-secret");
        move |k: &str| {
            if k == aws::ENV_SUBJECT_MODE {
                Some(mode.to_owned())
            } else {
                base(k)
            }
        }
    };
    let env = with_mode("OriginIdentity");
    let got = fetch(&platform(Platform::Aws, "aud-3", None), &env, T)
        .await
        .unwrap();
    let claims = claims_of(got.token.expose());
    assert_eq!(
        claims["sub"],
        openai_emulator::aws_sts::DEFAULT_ORIGIN_SUBJECT
    );
    assert_eq!(
        claims[openai_emulator::aws_sts::STS_CLAIM]["principal_id"],
        openai_emulator::aws_sts::DEFAULT_ROLE_ARN
    );
    let env = with_mode("Origin");
    let e = fetch(&platform(Platform::Aws, "aud-3", None), &env, T)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("OPENAI_WIF_AWS_SUBJECT_MODE"), "{e}");
    assert!(e.contains("OriginIdentity"), "{e}");
}

#[tokio::test]
async fn aws_sts_refusals_name_the_service_and_its_error_code() {
    // A stand-in answering like STS does when outbound federation is off.
    let sts = StandIn::start(
        403,
        "<ErrorResponse><Error><Type>Sender</Type>\
         <Code>OutboundWebIdentityFederationDisabledException</Code>\
         <Message>Outbound web identity federation is disabled</Message></Error>\
         <RequestId>r-1</RequestId></ErrorResponse>",
    )
    .await;
    let env = aws_env(
        aws::ENV_ENDPOINT_URL_STS,
        format!("http://{}", sts.addr),
        "secret-never-shown",
    );
    let e = fetch(&platform(Platform::Aws, DEFAULT_AUDIENCE, None), &env, T)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("AWS STS GetWebIdentityToken"), "{e}");
    assert!(e.contains("HTTP 403"), "{e}");
    assert!(
        e.contains("OutboundWebIdentityFederationDisabledException"),
        "{e}"
    );
    assert!(e.contains("enable-outbound-web-identity-federation"), "{e}");
    assert!(!e.contains("secret-never-shown"), "{e}");
    let seen = sts.only_request();
    assert_eq!(seen.method, "POST");
    assert!(
        seen.headers["authorization"].starts_with("AWS4-HMAC-SHA256 Credential=AKIDEMULATED/"),
        "{:?}",
        seen.headers
    );
}

#[tokio::test]
async fn files_must_hold_one_jwt() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(&[]);
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "  \n").unwrap();
    let e = fetch(&Source::File(empty), &env, T).await.unwrap_err();
    assert!(matches!(e, FetchError::Empty { .. }), "{e}");

    let big = dir.path().join("big");
    std::fs::write(&big, vec![b'a'; 70 * 1024]).unwrap();
    let e = fetch(&Source::File(big), &env, T).await.unwrap_err();
    assert!(matches!(e, FetchError::TooLarge { .. }), "{e}");

    let other = dir.path().join("other");
    std::fs::write(&other, "sk-not-a-jwt").unwrap();
    let e = fetch(&Source::File(other), &env, T)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a JWT"), "{e}");
    assert!(
        !e.contains("sk-not-a-jwt"),
        "the content is not quoted: {e}"
    );

    let e = fetch(&Source::Inline(Secret::new("a.b")), &env, T)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("subject_token"), "{e}");
}

#[test]
fn platform_names_round_trip() {
    for p in Platform::ALL {
        assert_eq!(Platform::parse(p.name()), Some(p));
    }
    assert_eq!(Platform::parse("GitHub"), None);
    assert_eq!(
        Platform::allowed_names(),
        r#""github_actions", "kubernetes", "gcp", "azure", "aws", "spiffe", "gitlab_ci", "hcp_terraform", "circleci", "bitbucket_pipelines", "buildkite""#
    );
}

fn spiffe_source(audience: &str, spiffe_id: Option<&str>) -> Source {
    Source::Platform {
        platform: Platform::Spiffe,
        audience: Some(audience.to_owned()),
        client_id: None,
        spiffe_id: spiffe_id.map(str::to_owned),
    }
}

#[tokio::test]
async fn spiffe_fetches_a_jwt_svid_for_the_audience_from_the_workload_api() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("agent.sock");
    let mut config = openai_emulator::EmulatorConfig::new("sk-admin-spiffe");
    config.spiffe_socket = Some(socket.clone());
    let emu = openai_emulator::start(config).await.unwrap();
    let env = env_of(&[(
        spiffe::ENV_ENDPOINT_SOCKET,
        format!("unix://{}", socket.display()),
    )]);

    let got = fetch(&spiffe_source("https://api.openai.com/v1", None), &env, T)
        .await
        .unwrap();
    assert_eq!(got.token_type, TOKEN_TYPE_JWT);
    let claims = claims_of(got.token.expose());
    assert_eq!(claims["sub"], openai_emulator::spiffe::DEFAULT_SPIFFE_ID);
    assert_eq!(
        claims["aud"],
        serde_json::json!(["https://api.openai.com/v1"])
    );
    assert_eq!(claims["iss"], emu.issuer_url());

    // Asking for the workload's own identity by name works; another is refused.
    let own = spiffe_source("a", Some(openai_emulator::spiffe::DEFAULT_SPIFFE_ID));
    fetch(&own, &env, T).await.unwrap();
    let other = spiffe_source("a", Some("spiffe://example.org/someone-else"));
    let e = fetch(&other, &env, T).await.unwrap_err().to_string();
    assert!(e.contains("SPIFFE Workload API"), "{e}");
    assert!(e.contains("refused"), "{e}");
    assert!(e.contains("spiffe://example.org/someone-else"), "{e}");

    let bad = spiffe_source("a", Some("not-a-spiffe-id"));
    let e = fetch(&bad, &env, T).await.unwrap_err().to_string();
    assert!(
        e.contains("spiffe_id \"not-a-spiffe-id\" is not a SPIFFE ID"),
        "{e}"
    );
}

#[tokio::test]
async fn spiffe_errors_name_the_socket_variable_or_the_unreachable_socket() {
    let e = fetch(&spiffe_source("a", None), &env_of(&[]), T)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains(spiffe::ENV_ENDPOINT_SOCKET), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let missing = format!("unix://{}", dir.path().join("none.sock").display());
    let env = env_of(&[(spiffe::ENV_ENDPOINT_SOCKET, missing.clone())]);
    let e = fetch(&spiffe_source("a", None), &env, T)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains(&missing), "{e}");
    assert!(e.contains("SPIRE agent"), "{e}");
}

#[cfg(unix)]
#[tokio::test]
async fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("token");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo touches nothing else.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    // Nobody ever opens the FIFO for writing: a blocking open would hang.
    let e = fetch(&Source::File(fifo), &env_of(&[]), T)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a regular file"), "{e}");
}

#[tokio::test]
async fn a_huge_metadata_body_is_cut_off_at_the_limit() {
    // Far above the 64 KiB a token may have.
    let body: &'static str = Box::leak("a".repeat(4 * 1024 * 1024).into_boxed_str());
    let s = StandIn::start(200, body).await;
    let env = env_of(&[(ENV_GCE_METADATA_HOST, s.addr.to_string())]);
    let e = fetch(&platform(Platform::Gcp, DEFAULT_AUDIENCE, None), &env, T)
        .await
        .unwrap_err();
    assert!(matches!(e, FetchError::TooLarge { .. }), "{e}");
}

#[test]
fn cloud_management_audiences_are_recognised_in_every_spelling() {
    for (aud, service) in [
        ("https://management.azure.com/", "Azure Resource Manager"),
        ("https://management.azure.com", "Azure Resource Manager"),
        (
            "HTTPS://MANAGEMENT.AZURE.COM/.default",
            "Azure Resource Manager",
        ),
        (
            "https://management.core.windows.net/",
            "Azure Service Management",
        ),
        ("https://graph.microsoft.com", "Microsoft Graph"),
        ("https://vault.azure.net", "Azure Key Vault"),
        ("https://myvault.vault.azure.net", "Azure Key Vault"),
        ("https://storage.azure.com/", "Azure Storage"),
        ("sts.amazonaws.com", "AWS STS"),
        ("https://sts.googleapis.com", "Google STS"),
        (
            "https://oauth2.googleapis.com/token",
            "Google's OAuth token endpoint",
        ),
        (
            "https://www.googleapis.com/oauth2/v4/token",
            "Google's OAuth token endpoint",
        ),
        // Accepted before as ordinary audiences, though each is a credential.
        (
            "api://AzureADTokenExchange",
            "Azure AD workload identity federation",
        ),
        (
            "API://AZUREADTOKENEXCHANGE/",
            "Azure AD workload identity federation",
        ),
        (
            "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p/providers/gh",
            "Google workload identity federation",
        ),
        (
            "https://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p/providers/gh",
            "Google workload identity federation",
        ),
        (
            "797f4846-ba00-4fd7-ba43-dac1f8f63013",
            "Azure Resource Manager",
        ),
        (
            "api://797F4846-BA00-4FD7-BA43-DAC1F8F63013",
            "Azure Resource Manager",
        ),
        ("00000003-0000-0000-c000-000000000000", "Microsoft Graph"),
        (
            "00000003-0000-0000-c000-000000000000/.default",
            "Microsoft Graph",
        ),
    ] {
        assert_eq!(cloud_management_audience(aud), Some(service), "{aud}");
    }
    for aud in [
        DEFAULT_AUDIENCE,
        "api://my-app",
        "api://AzureADTokenExchange-not",
        "11111111-2222-3333-4444-555555555555",
        "https://iam.example.com/projects/1",
        "https://my-app.example.com",
        "https://evilmanagement.azure.com.example.com",
        "https://www.googleapis.com/other",
    ] {
        assert_eq!(cloud_management_audience(aud), None, "{aud}");
    }
}

#[tokio::test]
async fn a_token_for_a_cloud_management_audience_is_never_handed_on() {
    use base64::Engine as _;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let token = format!(
        "{}.{}.c2ln",
        b64(serde_json::json!({"alg": "RS256"})),
        b64(serde_json::json!({"sub": "x", "aud": ["other", "https://management.azure.com/"]}))
    );
    let e = fetch(&Source::Inline(Secret::new(token)), &env_of(&[]), T)
        .await
        .unwrap_err();
    assert!(matches!(e, FetchError::CloudAudience { .. }), "{e}");
    assert!(e.to_string().contains("Azure Resource Manager"), "{e}");
}

#[tokio::test]
async fn github_actions_request_url_must_be_https_off_loopback() {
    for url in [
        "http://pipelines.actions.example/_apis/token",
        "ftp://127.0.0.1/t",
    ] {
        let env = env_of(&[
            (ENV_GITHUB_REQUEST_URL, url.to_owned()),
            (ENV_GITHUB_REQUEST_TOKEN, "req-token-123".to_owned()),
        ]);
        let e = github_error(&env).await;
        assert!(e.contains("must use https"), "{url}: {e}");
        assert!(e.contains(ENV_GITHUB_REQUEST_URL), "{e}");
        assert!(!e.contains("req-token-123"), "{e}");
    }
}

#[tokio::test]
async fn ci_platforms_read_their_variable_and_say_how_to_get_one() {
    for (p, var, marker, inside) in [
        (
            Platform::GitlabCi,
            "OPENAI_ID_TOKEN",
            "GITLAB_CI",
            "id_tokens:",
        ),
        (
            Platform::HcpTerraform,
            "TFC_WORKLOAD_IDENTITY_TOKEN",
            "TFC_RUN_ID",
            "TFC_WORKLOAD_IDENTITY_AUDIENCE",
        ),
        (
            Platform::Circleci,
            "CIRCLE_OIDC_TOKEN_V2",
            "CIRCLECI",
            "context",
        ),
        (
            Platform::BitbucketPipelines,
            "BITBUCKET_STEP_OIDC_TOKEN",
            "BITBUCKET_BUILD_NUMBER",
            "oidc: true",
        ),
    ] {
        let source = Source::Platform {
            platform: p,
            audience: None,
            client_id: None,
            spiffe_id: None,
        };
        let env = env_of(&[(var, format!(" {JWT}\n"))]);
        let got = fetch(&source, &env, T).await.unwrap();
        assert_eq!(got.token.expose(), JWT, "{p:?}");
        assert_eq!(got.token_type, TOKEN_TYPE_JWT);

        let outside = fetch(&source, &env_of(&[]), T)
            .await
            .unwrap_err()
            .to_string();
        assert!(outside.contains(&format!("{var} is not set")), "{outside}");
        let on_platform = env_of(&[(marker, "true".into())]);
        let inside_err = fetch(&source, &on_platform, T)
            .await
            .unwrap_err()
            .to_string();
        assert!(inside_err.contains(inside), "{p:?}: {inside_err}");

        let junk = env_of(&[(var, "sk-proj-not-a-jwt".into())]);
        let e = fetch(&source, &junk, T).await.unwrap_err().to_string();
        assert!(e.contains("not a JWT") && !e.contains("sk-proj"), "{e}");
    }
}

#[tokio::test]
async fn subject_token_env_names_the_variable_and_never_shows_its_value() {
    let source = Source::Env("MY_TOKEN".into());
    let got = fetch(&source, &env_of(&[("MY_TOKEN", JWT.into())]), T)
        .await
        .unwrap();
    assert_eq!(got.token.expose(), JWT);
    let e = fetch(&source, &env_of(&[]), T)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("MY_TOKEN") && e.contains("not set"), "{e}");
    let e = fetch(
        &source,
        &env_of(&[("MY_TOKEN", "hunter2-secret".into())]),
        T,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("environment variable MY_TOKEN"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");

    assert!(check_env_name("OPENAI_ID_TOKEN").is_ok());
    assert!(check_env_name("_x1").is_ok());
    for bad in ["1X", "A-B", "$TOKEN", "eyJhbGciOi.x.y", ""] {
        assert!(check_env_name(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn platform_commands_yield_their_output_and_quote_only_their_errors() {
    let ok = ci::run("/bin/sh", &["-c", &format!("echo '{JWT}'")], T, "hint")
        .await
        .unwrap();
    assert_eq!(ok.expose(), JWT);

    // A failure quotes standard error, without what went to standard output.
    let e = ci::run(
        "/bin/sh",
        &[
            "-c",
            "echo leaked-token-value; echo 'no job: leaked-token-value' >&2; exit 3",
        ],
        T,
        "run it in a job",
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("exited with") && e.contains("no job"), "{e}");
    assert!(!e.contains("leaked-token-value"), "{e}");
    assert!(e.contains("run it in a job"), "{e}");

    let e = ci::run("/nonexistent/buildkite-agent", &[], T, "hint")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("could not run `/nonexistent/buildkite-agent`"),
        "{e}"
    );

    let e = ci::run(
        "/bin/sh",
        &["-c", "sleep 30"],
        Duration::from_millis(300),
        "h",
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("did not finish"), "{e}");
}
