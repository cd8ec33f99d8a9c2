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
