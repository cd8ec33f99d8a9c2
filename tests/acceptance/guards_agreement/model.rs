//! The fuzzer's model of one configuration, its rendering to HCL, and the
//! oracle: which refusals a plan of it must or may give.

use crate::support::HEADER;
use crate::support::config::providers_named;
use std::collections::BTreeSet;
use std::fmt::Write as _;

pub use crate::support::config::GITHUB;

/// What a refusal at plan names, read from the diagnostic's summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// "... limit exceeded", "No room to create ...".
    Limit,
    /// "... not pinned to your tenant".
    Pinning,
    /// A name taken by another object.
    Name,
    /// An object that does not exist.
    NotFound,
    /// A provider that still has mappings cannot be deleted (a 409 from
    /// the API), refused at plan when a replacement would need it.
    InUse,
}

/// Reads the rule each `Error:` diagnostic of `text` names; `Err` holds
/// the summaries that name none of them.
pub fn classify(text: &str) -> Result<BTreeSet<Rule>, Vec<String>> {
    let mut rules = BTreeSet::new();
    let mut unknown = Vec::new();
    for line in text.lines() {
        let line = line.trim_start_matches(|c: char| c == '│' || c.is_whitespace());
        let Some(summary) = line.strip_prefix("Error: ") else {
            continue;
        };
        let s = summary.to_lowercase();
        let rule = if s.contains("limit exceeded") || s.contains("no room to create") {
            Rule::Limit
        } else if s.contains("not pinned to your tenant") {
            Rule::Pinning
        } else if s.contains("name")
            && (s.contains("taken")
                || s.contains("already")
                || s.contains("duplicate")
                || s.contains("swapped"))
        {
            Rule::Name
        } else if s.contains("not found") || s.contains("does not exist") {
            Rule::NotFound
        } else if s.contains("still has mappings") {
            Rule::InUse
        } else {
            unknown.push(summary.to_string());
            continue;
        };
        rules.insert(rule);
    }
    if unknown.is_empty() {
        Ok(rules)
    } else {
        Err(unknown)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prov {
    /// Resource label `p{id}`.
    pub id: usize,
    pub name: String,
    pub github: bool,
    pub cbd: bool,
    /// Managed through the provider alias `openai.b` (with its mappings).
    pub alias: bool,
    pub description: u32,
}

impl Prov {
    pub fn addr(&self) -> String {
        format!("openai_workload_identity_provider.p{}", self.id)
    }
    pub fn issuer(&self) -> String {
        if self.github {
            GITHUB.to_string()
        } else {
            format!("https://p{}.example.com", self.id)
        }
    }
}

pub const SCOPE_SETS: &[&[&str]] = &[
    &["api.model.request"],
    &["api.model.request", "api.files.read"],
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Map {
    /// Resource label `m{id}`; the matcher `ref = "refs/heads/m{id}"` finds it on the server.
    pub id: usize,
    /// The `Prov::id` it belongs to.
    pub prov: usize,
    pub name: Option<String>,
    pub pinned: bool,
    pub enabled: bool,
    /// Index into `SCOPE_SETS`.
    pub scopes: Option<usize>,
    pub allow: bool,
    /// `lifecycle { ignore_changes = [attribute_matchers] }`.
    pub ignore_matchers: bool,
    /// Made by hand unpinned on a shared issuer and adopted (issue 22 item 2).
    pub legacy: bool,
    /// Names its provider by this literal id instead of by reference (as
    /// `-generate-config-out` writes it).
    pub literal: Option<String>,
    pub description: u32,
}

impl Map {
    pub fn addr(&self) -> String {
        format!("openai_service_account_mapping.m{}", self.id)
    }
    pub fn git_ref(&self) -> String {
        format!("refs/heads/m{}", self.id)
    }
    pub fn repository_id(&self) -> String {
        (1000 + self.id).to_string()
    }
    /// The matchers as the API holds them.
    pub fn matchers_json(&self) -> serde_json::Value {
        if self.pinned {
            serde_json::json!({"ref": self.git_ref(), "repository_id": self.repository_id()})
        } else {
            serde_json::json!({"ref": self.git_ref()})
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Model {
    pub provs: Vec<Prov>,
    pub maps: Vec<Map>,
    /// `count` of `openai_workload_identity_provider.bulk`, set through `var.n`.
    pub bulk: usize,
    pub next_id: usize,
    /// `import` blocks for this step only: (mapping id, import id).
    pub imports: Vec<(usize, String)>,
    /// The alias `openai.b` spells the base URL with a trailing `/`.
    pub alias_slash: bool,
}

/// The fixed part of a scenario: the organization and the limits.
pub struct Limits {
    pub max_providers: usize,
    pub max_mappings: usize,
    /// Providers made by hand, outside this configuration.
    pub hand_providers: usize,
}

/// What a plan of a candidate model must or may refuse.
#[derive(Debug, Default)]
pub struct Expect {
    /// Non-empty: the plan must be refused, naming one of these.
    pub must: BTreeSet<Rule>,
    /// Refusals naming these are allowed too.
    pub may: BTreeSet<Rule>,
    /// Why, for the failure message.
    pub why: Vec<String>,
}

impl Expect {
    /// The plan must be refused for `rule`, because of `why`.
    fn must(&mut self, rule: Rule, why: String) {
        self.must.insert(rule);
        self.why.push(why);
    }

    pub fn allows(&self, rules: &BTreeSet<Rule>) -> bool {
        !rules.is_empty()
            && rules
                .iter()
                .all(|r| self.must.contains(r) || self.may.contains(r))
    }
}

impl Model {
    pub fn fresh_id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id
    }

    pub fn prov(&self, id: usize) -> &Prov {
        self.provs
            .iter()
            .find(|p| p.id == id)
            .expect("provider in model")
    }

    pub fn map_mut(&mut self, id: usize) -> &mut Map {
        self.maps
            .iter_mut()
            .find(|m| m.id == id)
            .expect("mapping in model")
    }

    pub fn description_of(&self, map: usize) -> u32 {
        self.maps
            .iter()
            .find(|m| m.id == map)
            .map_or(0, |m| m.description)
    }

    pub fn maps_on(&self, prov: usize) -> usize {
        self.maps.iter().filter(|m| m.prov == prov).count()
    }

    /// The oracle: what planning `self` after `before` was applied must do.
    pub fn expect(&self, before: &Model, limits: &Limits) -> Expect {
        let mut e = Expect::default();
        let total = limits.hand_providers + self.provs.len() + self.bulk;
        if total > limits.max_providers {
            let why = format!(
                "{total} providers ({} by hand) > max {}",
                limits.hand_providers, limits.max_providers
            );
            e.must(Rule::Limit, why);
        }
        for p in &self.provs {
            let n = self.maps_on(p.id);
            if n > limits.max_mappings {
                let why = format!("{n} mappings on p{} > max {}", p.id, limits.max_mappings);
                e.must(Rule::Limit, why);
            }
        }
        // A name another object had before this plan (a swap, a chain of
        // renames): applying it, or refusing it at plan, are both sound.
        for m in &self.maps {
            let Some(name) = &m.name else { continue };
            let taken = before.maps.iter().any(|o| {
                o.id != m.id
                    && o.prov == m.prov
                    && o.name.as_ref() == Some(name)
                    && self.maps.iter().any(|x| x.id == o.id)
            });
            if taken {
                e.may.insert(Rule::Name);
            }
        }
        for m in &self.maps {
            let p = self.prov(m.prov);
            if !p.github || m.pinned || m.allow {
                continue;
            }
            let old = before.maps.iter().find(|o| o.id == m.id);
            let old_prov = old.and_then(|o| before.provs.iter().find(|q| q.id == o.prov));
            let untouched = old == Some(m) && old_prov.is_some_and(|q| q.github && q.id == p.id);
            if untouched {
                continue; // an existing unpinned mapping left alone: a warning
            }
            let only_disabled = old.is_some_and(|o| {
                o.enabled
                    && !m.enabled
                    && Map {
                        enabled: false,
                        ..o.clone()
                    } == *m
            }) && old_prov.is_some_and(|q| q.github);
            if m.enabled {
                let why = format!("m{} unpinned and enabled on GitHub's issuer", m.id);
                e.must(Rule::Pinning, why);
            } else if !only_disabled {
                // Disabled, but created or changed: either answer is sound.
                e.may.insert(Rule::Pinning);
            }
        }
        e
    }

    /// The configuration, with the provider block's limits.
    pub fn render(&self, limits: &Limits, base_url: &str, project: &str, account: &str) -> String {
        let mut s = format!(
            r#"{HEADER}
provider "openai" {{
  max_workload_identity_providers = {max_p}
  max_mappings_per_provider       = {max_m}
}}

provider "openai" {{
  alias                           = "b"
  base_url                        = "{base_url}{slash}"
  max_workload_identity_providers = {max_p}
  max_mappings_per_provider       = {max_m}
}}

variable "n" {{
  type    = number
  default = {bulk}
}}
{bulk_providers}"#,
            max_p = limits.max_providers,
            max_m = limits.max_mappings,
            slash = if self.alias_slash { "/" } else { "" },
            bulk = self.bulk,
            bulk_providers = providers_named("bulk", None, "bulk", "var.n"),
        );
        for p in &self.provs {
            let _ = write!(
                s,
                r#"
resource "openai_workload_identity_provider" "p{id}" {{
  name        = "{name}"
  issuer      = "{issuer}"
  audience    = "https://api.openai.com/v1"
  description = "d{d}"
"#,
                id = p.id,
                name = p.name,
                issuer = p.issuer(),
                d = p.description
            );
            if p.alias {
                s.push_str("  provider    = openai.b\n");
            }
            if p.cbd {
                s.push_str("  lifecycle {\n    create_before_destroy = true\n  }\n");
            }
            s.push_str("}\n");
        }
        for m in &self.maps {
            let _ = write!(
                s,
                r#"
resource "openai_service_account_mapping" "m{id}" {{
  workload_identity_provider_id = {prov}
  project_id                    = "{project}"
  service_account_id            = "{account}"
  description                   = "d{d}"
  enabled                       = {enabled}
"#,
                id = m.id,
                prov = match &m.literal {
                    Some(wip) => format!("\"{wip}\""),
                    None => format!("openai_workload_identity_provider.p{}.id", m.prov),
                },
                d = m.description,
                enabled = m.enabled
            );
            if self.prov(m.prov).alias {
                s.push_str("  provider                      = openai.b\n");
            }
            if let Some(name) = &m.name {
                let _ = writeln!(s, "  name                          = \"{name}\"");
            }
            if m.pinned {
                let _ = writeln!(
                    s,
                    "  attribute_matchers = {{ ref = \"{}\", repository_id = \"{}\" }}",
                    m.git_ref(),
                    m.repository_id()
                );
            } else {
                let _ = writeln!(s, "  attribute_matchers = {{ ref = \"{}\" }}", m.git_ref());
            }
            if let Some(i) = m.scopes {
                let list: Vec<String> = SCOPE_SETS[i].iter().map(|x| format!("\"{x}\"")).collect();
                let _ = writeln!(s, "  scopes = [{}]", list.join(", "));
            }
            if m.allow {
                s.push_str("  allow_unpinned_shared_issuer = true\n");
            }
            if m.ignore_matchers {
                s.push_str("  lifecycle {\n    ignore_changes = [attribute_matchers]\n  }\n");
            }
            s.push_str("}\n");
        }
        for (map, id) in &self.imports {
            let _ = write!(
                s,
                "\nimport {{\n  to = openai_service_account_mapping.m{map}\n  id = \"{id}\"\n}}\n"
            );
        }
        s
    }

    /// One line per object, for failure messages.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "bulk={}{}",
            self.bulk,
            if self.alias_slash {
                ", alias b's base_url ends in /"
            } else {
                ""
            }
        );
        for p in &self.provs {
            let _ = write!(
                s,
                "; p{}({}{}{}{})",
                p.id,
                p.name,
                if p.github { ",github" } else { "" },
                if p.alias { ",alias b" } else { "" },
                if p.cbd { ",cbd" } else { "" }
            );
        }
        for m in &self.maps {
            let _ = write!(
                s,
                "; m{}(on p{}, name={:?}, {}{}{}{}{}, scopes={:?})",
                m.id,
                m.prov,
                m.name,
                if m.pinned { "pinned" } else { "unpinned" },
                if m.enabled { "" } else { ",disabled" },
                if m.allow { ",allow" } else { "" },
                if m.ignore_matchers {
                    ",ignore_matchers"
                } else {
                    ""
                },
                if m.legacy { ",legacy" } else { "" },
                m.scopes
            );
        }
        s
    }
}
