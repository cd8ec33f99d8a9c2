//! Objects made in the emulator by hand (as in the dashboard), for tests
//! that need an organization with something in it.

use serde_json::json;

use super::Emulator;

/// The `id` of an API object.
pub fn id_of(v: &serde_json::Value) -> String {
    v["id"].as_str().expect("object has an id").to_string()
}

/// A project with one keyless service account: `(project id, account id)`.
pub fn project_and_account(emu: &Emulator) -> (String, String) {
    let project = id_of(&emu.ok("POST", "/organization/projects", Some(json!({"name": "p"}))));
    let account = id_of(&emu.ok(
        "POST",
        &format!("/organization/projects/{project}/service_accounts"),
        Some(json!({"name": "ci", "create_service_account_only": true})),
    ));
    (project, account)
}

/// A workload identity provider made by hand; its id.
pub fn provider_by_hand(emu: &Emulator, name: &str, issuer: &str) -> String {
    id_of(&emu.ok(
        "POST",
        "/organization/workload_identity_providers",
        Some(json!({"name": name, "issuer": issuer,
                    "audience": "https://api.openai.com/v1", "type": "oidc"})),
    ))
}

/// The names of the organization's providers, sorted.
pub fn provider_names(emu: &Emulator) -> Vec<String> {
    let mut names: Vec<String> = emu.ok(
        "GET",
        "/organization/workload_identity_providers?limit=100",
        None,
    )["data"]
        .as_array()
        .expect("a listing")
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}
