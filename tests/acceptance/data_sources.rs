//! Acceptance: the data sources, read by real Terraform from objects made
//! directly in the emulator.

use crate::support::HEADER;
use crate::support::org::{project_and_account, provider_by_hand, rule_by_hand};
use crate::support::{Emulator, Workdir, tf_latest};
use serde_json::{Value as Json, json};

const JWKS: &str =
    r#"{"keys":[{"kid":"k1","kty":"RSA","alg":"RS256","use":"sig","n":"sXch","e":"AQAB"}]}"#;

/// Objects made by hand, as a user of the dashboard would.
struct Org {
    project: Json,
    ci: Json,
    ops: Json,
    gha: Json,
    k8s: Json,
    /// Rules of `gha`: two for `ci`, one for `ops`.
    rules: Vec<Json>,
}

fn id(v: &Json) -> &str {
    v["id"].as_str().expect("object has an id")
}

fn org(emu: &Emulator) -> Org {
    let project = emu.ok(
        "POST",
        "/organization/projects",
        Some(json!({"name": "lookups"})),
    );
    let pid = id(&project).to_string();
    let account = |name: &str| {
        emu.ok(
            "POST",
            &format!("/organization/projects/{pid}/service_accounts"),
            Some(json!({"name": name, "create_service_account_only": true})),
        )
    };
    let (ci, ops) = (account("ci"), account("ops"));
    let gha = emu.ok(
        "POST",
        "/organization/workload_identity_providers",
        Some(json!({
            "name": "github-actions", "type": "oidc",
            "issuer": "https://token.actions.githubusercontent.com",
            "audience": "https://api.openai.com/v1", "description": "GitHub",
            "verification": {"type": "discovery", "discovery_url": "https://token.actions.githubusercontent.com/.well-known/openid-configuration"},
            "attribute_transformations": [{"attribute": "openai.repository", "expression": "assertion.repository"}]
        })),
    );
    let k8s = emu.ok(
        "POST",
        "/organization/workload_identity_providers",
        Some(json!({
            "name": "cluster", "type": "oidc", "enabled": false,
            "issuer": "https://kubernetes.example.com", "audience": "cluster-audience",
            "verification": {"type": "uploaded_jwks", "jwks": serde_json::from_str::<Json>(JWKS).unwrap()}
        })),
    );
    let rules_path = format!(
        "/organization/workload_identity_providers/{}/federation_rules",
        id(&gha)
    );
    let rules = vec![
        emu.ok(
            "POST",
            &rules_path,
            Some(json!({
                "project_id": pid, "service_account_id": id(&ci), "name": "main",
                "description": "main branch",
                "attribute_matchers": {"repository": "my-org/my-repo", "run_attempt": 1, "email_verified": true},
                "permissions": {"type": "restricted", "scopes": ["api.model.request", "api.model.read"]}
            })),
        ),
        emu.ok(
            "POST",
            &rules_path,
            Some(json!({
                "project_id": pid, "service_account_id": id(&ci), "enabled": false,
                "attribute_matchers": {"sub": "repo:my-org/*"}
            })),
        ),
        emu.ok(
            "POST",
            &rules_path,
            Some(json!({
                "project_id": pid, "service_account_id": id(&ops), "name": "ops",
                "attribute_matchers": {"openai.repository": "my-org/ops"}
            })),
        ),
    ];
    Org {
        project,
        ci,
        ops,
        gha,
        k8s,
        rules,
    }
}

fn workdir(emu: &Emulator, config: &str) -> Workdir {
    let wd = Workdir::with_emulator(&tf_latest(), emu);
    wd.write_main(&format!("{HEADER}\n{config}"));
    wd
}

/// The [`org`] made by hand, and the configuration `config` of it applied:
/// its data sources read.
fn read_from_org(config: impl FnOnce(&Org) -> String) -> (Emulator, Org, Workdir) {
    let emu = Emulator::start();
    let o = org(&emu);
    let wd = workdir(&emu, &config(&o));
    wd.apply().assert_success();
    (emu, o, wd)
}

/// Ids ordered as the list data sources order them: oldest first, then by id.
fn oldest_first(objects: &[&Json]) -> Vec<String> {
    let mut keyed: Vec<(i64, String)> = objects
        .iter()
        .map(|o| (o["created_at"].as_i64().unwrap(), id(o).to_string()))
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, id)| id).collect()
}

/// Checks a provider object from Terraform against the API's.
fn assert_provider(tf: &Json, api: &Json) {
    for k in [
        "id",
        "name",
        "issuer",
        "audience",
        "enabled",
        "created_at",
        "updated_at",
        "attribute_transformations",
    ] {
        let want = match (k, &api[k]) {
            ("attribute_transformations", Json::Array(a)) if a.is_empty() => Json::Null,
            (_, v) => v.clone(),
        };
        assert_eq!(tf[k], want, "{k} of {tf}");
    }
    assert_eq!(tf["description"], api["description"], "{tf}");
    let v = &api["verification"];
    if v["type"] == "uploaded_jwks" {
        let jwks: Json = serde_json::from_str(tf["jwks_json"].as_str().unwrap()).unwrap();
        assert_eq!(jwks, v["jwks"]);
        assert_eq!(tf["discovery_url"], Json::Null);
    } else {
        assert_eq!(tf["jwks_json"], Json::Null);
        assert_eq!(tf["discovery_url"], v["discovery_url"]);
    }
}

#[test]
fn provider_by_id_and_by_name_and_the_list_of_all() {
    let (_emu, o, wd) = read_from_org(|o| {
        format!(
            r#"
data "openai_workload_identity_provider" "by_id" {{
  id = "{}"
}}
data "openai_workload_identity_provider" "by_name" {{
  name = "github-actions"
}}
data "openai_workload_identity_providers" "all" {{}}

output "by_id" {{ value = data.openai_workload_identity_provider.by_id }}
output "by_name" {{ value = data.openai_workload_identity_provider.by_name }}
output "all" {{ value = data.openai_workload_identity_providers.all.providers }}
"#,
            id(&o.k8s)
        )
    });
    assert_provider(&wd.output("by_id"), &o.k8s);
    assert_provider(&wd.output("by_name"), &o.gha);
    assert_eq!(wd.output("by_id")["enabled"], json!(false));

    let all = wd.output("all");
    let all = all.as_array().unwrap();
    let ids: Vec<&str> = all.iter().map(id).collect();
    assert_eq!(ids, oldest_first(&[&o.gha, &o.k8s]));
    for p in all {
        let api = if id(p) == id(&o.gha) { &o.gha } else { &o.k8s };
        assert_provider(p, api);
    }
    // Reading again changes nothing.
    wd.plan_detailed().assert_code(0);
}

#[test]
fn mappings_of_a_provider_all_and_of_one_service_account() {
    let (_emu, o, wd) = read_from_org(|o| {
        format!(
            r#"
data "openai_service_account_mappings" "all" {{
  workload_identity_provider_id = "{gha}"
}}
data "openai_service_account_mappings" "ci" {{
  workload_identity_provider_id = "{gha}"
  service_account_id            = "{ci}"
}}
data "openai_service_account_mappings" "none" {{
  workload_identity_provider_id = "{k8s}"
}}

output "all" {{ value = data.openai_service_account_mappings.all.mappings }}
output "ci" {{ value = data.openai_service_account_mappings.ci.mappings[*].id }}
output "none" {{ value = data.openai_service_account_mappings.none.mappings }}
output "matchers" {{
  value = [for m in data.openai_service_account_mappings.all.mappings : jsondecode(m.attribute_matchers_json)]
}}
"#,
            gha = id(&o.gha),
            ci = id(&o.ci),
            k8s = id(&o.k8s),
        )
    });

    let all = wd.output("all");
    let all = all.as_array().unwrap();
    let rules: Vec<&Json> = o.rules.iter().collect();
    let order = oldest_first(&rules);
    assert_eq!(all.iter().map(id).collect::<Vec<_>>(), order);
    let matchers = wd.output("matchers");
    for (i, m) in all.iter().enumerate() {
        let api = o.rules.iter().find(|r| id(r) == id(m)).unwrap();
        for k in [
            "workload_identity_provider_id",
            "project_id",
            "service_account_id",
            "name",
            "description",
            "enabled",
            "created_at",
            "updated_at",
        ] {
            assert_eq!(m[k], api[k], "{k} of {m}");
        }
        // Matchers keep their JSON types through the string.
        assert_eq!(matchers[i], api["attribute_matchers"], "{m}");
        // A configuration-only flag OpenAI does not store is not listed.
        assert!(m.get("allow_unpinned_shared_issuer").is_none(), "{m}");
        match api["permissions"]["type"].as_str() {
            Some("restricted") => {
                let mut want: Vec<&str> = api["permissions"]["scopes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap())
                    .collect();
                want.sort();
                assert_eq!(m["scopes"], json!(want));
            }
            _ => assert_eq!(m["scopes"], Json::Null, "{m}"),
        }
    }
    let first = o.rules.iter().find(|r| r["name"] == "main").unwrap();
    let text = all.iter().find(|m| id(m) == id(first)).unwrap()["attribute_matchers_json"]
        .as_str()
        .unwrap()
        .to_string();
    // Keys sorted, values typed.
    assert_eq!(
        text,
        r#"{"email_verified":true,"repository":"my-org/my-repo","run_attempt":1}"#
    );

    let ci_rules: Vec<&Json> = o
        .rules
        .iter()
        .filter(|r| r["service_account_id"] == o.ci["id"])
        .collect();
    assert_eq!(ci_rules.len(), 2);
    assert_eq!(wd.output("ci"), json!(oldest_first(&ci_rules)));
    assert_eq!(wd.output("none"), json!([]));
}

#[test]
fn project_and_service_account_by_id_and_by_name() {
    let (_emu, o, wd) = read_from_org(|o| {
        format!(
            r#"
data "openai_project" "by_id" {{
  id = "{pid}"
}}
data "openai_project" "by_name" {{
  name = "lookups"
}}
data "openai_project_service_account" "by_id" {{
  project_id = data.openai_project.by_name.id
  id         = "{ops}"
}}
data "openai_project_service_account" "by_name" {{
  project_id = "{pid}"
  name       = "ci"
}}

output "project_by_id" {{ value = data.openai_project.by_id }}
output "project_by_name" {{ value = data.openai_project.by_name }}
output "sa_by_id" {{ value = data.openai_project_service_account.by_id }}
output "sa_by_name" {{ value = data.openai_project_service_account.by_name }}
"#,
            pid = id(&o.project),
            ops = id(&o.ops),
        )
    });
    let pid = id(&o.project);
    let project = json!({
        "id": o.project["id"], "name": o.project["name"],
        "status": o.project["status"], "created_at": o.project["created_at"],
    });
    assert_eq!(o.project["status"], "active");
    assert_eq!(wd.output("project_by_id"), project);
    assert_eq!(wd.output("project_by_name"), project);
    let account = |sa: &Json| {
        json!({
            "id": sa["id"], "project_id": pid, "name": sa["name"],
            "role": sa["role"], "created_at": sa["created_at"],
        })
    };
    assert_eq!(wd.output("sa_by_id"), account(&o.ops));
    assert_eq!(wd.output("sa_by_name"), account(&o.ci));
}

/// Runs a plan of `config` that must fail, returning its output.
fn failing_plan(emu: &Emulator, config: &str) -> crate::support::TfOutput {
    let wd = workdir(emu, config);
    let out = wd.plan_detailed();
    out.assert_code(1);
    out
}

#[test]
fn lookups_that_find_nothing_say_what_was_searched() {
    let emu = Emulator::start();
    let o = org(&emu);
    let pid = id(&o.project);
    let not_found_account = |field: &str, value: &str| {
        format!(
            "data \"openai_project_service_account\" \"x\" {{\n  project_id = \"{pid}\"\n  {field} = \"{value}\"\n}}"
        )
    };
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            r#"data "openai_workload_identity_provider" "x" { id = "wip_missing" }"#.into(),
            vec![
                "Workload identity provider not found".into(),
                r#"No workload identity provider with id "wip_missing" exists in the organization"#
                    .into(),
            ],
        ),
        (
            r#"data "openai_workload_identity_provider" "x" { name = "nope" }"#.into(),
            vec![
                r#"No workload identity provider with name "nope" exists in the organization"#
                    .into(),
            ],
        ),
        (
            r#"data "openai_service_account_mappings" "x" { workload_identity_provider_id = "wip_missing" }"#
                .into(),
            vec![
                "Workload identity provider not found".into(),
                r#"No workload identity provider with id "wip_missing""#.into(),
            ],
        ),
        (
            r#"data "openai_project" "x" { id = "proj_missing" }"#.into(),
            vec![
                "Project not found".into(),
                r#"No project with id "proj_missing" exists in the organization"#.into(),
            ],
        ),
        (
            r#"data "openai_project" "x" { name = "nope" }"#.into(),
            vec![
                r#"No project with name "nope" exists among the organization's active projects"#
                    .into(),
            ],
        ),
        (
            not_found_account("id", "svc_acct_missing"),
            vec![
                "Service account not found".into(),
                format!(r#"No service account with id "svc_acct_missing" exists in project "{pid}""#),
            ],
        ),
        (
            not_found_account("name", "nope"),
            vec![format!(
                r#"No service account with name "nope" exists in project "{pid}""#
            )],
        ),
        (
            r#"data "openai_project_service_account" "x" {
  project_id = "proj_missing"
  name       = "ci"
}"#
            .into(),
            vec!["Project not found".into(), r#"No project with id "proj_missing""#.into()],
        ),
    ];
    for (config, phrases) in &cases {
        let out = failing_plan(&emu, config);
        for p in phrases {
            out.assert_output_contains_words(p);
        }
    }
}

#[test]
fn a_name_shared_by_several_projects_is_ambiguous() {
    let emu = Emulator::start();
    let a = emu.ok(
        "POST",
        "/organization/projects",
        Some(json!({"name": "twin"})),
    );
    let b = emu.ok(
        "POST",
        "/organization/projects",
        Some(json!({"name": "twin"})),
    );
    let out = failing_plan(&emu, r#"data "openai_project" "x" { name = "twin" }"#);
    out.assert_output_contains_words("Several projects match");
    out.assert_output_contains_words(r#"2 projects are named "twin""#);
    out.assert_output_contains_words(id(&a));
    out.assert_output_contains_words(id(&b));
}

#[test]
fn exactly_one_of_id_and_name_is_checked_on_the_attribute() {
    let emu = Emulator::start();
    for (ty, extra) in [
        ("openai_workload_identity_provider", ""),
        ("openai_project", ""),
        (
            "openai_project_service_account",
            "  project_id = \"proj_1\"\n",
        ),
    ] {
        let wd = workdir(
            &emu,
            &format!(
                "data \"{ty}\" \"both\" {{\n{extra}  id   = \"x_1\"\n  name = \"x\"\n}}\n\
                 data \"{ty}\" \"neither\" {{\n{extra}}}\n"
            ),
        );
        let out = wd.run(&["validate", "-json"]);
        out.assert_code(1);
        let diags = out.json()["diagnostics"].as_array().unwrap().clone();
        let find = |summary: &str| {
            diags
                .iter()
                .find(|d| d["summary"] == summary)
                .unwrap_or_else(|| panic!("{ty}: no {summary:?} in {diags:#?}"))
                .clone()
        };
        let both = find("Conflicting lookup arguments");
        assert_eq!(both["address"], format!("data.{ty}.both"));
        // The diagnostic points at the `name` attribute of the block.
        assert_eq!(both["snippet"]["code"], "  name = \"x\"", "{both:#}");
        assert!(both["detail"].as_str().unwrap().contains("not both"));
        let neither = find("Missing lookup argument");
        assert_eq!(neither["address"], format!("data.{ty}.neither"));
        assert!(
            neither["detail"]
                .as_str()
                .unwrap()
                .contains("Set id or name")
        );
        assert_eq!(
            diags.iter().filter(|d| d["severity"] == "error").count(),
            2,
            "{ty}: {diags:#?}"
        );
    }
}

const LIMITS_OUTPUTS: &str = r#"
data "openai_workload_identity_limits" "now" {}
output "limits" { value = data.openai_workload_identity_limits.now }
"#;

/// The limits data source read with the provider block's limits set to
/// `max_providers` and `max_mappings`.
fn limits_configured(emu: &Emulator, max_providers: usize, max_mappings: usize) -> Json {
    let wd = workdir(
        emu,
        &format!(
            "provider \"openai\" {{\n  max_workload_identity_providers = {max_providers}\n  max_mappings_per_provider = {max_mappings}\n}}\n{LIMITS_OUTPUTS}"
        ),
    );
    wd.apply().assert_success();
    wd.output("limits")
}

#[test]
fn limits_count_providers_and_mappings_against_the_configured_limits() {
    let emu = Emulator::start();
    let (project, sa) = project_and_account(&emu);
    let ids: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|n| provider_by_hand(&emu, n, "https://i.example.com"))
        .collect();
    for sub in ["one", "two"] {
        let matchers = json!({"attribute_matchers": {"sub": sub}});
        rule_by_hand(&emu, &ids[1], (&project, &sa), matchers);
    }

    // Defaults: OpenAI's 50 and 50.
    let wd = workdir(&emu, LIMITS_OUTPUTS);
    emu.reset_stats();
    wd.plan_detailed().assert_code(2); // outputs are new
    let by_route = &emu.stats()["by_route"];
    // One provider listing and one mapping listing per provider; no GET per object.
    assert_eq!(
        by_route["GET /v1/organization/workload_identity_providers"],
        json!(1),
        "{by_route:#}"
    );
    assert_eq!(
        by_route["GET /v1/organization/workload_identity_providers/{id}/federation_rules"],
        json!(3),
        "{by_route:#}"
    );
    assert!(
        by_route
            .get("GET /v1/organization/workload_identity_providers/{id}")
            .is_none(),
        "{by_route:#}"
    );
    wd.apply().assert_success();
    let limits = wd.output("limits");
    assert_eq!(limits["max_workload_identity_providers"], json!(50));
    assert_eq!(limits["workload_identity_providers"], json!(3));
    assert_eq!(limits["providers_remaining"], json!(47));
    assert_eq!(limits["max_mappings_per_provider"], json!(50));
    // Keyed by provider id, which is how a configuration finds one.
    let usage = limits["providers"].as_object().unwrap();
    assert_eq!(usage.len(), 3);
    for (i, pid) in ids.iter().enumerate() {
        let u = &usage[pid];
        assert_eq!(id(u), pid);
        assert_eq!(u["name"], ["a", "b", "c"][i]);
        let mappings = if i == 1 { 2 } else { 0 };
        assert_eq!(u["mappings"], json!(mappings), "{u}");
        assert_eq!(u["max_mappings"], json!(50), "{u}");
        assert_eq!(u["mappings_remaining"], json!(50 - mappings), "{u}");
    }

    // Limits from the provider block.
    let limits = limits_configured(&emu, 4, 10);
    assert_eq!(limits["max_workload_identity_providers"], json!(4));
    assert_eq!(limits["providers_remaining"], json!(1));
    assert_eq!(limits["max_mappings_per_provider"], json!(10));
    let b = &limits["providers"][&ids[1]];
    assert_eq!(b["max_mappings"], json!(10));
    assert_eq!(b["mappings_remaining"], json!(8));

    // A limit below the current count leaves nothing remaining, not a negative.
    let limits = limits_configured(&emu, 2, 1);
    assert_eq!(limits["providers_remaining"], json!(0));
    let b = &limits["providers"][&ids[1]];
    assert_eq!(b["mappings_remaining"], json!(0));
}
