//! Validation, renewal timing and the open/renew cycle against an
//! in-process emulator.

use serde_json::{Value as Json, json};

use super::*;
use crate::config::Settings;
use crate::values::testing::{Rule, assert_rule, at, validation_of};
use openai_emulator::{EmulatorConfig, RunningEmulator};
use tfplugin::codec::Value;
use tfplugin::framework::Severity;
use tfplugin::framework::model::schema_mismatches;

const ADMIN: &str = "sk-admin-unit";

fn text(v: &str) -> Field<String> {
    Field::Known(v.to_string())
}

fn secret(v: &str) -> Field<Sensitive> {
    Field::Known(Sensitive(Secret::new(v)))
}

/// A configuration with both ids and no subject token source.
fn ids() -> TokenModel {
    TokenModel {
        workload_identity_provider_id: text("wip_1"),
        service_account_id: text("svc_acct_1"),
        ..TokenModel::default()
    }
}

/// Validates the configuration as Terraform would send it.
fn check(config: &TokenModel) -> Diagnostics {
    validation_of(
        &schema(),
        &WorkloadIdentityTokenEphemeral.config_rules(),
        config,
    )
}

/// Opening (and the action's invoke) refuses what validation refuses,
/// blank values included, before any token is fetched.
#[test]
fn request_of_refuses_what_validation_refuses() {
    let config = TokenModel {
        subject_token_env: text("TOKEN"),
        ..ids()
    };
    assert!(request_of(&config).is_ok());
    let blank = TokenModel {
        service_account_id: text("  "),
        ..config
    };
    let Err(d) = request_of(&blank) else {
        panic!("a blank service_account_id was accepted")
    };
    let summaries: Vec<_> = d.iter().map(|d| d.summary.as_str()).collect();
    assert_eq!(summaries, ["Empty service_account_id"]);
}

#[test]
fn model_matches_schema() {
    assert_eq!(schema_mismatches::<M>(&schema()), Vec::<String>::new());
}

#[test]
fn printing_a_model_shows_no_token() {
    let m = TokenModel {
        subject_token: secret("eyJsubject"),
        access_token: secret("wifat_access"),
        ..ids()
    };
    let printed = format!("{m:?}");
    assert!(!printed.contains("eyJsubject"), "{printed}");
    assert!(!printed.contains("wifat_access"), "{printed}");
    // The value Terraform gets still carries them.
    let v = m.to_value();
    assert_eq!(
        v.get_attr(M::access_token).and_then(Value::as_str),
        Some("wifat_access")
    );
}

#[test]
fn exactly_one_source() {
    let d = check(&ids());
    assert!(d.has_errors());
    assert!(d.iter().any(|d| d.summary == "Missing subject token"));

    let d = check(&TokenModel {
        subject_token: secret("a.b.c"),
        subject_token_file: text("/t"),
        ..ids()
    });
    let conflicts: Vec<_> = d
        .iter()
        .filter(|d| d.summary == "Conflicting subject token sources")
        .collect();
    assert_eq!(conflicts.len(), 2, "{d:?}");
    assert_eq!(conflicts[0].path, at(M::subject_token));
    assert_eq!(conflicts[1].path, at(M::subject_token_file));
    assert!(
        conflicts[0]
            .detail
            .contains("subject_token and subject_token_file")
    );

    for (case, one) in [
        (
            "inline",
            TokenModel {
                subject_token: secret("a.b.c"),
                ..ids()
            },
        ),
        (
            "file",
            TokenModel {
                subject_token_file: text("/t"),
                ..ids()
            },
        ),
        (
            "platform",
            TokenModel {
                subject_token_source: text("kubernetes"),
                ..ids()
            },
        ),
        (
            "environment variable",
            TokenModel {
                subject_token_env: text("OPENAI_ID_TOKEN"),
                ..ids()
            },
        ),
        (
            "circleci with its own audience",
            TokenModel {
                subject_token_source: text("circleci"),
                audience: text("https://api.openai.com/v1"),
                ..ids()
            },
        ),
        // Unknown values may turn out null or set: no verdict yet.
        (
            "unknown",
            TokenModel {
                subject_token: Field::Unknown,
                ..ids()
            },
        ),
    ] {
        let d = check(&one);
        assert!(d.is_empty(), "{case}: {d:?}");
    }
}

#[test]
fn unknown_source_lists_the_allowed_values() {
    let d = check(&TokenModel {
        subject_token_source: text("github"),
        ..ids()
    });
    let all: Vec<_> = d.iter().collect();
    assert_eq!(all.len(), 1, "{d:?}");
    assert_eq!(all[0].path, at(M::subject_token_source));
    assert!(all[0].detail.contains("\"github\""));
    for p in Platform::ALL {
        assert!(all[0].detail.contains(p.name()), "{}", all[0].detail);
    }
}

#[test]
fn audience_and_client_id_only_where_they_apply() {
    for platform in ["github_actions", "gcp", "azure", "aws", "spiffe"] {
        let d = check(&TokenModel {
            subject_token_source: text(platform),
            audience: text("https://x"),
            ..ids()
        });
        assert!(d.is_empty(), "{platform}: {d:?}");
    }
    let d = check(&TokenModel {
        subject_token_source: text("azure"),
        client_id: text("c"),
        ..ids()
    });
    assert!(d.is_empty(), "{d:?}");
    let d = check(&TokenModel {
        subject_token_source: text("spiffe"),
        spiffe_id: text("spiffe://example.org/ci"),
        ..ids()
    });
    assert!(d.is_empty(), "{d:?}");
    // With the source unknown, neither can be judged yet.
    let d = check(&TokenModel {
        subject_token_source: Field::Unknown,
        audience: text("https://x"),
        client_id: text("c"),
        ..ids()
    });
    assert!(d.is_empty(), "{d:?}");
}

#[test]
fn each_rule_fails_with_its_message_on_its_attribute() {
    let inline = || TokenModel {
        subject_token: secret("a.b.c"),
        ..ids()
    };
    let rules = [
        Rule {
            case: "empty provider id",
            config: TokenModel {
                workload_identity_provider_id: text(""),
                ..inline()
            },
            path: at(M::workload_identity_provider_id),
            summary: "Empty workload_identity_provider_id",
            detail: "workload_identity_provider_id must not be empty. Give the provider's id (`wip_...`).",
        },
        Rule {
            case: "blank service account id",
            config: TokenModel {
                service_account_id: text(" "),
                ..inline()
            },
            path: at(M::service_account_id),
            summary: "Empty service_account_id",
            detail: "service_account_id must not be empty. Give the service account's id (`svc_acct_...`).",
        },
        Rule {
            case: "blank subject token",
            config: TokenModel {
                subject_token: secret(" "),
                ..ids()
            },
            path: at(M::subject_token),
            summary: "Empty subject_token",
            detail: "subject_token must not be empty",
        },
        Rule {
            case: "empty subject token file",
            config: TokenModel {
                subject_token_file: text(""),
                ..ids()
            },
            path: at(M::subject_token_file),
            summary: "Empty subject_token_file",
            detail: "subject_token_file must not be empty",
        },
        Rule {
            case: "empty audience",
            config: TokenModel {
                subject_token_source: text("gcp"),
                audience: text(""),
                ..ids()
            },
            path: at(M::audience),
            summary: "Empty audience",
            detail: "audience must not be empty",
        },
        Rule {
            case: "cloud management audience",
            config: TokenModel {
                subject_token_source: text("azure"),
                audience: text("https://management.azure.com/"),
                ..ids()
            },
            path: at(M::audience),
            summary: "Cloud management audience",
            detail: "is the audience of Azure Resource Manager",
        },
        Rule {
            case: "empty client id",
            config: TokenModel {
                subject_token_source: text("azure"),
                client_id: text(""),
                ..ids()
            },
            path: at(M::client_id),
            summary: "Empty client_id",
            detail: "client_id must not be empty",
        },
        Rule {
            case: "no source",
            config: ids(),
            path: None,
            summary: "Missing subject token",
            detail: "Set exactly one of subject_token (the token itself), subject_token_file",
        },
        Rule {
            case: "unknown platform",
            config: TokenModel {
                subject_token_source: text("github"),
                ..ids()
            },
            path: at(M::subject_token_source),
            summary: "Unknown subject_token_source",
            detail: "\"github\" is not a supported subject token source. Allowed values: ",
        },
        Rule {
            case: "audience with a platform that mints no token for it",
            config: TokenModel {
                subject_token_source: text("kubernetes"),
                audience: text("https://x"),
                ..ids()
            },
            path: at(M::audience),
            summary: "audience has no effect here",
            detail: "audience is used only with subject_token_source \"github_actions\", \"gcp\", \"azure\", \"aws\", \"spiffe\", \"circleci\" or \"buildkite\"",
        },
        Rule {
            case: "subject_token_env that is no variable name",
            config: TokenModel {
                subject_token_env: text("$OPENAI_ID_TOKEN"),
                ..ids()
            },
            path: at(M::subject_token_env),
            summary: "Invalid subject_token_env",
            detail: "is not an environment variable name",
        },
        Rule {
            case: "audience with an inline token",
            config: TokenModel {
                audience: text("https://x"),
                ..inline()
            },
            path: at(M::audience),
            summary: "audience has no effect here",
            detail: "remove audience.",
        },
        Rule {
            case: "client id without azure",
            config: TokenModel {
                client_id: text("c"),
                ..inline()
            },
            path: at(M::client_id),
            summary: "client_id has no effect here",
            detail: "client_id selects a user-assigned managed identity with subject_token_source = \"azure\" only; remove it.",
        },
        Rule {
            case: "spiffe id without spiffe",
            config: TokenModel {
                spiffe_id: text("spiffe://example.org/ci"),
                ..inline()
            },
            path: at(M::spiffe_id),
            summary: "spiffe_id has no effect here",
            detail: "spiffe_id selects a SPIFFE identity with subject_token_source = \"spiffe\" only",
        },
        Rule {
            case: "spiffe id that is not one",
            config: TokenModel {
                subject_token_source: text("spiffe"),
                spiffe_id: text("example.org/ci"),
                ..ids()
            },
            path: at(M::spiffe_id),
            summary: "Invalid spiffe_id",
            detail: "\"example.org/ci\" is not a SPIFFE ID",
        },
        Rule {
            case: "empty spiffe id",
            config: TokenModel {
                subject_token_source: text("spiffe"),
                spiffe_id: text(""),
                ..ids()
            },
            path: at(M::spiffe_id),
            summary: "Empty spiffe_id",
            detail: "spiffe_id must not be empty",
        },
    ];
    for rule in &rules {
        assert_rule(rule, &check(&rule.config));
    }
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
    // Verbose, so refusals name the claim that differs.
    let mut config = EmulatorConfig::new(ADMIN);
    config.verbose_refusals = true;
    let emu = openai_emulator::start(config).await.unwrap();
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
            .bearer_auth(ADMIN)
            .json(&claims)
            .send()
            .await
            .unwrap();
        r.json::<Json>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn data(&self) -> ProviderData {
        ProviderData::new(Settings {
            // No admin key: the exchange must not need one.
            admin_key: None,
            base_url: url::Url::parse(&self.emu.api_base()).unwrap(),
            token_exchange_url: url::Url::parse(&self.emu.token_url()).unwrap(),
            request_timeout: Duration::from_secs(10),
            max_retries: 0,
            rate_limit_wait: Duration::ZERO,
            rate_limit_window: Duration::ZERO,
            max_providers: 50,
            max_mappings_per_provider: 50,
        })
        .unwrap()
    }

    fn model(&self) -> TokenModel {
        TokenModel {
            workload_identity_provider_id: text(&self.provider),
            service_account_id: text(&self.account),
            ..TokenModel::default()
        }
    }

    fn config(&self, token: &str) -> Value {
        TokenModel {
            subject_token: secret(token),
            ..self.model()
        }
        .to_value()
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
    let result = M::from_value(&opened.result).unwrap();
    let access = result.access_token.known().unwrap().expose().to_owned();
    assert!(access.starts_with("wifat_"), "{access}");
    assert_eq!(result.token_type.as_deref(), Some("Bearer"));
    assert_eq!(
        result.scope.as_deref(),
        Some("api.model.request api.model.read")
    );
    // Config attributes are echoed unchanged.
    assert_eq!(
        result.subject_token.known().map(Sensitive::expose),
        Some(token.as_str())
    );
    assert_eq!(result.workload_identity_provider_id, text(&s.provider));
    // The minted subject token lives 600 s, so the access token does too.
    let expires = time::OffsetDateTime::parse(
        result.expires_at.as_deref().unwrap(),
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
    assert_eq!(M::from_value(&opened.result).unwrap().scope, Field::Null);
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
    let cfg = TokenModel {
        workload_identity_provider_id: text("wip_nope"),
        subject_token: secret(&token),
        ..s.model()
    }
    .to_value();
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
    assert_eq!(first.path, at(M::workload_identity_provider_id));
}

#[tokio::test]
async fn subject_token_file_errors_point_at_the_argument() {
    let s = setup(None).await;
    let cfg = TokenModel {
        subject_token_file: text("/nonexistent/openai-token"),
        ..s.model()
    }
    .to_value();
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
    assert_eq!(first.path, at(M::subject_token_file));
}
