//! The provider binary loads into real Terraform (1.15.5 and 1.0.3) over
//! protocol 6 with AutoMTLS, and its own configuration is validated.

mod support;

use support::{Workdir, terraform_binaries, tf_latest};

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

#[test]
fn every_terraform_version_validates_plans_and_applies_with_the_provider() {
    for tf in terraform_binaries() {
        let wd = Workdir::new(&tf);
        wd.write_main(PROVIDER_ONLY);
        // dev_overrides: `init` is not needed (and fails offline on 1.0.3).
        wd.validate().assert_success();
        wd.plan_detailed().assert_code(2);
        wd.apply().assert_success();
        assert_eq!(wd.output("ok"), "loaded", "{tf}");
        wd.plan_detailed().assert_code(0);
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
    for kind in ["resource_schemas"] {
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

#[test]
fn bad_provider_settings_are_reported_on_their_attribute() {
    for tf in terraform_binaries() {
        let wd = Workdir::new(&tf);
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
        out.assert_failure();
        out.assert_output_contains_words("Invalid base_url");
        out.assert_output_contains_words("uses http. Only https is accepted");
        out.assert_output_contains_words("Invalid max_retries");
        out.assert_output_contains_words("max_retries must be a whole number from 0 to 20, got 99");
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
