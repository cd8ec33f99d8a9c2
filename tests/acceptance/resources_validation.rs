//! One rule of each validation rule family of both resources fails
//! `terraform validate` (no API call: no emulator runs here) with its message
//! on the right attribute, which proves that diagnostics and their attribute
//! paths (top-level, list element, map key) reach Terraform. Every rule is
//! checked, with path, summary and detail, by the table-driven unit tests next
//! to each resource's rules (`validate_config`) and attribute validators
//! (`not_empty`), which run through the framework's own validation path.

use crate::support::HEADER;
use crate::support::{Workdir, tf_latest};

fn validate(body: &str) -> crate::support::TfOutput {
    let tf = tf_latest();
    let wd = Workdir::new(&tf);
    wd.write_main(&format!(
        "terraform {{\n  required_providers {{\n    openai = {{ source = \"openai-wif/openai\" }}\n  }}\n}}\n{body}"
    ));
    wd.validate()
}

fn provider(attrs: &str) -> String {
    format!(
        "resource \"openai_workload_identity_provider\" \"x\" {{\n  name = \"n\"\n  audience = \"a\"\n{attrs}\n}}\n"
    )
}

fn mapping(attrs: &str) -> String {
    format!(
        "resource \"openai_service_account_mapping\" \"m\" {{\n  workload_identity_provider_id = \"wip_1\"\n  project_id = \"proj_1\"\n  service_account_id = \"svc_acct_1\"\n{attrs}\n}}\n"
    )
}

/// Asserts a failed validate with `summary` and `detail`, pointing at `line`
/// (the configuration text Terraform quotes for the attribute).
fn assert_refused(out: &crate::support::TfOutput, summary: &str, detail: &str, line: &str) {
    out.assert_failure_saying(&[summary, detail, line]);
}

#[test]
fn provider_rule_families() {
    // (family: configuration, summary, detail, quoted line)
    let cases: &[(&str, &str, &str, &str)] = &[
        // issuer URL
        (
            "  issuer = \"http://issuer.example.com\"",
            "Invalid issuer",
            "uses http",
            "issuer = \"http://issuer.example.com\"",
        ),
        // jwks_json content
        (
            "  issuer = \"https://i.example.com\"\n  jwks_json = jsonencode({ keys = [{ kid = \"a\", kty = \"RSA\", n = \"x\", e = \"AQAB\", d = \"secret\" }] })",
            "Invalid jwks_json",
            "private key material",
            "jwks_json = jsonencode",
        ),
        // conflicting key sources
        (
            "  issuer = \"https://i.example.com\"\n  jwks_json = jsonencode({ keys = [{ kid = \"a\", kty = \"RSA\" }] })\n  discovery_url = \"https://d.example.com\"",
            "Conflicting key sources",
            "not both",
            "discovery_url = \"https://d.example.com\"",
        ),
        // discovery_url
        (
            "  issuer = \"https://i.example.com\"\n  discovery_url = \"https://d.example.com:8443/x\"",
            "Invalid discovery_url",
            "custom port",
            "discovery_url = \"https://d.example.com:8443/x\"",
        ),
        // attribute_transformations (a path into a list element)
        (
            "  issuer = \"https://i.example.com\"\n  attribute_transformations = [{ attribute = \"repository\", expression = \"assertion.repository\" }]",
            "Invalid transformation attribute",
            "must start with \"openai.\"",
            "attribute_transformations = [",
        ),
    ];
    for (attrs, summary, detail, line) in cases {
        let out = validate(&provider(attrs));
        assert_refused(&out, summary, detail, line);
    }
}

#[test]
fn issuer_trailing_slash_is_valid_and_kept() {
    validate(&provider(
        "  issuer = \"https://token.actions.githubusercontent.com/\"",
    ))
    .assert_success();
}

#[test]
fn mapping_rule_families() {
    let cases: &[(&str, &str, &str, &str)] = &[
        // attribute_matchers (a path into a map key)
        (
            "  attribute_matchers = { sub = \"*\" }",
            "Invalid matcher value",
            "single trailing `*`",
            "attribute_matchers = { sub = \"*\" }",
        ),
        // scopes
        (
            "  attribute_matchers = { sub = \"x\" }\n  scopes = []",
            "Empty scopes",
            "Omit scopes",
            "scopes = []",
        ),
    ];
    for (attrs, summary, detail, line) in cases {
        let out = validate(&mapping(attrs));
        assert_refused(&out, summary, detail, line);
    }
    // A trailing wildcard after a prefix is fine.
    validate(&mapping(
        "  attribute_matchers = { sub = \"repo:my-org/*\" }",
    ))
    .assert_success();
}

#[test]
fn values_unknown_during_validation_do_not_conflict() {
    // A module choosing the key source through variables: during validation
    // every variable is unknown, which must not read as "both set".
    let tf = tf_latest();
    let wd = Workdir::new(&tf);
    wd.write_main(
        &[
            HEADER,
            r#"
variable "jwks" {
  type    = string
  default = null
}
variable "discovery_url" {
  type    = string
  default = null
}
resource "openai_workload_identity_provider" "x" {
  name          = "n"
  issuer        = "https://i.example.com"
  audience      = "a"
  jwks_json     = var.jwks
  discovery_url = var.discovery_url
}
"#,
        ]
        .concat(),
    );
    wd.validate().assert_success();
    // No admin key: the plan needs no API call for a create.
    wd.plan_detailed().assert_code(2);
}
