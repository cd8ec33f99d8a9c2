//! Helpers shared by the emulator integration tests: an in-process emulator
//! plus a small JSON client.

use openai_emulator::{EmulatorConfig, RunningEmulator, start};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const ADMIN_KEY: &str = "sk-admin-emulator-test";
pub const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

pub struct Emu {
    pub emu: RunningEmulator,
    pub http: reqwest::Client,
}

pub type Reply = (StatusCode, Value);

impl Emu {
    /// With `verbose_refusals`, so tests can check which check refused.
    pub async fn start() -> Self {
        let mut config = EmulatorConfig::new(ADMIN_KEY);
        config.verbose_refusals = true;
        Self::start_with(config).await
    }

    pub async fn start_with(config: EmulatorConfig) -> Self {
        let emu = start(config).await.expect("emulator starts");
        Emu {
            emu,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emu.base_url())
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let resp = req.send().await.expect("request is answered");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(self.url(path)).bearer_auth(ADMIN_KEY))
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(
            self.http
                .post(self.url(path))
                .bearer_auth(ADMIN_KEY)
                .json(&body),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.http.delete(self.url(path)).bearer_auth(ADMIN_KEY))
            .await
    }

    pub async fn post_raw(&self, path: &str, body: &'static str) -> Reply {
        self.send(
            self.http
                .post(self.url(path))
                .bearer_auth(ADMIN_KEY)
                .header("content-type", "application/json")
                .body(body),
        )
        .await
    }

    pub async fn project(&self, name: &str) -> String {
        let (s, v) = self
            .post("/v1/organization/projects", json!({"name": name}))
            .await;
        assert_eq!(s, 200, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// A keyless service account in `project`.
    pub async fn service_account(&self, project: &str) -> String {
        let (s, v) = self
            .post(
                &format!("/v1/organization/projects/{project}/service_accounts"),
                json!({"name": "wif", "create_service_account_only": true}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    pub async fn provider(&self, body: Value) -> Value {
        let (s, v) = self
            .post("/v1/organization/workload_identity_providers", body)
            .await;
        assert_eq!(s, 200, "{v}");
        v
    }

    /// A provider trusting the built-in issuer through standard discovery.
    pub async fn builtin_provider(&self, name: &str, audience: &str) -> String {
        let v = self
            .provider(json!({
                "name": name,
                "issuer": self.emu.issuer_url(),
                "audience": audience,
                "type": "oidc",
            }))
            .await;
        v["id"].as_str().unwrap().to_owned()
    }

    pub async fn rule(&self, provider: &str, body: Value) -> Value {
        let (s, v) = self
            .post(
                &format!(
                    "/v1/organization/workload_identity_providers/{provider}/federation_rules"
                ),
                body,
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v
    }

    /// A subject token from the built-in issuer (`query` e.g. `?kid=x`).
    pub async fn mint_with(&self, claims: Value, query: &str) -> String {
        let resp = self
            .http
            .post(self.url(&format!("/_emulator/oidc/token{query}")))
            .bearer_auth(ADMIN_KEY)
            .json(&claims)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.unwrap();
        v["token"].as_str().unwrap().to_owned()
    }

    pub async fn mint(&self, claims: Value) -> String {
        self.mint_with(claims, "").await
    }

    pub async fn exchange_body(&self, body: Value) -> Reply {
        self.send(self.http.post(self.emu.token_url()).json(&body))
            .await
    }

    pub async fn exchange(&self, provider: &str, account: &str, token: &str) -> Reply {
        self.exchange_body(json!({
            "grant_type": GRANT,
            "subject_token_type": JWT,
            "subject_token": token,
            "identity_provider_id": provider,
            "service_account_id": account,
        }))
        .await
    }

    pub async fn stats(&self) -> Value {
        self.http
            .get(self.url("/_emulator/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// Asserts an Admin API error envelope.
pub fn assert_api_error(reply: &Reply, status: u16, code: Option<&str>, param: Option<&str>) {
    let (s, v) = reply;
    assert_eq!(s.as_u16(), status, "status of {v}");
    let e = &v["error"];
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(e["type"].is_string(), "{v}");
    assert_eq!(e["code"].as_str(), code, "code of {v}");
    assert_eq!(e["param"].as_str(), param, "param of {v}");
}

/// Asserts an OAuth refusal, that its description contains `needle`, that
/// it starts with a shared refusal reason's message (so the provider can
/// classify it), and that it has that reason's status.
pub fn assert_refused(reply: &Reply, error: &str, needle: &str) {
    let (s, v) = reply;
    assert_eq!(v["error"], error, "{v}");
    let d = v["error_description"].as_str().unwrap_or_default();
    assert!(d.contains(needle), "description {d:?} lacks {needle:?}");
    let reason = openai_admin::refusal::Reason::classify(error, d);
    let Some(reason) = reason else {
        panic!("description {d:?} starts with no shared reason of {error}");
    };
    assert_eq!(s.as_u16(), reason.status(), "{v}");
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
