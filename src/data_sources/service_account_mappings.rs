//! Data source `openai_service_account_mappings`: the mappings of one
//! workload identity provider, optionally only those of one service account.
//!
//! Matchers are given as a JSON string, `attribute_matchers_json`: in a list
//! every element must have the same type, while each mapping's matchers form
//! an object of its own shape (claim names, string/number/bool values). A
//! JSON string keeps the values' types; `jsondecode()` gives the object back.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::OpenAi;
use crate::errors::api_error;
use crate::resources::service_account_mapping as resource;
use crate::values::{object, str_attr, string};
use openai_admin::models::FederationRule;
use tfplugin::codec::{Path, Type, Value};
use tfplugin::framework::{
    Attribute, DataSource, Diagnostic, Diagnostics, ReadDataSourceRequest, ReadDataSourceResponse,
    Schema, ValidateRequest, ValidateResponse,
};

pub const TYPE_NAME: &str = "openai_service_account_mappings";

const MATCHERS: &str = "attribute_matchers";
const MATCHERS_JSON: &str = "attribute_matchers_json";

pub struct ServiceAccountMappingsDataSource;

/// The resource's attributes, with the matchers as JSON text.
fn mapping_type() -> Type {
    let Type::Object(mut attrs) = resource::schema().object_type() else {
        unreachable!("a schema's type is an object type")
    };
    attrs.remove(MATCHERS);
    attrs.insert(MATCHERS_JSON.to_string(), Type::String);
    Type::Object(attrs)
}

pub fn schema() -> Schema {
    Schema::new(
        "The service account mappings of one workload identity provider, optionally only those \
         of one service account.",
    )
    .attribute(
        Attribute::required("workload_identity_provider_id", Type::String)
            .description("The provider whose mappings to list (`wip_...`)."),
    )
    .attribute(
        Attribute::optional("service_account_id", Type::String).description(
            "Only mappings to this service account (`svc_acct_...`). Omit for all mappings.",
        ),
    )
    .attribute(
        Attribute::computed("mappings", Type::List(Box::new(mapping_type()))).description(
            "The mappings, oldest first (by `created_at`, then `id`). Each has the attributes \
             of the `openai_service_account_mapping` resource (`id`, \
             `workload_identity_provider_id`, `project_id`, `service_account_id`, `name`, \
             `description`, `enabled`, `scopes`, `created_at`, `updated_at`), except that the \
             matchers are `attribute_matchers_json`: a JSON object text with sorted keys whose \
             values keep their types, e.g. `{\"ref\":\"refs/heads/main\",\"run_attempt\":1}`. \
             Use `jsondecode()` to read it. `scopes` is null for the service account's default \
             permissions.",
        ),
    )
}

/// One list element: the resource's state of the mapping, matchers as JSON.
fn mapping_object(r: &FederationRule) -> Value {
    let mut v = resource::state_from_api(r, &Value::Null);
    // Sorted keys: the same matchers always give the same text.
    let sorted: BTreeMap<&String, &serde_json::Value> = r.attribute_matchers.iter().collect();
    let json = serde_json::to_string(&sorted).unwrap_or_else(|_| "{}".to_string());
    if let Value::Object(m) = &mut v {
        m.remove(MATCHERS);
        m.insert(MATCHERS_JSON.to_string(), string(json));
    }
    v
}

#[async_trait]
impl DataSource<OpenAi> for ServiceAccountMappingsDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, req: ValidateRequest, resp: &mut ValidateResponse) {
        let (config, diags) = (&req.config, &mut resp.diagnostics);
        for name in ["workload_identity_provider_id", "service_account_id"] {
            if str_attr(config, name) == Some("") {
                diags.attribute_error(
                    Path::root().attr(name),
                    format!("Empty {name}"),
                    format!("{name} must not be empty; omit it instead."),
                );
            }
        }
    }

    async fn read(
        &self,
        data: &OpenAi,
        req: ReadDataSourceRequest,
    ) -> Result<ReadDataSourceResponse, Diagnostics> {
        let config = &req.config;
        let pid = str_attr(config, "workload_identity_provider_id").unwrap_or_default();
        let sa = str_attr(config, "service_account_id");
        // One listing per provider per process, shared with the resources.
        let rules = data
            .inventory
            .rules(data.client()?, pid, |s| {
                s.map(|s| s.objects.values().cloned().collect::<Vec<_>>())
            })
            .await
            .map_err(|e| api_error("list service account mappings", &e, &[]))?;
        let Some(mut rules) = rules else {
            return Err(Diagnostic::error(
                "Workload identity provider not found",
                format!(
                    "No workload identity provider with id {pid:?} exists in the organization, \
                     so it has no mappings to list. Check workload_identity_provider_id."
                ),
            )
            .at(Path::root().attr("workload_identity_provider_id"))
            .into());
        };
        rules.retain(|r| sa.is_none_or(|sa| r.service_account_id == sa));
        rules.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(ReadDataSourceResponse::new(object([
            ("workload_identity_provider_id", string(pid)),
            ("service_account_id", crate::values::opt_string(sa)),
            (
                "mappings",
                Value::List(rules.iter().map(mapping_object).collect()),
            ),
        ])))
    }
}
