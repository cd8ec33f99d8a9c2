//! Resource `openai_project_service_account`: a keyless project service
//! account, the identity that workload identity federation maps tokens to.
//!
//! It is always created with `create_service_account_only`, so OpenAI never
//! makes an API key for it: workloads authenticate by token exchange only.
//! Such an account starts with no project role (`none`), which lets it call
//! no API, so the role is set right after the create
//! (`docs/reference/openai-api.md#service-account-roles`). `name` and `role`
//! change in place through the update endpoint; only `project_id` replaces.

use async_trait::async_trait;

use crate::errors::{Action, Op, api_error};
use crate::provider_data::ProviderData;
use crate::values::{arguments, split_import_id};
use openai_admin::models::{
    CreateServiceAccountRequest, SERVICE_ACCOUNT_ROLES, ServiceAccount, UpdateServiceAccountRequest,
};
use tfplugin::codec::{Path, Type, Value};
use tfplugin::framework::model::{Field, Model};
use tfplugin::framework::{
    Attribute, CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, Diagnostic,
    Diagnostics, IdentitySchema, ImportByIdentityRequest, ImportRequest, ImportResponse,
    ListRequest, ListResponse, ListedItem, MoveStateRequest, MoveStateResponse, PlanCtx,
    ReadRequest, ReadResponse, Resource, Schema, UpdateRequest, UpdateResponse,
};

pub(crate) const TYPE_NAME: &str = "openai_project_service_account";

/// The role an account gets when the configuration names none.
pub(crate) const DEFAULT_ROLE: &str = "member";

tfplugin::model! {
    /// A service account's configuration, plan or state (and the data
    /// source's, which has the same attributes).
    pub(crate) struct ServiceAccountModel {
        pub id: Field<String>,
        pub project_id: Field<String>,
        pub name: Field<String>,
        pub role: Field<String>,
        pub created_at: Field<i64>,
    }
}

tfplugin::model! {
    /// A service account's resource identity.
    pub(crate) struct ServiceAccountIdentity {
        pub project_id: Field<String>,
        pub id: Field<String>,
    }
}

tfplugin::model! {
    /// The `config` of a `list` block.
    pub(crate) struct ServiceAccountListConfig {
        pub project_id: Field<String>,
        pub name_prefix: Field<String>,
    }
}

type M = ServiceAccountModel;
type L = ServiceAccountListConfig;

pub(crate) struct ProjectServiceAccountResource;

/// The arguments an API error's `param` may point at, listed once.
fn api_arguments() -> &'static [&'static str] {
    static ARGS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    ARGS.get_or_init(|| arguments(&schema(), &[]))
}

pub(crate) fn schema() -> Schema {
    Schema::new(
        "A keyless project service account. It is created without an API key (and none is ever \
         made for it), so it can only be used through workload identity federation: map tokens \
         to it with `openai_service_account_mapping`. It is given its project `role` right \
         after the create, since OpenAI creates keyless accounts without one. `name` and \
         `role` change in place; changing `project_id` replaces the account. Accounts the \
         official `openai/openai` provider manages can be taken over with a `moved` block, \
         keeping their ids (Terraform 1.8 and later).",
    )
    .attribute(
        Attribute::computed(M::id, Type::String)
            .use_state_for_unknown()
            .description(
                "The service account's id, an opaque string (seen as `svc_acct_...` and \
                 `user-...`).",
            ),
    )
    .attribute(
        Attribute::required(M::project_id, Type::String)
            .requires_replace()
            .description(
                "The project the service account belongs to (`proj_...`). Changing it replaces \
                 the service account.",
            )
            .not_empty("Give the project's id (`proj_...`)."),
    )
    .attribute(
        Attribute::required(M::name, Type::String)
            .description("The service account's name. Changing it renames the account in place.")
            .not_empty("Give the service account a name."),
    )
    .attribute(
        Attribute::optional_computed(M::role, Type::String)
            .default(Value::String(DEFAULT_ROLE.into()))
            .description(
                "The service account's role in its project: `member` (the default) or `owner`. \
                 A keyless account needs a role before the tokens exchanged for it can call any \
                 API. OpenAI reports `none` for an account without one (for example one created \
                 outside Terraform); the provider then plans to set the configured role. `none` \
                 keeps such an account without a role (as `-generate-config-out` writes it); a \
                 role, once given, cannot be taken away. \
                 Changing it updates the account in place.",
            )
            .one_of(
                &ROLE_VALUES,
                "\"none\" keeps an account that has no role without one.",
            ),
    )
    .attribute(
        Attribute::computed(M::created_at, Type::Number)
            .use_state_for_unknown()
            .description("Creation time, Unix seconds."),
    )
}

/// The state (and data source result) for an API object. The API object does
/// not carry its project, so the caller supplies the one it asked about.
pub(crate) fn state_from_api(sa: &ServiceAccount, project_id: &str) -> ServiceAccountModel {
    ServiceAccountModel {
        id: Field::Known(sa.id.clone()),
        project_id: Field::Known(project_id.to_string()),
        name: Field::Known(sa.name.clone()),
        role: Field::Known(sa.role.clone()),
        created_at: Field::Known(sa.created_at),
    }
}

/// The official `openai/openai` provider, whose `openai_project_service_account`
/// a `moved` block may hand over (its published schema, version 0:
/// `project_id`, `name`, and the computed `service_account_id`, `id` and
/// `created_at`; no role, since it creates accounts without one).
pub(crate) const OFFICIAL_PROVIDER: &str = "registry.terraform.io/openai/openai";
const OFFICIAL_SCHEMA_VERSION: i64 = 0;

/// The state of an account the official provider managed. Its id stays (so
/// no mapping that names it changes); the role is left unknown to the state
/// (null) and read from the API by the refresh that follows every move.
fn moved_from_official(req: &MoveStateRequest) -> Result<ServiceAccountModel, Diagnostics> {
    let fail = |detail: String| -> Diagnostics {
        Diagnostic::error(
            format!("Cannot move this {} into {TYPE_NAME}", req.source_type_name),
            detail,
        )
        .into()
    };
    let official = req
        .source_provider_address
        .trim_start_matches("registry.terraform.io/")
        .eq_ignore_ascii_case("openai/openai");
    if !official || req.source_type_name != TYPE_NAME {
        return Err(fail(format!(
            "{TYPE_NAME} takes over openai_project_service_account objects of the official \
             provider ({OFFICIAL_PROVIDER}) only, not {} of {}. Import the account instead \
             (`<project id>/<service account id>`).",
            req.source_type_name, req.source_provider_address
        )));
    }
    if req.source_schema_version > OFFICIAL_SCHEMA_VERSION {
        return Err(fail(format!(
            "The state was written with schema version {} of the official provider's resource; \
             this provider knows version {OFFICIAL_SCHEMA_VERSION}. Import the account instead \
             (`<project id>/<service account id>`).",
            req.source_schema_version
        )));
    }
    let source: serde_json::Value =
        serde_json::from_slice(&req.source_state_json).map_err(|e| {
            fail(format!(
                "The stored state is not JSON ({e}). Import the account instead."
            ))
        })?;
    let text = |name: &str| {
        source
            .get(name)
            .and_then(serde_json::Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let id = text("service_account_id").or_else(|| text("id"));
    let (Some(id), Some(project_id)) = (id, text("project_id")) else {
        return Err(fail(
            "The stored state names no service account id or no project id. Import the account \
             instead (`<project id>/<service account id>`)."
                .to_owned(),
        ));
    };
    Ok(ServiceAccountModel {
        id: Field::Known(id),
        project_id: Field::Known(project_id),
        name: text("name").into(),
        role: Field::Null,
        created_at: source
            .get("created_at")
            .and_then(serde_json::Value::as_i64)
            .into(),
    })
}

/// What OpenAI reports for an account without a project role. A
/// configuration may say it (`-generate-config-out` writes it for such an
/// account) to keep the account as it is; it is never sent, since OpenAI
/// sets only "member" and "owner", and a role cannot be taken away.
const NO_ROLE: &str = "none";
/// What `role` may be set to.
const ROLE_VALUES: [&str; 3] = [SERVICE_ACCOUNT_ROLES[0], SERVICE_ACCOUNT_ROLES[1], NO_ROLE];

/// Refuses, at plan, taking the role away from an account that has one:
/// the API cannot do it.
fn refuse_role_removal(plan: &mut PlanCtx) {
    let (Ok(prior), Ok(planned)) = (M::from_value(&plan.prior), M::from_value(&plan.planned))
    else {
        return;
    };
    if planned.role.as_deref() == Some(NO_ROLE)
        && let Some(had) = prior.role.as_deref().filter(|r| *r != NO_ROLE)
    {
        plan.diags.push(
            Diagnostic::error(
                "Cannot take a service account's role away",
                format!(
                    "The service account has the project role {had:?}, and OpenAI cannot set \
                     it back to \"none\". Keep role = {had:?} (or \"member\"), or replace \
                     the account (terraform apply -replace=ADDRESS) with role = \"none\"; a \
                     replacement gets a new id, so mappings that name it change too."
                ),
            )
            .at(Path::root().attr(M::role)),
        );
    }
}

/// The update body that makes the account match `planned`.
fn update_body(planned: &ServiceAccountModel) -> UpdateServiceAccountRequest {
    UpdateServiceAccountRequest {
        name: planned.name.as_deref().map(str::to_owned),
        role: Some(planned.role.as_deref().unwrap_or(DEFAULT_ROLE))
            .filter(|r| *r != NO_ROLE)
            .map(str::to_owned),
    }
}

#[async_trait]
impl Resource<ProviderData> for ProjectServiceAccountResource {
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
                    ServiceAccountIdentity::project_id,
                    "The project's id (`proj_...`).",
                )
                .required(
                    ServiceAccountIdentity::id,
                    "The service account's id (`svc_acct_...`).",
                ),
        )
    }

    fn identity_of(&self, state: &Value) -> Option<Value> {
        let state = M::from_value(state).ok()?;
        let identity = ServiceAccountIdentity {
            project_id: Field::Known(state.project_id.into_known()?),
            id: Field::Known(state.id.into_known()?),
        };
        Some(identity.to_value())
    }

    async fn modify_plan(&self, _data: Option<&ProviderData>, plan: &mut PlanCtx) {
        // Never in a destroy command (see `guards::operation`).
        if !crate::guards::operation::destroy_command() {
            refuse_role_removal(plan);
        }
    }

    async fn create(
        &self,
        data: &ProviderData,
        req: CreateRequest,
    ) -> Result<CreateResponse, Diagnostics> {
        let planned = M::from_value(&req.planned)?;
        let pid = planned.project_id.or_empty();
        let req = CreateServiceAccountRequest {
            name: planned.name.or_empty().to_string(),
            create_service_account_only: true,
            ..Default::default()
        };
        let client = data.client()?;
        let created = client
            .create_service_account(pid, &req)
            .await
            .map_err(|e| {
                api_error(
                    Op::new(Action::Create, "the project service account"),
                    &e,
                    api_arguments(),
                )
            })?;
        if created.api_key.is_some() {
            // The promise of this resource is that no key exists. The key's
            // value is dropped unseen; the account holding it is removed.
            tracing::warn!(
                service_account_id = %created.id,
                "API key issued despite create_service_account_only; deleting the account"
            );
            let cleanup = match client.delete_service_account(pid, &created.id).await {
                Ok(_) => "It was deleted again.".to_string(),
                Err(e) => format!(
                    "Deleting it again failed ({e}); delete service account {} of project {pid} \
                     by hand.",
                    created.id
                ),
            };
            return Err(Diagnostic::error(
                "OpenAI created an API key for a keyless service account",
                format!(
                    "The service account {:?} was created in project {pid} with an API key, \
                     although the request asked for none (create_service_account_only). {cleanup} \
                     Report this to the provider's maintainers.",
                    req.name
                ),
            )
            .into());
        }
        let sa = ServiceAccount {
            object: created.object,
            id: created.id,
            name: created.name,
            role: created.role,
            created_at: created.created_at,
        };
        let role = planned.role.as_deref().unwrap_or(DEFAULT_ROLE);
        if sa.role == role {
            return Ok(CreateResponse::new(state_from_api(&sa, pid).to_value()));
        }
        // The account exists from here on: a failure to give it its role
        // keeps it in state (Terraform taints it) rather than losing it.
        match client
            .update_service_account(pid, &sa.id, &update_body(&planned))
            .await
        {
            Ok(updated) => Ok(CreateResponse::new(
                state_from_api(&updated, pid).to_value(),
            )),
            Err(e) => {
                let mut resp = CreateResponse::new(state_from_api(&sa, pid).to_value());
                resp.diagnostics.extend(api_error(
                    Op::worded(
                        Action::Update,
                        format!(
                            "give the new service account {} the project role {role:?} (the \
                         account was created and is kept in state; the next apply replaces \
                         it)",
                            sa.id
                        ),
                    ),
                    &e,
                    &[M::role],
                ));
                Ok(resp)
            }
        }
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadRequest,
    ) -> Result<ReadResponse, Diagnostics> {
        let state = M::from_value(&req.state)?;
        let pid = state.project_id.or_empty();
        match data
            .client()?
            .get_service_account(pid, state.id.or_empty())
            .await
        {
            Ok(sa) => Ok(ReadResponse::new(Some(state_from_api(&sa, pid).to_value()))),
            // Gone (or its project is): Terraform plans to create it again.
            Err(e) if e.is_not_found() => Ok(ReadResponse::new(None)),
            Err(e) => Err(api_error(
                Op::new(Action::Read, "the project service account"),
                &e,
                &[],
            )),
        }
    }

    async fn update(
        &self,
        data: &ProviderData,
        req: UpdateRequest,
    ) -> Result<UpdateResponse, Diagnostics> {
        // Only `name` and `role` can differ here: `project_id` replaces.
        let planned = M::from_value(&req.planned)?;
        let prior = M::from_value(&req.prior)?;
        let (pid, id) = (prior.project_id.or_empty(), prior.id.or_empty());
        let updated = data
            .client()?
            .update_service_account(pid, id, &update_body(&planned))
            .await
            .map_err(|e| {
                api_error(
                    Op::new(Action::Update, "the project service account"),
                    &e,
                    api_arguments(),
                )
            })?;
        Ok(UpdateResponse::new(
            state_from_api(&updated, pid).to_value(),
        ))
    }

    async fn delete(
        &self,
        data: &ProviderData,
        req: DeleteRequest,
    ) -> Result<DeleteResponse, Diagnostics> {
        let prior = M::from_value(&req.prior)?;
        let (pid, id) = (prior.project_id.or_empty(), prior.id.or_empty());
        match data.client()?.delete_service_account(pid, id).await {
            Ok(_) => Ok(DeleteResponse::new()),
            Err(e) if e.is_not_found() => Ok(DeleteResponse::new()),
            Err(e) => Err(api_error(
                Op::new(Action::Delete, "the project service account"),
                &e,
                &[],
            )),
        }
    }

    async fn import(
        &self,
        _data: &ProviderData,
        req: ImportRequest,
    ) -> Result<ImportResponse, Diagnostics> {
        let (pid, sid) = split_import_id(
            &req.id,
            "<project id>/<service account id>",
            "proj_abc/svc_acct_def",
        )?;
        let stub = ServiceAccountModel {
            id: Field::Known(sid.to_string()),
            project_id: Field::Known(pid.to_string()),
            ..ServiceAccountModel::default()
        };
        Ok(ImportResponse::new(stub.to_value()))
    }

    fn move_state(&self, req: MoveStateRequest) -> Result<MoveStateResponse, Diagnostics> {
        let state = moved_from_official(&req)?;
        Ok(MoveStateResponse::new(state.to_value()))
    }

    fn supports_list(&self) -> bool {
        true
    }

    fn list_schema(&self) -> Schema {
        Schema::new("Lists project service accounts: of one project, or of every project.")
            .attribute(
                Attribute::optional(L::project_id, Type::String)
                    .description(
                        "Only list the service accounts of this project (`proj_...`). Omit to \
                         list those of every project of the organization.",
                    )
                    .not_empty(
                        "Give a project id (`proj_...`), or omit it to list the service accounts \
                         of every project.",
                    ),
            )
            .attribute(
                Attribute::optional(L::name_prefix, Type::String)
                    .description("Only list service accounts whose name starts with this text."),
            )
    }

    async fn list(
        &self,
        data: &ProviderData,
        req: ListRequest,
    ) -> Result<ListResponse, Diagnostics> {
        let config = L::from_value(&req.config)?;
        let client = data.client()?;
        let projects: Vec<String> = match config.project_id.as_deref() {
            Some(pid) => vec![pid.to_owned()],
            None => client
                .list_all_projects()
                .await
                .map_err(|e| api_error(Op::new(Action::List, "projects"), &e, &[]))?
                .into_iter()
                .filter(|p| p.archived_at.is_none())
                .map(|p| p.id)
                .collect(),
        };
        let prefix = config.name_prefix.or_empty();
        let mut items = Vec::new();
        for pid in &projects {
            let accounts = client.list_all_service_accounts(pid).await.map_err(|e| {
                api_error(
                    Op::new(Action::List, "service accounts"),
                    &e,
                    &[L::project_id],
                )
            })?;
            for sa in accounts.iter().filter(|sa| sa.name.starts_with(prefix)) {
                let state = state_from_api(sa, pid).to_value();
                if let Some(identity) = self.identity_of(&state) {
                    items.push(ListedItem::new(sa.name.clone(), identity, state));
                }
            }
        }
        Ok(ListResponse::new(items))
    }

    async fn import_by_identity(
        &self,
        data: &ProviderData,
        req: ImportByIdentityRequest,
    ) -> Result<ImportResponse, Diagnostics> {
        let identity = ServiceAccountIdentity::from_value(&req.identity)?;
        let id = format!(
            "{}/{}",
            identity.project_id.or_empty(),
            identity.id.or_empty()
        );
        self.import(data, ImportRequest::new(id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::testing::{Rule, assert_rule, at, validation_of};
    use tfplugin::framework::model::mismatches;

    #[test]
    fn accounts_of_the_official_provider_move_with_their_id() {
        let source = br#"{"project_id":"proj_1","service_account_id":"svc_acct_1","id":"svc_acct_1","name":"ci","created_at":1700000000}"#;
        let req = MoveStateRequest::new(OFFICIAL_PROVIDER, TYPE_NAME, 0, source.to_vec());
        let moved = moved_from_official(&req).unwrap();
        assert_eq!(moved.id.as_deref(), Some("svc_acct_1"));
        assert_eq!(moved.project_id.as_deref(), Some("proj_1"));
        assert_eq!(moved.name.as_deref(), Some("ci"));
        assert_eq!(moved.created_at, Field::Known(1_700_000_000));
        assert_eq!(moved.role, Field::Null);
        for (address, type_name, version, json, why) in [
            (
                "registry.terraform.io/other/openai",
                TYPE_NAME,
                0,
                &source[..],
                "official provider",
            ),
            (
                OFFICIAL_PROVIDER,
                "openai_project",
                0,
                &source[..],
                "official provider",
            ),
            (
                OFFICIAL_PROVIDER,
                TYPE_NAME,
                1,
                &source[..],
                "schema version 1",
            ),
            (
                OFFICIAL_PROVIDER,
                TYPE_NAME,
                0,
                &br#"{"name":"ci"}"#[..],
                "no service account id",
            ),
        ] {
            let req = MoveStateRequest::new(address, type_name, version, json.to_vec());
            let err = moved_from_official(&req).unwrap_err();
            let d = err.iter().next().unwrap();
            assert!(d.detail.contains(why), "{why}: {d:?}");
            assert!(d.detail.contains("Import the account instead"), "{d:?}");
        }
    }

    #[test]
    fn models_match_their_schemas() {
        let r = ProjectServiceAccountResource;
        assert_eq!(
            mismatches::<M>(&schema().object_type()),
            Vec::<String>::new()
        );
        let identity = r.identity_schema().unwrap().object_type();
        assert_eq!(
            mismatches::<ServiceAccountIdentity>(&identity),
            Vec::<String>::new()
        );
        assert_eq!(
            mismatches::<L>(&r.list_schema().object_type()),
            Vec::<String>::new()
        );
        assert_eq!(arguments(&schema(), &[]), [M::project_id, M::name, M::role]);
        // Only the project replaces; name and role change in place.
        let replacing: Vec<&str> = schema()
            .attributes
            .iter()
            .filter(|a| a.requires_replace)
            .map(|a| a.name)
            .collect();
        assert_eq!(replacing, [M::project_id]);
    }

    #[test]
    fn state_carries_the_project_and_no_key() {
        let sa = ServiceAccount {
            object: "organization.project.service_account".into(),
            id: "svc_acct_1".into(),
            name: "ci".into(),
            role: "member".into(),
            created_at: 7,
        };
        let state = state_from_api(&sa, "proj_1");
        assert_eq!(state.project_id.as_deref(), Some("proj_1"));
        assert_eq!(state.id.as_deref(), Some("svc_acct_1"));
        // Exactly the schema's attributes: no key slot exists at all.
        let Value::Object(m) = state.to_value() else {
            panic!("object")
        };
        let names: Vec<&str> = m.keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = schema().attributes.iter().map(|a| a.name).collect();
        expected.sort();
        assert_eq!(names, expected);
    }

    #[test]
    fn updates_send_the_name_and_the_role() {
        let planned = M {
            name: Field::Known("renamed".into()),
            role: Field::Known("owner".into()),
            ..M::default()
        };
        assert_eq!(
            update_body(&planned),
            UpdateServiceAccountRequest {
                name: Some("renamed".into()),
                role: Some("owner".into()),
            }
        );
        let body = update_body(&M {
            role: Field::Null,
            ..planned
        });
        assert_eq!(body.role.as_deref(), Some(DEFAULT_ROLE));
    }

    #[test]
    fn each_rule_fails_with_its_message_on_its_attribute() {
        let valid = M {
            project_id: Field::Known("proj_1".into()),
            name: Field::Known("ci".into()),
            ..M::default()
        };
        let check = |config: &M| {
            validation_of(
                &schema(),
                &ProjectServiceAccountResource.config_rules(),
                config,
            )
        };
        for role in [Field::Null, Field::Unknown, Field::Known("owner".into())] {
            let d = check(&M {
                role,
                ..valid.clone()
            });
            assert!(d.is_empty(), "{d:#?}");
        }
        let empty = Field::Known(String::new());
        let rules = [
            Rule {
                case: "empty project id",
                config: M {
                    project_id: empty.clone(),
                    ..valid.clone()
                },
                path: at(M::project_id),
                summary: "Empty project_id",
                detail: "project_id must not be empty.",
            },
            Rule {
                case: "empty name",
                config: M {
                    name: empty,
                    ..valid.clone()
                },
                path: at(M::name),
                summary: "Empty name",
                detail: "name must not be empty.",
            },
            Rule {
                case: "unknown role",
                config: M {
                    role: Field::Known("admin".into()),
                    ..valid.clone()
                },
                path: at(M::role),
                summary: "Invalid role",
                detail: "role is \"admin\"",
            },
        ];
        for rule in &rules {
            assert_rule(rule, &check(&rule.config));
        }
    }
}
