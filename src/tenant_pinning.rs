//! The tenant-pinning guard. Some OIDC issuers are shared by everyone: any
//! GitHub user can run a workflow that gets a token from GitHub's issuer, any
//! Google account can get an ID token from Google, and so on. A mapping on
//! such an issuer that matches no claim naming *your* organization, project or
//! account (e.g. only `ref = "refs/heads/main"`) lets every tenant of that
//! issuer act as the service account. This module holds the one table of
//! shared issuers and the claims that pin a token to a tenant (one row per
//! issuer; also per-tenant issuers whose URL names the tenant by a reusable
//! name, which are only warned about), the check of a mapping's matchers
//! against it, and the per-process record of issuers
//! planned in this run (for mappings whose provider is not created yet).
//!
//! How a value pins:
//! * [`Pin::Exact`]: an exact value (a non-empty string without the trailing
//!   `*` wildcard, or a number) names one tenant. Booleans never pin.
//! * [`Pin::Owner`]: the value must start with `prefix` followed by a
//!   non-empty owner and then `end`. An exact value pins as soon as the owner
//!   part is non-empty; a wildcard pins only when the owner is complete before
//!   the `*`: `repo:my-org/*` pins `my-org`, but `repo:my-org*` also matches
//!   `repo:my-org-evil/...` and does not pin.
//!
//! Keys starting with `openai.` are values the provider's CEL transformations
//! compute; what they contain cannot be proven here, so they never pin.
//!
//! Claims deliberately left out: GitHub `job_workflow_ref` (names a reusable
//! workflow, which workflows of any owner may call), `actor`/`actor_id` (the
//! user's workflows in any repository carry them); Google `azp` (the OAuth
//! client, which any Google user of that client gets tokens for); GitLab
//! `user_*` and `ci_config_ref_uri`; HCP Terraform workspace and project
//! *names* (unique only within an organization).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use tfplugin::codec::Value;

/// How a matcher value on a claim pins the token to one tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pin {
    Exact,
    Owner {
        prefix: &'static str,
        /// Names the owner part in messages, e.g. `OWNER`.
        placeholder: &'static str,
        end: char,
    },
}

/// Whether a pinning value names its tenant by an immutable id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Naming {
    Id,
    /// A name that can be given up and registered again by someone else (a
    /// renamed or deleted organization or repository: "repojacking").
    Name,
    /// A name, unless the owner part is written `NAME@ID` with a numeric id
    /// (GitHub's immutable subjects, `repo:OWNER@OWNER_ID/REPO@REPO_ID:...`).
    NameUnlessAtId,
}

/// One claim that can pin, and how.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PinningClaim {
    pub claim: &'static str,
    pub pin: Pin,
    pub naming: Naming,
}

/// An issuer whose tokens anyone can obtain.
#[derive(Debug)]
pub(crate) struct SharedIssuer {
    /// Human name, e.g. "GitHub Actions".
    pub name: &'static str,
    /// The issuer URL as the issuer writes it in `iss`.
    pub issuer: &'static str,
    /// Who can get tokens from it, completing "… could act as the service account".
    pub anyone: &'static str,
    pub claims: &'static [PinningClaim],
    /// A matcher to suggest, in HCL.
    pub example: &'static str,
    /// The claims (or claim forms) that pin by immutable id, for the warning
    /// on a mapping pinned only by names.
    pub by_id: &'static str,
    /// `Some(what)`: not a shared issuer but one per tenant, whose URL names
    /// the tenant by a reusable name (`what`, e.g. a workspace slug) in place
    /// of the `*` in `issuer`. Such an issuer pins by itself, so nothing is
    /// refused; but when the name changes hands, the new holder's tokens
    /// carry the same issuer, so a mapping that pins no id claim is warned
    /// about.
    pub tenant_in_issuer: Option<&'static str>,
}

const fn exact(claim: &'static str) -> PinningClaim {
    PinningClaim {
        claim,
        pin: Pin::Exact,
        naming: Naming::Id,
    }
}

const fn owner(
    claim: &'static str,
    prefix: &'static str,
    placeholder: &'static str,
    end: char,
) -> PinningClaim {
    PinningClaim {
        claim,
        pin: Pin::Owner {
            prefix,
            placeholder,
            end,
        },
        naming: Naming::Id,
    }
}

/// `c`, naming its tenant by a reusable name (see [`Naming::Name`]).
const fn name(c: PinningClaim) -> PinningClaim {
    PinningClaim {
        naming: Naming::Name,
        ..c
    }
}

/// `c`, a name unless written with ids (see [`Naming::NameUnlessAtId`]).
const fn name_unless_at_id(c: PinningClaim) -> PinningClaim {
    PinningClaim {
        naming: Naming::NameUnlessAtId,
        ..c
    }
}

/// HCP Terraform's claims, the same in each of its regions.
const HCP_TERRAFORM_CLAIMS: &[PinningClaim] = &[
    name(exact("terraform_organization_name")),
    exact("terraform_organization_id"),
    exact("terraform_project_id"),
    exact("terraform_workspace_id"),
    name(owner("sub", "organization:", "ORG", ':')),
];
const HCP_TERRAFORM_BY_ID: &str =
    "`terraform_organization_id`, `terraform_project_id` or `terraform_workspace_id`";

/// The table. Keep it the only place that names shared issuers.
pub(crate) static SHARED_ISSUERS: &[SharedIssuer] = &[
    SharedIssuer {
        name: "GitHub Actions",
        issuer: "https://token.actions.githubusercontent.com",
        anyone: "workflows in any repository on GitHub",
        claims: &[
            name(owner("repository", "", "OWNER", '/')),
            name(exact("repository_owner")),
            exact("repository_id"),
            exact("repository_owner_id"),
            name(exact("enterprise")),
            exact("enterprise_id"),
            // The caller's own workflow file: OWNER/REPO/.github/workflows/...
            name(owner("workflow_ref", "", "OWNER", '/')),
            // The default subject and the custom subject templates whose first
            // claim names the repository or its owner. `repo:` subjects of
            // repositories created, renamed or transferred since 2026-07-15
            // carry ids (`repo:OWNER@OWNER_ID/REPO@REPO_ID:...`), which
            // [`by_id`] recognises.
            name_unless_at_id(owner("sub", "repo:", "OWNER", '/')),
            name(owner("sub", "repository:", "OWNER", '/')),
            name(owner("sub", "repository_owner:", "OWNER", ':')),
            owner("sub", "repository_owner_id:", "ID", ':'),
            owner("sub", "repository_id:", "ID", ':'),
        ],
        example: "repository_id = \"123456789\"",
        by_id: "`repository_id` or `repository_owner_id` (the numeric ids GitHub never reuses), \
                or the immutable subject \"repo:OWNER@OWNER_ID/REPO@REPO_ID:...\"",
        tenant_in_issuer: None,
    },
    SharedIssuer {
        name: "Google",
        issuer: "https://accounts.google.com",
        anyone: "any Google account or Google Cloud service account",
        claims: &[exact("sub"), name(exact("email")), name(exact("hd"))],
        example: "sub = \"<the service account's numeric unique ID>\"",
        by_id: "`sub`, the account's numeric unique ID (an email address can be deleted and \
                created again by someone else)",
        tenant_in_issuer: None,
    },
    SharedIssuer {
        name: "GitLab.com",
        issuer: "https://gitlab.com",
        anyone: "CI/CD jobs of any project on GitLab.com",
        claims: &[
            name(owner("namespace_path", "", "GROUP", '/')),
            exact("namespace_id"),
            name(owner("project_path", "", "GROUP", '/')),
            exact("project_id"),
            name(owner("sub", "project_path:", "GROUP", '/')),
        ],
        example: "project_id = \"12345678\"",
        by_id: "`project_id` or `namespace_id` (GitLab's numeric ids)",
        tenant_in_issuer: None,
    },
    SharedIssuer {
        name: "HCP Terraform",
        issuer: "https://app.terraform.io",
        anyone: "runs of any organization on HCP Terraform",
        claims: HCP_TERRAFORM_CLAIMS,
        example: "terraform_organization_id = \"org-AbCdEf123456\"",
        by_id: HCP_TERRAFORM_BY_ID,
        tenant_in_issuer: None,
    },
    SharedIssuer {
        name: "HCP Terraform Europe",
        issuer: "https://app.eu.terraform.io",
        anyone: "runs of any organization on HCP Terraform Europe",
        claims: HCP_TERRAFORM_CLAIMS,
        example: "terraform_organization_id = \"org-AbCdEf123456\"",
        by_id: HCP_TERRAFORM_BY_ID,
        tenant_in_issuer: None,
    },
    SharedIssuer {
        name: "Buildkite",
        issuer: "https://agent.buildkite.com",
        anyone: "jobs of any organization's pipelines on Buildkite",
        claims: &[
            name(exact("organization_slug")),
            exact("organization_id"),
            exact("pipeline_id"),
            name(owner("sub", "organization:", "ORG", ':')),
        ],
        example: "organization_id = \"<your organization's UUID>\"",
        by_id: "`organization_id` or `pipeline_id` (UUIDs, in tokens requested with \
                `--claim organization_id,pipeline_id`, as subject_token_source \"buildkite\" \
                does); slugs can be renamed",
        tenant_in_issuer: None,
    },
    SharedIssuer {
        name: "Bitbucket Pipelines",
        issuer: "https://api.bitbucket.org/2.0/workspaces/*/pipelines-config/identity/oidc",
        anyone: "the steps of the workspace that holds the slug",
        claims: &[
            exact("workspaceUuid"),
            exact("repositoryUuid"),
            exact("deploymentEnvironmentUuid"),
        ],
        example: "workspaceUuid = \"{<your workspace's UUID>}\"",
        by_id: "`workspaceUuid` or `repositoryUuid` (UUIDs Bitbucket never reuses)",
        tenant_in_issuer: Some("the workspace slug in the issuer URL"),
    },
];

/// The form issuers are compared in: host (lower case, no trailing dot) plus
/// non-default port and path, without trailing slashes, scheme, query or
/// fragment. Comparing loosely errs towards treating an issuer as shared: a
/// spelling that differs only in ways a URL normaliser might erase must not
/// get around the guard.
fn issuer_key(issuer: &str) -> String {
    let trimmed = issuer.trim();
    match url::Url::parse(trimmed) {
        Ok(u) if u.host_str().is_some() => {
            let host = u.host_str().unwrap_or_default().trim_end_matches('.');
            let port = u
                .port()
                .filter(|p| *p != 443 && *p != 80)
                .map(|p| format!(":{p}"))
                .unwrap_or_default();
            format!(
                "{}{port}{}",
                host.to_ascii_lowercase(),
                u.path().trim_end_matches('/')
            )
        }
        _ => {
            let lower = trimmed.to_ascii_lowercase();
            let rest = lower
                .strip_prefix("https://")
                .or_else(|| lower.strip_prefix("http://"))
                .unwrap_or(&lower);
            rest.trim_end_matches('/').to_string()
        }
    }
}

/// The row of the table `issuer` denotes, if any: a shared issuer, or a
/// per-tenant one that names its tenant by a reusable name (see
/// [`SharedIssuer::tenant_in_issuer`]).
pub(crate) fn shared_issuer(issuer: &str) -> Option<&'static SharedIssuer> {
    let key = issuer_key(issuer);
    SHARED_ISSUERS
        .iter()
        .find(|s| match s.issuer.split_once('*') {
            None => issuer_key(s.issuer) == key,
            // One non-empty path segment in place of the `*`.
            Some(_) => {
                let pattern = issuer_key(s.issuer);
                let (before, after) = pattern.split_once('*').unwrap_or_default();
                key.strip_prefix(before)
                    .and_then(|rest| rest.strip_suffix(after))
                    .is_some_and(|name| !name.is_empty() && !name.contains('/'))
            }
        })
}

/// Whether one known matcher value pins under one rule.
fn value_pins(pin: Pin, v: &Value) -> bool {
    match (pin, v) {
        (Pin::Exact, Value::Number(_)) => true,
        (Pin::Exact, Value::String(s)) => !s.is_empty() && !s.ends_with('*'),
        (Pin::Owner { prefix, end, .. }, Value::String(s)) => {
            let (fixed, wildcard) = match s.strip_suffix('*') {
                Some(f) => (f, true),
                None => (s.as_str(), false),
            };
            let Some(rest) = fixed.strip_prefix(prefix) else {
                return false;
            };
            match rest.find(end) {
                Some(i) => i > 0,
                // No end yet: only an exact value is limited to this owner.
                None => !wildcard && !rest.is_empty(),
            }
        }
        _ => false,
    }
}

/// The outcome of checking a mapping's matchers against a shared issuer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pinned,
    Unpinned,
    /// Depends on values not known until apply.
    Undecided,
}

/// Checks `attribute_matchers` (an object or map value, possibly wrapped in
/// a dynamic value or unknown) against `issuer`'s pinning claims.
pub(crate) fn check(issuer: &SharedIssuer, matchers: &Value) -> Verdict {
    if issuer.tenant_in_issuer.is_some() {
        return Verdict::Pinned;
    }
    let entries = match unwrap_dynamic(matchers) {
        Value::Object(m) | Value::Map(m) => m,
        Value::Unknown => return Verdict::Undecided,
        _ => return Verdict::Unpinned,
    };
    let mut undecided = false;
    for (_, rule, value) in rules_applying(issuer, entries) {
        if value == &Value::Unknown {
            undecided = true;
        } else if value_pins(rule.pin, value) {
            return Verdict::Pinned;
        }
    }
    if undecided {
        Verdict::Undecided
    } else {
        Verdict::Unpinned
    }
}

fn unwrap_dynamic(v: &Value) -> &Value {
    match v {
        Value::Dynamic(_, inner) => inner,
        other => other,
    }
}

/// Each matcher with each of `issuer`'s pinning rules for its claim.
fn rules_applying<'a>(
    issuer: &'a SharedIssuer,
    entries: &'a std::collections::BTreeMap<String, Value>,
) -> impl Iterator<Item = (&'a str, &'a PinningClaim, &'a Value)> {
    entries.iter().flat_map(move |(key, value)| {
        issuer
            .claims
            .iter()
            .filter(move |c| c.claim == key)
            .map(move |rule| (key.as_str(), rule, unwrap_dynamic(value)))
    })
}

/// Whether this pinning value names its tenant by an immutable id (see
/// [`Naming`]).
fn by_id(rule: &PinningClaim, v: &Value) -> bool {
    match (rule.naming, rule.pin, v) {
        (Naming::Id, ..) => true,
        (Naming::NameUnlessAtId, Pin::Owner { prefix, end, .. }, Value::String(s)) => s
            .strip_prefix(prefix)
            .and_then(|rest| rest.split([end, ':']).next())
            .and_then(|owner| owner.split_once('@'))
            .is_some_and(|(_, id)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())),
        _ => false,
    }
}

/// For a pinned mapping: `Some(detail)` of a warning when every matcher
/// that pins does so by a name another tenant could register after a
/// rename or deletion, and none by an immutable id. Unknown values give no
/// warning (they may well be ids).
pub(crate) fn name_only_warning(issuer: &SharedIssuer, matchers: &Value) -> Option<String> {
    let (Value::Object(entries) | Value::Map(entries)) = unwrap_dynamic(matchers) else {
        return None;
    };
    let mut names = Vec::new();
    for (key, rule, value) in rules_applying(issuer, entries) {
        if value == &Value::Unknown {
            return None;
        }
        if value_pins(rule.pin, value) {
            if by_id(rule, value) {
                return None;
            }
            if !names.contains(&key) {
                names.push(key);
            }
        }
    }
    let names = match (issuer.tenant_in_issuer, names.is_empty()) {
        (_, false) => names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", "),
        (Some(what), true) => what.to_owned(),
        (None, true) => return None,
    };
    Some(format!(
        "This mapping pins {} tokens to your tenant only by name ({names}). A name can be \
         given up (a rename, a transfer, a deletion) and registered again by someone else, whose \
         workloads would then match. Pin by immutable id as well or instead: {}.",
        issuer.name, issuer.by_id
    ))
}

pub(crate) const NAME_ONLY_SUMMARY: &str = "Service account mapping pinned only by name";

/// The error detail for an unpinned mapping on `shared` (configured as
/// `configured_issuer`).
pub(crate) fn explain(shared: &SharedIssuer, configured_issuer: &str) -> String {
    // One entry per claim, listing its accepted forms.
    let mut entries: Vec<(&str, Vec<String>)> = Vec::new();
    for c in shared.claims {
        let form = match c.pin {
            Pin::Exact => None,
            Pin::Owner {
                prefix,
                placeholder,
                end,
            } => Some(format!("\"{prefix}{placeholder}{end}...\"")),
        };
        match entries.iter_mut().find(|(n, _)| *n == c.claim) {
            Some((_, forms)) => forms.extend(form),
            None => entries.push((c.claim, form.into_iter().collect())),
        }
    }
    let names = entries
        .iter()
        .map(|(name, forms)| match forms.as_slice() {
            [] => format!("`{name}`"),
            _ => format!("`{name}` ({})", forms.join(" or ")),
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "The mapping's workload identity provider trusts {configured_issuer:?}, the {} issuer, \
         which is shared: {} can obtain tokens from it. None of attribute_matchers pins the token \
         to your tenant, so all of them could act as this service account. Add a matcher on one \
         of {names}, e.g. {}. A trailing `*` pins only after the whole owner, e.g. \"my-org/*\", \
         not \"my-org*\". Matchers on `openai.` attributes do not count: what a transformation \
         computes cannot be checked here. If admitting every tenant is really intended, set \
         allow_unpinned_shared_issuer = true on the mapping.",
        shared.name, shared.anyone, shared.example,
    )
}

pub(crate) const SUMMARY: &str = "Service account mapping not pinned to your tenant";

/// What one mapping planned in this run will be, as its provider's check
/// needs it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PlannedMapping {
    /// The matchers exactly as they will be sent; `None` while not wholly known.
    pub matchers: Option<Json>,
    /// `allow_unpinned_shared_issuer`; `None` while unknown.
    pub allow: Option<bool>,
    /// Destroyed, or replaced away, in this run.
    pub gone: bool,
    /// Planned `enabled = false`: it admits no token, so no issuer makes it
    /// a risk (see `guards::operation`).
    pub disabled: bool,
    /// The service account it maps to, when known: two enabled mappings of
    /// one account that match one token make the exchange ambiguous.
    pub service_account: Option<String>,
}

/// A JSON object of claim name to matcher value, as sent to the API.
pub(crate) type Json = serde_json::Map<String, serde_json::Value>;

impl PlannedMapping {
    /// Whether this planned mapping refuses, admits or leaves open the
    /// `shared` issuer.
    pub(crate) fn verdict(&self, shared: &SharedIssuer) -> Verdict {
        if self.gone || self.disabled || self.allow == Some(true) {
            return Verdict::Pinned;
        }
        match (&self.matchers, self.allow) {
            (Some(m), Some(false)) => check_json(shared, m),
            _ => Verdict::Undecided,
        }
    }
}

/// Checks matchers in the form they are sent (JSON) against `issuer`.
pub(crate) fn check_json(issuer: &SharedIssuer, matchers: &Json) -> Verdict {
    let (_, v) = crate::values::from_json(&serde_json::Value::Object(matchers.clone()));
    check(issuer, &v)
}

/// Where a planned mapping sits within its provider: an existing rule by
/// id, or one created in this run.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum MappingKey {
    Existing(String),
    New(u64),
}

/// The plan-time meeting point of the two halves of the guard, per process:
/// the issuer each provider will have after this run, and what each of its
/// mappings will be.
///
/// Why the verdict cannot depend on the order Terraform plans in: a mapping
/// and its provider may be linked by a reference (Terraform plans the
/// provider first) or by a literal id (no order at all). Each side, when
/// planned, records its own planned value *and* reads the other side's in one
/// critical section ([`Self::provider_planned`], [`Self::mapping_planned`]).
/// Critical sections are totally ordered, so whichever of the two is planned
/// second sees both planned values and decides on them: the mapping checks
/// its planned matchers against the provider's planned issuer, or the
/// provider checks its planned issuer against the mapping's planned matchers.
/// The one planned first must not decide on the other's stale server value
/// either way, so where that value would refuse it waits for the other
/// side to be planned (bounded, [`Self::settle`], woken by every record):
/// a provider waits for its unpinned server rules, a mapping for its
/// provider. What is never planned in time (an unmanaged rule, a provider
/// not in this configuration, a mapping Terraform plans only after the
/// provider because it references it) is judged on its server value,
/// which is what stays: the verdict errs towards refusing.
/// Apply re-checks against the server right before each write, under a
/// per-provider lock ([`Self::write_lock`]): a provider's issuer change
/// holds it exclusively, its mappings' writes share it. Of a provider
/// write and a mapping write on the same provider, the one made second
/// always sees the other's result, so no interleaving of applies lets an
/// unpinned mapping and a shared issuer meet; mapping writes need not
/// exclude each other, since one mapping's verdict depends only on its own
/// matchers and the provider's issuer. Concurrent mapping writes share one
/// read of the issuer ([`Self::issuer_since`]).
pub(crate) struct PinningPlans {
    inner: Mutex<Planned>,
    changed: Notify,
    /// How long a provider's check waits for mappings still to be planned.
    pub settle: Duration,
    write_locks: Mutex<HashMap<String, Arc<tokio::sync::RwLock<()>>>>,
    issuer_reads: Mutex<HashMap<String, BatchSlot>>,
}

impl Default for PinningPlans {
    fn default() -> Self {
        PinningPlans {
            inner: Mutex::default(),
            changed: Notify::new(),
            settle: Duration::from_millis(1500),
            write_locks: Mutex::default(),
            issuer_reads: Mutex::default(),
        }
    }
}

#[derive(Default)]
struct Planned {
    /// Issuers of providers planned for creation; `None` when not yet known.
    created: Vec<Option<String>>,
    /// Planned issuers of existing providers (changed or not), by id.
    planned: HashMap<String, Option<String>>,
    /// Planned mappings by provider id.
    mappings: HashMap<String, BTreeMap<MappingKey, PlannedMapping>>,
    next_new: u64,
    /// Existing providers this run replaces (deletes, then creates anew).
    replacing: std::collections::HashSet<String>,
}

impl PinningPlans {
    fn with<R>(&self, f: impl FnOnce(&mut Planned) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn record_create(&self, issuer: Option<String>) {
        self.with(|p| p.created.push(issuer));
        self.changed.notify_waiters();
    }

    /// Records the issuer existing provider `id` will have after this run
    /// (`None`: not known yet), and returns, in the same critical section,
    /// the mappings of it planned so far.
    pub(crate) fn provider_planned(
        &self,
        id: &str,
        issuer: Option<String>,
    ) -> BTreeMap<MappingKey, PlannedMapping> {
        let out = self.with(|p| {
            p.planned.insert(id.to_string(), issuer);
            p.mappings.get(id).cloned().unwrap_or_default()
        });
        self.changed.notify_waiters();
        out
    }

    /// Records a planned mapping of provider `pid` (`rule_id` `None` for a
    /// create), and returns, in the same critical section, the issuer the
    /// provider will have when it was planned already (`Some(None)`: one not
    /// known yet).
    pub(crate) fn mapping_planned(
        &self,
        pid: &str,
        rule_id: Option<&str>,
        m: PlannedMapping,
    ) -> Option<Option<String>> {
        let out = self.with(|p| {
            let key = match rule_id {
                Some(id) => MappingKey::Existing(id.to_string()),
                None => {
                    p.next_new += 1;
                    MappingKey::New(p.next_new)
                }
            };
            p.mappings
                .entry(pid.to_string())
                .or_default()
                .insert(key, m);
            p.planned.get(pid).cloned()
        });
        self.changed.notify_waiters();
        out
    }

    /// The mappings of `pid` planned so far.
    pub(crate) fn mappings(&self, pid: &str) -> BTreeMap<MappingKey, PlannedMapping> {
        self.with(|p| p.mappings.get(pid).cloned().unwrap_or_default())
    }

    /// Records that this run replaces existing provider `id`, and returns,
    /// in the same critical section, the ids of its mappings planned so far
    /// that stay (name it by its literal id, not going away): OpenAI will
    /// refuse to delete the provider while they exist.
    pub(crate) fn provider_replaced(&self, id: &str) -> Vec<String> {
        let out = self.with(|p| {
            p.replacing.insert(id.to_string());
            staying(p.mappings.get(id))
        });
        self.changed.notify_waiters();
        out
    }

    /// Whether this run replaces provider `id` (so far).
    pub(crate) fn is_replacing(&self, id: &str) -> bool {
        self.with(|p| p.replacing.contains(id))
    }

    pub(crate) fn created(&self) -> Vec<Option<String>> {
        self.with(|p| p.created.clone())
    }

    /// `Some(planned issuer, None if unknown)` once provider `id` was planned.
    pub(crate) fn planned_issuer(&self, id: &str) -> Option<Option<String>> {
        self.with(|p| p.planned.get(id).cloned())
    }

    /// Waits until something is recorded, or `timeout` passes; `false` on timeout.
    pub(crate) async fn wait_for_change(&self, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, self.changed.notified())
            .await
            .is_ok()
    }

    /// Signals a pinning-relevant write (a mapping written or deleted), for
    /// a provider write waiting on it.
    pub(crate) fn written(&self) {
        self.changed.notify_waiters();
    }

    /// The lock held across the pinning re-check and the write of provider
    /// `pid` (exclusively) and of each of its mappings (shared).
    pub(crate) fn write_lock(&self, pid: &str) -> Arc<tokio::sync::RwLock<()>> {
        self.write_locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(pid.to_string())
            .or_default()
            .clone()
    }

    /// Provider `pid`'s issuer as the API has it (`None`: no such provider),
    /// from a read that starts no earlier than `since` (for a check after a
    /// write: the moment the write was answered). Mapping writes on one
    /// provider that finish close together share one read: the first one
    /// schedules it [`ISSUER_READ_GATHER`] ahead, and every caller whose
    /// `since` is not after that scheduled start joins it instead of
    /// sending its own. Under OpenAI's per-minute limits a read per mapping
    /// would double the cost of an apply. Errors are not shared: a caller
    /// whose batch failed reads again.
    pub(crate) async fn issuer_since<F, Fut, E>(
        &self,
        pid: &str,
        since: tokio::time::Instant,
        fetch: F,
    ) -> Result<Option<String>, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<String>, E>>,
    {
        let slot = self
            .issuer_reads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(pid.to_string())
            .or_default()
            .clone();
        let mut fetch = Some(fetch);
        loop {
            let (batch, leader) = {
                let mut current = slot.lock().unwrap_or_else(|e| e.into_inner());
                match current.as_ref() {
                    Some(b) if b.start >= since && !b.failed() => (b.clone(), false),
                    _ => {
                        let start = tokio::time::Instant::now().max(since) + ISSUER_READ_GATHER;
                        let (done, _) = tokio::sync::watch::channel(BatchState::Pending);
                        let b = Arc::new(IssuerBatch { start, done });
                        *current = Some(b.clone());
                        (b, true)
                    }
                }
            };
            if leader {
                let Some(fetch) = fetch.take() else {
                    unreachable!("a caller leads at most one batch: it returns after it")
                };
                // Marks the batch failed if this future is dropped mid-read.
                let mut lead = Leading(&batch, false);
                tokio::time::sleep_until(batch.start).await;
                let read = fetch().await;
                if let Ok(issuer) = &read {
                    batch.done.send_replace(BatchState::Read(issuer.clone()));
                    lead.1 = true;
                }
                return read;
            }
            let mut done = batch.done.subscribe();
            let state = done
                .wait_for(|s| !matches!(s, BatchState::Pending))
                .await
                .map(|s| s.clone())
                .unwrap_or(BatchState::Failed);
            if let BatchState::Read(issuer) = state {
                return Ok(issuer);
            }
            // The batch failed: lead (or join) a new one.
        }
    }
}

/// How long the first post-write issuer read of a provider waits for other
/// mapping writes to finish and share it.
pub(crate) const ISSUER_READ_GATHER: Duration = Duration::from_millis(150);

/// A provider's latest batched issuer read, if any.
type BatchSlot = Arc<Mutex<Option<Arc<IssuerBatch>>>>;

/// One shared read of a provider's issuer, scheduled to start at `start`.
struct IssuerBatch {
    start: tokio::time::Instant,
    done: tokio::sync::watch::Sender<BatchState>,
}

impl IssuerBatch {
    fn failed(&self) -> bool {
        matches!(*self.done.borrow(), BatchState::Failed)
    }
}

#[derive(Clone)]
enum BatchState {
    Pending,
    Read(Option<String>),
    Failed,
}

/// The leader's hold on its batch: unless it read successfully, dropping it
/// tells the callers waiting on the batch to read again.
struct Leading<'a>(&'a IssuerBatch, bool);

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        if !self.1 {
            self.0.done.send_replace(BatchState::Failed);
        }
    }
}

/// The existing mappings among `planned` that stay (are not going away).
fn staying(planned: Option<&BTreeMap<MappingKey, PlannedMapping>>) -> Vec<String> {
    planned
        .into_iter()
        .flatten()
        .filter_map(|(k, m)| match k {
            MappingKey::Existing(id) if !m.gone => Some(id.clone()),
            _ => None,
        })
        .collect()
}

/// One mapping of a provider as the provider's issuer check sees it: its
/// server matchers, overlaid with what this run plans for it.
#[derive(Debug, PartialEq)]
pub(crate) enum Finding {
    /// Pinned, gone or explicitly allowed (by a planned mapping).
    Fine,
    /// Unpinned on the server and nothing planned for it yet.
    Unplanned,
    /// Unpinned as it will be (on the server, or as planned).
    Unpinned,
    /// Depends on values known only at apply.
    Undecided,
}

/// Judges every mapping provider `pid` will have under `shared`: the rules
/// on the server (`server`, by id), overlaid with the mappings this run
/// plans for it. Answers each rule id (or `"(new)"` for a create) with its
/// finding; only non-`Fine` ones are listed.
pub(crate) fn judge_provider_mappings(
    shared: &SharedIssuer,
    server: &BTreeMap<String, Json>,
    planned: &BTreeMap<MappingKey, PlannedMapping>,
) -> Vec<(String, Finding)> {
    let mut out = Vec::new();
    for (id, matchers) in server {
        let finding = match planned.get(&MappingKey::Existing(id.clone())) {
            Some(p) => match p.verdict(shared) {
                Verdict::Pinned => Finding::Fine,
                Verdict::Unpinned => Finding::Unpinned,
                Verdict::Undecided => Finding::Undecided,
            },
            None => match check_json(shared, matchers) {
                Verdict::Unpinned => Finding::Unplanned,
                _ => Finding::Fine,
            },
        };
        if finding != Finding::Fine {
            out.push((id.clone(), finding));
        }
    }
    for (key, p) in planned {
        if let MappingKey::New(_) = key {
            match p.verdict(shared) {
                Verdict::Pinned => {}
                Verdict::Unpinned => out.push(("(new)".into(), Finding::Unpinned)),
                Verdict::Undecided => out.push(("(new)".into(), Finding::Undecided)),
            }
        }
    }
    out
}

/// The error detail for a provider whose new issuer `shared` (configured as
/// `issuer`) would leave the mappings `ids` unpinned.
pub(crate) fn explain_provider(shared: &SharedIssuer, issuer: &str, ids: &[String]) -> String {
    format!(
        "This change moves the workload identity provider to {issuer:?}, the {} issuer, which \
         is shared: {} can obtain tokens from it. These of its service account mappings would \
         then pin no token to your tenant: {}. So all of them could act as those service \
         accounts, and nothing was changed. Pin each mapping first (add a matcher, e.g. {}) \
         and apply that, then change the issuer; or delete those mappings. If admitting every \
         tenant is really intended, set allow_unpinned_shared_issuer = true on the mapping; \
         it counts only when Terraform plans the mapping before or alongside the provider \
         (by a literal provider id), not after it (by a reference to the provider's id).",
        shared.name,
        shared.anyone,
        ids.join(", "),
        shared.example,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use tfplugin::codec::{Number, Type};

    #[tokio::test]
    async fn writes_that_finish_together_share_one_issuer_read_started_after_them() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let plans = PinningPlans::default();
        let reads = AtomicU32::new(0);
        let fetch = |issuer: &'static str| {
            let reads = &reads;
            move || async move {
                reads.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok::<_, ()>(Some(issuer.to_string()))
            }
        };
        let written = tokio::time::Instant::now();
        // A and B were answered at once, C a moment later but before the
        // read A scheduled starts: one read, which starts after all three.
        let (a, b, c) = tokio::join!(
            plans.issuer_since("wip_1", written, fetch("https://a")),
            plans.issuer_since("wip_1", written, fetch("https://b")),
            async {
                tokio::time::sleep(ISSUER_READ_GATHER / 4).await;
                let since = tokio::time::Instant::now();
                plans.issuer_since("wip_1", since, fetch("https://c")).await
            },
        );
        for got in [a, b, c] {
            assert_eq!(got.unwrap().as_deref(), Some("https://a"));
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        // A write answered after that read began needs a read of its own.
        let later = tokio::time::Instant::now();
        let d = plans.issuer_since("wip_1", later, fetch("https://d")).await;
        assert_eq!(d.unwrap().as_deref(), Some("https://d"));
        assert_eq!(reads.load(Ordering::SeqCst), 2);
        // Another provider has its own reads; a failed read is not shared:
        // the caller that joined it reads again.
        let (e, f) = tokio::join!(
            plans.issuer_since("wip_2", later, || async { Err::<Option<String>, _>(()) }),
            plans.issuer_since("wip_2", later, fetch("https://f")),
        );
        assert_eq!(e, Err(()));
        assert_eq!(f.unwrap().as_deref(), Some("https://f"));
        assert_eq!(reads.load(Ordering::SeqCst), 3);
    }

    fn github() -> &'static SharedIssuer {
        shared_issuer("https://token.actions.githubusercontent.com").unwrap()
    }

    fn matchers(pairs: &[(&str, Value)]) -> Value {
        let m: BTreeMap<String, Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let ty = Type::Object(
            m.iter()
                .map(|(k, v)| {
                    let t = match v {
                        Value::Number(_) => Type::Number,
                        Value::Bool(_) => Type::Bool,
                        _ => Type::String,
                    };
                    (k.clone(), t)
                })
                .collect(),
        );
        Value::Dynamic(ty, Box::new(Value::Object(m)))
    }

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    fn verdict(issuer: &str, key: &str, v: Value) -> Verdict {
        check(shared_issuer(issuer).unwrap(), &matchers(&[(key, v)]))
    }

    #[test]
    fn shared_issuers_are_found_however_they_are_spelled() {
        for spelling in [
            "https://token.actions.githubusercontent.com",
            "https://token.actions.githubusercontent.com/",
            "https://token.actions.githubusercontent.com//",
            "https://TOKEN.actions.githubusercontent.com",
            "https://token.actions.githubusercontent.com.:443/",
            "https://token.actions.githubusercontent.com/?x=1",
            "http://token.actions.githubusercontent.com",
            "token.actions.githubusercontent.com",
        ] {
            assert_eq!(
                shared_issuer(spelling).map(|s| s.name),
                Some("GitHub Actions"),
                "{spelling}"
            );
        }
        assert_eq!(
            shared_issuer("https://accounts.google.com/").unwrap().name,
            "Google"
        );
        assert_eq!(
            shared_issuer("https://gitlab.com").unwrap().name,
            "GitLab.com"
        );
        assert_eq!(
            shared_issuer("https://app.terraform.io/").unwrap().name,
            "HCP Terraform"
        );
    }

    #[test]
    fn tenant_specific_issuers_are_not_shared() {
        for issuer in [
            // GitHub's per-enterprise issuer and GHE.com / self-hosted issuers.
            "https://token.actions.githubusercontent.com/my-enterprise",
            "https://token.actions.my-company.ghe.com",
            "https://gitlab.example.com",
            "https://tfe.example.com",
            "https://oidc.eks.us-east-1.amazonaws.com/id/ABC",
            "https://token.actions.githubusercontent.com:8443",
            "http://127.0.0.1:1234/_emulator/oidc",
        ] {
            assert!(shared_issuer(issuer).is_none(), "{issuer}");
        }
    }

    #[test]
    fn github_pinning_claims() {
        let gh = "https://token.actions.githubusercontent.com";
        for (k, v) in [
            ("repository", "my-org/my-repo"),
            ("repository", "my-org/*"),
            ("repository_owner", "my-org"),
            ("repository_id", "123"),
            ("repository_owner_id", "456"),
            ("enterprise", "my-ent"),
            ("enterprise_id", "7"),
            (
                "workflow_ref",
                "my-org/app/.github/workflows/deploy.yml@refs/heads/main",
            ),
            ("workflow_ref", "my-org/*"),
            ("sub", "repo:my-org/my-repo:ref:refs/heads/main"),
            ("sub", "repo:my-org/*"),
            ("sub", "repo:my-org/my-repo:*"),
            ("sub", "repository_owner:my-org:environment:prod"),
            ("sub", "repository_owner_id:456:*"),
            ("sub", "repository_id:123:*"),
        ] {
            assert_eq!(verdict(gh, k, s(v)), Verdict::Pinned, "{k} = {v:?}");
        }
        assert_eq!(
            verdict(gh, "repository_id", Value::Number(Number::from_i64(123))),
            Verdict::Pinned
        );
    }

    #[test]
    fn github_values_that_do_not_pin() {
        let gh = "https://token.actions.githubusercontent.com";
        for (k, v) in [
            ("ref", "refs/heads/main"),
            ("environment", "production"),
            (
                "job_workflow_ref",
                "my-org/shared/.github/workflows/x.yml@refs/heads/main",
            ),
            ("actor", "octocat"),
            ("repository", "my-org*"),
            ("repository", ""),
            ("repository_owner", "my-org*"),
            ("repository_id", "12*"),
            ("sub", "repo:*"),
            ("sub", "repo:my-org*"),
            ("sub", "repo:/x"),
            ("sub", "repo:"),
            ("sub", "ref:refs/heads/main"),
            (
                "sub",
                "job_workflow_ref:my-org/shared/.github/workflows/x.yml@refs/heads/main",
            ),
            ("sub", "repository_owner:my-org*"),
            ("openai.repository", "my-org/my-repo"),
            ("Repository", "my-org/my-repo"),
        ] {
            assert_eq!(verdict(gh, k, s(v)), Verdict::Unpinned, "{k} = {v:?}");
        }
        assert_eq!(
            verdict(gh, "repository_owner", Value::Bool(true)),
            Verdict::Unpinned
        );
        assert_eq!(
            verdict(gh, "sub", Value::Number(Number::from_i64(1))),
            Verdict::Unpinned
        );
    }

    #[test]
    fn one_pinning_matcher_is_enough() {
        let m = matchers(&[
            ("ref", s("refs/heads/main")),
            ("repository", s("my-org/my-repo")),
        ]);
        assert_eq!(check(github(), &m), Verdict::Pinned);
        let m = matchers(&[("ref", s("refs/heads/main")), ("environment", s("prod"))]);
        assert_eq!(check(github(), &m), Verdict::Unpinned);
    }

    #[test]
    fn unknown_values_leave_the_verdict_open() {
        assert_eq!(check(github(), &Value::Unknown), Verdict::Undecided);
        let m = Value::Object(BTreeMap::from([
            ("repository".to_string(), Value::Unknown),
            ("ref".to_string(), s("refs/heads/main")),
        ]));
        assert_eq!(check(github(), &m), Verdict::Undecided);
        // An unknown on a claim that cannot pin changes nothing.
        let m = Value::Object(BTreeMap::from([
            ("ref".to_string(), Value::Unknown),
            ("environment".to_string(), s("prod")),
        ]));
        assert_eq!(check(github(), &m), Verdict::Unpinned);
        // A pinning value decides even next to unknowns.
        let m = Value::Object(BTreeMap::from([
            ("repository".to_string(), Value::Unknown),
            ("repository_owner".to_string(), s("my-org")),
        ]));
        assert_eq!(check(github(), &m), Verdict::Pinned);
    }

    #[test]
    fn maps_of_strings_are_checked_too() {
        let m = Value::Map(BTreeMap::from([(
            "repository".to_string(),
            s("my-org/my-repo"),
        )]));
        assert_eq!(check(github(), &m), Verdict::Pinned);
    }

    #[test]
    fn google_gitlab_and_hcp_terraform() {
        let g = "https://accounts.google.com";
        assert_eq!(verdict(g, "sub", s("112233445566")), Verdict::Pinned);
        assert_eq!(
            verdict(g, "email", s("ci@my-project.iam.gserviceaccount.com")),
            Verdict::Pinned
        );
        assert_eq!(verdict(g, "hd", s("example.com")), Verdict::Pinned);
        assert_eq!(verdict(g, "sub", s("1122*")), Verdict::Unpinned);
        assert_eq!(verdict(g, "email", s("ci@*")), Verdict::Unpinned);
        assert_eq!(verdict(g, "azp", s("112233445566")), Verdict::Unpinned);
        assert_eq!(
            verdict(g, "email_verified", Value::Bool(true)),
            Verdict::Unpinned
        );

        let gl = "https://gitlab.com";
        for (k, v) in [
            ("namespace_path", "my-group"),
            ("namespace_path", "my-group/*"),
            ("namespace_id", "42"),
            ("project_path", "my-group/my-project"),
            ("project_id", "99"),
            (
                "sub",
                "project_path:my-group/my-project:ref_type:branch:ref:main",
            ),
            ("sub", "project_path:my-group/*"),
        ] {
            assert_eq!(verdict(gl, k, s(v)), Verdict::Pinned, "{k} = {v:?}");
        }
        for (k, v) in [
            ("namespace_path", "my-group*"),
            ("project_path", "my-group*"),
            ("sub", "project_path:my-group*"),
            ("sub", "project_path:*"),
            ("ref", "main"),
            ("user_login", "someone"),
        ] {
            assert_eq!(verdict(gl, k, s(v)), Verdict::Unpinned, "{k} = {v:?}");
        }

        let tfc = "https://app.terraform.io";
        for (k, v) in [
            ("terraform_organization_name", "my-org"),
            ("terraform_organization_id", "org-abc"),
            ("terraform_workspace_id", "ws-abc"),
            ("terraform_project_id", "prj-abc"),
            (
                "sub",
                "organization:my-org:project:Default Project:workspace:ws:run_phase:apply",
            ),
            ("sub", "organization:my-org:*"),
        ] {
            assert_eq!(verdict(tfc, k, s(v)), Verdict::Pinned, "{k} = {v:?}");
        }
        for (k, v) in [
            ("terraform_workspace_name", "prod"),
            ("terraform_project_name", "Default Project"),
            ("terraform_run_phase", "apply"),
            ("sub", "organization:my-org*"),
            ("sub", "organization:*"),
            ("terraform_organization_name", "my-*"),
        ] {
            assert_eq!(verdict(tfc, k, s(v)), Verdict::Unpinned, "{k} = {v:?}");
        }
    }

    #[test]
    fn explanation_names_the_issuer_the_claims_and_the_fix() {
        let text = explain(github(), "https://token.actions.githubusercontent.com/");
        assert!(text.contains("\"https://token.actions.githubusercontent.com/\""));
        assert!(text.contains("GitHub Actions"));
        assert!(text.contains("`repository_owner`"));
        assert!(text.contains("`sub` (\"repo:OWNER/...\" or \"repository:OWNER/...\""));
        assert!(text.contains("`repository` (\"OWNER/...\")"));
        assert!(text.contains("repository_id = \"123456789\""), "{text}");
        assert!(text.contains("allow_unpinned_shared_issuer = true"));
    }

    #[test]
    fn planned_issuers_are_recorded() {
        let p = PinningPlans::default();
        p.record_create(Some("https://gitlab.com".into()));
        p.record_create(None);
        p.provider_planned("wip_1", Some("https://accounts.google.com".into()));
        assert_eq!(p.created(), vec![Some("https://gitlab.com".into()), None]);
        assert_eq!(
            p.planned_issuer("wip_1"),
            Some(Some("https://accounts.google.com".into()))
        );
        assert_eq!(p.planned_issuer("wip_2"), None);
    }

    fn json(v: serde_json::Value) -> Json {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn whichever_side_is_planned_second_sees_the_other() {
        let unpinned = PlannedMapping {
            disabled: false,
            service_account: None,
            matchers: Some(json(serde_json::json!({"ref": "refs/heads/main"}))),
            allow: Some(false),
            gone: false,
        };
        // Mapping first: the provider's record returns it.
        let l = PinningPlans::default();
        assert_eq!(
            l.mapping_planned("wip_1", Some("r1"), unpinned.clone()),
            None
        );
        let seen = l.provider_planned("wip_1", Some(GH.into()));
        assert_eq!(
            seen.get(&MappingKey::Existing("r1".into())),
            Some(&unpinned)
        );
        // Provider first: the mapping's record returns the planned issuer.
        let l = PinningPlans::default();
        assert!(l.provider_planned("wip_1", Some(GH.into())).is_empty());
        assert_eq!(
            l.mapping_planned("wip_1", Some("r1"), unpinned),
            Some(Some(GH.into()))
        );
    }

    const GH: &str = "https://token.actions.githubusercontent.com";

    #[test]
    fn a_providers_mappings_are_judged_as_planned_over_the_server() {
        let server: BTreeMap<String, Json> = [
            ("pinned", serde_json::json!({"repository_id": "1"})),
            ("unpinned", serde_json::json!({"ref": "main"})),
            ("fixed", serde_json::json!({"ref": "main"})),
            ("allowed", serde_json::json!({"ref": "main"})),
            ("deleted", serde_json::json!({"ref": "main"})),
            ("widened", serde_json::json!({"repository_id": "1"})),
            ("open", serde_json::json!({"ref": "main"})),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), json(v)))
        .collect();
        let planned =
            |m: Option<serde_json::Value>, allow: Option<bool>, gone: bool| PlannedMapping {
                disabled: false,
                service_account: None,
                matchers: m.map(json),
                allow,
                gone,
            };
        let records: BTreeMap<MappingKey, PlannedMapping> = [
            (
                MappingKey::Existing("fixed".into()),
                planned(
                    Some(serde_json::json!({"repository_id": "2"})),
                    Some(false),
                    false,
                ),
            ),
            (
                MappingKey::Existing("allowed".into()),
                planned(Some(serde_json::json!({"ref": "main"})), Some(true), false),
            ),
            (
                MappingKey::Existing("deleted".into()),
                planned(None, None, true),
            ),
            (
                MappingKey::Existing("widened".into()),
                planned(Some(serde_json::json!({"ref": "main"})), Some(false), false),
            ),
            (
                MappingKey::Existing("open".into()),
                planned(None, Some(false), false),
            ),
            (
                MappingKey::New(1),
                planned(Some(serde_json::json!({"ref": "x"})), Some(false), false),
            ),
        ]
        .into_iter()
        .collect();
        let found = judge_provider_mappings(github(), &server, &records);
        assert_eq!(
            found,
            vec![
                ("open".to_string(), Finding::Undecided),
                ("unpinned".to_string(), Finding::Unplanned),
                ("widened".to_string(), Finding::Unpinned),
                ("(new)".to_string(), Finding::Unpinned),
            ]
        );
    }

    fn warns(issuer: &str, pairs: &[(&str, Value)]) -> Option<String> {
        name_only_warning(shared_issuer(issuer).unwrap(), &matchers(pairs))
    }

    #[test]
    fn mappings_pinned_only_by_names_are_warned_about() {
        let gh = "https://token.actions.githubusercontent.com";
        for (k, v) in [
            ("repository", "my-org/my-repo"),
            ("repository_owner", "my-org"),
            ("sub", "repo:my-org/my-repo:ref:refs/heads/main"),
            ("sub", "repo:my-org/*"),
            (
                "workflow_ref",
                "my-org/r/.github/workflows/ci.yml@refs/heads/main",
            ),
        ] {
            let w = warns(gh, &[(k, s(v))]).unwrap_or_else(|| panic!("{k}={v} warns"));
            assert!(w.contains(&format!("`{k}`")), "{w}");
            assert!(w.contains("repository_id"), "{w}");
            assert!(w.contains("repo:OWNER@OWNER_ID/REPO@REPO_ID"), "{w}");
        }
        // An id beside the name, or instead of it, settles it.
        for pairs in [
            vec![
                ("repository_id", s("123")),
                ("repository", s("my-org/my-repo")),
            ],
            vec![("repository_owner_id", Value::Number(Number::from(42)))],
            vec![("sub", s("repo:my-org@42/my-repo@7:ref:refs/heads/main"))],
            vec![("sub", s("repository_owner_id:42:environment:prod"))],
        ] {
            assert_eq!(warns(gh, &pairs), None, "{pairs:?}");
        }
        // An owner@ without a numeric id is still a name.
        assert!(warns(gh, &[("sub", s("repo:my-org@x/my-repo:ref:main"))]).is_some());
        // Unpinned or undecided mappings are the error check's business.
        assert_eq!(warns(gh, &[("ref", s("refs/heads/main"))]), None);
        assert_eq!(warns(gh, &[("repository", Value::Unknown)]), None);

        let gl = "https://gitlab.com";
        let w = warns(gl, &[("project_path", s("my-group/my-project"))]).unwrap();
        assert!(w.contains("`project_id`"), "{w}");
        assert_eq!(warns(gl, &[("project_id", s("99"))]), None);

        let tfc = "https://app.terraform.io";
        let w = warns(tfc, &[("terraform_organization_name", s("my-org"))]).unwrap();
        assert!(w.contains("`terraform_organization_id`"), "{w}");
        assert_eq!(warns(tfc, &[("terraform_workspace_id", s("ws-1"))]), None);

        let g = "https://accounts.google.com";
        assert!(warns(g, &[("email", s("ci@p.iam.gserviceaccount.com"))]).is_some());
        assert_eq!(warns(g, &[("sub", s("112233445566"))]), None);
    }
}

#[cfg(test)]
mod every_row {
    use super::*;

    fn matchers(pairs: &[(&str, &str)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect(),
        )
    }

    /// A value that pins under `c`.
    fn pinning_value(c: &PinningClaim) -> String {
        match c.pin {
            Pin::Exact => "tenant-1".to_owned(),
            Pin::Owner { prefix, end, .. } => format!("{prefix}tenant{end}rest"),
        }
    }

    /// Adding a row is all a platform needs: every shared issuer refuses a
    /// mapping pinned by nothing, admits its own example, and warns about
    /// each of its name claims used alone but not about each id claim.
    #[test]
    fn every_shared_issuer_refuses_unpinned_and_warns_on_names_only() {
        for row in SHARED_ISSUERS {
            let who = row.name;
            let concrete = row.issuer.replace('*', "acme");
            assert_eq!(shared_issuer(&concrete).map(|r| r.name), Some(who));
            let unpinned = matchers(&[("ref", "main")]);
            match row.tenant_in_issuer {
                None => assert_eq!(check(row, &unpinned), Verdict::Unpinned, "{who}"),
                // The issuer pins by a name: never refused, always warned.
                Some(what) => {
                    assert_eq!(check(row, &unpinned), Verdict::Pinned, "{who}");
                    let w = name_only_warning(row, &unpinned).expect("warns");
                    assert!(w.contains(what) && w.contains(row.by_id), "{w}");
                }
            }
            let (claim, value) = row.example.split_once(" = ").expect("claim = \"value\"");
            let example = matchers(&[(claim, value.trim_matches('"'))]);
            assert_eq!(
                check(row, &example),
                Verdict::Pinned,
                "{who}: {}",
                row.example
            );
            assert_eq!(
                name_only_warning(row, &example),
                None,
                "{who}: the example is an id"
            );
            assert!(
                row.claims.iter().any(|c| c.naming == Naming::Id),
                "{who} has no id claim to recommend"
            );
            for c in row.claims {
                let m = matchers(&[(c.claim, &pinning_value(c))]);
                assert_eq!(check(row, &m), Verdict::Pinned, "{who}: {}", c.claim);
                let warning = name_only_warning(row, &m);
                match c.naming {
                    Naming::Id => assert_eq!(warning, None, "{who}: {}", c.claim),
                    _ => {
                        let w = warning.unwrap_or_else(|| panic!("{who}: {} warns", c.claim));
                        assert!(w.contains(row.by_id), "{w}");
                    }
                }
            }
            let explained = explain(row, row.issuer);
            assert!(explained.contains(row.example), "{explained}");
        }
    }

    #[test]
    fn the_new_platforms_rows_pin_by_their_immutable_ids() {
        let bk = shared_issuer("https://agent.buildkite.com/").unwrap();
        assert_eq!(
            check(bk, &matchers(&[("pipeline_slug", "deploy")])),
            Verdict::Unpinned,
            "a pipeline slug is unique only within an organization"
        );
        assert!(name_only_warning(bk, &matchers(&[("organization_slug", "acme")])).is_some());
        assert_eq!(
            name_only_warning(
                bk,
                &matchers(&[
                    ("organization_slug", "acme"),
                    ("organization_id", "0190-uuid")
                ])
            ),
            None
        );
        let eu = shared_issuer("https://app.eu.terraform.io").unwrap();
        assert_eq!(
            check(eu, &matchers(&[("terraform_run_phase", "apply")])),
            Verdict::Unpinned
        );
        let gl = shared_issuer("https://gitlab.com").unwrap();
        assert_eq!(
            check(gl, &matchers(&[("ref_protected", "true")])),
            Verdict::Unpinned
        );
        // Per-tenant issuers are not shared: their URL names the tenant.
        for own in [
            "https://gitlab.example.com",
            "https://tfe.example.com",
            "https://oidc.circleci.com/org/6f1e0b9e-0000-4000-8000-000000000000",
            "https://api.bitbucket.org/2.0/workspaces/pipelines-config/identity/oidc",
            "https://api.bitbucket.org/2.0/workspaces/a/b/pipelines-config/identity/oidc",
        ] {
            assert!(shared_issuer(own).is_none(), "{own}");
        }
        // Bitbucket's names the workspace by its slug: pinned, but a mapping
        // without a UUID is warned about.
        let bb = shared_issuer(
            "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc/",
        )
        .unwrap();
        let branch_only = matchers(&[("branchName", "main")]);
        assert_eq!(check(bb, &branch_only), Verdict::Pinned);
        assert!(name_only_warning(bb, &branch_only).is_some());
        assert_eq!(
            name_only_warning(bb, &matchers(&[("repositoryUuid", "{0f1e}")])),
            None
        );
    }
}
