//! Data source `openai_workload_identity_providers`: every provider of the
//! organization.

use async_trait::async_trait;

use crate::errors::{Action, Op, api_error};
use crate::provider_data::ProviderData;
use crate::resources::workload_identity_provider::{self as resource, ProviderModel};
use tfplugin::codec::Type;
use tfplugin::framework::model::{Field, Model};
use tfplugin::framework::{
    Attribute, DataSource, Diagnostics, ReadDataSourceRequest, ReadDataSourceResponse, Schema,
};

pub(crate) const TYPE_NAME: &str = "openai_workload_identity_providers";

tfplugin::model! {
    /// The data source's result.
    pub(crate) struct ProvidersModel {
        pub providers: Field<Vec<ProviderModel>>,
    }
}

pub(crate) struct WorkloadIdentityProvidersDataSource;

pub(crate) fn schema() -> Schema {
    Schema::new("All workload identity providers of the organization.").attribute(
        Attribute::computed(
            ProvidersModel::providers,
            Type::List(Box::new(resource::schema().object_type())),
        )
        .description(
            "The providers, oldest first (by `created_at`, then `id`), so that a new provider \
             is appended and existing indices stay put. Each has the attributes of the \
             `openai_workload_identity_provider` resource: `id`, `name`, `issuer`, `audience`, \
             `description`, `enabled`, `attribute_transformations`, `jwks_json`, \
             `discovery_url`, `created_at`, `updated_at`.",
        ),
    )
}

#[async_trait]
impl DataSource<ProviderData> for WorkloadIdentityProvidersDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn read(
        &self,
        data: &ProviderData,
        _req: ReadDataSourceRequest,
    ) -> Result<ReadDataSourceResponse, Diagnostics> {
        let mut all = data
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
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        let providers = all
            .iter()
            .map(|p| resource::state_from_api(p, &ProviderModel::default()))
            .collect();
        let result = ProvidersModel {
            providers: Field::Known(providers),
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
            schema_mismatches::<ProvidersModel>(&schema()),
            Vec::<String>::new()
        );
    }
}
