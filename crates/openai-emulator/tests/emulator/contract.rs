//! The emulator's answers against the response fixtures in `tests/fixtures/openai/` (repository
//! root): every field a fixture has, the emulator's answer has too, with the same JSON type. A
//! `null` in a fixture accepts any type (the field is nullable); arrays compare their first
//! elements when both have one.

use std::path::Path;

use crate::support::{Emu, now};
use serde_json::{Value, json};

const PROVIDERS: &str = "/v1/organization/workload_identity_providers";
const AUD: &str = "https://api.openai.com/v1";

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/openai")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read fixture {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Collects every place where `actual` lacks a field of `expected` or has another type.
fn mismatches(expected: &Value, actual: &Value, at: &str, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Null, _) => {}
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let here = format!("{at}.{k}");
                match a.get(k) {
                    None => out.push(format!("{here}: missing")),
                    Some(av) => mismatches(ev, av, &here, out),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let (Some(ev), Some(av)) = (e.first(), a.first()) {
                mismatches(ev, av, &format!("{at}[0]"), out);
            }
        }
        (e, a) if type_name(e) == type_name(a) => {}
        (e, a) => out.push(format!(
            "{at}: fixture has {}, emulator answered {}",
            type_name(e),
            type_name(a)
        )),
    }
}

fn assert_matches_fixture(name: &str, actual: &Value) {
    let mut out = Vec::new();
    mismatches(&fixture(name), actual, "$", &mut out);
    assert!(
        out.is_empty(),
        "emulator answer differs from fixture {name}: {out:?}\nanswer: {actual}"
    );
}

#[test]
fn the_comparison_catches_missing_fields_and_type_changes() {
    let mut out = Vec::new();
    mismatches(
        &json!({"a": 1, "b": "x", "c": null, "d": [{"e": true}]}),
        &json!({"a": "1", "c": 5, "d": [{"e": 1}], "extra": 0}),
        "$",
        &mut out,
    );
    assert_eq!(
        out,
        vec![
            "$.a: fixture has integer, emulator answered string",
            "$.b: missing",
            "$.d[0].e: fixture has boolean, emulator answered integer",
        ]
    );
}

#[tokio::test]
async fn admin_objects_have_the_published_shapes() {
    let e = Emu::start().await;

    let (s, project) = e
        .post(
            "/v1/organization/projects",
            json!({"name": "Project example"}),
        )
        .await;
    assert_eq!(s, 200, "{project}");
    assert_matches_fixture("project--active.json", &project);
    assert_matches_fixture("project--null_name_and_status.json", &project);
    let project_id = project["id"].as_str().unwrap().to_owned();
    let (s, got) = e
        .get(&format!("/v1/organization/projects/{project_id}"))
        .await;
    assert_eq!(s, 200, "{got}");
    assert_matches_fixture("project--active.json", &got);

    let account = e.service_account(&project_id).await;
    let account_path = format!("/v1/organization/projects/{project_id}/service_accounts/{account}");
    let (s, got) = e.get(&account_path).await;
    assert_eq!(s, 200, "{got}");
    assert_matches_fixture("service_account.json", &got);
    assert_matches_fixture("service_account--no_role.json", &got);
    assert_eq!(got["role"], "none", "keyless accounts start without a role");
    let (s, updated) = e
        .post(
            &account_path,
            json!({"name": "Updated Name", "role": "owner"}),
        )
        .await;
    assert_eq!(s, 200, "{updated}");
    assert_matches_fixture("service_account--owner.json", &updated);

    let discovery = fixture("provider--discovery.json");
    let provider = e
        .provider(json!({
            "name": discovery["name"], "description": discovery["description"],
            "type": "oidc", "issuer": discovery["issuer"], "audience": discovery["audience"],
            "attribute_transformations": discovery["attribute_transformations"],
        }))
        .await;
    assert_matches_fixture("provider--discovery.json", &provider);
    let provider_id = provider["id"].as_str().unwrap().to_owned();
    let (s, got) = e.get(&format!("{PROVIDERS}/{provider_id}")).await;
    assert_eq!(s, 200, "{got}");
    assert_matches_fixture("provider--discovery.json", &got);
    let (s, list) = e.get(PROVIDERS).await;
    assert_eq!(s, 200, "{list}");
    assert_matches_fixture("provider_list--oidc_and_x509_ca.json", &list);

    let uploaded = fixture("provider--uploaded_jwks.json");
    let jwks_provider = e
        .provider(json!({
            "name": uploaded["name"], "type": "oidc", "issuer": uploaded["issuer"],
            "audience": uploaded["audience"], "verification": uploaded["verification"],
        }))
        .await;
    assert_matches_fixture("provider--uploaded_jwks.json", &jwks_provider);

    let restricted = fixture("rule--restricted.json");
    let rules = format!("{PROVIDERS}/{provider_id}/federation_rules");
    let rule = e
        .rule(
            &provider_id,
            json!({
                "project_id": project_id, "service_account_id": account,
                "name": restricted["name"], "description": restricted["description"],
                "attribute_matchers": restricted["attribute_matchers"],
                "permissions": restricted["permissions"],
            }),
        )
        .await;
    assert_matches_fixture("rule--restricted.json", &rule);
    let (s, list) = e.get(&rules).await;
    assert_eq!(s, 200, "{list}");
    assert_matches_fixture("rule_list.json", &list);
    let default_rule = e
        .rule(
            &provider_id,
            json!({"project_id": project_id, "service_account_id": account,
                   "attribute_matchers": {"sub": "repo:my-org/other:ref:refs/heads/main"}}),
        )
        .await;
    assert_matches_fixture("rule--service_account_default.json", &default_rule);

    let rule_id = rule["id"].as_str().unwrap();
    let (s, deleted) = e.delete(&format!("{rules}/{rule_id}")).await;
    assert_eq!(s, 200, "{deleted}");
    assert_matches_fixture("deleted--rule.json", &deleted);
    assert_eq!(deleted["object"], fixture("deleted--rule.json")["object"]);
    let default_id = default_rule["id"].as_str().unwrap();
    let (s, _) = e.delete(&format!("{rules}/{default_id}")).await;
    assert_eq!(s, 200);

    let jwks_id = jwks_provider["id"].as_str().unwrap();
    let (s, deleted) = e.delete(&format!("{PROVIDERS}/{jwks_id}")).await;
    assert_eq!(s, 200, "{deleted}");
    assert_matches_fixture("deleted--provider.json", &deleted);
    assert_eq!(
        deleted["object"],
        fixture("deleted--provider.json")["object"]
    );

    let (s, deleted) = e.delete(&account_path).await;
    assert_eq!(s, 200, "{deleted}");
    assert_matches_fixture("deleted--service_account.json", &deleted);
    assert_eq!(
        deleted["object"],
        fixture("deleted--service_account.json")["object"]
    );
}

#[tokio::test]
async fn token_exchange_success_has_the_published_shape() {
    let e = Emu::start().await;
    let project = e.project("p").await;
    let account = e.service_account(&project).await;
    let provider = e.builtin_provider("builtin", AUD).await;
    e.rule(
        &provider,
        json!({"project_id": project, "service_account_id": account,
               "attribute_matchers": {"sub": "repo:my-org/my-repo:ref:refs/heads/main"},
               "permissions": {"type": "restricted", "scopes": ["api.model.read", "api.model.request"]}}),
    )
    .await;
    let token = e
        .mint(
            json!({"sub": "repo:my-org/my-repo:ref:refs/heads/main", "aud": AUD,
                     "exp": now() + 7200}),
        )
        .await;
    let (s, v) = e.exchange(&provider, &account, &token).await;
    assert_eq!(s, 200, "{v}");
    assert_matches_fixture("token--integer_expires_in.json", &v);
    assert_matches_fixture("token--no_issued_token_type.json", &v);
}

/// A refusal has the OAuth error body of OpenAI's fixtures, and for an
/// account without a mapping exactly OpenAI's status, code and sentence.
#[tokio::test]
async fn token_exchange_refusal_has_the_published_shape_and_wording() {
    let e = Emu::start_with(openai_emulator::EmulatorConfig::new(
        crate::support::ADMIN_KEY,
    ))
    .await;
    let project = e.project("p").await;
    let account = e.service_account(&project).await;
    let provider = e.builtin_provider("builtin", AUD).await;
    let token = e.mint(json!({"sub": "w", "aud": AUD})).await;
    let (s, v) = e.exchange(&provider, &account, &token).await;
    assert_eq!(s, 401, "{v}");
    assert_matches_fixture("oauth_error--401_no_mapping.json", &v);
    assert_eq!(v, fixture("oauth_error--401_no_mapping.json"));

    let wrong = e
        .mint(json!({"sub": "w", "aud": "https://elsewhere"}))
        .await;
    let (s, v) = e.exchange(&provider, &account, &wrong).await;
    assert_eq!(s, 401, "{v}");
    assert_matches_fixture("oauth_error--401_identity_rejected.json", &v);
}
