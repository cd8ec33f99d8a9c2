//! Data source `openai_service_account_mappings`: the mappings of one
//! workload identity provider, optionally only those of one service account.
//!
//! Matchers are given as a JSON string, `attribute_matchers_json`: in a list
//! every element must have the same type, while each mapping's matchers form
//! an object of its own shape (claim names, string/number/bool values). A
//! JSON string keeps the values' types; `jsondecode()` gives the object back.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::errors::{Action, Op, api_error};
use crate::provider_data::ProviderData;
use crate::resources::service_account_mapping::{self as resource, MappingModel};
use openai_admin::models::FederationRule;
use tfplugin::codec::{Path, Type, Value};
use tfplugin::framework::model::{Field, FieldType, Model, ModelError};
use tfplugin::framework::{
    Attribute, DataSource, Diagnostic, Diagnostics, ReadDataSourceRequest, ReadDataSourceResponse,
    Schema,
};

pub(crate) const TYPE_NAME: &str = "openai_service_account_mappings";

tfplugin::model! {
    /// The data source's configuration and result.
    pub(crate) struct MappingsModel {
        pub workload_identity_provider_id: Field<String>,
        pub service_account_id: Field<String>,
        pub mappings: Field<Vec<MappingEntry>>,
    }
}

/// One element of `mappings`: the resource's state of a mapping, except
/// that the matchers are JSON text and `allow_unpinned_shared_issuer` is left
/// out.
///
/// That flag is an acknowledgement written in a mapping's configuration,
/// read only by the provider's plan-time tenant-pinning guard; OpenAI does
/// not store it, so a listing from the API could only ever give null.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MappingEntry {
    /// `attribute_matchers` and `allow_unpinned_shared_issuer` are null
    /// here; the text stands in for the matchers.
    pub mapping: MappingModel,
    pub attribute_matchers_json: String,
}

const MATCHERS_JSON: &str = "attribute_matchers_json";

/// The resource's attribute that only its configuration holds.
const CONFIG_ONLY: &str = MappingModel::allow_unpinned_shared_issuer;

/// `attrs` (the resource's) as the data source shows them: the matchers'
/// JSON text in place of the matchers, the configuration-only flag gone.
fn to_entry_attrs<T>(attrs: &mut BTreeMap<String, T>, json: T) {
    attrs.remove(CONFIG_ONLY);
    attrs.remove(MappingModel::attribute_matchers);
    attrs.insert(MATCHERS_JSON.to_string(), json);
}

/// The reverse of [`to_entry_attrs`], with `matchers` and a null flag.
fn to_resource_attrs<T>(attrs: &mut BTreeMap<String, T>, matchers: T, flag: T) -> Option<T> {
    attrs.insert(CONFIG_ONLY.to_string(), flag);
    attrs.insert(MappingModel::attribute_matchers.to_string(), matchers);
    attrs.remove(MATCHERS_JSON)
}

impl FieldType for MappingEntry {
    fn accepts(ty: &Type) -> bool {
        let Type::Object(attrs) = ty else {
            return false;
        };
        let mut attrs = attrs.clone();
        if attrs.contains_key(CONFIG_ONLY)
            || to_resource_attrs(&mut attrs, Type::Dynamic, Type::Bool) != Some(Type::String)
        {
            return false;
        }
        MappingModel::accepts(&Type::Object(attrs))
    }

    fn decode(v: &Value, at: &Path) -> Result<Self, ModelError> {
        let json: String = tfplugin::framework::model::decode_attr(v, MATCHERS_JSON, at)?;
        let mut v = v.clone();
        if let Value::Object(m) = &mut v {
            to_resource_attrs(m, Value::Null, Value::Null);
        }
        let mut mapping = MappingModel::decode(&v, at)?;
        mapping.attribute_matchers = Field::Null;
        mapping.allow_unpinned_shared_issuer = Field::Null;
        Ok(MappingEntry {
            mapping,
            attribute_matchers_json: json,
        })
    }

    fn encode(&self) -> Value {
        let mut v = self.mapping.to_value();
        if let Value::Object(m) = &mut v {
            to_entry_attrs(m, Value::String(self.attribute_matchers_json.clone()));
        }
        v
    }
}

pub(crate) struct ServiceAccountMappingsDataSource;

/// The resource's attributes, with the matchers as JSON text and without
/// the configuration-only flag.
fn mapping_type() -> Type {
    let Type::Object(mut attrs) = resource::schema().object_type() else {
        unreachable!("a schema's type is an object type")
    };
    to_entry_attrs(&mut attrs, Type::String);
    Type::Object(attrs)
}

pub(crate) fn schema() -> Schema {
    Schema::new(
        "The service account mappings of one workload identity provider, optionally only those \
         of one service account.",
    )
    .attribute(
        Attribute::required(MappingsModel::workload_identity_provider_id, Type::String)
            .not_empty("Give the provider's id (`wip_...`).")
            .description("The provider whose mappings to list (`wip_...`)."),
    )
    .attribute(
        Attribute::optional(MappingsModel::service_account_id, Type::String)
            .not_empty("Omit it to list the mappings of every service account.")
            .description(
                "Only mappings to this service account (`svc_acct_...`). Omit for all mappings.",
            ),
    )
    .attribute(
        Attribute::computed(
            MappingsModel::mappings,
            Type::List(Box::new(mapping_type())),
        )
        .description(
            "The mappings, oldest first (by `created_at`, then `id`). Each has the attributes \
             of the `openai_service_account_mapping` resource (`id`, \
             `workload_identity_provider_id`, `project_id`, `service_account_id`, `name`, \
             `description`, `enabled`, `scopes`, `created_at`, `updated_at`), except that the \
             matchers are `attribute_matchers_json`: a JSON object text with sorted keys whose \
             values keep their types, e.g. `{\"ref\":\"refs/heads/main\",\"run_attempt\":1}`. \
             Use `jsondecode()` to read it. `scopes` is null for the service account's default \
             permissions. The resource's `allow_unpinned_shared_issuer` is not listed: it is an \
             acknowledgement in a mapping's configuration, not something OpenAI stores.",
        ),
    )
}

/// One list element: the resource's state of the mapping, matchers as JSON.
fn mapping_entry(r: &FederationRule) -> MappingEntry {
    let mut mapping = resource::state_from_api(r, &MappingModel::default());
    mapping.attribute_matchers = Field::Null;
    // Sorted keys: the same matchers always give the same text.
    let sorted: BTreeMap<&String, &serde_json::Value> = r.attribute_matchers.iter().collect();
    MappingEntry {
        mapping,
        attribute_matchers_json: serde_json::to_string(&sorted)
            .unwrap_or_else(|_| "{}".to_string()),
    }
}

#[async_trait]
impl DataSource<ProviderData> for ServiceAccountMappingsDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadDataSourceRequest,
    ) -> Result<ReadDataSourceResponse, Diagnostics> {
        let config = MappingsModel::from_value(&req.config)?;
        let pid = config.workload_identity_provider_id.or_empty();
        let sa = config.service_account_id.as_deref();
        // One listing per provider per process, shared with the resources.
        let rules = data
            .inventory
            .rules(data.client()?, pid, |s| {
                s.map(|s| s.objects.values().cloned().collect::<Vec<_>>())
            })
            .await
            .map_err(|e| api_error(Op::new(Action::List, "service account mappings"), &e, &[]))?;
        let Some(mut rules) = rules else {
            return Err(Diagnostic::error(
                "Workload identity provider not found",
                format!(
                    "No workload identity provider with id {pid:?} exists in the organization, \
                     so it has no mappings to list. Check workload_identity_provider_id."
                ),
            )
            .at(Path::root().attr(MappingsModel::workload_identity_provider_id))
            .into());
        };
        rules.retain(|r| sa.is_none_or(|sa| r.service_account_id == sa));
        rules.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        let result = MappingsModel {
            workload_identity_provider_id: Field::Known(pid.to_string()),
            service_account_id: sa.map(str::to_string).into(),
            mappings: Field::Known(rules.iter().map(mapping_entry).collect()),
        };
        Ok(ReadDataSourceResponse::new(result.to_value()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::framework::model::schema_mismatches;

    #[test]
    fn model_matches_schema() {
        assert_eq!(
            schema_mismatches::<MappingsModel>(&schema()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn entries_leave_out_the_configuration_only_flag() {
        let Type::Object(attrs) = mapping_type() else {
            unreachable!()
        };
        assert!(!attrs.contains_key(MappingModel::allow_unpinned_shared_issuer));
        assert!(!attrs.contains_key(MappingModel::attribute_matchers));
        assert_eq!(attrs.get(MATCHERS_JSON), Some(&Type::String));
        let entry = MappingEntry {
            mapping: MappingModel::default(),
            attribute_matchers_json: "{}".to_string(),
        };
        let value = entry.encode();
        assert!(MappingEntry::accepts(&mapping_type()));
        assert_eq!(MappingEntry::decode(&value, &Path::root()), Ok(entry));
    }
}
