//! Data source `openai_workload_identity_provider`: one existing provider,
//! chosen by id or by name (names are unique in the organization).

use async_trait::async_trait;

use super::lookup::{self, Argument, Key};
use crate::errors::{Action, Op, api_error};
use crate::provider_data::ProviderData;
use crate::resources::workload_identity_provider::{self as resource, ProviderModel};
use tfplugin::framework::model::Model;
use tfplugin::framework::{
    ConfigRules, DataSource, Diagnostics, Mode, ReadDataSourceRequest, ReadDataSourceResponse,
    Schema,
};

pub(crate) const TYPE_NAME: &str = "openai_workload_identity_provider";

const WHAT: &str = "workload identity provider";

pub(crate) struct WorkloadIdentityProviderDataSource;

pub(crate) fn schema() -> Schema {
    lookup::from_resource(
        &resource::schema(),
        "An existing workload identity provider, looked up by `id` or by `name` (set exactly \
         one). Its attributes are those of the `openai_workload_identity_provider` resource.",
        &[
            Argument {
                name: ProviderModel::id,
                mode: Mode::OptionalComputed,
                description: "The provider's id (`wip_...`). Set this or `name`.",
                if_empty: "Give the provider's id (`wip_...`), or set `name` instead.",
            },
            Argument {
                name: ProviderModel::name,
                mode: Mode::OptionalComputed,
                description: "The provider's name (unique in the organization). Set this or `id`.",
                if_empty: "Give the provider's name, or set `id` instead.",
            },
        ],
    )
}

#[async_trait]
impl DataSource<ProviderData> for WorkloadIdentityProviderDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn config_rules(&self) -> ConfigRules {
        ConfigRules::of(|config: &ProviderModel, diags| {
            lookup::validate_key(&config.id, &config.name, WHAT, diags)
        })
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadDataSourceRequest,
    ) -> Result<ReadDataSourceResponse, Diagnostics> {
        let config = ProviderModel::from_value(&req.config)?;
        let key = lookup::key(&config.id, &config.name, WHAT)?;
        let client = data.client()?;
        // Served from the per-process listing, like the resource's reads.
        let found = match key {
            Key::Id(id) => data.inventory.provider(client, id).await,
            Key::Name(name) => {
                data.inventory
                    .providers(client, |s| {
                        s.objects.values().find(|p| p.name == name).cloned()
                    })
                    .await
            }
        }
        .map_err(|e| {
            api_error(
                Op::new(Action::List, "workload identity providers"),
                &e,
                &[],
            )
        })?;
        let p = found.ok_or_else(|| key.not_found(WHAT, "in the organization"))?;
        Ok(ReadDataSourceResponse::new(
            resource::state_from_api(&p, &ProviderModel::default()).to_value(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::framework::model::schema_mismatches;

    /// The data source's attributes are the resource's, so is its model.
    #[test]
    fn model_matches_schema() {
        assert_eq!(
            schema_mismatches::<ProviderModel>(&schema()),
            Vec::<String>::new()
        );
    }
}
