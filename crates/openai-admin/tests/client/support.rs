//! Thin helpers over the emulator for the client's integration tests: start
//! one, a fast-retrying client config for it, scripted faults by method and
//! path, the request log, seeding, and one loopback stand-in the emulator
//! cannot play ([`dropping_server`]).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openai_admin::models::*;
use openai_admin::retry::Backoff;
use openai_admin::secret::Secret;
use openai_admin::{Client, ClientConfig};
pub use openai_emulator::{Credential, FaultAction};
use openai_emulator::{EmulatorConfig, FaultRule, RunningEmulator, start};
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

pub const ADMIN_KEY: &str = "sk-admin-test-key";
pub const AUDIENCE: &str = "https://api.openai.com/v1";
/// Claims of a token the seeded exchange's mapping accepts.
pub const REPOSITORY: &str = "my-org/my-repo";

/// A scripted reply of `status` with an error envelope, nothing handled.
pub fn status(status: u16) -> FaultAction {
    FaultAction::Status { status }
}

/// One request as the emulator logged it, with the path below `/v1`
/// (`/oauth/token` stays as is), as the client names paths.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<Credential>,
    pub request_id: String,
}

/// A keyless service account, its project, and a provider trusting the
/// emulator's built-in issuer with one mapping for that account.
pub struct Exchange {
    pub provider_id: String,
    pub service_account_id: String,
}

pub struct Api {
    pub emu: RunningEmulator,
    /// A separate client for seeding, so the client under test starts fresh.
    seeder: Client,
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl Api {
    pub async fn start() -> Api {
        Self::start_with(EmulatorConfig::new(ADMIN_KEY)).await
    }

    /// An emulator run with `config` (its admin key must be [`ADMIN_KEY`]).
    pub async fn start_with(config: EmulatorConfig) -> Api {
        let emu = start(config).await.unwrap();
        let seeder = Client::new(config_for(&emu)).unwrap();
        Api { emu, seeder }
    }

    /// A config with fast backoff, so retry tests stay quick.
    pub fn config(&self) -> ClientConfig {
        config_for(&self.emu)
    }

    pub fn client(&self) -> Client {
        Client::new(self.config()).unwrap()
    }

    /// Scripts `action` for the next request with this method and path
    /// (below `/v1`, e.g. `/organization/projects`, or `/oauth/token`).
    /// Faults for the same request are used in the order scripted.
    pub fn fault(&self, method: Method, path: &str, action: FaultAction) {
        self.fault_n(1, method, path, action);
    }

    pub fn fault_n(&self, n: u32, method: Method, path: &str, action: FaultAction) {
        let full = if path.starts_with("/oauth/") {
            path.to_owned()
        } else {
            format!("/v1{path}")
        };
        self.emu
            .script([FaultRule::new(method.as_str(), full, action).times(n)])
            .unwrap();
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.emu
            .requests()
            .into_iter()
            .map(|r| Recorded {
                method: Method::from_bytes(r.method.as_bytes()).unwrap(),
                path: r
                    .path
                    .strip_prefix("/v1")
                    .map(str::to_owned)
                    .unwrap_or(r.path),
                query: r.query,
                authorization: r.authorization,
                request_id: r.request_id,
            })
            .collect()
    }

    /// How many requests with this method reached exactly this path.
    pub fn count(&self, method: Method, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .count()
    }

    /// The stored providers, read without a request.
    pub fn providers(&self) -> Vec<WorkloadIdentityProvider> {
        self.emu.organization().providers
    }

    pub fn rules(&self) -> Vec<FederationRule> {
        self.emu.organization().rules
    }

    pub fn projects(&self) -> Vec<Project> {
        self.emu.organization().projects
    }

    /// (project id, account).
    pub fn service_accounts(&self) -> Vec<(String, ServiceAccount)> {
        self.emu.organization().service_accounts
    }

    // Seeding goes through the API with the seeder; the log is emptied
    // afterwards so tests count only what the client under test sent.

    pub async fn seed_provider(&self, name: &str) -> WorkloadIdentityProvider {
        let p = self
            .seeder
            .create_provider(&provider_request(name))
            .await
            .unwrap();
        self.emu.clear_requests();
        p
    }

    pub async fn seed_project(&self, name: &str) -> Project {
        let p = self
            .seeder
            .create_project(&CreateProjectRequest {
                name: name.into(),
                ..Default::default()
            })
            .await
            .unwrap();
        self.emu.clear_requests();
        p
    }

    /// A keyless service account in `project_id`; returns its id.
    pub async fn seed_account(&self, project_id: &str, name: &str) -> String {
        let sa = self
            .seeder
            .create_service_account(
                project_id,
                &CreateServiceAccountRequest {
                    name: name.into(),
                    create_service_account_only: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        self.emu.clear_requests();
        sa.id
    }

    /// A project with one keyless service account: (project id, account id).
    pub async fn seed_binding(&self) -> (String, String) {
        let project = self.seed_project("wif").await;
        let account = self.seed_account(&project.id, "deployer").await;
        (project.id, account)
    }

    pub async fn seed_rule(&self, provider_id: &str, req: CreateRuleRequest) -> FederationRule {
        let r = self.seeder.create_rule(provider_id, &req).await.unwrap();
        self.emu.clear_requests();
        r
    }

    /// A rule made with the emulator's clock `age_secs` in the past.
    pub async fn seed_old_rule(
        &self,
        provider_id: &str,
        req: CreateRuleRequest,
        age_secs: i64,
    ) -> FederationRule {
        self.emu.set_clock_offset(-age_secs);
        let r = self.seeder.create_rule(provider_id, &req).await;
        self.emu.set_clock_offset(0);
        self.emu.clear_requests();
        r.unwrap()
    }

    /// Everything a successful exchange needs.
    pub async fn seed_exchange(&self) -> Exchange {
        let (project, account) = self.seed_binding().await;
        let provider = self
            .seeder
            .create_provider(&CreateProviderRequest {
                name: "builtin".into(),
                issuer: self.emu.issuer_url(),
                audience: AUDIENCE.into(),
                kind: "oidc".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let mut matchers = AttributeMatchers::new();
        matchers.insert("repository".into(), json!(REPOSITORY));
        self.seeder
            .create_rule(
                &provider.id,
                &CreateRuleRequest {
                    project_id: project,
                    service_account_id: account.clone(),
                    attribute_matchers: matchers,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        self.emu.clear_requests();
        Exchange {
            provider_id: provider.id,
            service_account_id: account,
        }
    }

    /// A subject token from the built-in issuer for `repository`, valid two
    /// hours (so the access token gets the full hour).
    pub fn subject_token(&self, repository: &str) -> String {
        self.emu
            .mint(
                json!({"sub": "repo:x", "aud": AUDIENCE, "repository": repository,
                         "exp": now() + 7200}),
            )
            .unwrap()
    }
}

fn config_for(emu: &RunningEmulator) -> ClientConfig {
    ClientConfig {
        base_url: Url::parse(&emu.api_base()).unwrap(),
        admin_key: Some(Secret::new(ADMIN_KEY)),
        token_exchange_url: Url::parse(&emu.token_url()).unwrap(),
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        max_retries: 3,
        backoff: Backoff {
            base: Duration::from_millis(5),
            cap: Duration::from_millis(40),
            max_retry_after: Duration::from_secs(60),
            rate_limit_base: Duration::from_millis(5),
            rate_limit_cap: Duration::from_millis(40),
        },
        ..ClientConfig::default()
    }
}

pub fn provider_request(name: &str) -> CreateProviderRequest {
    CreateProviderRequest {
        name: name.into(),
        issuer: "https://token.actions.githubusercontent.com".into(),
        audience: AUDIENCE.into(),
        kind: "oidc".into(),
        ..Default::default()
    }
}

pub fn rule_request(project_id: &str, sa: &str) -> CreateRuleRequest {
    let mut matchers = AttributeMatchers::new();
    matchers.insert("repository".into(), json!(REPOSITORY));
    matchers.insert("ref".into(), json!("refs/heads/main"));
    CreateRuleRequest {
        project_id: project_id.into(),
        service_account_id: sa.into(),
        attribute_matchers: matchers,
        ..Default::default()
    }
}

/// The emulator's error envelope text, for scripted bodies.
pub fn error_body(code: &str, message: &str) -> String {
    let v: Value = json!({"error": {
        "message": message,
        "type": "invalid_request_error",
        "param": null,
        "code": code,
    }});
    v.to_string()
}

// ------------------------------------------------------------------ raw TCP

/// A bare HTTP server that closes the first `drops` connections right after
/// reading the request (a clean close with no answer, which the emulator's
/// `drop` does not produce: it resets), then answers every request with
/// `200` and `body`. Returns its address and a connection counter.
pub async fn dropping_server(
    drops: usize,
    body: &'static str,
) -> (std::net::SocketAddr, Arc<Mutex<usize>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(Mutex::new(0usize));
    let counter = connections.clone();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let n = {
                let mut c = counter.lock().unwrap();
                *c += 1;
                *c
            };
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => buf.extend_from_slice(&chunk[..k]),
                    }
                }
                if n <= drops {
                    return; // dropping the socket closes it without an answer
                }
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                    body.len(),
                    body
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (addr, connections)
}
