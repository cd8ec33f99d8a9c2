//! `GET /v1/models` with exchanged access tokens: what a service account's
//! role and a mapping's scopes allow.

use crate::support::{ADMIN_KEY, Emu};
use reqwest::StatusCode;
use serde_json::{Value, json};

const PROVIDERS: &str = "/v1/organization/workload_identity_providers";
const AUD: &str = "https://api.openai.com/v1";

struct Setup {
    e: Emu,
    project: String,
    account: String,
    provider: String,
    rule: String,
}

/// A keyless account (role `none`), a provider on the built-in issuer and
/// one rule for `sub = "w"`.
async fn setup() -> Setup {
    let e = Emu::start().await;
    let project = e.project("p").await;
    let account = e.service_account(&project).await;
    let provider = e.builtin_provider("builtin", AUD).await;
    let rule = e
        .rule(
            &provider,
            json!({"project_id": project, "service_account_id": account,
                   "attribute_matchers": {"sub": "w"}}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Setup {
        e,
        project,
        account,
        provider,
        rule,
    }
}

impl Setup {
    async fn access_token(&self) -> String {
        let token = self.e.mint(json!({"sub": "w", "aud": AUD})).await;
        let (s, v) = self.e.exchange(&self.provider, &self.account, &token).await;
        assert_eq!(s, 200, "{v}");
        v["access_token"].as_str().unwrap().to_owned()
    }

    async fn models(&self, bearer: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.e.http.get(self.e.url("/v1/models"));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        let resp = req.send().await.unwrap();
        (resp.status(), resp.json().await.unwrap())
    }

    async fn set_role(&self, role: &str) {
        let path = format!(
            "/v1/organization/projects/{}/service_accounts/{}",
            self.project, self.account
        );
        let (s, v) = self.e.post(&path, json!({"role": role})).await;
        assert_eq!(s, 200, "{v}");
    }
}

#[tokio::test]
async fn an_account_without_a_role_exchanges_but_may_not_call_the_api() {
    let s = setup().await;
    let access = s.access_token().await;
    let (status, v) = s.models(Some(&access)).await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["error"]["code"], Value::Null, "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "You have insufficient permissions for this operation. Missing scopes: api.model.read."
        ),
        "{message}"
    );
    assert!(message.contains("no role"), "{message}");

    // Given a role, the same token works: the role is checked per call.
    s.set_role("member").await;
    let (status, v) = s.models(Some(&access)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["object"], "list");
    let first = &v["data"][0];
    assert_eq!(first["object"], "model");
    assert!(first["id"].is_string() && first["created"].is_i64(), "{v}");
    assert!(first["owned_by"].is_string(), "{v}");
}

#[tokio::test]
async fn only_live_exchanged_tokens_are_accepted() {
    let s = setup().await;
    s.set_role("owner").await;
    let access = s.access_token().await;
    assert_eq!(s.models(Some(&access)).await.0, 200);

    for bearer in [None, Some(ADMIN_KEY), Some("wifat_unknown")] {
        let (status, v) = s.models(bearer).await;
        assert_eq!(status, 401, "{bearer:?}: {v}");
        assert!(v["error"]["message"].is_string(), "{v}");
    }

    // Expired: the emulator's clock moves past the token's lifetime.
    s.e.emu.set_clock_offset(3601);
    let (status, v) = s.models(Some(&access)).await;
    assert_eq!(status, 401, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("expired"),
        "{v}"
    );
    s.e.emu.set_clock_offset(0);

    // The account is deleted: its tokens stand for nobody.
    let path = format!(
        "/v1/organization/projects/{}/service_accounts/{}",
        s.project, s.account
    );
    assert_eq!(s.e.delete(&path).await.0, 200);
    assert_eq!(s.models(Some(&access)).await.0, 401);
}

#[tokio::test]
async fn restricted_scopes_must_include_model_read() {
    let s = setup().await;
    s.set_role("member").await;
    let rule = format!("{PROVIDERS}/{}/federation_rules/{}", s.provider, s.rule);
    let (st, v) =
        s.e.post(
            &rule,
            json!({"permissions": {"type": "restricted", "scopes": ["api.vector_store.read"]}}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let access = s.access_token().await;
    let (status, v) = s.models(Some(&access)).await;
    assert_eq!(status, 401, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("api.model.read"),
        "{v}"
    );

    s.e.post(
        &rule,
        json!({"permissions": {"type": "restricted", "scopes": ["api.model.read"]}}),
    )
    .await;
    let access = s.access_token().await;
    assert_eq!(s.models(Some(&access)).await.0, 200);
}
