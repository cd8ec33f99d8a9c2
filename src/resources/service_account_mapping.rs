//! Resource `openai_service_account_mapping`: which token claims may act as
//! which project service account (the API's "federation rule").

use async_trait::async_trait;

use crate::errors::{Action, Op, api_error};
use crate::guards::create::{CreateSpec, Written};
use crate::limits::Scope;
use crate::provider_data::ProviderData;
use crate::resources::unmanaged_kind;
use crate::values::{arguments, from_json, split_import_id, to_json};
use openai_admin::models::{
    AttributeMatchers, CreateRuleRequest, FederationRule, Permissions, UpdateRuleRequest,
};
use tfplugin::codec::{Path, Type, Value};
use tfplugin::framework::model::{Field, Model, Set};
use tfplugin::framework::{
    Attribute, ConfigRules, CreateRequest, CreateResponse, DeleteRequest, DeleteResponse,
    Diagnostic, Diagnostics, IdentitySchema, ImportByIdentityRequest, ImportRequest,
    ImportResponse, ListRequest, ListResponse, ListedItem, PlanCtx, ReadRequest, ReadResponse,
    Resource, Schema, UpdateRequest, UpdateResponse,
};

pub(crate) const TYPE_NAME: &str = "openai_service_account_mapping";

tfplugin::model! {
    /// A mapping's configuration, plan or state.
    pub(crate) struct MappingModel {
        pub id: Field<String>,
        pub workload_identity_provider_id: Field<String>,
        pub project_id: Field<String>,
        pub service_account_id: Field<String>,
        /// The raw `dynamic` value: its type is the user's (object, map).
        pub attribute_matchers: Field<Value>,
        pub name: Field<String>,
        pub description: Field<String>,
        pub enabled: Field<bool>,
        pub scopes: Field<Set<Field<String>>>,
        pub allow_unpinned_shared_issuer: Field<bool>,
        pub created_at: Field<i64>,
        pub updated_at: Field<i64>,
    }
}

tfplugin::model! {
    /// A mapping's resource identity. Also reads the two ids out of a state.
    pub(crate) struct MappingIdentity {
        pub workload_identity_provider_id: Field<String>,
        pub id: Field<String>,
    }
}

tfplugin::model! {
    /// The `config` of a `list` block.
    pub(crate) struct MappingListConfig {
        pub workload_identity_provider_id: Field<String>,
        pub service_account_id: Field<String>,
        pub project_id: Field<String>,
    }
}

type M = MappingModel;

/// What an API error may point at: the arguments, less the guard switch the
/// API never sees.
fn api_arguments() -> &'static [&'static str] {
    static ARGS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    ARGS.get_or_init(|| arguments(&schema(), &[M::allow_unpinned_shared_issuer]))
}

pub(crate) struct ServiceAccountMappingResource;

pub(crate) fn schema() -> Schema {
    Schema::new(
        "A service account mapping (an OpenAI federation rule): tokens from a workload identity \
         provider whose claims match `attribute_matchers` may be exchanged for access tokens of \
         one project service account. At most 50 per provider.",
    )
    .attribute(
        Attribute::computed(M::id, Type::String)
            .use_state_for_unknown()
            .description("The mapping's id (`wifr_...`)."),
    )
    .attribute(
        Attribute::required(M::workload_identity_provider_id, Type::String)
            .requires_replace()
            .description("The workload identity provider this mapping belongs to. Changing it replaces the mapping.")
            .not_empty("Give the provider's id (`wip_...`)."),
    )
    .attribute(
        Attribute::required(M::project_id, Type::String)
            .requires_replace()
            .description("The project of the service account (`proj_...`). Changing it replaces the mapping.")
            .not_empty("Give the project's id (`proj_...`)."),
    )
    .attribute(
        Attribute::required(M::service_account_id, Type::String)
            .requires_replace()
            .description("The project service account tokens act as (`svc_acct_...`). Changing it replaces the mapping.")
            .not_empty("Give the service account's id (`svc_acct_...`)."),
    )
    .attribute(Attribute::required(M::attribute_matchers, Type::Dynamic).description(
        "The claims a token must carry, as an object of claim name to value, e.g. \
         `{ repository = \"my-org/my-repo\", ref = \"refs/heads/main\" }`. All must match. \
         Values may be strings, booleans or numbers and keep their type. A string ending in a \
         single `*` after a non-empty prefix matches by prefix. Names starting with `openai.` \
         refer to the provider's attribute transformations. Must not be empty.",
    ))
    .attribute(Attribute::optional(M::name, Type::String).description("A name, unique within the provider.").not_empty("Give a name, or omit it."))
    .attribute(Attribute::optional(M::description, Type::String).description("A description."))
    .attribute(
        Attribute::optional_computed(M::enabled, Type::Bool)
            .default(Value::Bool(true))
            .description("Whether the mapping is used in token exchanges. Defaults to `true`."),
    )
    .attribute(Attribute::optional(M::scopes, Type::Set(Box::new(Type::String))).description(
        "Restricts the exchanged tokens to these permission scopes (e.g. `api.model.request`). \
         Omit it for the service account's default permissions; an empty set is not allowed.",
    ))
    .attribute(Attribute::optional(M::allow_unpinned_shared_issuer, Type::Bool).description(
        "Set to `true` to allow this mapping although its provider's issuer is shared by everyone \
         (GitHub Actions, Google, GitLab.com, HCP Terraform) and none of `attribute_matchers` pins \
         the token to your organization, project or account. Dangerous: such a mapping lets \
         workloads of every tenant of that issuer (e.g. workflows in any GitHub repository) act \
         as the service account. Defaults to `false`, which fails the plan for such a mapping. \
         Checked by this provider only; never sent to OpenAI.",
    ))
    .attribute(
        Attribute::computed(M::created_at, Type::Number)
            .use_state_for_unknown()
            .description("Creation time, Unix seconds."),
    )
    .attribute(Attribute::computed(M::updated_at, Type::Number).description("Last update time, Unix seconds."))
}

/// The matchers as JSON, with their types. `None` when not (yet) known.
/// The arguments an update leaves alone: those the plan does not change.
/// An update sends exactly what the plan decided to change. A field the
/// plan leaves as it was may have been changed by hand after the plan was
/// saved, or be under `lifecycle { ignore_changes }`, which Terraform never
/// tells the provider about (it plans and applies with the prior value);
/// in both cases the value on the server is kept. The new state keeps the
/// planned value of those fields (Terraform requires it), so the next plan
/// shows a hand edit as drift, or keeps it when it is ignored.
struct KeptByTerraform {
    attribute_matchers: bool,
    name: bool,
    description: bool,
    enabled: bool,
    scopes: bool,
}

impl KeptByTerraform {
    fn of(prior: &MappingModel, planned: &MappingModel) -> Self {
        KeptByTerraform {
            attribute_matchers: matchers_json(&prior.attribute_matchers)
                == matchers_json(&planned.attribute_matchers),
            name: prior.name == planned.name,
            description: prior.description == planned.description,
            enabled: prior.enabled == planned.enabled,
            scopes: prior.scopes == planned.scopes,
        }
    }

    fn restore(&self, mut state: MappingModel, planned: &MappingModel) -> MappingModel {
        let p = planned.clone();
        if self.attribute_matchers {
            state.attribute_matchers = p.attribute_matchers;
        }
        if self.name {
            state.name = p.name;
        }
        if self.description {
            state.description = p.description;
        }
        if self.enabled {
            state.enabled = p.enabled;
        }
        if self.scopes {
            state.scopes = p.scopes;
        }
        state
    }
}

pub(crate) fn matchers_json(
    m: &Field<Value>,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    match to_json(m.known()?)? {
        serde_json::Value::Object(m) => Some(m),
        _ => None,
    }
}

fn validate_config(config: &MappingModel, diags: &mut Diagnostics) {
    let path = |n: &str| Path::root().attr(n);
    let inner = match config.attribute_matchers.known() {
        None => &Value::Null,
        Some(Value::Dynamic(_, inner)) => inner.as_ref(),
        Some(other) => other,
    };
    // A null of a type (a `map(string)` variable that is null) arrives
    // wrapped in the dynamic value, so look inside too.
    let typed_null = match config.attribute_matchers.known() {
        Some(Value::Null) => true,
        Some(Value::Dynamic(_, v)) => matches!(v.as_ref(), Value::Null),
        _ => false,
    };
    if config.attribute_matchers.is_null() || typed_null {
        diags.attribute_error(
            path(M::attribute_matchers),
            "Null attribute_matchers",
            "attribute_matchers is null (e.g. set from a variable that is null). A mapping must \
             match at least one claim; an empty set of matchers would admit every token of the \
             issuer.",
        );
    }
    match inner {
        Value::Unknown | Value::Null => {}
        Value::Object(m) | Value::Map(m) => {
            if m.is_empty() {
                diags.attribute_error(
                    path(M::attribute_matchers),
                    "Empty attribute_matchers",
                    "A mapping must match at least one claim, e.g. { sub = \"repo:my-org/my-repo:ref:refs/heads/main\" }. \
                     An empty set of matchers would admit every token of the issuer.",
                );
            }
            for (k, v) in m {
                let at = path(M::attribute_matchers).key(k.clone());
                if k.is_empty() {
                    diags.attribute_error(at.clone(), "Empty claim name", "Claim names must not be empty.");
                }
                match v {
                    Value::String(s) => {
                        if let Err(why) = check_wildcard(s) {
                            diags.attribute_error(at, "Invalid matcher value", why);
                        }
                    }
                    Value::Number(n) if !json_holds_exactly(n) => diags.attribute_error(
                        at,
                        "Matcher number not representable",
                        format!(
                            "The value for claim {k:?} cannot be sent as a JSON number without \
                             changing it (it is too large or too precise). Give the claim's value \
                             as a string, or a number that a 64-bit float holds exactly."
                        ),
                    ),
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
            path(M::attribute_matchers),
            "Invalid attribute_matchers",
            "attribute_matchers must be an object of claim name to value, e.g. { repository = \"my-org/my-repo\" }.",
        ),
    }
    if let Field::Known(scopes) = &config.scopes {
        if scopes.is_empty() {
            diags.attribute_error(
                path(M::scopes),
                "Empty scopes",
                "scopes must list at least one scope. Omit scopes to keep the service account's default permissions.",
            );
        }
        if scopes.iter().any(|s| s.as_deref() == Some("")) {
            diags.attribute_error(
                path(M::scopes),
                "Empty scope",
                "Scopes must not be empty strings.",
            );
        }
        check_scopes(scopes.iter().filter_map(|s| s.as_deref()), diags);
    }
}

/// `docs/reference/openai-api.md#permissions-and-scopes`: a string that is
/// no scope, or an Admin API scope, is refused as the API refuses it; a
/// well-formed scope OpenAI does not document is let through with a warning,
/// since it may be newer than this provider, or a typo that would only show
/// when a workload's call is refused.
fn check_scopes<'a>(scopes: impl Iterator<Item = &'a str>, diags: &mut Diagnostics) {
    use openai_admin::scopes::{KNOWN, Scope, check};
    let at = || Path::root().attr(M::scopes);
    for scope in scopes.filter(|s| !s.is_empty()) {
        match check(scope) {
            Scope::Known => {}
            Scope::Invalid(why) => diags.attribute_error(
                at(),
                "Invalid scope",
                format!("{why}. Documented scopes: {}.", known_list(KNOWN)),
            ),
            Scope::Unknown { suggestion } => diags.push(
                Diagnostic::warning(
                    "Unknown scope",
                    format!(
                        "{scope:?} is not a scope OpenAI documents{}. If OpenAI does not know it \
                         either, the mapping grants nothing through it and the workload's calls \
                         are refused with \"Missing scopes\". Documented scopes: {}.",
                        suggestion
                            .map(|s| format!(" (did you mean {s:?}?)"))
                            .unwrap_or_default(),
                        known_list(KNOWN)
                    ),
                )
                .at(at()),
            ),
        }
    }
}

fn known_list(known: &[(&str, &str)]) -> String {
    known
        .iter()
        .map(|(k, _)| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Only a single trailing `*` after a non-empty prefix is a wildcard.
pub(crate) fn check_wildcard(s: &str) -> Result<(), String> {
    match s.find('*') {
        None => Ok(()),
        Some(i) if i == s.len() - 1 && i > 0 => Ok(()),
        Some(_) => Err(format!(
            "{s:?} uses `*` where it is not supported. Only a single trailing `*` after a non-empty \
             prefix is allowed, e.g. \"repo:my-org/*\"."
        )),
    }
}

fn permissions_of(m: &MappingModel) -> Permissions {
    let mut scopes: Vec<String> = m
        .scopes
        .known()
        .map(|s| s.iter().filter_map(|x| x.known().cloned()).collect())
        .unwrap_or_default();
    if scopes.is_empty() {
        Permissions::ServiceAccountDefault
    } else {
        scopes.sort();
        Permissions::Restricted { scopes }
    }
}

/// The state for an API object (`prior` is all null when there is none).
/// Matchers keep the prior value (and its type, e.g. a map(string) from a
/// variable) when they mean the same JSON.
pub(crate) fn state_from_api(r: &FederationRule, prior: &MappingModel) -> MappingModel {
    let attribute_matchers = match matchers_json(&prior.attribute_matchers) {
        Some(p) if p == r.attribute_matchers => prior.attribute_matchers.clone(),
        _ => {
            let (ty, v) = from_json(&serde_json::Value::Object(r.attribute_matchers.clone()));
            Field::Known(Value::Dynamic(ty, Box::new(v)))
        }
    };
    let scopes = match &r.permissions {
        Permissions::ServiceAccountDefault => Field::Null,
        Permissions::Restricted { scopes } => Field::Known(Set(scopes
            .iter()
            .map(|s| Field::Known(s.clone()))
            .collect())),
        // Not representable as scopes; read and list still work. Managing such a rule is
        // left to a provider version that knows the kind.
        Permissions::Unknown { .. } => Field::Null,
    };
    MappingModel {
        id: Field::Known(r.id.clone()),
        workload_identity_provider_id: Field::Known(r.workload_identity_provider_id.clone()),
        project_id: Field::Known(r.project_id.clone()),
        service_account_id: Field::Known(r.service_account_id.clone()),
        attribute_matchers,
        name: r.name.clone().into(),
        description: r.description.clone().into(),
        enabled: Field::Known(r.enabled),
        scopes,
        // Never sent to the API: kept as configured, null unless a bool.
        allow_unpinned_shared_issuer: prior.allow_unpinned_shared_issuer.known().copied().into(),
        created_at: Field::Known(r.created_at),
        updated_at: Field::Known(r.updated_at),
    }
}

/// Whether JSON (as the API parses it, into a 64-bit float or integer)
/// carries `n` unchanged.
fn json_holds_exactly(n: &tfplugin::codec::Number) -> bool {
    match serde_json::from_str::<serde_json::Value>(n.as_str()) {
        Ok(serde_json::Value::Number(j)) => {
            tfplugin::codec::Number::parse(&j.to_string()).is_ok_and(|back| back == *n)
        }
        _ => false,
    }
}

/// The create request for a planned mapping (also what an interrupted
/// create is recognised by).
pub(crate) fn create_request_of(m: &MappingModel) -> Result<CreateRuleRequest, Diagnostics> {
    Ok(CreateRuleRequest {
        project_id: m.project_id.or_empty().to_string(),
        service_account_id: m.service_account_id.or_empty().to_string(),
        attribute_matchers: matchers_of(m)?,
        name: m.name.known().cloned(),
        description: m.description.known().cloned(),
        enabled: m.enabled.known().copied(),
        permissions: Some(permissions_of(m)),
    })
}

/// The matchers exactly as they will be sent. Never an empty default: a
/// policy that failed to convert must not become "match everything".
pub(crate) fn matchers_of(m: &MappingModel) -> Result<AttributeMatchers, Diagnostics> {
    match matchers_json(&m.attribute_matchers) {
        Some(json) if !json.is_empty() => Ok(json),
        _ => Err(Diagnostic::error(
            "Cannot send attribute_matchers",
            "attribute_matchers could not be turned into a non-empty JSON object of claim values, \
             so nothing was sent. Check the values (strings, booleans or numbers that JSON holds \
             exactly) and plan again.",
        )
        .at(Path::root().attr(M::attribute_matchers))
        .into()),
    }
}

#[async_trait]
impl Resource<ProviderData> for ServiceAccountMappingResource {
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
                    MappingIdentity::workload_identity_provider_id,
                    "The provider's id (`wip_...`).",
                )
                .required(MappingIdentity::id, "The mapping's id (`wifr_...`)."),
        )
    }

    fn identity_of(&self, state: &Value) -> Option<Value> {
        let state = MappingModel::from_value(state).ok()?;
        let identity = MappingIdentity {
            workload_identity_provider_id: Field::Known(
                state.workload_identity_provider_id.into_known()?,
            ),
            id: Field::Known(state.id.into_known()?),
        };
        Some(identity.to_value())
    }

    fn config_rules(&self) -> ConfigRules {
        ConfigRules::of(validate_config)
    }

    fn normalize_plan(&self, ctx: &mut PlanCtx) {
        // A null prior (a create) or planned value is not an object: nothing to keep.
        let (Ok(prior), Ok(mut plan)) = (M::from_value(&ctx.prior), M::from_value(&ctx.planned))
        else {
            return;
        };
        // Same JSON, different spelling (e.g. map(string) vs object): no change.
        if let (Some(p), Some(n)) = (
            matchers_json(&prior.attribute_matchers),
            matchers_json(&plan.attribute_matchers),
        ) && p == n
        {
            plan.attribute_matchers = prior.attribute_matchers;
            ctx.planned = plan.to_value();
        }
    }

    async fn modify_plan(&self, data: Option<&ProviderData>, plan: &mut PlanCtx) {
        crate::guards::plan_mapping(data, plan).await;
    }

    async fn create(
        &self,
        data: &ProviderData,
        req: CreateRequest,
    ) -> Result<CreateResponse, Diagnostics> {
        let planned = M::from_value(&req.planned)?;
        let replaces = crate::guards::replacement::replaces(&req.private);
        let pid = planned.workload_identity_provider_id.or_empty();
        let lock = data.pinning.write_lock(pid);
        let _writing = lock.read().await;
        let body = create_request_of(&planned)?;
        let enabling = planned.enabled.known() != Some(&false);
        data.recheck_pinning(&planned, &body.attribute_matchers, enabling, None)
            .await?;
        let client = data.client()?;
        let since = client.server_now_secs() - openai_admin::CREATED_AT_SLACK_SECS;
        let aside = async || {
            data.step_aside_mapping(pid, replaces.as_deref(), body.name.as_deref())
                .await
        };
        let back = async || {
            data.step_back_mapping(pid, replaces.as_deref(), body.name.as_deref())
                .await
        };
        let placeholder = || crate::pending::placeholder!(MappingModel, planned);
        let spec = CreateSpec {
            what: "service account mapping",
            identified_by: "a mapping of the same provider and service account with the same \
                            name, or with the same matchers when it has none",
            limit_setting: "max_mappings_per_provider",
            arguments: api_arguments(),
            scope: Scope::Mappings(pid.to_string()),
        };
        let r = match data
            .create_guarded(&spec, since, placeholder, aside, back, || {
                client.create_rule(pid, &body)
            })
            .await?
        {
            Written::Object(r) => r,
            Written::Lost(placeholder) => return Ok(placeholder),
        };
        // Judged as the API now holds it.
        let written_at = tokio::time::Instant::now();
        let unverified = match data
            .recheck_pinning(&planned, &r.attribute_matchers, r.enabled, Some(written_at))
            .await
        {
            Ok(unverified) => unverified,
            Err(mut refused) => {
                // Undo: the rule must not stay on a shared issuer unpinned.
                match client
                    .delete_rule(&r.workload_identity_provider_id, &r.id)
                    .await
                {
                    Ok(_) => {
                        data.step_back_mapping(pid, replaces.as_deref(), body.name.as_deref())
                            .await;
                        return Err(refused);
                    }
                    Err(e) if e.is_not_found() => {
                        data.step_back_mapping(pid, replaces.as_deref(), body.name.as_deref())
                            .await;
                        return Err(refused);
                    }
                    Err(e) => {
                        // Keep it in the state (Terraform taints it, and the
                        // next apply deletes it) rather than lose track.
                        refused.extend(api_error(
                            Op::new(Action::Delete, format!("the mapping {} again", r.id)),
                            &e,
                            &[],
                        ));
                        return Ok(CreateResponse::new(state_from_api(&r, &planned).to_value())
                            .with_diagnostics(refused));
                    }
                }
            }
        };
        if replaces.is_some() {
            data.replacement_done(&crate::guards::mapping::scope_of(pid), body.name.as_deref());
        }
        data.inventory.put_rule(r.clone()).await;
        data.pinning.written();
        data.ledger.created(
            Scope::Mappings(r.workload_identity_provider_id.clone()),
            &r.id,
        );
        let mut resp = CreateResponse::new(state_from_api(&r, &planned).to_value());
        if let Some(w) = unverified {
            resp.diagnostics.push(w);
        }
        Ok(resp)
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadRequest,
    ) -> Result<ReadResponse, Diagnostics> {
        let state = M::from_value(&req.state)?;
        if let Some(since) = crate::pending::since(&req.private) {
            let found = data.pending_rule(&state, since).await?;
            // A placeholder is tainted, so Terraform replaces what it finds:
            // its name is free for the create that replaces it.
            if let Some(r) = &found {
                data.inventory.names.going(&r.id);
            }
            return Ok(
                ReadResponse::new(found.map(|r| state_from_api(&r, &state).to_value()))
                    .with_private(Vec::new()),
            );
        }
        let found = data
            .inventory
            .rule(
                data.client()?,
                state.workload_identity_provider_id.or_empty(),
                state.id.or_empty(),
            )
            .await
            .map_err(|e| api_error(Op::new(Action::Read, "service account mappings"), &e, &[]))?;
        if let Some(r) = &found {
            data.inventory.names.refreshed(&r.id);
        }
        let mut resp =
            ReadResponse::new(found.as_ref().map(|r| state_from_api(r, &state).to_value()));
        // A permissions type this provider cannot represent: see `unmanaged_kind`.
        resp.private = found.as_ref().map(|r| {
            unmanaged_kind::private(match &r.permissions {
                Permissions::Unknown { kind, .. } => Some(unmanaged_kind::UnmanagedKind {
                    field: "permissions type".into(),
                    value: kind.clone(),
                }),
                _ => None,
            })
        });
        Ok(resp)
    }

    async fn update(
        &self,
        data: &ProviderData,
        req: UpdateRequest,
    ) -> Result<UpdateResponse, Diagnostics> {
        unmanaged_kind::refuse_update(&req.private, "service account mapping", M::scopes)?;
        let prior = M::from_value(&req.prior)?;
        let planned = M::from_value(&req.planned)?;
        let lock = data
            .pinning
            .write_lock(planned.workload_identity_provider_id.or_empty());
        let _writing = lock.read().await;
        let enabling = planned.enabled.known() != Some(&false);
        data.recheck_pinning(&planned, &matchers_of(&planned)?, enabling, None)
            .await?;
        let kept = KeptByTerraform::of(&prior, &planned);
        // Only what the plan changes is sent (see `KeptByTerraform`), so a
        // field under `ignore_changes` that someone narrowed after the plan
        // (a matcher the security team tightened) is never widened again.
        // A change of the guard switch alone sends nothing: the rule is read.
        let req = UpdateRuleRequest {
            attribute_matchers: if kept.attribute_matchers {
                None
            } else {
                Some(matchers_of(&planned)?)
            },
            name: (!kept.name).then(|| planned.name.known().cloned()),
            description: (!kept.description).then(|| planned.description.known().cloned()),
            // A disabled plan always sends `enabled = false`: the fields it
            // leaves alone may have been changed since, and a disabled rule
            // is what lets the guards allow them.
            enabled: planned
                .enabled
                .known()
                .copied()
                .filter(|on| !kept.enabled || !on),
            permissions: (!kept.scopes).then(|| permissions_of(&planned)),
        };
        let pid = prior.workload_identity_provider_id.or_empty();
        let id = prior.id.or_empty();
        let client = data.client()?;
        let r = if req == UpdateRuleRequest::default() {
            client.get_rule(pid, id).await
        } else {
            crate::guards::write_when_name_free(
                "service account mapping",
                false,
                async || false,
                || client.update_rule(pid, id, &req),
            )
            .await
        }
        .map_err(|e| {
            api_error(
                Op::new(Action::Update, "the service account mapping"),
                &e,
                api_arguments(),
            )
        })?;
        let checked = data
            .recheck_pinning(
                &planned,
                &r.attribute_matchers,
                r.enabled,
                Some(tokio::time::Instant::now()),
            )
            .await;
        let unverified = match &checked {
            Ok(w) => w.clone(),
            Err(_) => None,
        };
        if let Err(mut refused) = checked {
            // Undo: back to the prior rule, disabled (the safe state: the
            // prior matchers may be unpinned under the new issuer too).
            let undo = UpdateRuleRequest {
                attribute_matchers: req
                    .attribute_matchers
                    .as_ref()
                    .and(matchers_of(&prior).ok()),
                name: req.name.as_ref().map(|_| prior.name.known().cloned()),
                description: req
                    .description
                    .as_ref()
                    .map(|_| prior.description.known().cloned()),
                enabled: Some(false),
                permissions: req.permissions.as_ref().map(|_| permissions_of(&prior)),
            };
            if let Err(e) = client.update_rule(pid, id, &undo).await {
                refused.extend(api_error(
                    Op::worded(
                        Action::Update,
                        "undo the mapping update; disable the mapping by hand",
                    ),
                    &e,
                    &[],
                ));
            } else {
                refused.push(Diagnostic::warning(
                    "Mapping disabled",
                    format!(
                        "The mapping {id} was set back to its prior values and disabled, so that \
                         it admits no token. Pin it (or fix its provider's issuer), then apply again."
                    ),
                ));
            }
            return Err(refused);
        }
        data.inventory.put_rule(r.clone()).await;
        data.pinning.written();
        let state = kept.restore(state_from_api(&r, &planned), &planned);
        let mut resp = UpdateResponse::new(state.to_value());
        if let Some(w) = unverified {
            resp.diagnostics.push(w);
        }
        Ok(resp)
    }

    async fn delete(
        &self,
        data: &ProviderData,
        req: DeleteRequest,
    ) -> Result<DeleteResponse, Diagnostics> {
        let prior = M::from_value(&req.prior)?;
        let pid = prior.workload_identity_provider_id.or_empty();
        // A delete of the provider that waits for its rules to go sees this one.
        let _deleting = data.inventory.rule_deletes.begin(pid);
        // Its name is free for a create the apply walk plans in parallel.
        data.inventory.names.going(prior.id.or_empty());
        let recovered;
        let id = match crate::pending::since(&req.private) {
            // A placeholder not refreshed since its create was interrupted.
            Some(since) => match data.pending_rule(&prior, since).await? {
                Some(r) => {
                    recovered = r.id;
                    recovered.as_str()
                }
                None => return Ok(DeleteResponse::new()),
            },
            None => prior.id.or_empty(),
        };
        match data.client()?.delete_rule(pid, id).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                return Err(api_error(
                    Op::new(Action::Delete, "the service account mapping"),
                    &e,
                    &[],
                ));
            }
        }
        data.inventory.remove_rule(pid, id).await;
        data.pinning.written();
        data.mapping_going_away(pid, id, crate::guards::Removal::Deleted)
            .await;
        Ok(DeleteResponse::new())
    }

    async fn import(
        &self,
        _data: &ProviderData,
        req: ImportRequest,
    ) -> Result<ImportResponse, Diagnostics> {
        let (pid, rid) = split_import_id(
            &req.id,
            "<workload identity provider id>/<mapping id>",
            "wip_abc/wifr_def",
        )?;
        let stub = MappingModel {
            id: Field::Known(rid.to_string()),
            workload_identity_provider_id: Field::Known(pid.to_string()),
            ..MappingModel::default()
        };
        Ok(ImportResponse::new(stub.to_value()))
    }

    fn supports_list(&self) -> bool {
        true
    }

    fn list_schema(&self) -> Schema {
        Schema::new("Lists service account mappings: of one workload identity provider, or of all.")
            .attribute(
                Attribute::optional(
                    MappingListConfig::workload_identity_provider_id,
                    Type::String,
                )
                .description(
                    "Only list the mappings of this provider (`wip_...`). Omit to list the \
                     mappings of every provider of the organization.",
                )
                .not_empty(
                    "Give the id of the provider whose mappings to list (`wip_...`), or omit it \
                     to list the mappings of every provider.",
                ),
            )
            .attribute(
                Attribute::optional(MappingListConfig::service_account_id, Type::String)
                    .description("Only list mappings to this service account (`svc_acct_...`).")
                    .not_empty(
                        "Give a service account id (`svc_acct_...`), or omit it to list the \
                         mappings of every service account.",
                    ),
            )
            .attribute(
                Attribute::optional(MappingListConfig::project_id, Type::String)
                    .description("Only list mappings into this project (`proj_...`).")
                    .not_empty(
                        "Give a project id (`proj_...`), or omit it to list the mappings into \
                         every project.",
                    ),
            )
    }

    async fn list(
        &self,
        data: &ProviderData,
        req: ListRequest,
    ) -> Result<ListResponse, Diagnostics> {
        let config = MappingListConfig::from_value(&req.config)?;
        let account = config.service_account_id.as_deref();
        let project = config.project_id.as_deref();
        let providers: Vec<String> = match config.workload_identity_provider_id.as_deref() {
            Some(pid) => vec![pid.to_owned()],
            None => data
                .inventory
                .providers(data.client()?, |s| s.objects.keys().cloned().collect())
                .await
                .map_err(|e| {
                    api_error(
                        Op::new(Action::List, "workload identity providers"),
                        &e,
                        &[],
                    )
                })?,
        };
        let mut rules = Vec::new();
        for pid in &providers {
            let found = data
                .inventory
                .rules(data.client()?, pid, |s| {
                    s.map(|s| s.objects.values().cloned().collect::<Vec<_>>())
                })
                .await
                .map_err(|e| {
                    api_error(Op::new(Action::List, "service account mappings"), &e, &[])
                })?;
            match found {
                Some(found) => rules.extend(found),
                // Gone since the listing: nothing of it to adopt.
                None if config.workload_identity_provider_id.is_null() => {}
                None => {
                    return Err(Diagnostic::error(
                        "Workload identity provider not found",
                        format!(
                            "There is no workload identity provider {pid:?} in this organization. \
                             Check workload_identity_provider_id in the list block's config."
                        ),
                    )
                    .at(Path::root().attr(MappingListConfig::workload_identity_provider_id))
                    .into());
                }
            }
        }
        let items = rules
            .into_iter()
            .filter(|r| account.is_none_or(|a| r.service_account_id == a))
            .filter(|r| project.is_none_or(|p| r.project_id == p))
            .filter_map(|r| {
                let state = state_from_api(&r, &MappingModel::default()).to_value();
                Some(ListedItem::new(
                    r.name.clone().unwrap_or_else(|| r.id.clone()),
                    self.identity_of(&state)?,
                    state,
                ))
            })
            .collect();
        Ok(ListResponse::new(items))
    }

    async fn import_by_identity(
        &self,
        data: &ProviderData,
        req: ImportByIdentityRequest,
    ) -> Result<ImportResponse, Diagnostics> {
        let identity = MappingIdentity::from_value(&req.identity)?;
        let id = format!(
            "{}/{}",
            identity.workload_identity_provider_id.or_empty(),
            identity.id.or_empty()
        );
        self.import(data, ImportRequest::new(id)).await
    }
}

impl ProviderData {
    /// The rule an interrupted create ([`crate::pending`]) made, if any,
    /// recognised as lost-create recovery does.
    async fn pending_rule(
        &self,
        state: &MappingModel,
        since: i64,
    ) -> Result<Option<FederationRule>, Diagnostics> {
        let wanted = create_request_of(state)?;
        let pid = state.workload_identity_provider_id.or_empty();
        self.inventory
            .rules(self.client()?, pid, |s| {
                s.and_then(|s| {
                    s.objects
                        .values()
                        .filter(|r| r.created_at >= since && openai_admin::rule_matches(r, &wanted))
                        .max_by_key(|r| r.created_at)
                        .cloned()
                })
            })
            .await
            .map_err(|e| {
                api_error(
                    Op::new(Action::LookFor, "an interrupted mapping create"),
                    &e,
                    &[],
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::testing::{Rule, assert_rule, at, validation_of};
    use tfplugin::framework::model::mismatches;

    #[test]
    fn models_match_their_schemas() {
        let r = ServiceAccountMappingResource;
        assert_eq!(
            mismatches::<MappingModel>(&schema().object_type()),
            Vec::<String>::new()
        );
        let identity = r.identity_schema().unwrap().object_type();
        assert_eq!(
            mismatches::<MappingIdentity>(&identity),
            Vec::<String>::new()
        );
        let list = r.list_schema().object_type();
        assert_eq!(mismatches::<MappingListConfig>(&list), Vec::<String>::new());
    }

    #[test]
    fn api_errors_may_point_at_the_arguments_sent() {
        assert_eq!(
            api_arguments(),
            [
                "workload_identity_provider_id",
                "project_id",
                "service_account_id",
                "attribute_matchers",
                "name",
                "description",
                "enabled",
                "scopes",
            ]
        );
    }

    fn matchers(j: serde_json::Value) -> Field<Value> {
        let (ty, v) = from_json(&j);
        Field::Known(Value::Dynamic(ty, Box::new(v)))
    }

    fn valid() -> MappingModel {
        MappingModel {
            workload_identity_provider_id: Field::Known("wip_1".into()),
            project_id: Field::Known("proj_1".into()),
            service_account_id: Field::Known("svc_acct_1".into()),
            attribute_matchers: matchers(serde_json::json!({ "sub": "repo:my-org/*" })),
            ..MappingModel::default()
        }
    }

    /// Validates the configuration as Terraform would send it.
    fn check(config: &MappingModel) -> Diagnostics {
        validation_of(
            &schema(),
            &ServiceAccountMappingResource.config_rules(),
            config,
        )
    }

    fn scopes(xs: &[Field<String>]) -> Field<Set<Field<String>>> {
        Field::Known(Set(xs.to_vec()))
    }

    #[test]
    fn valid_configurations_pass() {
        let known = |s: &str| Field::Known(s.to_string());
        for (case, config) in [
            ("trailing wildcard", valid()),
            (
                "matchers unknown",
                MappingModel {
                    attribute_matchers: Field::Unknown,
                    ..valid()
                },
            ),
            (
                "typed values and an unknown one",
                MappingModel {
                    attribute_matchers: Field::Known(Value::Dynamic(
                        Type::object([("a", Type::Bool), ("b", Type::Number), ("c", Type::String)]),
                        Box::new(Value::object([
                            ("a", Value::Bool(true)),
                            ("b", Value::Number(1.into())),
                            ("c", Value::Unknown),
                        ])),
                    )),
                    ..valid()
                },
            ),
            (
                "a map",
                MappingModel {
                    attribute_matchers: Field::Known(Value::Dynamic(
                        Type::map(Type::String),
                        Box::new(Value::map([("sub", Value::string("x"))])),
                    )),
                    ..valid()
                },
            ),
            (
                "scopes",
                MappingModel {
                    scopes: scopes(&[known("api.model.request")]),
                    ..valid()
                },
            ),
            (
                "scope unknown",
                MappingModel {
                    scopes: scopes(&[Field::Unknown]),
                    ..valid()
                },
            ),
            (
                "ids unknown",
                MappingModel {
                    workload_identity_provider_id: Field::Unknown,
                    project_id: Field::Unknown,
                    ..valid()
                },
            ),
        ] {
            let d = check(&config);
            assert!(d.is_empty(), "{case}: {d:#?}");
        }
    }

    #[test]
    fn matchers_that_do_not_convert_are_an_error_never_an_empty_policy() {
        assert!(matchers_of(&valid()).is_ok_and(|m| m["sub"] == "repo:my-org/*"));
        let unsendable = Value::Dynamic(
            Type::object([("sub", Type::String), ("n", Type::Number)]),
            Box::new(Value::object([
                ("sub", Value::String("good-sub".into())),
                ("n", Value::Unknown),
            ])),
        );
        for attribute_matchers in [
            Field::Null,
            Field::Unknown,
            Field::Known(unsendable),
            matchers(serde_json::json!({})),
        ] {
            let model = MappingModel {
                attribute_matchers,
                ..valid()
            };
            let e = matchers_of(&model).expect_err("no matchers are sent");
            let d = e.iter().next().unwrap();
            assert_eq!(d.summary, "Cannot send attribute_matchers");
            assert_eq!(d.path, at(M::attribute_matchers));
        }
    }

    #[test]
    fn each_rule_fails_with_its_message_on_its_attribute() {
        let empty = Field::Known(String::new());
        let m = |k: &str| Path::root().attr(M::attribute_matchers).key(k);
        let number = |text: &str| {
            Field::Known(Value::Dynamic(
                Type::object([("sub", Type::String), ("run_attempt", Type::Number)]),
                Box::new(Value::object([
                    ("sub", Value::String("good-sub".into())),
                    (
                        "run_attempt",
                        Value::Number(tfplugin::codec::Number::parse(text).unwrap()),
                    ),
                ])),
            ))
        };
        let rules = [
            Rule {
                case: "null matchers",
                config: MappingModel {
                    attribute_matchers: Field::Null,
                    ..valid()
                },
                path: at(M::attribute_matchers),
                summary: "Null attribute_matchers",
                detail: "an empty set of matchers would admit every token",
            },
            Rule {
                case: "null matchers of a type (a null map(string) variable)",
                config: MappingModel {
                    attribute_matchers: Field::Known(Value::Dynamic(
                        Type::Map(Box::new(Type::String)),
                        Box::new(Value::Null),
                    )),
                    ..valid()
                },
                path: at(M::attribute_matchers),
                summary: "Null attribute_matchers",
                detail: "an empty set of matchers would admit every token",
            },
            Rule {
                case: "a number JSON cannot hold",
                config: MappingModel {
                    attribute_matchers: number("1e309"),
                    ..valid()
                },
                path: Some(m("run_attempt")),
                summary: "Matcher number not representable",
                detail: "\"run_attempt\" cannot be sent as a JSON number without changing it",
            },
            Rule {
                case: "a number JSON would round",
                config: MappingModel {
                    attribute_matchers: number("123456789012345678901234567"),
                    ..valid()
                },
                path: Some(m("run_attempt")),
                summary: "Matcher number not representable",
                detail: "cannot be sent as a JSON number without changing it",
            },
            Rule {
                case: "empty name",
                config: MappingModel {
                    name: empty.clone(),
                    ..valid()
                },
                path: at(M::name),
                summary: "Empty name",
                detail: "name must not be empty.",
            },
            Rule {
                case: "empty provider id",
                config: MappingModel {
                    workload_identity_provider_id: empty.clone(),
                    ..valid()
                },
                path: at(M::workload_identity_provider_id),
                summary: "Empty workload_identity_provider_id",
                detail: "workload_identity_provider_id must not be empty.",
            },
            Rule {
                case: "empty project id",
                config: MappingModel {
                    project_id: empty.clone(),
                    ..valid()
                },
                path: at(M::project_id),
                summary: "Empty project_id",
                detail: "project_id must not be empty.",
            },
            Rule {
                case: "empty service account id",
                config: MappingModel {
                    service_account_id: empty.clone(),
                    ..valid()
                },
                path: at(M::service_account_id),
                summary: "Empty service_account_id",
                detail: "service_account_id must not be empty.",
            },
            Rule {
                case: "no matchers",
                config: MappingModel {
                    attribute_matchers: matchers(serde_json::json!({})),
                    ..valid()
                },
                path: at(M::attribute_matchers),
                summary: "Empty attribute_matchers",
                detail: "at least one claim",
            },
            Rule {
                case: "lone wildcard",
                config: MappingModel {
                    attribute_matchers: matchers(serde_json::json!({ "sub": "*" })),
                    ..valid()
                },
                path: Some(m("sub")),
                summary: "Invalid matcher value",
                detail: "Only a single trailing `*` after a non-empty prefix is allowed",
            },
            Rule {
                case: "inner wildcard",
                config: MappingModel {
                    attribute_matchers: matchers(serde_json::json!({ "sub": "repo:*:main" })),
                    ..valid()
                },
                path: Some(m("sub")),
                summary: "Invalid matcher value",
                detail: "\"repo:*:main\" uses `*` where it is not supported",
            },
            Rule {
                case: "two trailing wildcards",
                config: MappingModel {
                    attribute_matchers: matchers(serde_json::json!({ "sub": "repo:**" })),
                    ..valid()
                },
                path: Some(m("sub")),
                summary: "Invalid matcher value",
                detail: "where it is not supported",
            },
            Rule {
                case: "collection value",
                config: MappingModel {
                    attribute_matchers: matchers(serde_json::json!({ "groups": ["a"] })),
                    ..valid()
                },
                path: Some(m("groups")),
                summary: "Invalid matcher value",
                detail: "The value for claim \"groups\" must be a string, boolean or number, not a collection.",
            },
            Rule {
                case: "null value",
                config: MappingModel {
                    attribute_matchers: Field::Known(Value::Dynamic(
                        Type::object([("sub", Type::String)]),
                        Box::new(Value::object([("sub", Value::Null)])),
                    )),
                    ..valid()
                },
                path: Some(m("sub")),
                summary: "Null matcher value",
                detail: "The value for claim \"sub\" is null.",
            },
            Rule {
                case: "empty claim name",
                config: MappingModel {
                    attribute_matchers: matchers(serde_json::json!({ "": "x" })),
                    ..valid()
                },
                path: Some(m("")),
                summary: "Empty claim name",
                detail: "Claim names must not be empty.",
            },
            Rule {
                case: "not an object",
                config: MappingModel {
                    attribute_matchers: matchers(serde_json::json!("sub")),
                    ..valid()
                },
                path: at(M::attribute_matchers),
                summary: "Invalid attribute_matchers",
                detail: "attribute_matchers must be an object of claim name to value",
            },
            Rule {
                case: "no scopes",
                config: MappingModel {
                    scopes: scopes(&[]),
                    ..valid()
                },
                path: at(M::scopes),
                summary: "Empty scopes",
                detail: "Omit scopes to keep the service account's default permissions.",
            },
            Rule {
                case: "empty scope",
                config: MappingModel {
                    scopes: scopes(std::slice::from_ref(&empty)),
                    ..valid()
                },
                path: at(M::scopes),
                summary: "Empty scope",
                detail: "Scopes must not be empty strings.",
            },
            Rule {
                case: "no scope at all",
                config: MappingModel {
                    scopes: scopes(&[Field::Known("admin".into())]),
                    ..valid()
                },
                path: at(M::scopes),
                summary: "Invalid scope",
                detail: "scopes look like `api.<area>.<level>`",
            },
            Rule {
                case: "an Admin API scope",
                config: MappingModel {
                    scopes: scopes(&[Field::Known("api.management.write".into())]),
                    ..valid()
                },
                path: at(M::scopes),
                summary: "Invalid scope",
                detail: "Admin API scope, which a mapping cannot grant",
            },
        ];
        for rule in &rules {
            assert_rule(rule, &check(&rule.config));
        }
    }

    #[test]
    fn an_undocumented_scope_is_a_warning_that_names_the_likely_one() {
        let d = check(&MappingModel {
            scopes: scopes(&[
                Field::Known("api.model.requests".into()),
                Field::Known("api.model.read".into()),
            ]),
            ..valid()
        });
        let all: Vec<_> = d.iter().collect();
        assert_eq!(all.len(), 1, "{d:#?}");
        assert_eq!(all[0].severity, tfplugin::framework::Severity::Warning);
        assert_eq!(all[0].summary, "Unknown scope");
        assert_eq!(all[0].path, at(M::scopes));
        assert!(
            all[0]
                .detail
                .contains("did you mean \"api.model.request\"?"),
            "{}",
            all[0].detail
        );
    }

    #[test]
    fn list_config_rules() {
        let valid = MappingListConfig {
            workload_identity_provider_id: Field::Known("wip_1".into()),
            service_account_id: Field::Null,
            project_id: Field::Null,
        };
        let list_schema = ServiceAccountMappingResource.list_schema();
        let check = |config: &MappingListConfig| {
            validation_of(
                &list_schema,
                &ServiceAccountMappingResource.list_config_rules(),
                config,
            )
        };
        let d = check(&valid);
        assert!(d.is_empty(), "{d:#?}");
        let empty = Field::Known(String::new());
        let rules = [
            Rule {
                case: "empty provider id",
                config: MappingListConfig {
                    workload_identity_provider_id: empty.clone(),
                    ..valid.clone()
                },
                path: at(MappingListConfig::workload_identity_provider_id),
                summary: "Empty workload_identity_provider_id",
                detail: "workload_identity_provider_id must not be empty. Give the id of the provider",
            },
            Rule {
                case: "empty service account id",
                config: MappingListConfig {
                    service_account_id: empty.clone(),
                    ..valid.clone()
                },
                path: at(MappingListConfig::service_account_id),
                summary: "Empty service_account_id",
                detail: "service_account_id must not be empty. Give a service account id",
            },
            Rule {
                case: "empty project id",
                config: MappingListConfig {
                    project_id: empty,
                    ..valid.clone()
                },
                path: at(MappingListConfig::project_id),
                summary: "Empty project_id",
                detail: "project_id must not be empty. Give a project id",
            },
        ];
        for rule in &rules {
            assert_rule(rule, &check(&rule.config));
        }
    }

    fn rule(permissions: Permissions, matchers: serde_json::Value) -> FederationRule {
        serde_json::from_value(serde_json::json!({
            "object": "organization.workload_identity_provider.federation_rule",
            "id": "wifr_1",
            "workload_identity_provider_id": "wip_1",
            "project_id": "proj_1",
            "service_account_id": "svc_acct_1",
            "attribute_matchers": matchers,
            "name": null,
            "description": "d",
            "enabled": true,
            "permissions": serde_json::to_value(permissions).unwrap(),
            "created_at": 1,
            "updated_at": 2,
        }))
        .unwrap()
    }

    #[test]
    fn a_rule_with_unknown_permissions_still_maps_into_state() {
        let r = rule(
            serde_json::from_value(serde_json::json!({"type": "role_based", "role": "reader"}))
                .unwrap(),
            serde_json::json!({ "sub": "x" }),
        );
        let s = state_from_api(&r, &MappingModel::default());
        assert_eq!(s.id, Field::Known("wifr_1".into()));
        assert_eq!(s.scopes, Field::Null);
        assert_eq!(s.enabled, Field::Known(true));
    }

    #[test]
    fn state_keeps_the_prior_spelling_of_equal_matchers_and_the_guard_switch() {
        let r = rule(
            Permissions::Restricted {
                scopes: vec!["a".into(), "b".into()],
            },
            serde_json::json!({ "sub": "x" }),
        );
        let prior = MappingModel {
            attribute_matchers: Field::Known(Value::Dynamic(
                Type::map(Type::String),
                Box::new(Value::map([("sub", Value::string("x"))])),
            )),
            allow_unpinned_shared_issuer: Field::Known(true),
            ..valid()
        };
        let s = state_from_api(&r, &prior);
        assert_eq!(s.attribute_matchers, prior.attribute_matchers);
        assert_eq!(s.allow_unpinned_shared_issuer, Field::Known(true));
        assert_eq!(s.description, Field::Known("d".into()));
        assert_eq!(s.name, Field::Null);
        assert_eq!(
            s.scopes,
            scopes(&[Field::Known("b".into()), Field::Known("a".into())])
        );
        assert_eq!(permissions_of(&s), r.permissions);

        let fresh = state_from_api(&r, &MappingModel::default());
        assert_eq!(
            fresh.attribute_matchers,
            matchers(serde_json::json!({ "sub": "x" }))
        );
        assert_eq!(fresh.allow_unpinned_shared_issuer, Field::Null);
        let default = rule(
            Permissions::ServiceAccountDefault,
            serde_json::json!({ "sub": "x" }),
        );
        let s = state_from_api(&default, &MappingModel::default());
        assert_eq!(s.scopes, Field::Null);
        assert_eq!(permissions_of(&s), Permissions::ServiceAccountDefault);
        // The state holds every attribute of the schema.
        assert!(mismatches::<MappingModel>(&schema().object_type()).is_empty());
        assert_eq!(
            s.to_value().as_object().unwrap().len(),
            schema().attributes.len()
        );
    }
}
