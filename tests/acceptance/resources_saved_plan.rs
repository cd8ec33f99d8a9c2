//! A saved plan applied after the objects were edited by hand: apply sends
//! exactly what the plan changes, Terraform finds the result consistent
//! with the plan, and the hand edits to other fields stay until the next
//! plan shows them as drift (or keeps them, under `ignore_changes`).

use crate::support::HEADER;
use crate::support::config;
use crate::support::org::project_and_account;
use crate::support::{Emulator, TerraformBin, Workdir};
use serde_json::json;

const PROVIDERS: &str = "/organization/workload_identity_providers";

fn config(pid: &str, sa: &str, description: &str) -> String {
    let provider = config::labelled_provider(
        "k8s",
        "cluster",
        "https://oidc.cluster.example.com",
        &format!("  description = \"{description}\""),
    );
    let mapping = config::mapping(
        "sa",
        "openai_workload_identity_provider.k8s.id",
        (pid, sa),
        &format!(
            "  name                          = \"deployer\"\n  description                   = \"{description}\"\n  attribute_matchers            = {{ sub = \"system:serviceaccount:ns:sa\" }}"
        ),
    );
    format!(
        r#"
{HEADER}
{provider}{mapping}
output "provider_id" {{
  value = openai_workload_identity_provider.k8s.id
}}
output "mapping_id" {{
  value = openai_service_account_mapping.sa.id
}}
"#
    )
}

/// An emulator with a project and its account, a work directory on it, and
/// the configuration with a given description.
fn setup(tf: &TerraformBin) -> (Emulator, Workdir, impl Fn(&str) -> String) {
    let emu = Emulator::start();
    let (pid, sa) = project_and_account(&emu);
    let wd = Workdir::with_emulator(tf, &emu);
    (emu, wd, move |description| config(&pid, &sa, description))
}

/// The emulator's paths of the provider and the mapping.
struct Paths {
    provider: String,
    rule: String,
}

/// Applies `config("v1")`, then saves the plan of `config("v2")` as
/// `saved.plan`, so that a test can edit the objects behind its back.
fn applied_then_saved(wd: &Workdir, config: impl Fn(&str) -> String) -> Paths {
    wd.write_main(&config("v1"));
    wd.apply().assert_success();
    let provider = format!("{PROVIDERS}/{}", wd.output("provider_id").as_str().unwrap());
    let rule = format!(
        "{provider}/federation_rules/{}",
        wd.output("mapping_id").as_str().unwrap()
    );
    wd.write_main(&config("v2"));
    wd.run(&["plan", "-input=false", "-out=saved.plan"])
        .assert_success();
    Paths { provider, rule }
}

tftest! {
    /// `plan -out`, then disable the provider and widen the mapping's
    /// matcher by hand: `apply saved.plan` succeeds, changes what the plan
    /// changes (the descriptions) and nothing else; the next plan shows the
    /// hand edits as drift, and applying it reverts them.
    fn a_saved_plan_changes_only_what_it_planned(tf) {
        let (emu, wd, config) = setup(tf);
        let Paths { provider: provider_path, rule: rule_path } = applied_then_saved(&wd, config);
        // Edits after the plan was saved.
        let widened = json!({"sub": "system:serviceaccount:*"});
        emu.ok("POST", &provider_path, Some(json!({"enabled": false})));
        emu.ok("POST", &rule_path, Some(json!({"attribute_matchers": widened})));

        wd.run(&["apply", "-input=false", "saved.plan"]).assert_success();
        let p = emu.ok("GET", &provider_path, None);
        assert_eq!(p["description"], "v2", "{p}");
        assert_eq!(p["enabled"], json!(false), "the plan did not change it: {p}");
        let r = emu.ok("GET", &rule_path, None);
        assert_eq!(r["description"], "v2", "{r}");
        assert_eq!(r["attribute_matchers"], widened, "{r}");

        wd.plan_detailed().assert_code_saying(2, &["system:serviceaccount:*"]);
        wd.apply().assert_success();
        let p = emu.ok("GET", &provider_path, None);
        assert_eq!(p["enabled"], json!(true), "{p}");
        let r = emu.ok("GET", &rule_path, None);
        assert_eq!(
            r["attribute_matchers"],
            json!({"sub": "system:serviceaccount:ns:sa"}),
            "{r}"
        );
        wd.plan_detailed().assert_code(0);
    }
}

tftest! {
    /// Item 13 of the guards issue: the key source and the scopes are null
    /// in the plan (discovery, the account's default permissions), and are
    /// set by hand after the plan was saved. Applying the saved plan (a
    /// description change) ends without "inconsistent result after apply";
    /// the next plan shows the hand edits and reverts them.
    fn a_saved_plan_applies_after_a_key_source_and_scopes_were_set(tf) {
        let (emu, wd, config) = setup(tf);
        let Paths { provider: provider_path, rule: rule_path } = applied_then_saved(&wd, config);
        emu.ok(
            "POST",
            &provider_path,
            Some(json!({"verification": {"type": "discovery",
                        "discovery_url": "https://keys.example.com/.well-known/openid-configuration"}})),
        );
        emu.ok(
            "POST",
            &rule_path,
            Some(json!({"permissions": {"type": "restricted", "scopes": ["api.model.read"]}})),
        );

        wd.run(&["apply", "-input=false", "saved.plan"]).assert_success();
        assert_eq!(emu.ok("GET", &provider_path, None)["description"], "v2");
        assert_eq!(emu.ok("GET", &rule_path, None)["description"], "v2");
        wd.plan_detailed().assert_code(2);
        wd.apply().assert_success();
        let p = emu.ok("GET", &provider_path, None);
        assert_eq!(
            p["verification"],
            json!({"type": "discovery", "discovery_url": null}),
            "{p}"
        );
        let r = emu.ok("GET", &rule_path, None);
        assert_eq!(r["permissions"], json!({"type": "service_account_default"}), "{r}");
        wd.plan_detailed().assert_code(0);
    }
}

tftest! {
    /// Item 14: `ignore_changes = [attribute_matchers]`, and the security
    /// team narrows the matcher by hand after the plan was saved. Applying
    /// the saved plan (a description change) must not widen it again.
    fn a_saved_plan_leaves_ignored_arguments_alone(tf) {
        let (emu, wd, config) = setup(tf);
        let with_ignore = |description: &str| {
            config(description).replace(
                r#"  attribute_matchers            = { sub = "system:serviceaccount:ns:sa" }"#,
                r#"  attribute_matchers            = { sub = "system:serviceaccount:ns:sa" }
  lifecycle {
    ignore_changes = [attribute_matchers]
  }"#,
            )
        };
        let rule_path = applied_then_saved(&wd, with_ignore).rule;
        let narrowed = json!({"sub": "system:serviceaccount:ns:sa", "aud": "prod"});
        emu.ok("POST", &rule_path, Some(json!({"attribute_matchers": narrowed})));

        wd.run(&["apply", "-input=false", "saved.plan"]).assert_success();
        let r = emu.ok("GET", &rule_path, None);
        assert_eq!(r["attribute_matchers"], narrowed, "{r}");
        assert_eq!(r["description"], "v2", "{r}");
        wd.plan_detailed().assert_code(0);
    }
}
