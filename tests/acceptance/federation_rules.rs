//! OpenAI's matching rules and CEL, from Terraform: invalid CEL refused at plan with no API
//! write, the `matches` and `transform` provider functions, and the
//! `openai_workload_identity_match` data source.

use crate::support::HEADER;
use crate::support::config::{labelled_provider, transformations};
use crate::support::org::project_and_account;
use crate::support::{Emulator, Workdir};

/// Requests by route that are not reads.
fn writes(emu: &Emulator) -> Vec<String> {
    let (_, stats) = emu.control("GET", "/_emulator/stats", None);
    stats["by_route"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|route| !route.starts_with("GET ") && !route.contains("/_emulator"))
        .cloned()
        .collect()
}

tftest! {
    /// `assertion.sub +` does not parse: the plan fails on the expression's attribute path,
    /// and nothing is written (the API would store it, and the exchange would refuse every
    /// token as "no mapping matches").
    fn invalid_cel_is_refused_at_plan_with_no_write(tf) {
        let emu = Emulator::start();
        let wd = Workdir::with_emulator(tf, &emu);
        wd.write_config(&labelled_provider(
            "p",
            "p",
            "https://issuer.example.com",
            &transformations(&[
                r#"{ attribute = "openai.ok", expression = "assertion.sub" }"#,
                r#"{ attribute = "openai.bad", expression = "assertion.sub +" }"#,
            ]),
        ));
        let out = wd.plan_detailed();
        out.assert_code_saying(1, &["Invalid transformation expression", "\"assertion.sub +\" is not a usable CEL expression"]);
        if tf.at_least(1, 3, 0) {
            // The diagnostic's path reaches the bad element: Terraform quotes its line.
            out.assert_output_contains_words(
                r#"{ attribute = "openai.bad", expression = "assertion.sub +" }"#,
            );
        }
        assert_eq!(writes(&emu), Vec::<String>::new(), "{}", emu.logs());
        let listed = emu.ok("GET", "/organization/workload_identity_providers", None);
        assert_eq!(listed["data"], serde_json::json!([]), "nothing may be created");
    }
}

const FUNCTIONS: &str = r#"
locals {
  transformations = [
    { attribute = "openai.repo_ref", expression = "assertion.repository + \"@\" + assertion.ref" },
    { attribute = "openai.main", expression = "assertion.ref == \"refs/heads/main\"" },
  ]
  main = {
    sub         = "repo:my-org/app:ref:refs/heads/main"
    repository  = "my-org/app"
    ref         = "refs/heads/main"
    aud         = ["https://api.openai.com/v1", "other"]
    run_attempt = 2
    fork        = false
  }
  fork = merge(local.main, { repository = "someone/app", sub = "repo:someone/app:ref:refs/heads/main", fork = true })
  matchers = {
    "openai.repo_ref" = "my-org/app@refs/heads/*"
    "openai.main"     = true
    aud               = "https://api.openai.com/v1"
    fork              = false
    run_attempt       = 2
  }
}
output "main" {
  value = provider::openai::matches(local.matchers, provider::openai::transform(local.transformations, local.main))
}
output "fork" {
  value = provider::openai::matches(local.matchers, provider::openai::transform(local.transformations, local.fork))
}
output "derived" {
  value = provider::openai::transform(local.transformations, local.main)["openai.repo_ref"]
}
output "prefix" {
  value = provider::openai::matches({ sub = "repo:my-org/*" }, local.main)
}
"#;

#[test]
fn functions_match_and_transform_on_terraform_1_8_and_later() {
    for tf in crate::support::terraform_binaries() {
        if !tf.at_least(1, 8, 0) {
            continue;
        }
        let wd = Workdir::new(&tf);
        wd.write_main(&format!("{HEADER}{FUNCTIONS}"));
        wd.apply().assert_success();
        assert_eq!(wd.output("main"), serde_json::json!(true), "{tf}");
        assert_eq!(wd.output("fork"), serde_json::json!(false), "{tf}");
        assert_eq!(wd.output("prefix"), serde_json::json!(true), "{tf}");
        assert_eq!(
            wd.output("derived"),
            serde_json::json!("my-org/app@refs/heads/main")
        );

        // Errors name the argument: Terraform points at it.
        wd.write_main(&format!(
            "{HEADER}output \"x\" {{\n  value = provider::openai::transform([{{ attribute = \"openai.x\", expression = \"assertion.sub +\" }}], {{ sub = \"s\" }})\n}}\n"
        ));
        wd.plan_detailed().assert_code_saying(
            1,
            &[
                "Invalid value for \"attribute_transformations\" parameter",
                "not a usable CEL expression",
            ],
        );
    }
}

tftest! {
    /// Terraform before 1.8 never asks for functions; a provider that offers them still
    /// loads, plans and applies there.
    fn a_provider_with_functions_works_where_functions_do_not_exist(tf) {
        let emu = Emulator::start();
        let wd = Workdir::with_emulator(tf, &emu);
        wd.write_main(&format!(
            "{HEADER}data \"openai_workload_identity_providers\" \"all\" {{}}\noutput \"n\" {{ value = length(data.openai_workload_identity_providers.all.providers) }}\n"
        ));
        wd.apply().assert_success();
        assert_eq!(wd.output("n"), serde_json::json!(0));
    }
}

tftest! {
    /// The data source gives the exchange's verdict and reasons for live mappings, and a
    /// `check` block can assert that main is admitted and a fork is not.
    fn match_data_source_gives_the_exchange_verdict(tf) {
        let emu = Emulator::start();
        let (project, sa) = project_and_account(&emu);
        let wd = Workdir::with_emulator(tf, &emu);
        let check = if tf.at_least(1, 5, 0) {
            r#"
check "only_main_is_admitted" {
  assert {
    condition     = data.openai_workload_identity_match.main.admitted && !data.openai_workload_identity_match.fork.admitted
    error_message = "The mapping must admit main and refuse the fork."
  }
}
"#
        } else {
            ""
        };
        let ci = labelled_provider(
            "ci",
            "ci",
            "https://token.actions.githubusercontent.com",
            &transformations(&[
                r#"{ attribute = "openai.main", expression = "assertion.ref == \"refs/heads/main\"" }"#,
            ]),
        );
        wd.write_main(&format!(
            r#"{HEADER}{ci}
resource "openai_service_account_mapping" "deploy" {{
  workload_identity_provider_id = openai_workload_identity_provider.ci.id
  project_id                    = "{project}"
  service_account_id            = "{sa}"
  attribute_matchers = {{
    repository_id = "123456"
    repository    = "my-org/app"
    "openai.main" = true
  }}
}}
locals {{
  main = {{ repository = "my-org/app", repository_id = 123456, ref = "refs/heads/main" }}
}}
data "openai_workload_identity_match" "main" {{
  workload_identity_provider_id = openai_workload_identity_provider.ci.id
  service_account_id            = "{sa}"
  claims                        = local.main
  depends_on                    = [openai_service_account_mapping.deploy]
}}
data "openai_workload_identity_match" "fork" {{
  workload_identity_provider_id = openai_workload_identity_provider.ci.id
  claims                        = merge(local.main, {{ repository = "someone/app", repository_id = 999 }})
  depends_on                    = [openai_service_account_mapping.deploy]
}}
data "openai_workload_identity_match" "branch" {{
  workload_identity_provider_id = openai_workload_identity_provider.ci.id
  claims                        = merge(local.main, {{ ref = "refs/heads/dev" }})
  depends_on                    = [openai_service_account_mapping.deploy]
}}
{check}
output "main" {{ value = data.openai_workload_identity_match.main }}
output "fork" {{ value = data.openai_workload_identity_match.fork }}
output "branch" {{ value = data.openai_workload_identity_match.branch.reasons }}
output "mapping" {{ value = openai_service_account_mapping.deploy.id }}
"#
        ));
        let out = wd.apply();
        out.assert_success();
        assert!(!out.output_contains_words("only_main_is_admitted"), "the check passed");
        let mapping = wd.output("mapping");
        let mapping = mapping.as_str().unwrap();
        let main = wd.output("main");
        assert_eq!(main["admitted"], true, "{main}");
        assert_eq!(main["matching_mapping_ids"], serde_json::json!([mapping]));
        assert_eq!(main["reasons"][mapping], "matched");
        let fork = wd.output("fork");
        assert_eq!(fork["admitted"], false, "{fork}");
        assert_eq!(fork["matching_mapping_ids"], serde_json::json!([]));
        // The first matcher that failed (in the order the API keeps), in the emulator's wording.
        assert_eq!(
            fork["reasons"][mapping],
            r#"claim 'repository' is "someone/app", expected "my-org/app""#
        );
        assert_eq!(
            wd.output("branch")[mapping],
            r#"attribute 'openai.main' is "false", expected true"#
        );

        // Disabled by hand: the exchange's refusal, word for word.
        let pid = main["workload_identity_provider_id"].as_str().unwrap().to_string();
        emu.ok(
            "POST",
            &format!("/organization/workload_identity_providers/{pid}"),
            Some(serde_json::json!({"enabled": false})),
        );
        let out = wd.run(&["apply", "-refresh-only", "-auto-approve", "-input=false"]);
        out.assert_success();
        let main = wd.output("main");
        assert_eq!(main["admitted"], false, "{main}");
        let reason = main["reasons"][mapping].as_str().unwrap();
        assert!(
            reason.contains("workload identity provider disabled")
                && reason.contains(&format!("'{pid}' is disabled")),
            "{reason}"
        );
    }
}
