//! One typed method per Admin API endpoint: workload identity providers,
//! their federation rules, projects and project service accounts.
//! Paths follow `docs/reference/openai-api.md#endpoints`; projects and service accounts
//! follow the general OpenAI Admin API (`/organization/projects/...`).

use reqwest::{Method, StatusCode};

use crate::client::{Client, Outcome, Request, admin_result};
use crate::error::ApiError;
use crate::models::{
    CreateProjectRequest, CreateProviderRequest, CreateRuleRequest, CreateServiceAccountRequest,
    CreatedServiceAccount, Deleted, FederationRule, ListPage, ListParams, ListRulesParams,
    OBJECT_PROJECT_API_KEY_DELETED, OBJECT_PROVIDER_DELETED, OBJECT_RULE_DELETED,
    OBJECT_SERVICE_ACCOUNT_DELETED, Project, ProjectApiKey, ServiceAccount, SortOrder,
    UpdateProviderRequest, UpdateRuleRequest, UpdateServiceAccountRequest,
    WorkloadIdentityProvider,
};
use crate::pagination::{PAGE_SIZE, collect_all};
use crate::recovery::rule_matches;

const ORG: &str = "organization";
const PROVIDERS: &str = "workload_identity_providers";
const RULES: &str = "federation_rules";
const PROJECTS: &str = "projects";
const SERVICE_ACCOUNTS: &str = "service_accounts";
const API_KEYS: &str = "api_keys";

/// Refuses an empty id: `.../providers/` would address the collection.
fn id<'a>(what: &'static str, value: &'a str) -> Result<&'a str, ApiError> {
    if value.is_empty() {
        Err(ApiError::EmptyId { what })
    } else if value == "." || value == ".." {
        // URL path normalisation would drop it and address another endpoint.
        Err(ApiError::PathStepId {
            what,
            id: value.to_owned(),
        })
    } else {
        Ok(value)
    }
}

fn list_query(params: &ListParams) -> Vec<(&'static str, String)> {
    let mut q = Vec::new();
    if let Some(after) = &params.after {
        q.push(("after", after.clone()));
    }
    if let Some(limit) = params.limit {
        q.push(("limit", limit.to_string()));
    }
    if let Some(order) = params.order {
        let order = match order {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        };
        q.push(("order", order.to_owned()));
    }
    q
}

fn page_params(after: Option<String>) -> ListParams {
    ListParams {
        after,
        limit: Some(PAGE_SIZE),
        order: None,
    }
}

impl Client {
    // ------------------------------------------------------------ providers

    pub async fn create_provider(
        &self,
        body: &CreateProviderRequest,
    ) -> Result<WorkloadIdentityProvider, ApiError> {
        let req = self
            .admin_request(Method::POST, &[ORG, PROVIDERS])?
            .json(body)?;
        let name = body.name.as_str();
        let what = format!("workload identity provider {name:?}");
        // Provider names are unique in the organization.
        self.create(&req, &what, || async move {
            let all = self.list_all_providers().await?;
            Ok(all.into_iter().filter(|p| p.name == name).collect())
        })
        .await
    }

    pub async fn list_providers(
        &self,
        params: &ListParams,
    ) -> Result<ListPage<WorkloadIdentityProvider>, ApiError> {
        let req = self
            .admin_request(Method::GET, &[ORG, PROVIDERS])?
            .query(&list_query(params));
        self.call(&req).await
    }

    /// Every provider of the organization, walking all pages.
    pub async fn list_all_providers(&self) -> Result<Vec<WorkloadIdentityProvider>, ApiError> {
        collect_all("GET /organization/workload_identity_providers", |after| {
            let params = page_params(after);
            async move { self.list_providers(&params).await }
        })
        .await
    }

    pub async fn get_provider(
        &self,
        provider_id: &str,
    ) -> Result<WorkloadIdentityProvider, ApiError> {
        let pid = id("workload identity provider", provider_id)?;
        let req = self.admin_request(Method::GET, &[ORG, PROVIDERS, pid])?;
        self.call(&req).await
    }

    /// Partial update: only fields set in `body` change. Safe to retry since
    /// it sets absolute values.
    pub async fn update_provider(
        &self,
        provider_id: &str,
        body: &UpdateProviderRequest,
    ) -> Result<WorkloadIdentityProvider, ApiError> {
        let pid = id("workload identity provider", provider_id)?;
        let req = self
            .admin_request(Method::POST, &[ORG, PROVIDERS, pid])?
            .json(body)?;
        self.call(&req).await
    }

    /// Fails with a 409 while the provider still has federation rules.
    pub async fn delete_provider(&self, provider_id: &str) -> Result<Deleted, ApiError> {
        let pid = id("workload identity provider", provider_id)?;
        let req = self.admin_request(Method::DELETE, &[ORG, PROVIDERS, pid])?;
        self.delete(&req, OBJECT_PROVIDER_DELETED, pid).await
    }

    // ------------------------------------------------------------ federation rules

    pub async fn create_rule(
        &self,
        provider_id: &str,
        body: &CreateRuleRequest,
    ) -> Result<FederationRule, ApiError> {
        let pid = id("workload identity provider", provider_id)?;
        let req = self
            .admin_request(Method::POST, &[ORG, PROVIDERS, pid, RULES])?
            .json(body)?;
        let what = match &body.name {
            Some(name) => format!("federation rule {name:?} of provider {pid}"),
            None => format!(
                "a federation rule of provider {pid} for service account {}",
                body.service_account_id
            ),
        };
        self.create(&req, &what, || async move {
            let rules = self
                .list_all_rules(pid, Some(&body.service_account_id))
                .await?;
            Ok(rules
                .into_iter()
                .filter(|r| rule_matches(r, body))
                .collect())
        })
        .await
    }

    pub async fn list_rules(
        &self,
        provider_id: &str,
        params: &ListRulesParams,
    ) -> Result<ListPage<FederationRule>, ApiError> {
        let pid = id("workload identity provider", provider_id)?;
        let mut query = list_query(&params.page);
        if let Some(sa) = &params.service_account_id {
            query.push(("service_account_id", sa.clone()));
        }
        let req = self
            .admin_request(Method::GET, &[ORG, PROVIDERS, pid, RULES])?
            .query(&query);
        self.call(&req).await
    }

    /// Every rule of a provider (optionally only those bound to one service
    /// account), walking all pages.
    pub async fn list_all_rules(
        &self,
        provider_id: &str,
        service_account_id: Option<&str>,
    ) -> Result<Vec<FederationRule>, ApiError> {
        let endpoint =
            format!("GET /organization/workload_identity_providers/{provider_id}/federation_rules");
        let rules = collect_all(&endpoint, |after| {
            let params = ListRulesParams {
                page: page_params(after),
                service_account_id: service_account_id.map(str::to_owned),
            };
            async move { self.list_rules(provider_id, &params).await }
        })
        .await?;
        // Filter again locally so callers can rely on it either way.
        Ok(match service_account_id {
            Some(sa) => rules
                .into_iter()
                .filter(|r| r.service_account_id == sa)
                .collect(),
            None => rules,
        })
    }

    pub async fn get_rule(
        &self,
        provider_id: &str,
        rule_id: &str,
    ) -> Result<FederationRule, ApiError> {
        let pid = id("workload identity provider", provider_id)?;
        let rid = id("federation rule", rule_id)?;
        let req = self.admin_request(Method::GET, &[ORG, PROVIDERS, pid, RULES, rid])?;
        self.call(&req).await
    }

    pub async fn update_rule(
        &self,
        provider_id: &str,
        rule_id: &str,
        body: &UpdateRuleRequest,
    ) -> Result<FederationRule, ApiError> {
        let pid = id("workload identity provider", provider_id)?;
        let rid = id("federation rule", rule_id)?;
        let req = self
            .admin_request(Method::POST, &[ORG, PROVIDERS, pid, RULES, rid])?
            .json(body)?;
        self.call(&req).await
    }

    pub async fn delete_rule(&self, provider_id: &str, rule_id: &str) -> Result<Deleted, ApiError> {
        let pid = id("workload identity provider", provider_id)?;
        let rid = id("federation rule", rule_id)?;
        let req = self.admin_request(Method::DELETE, &[ORG, PROVIDERS, pid, RULES, rid])?;
        self.delete(&req, OBJECT_RULE_DELETED, rid).await
    }

    // ------------------------------------------------------------ projects

    pub async fn create_project(&self, body: &CreateProjectRequest) -> Result<Project, ApiError> {
        let req = self
            .admin_request(Method::POST, &[ORG, PROJECTS])?
            .json(body)?;
        let name = body.name.as_str();
        let what = format!("project {name:?}");
        self.create(&req, &what, || async move {
            let all = self.list_all_projects().await?;
            Ok(all
                .into_iter()
                .filter(|p| p.name.as_deref() == Some(name))
                .collect())
        })
        .await
    }

    pub async fn list_projects(&self, params: &ListParams) -> Result<ListPage<Project>, ApiError> {
        let req = self
            .admin_request(Method::GET, &[ORG, PROJECTS])?
            .query(&list_query(params));
        self.call(&req).await
    }

    pub async fn list_all_projects(&self) -> Result<Vec<Project>, ApiError> {
        collect_all("GET /organization/projects", |after| {
            let params = page_params(after);
            async move { self.list_projects(&params).await }
        })
        .await
    }

    pub async fn get_project(&self, project_id: &str) -> Result<Project, ApiError> {
        let pid = id("project", project_id)?;
        let req = self.admin_request(Method::GET, &[ORG, PROJECTS, pid])?;
        self.call(&req).await
    }

    // ------------------------------------------------------------ service accounts

    /// The returned `api_key` is `None` when `create_service_account_only`
    /// was set, and also when the create's response was lost and the account
    /// was found by name afterwards (the key is only ever shown once).
    pub async fn create_service_account(
        &self,
        project_id: &str,
        body: &CreateServiceAccountRequest,
    ) -> Result<CreatedServiceAccount, ApiError> {
        let pid = id("project", project_id)?;
        let req = self
            .admin_request(Method::POST, &[ORG, PROJECTS, pid, SERVICE_ACCOUNTS])?
            .json(body)?;
        let name = body.name.as_str();
        let what = format!("service account {name:?} in project {pid}");
        self.create(&req, &what, || async move {
            let all = self.list_all_service_accounts(pid).await?;
            Ok(all
                .into_iter()
                .filter(|sa| sa.name == name)
                .map(|sa| CreatedServiceAccount {
                    object: sa.object,
                    id: sa.id,
                    name: sa.name,
                    role: sa.role,
                    created_at: sa.created_at,
                    api_key: None,
                })
                .collect())
        })
        .await
    }

    pub async fn list_service_accounts(
        &self,
        project_id: &str,
        params: &ListParams,
    ) -> Result<ListPage<ServiceAccount>, ApiError> {
        let pid = id("project", project_id)?;
        let req = self
            .admin_request(Method::GET, &[ORG, PROJECTS, pid, SERVICE_ACCOUNTS])?
            .query(&list_query(params));
        self.call(&req).await
    }

    pub async fn list_all_service_accounts(
        &self,
        project_id: &str,
    ) -> Result<Vec<ServiceAccount>, ApiError> {
        let endpoint = format!("GET /organization/projects/{project_id}/service_accounts");
        collect_all(&endpoint, |after| {
            let params = page_params(after);
            async move { self.list_service_accounts(project_id, &params).await }
        })
        .await
    }

    pub async fn get_service_account(
        &self,
        project_id: &str,
        service_account_id: &str,
    ) -> Result<ServiceAccount, ApiError> {
        let pid = id("project", project_id)?;
        let sid = id("service account", service_account_id)?;
        let req = self.admin_request(Method::GET, &[ORG, PROJECTS, pid, SERVICE_ACCOUNTS, sid])?;
        self.call(&req).await
    }

    /// Sets the name and/or the project role. Safe to retry since it sets
    /// absolute values.
    pub async fn update_service_account(
        &self,
        project_id: &str,
        service_account_id: &str,
        body: &UpdateServiceAccountRequest,
    ) -> Result<ServiceAccount, ApiError> {
        let pid = id("project", project_id)?;
        let sid = id("service account", service_account_id)?;
        let req = self
            .admin_request(Method::POST, &[ORG, PROJECTS, pid, SERVICE_ACCOUNTS, sid])?
            .json(body)?;
        self.call(&req).await
    }

    pub async fn delete_service_account(
        &self,
        project_id: &str,
        service_account_id: &str,
    ) -> Result<Deleted, ApiError> {
        let pid = id("project", project_id)?;
        let sid = id("service account", service_account_id)?;
        let req =
            self.admin_request(Method::DELETE, &[ORG, PROJECTS, pid, SERVICE_ACCOUNTS, sid])?;
        self.delete(&req, OBJECT_SERVICE_ACCOUNT_DELETED, sid).await
    }

    // ------------------------------------------------------------ project API keys

    pub async fn list_project_api_keys(
        &self,
        project_id: &str,
        params: &ListParams,
    ) -> Result<ListPage<ProjectApiKey>, ApiError> {
        let pid = id("project", project_id)?;
        let req = self
            .admin_request(Method::GET, &[ORG, PROJECTS, pid, API_KEYS])?
            .query(&list_query(params));
        self.call(&req).await
    }

    pub async fn list_all_project_api_keys(
        &self,
        project_id: &str,
    ) -> Result<Vec<ProjectApiKey>, ApiError> {
        let endpoint = format!("GET /organization/projects/{project_id}/api_keys");
        collect_all(&endpoint, |after| {
            let params = page_params(after);
            async move { self.list_project_api_keys(project_id, &params).await }
        })
        .await
    }

    pub async fn get_project_api_key(
        &self,
        project_id: &str,
        key_id: &str,
    ) -> Result<ProjectApiKey, ApiError> {
        let pid = id("project", project_id)?;
        let kid = id("API key", key_id)?;
        let req = self.admin_request(Method::GET, &[ORG, PROJECTS, pid, API_KEYS, kid])?;
        self.call(&req).await
    }

    pub async fn delete_project_api_key(
        &self,
        project_id: &str,
        key_id: &str,
    ) -> Result<Deleted, ApiError> {
        let pid = id("project", project_id)?;
        let kid = id("API key", key_id)?;
        let req = self.admin_request(Method::DELETE, &[ORG, PROJECTS, pid, API_KEYS, kid])?;
        self.delete(&req, OBJECT_PROJECT_API_KEY_DELETED, kid).await
    }

    // ------------------------------------------------------------ shared

    /// A DELETE, retried like any idempotent request. A 404 after an attempt
    /// that may have gone through means that attempt deleted it: success.
    /// An empty 2xx body (e.g. 204) is success too.
    async fn delete(
        &self,
        req: &Request,
        object: &str,
        object_id: &str,
    ) -> Result<Deleted, ApiError> {
        let run = self.run(req).await;
        let synthesized = Deleted {
            object: object.to_owned(),
            id: object_id.to_owned(),
            deleted: true,
        };
        match &run.outcome {
            Outcome::Reply(r)
                if r.status == StatusCode::NOT_FOUND && run.maybe_committed_earlier =>
            {
                tracing::debug!(
                    path = %req.path,
                    "404 after a delete attempt whose outcome was unknown: already deleted"
                );
                return Ok(synthesized);
            }
            Outcome::Reply(r)
                if r.status.is_success() && r.body.iter().all(u8::is_ascii_whitespace) =>
            {
                return Ok(synthesized);
            }
            _ => {}
        }
        admin_result(req, run.outcome, run.attempts)
    }
}
