//! Acceptance: the guards never block what cannot widen access or pass a
//! limit: a destroy (whatever the configuration would create), and
//! disabling an unpinned mapping on a shared issuer.

use crate::support::HEADER;
use crate::support::org::{
    id_of, project_and_account as account_by_hand, provider_by_hand, provider_names,
};
use crate::support::{Emulator, TerraformBin, Workdir};
use serde_json::json;

use crate::support::config::GITHUB;

fn workdir(tf: &TerraformBin, emu: &Emulator) -> Workdir {
    Workdir::with_emulator(tf, emu)
}

tftest! {
    /// Item 1 of the guards issue: `count = var.n`, then `destroy -var n=3`
    /// at the limit. The refresh Terraform runs before a destroy is a normal
    /// plan of the configuration, with creates that pass the limit, take a
    /// name already used and are unpinned on a shared issuer; none of that
    /// may stop the destroy.
    fn destroy_is_never_refused_by_a_guard(tf) {
        let emu = Emulator::start();
        let (project, account) = account_by_hand(&emu);
        let github = provider_by_hand(&emu, "gh", GITHUB);
        wd_destroy_case(tf, &emu, &github, &project, &account);
    }
}

fn wd_destroy_case(tf: &TerraformBin, emu: &Emulator, github: &str, project: &str, account: &str) {
    let wd = workdir(tf, emu);
    wd.write_main(&format!(
        r#"{HEADER}
provider "openai" {{
  max_workload_identity_providers = 4
}}
variable "n" {{
  type    = number
  default = 2
}}
resource "openai_workload_identity_provider" "p" {{
  count    = var.n
  name     = "tf-${{count.index}}"
  issuer   = "https://issuer-${{count.index}}.example.com"
  audience = "https://api.openai.com/v1"
}}
resource "openai_service_account_mapping" "m" {{
  count                         = var.n > 2 ? 1 : 0
  workload_identity_provider_id = "{github}"
  project_id                    = "{project}"
  service_account_id            = "{account}"
  attribute_matchers            = {{ ref = "refs/heads/main" }}
}}
"#
    ));
    wd.apply().assert_success();
    // The organization fills up to its limit (gh, tf-0, tf-1, and tf-2 made
    // by hand), so n = 3 would pass the limit, reuse a name and add an
    // unpinned mapping on GitHub's issuer.
    provider_by_hand(emu, "tf-2", "https://elsewhere.example.com");
    let plan = wd.run(&["plan", "-input=false", "-var", "n=3"]);
    // A plain plan is refused (by the name on Terraform 1.12+, which tells
    // the provider about replacements; by the limit on older ones).
    plan.assert_failure();

    let destroy = wd.run(&["destroy", "-input=false", "-auto-approve", "-var", "n=3"]);
    destroy.assert_success();
    assert_eq!(provider_names(emu), vec!["gh", "tf-2"]);
    // `plan -destroy` and `apply -destroy` are destroys too.
    wd.apply().assert_success();
    wd.run(&["plan", "-destroy", "-input=false", "-var", "n=3"])
        .assert_success();
    wd.run(&[
        "apply",
        "-destroy",
        "-input=false",
        "-auto-approve",
        "-var",
        "n=3",
    ])
    .assert_success();
    assert_eq!(provider_names(emu), vec!["gh", "tf-2"]);
}

tftest! {
    /// Item 2: an unpinned GitHub mapping made in the dashboard is imported,
    /// then disabled. Disabling admits fewer tokens, never more, so the plan
    /// goes ahead (with a warning), and the rule is disabled. Enabling it
    /// again is refused.
    fn disabling_an_unpinned_mapping_is_allowed(tf) {
        let emu = Emulator::start();
        let (project, account) = account_by_hand(&emu);
        let github = provider_by_hand(&emu, "gh", GITHUB);
        let rule = id_of(&emu.ok(
            "POST",
            &format!("/organization/workload_identity_providers/{github}/federation_rules"),
            Some(json!({"project_id": project, "service_account_id": account,
                        "attribute_matchers": {"ref": "refs/heads/main"}})),
        ));
        let wd = workdir(tf, &emu);
        let mapping = |enabled: bool| {
            format!(
                r#"{HEADER}
resource "openai_service_account_mapping" "m" {{
  workload_identity_provider_id = "{github}"
  project_id                    = "{project}"
  service_account_id            = "{account}"
  attribute_matchers            = {{ ref = "refs/heads/main" }}
  enabled                       = {enabled}
}}
"#
            )
        };
        wd.write_main(&mapping(false));
        wd.run(&["import", "openai_service_account_mapping.m", &format!("{github}/{rule}")])
            .assert_success();
        let apply = wd.apply();
        apply.assert_success();
        apply.assert_output_contains_words("not pinned to your tenant");
        apply.assert_output_contains_words("This mapping is disabled");
        let read = emu.ok(
            "GET",
            &format!("/organization/workload_identity_providers/{github}/federation_rules/{rule}"),
            None,
        );
        assert_eq!(read["enabled"], json!(false), "{read}");
        wd.plan_detailed().assert_code(0);

        wd.write_main(&mapping(true));
        wd.plan_detailed().assert_code_saying(1, &["not pinned to your tenant"]);
    }
}
