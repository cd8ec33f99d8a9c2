//! Terraform configurations many tests start from.

/// The `terraform` block that makes `openai` this provider.
pub const HEADER: &str = r#"
terraform {
  required_providers {
    openai = { source = "openai-wif/openai" }
  }
}
"#;

/// [`HEADER`] and `n` providers (`count`), named `tf-N`, each with an
/// issuer of its own.
pub fn counted_providers(n: usize) -> String {
    format!("{HEADER}{}", providers_named("p", None, "tf", n))
}

/// `n` providers `label` (`count`, a number or an HCL expression) named
/// `prefix-N`, each with an issuer of its own, through the provider
/// configuration `via` (`openai.ALIAS`) or the default one.
pub fn providers_named(
    label: &str,
    via: Option<&str>,
    prefix: &str,
    n: impl std::fmt::Display,
) -> String {
    let via = via.map_or(String::new(), |v| format!("\n  provider = {v}"));
    format!(
        r#"
resource "openai_workload_identity_provider" "{label}" {{{via}
  count    = {n}
  name     = "{prefix}-${{count.index}}"
  issuer   = "https://{prefix}-${{count.index}}.example.com"
  audience = "https://api.openai.com/v1"
}}
"#
    )
}

/// `n` mappings (`count`) of `provider` (an HCL expression) to `account`,
/// each matching a `sub` of its own.
pub fn counted_mappings(provider: &str, project: &str, account: &str, n: usize) -> String {
    counted_mappings_via(None, provider, project, account, n)
}

/// [`counted_mappings`] through the provider configuration `via`
/// (`openai.ALIAS`) or the default one.
pub fn counted_mappings_via(
    via: Option<&str>,
    provider: &str,
    project: &str,
    account: &str,
    n: usize,
) -> String {
    let via = via.map_or(String::new(), |v| {
        format!("\n  provider                      = {v}")
    });
    format!(
        r#"
resource "openai_service_account_mapping" "m" {{{via}
  count                         = {n}
  workload_identity_provider_id = {provider}
  project_id                    = "{project}"
  service_account_id            = "{account}"
  attribute_matchers            = {{ sub = "repo:my-org/r${{count.index}}:ref:refs/heads/main" }}
}}
"#
    )
}

/// A mapping `label` of `provider` (an HCL expression: `"wip_..."` with its
/// quotes, or a reference) to `account` of `project`; `body` holds its other
/// attributes, one per line.
pub fn mapping(
    label: &str,
    provider: &str,
    (project, account): (&str, &str),
    body: &str,
) -> String {
    format!(
        r#"
resource "openai_service_account_mapping" "{label}" {{
  workload_identity_provider_id = {provider}
  project_id                    = "{project}"
  service_account_id            = "{account}"
{body}
}}
"#
    )
}

/// GitHub Actions' OIDC issuer, shared by every GitHub user: mappings on
/// it must pin the owner (tenant pinning).
pub const GITHUB: &str = "https://token.actions.githubusercontent.com";

/// A variable `name` for a subject token: a string Terraform keeps out of
/// plan and state (`sensitive`, `ephemeral`), null when not set.
pub fn token_variable(name: &str) -> String {
    format!(
        r#"
variable "{name}" {{
  type      = string
  default   = null
  sensitive = true
  ephemeral = true
}}
"#
    )
}

/// A provider `p` named `name` trusting `issuer`, for OpenAI's audience.
pub fn provider(name: &str, issuer: &str) -> String {
    labelled_provider("p", name, issuer, "")
}

/// A provider `label` named `name` trusting `issuer`, for OpenAI's
/// audience; `body` holds its other attributes, one per line.
pub fn labelled_provider(label: &str, name: &str, issuer: &str, body: &str) -> String {
    format!(
        r#"
resource "openai_workload_identity_provider" "{label}" {{
  name     = "{name}"
  issuer   = "{issuer}"
  audience = "https://api.openai.com/v1"
{body}
}}
"#
    )
}

/// A provider's `attribute_transformations` attribute (a line of
/// [`labelled_provider`]'s body) holding `objects`, each an HCL object
/// such as `{ attribute = "openai.x", expression = "assertion.sub" }`.
pub fn transformations(objects: &[&str]) -> String {
    let objects: String = objects.iter().map(|o| format!("    {o},\n")).collect();
    format!("  attribute_transformations = [\n{objects}  ]")
}
