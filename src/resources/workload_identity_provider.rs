//! Resource `openai_workload_identity_provider`: a trusted OIDC issuer.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;

use crate::OpenAi;
use crate::errors::api_error;
use crate::limits::Scope;
use crate::validate::https_url;
use crate::values::{bool_attr, elements, int, object, opt_string, required_str, str_attr, string};
use openai_admin::models::{
    AttributeTransformation, CreateProviderRequest, MAX_ATTRIBUTE_TRANSFORMATIONS,
    MAX_TRANSFORMATION_ATTRIBUTE_LEN, MAX_TRANSFORMATION_EXPRESSION_LEN, UpdateProviderRequest,
    Verification, WorkloadIdentityProvider,
};
use tfplugin::codec::{Path, Type, Value};
use tfplugin::framework::{
    Attribute, CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, Diagnostics,
    IdentitySchema, ImportByIdentityRequest, ImportRequest, ImportResponse, ListRequest,
    ListResponse, ListedItem, PlanCtx, ReadRequest, ReadResponse, Resource, Schema, UpdateRequest,
    UpdateResponse, ValidateRequest, ValidateResponse, attr, set_attr,
};

pub const TYPE_NAME: &str = "openai_workload_identity_provider";

const ATTRIBUTES: &[&str] = &[
    "name",
    "issuer",
    "audience",
    "description",
    "enabled",
    "attribute_transformations",
    "jwks_json",
    "discovery_url",
];

pub struct WorkloadIdentityProviderResource;

fn transformation_type() -> Type {
    Type::Object(BTreeMap::from([
        ("attribute".to_string(), Type::String),
        ("expression".to_string(), Type::String),
    ]))
}

pub fn schema() -> Schema {
    Schema::new(
        "A trusted OIDC issuer (an OpenAI workload identity provider). Workloads whose tokens \
         this issuer signed may exchange them for OpenAI access tokens, as allowed by the \
         provider's `openai_service_account_mapping`s. At most 50 per organization.",
    )
    .attribute(
        Attribute::computed("id", Type::String)
            .use_state_for_unknown()
            .description("The provider's id (`wip_...`)."),
    )
    .attribute(
        Attribute::required("name", Type::String)
            .description("A name, unique in the organization."),
    )
    .attribute(Attribute::required("issuer", Type::String).description(
        "The issuer URL, exactly as it appears in the tokens' `iss` claim. Must be an \
         absolute https URL (http only for loopback hosts). It is never normalised: a \
         trailing slash is kept as written.",
    ))
    .attribute(Attribute::required("audience", Type::String).description(
        "The audience the tokens must carry in `aud`, e.g. `https://api.openai.com/v1`.",
    ))
    .attribute(Attribute::optional("description", Type::String).description("A description."))
    .attribute(
        Attribute::optional_computed("enabled", Type::Bool)
            .default(Value::Bool(true))
            .description(
                "Whether token exchanges through this provider are allowed. Defaults to `true`.",
            ),
    )
    .attribute(
        Attribute::optional(
            "attribute_transformations",
            Type::List(Box::new(transformation_type())),
        )
        .description(format!(
            "Up to {MAX_ATTRIBUTE_TRANSFORMATIONS} CEL transformations deriving attributes \
                 from the token, each `{{ attribute = \"openai.<name>\", expression = \"<CEL over \
                 assertion>\" }}`. Mappings match derived attributes by their `openai.` name."
        )),
    )
    .attribute(Attribute::optional("jwks_json", Type::String).description(
        "A JSON Web Key Set (public keys only) used to verify tokens instead of OIDC discovery, \
         as a JSON string with a non-empty `keys` array, each key with a unique `kid`. \
         Conflicts with `discovery_url`. Compared semantically: reformatting is no change.",
    ))
    .attribute(
        Attribute::optional("discovery_url", Type::String).description(
            "A custom OIDC discovery URL (https, no credentials, port, query or fragment). \
         Conflicts with `jwks_json`. With neither, discovery from the issuer is used.",
        ),
    )
    .attribute(
        Attribute::computed("created_at", Type::Number)
            .use_state_for_unknown()
            .description("Creation time, Unix seconds."),
    )
    .attribute(
        Attribute::computed("updated_at", Type::Number)
            .description("Last update time, Unix seconds."),
    )
}

/// Checks that need no API call (`terraform validate`).
pub fn validate_config(config: &Value, diags: &mut Diagnostics) {
    let path = |n: &str| Path::root().attr(n);
    for name in ["name", "audience"] {
        if str_attr(config, name) == Some("") {
            diags.attribute_error(
                path(name),
                format!("Empty {name}"),
                format!("{name} must not be empty."),
            );
        }
    }
    if let Some(issuer) = str_attr(config, "issuer")
        && let Err(why) = https_url(issuer)
    {
        diags.attribute_error(path("issuer"), "Invalid issuer", why);
    }
    if let Some(url) = str_attr(config, "discovery_url") {
        match https_url(url) {
            Err(why) => diags.attribute_error(path("discovery_url"), "Invalid discovery_url", why),
            Ok(u)
                if !crate::validate::is_loopback(&u)
                    && (u.port().is_some() || u.query().is_some() || u.fragment().is_some()) =>
            {
                diags.attribute_error(
                    path("discovery_url"),
                    "Invalid discovery_url",
                    format!("{url:?} must not have a custom port, a query or a fragment."),
                )
            }
            Ok(_) => {}
        }
    }
    // Only values known now can conflict: a module may choose one of the two
    // with conditionals on variables that are unknown during validation.
    if attr(config, "jwks_json").is_present() && attr(config, "discovery_url").is_present() {
        diags.attribute_error(
            path("discovery_url"),
            "Conflicting key sources",
            "Set either jwks_json (uploaded keys) or discovery_url (custom OIDC discovery), not both.",
        );
    }
    if let Some(jwks) = str_attr(config, "jwks_json")
        && let Err(why) = check_jwks(jwks)
    {
        diags.attribute_error(path("jwks_json"), "Invalid jwks_json", why);
    }
    let transformations = elements(attr(config, "attribute_transformations"));
    if transformations.len() > MAX_ATTRIBUTE_TRANSFORMATIONS {
        diags.attribute_error(
            path("attribute_transformations"),
            "Too many attribute transformations",
            format!(
                "A provider may have at most {MAX_ATTRIBUTE_TRANSFORMATIONS} attribute \
                 transformations; {} are configured.",
                transformations.len()
            ),
        );
    }
    for (i, t) in transformations.iter().enumerate() {
        let at = |f: &str| path("attribute_transformations").index(i as i64).attr(f);
        if let Some(a) = str_attr(t, "attribute") {
            let len = a.chars().count();
            if !(1..=MAX_TRANSFORMATION_ATTRIBUTE_LEN).contains(&len) {
                diags.attribute_error(
                    at("attribute"),
                    "Invalid transformation attribute",
                    format!("attribute must be 1 to {MAX_TRANSFORMATION_ATTRIBUTE_LEN} characters long, got {len}."),
                );
            } else if !a.starts_with("openai.") || a.len() == "openai.".len() {
                diags.attribute_error(
                    at("attribute"),
                    "Invalid transformation attribute",
                    format!("{a:?} must start with \"openai.\" followed by a name, e.g. \"openai.repository\"."),
                );
            }
        }
        if let Some(e) = str_attr(t, "expression") {
            let len = e.chars().count();
            if !(1..=MAX_TRANSFORMATION_EXPRESSION_LEN).contains(&len) {
                diags.attribute_error(
                    at("expression"),
                    "Invalid transformation expression",
                    format!("expression must be 1 to {MAX_TRANSFORMATION_EXPRESSION_LEN} characters long, got {len}."),
                );
            }
        }
    }
}

/// A JWKS as the API accepts it: an object with a non-empty `keys` array of
/// public keys, each with a unique non-empty `kid`.
pub fn check_jwks(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("jwks_json is not valid JSON: {e}."))?;
    let serde_json::Value::Object(obj) = v else {
        return Err("jwks_json must be a JSON object like {\"keys\": [...]}.".into());
    };
    let Some(serde_json::Value::Array(keys)) = obj.get("keys") else {
        return Err("jwks_json must have a \"keys\" array.".into());
    };
    if keys.is_empty() {
        return Err("jwks_json's \"keys\" array is empty; add at least one public key.".into());
    }
    let mut kids = BTreeSet::new();
    for (i, k) in keys.iter().enumerate() {
        let Some(key) = k.as_object() else {
            return Err(format!("keys[{i}] is not a JSON object."));
        };
        match key.get("kid").and_then(|k| k.as_str()) {
            Some(kid) if !kid.is_empty() => {
                if !kids.insert(kid.to_string()) {
                    return Err(format!(
                        "keys[{i}] repeats the kid {kid:?}; every kid must be unique."
                    ));
                }
            }
            _ => {
                return Err(format!(
                    "keys[{i}] has no \"kid\"; every key needs a unique non-empty kid."
                ));
            }
        }
        if let Some(private) = ["d", "p", "q", "dp", "dq", "qi", "k"]
            .iter()
            .find(|f| key.contains_key(**f))
        {
            return Err(format!(
                "keys[{i}] contains private key material (\"{private}\"). Upload public keys only."
            ));
        }
    }
    Ok(obj)
}

fn json_equal(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// The state for an API object, keeping the prior spelling of values the API
/// only reformats (the JWKS) and null for empty optional collections.
pub fn state_from_api(p: &WorkloadIdentityProvider, prior: &Value) -> Value {
    let transformations = if p.attribute_transformations.is_empty()
        && attr(prior, "attribute_transformations").is_null()
    {
        Value::Null
    } else {
        Value::List(
            p.attribute_transformations
                .iter()
                .map(|t| {
                    object([
                        ("attribute", string(&t.attribute)),
                        ("expression", string(&t.expression)),
                    ])
                })
                .collect(),
        )
    };
    let (jwks_json, discovery_url) = match &p.verification {
        Verification::UploadedJwks { jwks } => {
            let api_text = serde_json::to_string(jwks).unwrap_or_default();
            let text = match str_attr(prior, "jwks_json") {
                Some(prior_text) if json_equal(prior_text, &api_text) => prior_text.to_string(),
                _ => api_text,
            };
            (string(text), Value::Null)
        }
        Verification::Discovery { discovery_url } => {
            (Value::Null, opt_string(discovery_url.clone()))
        }
    };
    object([
        ("id", string(&p.id)),
        ("name", string(&p.name)),
        ("issuer", string(&p.issuer)),
        ("audience", string(&p.audience)),
        ("description", opt_string(p.description.clone())),
        ("enabled", Value::Bool(p.enabled)),
        ("attribute_transformations", transformations),
        ("jwks_json", jwks_json),
        ("discovery_url", discovery_url),
        ("created_at", int(p.created_at)),
        ("updated_at", int(p.updated_at)),
    ])
}

fn transformations_of(v: &Value) -> Vec<AttributeTransformation> {
    elements(attr(v, "attribute_transformations"))
        .iter()
        .map(|t| AttributeTransformation {
            attribute: str_attr(t, "attribute").unwrap_or_default().to_string(),
            expression: str_attr(t, "expression").unwrap_or_default().to_string(),
        })
        .collect()
}

fn verification_of(v: &Value) -> Verification {
    match (str_attr(v, "jwks_json"), str_attr(v, "discovery_url")) {
        (Some(jwks), _) => Verification::UploadedJwks {
            jwks: check_jwks(jwks).unwrap_or_default(),
        },
        (None, url) => Verification::Discovery {
            discovery_url: url.map(str::to_string),
        },
    }
}

#[async_trait]
impl Resource<OpenAi> for WorkloadIdentityProviderResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::default().required("id", "The provider's id (`wip_...`)."))
    }

    fn identity_of(&self, state: &Value) -> Option<Value> {
        Some(object([("id", string(str_attr(state, "id")?))]))
    }

    async fn validate(&self, req: ValidateRequest, resp: &mut ValidateResponse) {
        let (config, diags) = (&req.config, &mut resp.diagnostics);
        validate_config(config, diags);
    }

    fn normalize_plan(&self, plan: &mut PlanCtx) {
        let (prior, planned) = (&plan.prior, &mut plan.planned);
        if let (Some(p), Some(n)) = (str_attr(prior, "jwks_json"), str_attr(planned, "jwks_json"))
            && p != n
            && json_equal(p, n)
        {
            let keep = string(p);
            set_attr(planned, "jwks_json", keep);
        }
    }

    async fn modify_plan(&self, data: Option<&OpenAi>, plan: &mut PlanCtx) {
        let Some(data) = data else { return };
        record_planned_issuer(data, plan);
        if plan.is_create() {
            // The create half of `-replace` or a tainted object: the old
            // provider goes away in the same run.
            if let Some(old) = plan
                .replaced_identity
                .as_ref()
                .and_then(|i| str_attr(i, "id"))
            {
                data.provider_going_away(old).await;
            }
            data.admit_provider(plan).await;
        } else if plan.is_destroy() {
            if let Some(id) = str_attr(&plan.prior, "id") {
                data.provider_going_away(id).await;
            }
        } else {
            data.ledger.touch();
        }
    }

    async fn create(
        &self,
        data: &OpenAi,
        req: CreateRequest,
    ) -> Result<CreateResponse, Diagnostics> {
        let planned = &req.planned;
        let req = CreateProviderRequest {
            name: required_str(planned, "name"),
            issuer: required_str(planned, "issuer"),
            audience: required_str(planned, "audience"),
            kind: "oidc".to_string(),
            description: str_attr(planned, "description").map(str::to_string),
            enabled: bool_attr(planned, "enabled"),
            verification: Some(verification_of(planned)),
            attribute_transformations: Some(transformations_of(planned)),
        };
        let p = data
            .client()?
            .create_provider(&req)
            .await
            .map_err(|e| api_error("create the workload identity provider", &e, ATTRIBUTES))?;
        data.inventory.put_provider(p.clone()).await;
        Ok(CreateResponse::new(state_from_api(&p, planned)))
    }

    async fn read(&self, data: &OpenAi, req: ReadRequest) -> Result<ReadResponse, Diagnostics> {
        let state = &req.state;
        let id = required_str(state, "id");
        let found = data
            .inventory
            .provider(data.client()?, &id)
            .await
            .map_err(|e| api_error("read workload identity providers", &e, &[]))?;
        Ok(ReadResponse::new(found.map(|p| state_from_api(&p, state))))
    }

    async fn update(
        &self,
        data: &OpenAi,
        req: UpdateRequest,
    ) -> Result<UpdateResponse, Diagnostics> {
        let (prior, planned) = (&req.prior, &req.planned);
        let changed = |n: &str| attr(prior, n) != attr(planned, n);
        let req = UpdateProviderRequest {
            name: changed("name").then(|| required_str(planned, "name")),
            issuer: changed("issuer").then(|| required_str(planned, "issuer")),
            audience: changed("audience").then(|| required_str(planned, "audience")),
            description: changed("description")
                .then(|| str_attr(planned, "description").map(str::to_string)),
            enabled: if changed("enabled") {
                bool_attr(planned, "enabled")
            } else {
                None
            },
            verification: (changed("jwks_json") || changed("discovery_url"))
                .then(|| verification_of(planned)),
            attribute_transformations: changed("attribute_transformations")
                .then(|| transformations_of(planned)),
        };
        let id = required_str(prior, "id");
        let p = data
            .client()?
            .update_provider(&id, &req)
            .await
            .map_err(|e| api_error("update the workload identity provider", &e, ATTRIBUTES))?;
        data.inventory.put_provider(p.clone()).await;
        Ok(UpdateResponse::new(state_from_api(&p, planned)))
    }

    async fn delete(
        &self,
        data: &OpenAi,
        req: DeleteRequest,
    ) -> Result<DeleteResponse, Diagnostics> {
        let prior = &req.prior;
        let id = required_str(prior, "id");
        match data.client()?.delete_provider(&id).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                let mut d = api_error("delete the workload identity provider", &e, &[]);
                if e.is_conflict() {
                    d.error(
                        "Provider still has mappings",
                        "OpenAI refuses to delete a provider that still has service account \
                         mappings. Delete its openai_service_account_mapping resources first \
                         (Terraform does this itself when they reference this provider's id).",
                    );
                }
                return Err(d);
            }
        }
        data.inventory.remove_provider(&id).await;
        data.provider_going_away(&id).await;
        Ok(DeleteResponse::new())
    }

    async fn import(
        &self,
        _data: &OpenAi,
        req: ImportRequest,
    ) -> Result<ImportResponse, Diagnostics> {
        let id = req.id.as_str();
        if id.is_empty() || id.contains('/') {
            let mut d = Diagnostics::new();
            d.error(
                "Invalid import ID",
                format!(
                    "Expected a workload identity provider id like \"wip_abc123\", got {id:?}."
                ),
            );
            return Err(d);
        }
        Ok(ImportResponse::new(schema().stub(&[("id", string(id))])))
    }

    fn supports_list(&self) -> bool {
        true
    }

    fn list_schema(&self) -> Schema {
        Schema::new("Lists the workload identity providers of the organization.").attribute(
            Attribute::optional("name_prefix", Type::String)
                .description("Only list providers whose name starts with this text."),
        )
    }

    async fn list(&self, data: &OpenAi, req: ListRequest) -> Result<ListResponse, Diagnostics> {
        let config = &req.config;
        let prefix = str_attr(config, "name_prefix").unwrap_or_default();
        let providers = data
            .inventory
            .providers(data.client()?, |s| {
                s.objects.values().cloned().collect::<Vec<_>>()
            })
            .await
            .map_err(|e| api_error("list workload identity providers", &e, &[]))?;
        Ok(ListResponse::new(
            providers
                .into_iter()
                .filter(|p| p.name.starts_with(prefix))
                .filter_map(|p| {
                    let state = state_from_api(&p, &Value::Null);
                    Some(ListedItem::new(
                        p.name.clone(),
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
        self.import(
            data,
            ImportRequest::new(str_attr(identity, "id").unwrap_or_default()),
        )
        .await
    }
}

/// Tells the tenant-pinning guard which issuer a provider will have after
/// this run, for the mappings planned after it.
fn record_planned_issuer(data: &OpenAi, plan: &PlanCtx) {
    let issuer = str_attr(&plan.planned, "issuer").map(str::to_string);
    if plan.is_create() {
        data.planned_issuers.record_create(issuer);
    } else if !plan.is_destroy()
        && plan.planned_attr("issuer") != plan.prior_attr("issuer")
        && let Some(id) = str_attr(&plan.prior, "id")
    {
        data.planned_issuers.record_change(id, issuer);
    }
}

impl OpenAi {
    /// Counts a planned provider create against the organization's limit.
    async fn admit_provider(&self, plan: &mut PlanCtx) {
        let Ok(client) = self.client() else { return };
        let baseline = match self.inventory.providers(client, |s| s.baseline.len()).await {
            Ok(n) => n,
            Err(e) => {
                plan.diags.extend(api_error(
                    "count existing workload identity providers",
                    &e,
                    &[],
                ));
                return;
            }
        };
        let limit = self.settings().max_providers;
        if let Err(x) = self.ledger.admit(Scope::Providers, baseline, limit).await {
            plan.diags.error(
                "Workload identity provider limit exceeded",
                format!(
                    "This plan would give the organization more than {limit} workload identity \
                     providers: {} exist, and this plan adds {} ({} created, {} destroyed). \
                     Nothing was created. Remove providers you no longer need, or, if OpenAI \
                     raised your limit, set max_workload_identity_providers in the provider block. {}",
                    x.existing,
                    x.adds(),
                    x.creates,
                    x.removals,
                    crate::limits::PARALLELISM_HINT
                ),
            );
        }
    }

    async fn provider_going_away(&self, id: &str) {
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
