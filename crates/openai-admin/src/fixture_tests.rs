//! Decodes every response fixture in `tests/fixtures/openai/` (repository root) with the models,
//! so a shape OpenAI publishes cannot silently stop decoding. See that folder's README.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Value as Json, json};

use crate::models::*;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/openai")
}

fn read(name: &str) -> Json {
    let path = fixture_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read fixture {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {name} is not JSON: {e}"))
}

fn decode<T: DeserializeOwned>(name: &str) -> T {
    serde_json::from_value(read(name))
        .unwrap_or_else(|e| panic!("fixture {name} does not decode: {e}"))
}

/// Decodes one fixture with the model its name's kind selects; `Err` for an unknown kind.
fn decode_by_kind(name: &str) -> Result<(), String> {
    let kind = name
        .strip_suffix(".json")
        .map(|stem| stem.split("--").next().unwrap_or(stem))
        .ok_or_else(|| format!("{name} is not a .json file"))?;
    match kind {
        "provider" => drop(decode::<WorkloadIdentityProvider>(name)),
        "provider_list" => drop(decode::<ListPage<WorkloadIdentityProvider>>(name)),
        "rule" => drop(decode::<FederationRule>(name)),
        "rule_list" => drop(decode::<ListPage<FederationRule>>(name)),
        "project" => drop(decode::<Project>(name)),
        "project_list" => drop(decode::<ListPage<Project>>(name)),
        "service_account" => drop(decode::<ServiceAccount>(name)),
        "deleted" => drop(decode::<Deleted>(name)),
        "token" => drop(decode::<TokenExchangeResponse>(name)),
        "oauth_error" => drop(decode::<OAuthError>(name)),
        "api_error" => drop(decode::<ErrorEnvelope>(name)),
        other => return Err(format!("{name}: unknown fixture kind {other:?}")),
    }
    Ok(())
}

#[test]
fn every_fixture_decodes() {
    let mut names: Vec<String> = std::fs::read_dir(fixture_dir())
        .expect("fixture folder exists")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 20, "fixtures went missing: {names:?}");
    let unknown: Vec<String> = names
        .iter()
        .filter_map(|n| decode_by_kind(n).err())
        .collect();
    assert!(unknown.is_empty(), "unclassified fixtures: {unknown:?}");
}

#[test]
fn unknown_verification_is_kept_and_does_not_fail_the_list() {
    let page: ListPage<WorkloadIdentityProvider> = decode("provider_list--oidc_and_x509_ca.json");
    assert_eq!(page.data.len(), 3);
    let x509 = &page.data[1];
    assert_eq!(x509.kind, "x509");
    assert_eq!(x509.verification.kind(), "x509_ca");
    let Verification::Unknown { kind, raw } = &x509.verification else {
        panic!("x509_ca must decode as Unknown: {:?}", x509.verification)
    };
    assert_eq!(kind, "x509_ca");
    assert!(raw.contains_key("certificates"), "{raw:?}");
    // Serialises back to the object it came from.
    assert_eq!(
        serde_json::to_value(&x509.verification).unwrap(),
        read("provider--x509_ca.json")["verification"]
    );
    assert!(matches!(
        page.data[0].verification,
        Verification::Discovery {
            discovery_url: None
        }
    ));
    assert!(matches!(
        page.data[2].verification,
        Verification::UploadedJwks { .. }
    ));
}

#[test]
fn unknown_permissions_are_kept() {
    let r: FederationRule = decode("rule--unknown_permissions.json");
    assert_eq!(r.permissions.kind(), "role_based");
    assert_eq!(
        serde_json::to_value(&r.permissions).unwrap(),
        json!({"type": "role_based", "role": "reader"})
    );
    let r: FederationRule = decode("rule--service_account_default.json");
    assert_eq!(r.permissions, Permissions::ServiceAccountDefault);
    assert_eq!(r.name, None);
}

#[test]
fn known_kinds_still_reject_malformed_bodies() {
    // Tolerance is for unknown kinds only: a known kind missing its fields is an error.
    assert!(serde_json::from_value::<Verification>(json!({"type": "uploaded_jwks"})).is_err());
    assert!(serde_json::from_value::<Permissions>(json!({"type": "restricted"})).is_err());
    // An absent `type` is the API's default kind.
    assert_eq!(
        serde_json::from_value::<Verification>(json!({})).unwrap(),
        Verification::Discovery {
            discovery_url: None
        }
    );
}

#[test]
fn projects_tolerate_null_and_extra_fields() {
    let p: Project = decode("project--null_name_and_status.json");
    assert_eq!((p.name, p.status), (None, None));
    let p: Project = decode("project--extra_fields.json");
    assert_eq!(p.name.as_deref(), Some("EU project"));
    assert_eq!(p.status.as_deref(), Some("active"));
}

#[test]
fn token_lifetimes_decode_leniently() {
    let t: TokenExchangeResponse = decode("token--integer_expires_in.json");
    assert_eq!(t.expires_in, 3600);
    assert_eq!(t.scope.as_deref(), Some("api.model.read api.model.request"));
    // Rounded down: never believe a token lives longer than it does.
    let t: TokenExchangeResponse = decode("token--float_expires_in.json");
    assert_eq!(t.expires_in, 3599);
    let t: TokenExchangeResponse = decode("token--no_expires_in.json");
    assert_eq!(t.expires_in, DEFAULT_EXPIRES_IN_SECS);
    let t: TokenExchangeResponse = decode("token--no_issued_token_type.json");
    assert_eq!(t.issued_token_type, None);
    assert!(
        serde_json::from_value::<TokenExchangeResponse>(
            json!({"access_token": "a", "token_type": "Bearer", "expires_in": "soon"})
        )
        .is_err()
    );
}

#[test]
fn oauth_errors_decode() {
    let e: OAuthError = decode("oauth_error--401_no_mapping.json");
    assert_eq!(e.error, "invalid_grant");
    assert!(
        e.error_description
            .unwrap()
            .starts_with("No service account mapping found")
    );
}

#[test]
fn request_bodies_serialise_as_before() {
    let req = CreateProviderRequest {
        name: "n".into(),
        issuer: "https://i".into(),
        audience: "a".into(),
        kind: "oidc".into(),
        verification: Some(Verification::Discovery {
            discovery_url: Some("https://d".into()),
        }),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&req).unwrap(),
        json!({"name": "n", "issuer": "https://i", "audience": "a", "type": "oidc",
               "verification": {"type": "discovery", "discovery_url": "https://d"}})
    );
    let rule = UpdateRuleRequest {
        permissions: Some(Permissions::Restricted {
            scopes: vec!["api.model.read".into()],
        }),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&rule).unwrap(),
        json!({"permissions": {"type": "restricted", "scopes": ["api.model.read"]}})
    );
    assert_eq!(
        serde_json::to_value(Verification::Discovery {
            discovery_url: None
        })
        .unwrap(),
        json!({"type": "discovery", "discovery_url": null})
    );
}
