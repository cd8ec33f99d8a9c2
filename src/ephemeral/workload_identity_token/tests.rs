//! Validation, renewal timing and the open/renew cycle against an
//! in-process emulator.

use serde_json::{Value as Json, json};

use super::*;
use crate::config::Settings;
use crate::values::object;
use openai_emulator::{EmulatorConfig, RunningEmulator};
use tfplugin::codec::Value;
use tfplugin::framework::Severity;

const ADMIN: &str = "sk-admin-unit";

fn config(pairs: &[(&str, Value)]) -> Value {
    let mut v = schema().stub(&[]);
    for (k, val) in pairs {
        set_attr(&mut v, k, val.clone());
    }
    v
}

fn ids() -> Vec<(&'static str, Value)> {
    vec![
        ("workload_identity_provider_id", string("wip_1")),
        ("service_account_id", string("svc_acct_1")),
    ]
}

fn with(extra: &[(&'static str, Value)]) -> Value {
    let mut pairs = ids();
    pairs.extend(extra.iter().cloned());
    config(&pairs)
}

fn check(v: &Value) -> Diagnostics {
    let mut d = Diagnostics::new();
    validate_config(v, &mut d);
    d
}

fn paths(d: &Diagnostics) -> Vec<String> {
    d.iter()
        .map(|d| match &d.path {
            Some(p) => format!("{p:?}"),
            None => "-".into(),
        })
        .collect()
}

#[test]
fn exactly_one_source() {
    let d = check(&with(&[]));
    assert!(d.has_errors());
    assert!(d.iter().any(|d| d.summary == "Missing subject token"));

    let d = check(&with(&[
        ("subject_token", string("a.b.c")),
        ("subject_token_file", string("/t")),
    ]));
    let conflicts: Vec<_> = d
        .iter()
        .filter(|d| d.summary == "Conflicting subject token sources")
        .collect();
    assert_eq!(conflicts.len(), 2, "{d:?}");
    assert_eq!(conflicts[0].path, Some(Path::root().attr("subject_token")));
    assert!(
        conflicts[0]
            .detail
            .contains("subject_token and subject_token_file")
    );

    for one in [
        ("subject_token", string("a.b.c")),
        ("subject_token_file", string("/t")),
        ("subject_token_source", string("kubernetes")),
    ] {
        let d = check(&with(std::slice::from_ref(&one)));
        assert!(d.is_empty(), "{one:?}: {d:?}");
    }
    // Unknown values may turn out null or set: no verdict yet.
    assert!(check(&with(&[("subject_token", Value::Unknown)])).is_empty());
}

#[test]
fn unknown_source_lists_the_allowed_values() {
    let d = check(&with(&[("subject_token_source", string("github"))]));
    let all: Vec<_> = d.iter().collect();
    assert_eq!(all.len(), 1, "{d:?}");
    assert_eq!(all[0].path, Some(Path::root().attr("subject_token_source")));
    assert!(all[0].detail.contains("\"github\""));
    for p in Platform::ALL {
        assert!(all[0].detail.contains(p.name()), "{}", all[0].detail);
    }
}

#[test]
fn audience_and_client_id_only_where_they_apply() {
    for platform in ["github_actions", "gcp", "azure"] {
        let d = check(&with(&[
            ("subject_token_source", string(platform)),
            ("audience", string("https://x")),
        ]));
        assert!(d.is_empty(), "{platform}: {d:?}");
    }
    let d = check(&with(&[
        ("subject_token_source", string("kubernetes")),
        ("audience", string("https://x")),
    ]));
    assert_eq!(paths(&d).len(), 1);
    assert_eq!(
        d.iter().next().unwrap().path,
        Some(Path::root().attr("audience"))
    );

    let d = check(&with(&[
        ("subject_token", string("a.b.c")),
        ("client_id", string("c")),
    ]));
    assert_eq!(
        d.iter().next().unwrap().path,
        Some(Path::root().attr("client_id"))
    );
    let d = check(&with(&[
        ("subject_token_source", string("azure")),
        ("client_id", string("c")),
    ]));
    assert!(d.is_empty(), "{d:?}");

    let d = check(&with(&[("subject_token", string(" "))]));
    assert!(
        d.iter().any(|d| d.summary == "Empty subject_token"),
        "{d:?}"
    );
}

#[test]
fn renewal_comes_at_80_percent_and_at_least_a_minute_early() {
    let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
    let s = Duration::from_secs;
    assert_eq!(renew_at(t0, s(3600)), t0 + s(2880));
    assert_eq!(renew_at(t0, s(600)), t0 + s(480));
    assert_eq!(renew_at(t0, s(120)), t0 + s(60));
    assert_eq!(renew_at(t0, s(30)), t0);
}

#[test]
fn timestamps_are_rfc3339_utc() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_767_225_600), "2026-01-01T00:00:00Z");
}

// ------------------------------------------------------------ open / renew

struct Setup {
    emu: RunningEmulator,
    http: reqwest::Client,
    provider: String,
    account: String,
}

async fn post(http: &reqwest::Client, url: String, body: Json) -> Json {
    let r = http
        .post(&url)
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r.json().await.unwrap()
}

async fn setup(scopes: Option<&[&str]>) -> Setup {
    let emu = openai_emulator::start(EmulatorConfig::new(ADMIN))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let api = emu.api_base();
    let project = post(
        &http,
        format!("{api}/organization/projects"),
        json!({"name": "p"}),
    )
    .await;
    let project = project["id"].as_str().unwrap().to_owned();
    let account = post(
        &http,
        format!("{api}/organization/projects/{project}/service_accounts"),
        json!({"name": "wif", "create_service_account_only": true}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let provider = post(
        &http,
        format!("{api}/organization/workload_identity_providers"),
        json!({"name": "b", "issuer": emu.issuer_url(), "audience": DEFAULT_AUDIENCE, "type": "oidc"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let permissions = match scopes {
        Some(s) => json!({"type": "restricted", "scopes": s}),
        None => json!({"type": "service_account_default"}),
    };
    post(
        &http,
        format!("{api}/organization/workload_identity_providers/{provider}/federation_rules"),
        json!({"project_id": project, "service_account_id": account,
               "attribute_matchers": {"repository": "my-org/my-repo"}, "permissions": permissions}),
    )
    .await;
    Setup {
        emu,
        http,
        provider,
        account,
    }
}

impl Setup {
    async fn mint(&self, claims: Json) -> String {
        let r = self
            .http
            .post(format!("{}/_emulator/oidc/token", self.emu.base_url()))
            .json(&claims)
            .send()
            .await
            .unwrap();
        r.json::<Json>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn data(&self) -> OpenAi {
        OpenAi::new(Settings {
            // No admin key: the exchange must not need one.
            admin_key: None,
            base_url: url::Url::parse(&self.emu.api_base()).unwrap(),
            token_exchange_url: url::Url::parse(&self.emu.token_url()).unwrap(),
            request_timeout: Duration::from_secs(10),
            max_retries: 0,
            max_providers: 50,
            max_mappings_per_provider: 50,
        })
        .unwrap()
    }

    fn config(&self, token: &str) -> Value {
        config(&[
            ("workload_identity_provider_id", string(&self.provider)),
            ("service_account_id", string(&self.account)),
            ("subject_token", string(token)),
        ])
    }
}

#[tokio::test]
async fn open_exchanges_and_private_bytes_hold_no_secret() {
    let s = setup(Some(&["api.model.request", "api.model.read"])).await;
    let token = s
        .mint(json!({"sub": "x", "aud": DEFAULT_AUDIENCE, "repository": "my-org/my-repo"}))
        .await;
    let before = unix(SystemTime::now());
    let opened = WorkloadIdentityTokenEphemeral
        .open(&s.data(), OpenRequest::new(s.config(&token)))
        .await
        .unwrap();
    let access = str_attr(&opened.result, "access_token").unwrap().to_owned();
    assert!(access.starts_with("wifat_"), "{access}");
    assert_eq!(str_attr(&opened.result, "token_type"), Some("Bearer"));
    assert_eq!(
        str_attr(&opened.result, "scope"),
        Some("api.model.request api.model.read")
    );
    // Config attributes are echoed unchanged.
    assert_eq!(
        str_attr(&opened.result, "subject_token"),
        Some(token.as_str())
    );
    // The minted subject token lives 600 s, so the access token does too.
    let expires = time::OffsetDateTime::parse(
        str_attr(&opened.result, "expires_at").unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .unix_timestamp();
    assert!(
        (before + 590..=before + 601).contains(&expires),
        "{expires} vs {before}"
    );
    let renew = unix(opened.renew_at.unwrap());
    assert_eq!(renew, expires - 120, "80 % of 600 s");

    let private = String::from_utf8(opened.private.clone()).unwrap();
    assert!(!private.contains(&access));
    assert!(!private.contains(&token));
    assert!(private.contains(&s.provider));

    // Renewal does not exchange again: it warns about the expiry and stops.
    let d = WorkloadIdentityTokenEphemeral
        .renew(&s.data(), RenewRequest::new(opened.private.clone()))
        .await
        .unwrap_err();
    let all: Vec<_> = d.iter().collect();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].severity, Severity::Warning);
    assert!(
        all[0].detail.contains(&rfc3339(expires)),
        "{}",
        all[0].detail
    );
    assert!(!all[0].detail.contains(&access));

    let d = WorkloadIdentityTokenEphemeral
        .renew(&s.data(), RenewRequest::new(b"garbage".to_vec()))
        .await
        .unwrap_err();
    assert!(d.has_errors());
}

#[tokio::test]
async fn default_permissions_give_a_null_scope() {
    let s = setup(None).await;
    let token = s
        .mint(json!({"sub": "x", "aud": DEFAULT_AUDIENCE, "repository": "my-org/my-repo"}))
        .await;
    let opened = WorkloadIdentityTokenEphemeral
        .open(&s.data(), OpenRequest::new(s.config(&token)))
        .await
        .unwrap();
    assert_eq!(attr(&opened.result, "scope"), &Value::Null);
}

#[tokio::test]
async fn refusals_become_diagnostics_without_tokens() {
    let s = setup(None).await;
    let token = s
        .mint(json!({"sub": "x", "aud": DEFAULT_AUDIENCE, "repository": "evil/repo"}))
        .await;
    let d = WorkloadIdentityTokenEphemeral
        .open(&s.data(), OpenRequest::new(s.config(&token)))
        .await
        .err()
        .unwrap();
    let all: Vec<_> = d.iter().collect();
    assert_eq!(all.len(), 1, "{d:?}");
    assert!(
        all[0]
            .summary
            .contains("No service account mapping matches the token")
    );
    assert!(all[0].detail.contains("invalid_grant"));
    assert!(
        all[0].detail.contains("evil/repo"),
        "names the claim: {}",
        all[0].detail
    );
    assert!(!all[0].detail.contains(&token));

    // Unknown provider: points at the argument.
    let mut cfg = s.config(&token);
    set_attr(
        &mut cfg,
        "workload_identity_provider_id",
        string("wip_nope"),
    );
    let d = WorkloadIdentityTokenEphemeral
        .open(&s.data(), OpenRequest::new(cfg))
        .await
        .err()
        .unwrap();
    let first = d.iter().next().unwrap();
    assert!(
        first.summary.contains("Unknown workload identity provider"),
        "{first:?}"
    );
    assert_eq!(
        first.path,
        Some(Path::root().attr("workload_identity_provider_id"))
    );
}

#[tokio::test]
async fn subject_token_file_errors_point_at_the_argument() {
    let s = setup(None).await;
    let cfg = object([
        ("workload_identity_provider_id", string(&s.provider)),
        ("service_account_id", string(&s.account)),
        ("subject_token", Value::Null),
        ("subject_token_file", string("/nonexistent/openai-token")),
        ("subject_token_source", Value::Null),
        ("audience", Value::Null),
        ("client_id", Value::Null),
        ("access_token", Value::Null),
        ("expires_at", Value::Null),
        ("scope", Value::Null),
        ("token_type", Value::Null),
    ]);
    let d = WorkloadIdentityTokenEphemeral
        .open(&s.data(), OpenRequest::new(cfg))
        .await
        .err()
        .unwrap();
    let first = d.iter().next().unwrap();
    assert_eq!(first.summary, "Cannot get the subject token");
    assert!(
        first.detail.contains("/nonexistent/openai-token"),
        "{}",
        first.detail
    );
    assert_eq!(first.path, Some(Path::root().attr("subject_token_file")));
}
