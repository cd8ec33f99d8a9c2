//! The emulator's organization: every object, the creation sequence counter
//! and the tombstones of deleted objects, plus the rules that keep them
//! consistent (limits, uniqueness, references). Pure data: no I/O, no locks;
//! `mod.rs` wraps it in a mutex and persists it after each write.

use serde::{Deserialize, Serialize};

mod api_keys;
pub use api_keys::{KeyUser, StoredApiKey, StoredOwner};

use super::errors::ApiError;
use super::pagination::{self, Item};
use openai_admin::models::{
    CreateProjectRequest, CreateProviderRequest, CreateRuleRequest, CreateServiceAccountRequest,
    CreatedServiceAccount, Deleted, FederationRule, ListPage, ListParams, MAX_PROVIDERS_PER_ORG,
    MAX_RULES_PER_PROVIDER, OBJECT_PROJECT, OBJECT_PROVIDER, OBJECT_PROVIDER_DELETED, OBJECT_RULE,
    OBJECT_RULE_DELETED, OBJECT_SERVICE_ACCOUNT, OBJECT_SERVICE_ACCOUNT_DELETED, Project,
    SERVICE_ACCOUNT_ROLE_NONE, ServiceAccount, ServiceAccountApiKey, UpdateProjectRequest,
    UpdateProviderRequest, UpdateRuleRequest, UpdateServiceAccountRequest,
    WorkloadIdentityProvider,
};

const OBJECT_SERVICE_ACCOUNT_API_KEY: &str = "organization.project.service_account.api_key";

/// An object with its creation sequence number (the list order).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry<T> {
    pub seq: u64,
    pub obj: T,
}

/// A project service account remembers its project (not part of the wire object).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredServiceAccount {
    pub project_id: String,
    pub account: ServiceAccount,
}

/// A deleted object's id and position, so `after=<deleted id>` keeps paging.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tombstone {
    pub id: String,
    pub seq: u64,
    /// The parent the object was listed under (provider or project), if any.
    pub parent: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Data {
    pub next_seq: u64,
    pub providers: Vec<Entry<WorkloadIdentityProvider>>,
    pub rules: Vec<Entry<FederationRule>>,
    pub projects: Vec<Entry<Project>>,
    pub service_accounts: Vec<Entry<StoredServiceAccount>>,
    /// Project API keys (`store/api_keys.rs`); absent in older state files.
    #[serde(default)]
    pub api_keys: Vec<Entry<StoredApiKey>>,
    pub tombstones: Vec<Tombstone>,
}

fn random_hex(len: usize) -> String {
    let mut s = String::with_capacity(len);
    while s.len() < len {
        s.push_str(&format!("{:032x}", rand::random::<u128>()));
    }
    s.truncate(len);
    s
}

fn items<T, F>(entries: &[Entry<T>], keep: F) -> Vec<Item<'_, T>>
where
    F: Fn(&T) -> Option<&str>,
{
    entries
        .iter()
        .filter_map(|e| {
            keep(&e.obj).map(|id| Item {
                seq: e.seq,
                id,
                obj: &e.obj,
            })
        })
        .collect()
}

impl Data {
    fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn new_id(&self, prefix: &str) -> String {
        loop {
            let id = format!("{prefix}{}", random_hex(24));
            if !self.id_in_use(&id) {
                return id;
            }
        }
    }

    fn id_in_use(&self, id: &str) -> bool {
        self.providers.iter().any(|e| e.obj.id == id)
            || self.rules.iter().any(|e| e.obj.id == id)
            || self.projects.iter().any(|e| e.obj.id == id)
            || self.service_accounts.iter().any(|e| e.obj.account.id == id)
            || self.api_keys.iter().any(|e| e.obj.id == id)
            || self.tombstones.iter().any(|t| t.id == id)
    }

    /// Resolves an `after` id to its sequence number among `live` objects or
    /// the tombstones under `parent`.
    fn cursor(
        &self,
        after: Option<&str>,
        live: &[Item<'_, impl Sized>],
        parent: Option<&str>,
        prefix: &str,
    ) -> Result<Option<u64>, ApiError> {
        let Some(after) = after else { return Ok(None) };
        if let Some(item) = live.iter().find(|i| i.id == after) {
            return Ok(Some(item.seq));
        }
        self.tombstones
            .iter()
            .find(|t| t.id == after && t.id.starts_with(prefix) && t.parent.as_deref() == parent)
            .map(|t| Some(t.seq))
            .ok_or_else(|| pagination::unknown_cursor(after))
    }

    fn bury(&mut self, id: String, seq: u64, parent: Option<String>) {
        self.tombstones.push(Tombstone { id, seq, parent });
    }

    // ------------------------------------------------------------ providers

    pub fn provider(&self, id: &str) -> Option<&WorkloadIdentityProvider> {
        self.providers
            .iter()
            .find(|e| e.obj.id == id)
            .map(|e| &e.obj)
    }

    fn provider_or_404(&self, id: &str) -> Result<&WorkloadIdentityProvider, ApiError> {
        self.provider(id)
            .ok_or_else(|| ApiError::not_found("workload identity provider", id))
    }

    fn check_provider_name(&self, name: &str, except: Option<&str>) -> Result<(), ApiError> {
        let taken = self
            .providers
            .iter()
            .any(|e| e.obj.name == name && Some(e.obj.id.as_str()) != except);
        if taken {
            return Err(ApiError::conflict(
                Some("name"),
                format!(
                    "A workload identity provider named '{name}' already exists in this organization; provider names must be unique."
                ),
            ));
        }
        Ok(())
    }

    pub fn create_provider(
        &mut self,
        req: CreateProviderRequest,
        now: i64,
    ) -> Result<WorkloadIdentityProvider, ApiError> {
        if self.providers.len() >= MAX_PROVIDERS_PER_ORG {
            return Err(ApiError::limit_exceeded(format!(
                "This organization already has {} workload identity providers, the limit of {MAX_PROVIDERS_PER_ORG} providers per organization. Delete an unused provider first.",
                self.providers.len()
            )));
        }
        self.check_provider_name(&req.name, None)?;
        let obj = WorkloadIdentityProvider {
            object: OBJECT_PROVIDER.to_owned(),
            id: self.new_id("wip_"),
            name: req.name,
            description: req.description,
            kind: req.kind,
            issuer: req.issuer,
            audience: req.audience,
            // Decided (`docs/reference/openai-api.md#decisions-where-openai-is-silent`): `enabled`
            // defaults to true, `verification` to discovery.
            enabled: req.enabled.unwrap_or(true),
            verification: req.verification.unwrap_or_default(),
            attribute_transformations: req.attribute_transformations.unwrap_or_default(),
            created_at: now,
            updated_at: now,
        };
        let seq = self.next_seq();
        self.providers.push(Entry {
            seq,
            obj: obj.clone(),
        });
        Ok(obj)
    }

    pub fn update_provider(
        &mut self,
        id: &str,
        req: UpdateProviderRequest,
        now: i64,
    ) -> Result<WorkloadIdentityProvider, ApiError> {
        self.provider_or_404(id)?;
        if let Some(name) = &req.name {
            self.check_provider_name(name, Some(id))?;
        }
        let entry = self
            .providers
            .iter_mut()
            .find(|e| e.obj.id == id)
            .expect("checked above");
        let p = &mut entry.obj;
        if let Some(v) = req.name {
            p.name = v;
        }
        if let Some(v) = req.issuer {
            p.issuer = v;
        }
        if let Some(v) = req.audience {
            p.audience = v;
        }
        if let Some(v) = req.description {
            p.description = v;
        }
        if let Some(v) = req.enabled {
            p.enabled = v;
        }
        if let Some(v) = req.verification {
            p.verification = v;
        }
        if let Some(v) = req.attribute_transformations {
            p.attribute_transformations = v;
        }
        p.updated_at = now;
        Ok(p.clone())
    }

    pub fn delete_provider(&mut self, id: &str) -> Result<Deleted, ApiError> {
        self.provider_or_404(id)?;
        let rules = self
            .rules
            .iter()
            .filter(|e| e.obj.workload_identity_provider_id == id)
            .count();
        if rules > 0 {
            return Err(ApiError::conflict(
                None,
                format!(
                    "Workload identity provider '{id}' still has {rules} federation rule(s); delete its federation rules first."
                ),
            ));
        }
        let pos = self
            .providers
            .iter()
            .position(|e| e.obj.id == id)
            .expect("checked");
        let entry = self.providers.remove(pos);
        self.bury(entry.obj.id, entry.seq, None);
        Ok(Deleted {
            object: OBJECT_PROVIDER_DELETED.to_owned(),
            id: id.to_owned(),
            deleted: true,
        })
    }

    pub fn get_provider(&self, id: &str) -> Result<WorkloadIdentityProvider, ApiError> {
        self.provider_or_404(id).cloned()
    }

    pub fn list_providers(
        &self,
        params: &ListParams,
    ) -> Result<ListPage<WorkloadIdentityProvider>, ApiError> {
        let live = items(&self.providers, |p| Some(p.id.as_str()));
        let cursor = self.cursor(params.after.as_deref(), &live, None, "wip_")?;
        Ok(pagination::page(live, cursor, params))
    }

    // ------------------------------------------------------------ federation rules

    fn rule_or_404(&self, provider_id: &str, rule_id: &str) -> Result<&FederationRule, ApiError> {
        self.provider_or_404(provider_id)?;
        self.rules
            .iter()
            .map(|e| &e.obj)
            .find(|r| r.id == rule_id && r.workload_identity_provider_id == provider_id)
            .ok_or_else(|| ApiError::not_found("federation rule", rule_id))
    }

    fn check_rule_name(
        &self,
        provider_id: &str,
        name: Option<&str>,
        except: Option<&str>,
    ) -> Result<(), ApiError> {
        // An empty name (which the rule schema allows) names nothing.
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return Ok(());
        };
        let taken = self.rules.iter().any(|e| {
            e.obj.workload_identity_provider_id == provider_id
                && e.obj.name.as_deref() == Some(name)
                && Some(e.obj.id.as_str()) != except
        });
        if taken {
            return Err(ApiError::conflict(
                Some("name"),
                format!(
                    "Workload identity provider '{provider_id}' already has a federation rule named '{name}'; rule names must be unique within a provider."
                ),
            ));
        }
        Ok(())
    }

    /// Rules of one provider for one service account (for the token exchange).
    pub fn rules_for(&self, provider_id: &str, service_account_id: &str) -> Vec<FederationRule> {
        self.rules
            .iter()
            .map(|e| &e.obj)
            .filter(|r| {
                r.workload_identity_provider_id == provider_id
                    && r.service_account_id == service_account_id
            })
            .cloned()
            .collect()
    }

    pub fn create_rule(
        &mut self,
        provider_id: &str,
        req: CreateRuleRequest,
        now: i64,
    ) -> Result<FederationRule, ApiError> {
        self.provider_or_404(provider_id)?;
        // A dangling reference in the body is a bad body (400 naming the
        // field), not a missing path object (404): the URL itself was right.
        if self.project(&req.project_id).is_none() {
            return Err(ApiError::invalid_value(
                "project_id",
                format!(
                    "Project '{}' does not exist in this organization.",
                    req.project_id
                ),
            ));
        }
        match self.service_account(&req.service_account_id) {
            Some(sa) if sa.project_id == req.project_id => {}
            _ => {
                return Err(ApiError::invalid_value(
                    "service_account_id",
                    format!(
                        "Service account '{}' does not exist in project '{}'; create it in that project first.",
                        req.service_account_id, req.project_id
                    ),
                ));
            }
        }
        let count = self
            .rules
            .iter()
            .filter(|e| e.obj.workload_identity_provider_id == provider_id)
            .count();
        if count >= MAX_RULES_PER_PROVIDER {
            return Err(ApiError::limit_exceeded(format!(
                "Workload identity provider '{provider_id}' already has {count} federation rules, the limit of {MAX_RULES_PER_PROVIDER} rules per provider. Delete an unused rule first."
            )));
        }
        self.check_rule_name(provider_id, req.name.as_deref(), None)?;
        let obj = FederationRule {
            object: OBJECT_RULE.to_owned(),
            id: self.new_id("wifr_"),
            workload_identity_provider_id: provider_id.to_owned(),
            name: req.name,
            description: req.description,
            enabled: req.enabled.unwrap_or(true),
            project_id: req.project_id,
            service_account_id: req.service_account_id,
            attribute_matchers: req.attribute_matchers,
            permissions: req.permissions.unwrap_or_default(),
            created_at: now,
            updated_at: now,
        };
        let seq = self.next_seq();
        self.rules.push(Entry {
            seq,
            obj: obj.clone(),
        });
        Ok(obj)
    }

    pub fn update_rule(
        &mut self,
        provider_id: &str,
        rule_id: &str,
        req: UpdateRuleRequest,
        now: i64,
    ) -> Result<FederationRule, ApiError> {
        self.rule_or_404(provider_id, rule_id)?;
        if let Some(Some(name)) = &req.name {
            self.check_rule_name(provider_id, Some(name), Some(rule_id))?;
        }
        let r = &mut self
            .rules
            .iter_mut()
            .find(|e| e.obj.id == rule_id)
            .expect("checked above")
            .obj;
        if let Some(v) = req.attribute_matchers {
            r.attribute_matchers = v;
        }
        if let Some(v) = req.name {
            r.name = v;
        }
        if let Some(v) = req.description {
            r.description = v;
        }
        if let Some(v) = req.enabled {
            r.enabled = v;
        }
        if let Some(v) = req.permissions {
            r.permissions = v;
        }
        r.updated_at = now;
        Ok(r.clone())
    }

    pub fn delete_rule(&mut self, provider_id: &str, rule_id: &str) -> Result<Deleted, ApiError> {
        self.rule_or_404(provider_id, rule_id)?;
        let pos = self
            .rules
            .iter()
            .position(|e| e.obj.id == rule_id)
            .expect("checked");
        let entry = self.rules.remove(pos);
        self.bury(entry.obj.id, entry.seq, Some(provider_id.to_owned()));
        Ok(Deleted {
            object: OBJECT_RULE_DELETED.to_owned(),
            id: rule_id.to_owned(),
            deleted: true,
        })
    }

    pub fn get_rule(&self, provider_id: &str, rule_id: &str) -> Result<FederationRule, ApiError> {
        self.rule_or_404(provider_id, rule_id).cloned()
    }

    pub fn list_rules(
        &self,
        provider_id: &str,
        params: &ListParams,
        service_account_id: Option<&str>,
    ) -> Result<ListPage<FederationRule>, ApiError> {
        self.provider_or_404(provider_id)?;
        let all = items(&self.rules, |r| {
            (r.workload_identity_provider_id == provider_id).then_some(r.id.as_str())
        });
        let cursor = self.cursor(params.after.as_deref(), &all, Some(provider_id), "wifr_")?;
        let filtered = all
            .into_iter()
            .filter(|i| service_account_id.is_none_or(|sa| i.obj.service_account_id == sa))
            .collect();
        Ok(pagination::page(filtered, cursor, params))
    }

    // ------------------------------------------------------------ projects

    pub fn project(&self, id: &str) -> Option<&Project> {
        self.projects
            .iter()
            .find(|e| e.obj.id == id)
            .map(|e| &e.obj)
    }

    pub fn create_project(&mut self, req: CreateProjectRequest, now: i64) -> Project {
        let obj = Project {
            object: OBJECT_PROJECT.to_owned(),
            id: self.new_id("proj_"),
            name: Some(req.name),
            created_at: now,
            archived_at: None,
            status: Some("active".to_owned()),
            external_key_id: req.external_key_id,
            residency: req.residency,
        };
        let seq = self.next_seq();
        self.projects.push(Entry {
            seq,
            obj: obj.clone(),
        });
        obj
    }

    pub fn get_project(&self, id: &str) -> Result<Project, ApiError> {
        self.project(id)
            .cloned()
            .ok_or_else(|| ApiError::not_found("project", id))
    }

    /// Renames a project or changes its external key (`geography` is
    /// accepted and, as OpenAI keeps it only for compatibility, not shown).
    pub fn update_project(
        &mut self,
        id: &str,
        req: UpdateProjectRequest,
    ) -> Result<Project, ApiError> {
        let entry = self
            .projects
            .iter_mut()
            .find(|e| e.obj.id == id)
            .ok_or_else(|| ApiError::not_found("project", id))?;
        if let Some(name) = req.name {
            entry.obj.name = Some(name);
        }
        if let Some(key) = req.external_key_id {
            entry.obj.external_key_id = key;
        }
        Ok(entry.obj.clone())
    }

    /// `POST /organization/projects/{id}/archive`: `status` becomes
    /// `archived` and `archived_at` is set (once; archiving again changes
    /// nothing).
    pub fn archive_project(&mut self, id: &str, now: i64) -> Result<Project, ApiError> {
        let entry = self
            .projects
            .iter_mut()
            .find(|e| e.obj.id == id)
            .ok_or_else(|| ApiError::not_found("project", id))?;
        if entry.obj.archived_at.is_none() {
            entry.obj.archived_at = Some(now);
            entry.obj.status = Some("archived".to_owned());
        }
        Ok(entry.obj.clone())
    }

    /// Archived projects are listed only with `include_archived`, as at OpenAI.
    pub fn list_projects(
        &self,
        params: &ListParams,
        include_archived: bool,
    ) -> Result<ListPage<Project>, ApiError> {
        let live = items(&self.projects, |p| {
            (include_archived || p.archived_at.is_none()).then_some(p.id.as_str())
        });
        let cursor = self.cursor(params.after.as_deref(), &live, None, "proj_")?;
        Ok(pagination::page(live, cursor, params))
    }

    // ------------------------------------------------------------ service accounts

    pub fn service_account(&self, id: &str) -> Option<&StoredServiceAccount> {
        self.service_accounts
            .iter()
            .find(|e| e.obj.account.id == id)
            .map(|e| &e.obj)
    }

    fn service_account_or_404(
        &self,
        project_id: &str,
        id: &str,
    ) -> Result<&ServiceAccount, ApiError> {
        if self.project(project_id).is_none() {
            return Err(ApiError::not_found("project", project_id));
        }
        self.service_account(id)
            .filter(|sa| sa.project_id == project_id)
            .map(|sa| &sa.account)
            .ok_or_else(|| ApiError::not_found("service account", id))
    }

    pub fn create_service_account(
        &mut self,
        project_id: &str,
        req: CreateServiceAccountRequest,
        now: i64,
    ) -> Result<CreatedServiceAccount, ApiError> {
        if self.project(project_id).is_none() {
            return Err(ApiError::not_found("project", project_id));
        }
        let account = ServiceAccount {
            object: OBJECT_SERVICE_ACCOUNT.to_owned(),
            id: self.new_id("svc_acct_"),
            name: req.name,
            // OpenAI gives a keyless account no role until one is set
            // (`docs/reference/openai-api.md#service-account-roles`).
            role: if req.create_service_account_only {
                SERVICE_ACCOUNT_ROLE_NONE.to_owned()
            } else {
                "member".to_owned()
            },
            created_at: now,
        };
        let seq = self.next_seq();
        self.service_accounts.push(Entry {
            seq,
            obj: StoredServiceAccount {
                project_id: project_id.to_owned(),
                account: account.clone(),
            },
        });
        // The key is a project API key like any other: listed, used by
        // `GET /v1/models`, deleted (`store/api_keys.rs`).
        let api_key = (!req.create_service_account_only).then(|| {
            let name = "Secret Key";
            let owner = StoredOwner::ServiceAccount(account.id.clone());
            let expires_at = req.expires_in_seconds.map(|s| now.saturating_add(s));
            let (id, value) =
                self.issue_api_key(project_id, owner, (name, "sk-svcacct-"), now, expires_at);
            ServiceAccountApiKey {
                object: OBJECT_SERVICE_ACCOUNT_API_KEY.to_owned(),
                value,
                name: name.to_owned(),
                created_at: now,
                id,
                expires_at,
                // The key's limit, as OpenAI's SDK models it: what was asked,
                // and whether it blocks requests now (never, in the emulator).
                spend_limit: req.spend_limit.clone().map(|mut limit| {
                    limit["enforcement"] = serde_json::json!({"status": "inactive"});
                    limit
                }),
            }
        });
        Ok(CreatedServiceAccount {
            object: account.object,
            id: account.id,
            name: account.name,
            role: account.role,
            created_at: account.created_at,
            api_key,
        })
    }

    pub fn get_service_account(
        &self,
        project_id: &str,
        id: &str,
    ) -> Result<ServiceAccount, ApiError> {
        self.service_account_or_404(project_id, id).cloned()
    }

    /// Sets the fields `req` carries; `f` leaves the data untouched on error.
    pub fn update_service_account(
        &mut self,
        project_id: &str,
        id: &str,
        req: UpdateServiceAccountRequest,
    ) -> Result<ServiceAccount, ApiError> {
        self.service_account_or_404(project_id, id)?;
        let entry = self
            .service_accounts
            .iter_mut()
            .find(|e| e.obj.account.id == id)
            .expect("checked");
        if let Some(name) = req.name {
            entry.obj.account.name = name;
        }
        if let Some(role) = req.role {
            entry.obj.account.role = role;
        }
        Ok(entry.obj.account.clone())
    }

    /// Rules that still reference the account are kept (as the real API is
    /// not documented to cascade); exchanges through them then fail.
    pub fn delete_service_account(
        &mut self,
        project_id: &str,
        id: &str,
    ) -> Result<Deleted, ApiError> {
        self.service_account_or_404(project_id, id)?;
        let pos = self
            .service_accounts
            .iter()
            .position(|e| e.obj.account.id == id)
            .expect("checked");
        let entry = self.service_accounts.remove(pos);
        // An account's keys go with it.
        self.remove_api_keys(|k| k.owner == StoredOwner::ServiceAccount(id.to_owned()));
        self.bury(entry.obj.account.id, entry.seq, Some(project_id.to_owned()));
        Ok(Deleted {
            object: OBJECT_SERVICE_ACCOUNT_DELETED.to_owned(),
            id: id.to_owned(),
            deleted: true,
        })
    }

    pub fn list_service_accounts(
        &self,
        project_id: &str,
        params: &ListParams,
    ) -> Result<ListPage<ServiceAccount>, ApiError> {
        if self.project(project_id).is_none() {
            return Err(ApiError::not_found("project", project_id));
        }
        let live: Vec<Item<'_, ServiceAccount>> = self
            .service_accounts
            .iter()
            .filter(|e| e.obj.project_id == project_id)
            .map(|e| Item {
                seq: e.seq,
                id: e.obj.account.id.as_str(),
                obj: &e.obj.account,
            })
            .collect();
        let cursor = self.cursor(
            params.after.as_deref(),
            &live,
            Some(project_id),
            "svc_acct_",
        )?;
        Ok(pagination::page(live, cursor, params))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider_req(name: &str) -> CreateProviderRequest {
        CreateProviderRequest {
            name: name.into(),
            issuer: "https://issuer.example.com".into(),
            audience: "aud".into(),
            kind: "oidc".into(),
            ..Default::default()
        }
    }

    #[test]
    fn provider_limit_and_uniqueness() {
        let mut d = Data::default();
        for i in 0..MAX_PROVIDERS_PER_ORG {
            d.create_provider(provider_req(&format!("p{i}")), 1)
                .unwrap();
        }
        let err = d.create_provider(provider_req("extra"), 1).unwrap_err();
        assert_eq!(err.code, Some("limit_exceeded"));
        let mut d = Data::default();
        d.create_provider(provider_req("same"), 1).unwrap();
        let err = d.create_provider(provider_req("same"), 1).unwrap_err();
        assert_eq!(err.status.as_u16(), 409);
        assert_eq!(err.param.as_deref(), Some("name"));
    }

    #[test]
    fn cursor_survives_deletion() {
        let mut d = Data::default();
        let ids: Vec<String> = (0..4)
            .map(|i| {
                d.create_provider(provider_req(&format!("p{i}")), 1)
                    .unwrap()
                    .id
            })
            .collect();
        d.delete_provider(&ids[2]).unwrap();
        let params = ListParams {
            after: Some(ids[2].clone()),
            ..Default::default()
        };
        let page = d.list_providers(&params).unwrap();
        let got: Vec<&str> = page.data.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(got, vec![ids[1].as_str(), ids[0].as_str()]);
        let params = ListParams {
            after: Some("wip_nope".into()),
            ..Default::default()
        };
        assert_eq!(
            d.list_providers(&params).unwrap_err().param.as_deref(),
            Some("after")
        );
    }
}
