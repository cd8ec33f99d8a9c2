//! The guards of `openai_workload_identity_provider`: its name and the
//! limit of providers per organization, and the provider's half of tenant
//! pinning (an issuer change), at plan; and the issuer change checked again
//! right before the write, at apply.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Removal;
use crate::errors::{Action, Op, api_error};
use crate::limits::Scope;
use crate::provider_data::ProviderData;
use crate::resources::unmanaged_kind;
use crate::resources::workload_identity_provider::{OBJECT, ProviderIdentity, ProviderModel};
use crate::tenant_pinning;
use tfplugin::codec::Path;
use tfplugin::framework::model::{Field, Model};
use tfplugin::framework::{Diagnostic, Diagnostics, PlanCtx};

type M = ProviderModel;

/// The scope of provider names in the remembered replacements.
pub(crate) const SCOPE: &str = "providers";

pub(crate) async fn plan_provider(data: Option<&ProviderData>, plan: &mut PlanCtx) {
    if super::operation::destroy_command() && !plan.is_destroy() {
        return;
    }
    unmanaged_kind::refuse_change(plan, OBJECT, M::jwks_json);
    let Some(data) = data else {
        super::warn_checks_skipped(
            plan,
            "the limit of workload identity providers per organization (max_workload_identity_providers)",
        );
        return;
    };
    data.guard_issuer_change(plan).await;
    if plan.is_create() {
        // The create half of `-replace` (Terraform 1.12+; a tainted
        // object comes without its identity, see `admit_provider`): the old
        // provider goes away in the same run.
        // A saved plan's apply walk is told neither: its plan remembered
        // the replacement (`replacement`).
        let name = M::from_value(&plan.planned)
            .ok()
            .and_then(|m| m.name.into_known());
        if let Some(old) = plan
            .replaced_identity
            .as_ref()
            .and_then(|i| ProviderIdentity::from_value(i).ok())
            .and_then(|i| i.id.into_known())
            .or_else(|| data.remembered_replacement(SCOPE, name.as_deref()))
        {
            data.replacing(plan, SCOPE, name.as_deref(), &old);
            data.provider_going_away(&old, Removal::Replace).await;
            refuse_staying_mappings(plan, &old, data.pinning.provider_replaced(&old));
        } else {
            // A create of this name that replaces nothing: a replacement an
            // earlier plan remembered for it is stale.
            data.not_replacing(SCOPE, name.as_deref());
        }
        data.check_provider_name(plan).await;
        data.admit_provider(plan).await;
    } else if plan.is_destroy() {
        if let Some(id) = M::from_nullable(&plan.prior)
            .ok()
            .and_then(|p| p.id.into_known())
        {
            data.provider_going_away(&id, Removal::Destroy).await;
        }
    } else {
        data.check_provider_name(plan).await;
        data.ledger.touch();
    }
}

/// Refuses the replacement of provider `id` while mappings of this
/// configuration name it by its literal id and stay: OpenAI refuses to
/// delete a provider that has mappings, so the apply would fail at the
/// delete. (Mappings that reference the provider's id are replaced with it.)
fn refuse_staying_mappings(plan: &mut PlanCtx, id: &str, staying: Vec<String>) {
    if staying.is_empty() {
        return;
    }
    plan.diags.push(
        Diagnostic::error(
            "Replaced provider still has mappings",
            format!(
                "This plan replaces workload identity provider {id} (deletes it and creates a \
                 new one), but its mappings {} name it by its literal id, so they stay, and \
                 OpenAI refuses to delete a provider that has mappings. Reference the provider's \
                 id in those mappings (workload_identity_provider_id = \
                 openai_workload_identity_provider.NAME.id), so Terraform replaces them with it, \
                 or remove them first. Nothing was changed.",
                staying.join(", ")
            ),
        )
        .at(Path::root().attr(M::id)),
    );
}

/// What a provider's plan hands its apply in `planned_private`: the rules
/// that are unpinned under the new shared issuer but were planned in this
/// run with `allow_unpinned_shared_issuer = true`, with the server matchers
/// they had then (a later change to them is checked again).
/// Kept under its own key, next to what else the private bytes hold.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct PinningPrivate {
    #[serde(default)]
    pinning_allowed: BTreeMap<String, tenant_pinning::Json>,
}

impl ProviderData {
    /// The provider's half of the tenant-pinning guard (see
    /// [`tenant_pinning::PinningPlans`] for why it does not depend on plan
    /// order): records the issuer the provider will have for its mappings'
    /// checks, and refuses an issuer change that would leave one of its
    /// mappings (on the server or planned in this run) unpinned.
    async fn guard_issuer_change(&self, plan: &mut PlanCtx) {
        // Null objects (no prior on create, no plan on destroy) read as all null.
        let (Ok(planned), Ok(prior)) = (
            M::from_nullable(&plan.planned),
            M::from_nullable(&plan.prior),
        ) else {
            return;
        };
        let issuer = planned.issuer.known().cloned();
        if plan.is_create() {
            self.pinning.record_create(issuer);
            return;
        }
        let Some(id) = prior.id.as_deref() else {
            return;
        };
        if plan.is_destroy() {
            return;
        }
        let records = self.pinning.provider_planned(id, issuer.clone());
        // An unknown issuer: the mappings plan an update so that their
        // checks run during apply, and this provider's apply checks again.
        let (Some(new), true) = (issuer, planned.issuer != prior.issuer) else {
            return;
        };
        let Some(shared) = tenant_pinning::shared_issuer(&new) else {
            return;
        };
        let Ok(client) = self.client() else { return };
        let server = match self
            .inventory
            .rules(client, id, |s| {
                s.map(|s| {
                    s.objects
                        .iter()
                        // A disabled rule admits no token under any issuer.
                        .filter(|(_, r)| r.enabled)
                        .map(|(k, r)| (k.clone(), r.attribute_matchers.clone()))
                        .collect::<BTreeMap<_, _>>()
                })
            })
            .await
        {
            Ok(rules) => rules.unwrap_or_default(),
            Err(e) => {
                plan.diags.extend(api_error(
                    Op::new(
                        Action::List,
                        "the service account mappings of the workload identity provider",
                    ),
                    &e,
                    &[],
                ));
                return;
            }
        };
        // Rules unpinned on the server and not planned yet: their mappings
        // may still be planned (with new matchers or the allow switch).
        let deadline = tokio::time::Instant::now() + self.pinning.settle;
        let mut records = records;
        let findings = loop {
            let findings = tenant_pinning::judge_provider_mappings(shared, &server, &records);
            let waiting = findings
                .iter()
                .any(|(_, f)| *f == tenant_pinning::Finding::Unplanned);
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if !waiting || left.is_zero() || !self.pinning.wait_for_change(left).await {
                break tenant_pinning::judge_provider_mappings(
                    shared,
                    &server,
                    &self.pinning.mappings(id),
                );
            }
            records = self.pinning.mappings(id);
        };
        let refused: Vec<String> = findings
            .iter()
            .filter(|(_, f)| {
                matches!(
                    f,
                    tenant_pinning::Finding::Unplanned | tenant_pinning::Finding::Unpinned
                )
            })
            .map(|(id, _)| id.clone())
            .collect();
        if !refused.is_empty() {
            plan.diags.push(
                tfplugin::framework::Diagnostic::error(
                    tenant_pinning::SUMMARY,
                    tenant_pinning::explain_provider(shared, &new, &refused),
                )
                .at(Path::root().attr(M::issuer)),
            );
            return;
        }
        // Tell apply which unpinned rules the plan found allowed.
        let records = self.pinning.mappings(id);
        let allowed = server
            .iter()
            .filter(|(rid, m)| {
                tenant_pinning::check_json(shared, m) == tenant_pinning::Verdict::Unpinned
                    && records
                        .get(&tenant_pinning::MappingKey::Existing((*rid).clone()))
                        .is_some_and(|r| r.allow == Some(true))
            })
            .map(|(rid, m)| (rid.clone(), m.clone()))
            .collect();
        let mut private: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&plan.planned_private).unwrap_or_default();
        if let Ok(serde_json::Value::Object(ours)) = serde_json::to_value(PinningPrivate {
            pinning_allowed: allowed,
        }) {
            private.extend(ours);
        }
        plan.planned_private = serde_json::to_vec(&private).unwrap_or_default();
    }

    /// The guard's last line of defence, right before an update moves
    /// provider `id` to `new_issuer`: its mappings as the API has them now
    /// must all be pinned under it, allowed by the plan (`private`), or
    /// allowed by a mapping planned in this process. While some are not,
    /// waits (bounded) for mapping writes of this run that may fix them.
    /// Returns the held write lock, to keep until the write is done.
    pub(crate) async fn recheck_issuer_change(
        &self,
        id: &str,
        new_issuer: &str,
        private: &[u8],
    ) -> Result<tokio::sync::OwnedRwLockWriteGuard<()>, Diagnostics> {
        let lock = self.pinning.write_lock(id);
        let Some(shared) = tenant_pinning::shared_issuer(new_issuer) else {
            return Ok(lock.write_owned().await);
        };
        let allowed = serde_json::from_slice::<PinningPrivate>(private)
            .map(|p| p.pinning_allowed)
            .unwrap_or_default();
        let deadline = tokio::time::Instant::now() + APPLY_PINNING_WAIT;
        loop {
            let guard = lock.clone().write_owned().await;
            let refused = self.unpinned_rules(id, shared, &allowed).await?;
            if refused.is_empty() {
                return Ok(guard);
            }
            drop(guard);
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(tfplugin::framework::Diagnostic::error(
                    tenant_pinning::SUMMARY,
                    format!(
                        "{}\n\nChecked again right before writing the issuer.",
                        tenant_pinning::explain_provider(shared, new_issuer, &refused)
                    ),
                )
                .at(Path::root().attr(M::issuer))
                .into());
            }
            // Poll as well: a write by another process signals nothing here.
            self.pinning
                .wait_for_change(left.min(Duration::from_millis(500)))
                .await;
        }
    }

    /// The same check right after the issuer was written: a mapping another
    /// run wrote between the check before the write and the write itself is
    /// seen here (and that run's check after its own write sees the new
    /// issuer: whichever write came second is caught). The caller puts the
    /// prior issuer back when this refuses.
    pub(crate) async fn recheck_issuer_written(
        &self,
        id: &str,
        new_issuer: &str,
        private: &[u8],
    ) -> Result<(), Diagnostics> {
        let Some(shared) = tenant_pinning::shared_issuer(new_issuer) else {
            return Ok(());
        };
        let allowed = serde_json::from_slice::<PinningPrivate>(private)
            .map(|p| p.pinning_allowed)
            .unwrap_or_default();
        let refused = self.unpinned_rules(id, shared, &allowed).await?;
        if refused.is_empty() {
            return Ok(());
        }
        Err(tfplugin::framework::Diagnostic::error(
            tenant_pinning::SUMMARY,
            format!(
                "{}\n\nChecked again right after writing the issuer: these mappings were \
                 written meanwhile (by another run or by hand), so the issuer change was undone.",
                tenant_pinning::explain_provider(shared, new_issuer, &refused)
            ),
        )
        .at(Path::root().attr(M::issuer))
        .into())
    }

    /// The enabled rules of provider `id`, as the API has them now, that are
    /// unpinned under `shared` and allowed neither by the plan (`allowed`)
    /// nor by a mapping planned with the allow switch in this process.
    async fn unpinned_rules(
        &self,
        id: &str,
        shared: &tenant_pinning::SharedIssuer,
        allowed: &BTreeMap<String, tenant_pinning::Json>,
    ) -> Result<Vec<String>, Diagnostics> {
        let rules = match self.client()?.list_all_rules(id, None).await {
            Ok(rules) => rules,
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => {
                return Err(api_error(
                    Op::new(
                        Action::List,
                        "the service account mappings of the workload identity provider",
                    ),
                    &e,
                    &[],
                ));
            }
        };
        let planned = self.pinning.mappings(id);
        Ok(rules
            .iter()
            .filter(|r| {
                r.enabled
                    && tenant_pinning::check_json(shared, &r.attribute_matchers)
                        == tenant_pinning::Verdict::Unpinned
                    && allowed.get(&r.id) != Some(&r.attribute_matchers)
                    && planned
                        .get(&tenant_pinning::MappingKey::Existing(r.id.clone()))
                        .is_none_or(|p| p.allow != Some(true))
            })
            .map(|r| r.id.clone())
            .collect())
    }
}

/// A name an existing object holds: an error where Terraform tells the
/// provider about replacements (`-replace` and taint, 1.12 and later), else
/// a warning, since the existing object may be the one being replaced.
///
/// `refreshed`: this process refreshed the holder, so it is an object of
/// this configuration, and the create may be the replacement of it when it
/// is tainted (which Terraform plans without naming the old object): a
/// warning too.
pub(crate) fn name_conflict(
    data: &ProviderData,
    summary: &str,
    detail: String,
    at: Path,
    refreshed: bool,
) -> Diagnostic {
    if data.tells_replacements() && !refreshed {
        Diagnostic::error(summary, format!("{detail} Nothing was created."))
    } else if data.tells_replacements() {
        // The holder is an object of this configuration: a tainted one is
        // replaced by this create, which Terraform plans without naming it.
        Diagnostic::warning(
            summary,
            format!(
                "{detail} It belongs to this configuration: unless this plan replaces it (it \
                 is tainted) or renames it, apply will fail."
            ),
        )
    } else {
        Diagnostic::warning(
            summary,
            format!(
                "{detail} Unless this plan replaces that object (taint or -replace, which this \
                 Terraform version does not tell the provider about), apply will fail."
            ),
        )
    }
    .at(at)
}

/// How long a provider's issuer change waits, during apply, for this run's
/// mapping writes to pin (or delete) the mappings the new issuer would
/// leave unpinned.
const APPLY_PINNING_WAIT: Duration = Duration::from_secs(10);

impl ProviderData {
    /// A provider name is unique in the organization: refuse, at plan, a
    /// create or rename to a name another provider of this run claims, or an
    /// existing provider has that this run does not remove.
    async fn check_provider_name(&self, plan: &mut PlanCtx) {
        let (Ok(planned), Ok(prior)) = (
            M::from_nullable(&plan.planned),
            M::from_nullable(&plan.prior),
        ) else {
            return;
        };
        let Some(name) = planned.name.known() else {
            return;
        };
        if !plan.is_create() && prior.name.known() == Some(name) {
            return;
        }
        let renamed_from = self.record_rename(
            plan,
            Scope::Providers,
            prior.id.known(),
            prior.name.known(),
            name,
        );
        let own = prior.id.known().map(String::as_str);
        // Who claims the name: the planned arguments, without what the API
        // computes.
        let claimant = format!(
            "{:?}",
            ProviderModel {
                id: Field::Null,
                created_at: Field::Null,
                updated_at: Field::Null,
                ..planned.clone()
            }
            .to_value()
        );
        let at = Path::root().attr(M::name);
        if !self.inventory.names.claim("providers", name, &claimant) {
            plan.diags.push(
                Diagnostic::error(
                    "Duplicate workload identity provider name",
                    format!(
                        "Another openai_workload_identity_provider in this configuration also \
                         has the name {name:?}. Provider names must be unique in the \
                         organization; give each its own name. Nothing was created."
                    ),
                )
                .at(at),
            );
            return;
        }
        let Ok(client) = self.client() else { return };
        let holders = match self
            .inventory
            .providers(client, |s| {
                s.objects
                    .values()
                    .filter(|p| p.name == *name && Some(p.id.as_str()) != own)
                    .map(|p| p.id.clone())
                    .collect::<Vec<_>>()
            })
            .await
        {
            Ok(ids) => ids,
            Err(e) => {
                plan.diags.extend(api_error(
                    Op::new(Action::LookUp, "workload identity provider names"),
                    &e,
                    &[],
                ));
                return;
            }
        };
        self.name_free_of(
            plan,
            &Scope::Providers,
            holders,
            super::NameClaim {
                name,
                renamed_from: renamed_from.as_deref(),
                at,
            },
            |holder| {
                (
                    "Workload identity provider name already used",
                    format!(
                        "A workload identity provider named {name:?} already exists in the \
                         organization ({holder}), and names must be unique there. Choose another \
                         name, or bring the existing one under Terraform with `terraform import` \
                         (id {holder})."
                    ),
                )
            },
        )
        .await;
    }

    /// Counts a planned provider create against the organization's limit.
    async fn admit_provider(&self, plan: &mut PlanCtx) {
        let Ok(client) = self.client() else { return };
        let name = M::from_value(&plan.planned)
            .ok()
            .and_then(|m| m.name.into_known());
        let listed = self
            .inventory
            .providers(client, |s| {
                let same_name = s
                    .objects
                    .values()
                    .find(|p| Some(&p.name) == name.as_ref() && s.baseline.contains(&p.id))
                    .map(|p| p.id.clone());
                (s.baseline.clone(), same_name)
            })
            .await;
        let (baseline, same_name) = match listed {
            Ok(x) => x,
            Err(e) => {
                plan.diags.extend(api_error(
                    Op::new(Action::Count, "existing workload identity providers"),
                    &e,
                    &[],
                ));
                return;
            }
        };
        // Names are unique in the organization, so a create named like an
        // existing provider replaces it (or fails at apply): that is how a
        // tainted object shows, planned as a create without its identity.
        // Only a provider of this configuration (refreshed by this run's
        // plan) can be tainted; one made elsewhere with the name stays, and
        // the name check reports it.
        if let Some(old) = same_name.filter(|old| {
            self.inventory.names.was_refreshed(old)
                || self.ledger.removed_in_run(&Scope::Providers, old)
        }) {
            // Renamed aside at apply only if Terraform told this run's plan
            // that a create replaces it (the apply walk of `terraform
            // apply` is told nothing): a same-named sibling that merely was
            // refreshed, or a guess recorded as room, looks alike here and
            // must never be renamed.
            if self.replaced_in_run(&Scope::Providers, &old) {
                self.replacing(plan, SCOPE, name.as_deref(), &old);
            }
            self.ledger.remove(Scope::Providers, &old, &baseline);
        }
        let limit = self.settings().max_providers;
        let key = name.as_ref().map(|n| format!("name:{n}"));
        let (admitted, peak_waiting) = self
            .waiting
            .count(
                self.ledger
                    .admit(Scope::Providers, key.as_deref(), &baseline, limit),
            )
            .await;
        if let Err(x) = admitted {
            plan.diags.error(
                "Workload identity provider limit exceeded",
                format!(
                    "This plan would give the organization more than {limit} workload identity \
                     providers: {} exist, and this plan adds {} ({} created, {} destroyed), \
                     counting every alias of this provider on the organization in this run. \
                     {} Remove providers you no longer need, or, if OpenAI \
                     raised your limit, set max_workload_identity_providers in the provider block. {}",
                    x.existing,
                    x.adds(),
                    x.creates,
                    x.removals,
                    self.ledger.created_note(),
                    self.limit_advice(peak_waiting)
                )
                .trim_end()
                .to_string(),
            );
        }
    }

    pub(crate) async fn provider_going_away(&self, id: &str, why: Removal) {
        // What makes no room for a create (a destroy Terraform may apply
        // after it, at -parallelism=1) frees no name for one either.
        if !why.makes_room() {
            return;
        }
        self.inventory.names.going(id);
        let Ok(client) = self.client() else { return };
        if let Ok(baseline) = self
            .inventory
            .providers(client, |s| s.baseline.clone())
            .await
        {
            self.ledger.remove(Scope::Providers, id, &baseline);
        }
    }
}
