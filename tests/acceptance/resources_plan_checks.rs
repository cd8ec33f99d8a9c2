//! Every input the provider can check before the API sees it fails at plan,
//! on its attribute, with zero API writes: one table, run through `terraform
//! apply` (which stops at its plan) against one emulator, checking the
//! message, the configuration line Terraform quotes, and the emulator's
//! request log.

use crate::support::config;
use crate::support::org::{project_and_account, provider_by_hand, rule_by_hand, writes};
use crate::support::{Emulator, Workdir};
use serde_json::json;

#[derive(Default)]
struct Case {
    case: &'static str,
    config: String,
    summary: &'static str,
    detail: &'static str,
    /// Part of the configuration line Terraform quotes for the attribute.
    line: &'static str,
    /// What Terraform 1.0 quotes instead, when it differs: for a path into a
    /// list element, the resource block.
    old_line: Option<&'static str>,
    /// A conflict with an existing object: an error only where Terraform
    /// tells the provider about replacements (1.12+), a warning before.
    existing_name: bool,
}

fn provider(label: &str, name: &str, extra: &str) -> String {
    format!(
        r#"
resource "openai_workload_identity_provider" "{label}" {{
  name     = "{name}"
  issuer   = "https://oidc.new.example.com"
  audience = "https://api.openai.com/v1"
{extra}
}}
"#
    )
}

/// A provider `x` with `transformations` (one HCL object each), refused
/// with `(summary, detail)` on the transformation at `line`; Terraform 1.0
/// quotes the resource block instead.
fn transformations_case(
    case: &'static str,
    transformations: &[&str],
    (summary, detail): (&'static str, &'static str),
    line: &'static str,
) -> Case {
    // Each ends with the comma Terraform quotes in `line`.
    let objects: Vec<&str> = transformations
        .iter()
        .map(|t| t.trim_end_matches(','))
        .collect();
    Case {
        case,
        config: provider("x", "x", &config::transformations(&objects)),
        summary,
        detail,
        line,
        existing_name: false,
        old_line: Some(r#"resource "openai_workload_identity_provider" "x" {"#),
    }
}

fn provider_with_issuer(issuer: &str) -> String {
    format!(
        r#"
resource "openai_workload_identity_provider" "x" {{
  name     = "x"
  issuer   = "{issuer}"
  audience = "https://api.openai.com/v1"
}}
"#
    )
}

struct Org {
    wip: String,
    project: String,
    sa: String,
}

impl Org {
    /// The same provider with mappings to `project` and `sa` instead.
    fn owned_by(&self, project: &str, sa: &str) -> Org {
        Org {
            wip: self.wip.clone(),
            project: project.into(),
            sa: sa.into(),
        }
    }

    fn mapping(&self, label: &str, wip: &str, name: &str, matchers: &str) -> String {
        let body = format!(
            "  name                          = \"{name}\"\n  attribute_matchers            = {matchers}"
        );
        config::mapping(
            label,
            &format!("\"{wip}\""),
            (&self.project, &self.sa),
            &body,
        )
    }
}

fn cases(org: &Org) -> Vec<Case> {
    let wip = org.wip.as_str();
    let sub = r#"{ sub = "system:serviceaccount:ns:sa" }"#;
    vec![
        Case {
            case: "empty mapping name",
            config: org.mapping("m", wip, "", sub),
            summary: "Empty name",
            detail: "name must not be empty.",
            line: r#"name                          = """#,
            ..Case::default()
        },
        Case {
            case: "matchers from a null variable",
            config: format!(
                "variable \"matchers\" {{\n  type    = map(string)\n  default = null\n}}\n{}",
                org.mapping("m", wip, "m", "var.matchers")
            ),
            summary: "Null attribute_matchers",
            detail: "an empty set of matchers would admit every token of the issuer",
            line: "attribute_matchers            = var.matchers",
            ..Case::default()
        },
        Case {
            case: "a number JSON cannot hold",
            config: org.mapping("m", wip, "m", "{ n = 1e309 }"),
            summary: "Matcher number not representable",
            detail: "cannot be sent as a JSON number without changing it",
            line: "attribute_matchers            = { n = 1e309 }",
            ..Case::default()
        },
        Case {
            case: "a project that does not exist",
            config: org
                .owned_by("proj_doesnotexist", &org.sa)
                .mapping("m", wip, "m", sub),
            summary: "Project not found",
            detail: "There is no project \"proj_doesnotexist\" in this organization",
            line: r#"project_id                    = "proj_doesnotexist""#,
            ..Case::default()
        },
        Case {
            case: "a service account that does not exist",
            config: org
                .owned_by(&org.project, "svc_acct_doesnotexist")
                .mapping("m", wip, "m", sub),
            summary: "Service account not found",
            detail: "has no service account \"svc_acct_doesnotexist\"",
            line: r#"service_account_id            = "svc_acct_doesnotexist""#,
            ..Case::default()
        },
        Case {
            case: "project and service account swapped",
            config: org
                .owned_by(&org.sa, &org.project)
                .mapping("m", wip, "m", sub),
            summary: "Project not found",
            detail: "project_id and service_account_id look swapped",
            line: "project_id                    = \"svc_acct_",
            ..Case::default()
        },
        Case {
            case: "a provider id that does not exist",
            config: org.mapping("m", "wip_doesnotexist", "m", sub),
            summary: "Workload identity provider not found",
            detail: "There is no workload identity provider \"wip_doesnotexist\" in this organization",
            line: r#"workload_identity_provider_id = "wip_doesnotexist""#,
            ..Case::default()
        },
        Case {
            case: "a mapping name the provider has already",
            config: org.mapping("m", wip, "taken-rule", sub),
            summary: "Service account mapping name already used",
            detail: "already has a service account mapping named \"taken-rule\"",
            line: r#"name                          = "taken-rule""#,
            existing_name: true,
            old_line: None,
        },
        Case {
            case: "one mapping name twice in the run",
            config: format!(
                "{}{}",
                org.mapping("a", wip, "twice", sub),
                org.mapping(
                    "b",
                    wip,
                    "twice",
                    r#"{ sub = "system:serviceaccount:ns:other" }"#
                )
            ),
            summary: "Duplicate service account mapping name",
            detail: "also has the name \"twice\"",
            line: r#"name                          = "twice""#,
            ..Case::default()
        },
        Case {
            case: "a provider name the organization has already",
            config: provider("x", "taken", ""),
            summary: "Workload identity provider name already used",
            detail: "A workload identity provider named \"taken\" already exists in the organization",
            line: r#"name     = "taken""#,
            existing_name: true,
            old_line: None,
        },
        Case {
            case: "one provider name twice in the run",
            config: format!(
                "{}{}",
                provider("a", "twice", ""),
                provider("b", "twice", "  description = \"another\"")
            ),
            summary: "Duplicate workload identity provider name",
            detail: "also has the name \"twice\"",
            line: r#"name     = "twice""#,
            ..Case::default()
        },
        transformations_case(
            "one transformation attribute twice",
            &[
                r#"{ attribute = "openai.repo", expression = "assertion.repository" },"#,
                r#"{ attribute = "openai.repo", expression = "assertion.sub" },"#,
            ],
            (
                "Duplicate transformation attribute",
                "\"openai.repo\" is computed by an earlier transformation already",
            ),
            r#"{ attribute = "openai.repo", expression = "assertion.sub" },"#,
        ),
        transformations_case(
            "an invalid CEL expression",
            &[r#"{ attribute = "openai.bad", expression = "assertion.sub +" },"#],
            (
                "Invalid transformation expression",
                "\"assertion.sub +\" is not a usable CEL expression",
            ),
            r#"{ attribute = "openai.bad", expression = "assertion.sub +" },"#,
        ),
        transformations_case(
            "a CEL function the exchange does not know",
            &[r#"{ attribute = "openai.repo", expression = "assertion.sub.split(':')[1]" },"#],
            (
                "Invalid transformation expression",
                "unknown function 'split'",
            ),
            r#"{ attribute = "openai.repo", expression = "assertion.sub.split(':')[1]" },"#,
        ),
        Case {
            case: "a JWK without kty",
            config: provider(
                "x",
                "x",
                r#"  jwks_json = jsonencode({ keys = [{ kid = "a", n = "x", e = "AQAB" }] })"#,
            ),
            summary: "Invalid jwks_json",
            detail: "keys[0] has no \"kty\"",
            line: "jwks_json = jsonencode(",
            ..Case::default()
        },
        Case {
            case: "a discovery_url on a private address",
            config: provider(
                "x",
                "x",
                r#"  discovery_url = "https://10.1.2.3/.well-known/openid-configuration""#,
            ),
            summary: "Invalid discovery_url",
            detail: "points at a private address",
            line: r#"discovery_url = "https://10.1.2.3/"#,
            ..Case::default()
        },
        Case {
            case: "an issuer with a query",
            config: provider_with_issuer("https://oidc.example.com/?tenant=a"),
            summary: "Invalid issuer",
            detail: "has a query or a fragment, which an OIDC issuer never has",
            line: r#"issuer   = "https://oidc.example.com/?tenant=a""#,
            ..Case::default()
        },
        Case {
            case: "an issuer with a fragment",
            config: provider_with_issuer("https://oidc.example.com/#a"),
            summary: "Invalid issuer",
            detail: "has a query or a fragment",
            line: r#"issuer   = "https://oidc.example.com/#a""#,
            ..Case::default()
        },
        Case {
            case: "an issuer with a space",
            config: provider_with_issuer("https://oidc.example.com/ a"),
            summary: "Invalid issuer",
            detail: "contains white space",
            line: r#"issuer   = "https://oidc.example.com/ a""#,
            ..Case::default()
        },
    ]
}

tftest! {
    /// Each refusable input fails at plan on its attribute, and nothing is
    /// written to the API.
    fn refusable_inputs_fail_at_plan_with_no_write(tf) {
        let emu = Emulator::start();
        let (project, sa) = project_and_account(&emu);
        let wip = provider_by_hand(&emu, "taken", "https://oidc.taken.example.com");
        rule_by_hand(
            &emu,
            &wip,
            (&project, &sa),
            json!({"name": "taken-rule", "attribute_matchers": {"sub": "system:serviceaccount:ns:taken"}}),
        );
        let org = Org { wip, project, sa };
        let mut failed = Vec::new();
        for c in cases(&org) {
            assert_eq!(emu.control("POST", "/_emulator/requests/reset", None).0, 200);
            let wd = Workdir::with_emulator(tf, &emu);
            wd.write_config(&c.config);
            let as_warning = c.existing_name && !tf.at_least(1, 12, 0);
            let out = if as_warning {
                wd.plan_detailed()
            } else {
                wd.apply()
            };
            let ok = (if as_warning { out.code == 2 } else { out.code == 1 })
                && out.output_contains_words(c.summary)
                && out.output_contains_words(c.detail)
                && out.output_contains_words(match c.old_line {
                    Some(old) if !tf.at_least(1, 1, 0) => old,
                    _ => c.line,
                })
                && (as_warning || out.output_contains_words("Error:"));
            let written = writes(&emu);
            if !ok || !written.is_empty() {
                eprintln!("--- case {:?}: writes {written:?}\n{out}", c.case);
                failed.push(c.case);
            }
        }
        assert!(failed.is_empty(), "failed cases: {failed:?}");
    }
}
