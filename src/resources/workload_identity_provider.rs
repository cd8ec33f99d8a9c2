//! Resource `openai_workload_identity_provider`: a trusted OIDC issuer.

use std::collections::BTreeSet;

use async_trait::async_trait;

use crate::errors::{Action, Op, api_error};
use crate::guards::create::{CreateSpec, Written};
use crate::limits::Scope;
use crate::provider_data::ProviderData;
use crate::resources::unmanaged_kind;
use crate::validate::https_url;
use crate::values::arguments;
use openai_admin::models::{
    AttributeTransformation, CreateProviderRequest, MAX_ATTRIBUTE_TRANSFORMATIONS,
    MAX_TRANSFORMATION_ATTRIBUTE_LEN, MAX_TRANSFORMATION_EXPRESSION_LEN, UpdateProviderRequest,
    Verification, WorkloadIdentityProvider,
};
use tfplugin::codec::{Path, Type, Value};
use tfplugin::framework::model::{Field, Model};
use tfplugin::framework::{
    Attribute, ConfigRules, CreateRequest, CreateResponse, DeleteRequest, DeleteResponse,
    Diagnostics, IdentitySchema, ImportByIdentityRequest, ImportRequest, ImportResponse,
    ListRequest, ListResponse, ListedItem, PlanCtx, ReadRequest, ReadResponse, Resource, Schema,
    UpdateRequest, UpdateResponse,
};

pub(crate) const TYPE_NAME: &str = "openai_workload_identity_provider";

/// How long a provider delete may wait for the mapping deletes of the same
/// run that block it.
const RULE_DELETE_WAIT: std::time::Duration = std::time::Duration::from_secs(120);
/// How long it waits for such a delete to begin before deciding that none
/// is coming.
const RULE_DELETE_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

tfplugin::model! {
    /// A provider's configuration, plan or state.
    pub(crate) struct ProviderModel {
        pub id: Field<String>,
        pub name: Field<String>,
        pub issuer: Field<String>,
        pub audience: Field<String>,
        pub description: Field<String>,
        pub enabled: Field<bool>,
        pub attribute_transformations: Field<Vec<Field<TransformationModel>>>,
        pub jwks_json: Field<String>,
        pub discovery_url: Field<String>,
        pub created_at: Field<i64>,
        pub updated_at: Field<i64>,
    }
}

tfplugin::model! {
    /// One element of `attribute_transformations`.
    pub(crate) struct TransformationModel {
        pub attribute: Field<String>,
        pub expression: Field<String>,
    }
}

tfplugin::model! {
    /// A provider's resource identity.
    pub(crate) struct ProviderIdentity {
        pub id: Field<String>,
    }
}

tfplugin::model! {
    /// The `config` of a `list` block.
    pub(crate) struct ProviderListConfig {
        pub name_prefix: Field<String>,
        pub issuer: Field<String>,
    }
}

type M = ProviderModel;

pub(crate) struct WorkloadIdentityProviderResource;

fn transformation_type() -> Type {
    Type::object([
        (TransformationModel::attribute, Type::String),
        (TransformationModel::expression, Type::String),
    ])
}

/// The arguments an API error's `param` may point at, listed once.
fn api_arguments() -> &'static [&'static str] {
    static ARGS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    ARGS.get_or_init(|| arguments(&schema(), &[]))
}

pub(crate) fn schema() -> Schema {
    Schema::new(
        "A trusted OIDC issuer (an OpenAI workload identity provider). Workloads whose tokens \
         this issuer signed may exchange them for OpenAI access tokens, as allowed by the \
         provider's `openai_service_account_mapping`s. At most 50 per organization.",
    )
    .attribute(
        Attribute::computed(M::id, Type::String)
            .use_state_for_unknown()
            .description("The provider's id (`wip_...`)."),
    )
    .attribute(
        Attribute::required(M::name, Type::String)
            .description("A name, unique in the organization.")
            .not_empty("Give the provider a name, unique in the organization."),
    )
    .attribute(
        Attribute::required(M::issuer, Type::String)
            .description(
                "The issuer URL, exactly as it appears in the tokens' `iss` claim. Must be an \
                 absolute https URL (http only for loopback hosts). It is never normalised: a \
                 trailing slash is kept as written.",
            )
            .not_blank("Give the issuer URL, as its tokens' `iss` claim has it."),
    )
    .attribute(
        Attribute::required(M::audience, Type::String)
            .description(
                "The audience the tokens must carry in `aud`, e.g. `https://api.openai.com/v1`.",
            )
            .not_empty(
                "Give the audience its tokens carry in `aud`, e.g. `https://api.openai.com/v1`.",
            ),
    )
    .attribute(Attribute::optional(M::description, Type::String).description("A description."))
    .attribute(
        Attribute::optional_computed(M::enabled, Type::Bool)
            .default(Value::Bool(true))
            .description(
                "Whether token exchanges through this provider are allowed. Defaults to `true`.",
            ),
    )
    .attribute(
        Attribute::optional(
            M::attribute_transformations,
            Type::List(Box::new(transformation_type())),
        )
        .description(format!(
            "Up to {MAX_ATTRIBUTE_TRANSFORMATIONS} CEL transformations deriving attributes \
                 from the token, each `{{ attribute = \"openai.<name>\", expression = \"<CEL over \
                 assertion>\" }}`. Mappings match derived attributes by their `openai.` name."
        )),
    )
    .attribute(Attribute::optional(M::jwks_json, Type::String).description(
        "A JSON Web Key Set (public keys only) used to verify tokens instead of OIDC discovery, \
         as a JSON string with a non-empty `keys` array, each key with a unique `kid`. \
         Conflicts with `discovery_url`. Compared semantically: reformatting is no change.",
    ))
    .attribute(
        Attribute::optional(M::discovery_url, Type::String).description(
            "A custom OIDC discovery URL (https, no credentials, port, query or fragment). \
         Conflicts with `jwks_json`. With neither, discovery from the issuer is used.",
        ),
    )
    .attribute(
        Attribute::computed(M::created_at, Type::Number)
            .use_state_for_unknown()
            .description("Creation time, Unix seconds."),
    )
    .attribute(
        Attribute::computed(M::updated_at, Type::Number)
            .description("Last update time, Unix seconds."),
    )
}

/// Where a provider's keys come from: its issuer, a custom discovery URL or
/// uploaded keys, and not both of the last two. Shared with the
/// `openai_workload_identity_issuer` check, which judges a provider-to-be.
pub(crate) fn validate_key_source(
    issuer: &Field<String>,
    discovery_url: &Field<String>,
    jwks_json: &Field<String>,
    diags: &mut Diagnostics,
) {
    let path = |n: &str| Path::root().attr(n);
    // A blank issuer is the attribute's validator's to report.
    if let Some(issuer) = issuer.as_deref().filter(|i| !i.trim().is_empty()) {
        let why = if issuer.chars().any(char::is_whitespace) {
            Err(format!(
                "{:?} contains white space. Write the issuer exactly as its tokens' `iss` claim does.",
                crate::validate::redact_userinfo(issuer)
            ))
        } else {
            https_url(issuer).and_then(|u| match (u.query(), u.fragment()) {
                (None, None) => Ok(()),
                _ => Err(format!(
                    "{issuer:?} has a query or a fragment, which an OIDC issuer never has. \
                     Write the issuer exactly as its tokens' `iss` claim does."
                )),
            })
        };
        if let Err(why) = why {
            diags.attribute_error(path(M::issuer), "Invalid issuer", why);
        }
    }
    if let Some(url) = discovery_url.as_deref() {
        match https_url(url) {
            Err(why) => diags.attribute_error(path(M::discovery_url), "Invalid discovery_url", why),
            Ok(u)
                if !crate::validate::is_loopback(&u)
                    && (u.port().is_some() || u.query().is_some() || u.fragment().is_some()) =>
            {
                diags.attribute_error(
                    path(M::discovery_url),
                    "Invalid discovery_url",
                    format!("{url:?} must not have a custom port, a query or a fragment."),
                )
            }
            Ok(u) => {
                if let Some(what) = crate::validate::non_public_ip(&u) {
                    diags.attribute_error(
                        path(M::discovery_url),
                        "Invalid discovery_url",
                        format!(
                            "{url:?} points at {what}, which OpenAI cannot (and must not) fetch \
                             from. Serve the discovery document on a public host, or upload the \
                             keys with jwks_json."
                        ),
                    )
                }
            }
        }
    }
    // Only values known now can conflict: a module may choose one of the two
    // with conditionals on variables that are unknown during validation.
    if jwks_json.is_present() && discovery_url.is_present() {
        diags.attribute_error(
            path(M::discovery_url),
            "Conflicting key sources",
            "Set either jwks_json (uploaded keys) or discovery_url (custom OIDC discovery), not both.",
        );
    }
}

/// The rules across attributes that need no API call (`terraform validate`);
/// empty names and audiences are the schema's validators.
fn validate_config(config: &ProviderModel, diags: &mut Diagnostics) {
    let path = |n: &str| Path::root().attr(n);
    validate_key_source(
        &config.issuer,
        &config.discovery_url,
        &config.jwks_json,
        diags,
    );
    if let Some(jwks) = config.jwks_json.as_deref()
        && let Err(why) = check_jwks(jwks)
    {
        diags.attribute_error(path(M::jwks_json), "Invalid jwks_json", why);
    }
    let transformations = config
        .attribute_transformations
        .known()
        .map_or(&[][..], Vec::as_slice);
    if transformations.len() > MAX_ATTRIBUTE_TRANSFORMATIONS {
        diags.attribute_error(
            path(M::attribute_transformations),
            "Too many attribute transformations",
            format!(
                "A provider may have at most {MAX_ATTRIBUTE_TRANSFORMATIONS} attribute \
                 transformations; {} are configured.",
                transformations.len()
            ),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, t) in transformations.iter().enumerate() {
        let Some(t) = t.known() else { continue };
        let at = |f: &str| path(M::attribute_transformations).index(i as i64).attr(f);
        if let Some(a) = t.attribute.as_deref()
            && !seen.insert(a)
        {
            diags.attribute_error(
                at(TransformationModel::attribute),
                "Duplicate transformation attribute",
                format!(
                    "{a:?} is computed by an earlier transformation already; each attribute may \
                     be computed once."
                ),
            );
        }
        if let Some(a) = t.attribute.as_deref() {
            let len = a.chars().count();
            if !(1..=MAX_TRANSFORMATION_ATTRIBUTE_LEN).contains(&len) {
                diags.attribute_error(
                    at(TransformationModel::attribute),
                    "Invalid transformation attribute",
                    format!("attribute must be 1 to {MAX_TRANSFORMATION_ATTRIBUTE_LEN} characters long, got {len}."),
                );
            } else if !a.starts_with("openai.") || a.len() == "openai.".len() {
                diags.attribute_error(
                    at(TransformationModel::attribute),
                    "Invalid transformation attribute",
                    format!("{a:?} must start with \"openai.\" followed by a name, e.g. \"openai.repository\"."),
                );
            }
        }
        if let Some(e) = t.expression.as_deref() {
            let len = e.chars().count();
            if !(1..=MAX_TRANSFORMATION_EXPRESSION_LEN).contains(&len) {
                diags.attribute_error(
                    at(TransformationModel::expression),
                    "Invalid transformation expression",
                    format!("expression must be 1 to {MAX_TRANSFORMATION_EXPRESSION_LEN} characters long, got {len}."),
                );
            } else if let Err(why) = openai_federation_rules::cel::check(e) {
                // The API stores any text; a bad expression would only show at token exchange,
                // as "no mapping matches". The exchange's own evaluator finds it now.
                diags.attribute_error(
                    at(TransformationModel::expression),
                    "Invalid transformation expression",
                    format!(
                        "{e:?} is not a usable CEL expression: {why}. Write CEL over the one \
                         variable `assertion` (the token's claims), e.g. `assertion.sub` or \
                         `assertion.repository + \"@\" + assertion.ref`."
                    ),
                );
            }
        }
    }
}

/// A JWKS as the API accepts it: an object with a non-empty `keys` array of
/// public keys, each with a unique non-empty `kid`.
pub(crate) fn check_jwks(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
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
        if key
            .get("kty")
            .and_then(|k| k.as_str())
            .is_none_or(str::is_empty)
        {
            return Err(format!(
                "keys[{i}] has no \"kty\" (key type, e.g. \"RSA\" or \"EC\"); every key needs one."
            ));
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

/// The state for an API object (`prior` is all null when there is none),
/// keeping the prior spelling of values the API only reformats (the JWKS)
/// and null for empty optional collections.
pub(crate) fn state_from_api(p: &WorkloadIdentityProvider, prior: &ProviderModel) -> ProviderModel {
    let attribute_transformations =
        if p.attribute_transformations.is_empty() && prior.attribute_transformations.is_null() {
            Field::Null
        } else {
            Field::Known(
                p.attribute_transformations
                    .iter()
                    .map(|t| {
                        Field::Known(TransformationModel {
                            attribute: Field::Known(t.attribute.clone()),
                            expression: Field::Known(t.expression.clone()),
                        })
                    })
                    .collect(),
            )
        };
    let (jwks_json, discovery_url) = match &p.verification {
        Verification::UploadedJwks { jwks } => {
            let api_text = serde_json::to_string(jwks).unwrap_or_default();
            let text = match prior.jwks_json.as_deref() {
                Some(prior_text) if json_equal(prior_text, &api_text) => prior_text.to_string(),
                _ => api_text,
            };
            (Field::Known(text), Field::Null)
        }
        Verification::Discovery { discovery_url } => (Field::Null, discovery_url.clone().into()),
        // A key source this provider cannot represent (e.g. `x509_ca`): read and list keep the
        // rest of the object.
        Verification::Unknown { .. } => (Field::Null, Field::Null),
    };
    ProviderModel {
        id: Field::Known(p.id.clone()),
        name: Field::Known(p.name.clone()),
        issuer: Field::Known(p.issuer.clone()),
        audience: Field::Known(p.audience.clone()),
        description: p.description.clone().into(),
        enabled: Field::Known(p.enabled),
        attribute_transformations,
        jwks_json,
        discovery_url,
        created_at: Field::Known(p.created_at),
        updated_at: Field::Known(p.updated_at),
    }
}

/// How diagnostics name this object.
pub(crate) const OBJECT: &str = "workload identity provider";

/// A provider type or key source this provider cannot manage, if any.
/// The arguments an update leaves alone: those the plan does not change.
/// An update sends exactly what the plan decided to change. A field the
/// plan leaves as it was may have been changed by hand after the plan was
/// saved, or be under `lifecycle { ignore_changes }`, which Terraform never
/// tells the provider about (it plans and applies with the prior value);
/// in both cases the value on the server is kept. The new state keeps the
/// planned value of those fields (Terraform requires it), so the next plan
/// shows a hand edit as drift, or keeps it when it is ignored.
struct KeptByTerraform {
    name: bool,
    issuer: bool,
    audience: bool,
    description: bool,
    enabled: bool,
    verification: bool,
    attribute_transformations: bool,
}

impl KeptByTerraform {
    fn of(prior: &ProviderModel, planned: &ProviderModel) -> Self {
        let jwks_same = match (prior.jwks_json.as_deref(), planned.jwks_json.as_deref()) {
            (Some(a), Some(b)) => json_equal(a, b),
            (a, b) => a == b,
        };
        KeptByTerraform {
            name: prior.name == planned.name,
            issuer: prior.issuer == planned.issuer,
            audience: prior.audience == planned.audience,
            description: prior.description == planned.description,
            enabled: prior.enabled == planned.enabled,
            verification: jwks_same && prior.discovery_url == planned.discovery_url,
            attribute_transformations: prior.attribute_transformations
                == planned.attribute_transformations,
        }
    }

    fn restore(&self, mut state: ProviderModel, planned: &ProviderModel) -> ProviderModel {
        let p = planned.clone();
        if self.name {
            state.name = p.name;
        }
        if self.issuer {
            state.issuer = p.issuer;
        }
        if self.audience {
            state.audience = p.audience;
        }
        if self.description {
            state.description = p.description;
        }
        if self.enabled {
            state.enabled = p.enabled;
        }
        if self.verification {
            state.jwks_json = p.jwks_json;
            state.discovery_url = p.discovery_url;
        }
        if self.attribute_transformations {
            state.attribute_transformations = p.attribute_transformations;
        }
        state
    }
}

fn kind_of(p: &WorkloadIdentityProvider) -> Option<unmanaged_kind::UnmanagedKind> {
    let kind = |field: &str, value: &str| unmanaged_kind::UnmanagedKind {
        field: field.to_owned(),
        value: value.to_owned(),
    };
    match &p.verification {
        Verification::Unknown { kind: v, .. } => Some(kind("verification type", v)),
        _ if p.kind != "oidc" => Some(kind("type", &p.kind)),
        _ => None,
    }
}

fn transformations_of(m: &ProviderModel) -> Vec<AttributeTransformation> {
    let elements = m
        .attribute_transformations
        .known()
        .map_or(&[][..], Vec::as_slice);
    elements
        .iter()
        .map(|t| {
            let t = t.known().cloned().unwrap_or_default();
            AttributeTransformation {
                attribute: t.attribute.or_empty().to_string(),
                expression: t.expression.or_empty().to_string(),
            }
        })
        .collect()
}

fn verification_of(m: &ProviderModel) -> Verification {
    match (m.jwks_json.as_deref(), m.discovery_url.as_deref()) {
        (Some(jwks), _) => Verification::UploadedJwks {
            jwks: check_jwks(jwks).unwrap_or_default(),
        },
        (None, url) => Verification::Discovery {
            discovery_url: url.map(str::to_string),
        },
    }
}

#[async_trait]
impl Resource<ProviderData> for WorkloadIdentityProviderResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(
            IdentitySchema::default()
                .required(ProviderIdentity::id, "The provider's id (`wip_...`)."),
        )
    }

    fn identity_of(&self, state: &Value) -> Option<Value> {
        let state = M::from_value(state).ok()?;
        let identity = ProviderIdentity {
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
        if let (Some(p), Some(n)) = (prior.jwks_json.as_deref(), plan.jwks_json.as_deref())
            && p != n
            && json_equal(p, n)
        {
            plan.jwks_json = prior.jwks_json;
            ctx.planned = plan.to_value();
        }
    }

    async fn modify_plan(&self, data: Option<&ProviderData>, plan: &mut PlanCtx) {
        crate::guards::plan_provider(data, plan).await;
    }

    async fn create(
        &self,
        data: &ProviderData,
        req: CreateRequest,
    ) -> Result<CreateResponse, Diagnostics> {
        let planned = M::from_value(&req.planned)?;
        let replaces = crate::guards::replacement::replaces(&req.private);
        let body = CreateProviderRequest {
            name: planned.name.or_empty().to_string(),
            issuer: planned.issuer.or_empty().to_string(),
            audience: planned.audience.or_empty().to_string(),
            kind: "oidc".to_string(),
            description: planned.description.known().cloned(),
            enabled: planned.enabled.known().copied(),
            verification: Some(verification_of(&planned)),
            attribute_transformations: Some(transformations_of(&planned)),
        };
        let client = data.client()?;
        let since = client.server_now_secs() - openai_admin::CREATED_AT_SLACK_SECS;
        let aside = async || {
            data.step_aside_provider(replaces.as_deref(), &body.name)
                .await
        };
        let back = async || {
            data.step_back_provider(replaces.as_deref(), &body.name)
                .await
        };
        let placeholder = || crate::pending::placeholder!(ProviderModel, planned);
        let spec = CreateSpec {
            what: OBJECT,
            identified_by: "a provider with the same name",
            limit_setting: "max_workload_identity_providers",
            arguments: api_arguments(),
            scope: Scope::Providers,
        };
        let p = match data
            .create_guarded(&spec, since, placeholder, aside, back, || {
                client.create_provider(&body)
            })
            .await?
        {
            Written::Object(p) => p,
            Written::Lost(placeholder) => return Ok(placeholder),
        };
        if replaces.is_some() {
            data.replacement_done(crate::guards::provider::SCOPE, Some(&body.name));
        }
        data.inventory.created_provider(p.clone()).await;
        data.ledger.created(Scope::Providers, &p.id);
        Ok(CreateResponse::new(state_from_api(&p, &planned).to_value()))
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadRequest,
    ) -> Result<ReadResponse, Diagnostics> {
        let state = M::from_value(&req.state)?;
        if let Some(since) = crate::pending::since(&req.private) {
            let found = data.pending_provider(&state, since).await?;
            // A placeholder is tainted, so Terraform replaces what it finds:
            // its name is free for the create that replaces it.
            if let Some(p) = &found {
                data.inventory.names.going(&p.id);
            }
            return Ok(
                ReadResponse::new(found.map(|p| state_from_api(&p, &state).to_value()))
                    .with_private(Vec::new()),
            );
        }
        let found = data
            .inventory
            .provider(data.client()?, state.id.or_empty())
            .await
            .map_err(|e| {
                api_error(
                    Op::new(Action::Read, "workload identity providers"),
                    &e,
                    &[],
                )
            })?;
        if let Some(p) = &found {
            data.inventory.names.refreshed(&p.id);
        }
        let mut resp =
            ReadResponse::new(found.as_ref().map(|p| state_from_api(p, &state).to_value()));
        resp.private = found.as_ref().map(|p| unmanaged_kind::private(kind_of(p)));
        Ok(resp)
    }

    async fn update(
        &self,
        data: &ProviderData,
        req: UpdateRequest,
    ) -> Result<UpdateResponse, Diagnostics> {
        unmanaged_kind::refuse_update(&req.private, OBJECT, M::jwks_json)?;
        let req_private = req.private.clone();
        let prior = M::from_value(&req.prior)?;
        let planned = M::from_value(&req.planned)?;
        let writing = if prior.issuer != planned.issuer {
            Some(
                data.recheck_issuer_change(
                    prior.id.or_empty(),
                    planned.issuer.or_empty(),
                    &req.private,
                )
                .await?,
            )
        } else {
            None
        };
        let kept = KeptByTerraform::of(&prior, &planned);
        let text = |f: &Field<String>| f.or_empty().to_string();
        // Only what the plan changes is sent (see `KeptByTerraform`): a
        // field under `ignore_changes`, or edited by hand after a saved
        // plan, keeps the server's value. An unmanaged key source was
        // refused above, so a change to both key sources null is a change
        // to discovery, and is sent as such.
        let req = UpdateProviderRequest {
            name: (!kept.name).then(|| text(&planned.name)),
            issuer: (!kept.issuer).then(|| text(&planned.issuer)),
            audience: (!kept.audience).then(|| text(&planned.audience)),
            description: (!kept.description).then(|| planned.description.known().cloned()),
            enabled: planned.enabled.known().copied().filter(|_| !kept.enabled),
            verification: (!kept.verification).then(|| verification_of(&planned)),
            attribute_transformations: (!kept.attribute_transformations)
                .then(|| transformations_of(&planned)),
        };
        let id = prior.id.or_empty();
        let client = data.client()?;
        let p = crate::guards::write_when_name_free(
            OBJECT,
            false,
            async || false,
            || client.update_provider(id, &req),
        )
        .await
        .map_err(|e| {
            api_error(
                Op::new(Action::Update, "the workload identity provider"),
                &e,
                api_arguments(),
            )
        })?;
        if writing.is_some()
            && let Err(mut refused) = data
                .recheck_issuer_written(id, planned.issuer.or_empty(), &req_private)
                .await
        {
            let undo = UpdateProviderRequest {
                issuer: Some(prior.issuer.or_empty().to_string()),
                ..UpdateProviderRequest::default()
            };
            if let Err(e) = client.update_provider(id, &undo).await {
                refused.extend(api_error(
                    Op::worded(
                        Action::Update,
                        format!(
                            "put the prior issuer {:?} back; set it by hand",
                            prior.issuer.or_empty()
                        ),
                    ),
                    &e,
                    &[],
                ));
            }
            return Err(refused);
        }
        data.inventory.put_provider(p.clone()).await;
        let state = kept.restore(state_from_api(&p, &planned), &planned);
        // The plan's pinning notes are spent; what the object is stays recorded.
        Ok(
            UpdateResponse::new(state.to_value())
                .with_private(unmanaged_kind::private(kind_of(&p))),
        )
    }

    async fn delete(
        &self,
        data: &ProviderData,
        req: DeleteRequest,
    ) -> Result<DeleteResponse, Diagnostics> {
        let prior = M::from_value(&req.prior)?;
        // Its name is free for a create the apply walk plans in parallel.
        data.inventory.names.going(prior.id.or_empty());
        let recovered;
        let id = match crate::pending::since(&req.private) {
            // A placeholder not refreshed since its create was interrupted.
            Some(since) => match data.pending_provider(&prior, since).await? {
                Some(p) => {
                    recovered = p.id;
                    recovered.as_str()
                }
                None => return Ok(DeleteResponse::new()),
            },
            None => prior.id.or_empty(),
        };
        let client = data.client()?;
        // OpenAI refuses (409) to delete a provider that still has rules.
        // When Terraform deletes them in this same run, in parallel (mappings
        // that name the provider by a literal id have no dependency on it),
        // wait for those deletes, then try again.
        let deadline = tokio::time::Instant::now() + RULE_DELETE_WAIT;
        let mut seen = 0;
        loop {
            let e = match client.delete_provider(id).await {
                Ok(_) => break,
                Err(e) if e.is_not_found() => break,
                Err(e) => e,
            };
            let waited = if e.is_conflict() {
                tracing::info!(
                    provider_id = id,
                    "workload identity provider still has mappings; waiting for the mapping \
                     deletes of this run before deleting it"
                );
                let settled = data
                    .inventory
                    .rule_deletes
                    .settled(id, seen, RULE_DELETE_GRACE);
                tokio::select! {
                    r = tokio::time::timeout_at(deadline, settled) => r.ok().flatten(),
                    () = client.config().cancel.cancelled() => None,
                }
            } else {
                None
            };
            match waited {
                Some(begun) => seen = begun,
                None => {
                    let mut d = api_error(
                        Op::new(Action::Delete, "the workload identity provider"),
                        &e,
                        &[],
                    );
                    if e.is_conflict() {
                        d.error(
                            "Provider still has mappings",
                            "OpenAI refuses to delete a provider that still has service account \
                             mappings, and this run is not deleting them. Delete its \
                             openai_service_account_mapping resources first (Terraform does this \
                             itself when they reference this provider's id; when they name it by \
                             a literal id, it deletes them in parallel and this delete waits for \
                             them), or remove mappings made outside Terraform.",
                        );
                    }
                    return Err(d);
                }
            }
        }
        data.inventory.remove_provider(id).await;
        data.provider_going_away(id, crate::guards::Removal::Deleted)
            .await;
        Ok(DeleteResponse::new())
    }

    async fn import(
        &self,
        _data: &ProviderData,
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
        let stub = ProviderModel {
            id: Field::Known(id.to_string()),
            ..ProviderModel::default()
        };
        Ok(ImportResponse::new(stub.to_value()))
    }

    fn supports_list(&self) -> bool {
        true
    }

    fn list_schema(&self) -> Schema {
        Schema::new("Lists the workload identity providers of the organization.")
            .attribute(
                Attribute::optional(ProviderListConfig::name_prefix, Type::String)
                    .description("Only list providers whose name starts with this text."),
            )
            .attribute(
                Attribute::optional(ProviderListConfig::issuer, Type::String).description(
                    "Only list providers that trust this issuer (compared as OpenAI compares \
                     issuers: a trailing slash aside).",
                ),
            )
    }

    async fn list(
        &self,
        data: &ProviderData,
        req: ListRequest,
    ) -> Result<ListResponse, Diagnostics> {
        let config = ProviderListConfig::from_value(&req.config)?;
        let prefix = config.name_prefix.or_empty();
        let issuer = config.issuer.as_deref();
        let providers = data
            .inventory
            .providers(data.client()?, |s| {
                s.objects.values().cloned().collect::<Vec<_>>()
            })
            .await
            .map_err(|e| {
                api_error(
                    Op::new(Action::List, "workload identity providers"),
                    &e,
                    &[],
                )
            })?;
        let items = providers
            .into_iter()
            .filter(|p| p.name.starts_with(prefix))
            .filter(|p| issuer.is_none_or(|i| openai_admin::issuer::same_issuer(&p.issuer, i)))
            .filter_map(|p| {
                let state = state_from_api(&p, &ProviderModel::default()).to_value();
                Some(ListedItem::new(
                    p.name.clone(),
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
        let identity = ProviderIdentity::from_value(&req.identity)?;
        self.import(data, ImportRequest::new(identity.id.or_empty()))
            .await
    }
}

impl ProviderData {
    /// The provider an interrupted create ([`crate::pending`]) made, if any:
    /// names are unique in the organization.
    async fn pending_provider(
        &self,
        state: &ProviderModel,
        since: i64,
    ) -> Result<Option<WorkloadIdentityProvider>, Diagnostics> {
        let name = state.name.or_empty();
        self.inventory
            .providers(self.client()?, |s| {
                s.objects
                    .values()
                    .filter(|p| p.name == name && p.created_at >= since)
                    .max_by_key(|p| p.created_at)
                    .cloned()
            })
            .await
            .map_err(|e| {
                api_error(
                    Op::new(Action::LookFor, "an interrupted provider create"),
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
    use tfplugin::framework::plan::plan_generic;

    #[test]
    fn a_provider_with_an_unknown_key_source_still_maps_into_state() {
        let p: WorkloadIdentityProvider = serde_json::from_value(serde_json::json!({
            "object": "organization.workload_identity_provider",
            "id": "idp_0123456789abcdef",
            "name": "pki",
            "description": null,
            "type": "x509",
            "issuer": "https://pki.example.com",
            "audience": "aud",
            "enabled": true,
            "verification": {"type": "x509_ca", "certificates": []},
            "attribute_transformations": [],
            "created_at": 1,
            "updated_at": 2,
        }))
        .unwrap();
        let s = state_from_api(&p, &ProviderModel::default());
        assert_eq!(s.id, Field::Known("idp_0123456789abcdef".into()));
        assert_eq!(s.name, Field::Known("pki".into()));
        assert_eq!((s.jwks_json, s.discovery_url), (Field::Null, Field::Null));
    }

    #[test]
    fn models_match_their_schemas() {
        let r = WorkloadIdentityProviderResource;
        assert_eq!(
            mismatches::<M>(&schema().object_type()),
            Vec::<String>::new()
        );
        assert_eq!(
            mismatches::<TransformationModel>(&transformation_type()),
            Vec::<String>::new()
        );
        let identity = r.identity_schema().unwrap().object_type();
        assert_eq!(
            mismatches::<ProviderIdentity>(&identity),
            Vec::<String>::new()
        );
        let list = r.list_schema().object_type();
        assert_eq!(
            mismatches::<ProviderListConfig>(&list),
            Vec::<String>::new()
        );
        assert_eq!(
            arguments(&schema(), &[]),
            [
                "name",
                "issuer",
                "audience",
                "description",
                "enabled",
                "attribute_transformations",
                "jwks_json",
                "discovery_url",
            ]
        );
    }

    fn s(v: &str) -> Field<String> {
        Field::Known(v.to_string())
    }

    fn valid() -> ProviderModel {
        ProviderModel {
            name: s("n"),
            issuer: s("https://i.example.com"),
            audience: s("a"),
            ..ProviderModel::default()
        }
    }

    fn transformation(attribute: &str, expression: &str) -> Field<TransformationModel> {
        Field::Known(TransformationModel {
            attribute: s(attribute),
            expression: s(expression),
        })
    }

    fn with_transformations(ts: Vec<Field<TransformationModel>>) -> ProviderModel {
        ProviderModel {
            attribute_transformations: Field::Known(ts),
            ..valid()
        }
    }

    fn with_jwks(jwks: serde_json::Value) -> ProviderModel {
        ProviderModel {
            jwks_json: s(&jwks.to_string()),
            ..valid()
        }
    }

    /// Validates the configuration as Terraform would send it, as the
    /// framework does.
    fn check(config: &ProviderModel) -> Diagnostics {
        validation_of(
            &schema(),
            &WorkloadIdentityProviderResource.config_rules(),
            config,
        )
    }

    #[test]
    fn valid_configurations_pass() {
        let twenty = (0..20)
            .map(|i| transformation(&format!("openai.a{i}"), "assertion.sub"))
            .collect();
        for (case, config) in [
            ("minimal", valid()),
            (
                "trailing slash",
                ProviderModel {
                    issuer: s("https://token.actions.githubusercontent.com/"),
                    ..valid()
                },
            ),
            (
                "loopback http",
                ProviderModel {
                    issuer: s("http://127.0.0.1:8080"),
                    discovery_url: s("http://localhost:9/.well-known/openid-configuration?x=1"),
                    ..valid()
                },
            ),
            (
                "unknown key sources do not conflict",
                ProviderModel {
                    jwks_json: Field::Unknown,
                    discovery_url: Field::Unknown,
                    ..valid()
                },
            ),
            (
                "a known and an unknown key source",
                ProviderModel {
                    jwks_json: Field::Unknown,
                    discovery_url: s("https://d.example.com"),
                    ..valid()
                },
            ),
            (
                "jwks",
                with_jwks(serde_json::json!({ "keys": [{ "kid": "a", "kty": "RSA" }] })),
            ),
            ("twenty transformations", with_transformations(twenty)),
            (
                "unknown transformation parts",
                with_transformations(vec![
                    Field::Unknown,
                    Field::Known(TransformationModel {
                        attribute: Field::Unknown,
                        expression: Field::Unknown,
                    }),
                ]),
            ),
        ] {
            let d = check(&config);
            assert!(d.is_empty(), "{case}: {d:#?}");
        }
    }

    #[test]
    fn each_rule_fails_with_its_message_on_its_attribute() {
        let t = |i: i64, f: &str| {
            Some(
                Path::root()
                    .attr(M::attribute_transformations)
                    .index(i)
                    .attr(f),
            )
        };
        let key_sources = ProviderModel {
            jwks_json: s(r#"{"keys":[{"kid":"a","kty":"RSA"}]}"#),
            discovery_url: s("https://d.example.com"),
            ..valid()
        };
        let rules = [
            Rule {
                case: "empty name",
                config: ProviderModel {
                    name: s(""),
                    ..valid()
                },
                path: at(M::name),
                summary: "Empty name",
                detail: "name must not be empty.",
            },
            Rule {
                case: "empty audience",
                config: ProviderModel {
                    audience: s(""),
                    ..valid()
                },
                path: at(M::audience),
                summary: "Empty audience",
                detail: "audience must not be empty.",
            },
            Rule {
                case: "http issuer",
                config: ProviderModel {
                    issuer: s("http://issuer.example.com"),
                    ..valid()
                },
                path: at(M::issuer),
                summary: "Invalid issuer",
                detail: "\"http://issuer.example.com\" uses http. Only https is accepted",
            },
            Rule {
                case: "relative issuer",
                config: ProviderModel {
                    issuer: s("issuer.example.com"),
                    ..valid()
                },
                path: at(M::issuer),
                summary: "Invalid issuer",
                detail: "\"issuer.example.com\" is not an absolute URL",
            },
            Rule {
                case: "other scheme",
                config: ProviderModel {
                    issuer: s("ftp://i.example.com"),
                    ..valid()
                },
                path: at(M::issuer),
                summary: "Invalid issuer",
                detail: "uses the scheme \"ftp\". Use an https URL.",
            },
            Rule {
                case: "credentials in issuer",
                config: ProviderModel {
                    issuer: s("https://u:p@i.example.com"),
                    ..valid()
                },
                path: at(M::issuer),
                summary: "Invalid issuer",
                detail: "contains credentials",
            },
            Rule {
                case: "http discovery url",
                config: ProviderModel {
                    discovery_url: s("http://d.example.com"),
                    ..valid()
                },
                path: at(M::discovery_url),
                summary: "Invalid discovery_url",
                detail: "uses http",
            },
            Rule {
                case: "discovery url with a port",
                config: ProviderModel {
                    discovery_url: s("https://d.example.com:8443/x"),
                    ..valid()
                },
                path: at(M::discovery_url),
                summary: "Invalid discovery_url",
                detail: "\"https://d.example.com:8443/x\" must not have a custom port, a query or a fragment.",
            },
            Rule {
                case: "discovery url with a query",
                config: ProviderModel {
                    discovery_url: s("https://d.example.com/x?a=1"),
                    ..valid()
                },
                path: at(M::discovery_url),
                summary: "Invalid discovery_url",
                detail: "must not have a custom port, a query or a fragment.",
            },
            Rule {
                case: "discovery url with a fragment",
                config: ProviderModel {
                    discovery_url: s("https://d.example.com/x#f"),
                    ..valid()
                },
                path: at(M::discovery_url),
                summary: "Invalid discovery_url",
                detail: "must not have a custom port, a query or a fragment.",
            },
            Rule {
                case: "both key sources",
                config: key_sources,
                path: at(M::discovery_url),
                summary: "Conflicting key sources",
                detail: "Set either jwks_json (uploaded keys) or discovery_url (custom OIDC discovery), not both.",
            },
            Rule {
                case: "issuer with a query",
                config: ProviderModel {
                    issuer: s("https://i.example.com/?tenant=x"),
                    ..valid()
                },
                path: at(M::issuer),
                summary: "Invalid issuer",
                detail: "has a query or a fragment, which an OIDC issuer never has",
            },
            Rule {
                case: "issuer with a fragment",
                config: ProviderModel {
                    issuer: s("https://i.example.com/#x"),
                    ..valid()
                },
                path: at(M::issuer),
                summary: "Invalid issuer",
                detail: "has a query or a fragment",
            },
            Rule {
                case: "issuer with a space",
                config: ProviderModel {
                    issuer: s("https://i.example.com/ x"),
                    ..valid()
                },
                path: at(M::issuer),
                summary: "Invalid issuer",
                detail: "contains white space",
            },
            Rule {
                case: "blank issuer",
                config: ProviderModel {
                    issuer: s("  "),
                    ..valid()
                },
                path: at(M::issuer),
                summary: "Empty issuer",
                detail: "issuer must not be empty. Give the issuer URL",
            },
            Rule {
                case: "discovery url on a private address",
                config: ProviderModel {
                    discovery_url: s("https://[::ffff:10.0.0.1]/.well-known/openid-configuration"),
                    ..valid()
                },
                path: at(M::discovery_url),
                summary: "Invalid discovery_url",
                detail: "points at a private address, which OpenAI cannot (and must not) fetch from",
            },
            Rule {
                case: "discovery url on a metadata address",
                config: ProviderModel {
                    discovery_url: s("https://169.254.169.254/x"),
                    ..valid()
                },
                path: at(M::discovery_url),
                summary: "Invalid discovery_url",
                detail: "points at a link-local address",
            },
            Rule {
                case: "jwk without kty",
                config: with_jwks(
                    serde_json::json!({ "keys": [{ "kid": "a", "n": "x", "e": "AQAB" }] }),
                ),
                path: at(M::jwks_json),
                summary: "Invalid jwks_json",
                detail: "keys[0] has no \"kty\"",
            },
            Rule {
                case: "one attribute computed twice",
                config: ProviderModel {
                    attribute_transformations: Field::Known(vec![
                        transformation("openai.repo", "assertion.repository"),
                        transformation("openai.repo", "assertion.sub"),
                    ]),
                    ..valid()
                },
                path: Some(
                    Path::root()
                        .attr(M::attribute_transformations)
                        .index(1)
                        .attr(TransformationModel::attribute),
                ),
                summary: "Duplicate transformation attribute",
                detail: "\"openai.repo\" is computed by an earlier transformation already",
            },
            Rule {
                case: "jwks not json",
                config: ProviderModel {
                    jwks_json: s("{"),
                    ..valid()
                },
                path: at(M::jwks_json),
                summary: "Invalid jwks_json",
                detail: "jwks_json is not valid JSON",
            },
            Rule {
                case: "jwks not an object",
                config: with_jwks(serde_json::json!([1])),
                path: at(M::jwks_json),
                summary: "Invalid jwks_json",
                detail: "jwks_json must be a JSON object like {\"keys\": [...]}.",
            },
            Rule {
                case: "jwks without keys",
                config: with_jwks(serde_json::json!({ "k": [] })),
                path: at(M::jwks_json),
                summary: "Invalid jwks_json",
                detail: "jwks_json must have a \"keys\" array.",
            },
            Rule {
                case: "jwks with no key",
                config: with_jwks(serde_json::json!({ "keys": [] })),
                path: at(M::jwks_json),
                summary: "Invalid jwks_json",
                detail: "jwks_json's \"keys\" array is empty; add at least one public key.",
            },
            Rule {
                case: "key not an object",
                config: with_jwks(serde_json::json!({ "keys": ["a"] })),
                path: at(M::jwks_json),
                summary: "Invalid jwks_json",
                detail: "keys[0] is not a JSON object.",
            },
            Rule {
                case: "key without kid",
                config: with_jwks(serde_json::json!({ "keys": [{ "kty": "RSA" }] })),
                path: at(M::jwks_json),
                summary: "Invalid jwks_json",
                detail: "keys[0] has no \"kid\"; every key needs a unique non-empty kid.",
            },
            Rule {
                case: "repeated kid",
                config: with_jwks(
                    serde_json::json!({ "keys": [{ "kid": "a", "kty": "RSA" }, { "kid": "a", "kty": "RSA" }] }),
                ),
                path: at(M::jwks_json),
                summary: "Invalid jwks_json",
                detail: "keys[1] repeats the kid \"a\"; every kid must be unique.",
            },
            Rule {
                case: "private key",
                config: with_jwks(serde_json::json!({
                    "keys": [{ "kid": "a", "kty": "RSA", "n": "x", "e": "AQAB", "d": "secret" }]
                })),
                path: at(M::jwks_json),
                summary: "Invalid jwks_json",
                detail: "keys[0] contains private key material (\"d\"). Upload public keys only.",
            },
            Rule {
                case: "too many transformations",
                config: with_transformations(
                    (0..21)
                        .map(|i| transformation(&format!("openai.a{i}"), "assertion.sub"))
                        .collect(),
                ),
                path: at(M::attribute_transformations),
                summary: "Too many attribute transformations",
                detail: "at most 20 attribute transformations; 21 are configured.",
            },
            Rule {
                case: "attribute without prefix",
                config: with_transformations(vec![transformation(
                    "repository",
                    "assertion.repository",
                )]),
                path: t(0, TransformationModel::attribute),
                summary: "Invalid transformation attribute",
                detail: "\"repository\" must start with \"openai.\" followed by a name",
            },
            Rule {
                case: "attribute is the bare prefix",
                config: with_transformations(vec![
                    transformation("openai.x", "assertion.sub"),
                    transformation("openai.", "assertion.sub"),
                ]),
                path: t(1, TransformationModel::attribute),
                summary: "Invalid transformation attribute",
                detail: "\"openai.\" must start with \"openai.\" followed by a name",
            },
            Rule {
                case: "attribute empty",
                config: with_transformations(vec![transformation("", "assertion.sub")]),
                path: t(0, TransformationModel::attribute),
                summary: "Invalid transformation attribute",
                detail: "attribute must be 1 to 256 characters long, got 0.",
            },
            Rule {
                case: "attribute too long",
                config: with_transformations(vec![transformation(
                    &format!("openai.{}", "a".repeat(250)),
                    "assertion.sub",
                )]),
                path: t(0, TransformationModel::attribute),
                summary: "Invalid transformation attribute",
                detail: "attribute must be 1 to 256 characters long, got 257.",
            },
            Rule {
                case: "expression empty",
                config: with_transformations(vec![transformation("openai.x", "")]),
                path: t(0, TransformationModel::expression),
                summary: "Invalid transformation expression",
                detail: "expression must be 1 to 4096 characters long, got 0.",
            },
            Rule {
                case: "expression too long",
                config: with_transformations(vec![transformation("openai.x", &"a".repeat(4097))]),
                path: t(0, TransformationModel::expression),
                summary: "Invalid transformation expression",
                detail: "expression must be 1 to 4096 characters long, got 4097.",
            },
            Rule {
                case: "expression not CEL",
                config: with_transformations(vec![transformation("openai.x", "assertion.sub +")]),
                path: t(0, TransformationModel::expression),
                summary: "Invalid transformation expression",
                detail: "\"assertion.sub +\" is not a usable CEL expression: not valid CEL",
            },
            Rule {
                case: "expression calls a function the exchange does not know",
                config: with_transformations(vec![transformation(
                    "openai.x",
                    "assertion.sub.split(':')[2]",
                )]),
                path: t(0, TransformationModel::expression),
                summary: "Invalid transformation expression",
                detail: "is not a usable CEL expression: unknown function 'split'",
            },
            Rule {
                case: "expression names another variable",
                config: with_transformations(vec![transformation("openai.x", "claims.sub")]),
                path: t(0, TransformationModel::expression),
                summary: "Invalid transformation expression",
                detail: "unknown variable 'claims'",
            },
            Rule {
                case: "expression nested too deep",
                config: with_transformations(vec![transformation(
                    "openai.x",
                    &format!("{}assertion.sub{}", "(".repeat(2040), ")".repeat(2040)),
                )]),
                path: t(0, TransformationModel::expression),
                summary: "Invalid transformation expression",
                detail: "nests 2040 levels deep; at most 32 are allowed",
            },
        ];
        for rule in &rules {
            assert_rule(rule, &check(&rule.config));
        }
    }

    #[test]
    fn an_equal_jwks_keeps_its_prior_spelling() {
        let prior = ProviderModel {
            jwks_json: s(r#"{ "keys": [ { "kid": "a", "kty": "RSA" } ] }"#),
            ..valid()
        };
        let normalized = |planned: &ProviderModel| {
            let planned = planned.to_value();
            let mut ctx = plan_generic(&schema(), &prior.to_value(), &planned, &planned);
            WorkloadIdentityProviderResource.normalize_plan(&mut ctx);
            M::from_value(&ctx.planned).unwrap().jwks_json
        };
        let reformatted = ProviderModel {
            jwks_json: s(r#"{"keys":[{"kid":"a","kty":"RSA"}]}"#),
            ..valid()
        };
        assert_eq!(normalized(&reformatted), prior.jwks_json);
        // A different key set stays as planned.
        let changed = ProviderModel {
            jwks_json: s(r#"{"keys":[{"kid":"b","kty":"RSA"}]}"#),
            ..valid()
        };
        assert_eq!(normalized(&changed), changed.jwks_json);
    }
}
