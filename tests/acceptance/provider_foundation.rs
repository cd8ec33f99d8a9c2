//! The provider binary loads into real Terraform (1.15.5 and 1.0.3) over
//! protocol 6 with AutoMTLS, and its own configuration is validated.

use crate::support::{Workdir, tf_latest};

const PROVIDER_ONLY: &str = r#"
terraform {
  required_providers {
    openai = { source = "openai-wif/openai" }
  }
}

provider "openai" {}

output "ok" {
  value = "loaded"
}
"#;

tftest! {
    fn every_terraform_version_validates_plans_and_applies_with_the_provider(tf) {
        let wd = Workdir::new(tf);
        wd.write_main(PROVIDER_ONLY);
        wd.first_run();
        assert_eq!(wd.output("ok"), "loaded", "{tf}");
    }
}

#[test]
fn schema_marks_the_admin_key_sensitive_and_describes_every_attribute() {
    let tf = tf_latest();
    let wd = Workdir::new(&tf);
    wd.write_main(PROVIDER_ONLY);
    let out = wd.run(&["providers", "schema", "-json"]);
    out.assert_success();
    let schemas = out.json();
    let provider = &schemas["provider_schemas"]["registry.terraform.io/openai-wif/openai"];
    let block = &provider["provider"]["block"];
    assert_eq!(
        block["attributes"]["admin_api_key"]["sensitive"], true,
        "{out}"
    );
    for (name, a) in block["attributes"].as_object().unwrap() {
        assert!(
            a["description"].as_str().is_some_and(|d| !d.is_empty()),
            "provider attribute {name} has no description"
        );
    }
    for kind in [
        "resource_schemas",
        "data_source_schemas",
        "ephemeral_resource_schemas",
    ] {
        for (rname, s) in provider[kind].as_object().unwrap() {
            for (aname, a) in s["block"]["attributes"].as_object().unwrap() {
                assert!(
                    a["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{rname}.{aname} has no description"
                );
            }
        }
    }
}

tftest! {
    fn bad_provider_settings_are_reported_on_their_attribute(tf) {
        let wd = Workdir::new(tf);
        wd.write_main(
            r#"
provider "openai" {
  base_url    = "http://api.openai.com/v1"
  max_retries = 99
}
# Terraform validates a provider block only when something uses it.
resource "openai_workload_identity_provider" "x" {
  name     = "x"
  issuer   = "https://token.actions.githubusercontent.com"
  audience = "https://api.openai.com/v1"
}
terraform {
  required_providers {
    openai = { source = "openai-wif/openai" }
  }
}
"#,
        );
        let out = wd.validate();
        out.assert_failure_saying(&["Invalid base_url", "uses http. Only https is accepted", "Invalid max_retries", "max_retries must be a whole number from 0 to 20, got 99"]);
        // Terraform points at the attribute's line in the configuration.
        out.assert_output_contains_words("base_url    = \"http://api.openai.com/v1\"");
    }
}

#[test]
fn a_missing_admin_key_is_only_reported_when_the_admin_api_is_needed() {
    let tf = tf_latest();
    let wd = Workdir::new(&tf);
    wd.write_main(PROVIDER_ONLY);
    // No key anywhere, nothing needs the Admin API: fine.
    wd.plan_detailed().assert_code(2);
}

/// A provider `x` on GitHub's issuer: something for a plan to create.
const GITHUB_PROVIDER_X: &str = r#"resource "openai_workload_identity_provider" "x" {
  name     = "x"
  issuer   = "https://token.actions.githubusercontent.com"
  audience = "https://api.openai.com/v1"
}
"#;

#[test]
fn provider_configuration_unknown_at_plan_time_does_not_crash() {
    let tf = tf_latest();
    let wd = Workdir::new(&tf);
    wd.write_config(&format!(
        r#"
resource "terraform_data" "url" {{
  input = "http://127.0.0.1:9/v1"
}}
provider "openai" {{
  base_url = terraform_data.url.output
}}
{GITHUB_PROVIDER_X}"#
    ));
    let plan = wd.plan_json();
    plan.assert_code(2);
    assert_eq!(plan.changes().add, 2, "{plan}");
}

#[test]
fn provider_logs_reach_terraform_at_their_level_without_secrets() {
    let tf = tf_latest();
    let mut wd = Workdir::new(&tf);
    let log = wd.dir().join("tf.log");
    wd.env("TF_LOG_PROVIDER", "DEBUG")
        .env("TF_LOG_PATH", log.to_str().unwrap())
        .env("OPENAI_ADMIN_KEY", "sk-admin-never-log-me")
        // Nothing listens there: the test never reaches a real API.
        .env("OPENAI_BASE_URL", "http://127.0.0.1:9/v1");
    wd.write_config(&format!("\nprovider \"openai\" {{}}\n{GITHUB_PROVIDER_X}"));
    // The plan itself fails (no API on that port), which is fine here.
    wd.run(&["plan", "-input=false"]);
    let text = std::fs::read_to_string(&log).expect("TF_LOG_PATH written");
    // Terraform re-logs our JSON lines through its provider logger.
    assert!(
        text.lines()
            .any(|l| l.contains("[INFO]") && l.contains("provider configured")),
        "no provider INFO line in the log:\n{}",
        &text[..text.len().min(4000)]
    );
    assert!(
        !text.contains("sk-admin-never-log-me"),
        "the admin key leaked into the log"
    );
}

/// `--version` works by hand, before (and without) the magic cookie check.
#[test]
fn the_binary_answers_version_by_hand() {
    let out =
        std::process::Command::new(crate::support::workspace_bin("terraform-provider-openai"))
            .arg("--version")
            .env_remove("TF_PLUGIN_MAGIC_COOKIE")
            .output()
            .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("terraform-provider-openai {}", env!("CARGO_PKG_VERSION"))
    );
}
