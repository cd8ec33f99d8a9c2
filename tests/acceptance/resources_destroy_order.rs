//! Destroying a configuration whose mappings name their provider by a literal
//! id (as `-generate-config-out` writes it): Terraform deletes the provider
//! and its mappings in parallel, and the provider's delete waits for the
//! mapping deletes of the same run instead of failing on OpenAI's 409.

use crate::support::HEADER;
use crate::support::config;
use crate::support::org::{self, PROVIDERS, count, project_and_account};
use crate::support::{Emulator, Workdir};
use serde_json::json;

fn provider_by_hand(emu: &Emulator, name: &str) -> String {
    org::provider_by_hand(emu, name, "https://oidc.cluster.example.com")
}

fn rule_by_hand(emu: &Emulator, wip: &str, project: &str, sa: &str, name: &str) -> String {
    org::rule_by_hand(
        emu,
        wip,
        (project, sa),
        json!({"name": name, "attribute_matchers": {"sub": format!("system:serviceaccount:ns:{name}")}}),
    )
}

fn provider_block(name: &str) -> String {
    config::provider(name, "https://oidc.cluster.example.com")
}

tftest! {
    /// Imported with literal ids, destroyed in one run: the provider's
    /// delete waits for its mappings' (slowed down) deletes and succeeds. A
    /// provider whose rules this run does not delete keeps the clear 409.
    fn destroy_waits_for_mapping_deletes_of_the_same_run(tf) {
        let emu = Emulator::start();
        let (project, sa) = project_and_account(&emu);
        let wip = provider_by_hand(&emu, "cluster");
        let rules: Vec<String> = (0..2)
            .map(|i| rule_by_hand(&emu, &wip, &project, &sa, &format!("sa{i}")))
            .collect();
        let wd = Workdir::with_emulator(tf, &emu);
        wd.write_main(&format!(
            r#"{HEADER}{provider}
resource "openai_service_account_mapping" "m" {{
  count                         = 2
  workload_identity_provider_id = "{wip}"
  project_id                    = "{project}"
  service_account_id            = "{sa}"
  name                          = "sa${{count.index}}"
  attribute_matchers            = {{ sub = "system:serviceaccount:ns:sa${{count.index}}" }}
}}
"#,
            provider = provider_block("cluster"),
        ));
        wd.run(&["import", "-input=false", "openai_workload_identity_provider.p", &wip])
            .assert_success();
        for (i, rule) in rules.iter().enumerate() {
            wd.run(&[
                "import",
                "-input=false",
                &format!("openai_service_account_mapping.m[{i}]"),
                &format!("{wip}/{rule}"),
            ])
            .assert_success();
        }
        wd.plan_detailed().assert_code(0);
        // The mapping deletes take a while, so the provider's delete meets
        // OpenAI's 409 first.
        emu.script_faults(json!([{
            "method": "DELETE",
            "path": "/v1/organization/workload_identity_providers/{id}/federation_rules/{rule_id}",
            "times": 2,
            "action": {"type": "delay", "ms": 1500},
        }]));
        wd.destroy().assert_success();
        assert_eq!(count(&emu, PROVIDERS), 0);

        // A rule made outside Terraform blocks the delete, with the clear error.
        let other = provider_by_hand(&emu, "other");
        rule_by_hand(&emu, &other, &project, &sa, "by-hand");
        let wd = {
            let wd = Workdir::with_emulator(tf, &emu);
            wd.write_config(&provider_block("other"));
            wd
        };
        wd.run(&["import", "-input=false", "openai_workload_identity_provider.p", &other])
            .assert_success();
        wd.destroy().assert_failure_saying(&["Provider still has mappings", "this run is not deleting them"]);
        assert_eq!(count(&emu, PROVIDERS), 1);
    }
}
