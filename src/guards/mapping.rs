//! The guards of `openai_service_account_mapping`: its references, its name,
//! the limit of mappings per provider and tenant pinning, at plan; and the
//! pinning check again right before a write, at apply.

use std::collections::BTreeSet;

use super::Removal;
use crate::errors::{Action, Op, api_error};
use crate::limits::Scope;
use crate::provider_data::ProviderData;
use crate::resources::service_account_mapping::{
    MappingIdentity, MappingModel, matchers_json, matchers_of,
};
use crate::resources::unmanaged_kind;
use openai_admin::models::{AttributeMatchers, FederationRule};
use tfplugin::codec::{Path, Value};
use tfplugin::framework::model::{Field, FieldType, Model};
use tfplugin::framework::{Diagnostic, Diagnostics, PlanCtx};

type M = MappingModel;

pub(crate) async fn plan_mapping(data: Option<&ProviderData>, plan: &mut PlanCtx) {
    if super::operation::destroy_command() && !plan.is_destroy() {
        return;
    }
    unmanaged_kind::refuse_change(plan, "service account mapping", M::scopes);
    let Some(data) = data else {
        super::warn_checks_skipped(
            plan,
            "the limit of mappings per provider (max_mappings_per_provider) or tenant pinning",
        );
        return;
    };
    // What goes away: the prior object of a destroy or of a replacement
    // we asked for, or the object whose identity a create replaces
    // (`-replace` on Terraform 1.12+; a tainted object comes without
    // its identity and is recognised in `admit_mapping`). A state holds the identity's
    // attributes, so both read as an identity.
    let gone = if plan.is_destroy() || plan.is_replace() {
        Some(&plan.prior)
    } else {
        plan.replaced_identity.as_ref()
    };
    let planned = M::from_value(&plan.planned).ok();
    let name = planned.as_ref().and_then(|m| m.name.known().cloned());
    let planned_pid = planned
        .as_ref()
        .and_then(|m| m.workload_identity_provider_id.known().cloned());
    let gone = gone
        .and_then(|v| MappingIdentity::from_value(v).ok())
        .and_then(|g| {
            Some((
                g.workload_identity_provider_id.into_known()?,
                g.id.into_known()?,
            ))
        })
        .or_else(|| {
            // A saved plan's apply walk is told nothing: its plan
            // remembered the replacement (`replacement`). Only a create
            // can be one; anything else need not look.
            if !plan.is_create() {
                return None;
            }
            let pid = planned_pid.clone()?;
            let old = data.remembered_replacement(&scope_of(&pid), name.as_deref())?;
            Some((pid, old))
        });
    if let Some((pid, id)) = &gone {
        let why = if plan.is_destroy() {
            Removal::Destroy
        } else {
            // Names are unique per provider: only a replacement under the
            // same provider can find its old name taken.
            if planned_pid.as_ref() == Some(pid) {
                data.replacing(plan, &scope_of(pid), name.as_deref(), id);
            }
            Removal::Replace
        };
        data.mapping_going_away(pid, id, why).await;
    } else if plan.is_create()
        && let Some(pid) = &planned_pid
    {
        data.not_replacing(&scope_of(pid), name.as_deref());
    }
    if !plan.is_destroy() {
        data.check_mapping_references(plan).await;
    }
    // Also on destroy: the guard records the mapping as going away.
    data.guard_tenant_pinning(plan).await;
    data.refuse_staying_on_a_replaced_provider(plan);
    data.warn_overlaps(plan).await;
    if plan.is_create() {
        data.admit_mapping(plan).await;
    } else if !plan.is_destroy() && !plan.is_replace() {
        data.ledger.touch();
    }
}

/// The scope of a provider's mapping names in the remembered replacements.
pub(crate) fn scope_of(pid: &str) -> String {
    format!("mappings:{pid}")
}

/// What identifies a planned mapping create across the run's processes:
/// its name (unique within the provider), or else its content.
fn create_key(m: &MappingModel) -> Option<String> {
    if let Some(name) = m.name.as_deref() {
        return Some(format!("name:{name}"));
    }
    // Unnamed: everything the create sends, so that mappings differing only
    // in scopes, `enabled` or description are two creates, not one.
    let matchers = serde_json::Value::Object(matchers_json(&m.attribute_matchers)?);
    let mut scopes: Vec<&str> = match &m.scopes {
        Field::Known(set) => set.iter().map(|s| s.as_deref()).collect::<Option<_>>()?,
        Field::Null => Vec::new(),
        Field::Unknown => return None,
    };
    scopes.sort_unstable();
    let enabled = match m.enabled {
        Field::Known(b) => b,
        Field::Null => true,
        Field::Unknown => return None,
    };
    let description = match &m.description {
        Field::Unknown => return None,
        d => d.as_deref().unwrap_or_default(),
    };
    Some(format!(
        "rule:{}/{}:{matchers}:{scopes:?}:{enabled}:{description:?}",
        m.project_id.as_deref()?,
        m.service_account_id.as_deref()?
    ))
}

/// The id of a rule in `s`'s baseline that `m` would duplicate: the same
/// name (unique within a provider), or, unnamed, the same project, service
/// account and matchers.
fn same_rule(m: &MappingModel, s: &crate::inventory::Snapshot<FederationRule>) -> Option<String> {
    let matchers = matchers_json(&m.attribute_matchers);
    s.objects
        .values()
        .filter(|r| s.baseline.contains(&r.id))
        .find(|r| match m.name.as_deref() {
            Some(name) => r.name.as_deref() == Some(name),
            None => {
                r.name.is_none()
                    && Some(r.project_id.as_str()) == m.project_id.as_deref()
                    && Some(r.service_account_id.as_str()) == m.service_account_id.as_deref()
                    && matchers.as_ref() == Some(&r.attribute_matchers)
            }
        })
        .map(|r| r.id.clone())
}

impl ProviderData {
    /// The tenant-pinning guard ([`crate::tenant_pinning`]): a mapping
    /// on a shared issuer must match a claim naming the tenant. It judges
    /// exactly the JSON that will be sent (the conversion `create` and
    /// `update` use), and records the planned mapping for its provider's
    /// check (see [`crate::tenant_pinning::PinningPlans`] for why the
    /// verdict does not depend on plan order).
    ///
    /// Which issuer applies: the provider's planned issuer once the provider
    /// was planned in this run, else (after waiting briefly for it to be
    /// planned, when that issuer would refuse) its current issuer. When the
    /// provider id is not known yet (the provider is created in this run),
    /// the issuers of the providers this process planned to create are the
    /// candidates: if the mapping is unpinned under every one of them it is
    /// refused now; otherwise the check waits for the plan Terraform makes
    /// again during apply, just before creating the mapping, when the id is
    /// known.
    async fn guard_tenant_pinning(&self, plan: &mut PlanCtx) {
        use crate::tenant_pinning::{self, PlannedMapping, Verdict};
        let prior = MappingModel::from_nullable(&plan.prior).ok();
        let prior_ids = prior.as_ref().and_then(|p| {
            Some((
                p.workload_identity_provider_id.as_deref()?.to_string(),
                p.id.as_deref()?.to_string(),
            ))
        });
        if (plan.is_destroy() || plan.is_replace())
            && let Some((pid, id)) = &prior_ids
        {
            let gone = PlannedMapping {
                matchers: None,
                allow: None,
                gone: true,
                disabled: false,
                service_account: None,
            };
            self.pinning.mapping_planned(pid, Some(id), gone);
        }
        // A destroy plans null, which is no mapping.
        let Ok(mut planned) = MappingModel::from_value(&plan.planned) else {
            return;
        };
        // Exactly what create or update would send; a conversion failure is
        // an error, never an empty (match-everything) policy.
        let sent = if planned.attribute_matchers.is_null() {
            return; // validation already refused it
        } else if planned
            .attribute_matchers
            .known()
            .is_some_and(Value::is_wholly_known)
        {
            match matchers_of(&planned) {
                Ok(json) => Some(json),
                Err(d) => {
                    plan.diags.extend(d);
                    return;
                }
            }
        } else {
            None
        };
        let allow = match planned.allow_unpinned_shared_issuer {
            Field::Known(b) => Some(b),
            Field::Null => Some(false),
            Field::Unknown => None,
        };
        let writes = super::operation::Operation::of(plan).writes();
        // The first half of a replacement is the old object going away; the
        // create half records the new one.
        let rule_id = match (&prior_ids, plan.is_replace()) {
            (Some((_, id)), false) => Some(id.as_str()),
            _ => None,
        };
        // A disabled mapping admits no token: it is never refused, only
        // warned about (see `operation`).
        let disabled = planned.enabled.known() == Some(&false);
        let record = PlannedMapping {
            matchers: sent.clone(),
            allow,
            gone: false,
            disabled,
            service_account: planned.service_account_id.known().cloned(),
        };
        let recorded = match planned.workload_identity_provider_id.as_deref() {
            Some(pid) if !plan.is_replace() || prior_ids.is_none() => {
                self.pinning.mapping_planned(pid, rule_id, record)
            }
            Some(pid) => self.pinning.planned_issuer(pid),
            None => None,
        };
        if allow == Some(true)
            && !writes
            && let (Some(Some(next)), Some(pid)) =
                (&recorded, planned.workload_identity_provider_id.as_deref())
            && let Ok(client) = self.client()
            && let Ok(Some(p)) = self.inventory.provider(client, pid).await
            && &p.issuer != next
        {
            // Allowed, on a provider whose issuer this run changes: plan an
            // update so that the mapping is planned (and recorded as
            // allowed) again during apply, where the provider checks again.
            planned.updated_at = Field::Unknown;
            plan.planned = planned.to_value();
        }
        if allow != Some(false) {
            return;
        }
        let matchers = match &sent {
            Some(json) => crate::values::from_json(&serde_json::Value::Object(json.clone())).1,
            None => planned.attribute_matchers.encode(),
        };
        let (candidates, provider_changes) = match &planned.workload_identity_provider_id {
            Field::Known(pid) => {
                let Ok(client) = self.client() else { return };
                let server = match self.inventory.provider(client, pid).await {
                    Ok(Some(p)) => p.issuer,
                    // The API refuses mappings of a missing provider.
                    Ok(None) => return,
                    Err(e) => {
                        if writes {
                            plan.diags.extend(api_error(
                                Op::new(
                                    Action::LookUp,
                                    "the issuer of the mapping's workload identity provider",
                                ),
                                &e,
                                &[],
                            ));
                        }
                        return;
                    }
                };
                let would_refuse = tenant_pinning::shared_issuer(&server)
                    .is_some_and(|s| tenant_pinning::check(s, &matchers) == Verdict::Unpinned);
                let planned_issuer = match recorded {
                    Some(p) => Some(p),
                    // Its provider may still be planned, with another issuer:
                    // don't refuse on the server's value before it had the chance.
                    None if would_refuse => self.wait_for_provider_plan(pid).await,
                    None => None,
                };
                match planned_issuer {
                    Some(p) => {
                        let changes = p.as_deref() != Some(server.as_str());
                        (vec![p], changes)
                    }
                    None => (vec![Some(server)], false),
                }
            }
            Field::Unknown => (self.pinning.created(), true),
            Field::Null => return,
        };
        let mut refused: Vec<(&'static tenant_pinning::SharedIssuer, String)> = Vec::new();
        for issuer in &candidates {
            let Some(issuer) = issuer else {
                // The issuer is not known until apply. Creates and updates are
                // planned again during apply, with it known; an unchanged
                // mapping is not, so plan an update (a new `updated_at`) to
                // have the check run then too. Shared issuers are fixed URLs,
                // so an unknown issuer is almost always a private one.
                if !writes {
                    planned.updated_at = Field::Unknown;
                    plan.planned = planned.to_value();
                }
                return;
            };
            let Some(shared) = tenant_pinning::shared_issuer(issuer) else {
                return;
            };
            match tenant_pinning::check(shared, &matchers) {
                Verdict::Unpinned => {
                    if !refused.iter().any(|(_, i)| i == issuer) {
                        refused.push((shared, issuer.clone()));
                    }
                }
                Verdict::Pinned => {
                    // Pinned, but maybe only by names someone else could
                    // register later: say so when the mapping is written
                    // (not on every plan of an unchanged one).
                    if writes
                        && candidates.len() == 1
                        && let Some(detail) = tenant_pinning::name_only_warning(shared, &matchers)
                    {
                        plan.diags.push(
                            Diagnostic::warning(tenant_pinning::NAME_ONLY_SUMMARY, detail)
                                .at(Path::root().attr(M::attribute_matchers)),
                        );
                    }
                    return;
                }
                Verdict::Undecided => return,
            }
        }
        if refused.is_empty() {
            return;
        }
        let mut detail = refused
            .iter()
            .map(|(shared, issuer)| tenant_pinning::explain(shared, issuer))
            .collect::<Vec<_>>()
            .join("\n\n");
        let at = Path::root().attr(M::attribute_matchers);
        if disabled {
            plan.diags.push(
                Diagnostic::warning(
                    tenant_pinning::SUMMARY,
                    format!(
                        "{detail}\n\nThis mapping is disabled (enabled = false), so it admits no \
                         token and the plan may go ahead; enabling it will be refused until it \
                         is pinned."
                    ),
                )
                .at(at),
            );
        } else if writes || provider_changes {
            if planned.workload_identity_provider_id.is_unknown() {
                detail.push_str(
                    "\n\nThe mapping's provider is created in this run, so its id is not known \
                     yet; the mapping is unpinned under the issuer of every workload identity \
                     provider this plan creates. The mapping was not created.",
                );
            }
            plan.diags
                .push(Diagnostic::error(tenant_pinning::SUMMARY, detail).at(at));
        } else {
            // An existing mapping that this plan leaves alone (e.g. imported, or
            // made before this check existed): warn rather than block every plan.
            plan.diags.push(
                Diagnostic::warning(
                    tenant_pinning::SUMMARY,
                    format!(
                        "{detail}\n\nThis existing mapping is left unchanged by this plan, but \
                         any change to it will be refused until it is pinned."
                    ),
                )
                .at(at),
            );
        }
    }

    /// Waits (bounded) for provider `pid` to be planned in this run; its
    /// planned issuer, or `None` when it was not planned in time.
    async fn wait_for_provider_plan(&self, pid: &str) -> Option<Option<String>> {
        let deadline = tokio::time::Instant::now() + self.pinning.settle;
        loop {
            if let Some(p) = self.pinning.planned_issuer(pid) {
                return Some(p);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() || !self.pinning.wait_for_change(left).await {
                return self.pinning.planned_issuer(pid);
            }
        }
    }

    /// The guard's last line of defence, at apply: the provider's issuer
    /// must not be a shared issuer under which the matchers `sent` leave the
    /// mapping unpinned.
    ///
    /// Right before the write (`written_at` `None`) it checks the issuer
    /// this process plans for the provider; that needs no request, and
    /// [`PinningPlans::write_lock`] (held shared from this check to the
    /// end of the write and its check) orders the write against this
    /// process's own issuer change of the provider. Right after the write
    /// (`written_at` the moment the API answered it) it reads the issuer
    /// from the API, in a read that starts after the write: of this write
    /// and an issuer change by another run, whichever was made second is
    /// seen by the other's check, since that run's issuer change lists the
    /// provider's rules again after its own write. The caller undoes its
    /// write when this refuses. Writes that finish together share the read
    /// ([`PinningPlans::issuer_since`]), so an apply of many mappings costs
    /// about one request per mapping.
    ///
    /// [`PinningPlans::write_lock`]: crate::tenant_pinning::PinningPlans::write_lock
    /// [`PinningPlans::issuer_since`]: crate::tenant_pinning::PinningPlans::issuer_since
    ///
    /// `sent` and `enabled` are the rule as it is judged: before the write
    /// what will be sent, after it what the API answered (an update sends
    /// only what the plan changes, so the rest is whatever the server had).
    /// `Ok(Some(warning))`: after the write the issuer could not be read,
    /// so the check was not made (the write stays; the next plan checks).
    pub(crate) async fn recheck_pinning(
        &self,
        planned: &MappingModel,
        sent: &AttributeMatchers,
        enabled: bool,
        written_at: Option<tokio::time::Instant>,
    ) -> Result<Option<Diagnostic>, Diagnostics> {
        use crate::tenant_pinning::{self, Verdict};
        // Allowed by the user, or disabled: it admits no token.
        if planned.allow_unpinned_shared_issuer.known() == Some(&true) || !enabled {
            return Ok(None);
        }
        // Matchers that pin under every shared issuer are fine whatever the
        // provider's issuer is: nothing to look up.
        if tenant_pinning::SHARED_ISSUERS
            .iter()
            .all(|shared| tenant_pinning::check_json(shared, sent) != Verdict::Unpinned)
        {
            return Ok(None);
        }
        let pid = planned.workload_identity_provider_id.or_empty();
        let mut issuers = Vec::new();
        if let Some(Some(next)) = self.pinning.planned_issuer(pid) {
            issuers.push(next);
        }
        if let Some(created) = written_at.and(self.inventory.issuer_created_here(pid)) {
            // A provider this process created in this run: only this
            // process's writes can have changed its issuer (another run's
            // state cannot hold it), and they are ordered by the write
            // lock. This saves a read per batch of mapping writes on a
            // provider created alongside its mappings, the common apply.
            issuers.push(created);
        } else if let Some(since) = written_at {
            let client = self.client()?;
            let current = self
                .pinning
                .issuer_since(pid, since, || async {
                    match client.get_provider(pid).await {
                        Ok(p) => Ok(Some(p.issuer)),
                        Err(e) if e.is_not_found() => Ok(None),
                        Err(e) => Err(e),
                    }
                })
                .await;
            match current {
                Ok(current) => issuers.extend(current),
                // Checked at plan and before the write already; this check
                // is for a concurrent run. Undoing a write on a failed read
                // would break working logins, so say what was not checked.
                Err(e) => {
                    return Ok(Some(Diagnostic::warning(
                        "Tenant pinning not checked again after the write",
                        format!(
                            "The mapping was written, but its provider's issuer could not be \
                             read right after ({}), so a change of the issuer by another run at \
                             the same moment would not be seen. The next plan checks again.",
                            api_error(Op::new(Action::Read, "the issuer"), &e, &[])
                                .iter()
                                .map(|d| d.detail.as_str())
                                .collect::<Vec<_>>()
                                .join(" ")
                        ),
                    )));
                }
            }
        }
        for issuer in &issuers {
            if let Some(shared) = tenant_pinning::shared_issuer(issuer)
                && tenant_pinning::check_json(shared, sent) == Verdict::Unpinned
            {
                let when = match written_at {
                    None => "Checked again right before writing the mapping: nothing was sent.",
                    Some(_) => {
                        "Checked again right after writing the mapping, as OpenAI now holds it \
                         (its matchers and its provider's issuer may have been changed by \
                         another run or by hand since the plan), so the write was undone."
                    }
                };
                return Err(Diagnostic::error(
                    tenant_pinning::SUMMARY,
                    format!("{}\n\n{when}", tenant_pinning::explain(shared, issuer)),
                )
                .at(Path::root().attr(M::attribute_matchers))
                .into());
            }
        }
        Ok(None)
    }

    /// What the API would refuse a new or renamed mapping for, refused at
    /// plan instead: a provider id that does not exist (ids unknown until
    /// apply are skipped), and a name another mapping of the provider has,
    /// in this run or already (unless this run removes it).
    async fn check_mapping_references(&self, plan: &mut PlanCtx) {
        let (Ok(planned), Ok(prior)) = (
            M::from_nullable(&plan.planned),
            M::from_nullable(&plan.prior),
        ) else {
            return;
        };
        let Some(pid) = planned.workload_identity_provider_id.known() else {
            return;
        };
        let Ok(client) = self.client() else { return };
        let new = plan.is_create() || plan.is_replace();
        if new {
            match self.inventory.provider(client, pid).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    plan.diags.push(
                        Diagnostic::error(
                            "Workload identity provider not found",
                            format!(
                                "There is no workload identity provider {pid:?} in this \
                                 organization, so the mapping cannot be created. Check \
                                 workload_identity_provider_id; for a provider created in the \
                                 same configuration, reference its id \
                                 (openai_workload_identity_provider.NAME.id). Nothing was created."
                            ),
                        )
                        .at(Path::root().attr(M::workload_identity_provider_id)),
                    );
                    return;
                }
                Err(e) => {
                    plan.diags.extend(api_error(
                        Op::new(Action::LookUp, "the mapping's workload identity provider"),
                        &e,
                        &[],
                    ));
                    return;
                }
            }
        }
        if new && !self.check_account(plan, client, &planned).await {
            return;
        }
        let Some(name) = planned.name.known() else {
            return;
        };
        if !new && prior.name.known() == Some(name) {
            return;
        }
        let renamed_from = self.record_rename(
            plan,
            Scope::Mappings(pid.to_string()),
            prior.id.known(),
            prior.name.known(),
            name,
        );
        let own = if plan.is_create() {
            None
        } else {
            prior.id.known().map(String::as_str)
        };
        // Who claims the name: the planned arguments, without what the API
        // computes.
        let claimant = format!(
            "{:?}",
            MappingModel {
                id: Field::Null,
                created_at: Field::Null,
                updated_at: Field::Null,
                ..planned.clone()
            }
            .to_value()
        );
        let at = Path::root().attr(M::name);
        if !self
            .inventory
            .names
            .claim(&format!("rules:{pid}"), name, &claimant)
        {
            plan.diags.push(
                Diagnostic::error(
                    "Duplicate service account mapping name",
                    format!(
                        "Another openai_service_account_mapping of workload identity provider \
                         {pid} in this configuration also has the name {name:?}. Mapping names \
                         must be unique within their provider. Nothing was created."
                    ),
                )
                .at(at),
            );
            return;
        }
        let holders = match self
            .inventory
            .rules(client, pid, |s| {
                s.map(|s| {
                    s.objects
                        .values()
                        .filter(|r| r.name.as_deref() == Some(name) && Some(r.id.as_str()) != own)
                        .map(|r| r.id.clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
            })
            .await
        {
            Ok(ids) => ids,
            Err(e) => {
                plan.diags.extend(api_error(
                    Op::new(Action::LookUp, "service account mapping names"),
                    &e,
                    &[],
                ));
                return;
            }
        };
        self.name_free_of(
            plan,
            &Scope::Mappings(pid.to_string()),
            holders,
            super::NameClaim {
                name,
                renamed_from: renamed_from.as_deref(),
                at,
            },
            |holder| {
                (
                    "Service account mapping name already used",
                    format!(
                        "Workload identity provider {pid} already has a service account mapping \
                         named {name:?} ({holder}), and names must be unique within a provider. \
                         Choose another name, or bring the existing one under Terraform with \
                         `terraform import` (id {pid}/{holder})."
                    ),
                )
            },
        )
        .await;
    }

    /// A mapping that stays (names its provider by literal id) while this
    /// run replaces that provider: the provider's delete would be refused.
    /// The provider's plan reports the mappings planned before it; this
    /// reports those planned after.
    fn refuse_staying_on_a_replaced_provider(&self, plan: &mut PlanCtx) {
        if plan.is_destroy() || plan.is_replace() || plan.is_create() {
            return;
        }
        let Ok(planned) = M::from_value(&plan.planned) else {
            return;
        };
        let Some(pid) = planned.workload_identity_provider_id.known() else {
            return;
        };
        if self.pinning.is_replacing(pid) {
            plan.diags.push(
                Diagnostic::error(
                    "Replaced provider still has mappings",
                    format!(
                        "This plan replaces workload identity provider {pid} (deletes it and \
                         creates a new one), but this mapping names it by its literal id, so it \
                         stays, and OpenAI refuses to delete a provider that has mappings. \
                         Reference the provider's id here (workload_identity_provider_id = \
                         openai_workload_identity_provider.NAME.id), so Terraform replaces the \
                         mapping with it, or remove the mapping first. Nothing was changed."
                    ),
                )
                .at(Path::root().attr(M::workload_identity_provider_id)),
            );
        }
    }

    /// Warns when a mapping this plan writes, enabled, may match the same
    /// token as another enabled mapping of the same provider and service
    /// account (on the server, or planned in this run): the exchange then
    /// refuses as ambiguous, and a working workload stops logging in.
    async fn warn_overlaps(&self, plan: &mut PlanCtx) {
        use crate::tenant_pinning::MappingKey;
        use openai_federation_rules::matching::may_overlap;
        if !super::operation::Operation::of(plan).writes() {
            return;
        }
        let (Ok(planned), Ok(prior)) = (
            M::from_nullable(&plan.planned),
            M::from_nullable(&plan.prior),
        ) else {
            return;
        };
        if planned.enabled.known() == Some(&false) {
            return;
        }
        let (Some(pid), Some(account), Some(mine)) = (
            planned.workload_identity_provider_id.known(),
            planned.service_account_id.known(),
            matchers_json(&planned.attribute_matchers),
        ) else {
            return;
        };
        let own = prior.id.known().cloned().filter(|_| !plan.is_replace());
        let Ok(client) = self.client() else { return };
        let Ok(server) = self
            .inventory
            .rules(client, pid, |s| {
                s.map(|s| s.objects.values().cloned().collect::<Vec<_>>())
                    .unwrap_or_default()
            })
            .await
        else {
            return;
        };
        let planned_here = self.pinning.mappings(pid);
        let mut others: Vec<(String, serde_json::Map<String, serde_json::Value>)> = Vec::new();
        for r in server {
            if Some(&r.id) == own.as_ref() || self.inventory.names.is_going(&r.id) {
                continue;
            }
            match planned_here.get(&MappingKey::Existing(r.id.clone())) {
                Some(p) if p.gone || p.disabled => {}
                Some(p) => {
                    if let Some(m) = &p.matchers
                        && p.service_account
                            .as_deref()
                            .unwrap_or(&r.service_account_id)
                            == account
                    {
                        others.push((r.id.clone(), m.clone()));
                    }
                }
                None if r.enabled && r.service_account_id == *account => {
                    others.push((r.id.clone(), r.attribute_matchers.clone()));
                }
                None => {}
            }
        }
        // Creates planned in this run; this mapping's own record is one of
        // them when it is a create.
        let mut skipped_self = !plan.is_create() && !plan.is_replace();
        for (key, p) in &planned_here {
            if let (MappingKey::New(_), Some(m)) = (key, &p.matchers)
                && !p.gone
                && !p.disabled
                && p.service_account.as_deref() == Some(account.as_str())
            {
                if !skipped_self && *m == mine {
                    skipped_self = true;
                    continue;
                }
                others.push(("(planned in this run)".into(), m.clone()));
            }
        }
        let overlapping: Vec<String> = others
            .iter()
            .filter(|(_, m)| may_overlap(&mine, m))
            .map(|(id, _)| id.clone())
            .collect();
        if overlapping.is_empty() {
            return;
        }
        plan.diags.push(
            Diagnostic::warning(
                "Mappings may match the same token",
                format!(
                    "Another enabled mapping of this provider for the same service account \
                     ({account}) may match a token this one matches: {}. When more than one \
                     enabled mapping matches, OpenAI refuses the exchange as ambiguous, so a \
                     workload that logs in today would stop. Make their matchers exclusive (for \
                     example a different exact `sub` or `ref`), disable one, or merge them.",
                    overlapping.join(", ")
                ),
            )
            .at(Path::root().attr(M::attribute_matchers)),
        );
    }

    /// A new mapping's project and service account must exist (the API
    /// refuses the create with 400 or 404 otherwise); ids known only after
    /// apply are checked in the plan Terraform makes then. `false` when it
    /// pushed an error.
    async fn check_account(
        &self,
        plan: &mut PlanCtx,
        client: &openai_admin::Client,
        planned: &MappingModel,
    ) -> bool {
        use crate::inventory::AccountLookup;
        let (Some(project), Some(account)) = (
            planned.project_id.known(),
            planned.service_account_id.known(),
        ) else {
            return true;
        };
        let found = match self
            .inventory
            .account_exists(client, project, account)
            .await
        {
            Ok(found) => found,
            Err(e) => {
                plan.diags.extend(api_error(
                    Op::new(Action::LookUp, "the mapping's project service account"),
                    &e,
                    &[],
                ));
                return false;
            }
        };
        let swapped = project.starts_with("svc_acct_") || account.starts_with("proj_");
        let hint = if swapped {
            " project_id and service_account_id look swapped: project ids start with proj_, \
             service account ids with svc_acct_."
        } else {
            ""
        };
        let (at, summary, detail) = match found {
            AccountLookup::Found => return true,
            AccountLookup::NoSuchProject => (
                M::project_id,
                "Project not found",
                format!(
                    "There is no project {project:?} in this organization, so the mapping \
                     cannot be created.{hint} Check project_id; for a project made in the same \
                     configuration, reference its id. Nothing was created."
                ),
            ),
            AccountLookup::NoSuchAccount => (
                M::service_account_id,
                "Service account not found",
                format!(
                    "Project {project} has no service account {account:?}, so the mapping \
                     cannot be created.{hint} Check service_account_id; for an account made in \
                     the same configuration, reference \
                     openai_project_service_account.NAME.id. Nothing was created."
                ),
            ),
        };
        plan.diags
            .push(Diagnostic::error(summary, detail).at(Path::root().attr(at)));
        false
    }

    /// Counts a planned mapping create against its provider's limit.
    async fn admit_mapping(&self, plan: &mut PlanCtx) {
        let Ok(client) = self.client() else { return };
        let limit = self.settings().max_mappings_per_provider;
        let pid = MappingModel::from_value(&plan.planned)
            .ok()
            .and_then(|m| m.workload_identity_provider_id.into_known());
        let (scope, existing, limit) = match pid {
            Some(pid) => {
                let planned = MappingModel::from_value(&plan.planned).ok();
                let existing = match self
                    .inventory
                    .rules(client, &pid, |s| {
                        s.map_or((BTreeSet::new(), None), |s| {
                            let same = planned.as_ref().and_then(|m| same_rule(m, s));
                            (s.baseline.clone(), same)
                        })
                    })
                    .await
                {
                    Ok((baseline, same)) => {
                        // A create like an existing rule replaces it: that is
                        // how a tainted object shows, planned as a create
                        // without its identity. Only a rule of this
                        // configuration (refreshed by this run's plan) can be
                        // tainted; an identical rule made elsewhere stays.
                        let scope = Scope::Mappings(pid.clone());
                        if let Some(old) = same.filter(|old| {
                            self.inventory.names.was_refreshed(old)
                                || self.ledger.removed_in_run(&scope, old)
                        }) {
                            // Renamed aside only when Terraform told this
                            // run's plan it is replaced (see `admit_provider`).
                            if self.replaced_in_run(&scope, &old) {
                                let name = M::from_value(&plan.planned)
                                    .ok()
                                    .and_then(|m| m.name.into_known());
                                self.replacing(plan, &scope_of(&pid), name.as_deref(), &old);
                            }
                            self.ledger
                                .remove(Scope::Mappings(pid.clone()), &old, &baseline);
                        }
                        baseline
                    }
                    Err(e) => {
                        plan.diags.extend(api_error(
                            Op::new(Action::Count, "existing service account mappings"),
                            &e,
                            &[],
                        ));
                        return;
                    }
                };
                (Scope::Mappings(pid), existing, limit)
            }
            None => {
                // The provider is created in this run: its mappings share a
                // pool of `limit` per provider created so far.
                let new_providers = self.ledger.creates(&Scope::Providers);
                if new_providers == 0 {
                    return;
                }
                (
                    Scope::NewProviderMappings,
                    BTreeSet::new(),
                    limit * new_providers,
                )
            }
        };
        let key = MappingModel::from_value(&plan.planned)
            .ok()
            .and_then(|m| create_key(&m));
        let (admitted, peak_waiting) = self
            .waiting
            .count(
                self.ledger
                    .admit(scope.clone(), key.as_deref(), &existing, limit),
            )
            .await;
        if let Err(x) = admitted {
            let which = match &scope {
                Scope::Mappings(pid) => format!("workload identity provider {pid}"),
                _ => "the workload identity provider(s) created in this plan".to_string(),
            };
            let per = self.settings().max_mappings_per_provider;
            plan.diags.error(
                "Service account mapping limit exceeded",
                format!(
                    "This plan would give {which} more than {per} service account mappings \
                     (limit {limit} here): {} exist, and this plan adds {} ({} created, {} \
                     destroyed). {} Remove mappings you no longer need, or, \
                     if OpenAI raised your limit, set max_mappings_per_provider in the provider block. {}",
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

    pub(crate) async fn mapping_going_away(&self, pid: &str, id: &str, why: Removal) {
        // What makes no room for a create (a destroy Terraform may apply
        // after it, at -parallelism=1) frees no name for one either.
        if !why.makes_room() {
            return;
        }
        self.inventory.names.going(id);
        let Ok(client) = self.client() else { return };
        if let Ok(Some(baseline)) = self
            .inventory
            .rules(client, pid, |s| s.map(|s| s.baseline.clone()))
            .await
        {
            self.ledger
                .remove(Scope::Mappings(pid.to_string()), id, &baseline);
        }
    }
}
