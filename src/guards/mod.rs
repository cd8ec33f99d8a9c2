//! The plan-time guards: what this provider refuses or warns about before
//! anything is written, and checks again right before a write.
//!
//! Resources call one entry point each from `modify_plan`
//! ([`plan_provider`], [`plan_mapping`]) and, at apply, the re-checks next
//! to their writes. The guards and the per-process state they share:
//!
//! | guard | module | state |
//! | --- | --- | --- |
//! | limits (50 providers, 50 mappings per provider) | [`crate::limits`] | `Ledger`, shared across aliases by its run log |
//! | names (unique per organization / per provider) | `provider`, `mapping` | `inventory::Names` |
//! | references (provider, project, service account exist) | `mapping` | the listing cache |
//! | tenant pinning (shared issuers) | [`crate::tenant_pinning`], `provider`, `mapping` | `PinningPlans` |
//! | CEL (functions the exchange knows, size) | `openai_federation_rules::cel`, through the provider's validation | – |
//! | overlap (two enabled mappings of one account matching one token: a warning) | `mapping`, `openai_federation_rules::matching::may_overlap` | the listing cache, `PinningPlans` |
//!
//! How each operation is classified, and which guard may refuse, warn or
//! must allow it, is the decision table in [`operation`].

pub(crate) mod create;
pub(crate) mod mapping;
pub(crate) mod operation;
pub(crate) mod provider;
pub(crate) mod replacement;

pub(crate) use mapping::plan_mapping;
pub(crate) use operation::one_at_a_time;
pub(crate) use provider::{name_conflict, plan_provider};

/// Warns that a plan made while the provider block holds values known only
/// after apply skipped the checks that need the API: the limits and tenant
/// pinning. Terraform plans creates and updates again during apply, with the
/// configuration known, and the checks run then, before the object is
/// written.
pub(crate) fn warn_checks_skipped(plan: &mut tfplugin::framework::PlanCtx, checks: &str) {
    if !(plan.is_create() || plan.is_update()) {
        return;
    }
    plan.diags.warning(
        "Plan-time checks skipped: provider configuration unknown",
        format!(
            "The openai provider block holds values known only after apply (for example a key \
             or URL taken from a resource this run creates), so this plan could not check {checks}. \
             They run when Terraform plans this object again during apply, just before it is \
             written, so apply may still refuse it. To have them checked at plan, give the \
             provider block values known at plan time."
        ),
    );
}

/// How long a write refused because its name is taken (409) is tried again:
/// in a name chain (a takes b's old name while b is renamed), Terraform may
/// apply a before b, and b's rename frees the name moments later.
const NAME_TAKEN_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs a create or update whose name may be held by an object this run
/// renames or deletes, trying again (bounded) while the API answers 409.
/// With `room_coming` (the run destroys or replaces objects of the kind), a
/// create refused at the limit is tried again too: Terraform orders no
/// destroy before an unrelated create, so the destroy that makes the room
/// the plan counted on may still be in flight.
///
/// `aside` is asked once, on the first 409: it renames the object this
/// create replaces out of the way when that object holds the name
/// (`create_before_destroy`, see [`replacement`]), and says whether it did;
/// the write is then tried again at once.
pub(crate) async fn write_when_name_free<T, F, Fut>(
    what: &str,
    room_coming: bool,
    aside: impl AsyncFnOnce() -> bool,
    write: F,
) -> Result<T, openai_admin::error::ApiError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, openai_admin::error::ApiError>>,
{
    let deadline = tokio::time::Instant::now() + NAME_TAKEN_WAIT;
    let mut aside = Some(aside);
    loop {
        let result = write().await;
        if let Err(e) = &result
            && e.is_name_taken()
            && let Some(step_aside) = aside.take()
            && step_aside().await
        {
            continue;
        }
        match result {
            Err(e) if e.is_name_taken() && tokio::time::Instant::now() < deadline => {
                tracing::info!(
                    "the {what}'s name is still taken; waiting for this run's rename or delete \
                     of the object holding it"
                );
            }
            Err(e)
                if room_coming
                    && e.is_limit_exceeded()
                    && tokio::time::Instant::now() < deadline =>
            {
                tracing::info!(
                    "no room for the {what} yet; waiting for this run's destroys to make room"
                );
            }
            other => return other,
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// Added to a create refused because its name is taken: with
/// `create_before_destroy`, the replacement is created while the object it
/// replaces still holds the name.
pub(crate) fn name_taken_on_create(what: &str) -> tfplugin::framework::Diagnostic {
    tfplugin::framework::Diagnostic::error(
        format!("The {what}'s name is taken"),
        format!(
            "OpenAI refused the create because another {what} has this name. If this create \
             replaces an object with lifecycle {{ create_before_destroy = true }}, the old \
             object still holds the name while the new one is created: give the new one another \
             name (for example with a suffix that changes with the replacement), or remove \
             create_before_destroy. Otherwise rename or import the existing {what}."
        ),
    )
}

/// Why an object goes away in a plan, for the limits: a replacement's
/// create comes after its own destroy (without `create_before_destroy`),
/// while a destroy of another resource has no order against a create.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Removal {
    /// Planned: a destroy of this resource.
    Destroy,
    /// Planned: the destroy half of this resource's replacement.
    Replace,
    /// Applied: the object is gone.
    Deleted,
}

impl Removal {
    /// Whether the removal makes room for this run's other creates: a
    /// replacement always; a destroy unless Terraform works on one resource
    /// at a time, when a create that waits for it holds the only slot.
    pub(crate) fn makes_room(self) -> bool {
        self != Removal::Destroy || !one_at_a_time()
    }
}

/// A name a plan gives an object: the name, the object's old name when the
/// plan renames it, and the attribute to report on.
pub(crate) struct NameClaim<'a> {
    pub name: &'a str,
    pub renamed_from: Option<&'a str>,
    pub at: tfplugin::codec::Path,
}

impl crate::ProviderData {
    /// Records, when `plan` renames an object of `scope` (an update from the
    /// prior name to `name`), that its old name is free once applied: here,
    /// and through the run log for the run's other processes (the apply
    /// walk). A name chain (a takes b's old name while b is renamed) then
    /// applies in any order; the write retries while the holder's rename is
    /// under way. Returns the old name.
    pub(crate) fn record_rename(
        &self,
        plan: &tfplugin::framework::PlanCtx,
        scope: crate::limits::Scope,
        prior_id: Option<&String>,
        prior_name: Option<&String>,
        name: &str,
    ) -> Option<String> {
        let (true, Some(id), Some(old)) = (plan.is_update(), prior_id, prior_name) else {
            return None;
        };
        self.inventory
            .names
            .renamed(&format!("{scope:?}"), id, old, name);
        self.ledger.remove(
            crate::limits::Scope::Renamed(Box::new(scope)),
            id,
            &std::collections::BTreeSet::from([id.clone()]),
        );
        Some(old.clone())
    }

    /// Whether `name`, held on the server by the objects `holders`, is free
    /// for the object this plan gives it to: a holder this run removes,
    /// destroys or renames frees it. Otherwise pushes the error (a name
    /// conflict, from `conflict` with the holder's id, or a swap when the
    /// holder is renamed to this object's old name `renamed_from`).
    pub(crate) async fn name_free_of(
        &self,
        plan: &mut tfplugin::framework::PlanCtx,
        scope: &crate::limits::Scope,
        holders: Vec<String>,
        claim: NameClaim<'_>,
        conflict: impl Fn(&str) -> (&'static str, String),
    ) {
        use crate::inventory::Freed;
        let NameClaim {
            name,
            renamed_from,
            at,
        } = claim;
        let renamed_scope = crate::limits::Scope::Renamed(Box::new(scope.clone()));
        for holder in holders {
            // Another process of this run (the plan's, when this is the
            // apply walk) already counted the holder as replaced, or saw
            // it renamed.
            if self.ledger.removed_in_run(scope, &holder) {
                continue;
            }
            // What this process planned for the holder decides first (it
            // tells a cycle of renames apart); a rename the run's other
            // processes planned frees the name too; else wait briefly for
            // the holder to be planned here.
            let names = &self.inventory.names;
            let mut freed = names.wait_freed(&holder, std::time::Duration::ZERO).await;
            if freed == Freed::No {
                if self.ledger.removed_in_run(&renamed_scope, &holder) {
                    continue;
                }
                freed = names.wait_freed(&holder, self.ledger.settle).await;
            }
            // The holder moves to this object's old name, directly or
            // through other renames: a cycle, which no order can write.
            if let (Freed::Renamed(to), Some(old)) = (&freed, renamed_from)
                && self
                    .inventory
                    .names
                    .renames_lead_to(&format!("{scope:?}"), to, old)
            {
                plan.diags.push(
                    tfplugin::framework::Diagnostic::error(
                        "Names swapped",
                        format!(
                            "This plan renames this object to {name:?}, and the object holding \
                             that name ({holder}) to {to:?}, which leads back to this object's \
                             old name: a cycle of renames. Names are unique, so no write can go \
                             first. Rename one of them to a temporary name and apply, then apply \
                             the rest."
                        ),
                    )
                    .at(at.clone()),
                );
                return;
            }
            if freed == Freed::No {
                let (summary, detail) = conflict(&holder);
                plan.diags.push(name_conflict(
                    self,
                    summary,
                    detail,
                    at.clone(),
                    self.inventory.names.was_refreshed(&holder),
                ));
                return;
            }
        }
    }
}
