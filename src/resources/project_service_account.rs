//! Resource `openai_project_service_account`: a keyless project service
//! account, the identity that workload identity federation maps tokens to.
//!
//! It is always created with `create_service_account_only`, so OpenAI never
//! makes an API key for it: workloads authenticate by token exchange only.
//! The API cannot rename a service account, so every argument replaces it.

use async_trait::async_trait;

use crate::OpenAi;
use crate::errors::api_error;
use crate::values::{int, object, required_str, split_import_id, str_attr, string};
use openai_admin::models::{CreateServiceAccountRequest, ServiceAccount};
use tfplugin::codec::{Path, Type, Value};
use tfplugin::framework::{
    Attribute, CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, Diagnostic,
    Diagnostics, IdentitySchema, ImportByIdentityRequest, ImportRequest, ImportResponse,
    ReadRequest, ReadResponse, Resource, Schema, UpdateRequest, UpdateResponse, ValidateRequest,
    ValidateResponse,
};

pub const TYPE_NAME: &str = "openai_project_service_account";

const ATTRIBUTES: &[&str] = &["project_id", "name"];

pub struct ProjectServiceAccountResource;

pub fn schema() -> Schema {
    Schema::new(
        "A keyless project service account. It is created without an API key (and none is ever \
         made for it), so it can only be used through workload identity federation: map tokens \
         to it with `openai_service_account_mapping`. OpenAI cannot rename a service account, \
         so changing any argument replaces it.",
    )
    .attribute(
        Attribute::computed("id", Type::String)
            .use_state_for_unknown()
            .description("The service account's id (`svc_acct_...`)."),
    )
    .attribute(
        Attribute::required("project_id", Type::String)
            .requires_replace()
            .description(
                "The project the service account belongs to (`proj_...`). Changing it replaces \
                 the service account.",
            ),
    )
    .attribute(
        Attribute::required("name", Type::String)
            .requires_replace()
            .description(
                "The service account's name. OpenAI has no rename, so changing it replaces the \
                 service account (and its id).",
            ),
    )
    .attribute(
        Attribute::computed("role", Type::String)
            .use_state_for_unknown()
            .description("The service account's role in the project, e.g. `member`."),
    )
    .attribute(
        Attribute::computed("created_at", Type::Number)
            .use_state_for_unknown()
            .description("Creation time, Unix seconds."),
    )
}

/// The state (and data source result) for an API object. The API object does
/// not carry its project, so the caller supplies the one it asked about.
pub fn state_from_api(sa: &ServiceAccount, project_id: &str) -> Value {
    object([
        ("id", string(&sa.id)),
        ("project_id", string(project_id)),
        ("name", string(&sa.name)),
        ("role", string(&sa.role)),
        ("created_at", int(sa.created_at)),
    ])
}

fn validate_config(config: &Value, diags: &mut Diagnostics) {
    for name in ["project_id", "name"] {
        if str_attr(config, name) == Some("") {
            diags.attribute_error(
                Path::root().attr(name),
                format!("Empty {name}"),
                format!("{name} must not be empty."),
            );
        }
    }
}

#[async_trait]
impl Resource<OpenAi> for ProjectServiceAccountResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(
            IdentitySchema::default()
                .required("project_id", "The project's id (`proj_...`).")
                .required("id", "The service account's id (`svc_acct_...`)."),
        )
    }

    fn identity_of(&self, state: &Value) -> Option<Value> {
        Some(object([
            ("project_id", string(str_attr(state, "project_id")?)),
            ("id", string(str_attr(state, "id")?)),
        ]))
    }

    async fn validate(&self, req: ValidateRequest, resp: &mut ValidateResponse) {
        let (config, diags) = (&req.config, &mut resp.diagnostics);
        validate_config(config, diags);
    }

    async fn create(
        &self,
        data: &OpenAi,
        req: CreateRequest,
    ) -> Result<CreateResponse, Diagnostics> {
        let planned = &req.planned;
        let pid = required_str(planned, "project_id");
        let req = CreateServiceAccountRequest {
            name: required_str(planned, "name"),
            create_service_account_only: true,
        };
        let client = data.client()?;
        let created = client
            .create_service_account(&pid, &req)
            .await
            .map_err(|e| api_error("create the project service account", &e, ATTRIBUTES))?;
        if created.api_key.is_some() {
            // The promise of this resource is that no key exists. The key's
            // value is dropped unseen; the account holding it is removed.
            tracing::warn!(
                service_account_id = %created.id,
                "API key issued despite create_service_account_only; deleting the account"
            );
            let cleanup = match client.delete_service_account(&pid, &created.id).await {
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
        Ok(CreateResponse::new(state_from_api(&sa, &pid)))
    }

    async fn read(&self, data: &OpenAi, req: ReadRequest) -> Result<ReadResponse, Diagnostics> {
        let state = &req.state;
        let pid = required_str(state, "project_id");
        let id = required_str(state, "id");
        match data.client()?.get_service_account(&pid, &id).await {
            Ok(sa) => Ok(ReadResponse::new(Some(state_from_api(&sa, &pid)))),
            // Gone (or its project is): Terraform plans to create it again.
            Err(e) if e.is_not_found() => Ok(ReadResponse::new(None)),
            Err(e) => Err(api_error("read the project service account", &e, &[])),
        }
    }

    async fn update(
        &self,
        _data: &OpenAi,
        _req: UpdateRequest,
    ) -> Result<UpdateResponse, Diagnostics> {
        // Every argument requires replacement, so Terraform never asks.
        Err(Diagnostic::error(
            "Project service accounts cannot be updated in place",
            "OpenAI has no update for service accounts; this change should have been planned as \
             a replacement. Report this to the provider's maintainers.",
        )
        .into())
    }

    async fn delete(
        &self,
        data: &OpenAi,
        req: DeleteRequest,
    ) -> Result<DeleteResponse, Diagnostics> {
        let prior = &req.prior;
        let pid = required_str(prior, "project_id");
        let id = required_str(prior, "id");
        match data.client()?.delete_service_account(&pid, &id).await {
            Ok(_) => Ok(DeleteResponse::new()),
            Err(e) if e.is_not_found() => Ok(DeleteResponse::new()),
            Err(e) => Err(api_error("delete the project service account", &e, &[])),
        }
    }

    async fn import(
        &self,
        _data: &OpenAi,
        req: ImportRequest,
    ) -> Result<ImportResponse, Diagnostics> {
        let id = req.id.as_str();
        let (pid, sid) = split_import_id(
            id,
            "<project id>/<service account id>",
            "proj_abc/svc_acct_def",
        )?;
        Ok(ImportResponse::new(
            schema().stub(&[("id", string(sid)), ("project_id", string(pid))]),
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
            str_attr(identity, "project_id").unwrap_or_default(),
            str_attr(identity, "id").unwrap_or_default()
        );
        self.import(data, ImportRequest::new(id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(str_attr(&state, "project_id"), Some("proj_1"));
        assert_eq!(str_attr(&state, "id"), Some("svc_acct_1"));
        // Exactly the schema's attributes: no key slot exists at all.
        let Value::Object(m) = &state else {
            panic!("object")
        };
        let names: Vec<&str> = m.keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = schema().attributes.iter().map(|a| a.name).collect();
        expected.sort();
        assert_eq!(names, expected);
    }
}
