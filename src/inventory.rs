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
pub struct Snapshot<T> {
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
pub struct Inventory {
    providers: Mutex<Option<Snapshot<WorkloadIdentityProvider>>>,
    // One lock per provider, so listings of different providers run in parallel.
    rules: std::sync::Mutex<HashMap<String, Arc<Mutex<Option<RuleSnapshot>>>>>,
    /// Rule deletes this process carries out.
    pub rule_deletes: RuleDeletes,
}

impl Inventory {
    /// Runs `f` on the provider snapshot, listing it first if needed.
    pub async fn providers<R>(
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

    pub async fn provider(
        &self,
        client: &Client,
        id: &str,
    ) -> Result<Option<WorkloadIdentityProvider>, ApiError> {
        self.providers(client, |s| s.objects.get(id).cloned()).await
    }

    /// Records a provider this process created or updated.
    pub async fn put_provider(&self, p: WorkloadIdentityProvider) {
        if let Some(s) = self.providers.lock().await.as_mut() {
            s.objects.insert(p.id.clone(), p);
        }
    }

    pub async fn remove_provider(&self, id: &str) {
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
    pub async fn rules<R>(
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

    pub async fn rule(
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

    pub async fn put_rule(&self, r: FederationRule) {
        let slot = self.rules_slot(&r.workload_identity_provider_id);
        if let Some(Some(s)) = slot.lock().await.as_mut() {
            s.objects.insert(r.id.clone(), r);
        }
    }

    pub async fn remove_rule(&self, provider_id: &str, rule_id: &str) {
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
pub struct RuleDeletes {
    /// Provider id → (deletes in flight, deletes begun so far).
    counts: std::sync::Mutex<HashMap<String, (usize, usize)>>,
    changed: tokio::sync::Notify,
}

/// Ends one rule delete when dropped.
pub struct RuleDelete<'a> {
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
    pub fn begin(&self, provider_id: &str) -> RuleDelete<'_> {
        self.update(provider_id, |c| {
            c.0 += 1;
            c.1 += 1;
        });
        RuleDelete {
            deletes: self,
            provider_id: provider_id.to_string(),
        }
    }

    /// How many rule deletes of `provider_id` have begun so far.
    pub fn begun(&self, provider_id: &str) -> usize {
        self.get(provider_id).1
    }

    /// Waits until more than `seen` rule deletes of `provider_id` have begun
    /// and none is in flight any more; returns the new count. `None` when
    /// `grace` passes with none in flight and none begun: nothing in this
    /// run is deleting that provider's rules.
    pub async fn settled(&self, provider_id: &str, seen: usize, grace: Duration) -> Option<usize> {
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
