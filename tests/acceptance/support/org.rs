//! Objects made in the emulator by hand (as in the dashboard), for tests
//! that need an organization with something in it.

use serde_json::{Value, json};

use super::{Emulator, TerraformBin, TfOutput, Workdir};

/// The `id` of an API object.
pub fn id_of(v: &serde_json::Value) -> String {
    v["id"].as_str().expect("object has an id").to_string()
}

/// A project named `name` made by hand; its id.
pub fn project_by_hand(emu: &Emulator, name: &str) -> String {
    id_of(&emu.ok(
        "POST",
        "/organization/projects",
        Some(json!({"name": name})),
    ))
}

/// A keyless service account `name` of `project` made by hand; its id.
pub fn account_by_hand(emu: &Emulator, project: &str, name: &str) -> String {
    id_of(&emu.ok(
        "POST",
        &format!("/organization/projects/{project}/service_accounts"),
        Some(json!({"name": name, "create_service_account_only": true})),
    ))
}

/// A project with one keyless service account: `(project id, account id)`.
pub fn project_and_account(emu: &Emulator) -> (String, String) {
    let project = project_by_hand(emu, "p");
    let account = account_by_hand(emu, &project, "ci");
    (project, account)
}

/// An organization to test in: an emulator with a project and a keyless
/// service account in it ([`project_and_account`]).
pub struct Org {
    pub emu: Emulator,
    pub project: String,
    pub account: String,
}

impl Org {
    pub fn new() -> Self {
        Self::with_args(&[])
    }

    /// [`Org::new`] on an emulator started with `args` ([`Emulator::start_with_args`]).
    pub fn with_args(args: &[&str]) -> Self {
        let emu = Emulator::start_with_args(args);
        let (project, account) = project_and_account(&emu);
        Org {
            emu,
            project,
            account,
        }
    }

    /// A fresh organization and a workdir on it, on the newest CLI
    /// ([`tf_latest`](super::tf_latest)).
    pub fn new_with_workdir() -> (Self, Workdir) {
        let org = Self::new();
        let wd = org.workdir(&super::tf_latest());
        (org, wd)
    }

    /// A workdir whose provider talks to this organization.
    pub fn workdir(&self, tf: &TerraformBin) -> Workdir {
        Workdir::with_emulator(tf, &self.emu)
    }

    /// A provider made outside Terraform, so its id is known at plan time.
    pub fn provider_by_hand(&self, name: &str, issuer: &str) -> String {
        provider_by_hand(&self.emu, name, issuer)
    }

    /// The organization's providers.
    pub fn providers(&self) -> Vec<Value> {
        listing(&self.emu, PROVIDERS)
    }

    /// The id of the provider named `name`, if there is one.
    pub fn provider_id(&self, name: &str) -> Option<String> {
        self.providers()
            .into_iter()
            .find(|p| p["name"] == name)
            .map(|p| id_of(&p))
    }

    /// The mappings of `provider`.
    pub fn rules(&self, provider: &str) -> Vec<Value> {
        listing(&self.emu, &rules_path(provider))
    }

    /// A mapping `label` of `provider_expr` to this project and account
    /// ([`config::mapping`](super::config::mapping)).
    pub fn mapping(&self, label: &str, provider_expr: &str, body: &str) -> String {
        super::config::mapping(label, provider_expr, (&self.project, &self.account), body)
    }
}

/// The Admin API's path of workload identity providers.
pub const PROVIDERS: &str = "/organization/workload_identity_providers";

/// The Admin API's path of `provider`'s mappings (federation rules).
pub fn rules_path(provider: &str) -> String {
    format!("{PROVIDERS}/{provider}/federation_rules")
}

/// A workload identity provider made by hand; its id.
pub fn provider_by_hand(emu: &Emulator, name: &str, issuer: &str) -> String {
    id_of(&emu.ok(
        "POST",
        PROVIDERS,
        Some(json!({"name": name, "issuer": issuer,
                    "audience": "https://api.openai.com/v1", "type": "oidc"})),
    ))
}

/// The objects of the listing at `path` (up to 100).
pub fn listing(emu: &Emulator, path: &str) -> Vec<Value> {
    emu.ok("GET", &format!("{path}?limit=100"), None)["data"]
        .as_array()
        .expect("a listing")
        .clone()
}

/// The names of the organization's providers, sorted.
pub fn provider_names(emu: &Emulator) -> Vec<String> {
    let mut names: Vec<String> = listing(emu, PROVIDERS)
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

/// A fresh emulator whose organization already holds `n` providers made
/// by hand ([`providers_by_hand`]), and a workdir using it: where the limit
/// tests start.
pub fn organization_with_providers(tf: &TerraformBin, n: usize) -> (Emulator, Workdir) {
    let emu = Emulator::start();
    providers_by_hand(&emu, n);
    let wd = Workdir::with_emulator(tf, &emu);
    (emu, wd)
}

/// `n` providers made by hand (`hand-0`, `hand-1`, ...) sharing one issuer,
/// to fill an organization; their ids.
pub fn providers_by_hand(emu: &Emulator, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| provider_by_hand(emu, &format!("hand-{i}"), "https://h.example.com"))
        .collect()
}

/// A mapping made by hand on `provider` to `account` of `project`: `body`
/// holds the rest (`attribute_matchers`, `name`, ...); its id.
pub fn rule_by_hand(
    emu: &Emulator,
    provider: &str,
    (project, account): (&str, &str),
    mut body: Value,
) -> String {
    body["project_id"] = json!(project);
    body["service_account_id"] = json!(account);
    id_of(&emu.ok("POST", &rules_path(provider), Some(body)))
}

/// `n` mappings made by hand on `provider`, matching `sub` `hand-0`,
/// `hand-1`, ..., to fill it.
pub fn rules_by_hand(emu: &Emulator, provider: &str, owner: (&str, &str), n: usize) {
    for i in 0..n {
        rule_by_hand(
            emu,
            provider,
            owner,
            json!({"attribute_matchers": {"sub": format!("hand-{i}")}}),
        );
    }
}

/// How many objects the listing at `path` holds (up to 100).
pub fn count(emu: &Emulator, path: &str) -> usize {
    listing(emu, path).len()
}

/// How many workload identity providers the organization has.
pub fn provider_count(emu: &Emulator) -> usize {
    count(emu, PROVIDERS)
}

/// The requests other than reads since the log was last reset, as
/// `"METHOD" "path"`.
pub fn writes(emu: &Emulator) -> Vec<String> {
    let (_, log) = emu.control("GET", "/_emulator/requests", None);
    log["requests"]
        .as_array()
        .expect("a request log")
        .iter()
        .filter(|r| r["method"] != "GET")
        .map(|r| format!("{} {}", r["method"], r["path"]))
        .collect()
}

/// Asserts that `wd`'s configuration is refused at plan, saying each of
/// `phrases`, and that apply is refused too before the provider writes
/// anything to `emu`; the apply's output, for more checks.
#[track_caller]
pub fn assert_refused_before_any_write(wd: &Workdir, emu: &Emulator, phrases: &[&str]) -> TfOutput {
    emu.control("POST", "/_emulator/requests/reset", None);
    wd.plan_detailed().assert_code_saying(1, phrases);
    let apply = wd.apply();
    apply.assert_failure();
    assert_eq!(writes(emu), Vec::<String>::new(), "{apply}");
    apply
}
