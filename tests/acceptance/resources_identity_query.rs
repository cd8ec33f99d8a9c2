//! Acceptance on Terraform 1.15.5: resource identities (protocol 6.9) —
//! import by identity, identities in state — and list resources (6.10) for
//! `terraform query`, including generated configuration that imports cleanly.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::HEADER;
use crate::support::{Changes, Emulator, TfOutput, Workdir, tf_latest};
use serde_json::{Value, json};

struct Org {
    emu: Emulator,
    project: String,
}

impl Org {
    fn new() -> Self {
        let emu = Emulator::start();
        let project = emu.ok("POST", "/organization/projects", Some(json!({"name": "p"})))["id"]
            .as_str()
            .unwrap()
            .to_string();
        Org { emu, project }
    }

    fn account(&self, name: &str) -> String {
        self.emu.ok(
            "POST",
            &format!("/organization/projects/{}/service_accounts", self.project),
            Some(json!({"name": name, "create_service_account_only": true})),
        )["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn provider(&self, name: &str, issuer: &str) -> String {
        self.emu.ok(
            "POST",
            "/organization/workload_identity_providers",
            Some(
                json!({"name": name, "issuer": issuer, "audience": "https://api.openai.com/v1",
                        "type": "oidc", "description": "by hand"}),
            ),
        )["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn rule(&self, provider: &str, account: &str, name: Option<&str>, repo: &str) -> String {
        let mut body = json!({"project_id": self.project, "service_account_id": account,
                              "attribute_matchers": {"repository": repo, "ref": "refs/heads/main"}});
        if let Some(n) = name {
            body["name"] = json!(n);
        }
        self.emu.ok(
            "POST",
            &format!("/organization/workload_identity_providers/{provider}/federation_rules"),
            Some(body),
        )["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn workdir(&self) -> Workdir {
        Workdir::with_emulator(&tf_latest(), &self.emu)
    }
}

/// `{address: identity}` of every resource in `terraform show -json`.
fn identities(wd: &Workdir) -> BTreeMap<String, Value> {
    wd.state()["values"]["root_module"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["address"].as_str().unwrap().to_string(),
                r["identity"].clone(),
            )
        })
        .collect()
}

fn mapping_config(provider: &str, project: &str, account: &str, description: &str) -> String {
    format!(
        r#"{HEADER}
resource "openai_workload_identity_provider" "gha" {{
  name        = "gha"
  issuer      = "https://token.actions.githubusercontent.com"
  audience    = "https://api.openai.com/v1"
  description = "by hand"
}}

resource "openai_service_account_mapping" "m" {{
  workload_identity_provider_id = {provider}
  project_id                    = "{project}"
  service_account_id            = "{account}"
  description                   = "{description}"
  attribute_matchers = {{
    repository = "my-org/my-repo"
    ref        = "refs/heads/main"
  }}
}}
"#
    )
}

#[test]
fn import_by_identity_and_identities_in_state() {
    let org = Org::new();
    let sa = org.account("ci");
    let wip = org.provider("gha", "https://token.actions.githubusercontent.com");
    let rule = org.rule(&wip, &sa, None, "my-org/my-repo");
    let mut rule_desc = org.emu.ok(
        "GET",
        &format!("/organization/workload_identity_providers/{wip}/federation_rules/{rule}"),
        None,
    );
    assert!(rule_desc["description"].is_null());
    let wd = org.workdir();
    let imports = format!(
        r#"
import {{
  to       = openai_workload_identity_provider.gha
  identity = {{ id = "{wip}" }}
}}
import {{
  to       = openai_service_account_mapping.m
  identity = {{ workload_identity_provider_id = "{wip}", id = "{rule}" }}
}}
"#
    );
    let provider_ref = "openai_workload_identity_provider.gha.id";
    // The description differs from the API's (null) value: one in-place update.
    wd.write_main(&format!(
        "{}{imports}",
        mapping_config(provider_ref, &org.project, &sa, "v1")
    ));
    let plan = wd.plan_json();
    plan.assert_code(2);
    plan.assert_changes(Changes {
        import: 2,
        ..Changes::new(0, 1, 0)
    });
    wd.apply_clean();
    rule_desc = org.emu.ok(
        "GET",
        &format!("/organization/workload_identity_providers/{wip}/federation_rules/{rule}"),
        None,
    );
    assert_eq!(rule_desc["description"], "v1");

    let ids = identities(&wd);
    assert_eq!(
        ids["openai_workload_identity_provider.gha"],
        json!({"id": wip})
    );
    assert_eq!(
        ids["openai_service_account_mapping.m"],
        json!({"workload_identity_provider_id": wip, "id": rule})
    );

    // An in-place update keeps the identity and plans clean afterwards.
    wd.write_main(&mapping_config(provider_ref, &org.project, &sa, "v2"));
    wd.apply_clean();
    assert_eq!(identities(&wd), ids);

    // A replacement gives the mapping a new identity, consistent with its id.
    let sa2 = org.account("other");
    wd.write_main(&mapping_config(provider_ref, &org.project, &sa2, "v2"));
    wd.apply_clean();
    let mapping = wd.state_resource("openai_service_account_mapping.m");
    let new_id = mapping["values"]["id"].as_str().unwrap();
    assert_ne!(new_id, rule);
    assert_eq!(
        mapping["identity"],
        json!({"workload_identity_provider_id": wip, "id": new_id})
    );
}

#[test]
fn import_by_identity_of_a_missing_object_fails() {
    let org = Org::new();
    let sa = org.account("ci");
    let wip = org.provider("gha", "https://token.actions.githubusercontent.com");
    let wd = org.workdir();
    wd.write_main(&format!(
        r#"{}
import {{
  to       = openai_workload_identity_provider.gha
  identity = {{ id = "{wip}" }}
}}
import {{
  to       = openai_service_account_mapping.m
  identity = {{ workload_identity_provider_id = "{wip}", id = "wifr_missing" }}
}}
"#,
        mapping_config(
            "openai_workload_identity_provider.gha.id",
            &org.project,
            &sa,
            "v1"
        )
    ));
    wd.plan_detailed()
        .assert_code_saying(1, &["Cannot import non-existent remote object"]);
}

/// A list of every workload identity provider, for `terraform query`.
const ALL_PROVIDERS: &str = r#"
list "openai_workload_identity_provider" "all" {
  provider = openai
}
"#;

/// A list `label` of the mappings of the provider `wip`, of the service
/// account `account` only if given.
fn mapping_list(label: &str, wip: &str, account: Option<&str>) -> String {
    let account = account.map_or(String::new(), |a| {
        format!("    service_account_id            = \"{a}\"\n")
    });
    format!(
        r#"
list "openai_service_account_mapping" "{label}" {{
  provider = openai
  config {{
    workload_identity_provider_id = "{wip}"
{account}  }}
}}
"#
    )
}

/// A workdir on `org` with only the provider in its configuration and
/// `lists` in `search.tfquery.hcl`, for `terraform query`.
fn querying(org: &Org, lists: &str) -> Workdir {
    let wd = org.workdir();
    wd.write_main(HEADER);
    wd.write("search.tfquery.hcl", lists);
    wd
}

/// `{list address: [identity, ...]}` from `terraform query -json`.
fn found(out: &TfOutput) -> BTreeMap<String, Vec<Value>> {
    let mut m: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for line in out.json_lines() {
        if line["type"] == "list_resource_found" {
            let f = &line["list_resource_found"];
            m.entry(f["address"].as_str().unwrap().to_string())
                .or_default()
                .push(json!({"display_name": f["display_name"], "identity": f["identity"]}));
        }
    }
    m
}

fn ids_of(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .map(|i| i["identity"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn terraform_query_lists_both_resource_types() {
    let org = Org::new();
    let sa1 = org.account("ci");
    let sa2 = org.account("deploy");
    let gha = org.provider("ci-gha", "https://token.actions.githubusercontent.com");
    let other = org.provider("other", "https://gitlab.example.com");
    let r1 = org.rule(&gha, &sa1, Some("main-ci"), "my-org/app");
    let r2 = org.rule(&gha, &sa2, None, "my-org/deploy");
    org.rule(&other, &sa1, None, "my-org/elsewhere");

    let wd = querying(
        &org,
        &format!(
            r#"{ALL_PROVIDERS}
list "openai_workload_identity_provider" "ci" {{
  provider = openai
  config {{
    name_prefix = "ci-"
  }}
}}
list "openai_workload_identity_provider" "first" {{
  provider = openai
  limit    = 1
}}
{}{}"#,
            mapping_list("gha", &gha, None),
            mapping_list("deploy", &gha, Some(&sa2)),
        ),
    );
    let out = wd.run(&["query", "-json"]);
    out.assert_success();
    let f = found(&out);
    assert_eq!(
        ids_of(&f["list.openai_workload_identity_provider.all"]),
        BTreeSet::from([gha.clone(), other.clone()])
    );
    assert_eq!(
        f["list.openai_workload_identity_provider.ci"],
        vec![json!({"display_name": "ci-gha", "identity": {"id": gha}})]
    );
    assert_eq!(f["list.openai_workload_identity_provider.first"].len(), 1);
    assert_eq!(
        ids_of(&f["list.openai_service_account_mapping.gha"]),
        BTreeSet::from([r1.clone(), r2.clone()])
    );
    let gha_mappings = &f["list.openai_service_account_mapping.gha"];
    assert!(gha_mappings.contains(&json!({
        "display_name": "main-ci",
        "identity": {"workload_identity_provider_id": gha, "id": r1}
    })));
    // Unnamed mappings show their id.
    assert!(gha_mappings.contains(&json!({
        "display_name": r2,
        "identity": {"workload_identity_provider_id": gha, "id": r2}
    })));
    assert_eq!(
        ids_of(&f["list.openai_service_account_mapping.deploy"]),
        BTreeSet::from([r2.clone()])
    );

    // The human-readable form shows the same results.
    let out = wd.run(&["query"]);
    out.assert_success();
    out.assert_stdout_contains(&format!(
        "list.openai_workload_identity_provider.ci   id={gha}   ci-gha"
    ));
}

#[test]
fn terraform_query_errors_point_at_the_list_config() {
    let org = Org::new();
    for (id, phrases) in [
        (
            "wip_missing",
            [
                "Error: Workload identity provider not found",
                "workload_identity_provider_id = \"wip_missing\"",
            ],
        ),
        (
            "",
            [
                "Error: Empty workload_identity_provider_id",
                "workload_identity_provider_id = \"\"",
            ],
        ),
    ] {
        querying(&org, &mapping_list("m", id, None))
            .run(&["query"])
            .assert_failure_saying(&phrases);
    }
}

#[test]
fn generated_configuration_imports_cleanly() {
    let org = Org::new();
    let sa = org.account("ci");
    let gha = org.provider("gha", "https://token.actions.githubusercontent.com");
    let k8s = org.provider("k8s", "https://kubernetes.example.com");
    let r1 = org.rule(&gha, &sa, Some("main-ci"), "my-org/app");
    let r2 = org.rule(&k8s, &sa, None, "my-org/cluster");

    let wd = querying(
        &org,
        &format!(
            "{ALL_PROVIDERS}{}{}",
            mapping_list("gha", &gha, None),
            mapping_list("k8s", &k8s, None)
        ),
    );
    wd.run(&["query", "-generate-config-out=generated.tf"])
        .assert_success();
    let generated = wd.read("generated.tf");
    for needle in [
        "resource \"openai_workload_identity_provider\"",
        "resource \"openai_service_account_mapping\"",
        "import {",
        "identity = {",
        &format!("id = \"{gha}\""),
        &format!("id = \"{k8s}\""),
        &format!("id                            = \"{r1}\""),
        &format!("id                            = \"{r2}\""),
        "repository = \"my-org/app\"",
    ] {
        assert!(
            generated.contains(needle),
            "generated.tf lacks {needle:?}:\n{generated}"
        );
    }
    assert_eq!(generated.matches("import {").count(), 4, "{generated}");

    // The generated blocks import all four objects without any change.
    let plan = wd.plan_json();
    plan.assert_code(2);
    plan.assert_changes(Changes::imports(4));
    wd.apply_clean();
    let ids = identities(&wd);
    assert_eq!(ids.len(), 4);
    assert!(ids.values().any(|i| i == &json!({"id": gha})));
    assert!(
        ids.values()
            .any(|i| i == &json!({"workload_identity_provider_id": k8s, "id": r2}))
    );
}
