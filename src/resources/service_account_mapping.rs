//! Resource `openai_service_account_mapping`: which token claims may act as
//! which project service account (the API's "federation rule").

use async_trait::async_trait;

use crate::OpenAi;
use crate::errors::api_error;
use crate::limits::Scope;
use crate::values::{
    bool_attr, elements, from_json, int, object, opt_string, required_str, split_import_id,
    str_attr, string, to_json,
};
use openai_admin::models::{
    AttributeMatchers, CreateRuleRequest, FederationRule, Permissions, UpdateRuleRequest,
};
use tfplugin::codec::{Path, Type, Value};
use tfplugin::framework::{
    Attribute, CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, Diagnostic,
    Diagnostics, IdentitySchema, ImportByIdentityRequest, ImportRequest, ImportResponse,
    ListRequest, ListResponse, ListedItem, PlanCtx, ReadRequest, ReadResponse, Resource, Schema,
    UpdateRequest, UpdateResponse, ValidateRequest, ValidateResponse, attr,
};

pub const TYPE_NAME: &str = "openai_service_account_mapping";

const ATTRIBUTES: &[&str] = &[
    "workload_identity_provider_id",
    "project_id",
    "service_account_id",
    "attribute_matchers",
    "name",
    "description",
    "enabled",
    "scopes",
];

pub struct ServiceAccountMappingResource;

pub fn schema() -> Schema {
    Schema::new(
        "A service account mapping (an OpenAI federation rule): tokens from a workload identity \
         provider whose claims match `attribute_matchers` may be exchanged for access tokens of \
         one project service account. At most 50 per provider.",
    )
    .attribute(
        Attribute::computed("id", Type::String)
            .use_state_for_unknown()
            .description("The mapping's id (`wifr_...`)."),
    )
    .attribute(
        Attribute::required("workload_identity_provider_id", Type::String)
            .requires_replace()
            .description("The workload identity provider this mapping belongs to. Changing it replaces the mapping."),
    )
    .attribute(
        Attribute::required("project_id", Type::String)
            .requires_replace()
            .description("The project of the service account (`proj_...`). Changing it replaces the mapping."),
    )
    .attribute(
        Attribute::required("service_account_id", Type::String)
            .requires_replace()
            .description("The project service account tokens act as (`svc_acct_...`). Changing it replaces the mapping."),
    )
    .attribute(Attribute::required("attribute_matchers", Type::Dynamic).description(
        "The claims a token must carry, as an object of claim name to value, e.g. \
         `{ repository = \"my-org/my-repo\", ref = \"refs/heads/main\" }`. All must match. \
         Values may be strings, booleans or numbers and keep their type. A string ending in a \
         single `*` after a non-empty prefix matches by prefix. Names starting with `openai.` \
         refer to the provider's attribute transformations. Must not be empty.",
    ))
    .attribute(Attribute::optional("name", Type::String).description("A name, unique within the provider."))
    .attribute(Attribute::optional("description", Type::String).description("A description."))
    .attribute(
        Attribute::optional_computed("enabled", Type::Bool)
            .default(Value::Bool(true))
            .description("Whether the mapping is used in token exchanges. Defaults to `true`."),
    )
    .attribute(Attribute::optional("scopes", Type::Set(Box::new(Type::String))).description(
        "Restricts the exchanged tokens to these permission scopes (e.g. `api.model.request`). \
         Omit it for the service account's default permissions; an empty set is not allowed.",
    ))
    .attribute(Attribute::optional("allow_unpinned_shared_issuer", Type::Bool).description(
        "Set to `true` to allow this mapping although its provider's issuer is shared by everyone \
         (GitHub Actions, Google, GitLab.com, HCP Terraform) and none of `attribute_matchers` pins \
         the token to your organization, project or account. Dangerous: such a mapping lets \
         workloads of every tenant of that issuer (e.g. workflows in any GitHub repository) act \
         as the service account. Defaults to `false`, which fails the plan for such a mapping. \
         Checked by this provider only; never sent to OpenAI.",
    ))
    .attribute(
        Attribute::computed("created_at", Type::Number)
            .use_state_for_unknown()
            .description("Creation time, Unix seconds."),
    )
    .attribute(Attribute::computed("updated_at", Type::Number).description("Last update time, Unix seconds."))
}

/// The matchers as JSON, with their types. `None` when not (yet) known.
fn matchers_json(v: &Value) -> Option<serde_json::Map<String, serde_json::Value>> {
    match to_json(attr(v, "attribute_matchers"))? {
        serde_json::Value::Object(m) => Some(m),
        _ => None,
    }
}

pub fn validate_config(config: &Value, diags: &mut Diagnostics) {
    let path = |n: &str| Path::root().attr(n);
    for name in [
        "workload_identity_provider_id",
        "project_id",
        "service_account_id",
    ] {
        if str_attr(config, name) == Some("") {
            diags.attribute_error(
                path(name),
                format!("Empty {name}"),
                format!("{name} must not be empty."),
            );
        }
    }
    let matchers = attr(config, "attribute_matchers");
    let inner = match matchers {
        Value::Dynamic(_, inner) => inner.as_ref(),
        other => other,
    };
    match inner {
        Value::Unknown | Value::Null => {}
        Value::Object(m) | Value::Map(m) => {
            if m.is_empty() {
                diags.attribute_error(
                    path("attribute_matchers"),
                    "Empty attribute_matchers",
                    "A mapping must match at least one claim, e.g. { sub = \"repo:my-org/my-repo:ref:refs/heads/main\" }. \
                     An empty set of matchers would admit every token of the issuer.",
                );
            }
            for (k, v) in m {
                let at = path("attribute_matchers").key(k.clone());
                if k.is_empty() {
                    diags.attribute_error(at.clone(), "Empty claim name", "Claim names must not be empty.");
                }
                match v {
                    Value::String(s) => {
                        if let Err(why) = check_wildcard(s) {
                            diags.attribute_error(at, "Invalid matcher value", why);
                        }
                    }
                    Value::Bool(_) | Value::Number(_) | Value::Unknown => {}
                    Value::Null => diags.attribute_error(
                        at,
                        "Null matcher value",
                        format!("The value for claim {k:?} is null. Give a string, boolean or number."),
                    ),
                    _ => diags.attribute_error(
                        at,
                        "Invalid matcher value",
                        format!("The value for claim {k:?} must be a string, boolean or number, not a collection."),
                    ),
                }
            }
        }
        _ => diags.attribute_error(
            path("attribute_matchers"),
            "Invalid attribute_matchers",
            "attribute_matchers must be an object of claim name to value, e.g. { repository = \"my-org/my-repo\" }.",
        ),
    }
    if let Value::Set(xs) | Value::List(xs) = attr(config, "scopes") {
        if xs.is_empty() {
            diags.attribute_error(
                path("scopes"),
                "Empty scopes",
                "scopes must list at least one scope. Omit scopes to keep the service account's default permissions.",
            );
        }
        if xs
            .iter()
            .any(|s| matches!(s, Value::String(s) if s.is_empty()))
        {
            diags.attribute_error(
                path("scopes"),
                "Empty scope",
                "Scopes must not be empty strings.",
            );
        }
    }
}

/// Only a single trailing `*` after a non-empty prefix is a wildcard.
fn check_wildcard(s: &str) -> Result<(), String> {
    match s.find('*') {
        None => Ok(()),
        Some(i) if i == s.len() - 1 && i > 0 => Ok(()),
        Some(_) => Err(format!(
            "{s:?} uses `*` where it is not supported. Only a single trailing `*` after a non-empty \
             prefix is allowed, e.g. \"repo:my-org/*\"."
        )),
    }
}

fn permissions_of(v: &Value) -> Permissions {
    let scopes: Vec<String> = elements(attr(v, "scopes"))
        .iter()
        .filter_map(|s| match s {
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    if attr(v, "scopes").is_null() || scopes.is_empty() {
        Permissions::ServiceAccountDefault
    } else {
        let mut scopes = scopes;
        scopes.sort();
        Permissions::Restricted { scopes }
    }
}

/// The state for an API object. Matchers keep the prior value (and its
/// type, e.g. a map(string) from a variable) when they mean the same JSON.
pub fn state_from_api(r: &FederationRule, prior: &Value) -> Value {
    let matchers = match matchers_json(prior) {
        Some(p) if p == r.attribute_matchers => attr(prior, "attribute_matchers").clone(),
        _ => {
            let (ty, v) = from_json(&serde_json::Value::Object(r.attribute_matchers.clone()));
            Value::Dynamic(ty, Box::new(v))
        }
    };
    let scopes = match &r.permissions {
        Permissions::ServiceAccountDefault => Value::Null,
        Permissions::Restricted { scopes } => Value::Set(scopes.iter().map(string).collect()),
    };
    object([
        ("id", string(&r.id)),
        (
            "workload_identity_provider_id",
            string(&r.workload_identity_provider_id),
        ),
        ("project_id", string(&r.project_id)),
        ("service_account_id", string(&r.service_account_id)),
        ("attribute_matchers", matchers),
        ("name", opt_string(r.name.clone())),
        ("description", opt_string(r.description.clone())),
        ("enabled", Value::Bool(r.enabled)),
        ("scopes", scopes),
        (
            "allow_unpinned_shared_issuer",
            match attr(prior, "allow_unpinned_shared_issuer") {
                Value::Bool(b) => Value::Bool(*b),
                _ => Value::Null,
            },
        ),
        ("created_at", int(r.created_at)),
        ("updated_at", int(r.updated_at)),
    ])
}

fn matchers_of(v: &Value) -> AttributeMatchers {
    matchers_json(v).unwrap_or_default()
}

#[async_trait]
impl Resource<OpenAi> for ServiceAccountMappingResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(
            IdentitySchema::default()
                .required(
                    "workload_identity_provider_id",
                    "The provider's id (`wip_...`).",
                )
                .required("id", "The mapping's id (`wifr_...`)."),
        )
    }

    fn identity_of(&self, state: &Value) -> Option<Value> {
        Some(object([
            (
                "workload_identity_provider_id",
                string(str_attr(state, "workload_identity_provider_id")?),
            ),
            ("id", string(str_attr(state, "id")?)),
        ]))
    }

    async fn validate(&self, req: ValidateRequest, resp: &mut ValidateResponse) {
        let (config, diags) = (&req.config, &mut resp.diagnostics);
        validate_config(config, diags);
    }

    fn normalize_plan(&self, plan: &mut PlanCtx) {
        let (prior, planned) = (&plan.prior, &mut plan.planned);
        // Same JSON, different spelling (e.g. map(string) vs object): no change.
        if let (Some(p), Some(n)) = (matchers_json(prior), matchers_json(planned))
            && p == n
        {
            tfplugin::framework::set_attr(
                planned,
                "attribute_matchers",
                attr(prior, "attribute_matchers").clone(),
            );
        }
    }

    async fn modify_plan(&self, data: Option<&OpenAi>, plan: &mut PlanCtx) {
        let Some(data) = data else { return };
        // What goes away: the prior object of a destroy or of a replacement
        // we asked for, or the object whose identity a create replaces
        // (`-replace`, tainted objects).
        let gone = if plan.is_destroy() || plan.is_replace() {
            Some(&plan.prior)
        } else {
            plan.replaced_identity.as_ref()
        };
        if let Some(gone) = gone
            && let (Some(pid), Some(id)) = (
                str_attr(gone, "workload_identity_provider_id"),
                str_attr(gone, "id"),
            )
        {
            data.mapping_going_away(pid, id).await;
        }
        if !plan.is_destroy() {
            data.guard_tenant_pinning(plan).await;
        }
        if plan.is_create() {
            data.admit_mapping(plan).await;
        } else if !plan.is_destroy() && !plan.is_replace() {
            data.ledger.touch();
        }
    }

    async fn create(
        &self,
        data: &OpenAi,
        req: CreateRequest,
    ) -> Result<CreateResponse, Diagnostics> {
        let planned = &req.planned;
        let pid = required_str(planned, "workload_identity_provider_id");
        let req = CreateRuleRequest {
            project_id: required_str(planned, "project_id"),
            service_account_id: required_str(planned, "service_account_id"),
            attribute_matchers: matchers_of(planned),
            name: str_attr(planned, "name").map(str::to_string),
            description: str_attr(planned, "description").map(str::to_string),
            enabled: bool_attr(planned, "enabled"),
            permissions: Some(permissions_of(planned)),
        };
        let r = data
            .client()?
            .create_rule(&pid, &req)
            .await
            .map_err(|e| api_error("create the service account mapping", &e, ATTRIBUTES))?;
        data.inventory.put_rule(r.clone()).await;
        Ok(CreateResponse::new(state_from_api(&r, planned)))
    }

    async fn read(&self, data: &OpenAi, req: ReadRequest) -> Result<ReadResponse, Diagnostics> {
        let state = &req.state;
        let pid = required_str(state, "workload_identity_provider_id");
        let id = required_str(state, "id");
        let found = data
            .inventory
            .rule(data.client()?, &pid, &id)
            .await
            .map_err(|e| api_error("read service account mappings", &e, &[]))?;
        Ok(ReadResponse::new(found.map(|r| state_from_api(&r, state))))
    }

    async fn update(
        &self,
        data: &OpenAi,
        req: UpdateRequest,
    ) -> Result<UpdateResponse, Diagnostics> {
        let (prior, planned) = (&req.prior, &req.planned);
        let changed = |n: &str| attr(prior, n) != attr(planned, n);
        let req = UpdateRuleRequest {
            attribute_matchers: changed("attribute_matchers").then(|| matchers_of(planned)),
            name: changed("name").then(|| str_attr(planned, "name").map(str::to_string)),
            description: changed("description")
                .then(|| str_attr(planned, "description").map(str::to_string)),
            enabled: if changed("enabled") {
                bool_attr(planned, "enabled")
            } else {
                None
            },
            permissions: changed("scopes").then(|| permissions_of(planned)),
        };
        let pid = required_str(prior, "workload_identity_provider_id");
        let id = required_str(prior, "id");
        if req == UpdateRuleRequest::default() {
            // Only provider-side arguments (the guard switch) changed.
            let found = data
                .inventory
                .rule(data.client()?, &pid, &id)
                .await
                .map_err(|e| api_error("read the service account mapping", &e, &[]))?;
            return match found {
                Some(r) => Ok(UpdateResponse::new(state_from_api(&r, planned))),
                None => Err(Diagnostic::error(
                    "Service account mapping not found",
                    format!(
                        "Mapping {id} of workload identity provider {pid} no longer exists. \
                         Run terraform plan again to create it anew."
                    ),
                )
                .into()),
            };
        }
        let r = data
            .client()?
            .update_rule(&pid, &id, &req)
            .await
            .map_err(|e| api_error("update the service account mapping", &e, ATTRIBUTES))?;
        data.inventory.put_rule(r.clone()).await;
        Ok(UpdateResponse::new(state_from_api(&r, planned)))
    }

    async fn delete(
        &self,
        data: &OpenAi,
        req: DeleteRequest,
    ) -> Result<DeleteResponse, Diagnostics> {
        let prior = &req.prior;
        let pid = required_str(prior, "workload_identity_provider_id");
        let id = required_str(prior, "id");
        match data.client()?.delete_rule(&pid, &id).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(api_error("delete the service account mapping", &e, &[])),
        }
        data.inventory.remove_rule(&pid, &id).await;
        data.mapping_going_away(&pid, &id).await;
        Ok(DeleteResponse::new())
    }

    async fn import(
        &self,
        _data: &OpenAi,
        req: ImportRequest,
    ) -> Result<ImportResponse, Diagnostics> {
        let id = req.id.as_str();
        let (pid, rid) = split_import_id(
            id,
            "<workload identity provider id>/<mapping id>",
            "wip_abc/wifr_def",
        )?;
        Ok(ImportResponse::new(schema().stub(&[
            ("id", string(rid)),
            ("workload_identity_provider_id", string(pid)),
        ])))
    }

    fn supports_list(&self) -> bool {
        true
    }

    fn list_schema(&self) -> Schema {
        Schema::new("Lists the service account mappings of one workload identity provider.")
            .attribute(
                Attribute::required("workload_identity_provider_id", Type::String)
                    .description("The provider whose mappings to list (`wip_...`)."),
            )
            .attribute(
                Attribute::optional("service_account_id", Type::String)
                    .description("Only list mappings to this service account (`svc_acct_...`)."),
            )
    }

    async fn validate_list(&self, req: ValidateRequest, resp: &mut ValidateResponse) {
        let (config, diags) = (&req.config, &mut resp.diagnostics);
        for (name, fix) in [
            (
                "workload_identity_provider_id",
                "Give the id of the provider whose mappings to list (`wip_...`).",
            ),
            (
                "service_account_id",
                "Give a service account id (`svc_acct_...`), or omit it to list the mappings of every service account.",
            ),
        ] {
            if str_attr(config, name) == Some("") {
                diags.attribute_error(
                    Path::root().attr(name),
                    format!("Empty {name}"),
                    format!("{name} must not be empty. {fix}"),
                );
            }
        }
    }

    async fn list(&self, data: &OpenAi, req: ListRequest) -> Result<ListResponse, Diagnostics> {
        let config = &req.config;
        let pid = str_attr(config, "workload_identity_provider_id").unwrap_or_default();
        let account = str_attr(config, "service_account_id");
        let rules = data
            .inventory
            .rules(data.client()?, pid, |s| {
                s.map(|s| s.objects.values().cloned().collect::<Vec<_>>())
            })
            .await
            .map_err(|e| api_error("list service account mappings", &e, &[]))?;
        let Some(rules) = rules else {
            return Err(Diagnostic::error(
                "Workload identity provider not found",
                format!(
                    "There is no workload identity provider {pid:?} in this organization. \
                     Check workload_identity_provider_id in the list block's config."
                ),
            )
            .at(Path::root().attr("workload_identity_provider_id"))
            .into());
        };
        Ok(ListResponse::new(
            rules
                .into_iter()
                .filter(|r| account.is_none_or(|a| r.service_account_id == a))
                .filter_map(|r| {
                    let state = state_from_api(&r, &Value::Null);
                    Some(ListedItem::new(
                        r.name.clone().unwrap_or_else(|| r.id.clone()),
                        self.identity_of(&state)?,
                        state,
                    ))
                })
                .collect(),
        ))
    }

    async fn import_by_identity(
        &self,
        data: &OpenAi,
        req: ImportByIdentityRequest,
    ) -> Result<ImportResponse, Diagnostics> {
        let identity = &req.identity;
        let id = format!(
            "{}/{}",
            str_attr(identity, "workload_identity_provider_id").unwrap_or_default(),
            str_attr(identity, "id").unwrap_or_default()
        );
        self.import(data, ImportRequest::new(id)).await
    }
}

impl OpenAi {
    /// The tenant-pinning guard ([`crate::tenant_pinning`]): a mapping
    /// on a shared issuer must match a claim naming the tenant.
    ///
    /// Which issuer applies: the provider's planned new issuer when this run
    /// changes it, else the provider's current issuer. When the provider id is
    /// not known yet (the provider is created in this run), the issuers of the
    /// providers this process planned to create are the candidates: if the
    /// mapping is unpinned under every one of them it is refused now;
    /// otherwise the check waits for the plan Terraform makes again during
    /// apply, just before creating the mapping, when the id is known.
    async fn guard_tenant_pinning(&self, plan: &mut PlanCtx) {
        use crate::tenant_pinning::{self, Verdict};
        if plan.planned.is_null() {
            return;
        }
        match plan.planned_attr("allow_unpinned_shared_issuer") {
            Value::Bool(true) | Value::Unknown => return,
            _ => {}
        }
        let writes = plan.is_create() || plan.is_update() || plan.is_replace();
        let (candidates, provider_changes) = match plan
            .planned_attr("workload_identity_provider_id")
        {
            Value::String(pid) => match self.planned_issuers.changed(pid) {
                Some(new_issuer) => (vec![new_issuer], true),
                None => {
                    let Ok(client) = self.client() else { return };
                    match self.inventory.provider(client, pid).await {
                        Ok(Some(p)) => (vec![Some(p.issuer)], false),
                        // The API refuses mappings of a missing provider.
                        Ok(None) => return,
                        Err(e) => {
                            if writes {
                                plan.diags.extend(api_error(
                                    "look up the issuer of the mapping's workload identity provider",
                                    &e,
                                    &[],
                                ));
                            }
                            return;
                        }
                    }
                }
            },
            Value::Unknown => (self.planned_issuers.created(), true),
            _ => return,
        };
        let matchers = plan.planned_attr("attribute_matchers").clone();
        let mut refused: Vec<(&'static tenant_pinning::SharedIssuer, String)> = Vec::new();
        for issuer in &candidates {
            let Some(issuer) = issuer else {
                // The issuer is not known until apply. Creates and updates are
                // planned again during apply, with it known; an unchanged
                // mapping is not, so plan an update (a new `updated_at`) to
                // have the check run then too. Shared issuers are fixed URLs,
                // so an unknown issuer is almost always a private one.
                if !writes {
                    plan.set_planned("updated_at", Value::Unknown);
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
                Verdict::Pinned | Verdict::Undecided => return,
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
        let at = Path::root().attr("attribute_matchers");
        if writes || provider_changes {
            if !plan
                .planned_attr("workload_identity_provider_id")
                .is_known()
            {
                detail.push_str(
                    "\n\nThe mapping's provider is created in this run, so its id is not known \
                     yet; the mapping is unpinned under the issuer of every workload identity \
                     provider this plan creates. Nothing was created.",
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

    /// Counts a planned mapping create against its provider's limit.
    async fn admit_mapping(&self, plan: &mut PlanCtx) {
        let Ok(client) = self.client() else { return };
        let limit = self.settings().max_mappings_per_provider;
        let (scope, existing, limit) = match plan.planned_attr("workload_identity_provider_id") {
            Value::String(pid) => {
                let existing = match self
                    .inventory
                    .rules(client, pid, |s| s.map_or(0, |s| s.baseline.len()))
                    .await
                {
                    Ok(n) => n,
                    Err(e) => {
                        plan.diags.extend(api_error(
                            "count existing service account mappings",
                            &e,
                            &[],
                        ));
                        return;
                    }
                };
                (Scope::Mappings(pid.clone()), existing, limit)
            }
            _ => {
                // The provider is created in this run: its mappings share a
                // pool of `limit` per provider created so far.
                let new_providers = self.ledger.creates(&Scope::Providers);
                if new_providers == 0 {
                    return;
                }
                (Scope::NewProviderMappings, 0, limit * new_providers)
            }
        };
        if let Err(x) = self.ledger.admit(scope.clone(), existing, limit).await {
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
                     destroyed). Nothing was created. Remove mappings you no longer need, or, \
                     if OpenAI raised your limit, set max_mappings_per_provider in the provider block. {}",
                    x.existing,
                    x.adds(),
                    x.creates,
                    x.removals,
                    crate::limits::PARALLELISM_HINT
                ),
            );
        }
    }

    async fn mapping_going_away(&self, pid: &str, id: &str) {
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
