//! Per-process listing cache. The first read of a kind lists it once (one
//! paginated list for providers, one per parent provider for mappings) and
//! later reads are served from that snapshot, so refreshing N mappings costs
//! about one list call instead of N GETs. Writes through this process update
//! the snapshot in place.
//!
//! Each snapshot also remembers the ids it first saw: the limit ledger's
//! baseline, which must not move with this process's own writes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use openai_admin::Client;
use openai_admin::error::ApiError;
use openai_admin::models::{FederationRule, WorkloadIdentityProvider};

/// One listed collection.
#[derive(Clone, Debug, Default)]
pub(crate) struct Snapshot<T> {
    /// Objects as this process knows them now.
    pub objects: BTreeMap<String, T>,
    /// Ids present when the collection was first listed.
    pub baseline: BTreeSet<String>,
}

impl<T> Snapshot<T> {
    fn new(items: impl IntoIterator<Item = (String, T)>) -> Self {
        let objects: BTreeMap<String, T> = items.into_iter().collect();
        let baseline = objects.keys().cloned().collect();
        Snapshot { objects, baseline }
    }
}

/// Rules of one provider; `None` when the provider itself does not exist.
type RuleSnapshot = Option<Snapshot<FederationRule>>;

#[derive(Default)]
pub(crate) struct Inventory {
    providers: Mutex<Option<Snapshot<WorkloadIdentityProvider>>>,
    // One lock per provider, so listings of different providers run in parallel.
    rules: std::sync::Mutex<HashMap<String, Arc<Mutex<Option<RuleSnapshot>>>>>,
    /// Rule deletes this process carries out.
    pub rule_deletes: RuleDeletes,
    /// Names planned in this process, for the uniqueness checks.
    pub names: PlannedNames,
    /// The service account ids of each project, as last listed (`None`: no
    /// such project), for the reference checks of mapping creates.
    accounts: std::sync::Mutex<HashMap<String, AccountsSlot>>,
    /// Providers this process created, with the issuer its own writes gave
    /// them.
    created_here: std::sync::Mutex<HashMap<String, String>>,
}

/// One project's service account ids, once listed (`Some(None)`: no such
/// project).
type AccountsSlot = Arc<Mutex<Option<Option<BTreeSet<String>>>>>;

/// How a name held by an existing object becomes free in this run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Freed {
    /// The object is destroyed or replaced.
    Going,
    /// A plan renames it, to this name.
    Renamed(String),
    No,
}

/// Whether a service account exists, by [`Inventory::account_exists`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AccountLookup {
    Found,
    /// The project exists; the account is not among its service accounts.
    NoSuchAccount,
    NoSuchProject,
}

impl Inventory {
    /// Runs `f` on the provider snapshot, listing it first if needed.
    pub(crate) async fn providers<R>(
        &self,
        client: &Client,
        f: impl FnOnce(&mut Snapshot<WorkloadIdentityProvider>) -> R,
    ) -> Result<R, ApiError> {
        let mut guard = self.providers.lock().await;
        if guard.is_none() {
            let all = client.list_all_providers().await?;
            *guard = Some(Snapshot::new(all.into_iter().map(|p| (p.id.clone(), p))));
        }
        Ok(f(guard.as_mut().expect("listed above")))
    }

    pub(crate) async fn provider(
        &self,
        client: &Client,
        id: &str,
    ) -> Result<Option<WorkloadIdentityProvider>, ApiError> {
        self.providers(client, |s| s.objects.get(id).cloned()).await
    }

    /// The issuer of provider `id` when this process created it, as this
    /// process's own writes left it. No other Terraform run can hold a
    /// provider made moments ago in its state, so no other run changes it.
    pub(crate) fn issuer_created_here(&self, id: &str) -> Option<String> {
        self.created_here
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Records a provider this process created or updated.
    pub(crate) async fn put_provider(&self, p: WorkloadIdentityProvider) {
        if let Some(issuer) = self
            .created_here
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&p.id)
        {
            issuer.clone_from(&p.issuer);
        }
        if let Some(s) = self.providers.lock().await.as_mut() {
            s.objects.insert(p.id.clone(), p);
        }
    }

    /// Whether service account `account` exists in project `project`. A
    /// project's accounts are listed once per process; a miss lists them
    /// again before it is believed, since the account may have been created
    /// since (by this run's `openai_project_service_account`, or by hand).
    pub(crate) async fn account_exists(
        &self,
        client: &Client,
        project: &str,
        account: &str,
    ) -> Result<AccountLookup, ApiError> {
        let slot = self
            .accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(project.to_string())
            .or_default()
            .clone();
        let mut listed = slot.lock().await;
        let lookup = |l: &Option<BTreeSet<String>>| match l {
            None => AccountLookup::NoSuchProject,
            Some(ids) if ids.contains(account) => AccountLookup::Found,
            Some(_) => AccountLookup::NoSuchAccount,
        };
        if let Some(l) = listed.as_ref()
            && lookup(l) == AccountLookup::Found
        {
            return Ok(AccountLookup::Found);
        }
        let fresh = match client.list_all_service_accounts(project).await {
            Ok(all) => Some(all.into_iter().map(|a| a.id).collect::<BTreeSet<_>>()),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        let out = lookup(&fresh);
        *listed = Some(fresh);
        Ok(out)
    }

    /// Records a provider this process created: it has no rules yet, so
    /// the first look at them needs no listing (rules others add later are
    /// not seen, as with every snapshot).
    pub(crate) async fn created_provider(&self, p: WorkloadIdentityProvider) {
        self.created_here
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(p.id.clone(), p.issuer.clone());
        let slot = self.rules_slot(&p.id);
        let mut rules = slot.lock().await;
        if rules.is_none() {
            *rules = Some(Some(Snapshot::new([])));
        }
        drop(rules);
        self.put_provider(p).await;
    }

    pub(crate) async fn remove_provider(&self, id: &str) {
        if let Some(s) = self.providers.lock().await.as_mut() {
            s.objects.remove(id);
        }
        self.rules_slot(id).lock().await.replace(None);
    }

    fn rules_slot(&self, provider_id: &str) -> Arc<Mutex<Option<RuleSnapshot>>> {
        self.rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(provider_id.to_string())
            .or_default()
            .clone()
    }

    /// Runs `f` on the rules of one provider (`None`: the provider is gone),
    /// listing them first if needed.
    pub(crate) async fn rules<R>(
        &self,
        client: &Client,
        provider_id: &str,
        f: impl FnOnce(Option<&mut Snapshot<FederationRule>>) -> R,
    ) -> Result<R, ApiError> {
        let slot = self.rules_slot(provider_id);
        let mut guard = slot.lock().await;
        if guard.is_none() {
            let listed = match client.list_all_rules(provider_id, None).await {
                Ok(all) => Some(Snapshot::new(all.into_iter().map(|r| (r.id.clone(), r)))),
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(e),
            };
            *guard = Some(listed);
        }
        Ok(f(guard.as_mut().expect("listed above").as_mut()))
    }

    pub(crate) async fn rule(
        &self,
        client: &Client,
        provider_id: &str,
        rule_id: &str,
    ) -> Result<Option<FederationRule>, ApiError> {
        self.rules(client, provider_id, |s| {
            s.and_then(|s| s.objects.get(rule_id).cloned())
        })
        .await
    }

    pub(crate) async fn put_rule(&self, r: FederationRule) {
        let slot = self.rules_slot(&r.workload_identity_provider_id);
        if let Some(Some(s)) = slot.lock().await.as_mut() {
            s.objects.insert(r.id.clone(), r);
        }
    }

    pub(crate) async fn remove_rule(&self, provider_id: &str, rule_id: &str) {
        let slot = self.rules_slot(provider_id);
        if let Some(Some(s)) = slot.lock().await.as_mut() {
            s.objects.remove(rule_id);
        }
    }
}

/// Deletes of mappings this process is carrying out, per provider id: a
/// provider's delete that OpenAI refuses because rules remain waits for them
/// when they are being deleted in this run (Terraform deletes a provider and
/// the mappings that name it by a literal id in parallel).
#[derive(Default)]
pub(crate) struct RuleDeletes {
    /// Provider id → (deletes in flight, deletes begun so far).
    counts: std::sync::Mutex<HashMap<String, (usize, usize)>>,
    changed: tokio::sync::Notify,
}

/// Ends one rule delete when dropped.
pub(crate) struct RuleDelete<'a> {
    deletes: &'a RuleDeletes,
    provider_id: String,
}

impl Drop for RuleDelete<'_> {
    fn drop(&mut self) {
        self.deletes.update(&self.provider_id, |c| c.0 -= 1);
    }
}

impl RuleDeletes {
    fn update(&self, provider_id: &str, f: impl FnOnce(&mut (usize, usize))) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        f(counts.entry(provider_id.to_string()).or_default());
        drop(counts);
        self.changed.notify_waiters();
    }

    fn get(&self, provider_id: &str) -> (usize, usize) {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.get(provider_id).copied().unwrap_or_default()
    }

    /// Marks a delete of a rule of `provider_id` as in flight until the guard drops.
    pub(crate) fn begin(&self, provider_id: &str) -> RuleDelete<'_> {
        self.update(provider_id, |c| {
            c.0 += 1;
            c.1 += 1;
        });
        RuleDelete {
            deletes: self,
            provider_id: provider_id.to_string(),
        }
    }

    /// Waits until more than `seen` rule deletes of `provider_id` have begun
    /// and none is in flight any more; returns the new count. `None` when
    /// `grace` passes with none in flight and none begun: nothing in this
    /// run is deleting that provider's rules.
    pub(crate) async fn settled(
        &self,
        provider_id: &str,
        seen: usize,
        grace: Duration,
    ) -> Option<usize> {
        loop {
            // Register before reading, so a change in between wakes us.
            let notified = self.changed.notified();
            let (in_flight, begun) = self.get(provider_id);
            if begun > seen && in_flight == 0 {
                return Some(begun);
            }
            if tokio::time::timeout(grace, notified).await.is_err() && in_flight == 0 {
                let (in_flight, begun) = self.get(provider_id);
                if begun > seen && in_flight == 0 {
                    return Some(begun);
                }
                if in_flight == 0 {
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_delete_waits_for_rule_deletes_in_flight_and_not_for_others() {
        let d = std::sync::Arc::new(RuleDeletes::default());
        let grace = Duration::from_millis(50);
        assert_eq!(d.settled("wip_a", 0, grace).await, None, "nothing deletes");
        let guard = d.begin("wip_a");
        let waiter = {
            let d = d.clone();
            tokio::spawn(async move { d.settled("wip_a", 0, Duration::from_millis(50)).await })
        };
        // Still in flight after several graces: the waiter keeps waiting.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiter.is_finished());
        drop(guard);
        assert_eq!(waiter.await.unwrap(), Some(1));
        // Another provider's rules are not this one's.
        let _other = d.begin("wip_b");
        assert_eq!(d.settled("wip_a", 1, grace).await, None);
    }
}

/// Names planned in this process, for the uniqueness checks at plan:
/// provider names are unique in the organization, mapping names within
/// their provider. A name conflicts with another create or rename planned
/// in this run, or with an existing object that this run does not remove.
///
/// Terraform plans in no fixed order, so a destroy (or the delete of a
/// replaced object) that frees a name may be planned after the create that
/// reuses it: [`PlannedNames::wait_freed`] gives it a moment, as the limit
/// ledger does. In the apply walk Terraform does not plan destroys again; it
/// applies them in parallel, and `delete` records the object as going away
/// when it starts, which wakes the same wait.
#[derive(Default)]
pub(crate) struct PlannedNames {
    inner: std::sync::Mutex<NamesInner>,
    changed: tokio::sync::Notify,
}

#[derive(Default)]
struct NamesInner {
    /// (scope, name) → who claimed it: the planned object's arguments.
    claimed: HashMap<(String, String), String>,
    /// Ids of objects destroyed or replaced in this run.
    going: BTreeSet<String>,
    /// Ids of objects this process refreshed: objects of this configuration.
    refreshed: BTreeSet<String>,
    /// Objects a plan renames, by id: (scope, old name, new name).
    renamed: HashMap<String, (String, String, String)>,
}

impl PlannedNames {
    fn with<R>(&self, f: impl FnOnce(&mut NamesInner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Claims `name` in `scope` for the object whose arguments are
    /// `claimant`; `false` when an object with other arguments claimed it
    /// first. Terraform plans a replacement twice in one walk (as an update
    /// that requires replacement, then as a create), and both plans carry
    /// the same arguments, so an object never conflicts with itself. Two
    /// objects with identical arguments are not told apart; the API refuses
    /// the second at apply.
    pub(crate) fn claim(&self, scope: &str, name: &str, claimant: &str) -> bool {
        let key = (scope.to_string(), name.to_string());
        self.with(|n| match n.claimed.get(&key) {
            Some(by) => by == claimant,
            None => {
                n.claimed.insert(key, claimant.to_string());
                true
            }
        })
    }

    /// Records that the object `id` goes away in this run.
    pub(crate) fn going(&self, id: &str) {
        self.with(|n| n.going.insert(id.to_string()));
        self.changed.notify_waiters();
    }

    /// Records that this process refreshed the object `id` (ReadResource).
    pub(crate) fn refreshed(&self, id: &str) {
        self.with(|n| n.refreshed.insert(id.to_string()));
    }

    /// Whether this process refreshed `id`, so that it belongs to this
    /// configuration: Terraform 1.15 plans the replacement of a tainted
    /// object as a plain create, with nothing that names the old one, but it
    /// refreshes the old one first.
    pub(crate) fn was_refreshed(&self, id: &str) -> bool {
        self.with(|n| n.refreshed.contains(id))
    }

    /// Records that a plan renames the object `id` from `from` to `to`:
    /// its old name is free once that update is applied.
    pub(crate) fn renamed(&self, scope: &str, id: &str, from: &str, to: &str) {
        self.with(|n| {
            n.renamed.insert(
                id.to_string(),
                (scope.to_string(), from.to_string(), to.to_string()),
            )
        });
        self.changed.notify_waiters();
    }

    /// Whether renames planned in `scope` lead from the name `start` back to
    /// `back_to` (a cycle of renames, which no order of writes can apply).
    pub(crate) fn renames_lead_to(&self, scope: &str, start: &str, back_to: &str) -> bool {
        self.with(|n| {
            let mut name = start.to_string();
            // A chain is at most as long as the renames recorded.
            for _ in 0..=n.renamed.len() {
                if name == back_to {
                    return true;
                }
                match n
                    .renamed
                    .values()
                    .find(|(s, from, _)| s == scope && *from == name)
                {
                    Some((_, _, to)) => name = to.clone(),
                    None => return false,
                }
            }
            false
        })
    }

    /// Whether the name `id` holds is (or within `settle` becomes) free in
    /// this run: the object goes away, or a plan renames it.
    pub(crate) async fn wait_freed(&self, id: &str, settle: Duration) -> Freed {
        let deadline = tokio::time::Instant::now() + settle;
        let now = || {
            self.with(|n| {
                if n.going.contains(id) {
                    Freed::Going
                } else if let Some((_, _, to)) = n.renamed.get(id) {
                    Freed::Renamed(to.clone())
                } else {
                    Freed::No
                }
            })
        };
        loop {
            let notified = self.changed.notified();
            let freed = now();
            if freed != Freed::No {
                return freed;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return now();
            }
        }
    }

    pub(crate) fn is_going(&self, id: &str) -> bool {
        self.with(|n| n.going.contains(id))
    }
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn a_name_is_claimed_once_per_scope_by_one_object() {
        let n = PlannedNames::default();
        assert!(n.claim("providers", "a", "issuer 1"));
        assert!(!n.claim("providers", "a", "issuer 2"), "two objects");
        assert!(
            n.claim("providers", "a", "issuer 1"),
            "one object planned twice"
        );
        assert!(n.claim("rules:wip_1", "a", "issuer 2"), "another scope");
    }

    #[tokio::test]
    async fn a_destroy_planned_a_moment_later_frees_the_name() {
        let n = std::sync::Arc::new(PlannedNames::default());
        assert_eq!(
            n.wait_freed("wip_1", Duration::from_millis(20)).await,
            Freed::No
        );
        let waiter = {
            let n = n.clone();
            tokio::spawn(async move { n.wait_freed("wip_1", Duration::from_secs(5)).await })
        };
        tokio::task::yield_now().await;
        n.going("wip_1");
        assert_eq!(waiter.await.unwrap(), Freed::Going);
    }
}
