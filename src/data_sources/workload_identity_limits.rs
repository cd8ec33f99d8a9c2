//! Data source `openai_workload_identity_limits`: the organization's usage
//! against OpenAI's two WIF limits (providers per organization, mappings per
//! provider), measured against the limits configured in the provider block.
//!
//! Counts come from the per-process inventory: one provider listing plus one
//! mapping listing per provider, shared with the resources' own reads.

use std::collections::BTreeMap;

use async_trait::async_trait;
use futures_util::{StreamExt as _, TryStreamExt as _};

use crate::errors::{Action, Op, api_error};
use crate::provider_data::ProviderData;
use tfplugin::codec::Type;
use tfplugin::framework::model::{Field, Model};
use tfplugin::framework::{
    Attribute, DataSource, Diagnostics, ReadDataSourceRequest, ReadDataSourceResponse, Schema,
};

pub(crate) const TYPE_NAME: &str = "openai_workload_identity_limits";

/// How many providers' mappings are listed at once.
const PARALLEL_LISTINGS: usize = 4;

tfplugin::model! {
    /// The data source's result.
    pub(crate) struct LimitsModel {
        pub max_workload_identity_providers: Field<i64>,
        pub workload_identity_providers: Field<i64>,
        pub providers_remaining: Field<i64>,
        pub max_mappings_per_provider: Field<i64>,
        pub providers: Field<BTreeMap<String, ProviderUsage>>,
    }
}

tfplugin::model! {
    /// One provider's use of its mapping limit (always known).
    pub(crate) struct ProviderUsage {
        pub id: String,
        pub name: String,
        pub mappings: i64,
        pub max_mappings: i64,
        pub mappings_remaining: i64,
    }
}

type M = LimitsModel;

pub(crate) struct WorkloadIdentityLimitsDataSource;

fn usage_type() -> Type {
    Type::object([
        (ProviderUsage::id, Type::String),
        (ProviderUsage::name, Type::String),
        (ProviderUsage::mappings, Type::Number),
        (ProviderUsage::max_mappings, Type::Number),
        (ProviderUsage::mappings_remaining, Type::Number),
    ])
}

pub(crate) fn schema() -> Schema {
    Schema::new(
        "The organization's current use of OpenAI's workload identity limits: providers per \
         organization and service account mappings per provider. The limits are those of the \
         provider block (`max_workload_identity_providers`, `max_mappings_per_provider`), \
         which default to OpenAI's documented 50 and 50.",
    )
    .attribute(
        Attribute::computed(M::max_workload_identity_providers, Type::Number)
            .description("The most providers the organization may have."),
    )
    .attribute(
        Attribute::computed(M::workload_identity_providers, Type::Number)
            .description("How many providers the organization has."),
    )
    .attribute(
        Attribute::computed(M::providers_remaining, Type::Number).description(
            "How many more providers may be created (never below 0, even when a configured limit \
         is below the current count).",
        ),
    )
    .attribute(
        Attribute::computed(M::max_mappings_per_provider, Type::Number)
            .description("The most service account mappings one provider may have."),
    )
    .attribute(
        Attribute::computed(M::providers, Type::Map(Box::new(usage_type()))).description(
            "Per provider, keyed by its id (`wip_...`), so that \
             `providers[openai_workload_identity_provider.ci.id]` finds one: `id`, `name`, \
             `mappings` (how many it has), `max_mappings` and `mappings_remaining` (never \
             below 0).",
        ),
    )
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl DataSource<ProviderData> for WorkloadIdentityLimitsDataSource {
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
        let client = data.client()?;
        let max_providers = data.settings().max_providers;
        let max_mappings = data.settings().max_mappings_per_provider;
        let providers = data
            .inventory
            .providers(client, |s| {
                s.objects
                    .values()
                    .map(|p| (p.id.clone(), p.name.clone()))
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|e| {
                api_error(
                    Op::new(Action::List, "workload identity providers"),
                    &e,
                    &[],
                )
            })?;
        // A provider deleted since the listing has no mappings left: 0.
        let ids: Vec<String> = providers.iter().map(|(id, _)| id.clone()).collect();
        let mapping_counts: Vec<usize> = futures_util::stream::iter(ids)
            .map(|id| async move {
                data.inventory
                    .rules(client, &id, |s| s.map_or(0, |s| s.objects.len()))
                    .await
            })
            .buffered(PARALLEL_LISTINGS)
            .try_collect()
            .await
            .map_err(|e| api_error(Op::new(Action::List, "service account mappings"), &e, &[]))?;
        let usage = providers
            .iter()
            .zip(mapping_counts)
            .map(|((id, name), mappings)| {
                let usage = ProviderUsage {
                    id: id.clone(),
                    name: name.clone(),
                    mappings: count(mappings),
                    max_mappings: count(max_mappings),
                    mappings_remaining: count(max_mappings.saturating_sub(mappings)),
                };
                (id.clone(), usage)
            })
            .collect();
        let result = LimitsModel {
            max_workload_identity_providers: Field::Known(count(max_providers)),
            workload_identity_providers: Field::Known(count(providers.len())),
            providers_remaining: Field::Known(count(max_providers.saturating_sub(providers.len()))),
            max_mappings_per_provider: Field::Known(count(max_mappings)),
            providers: Field::Known(usage),
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
        assert_eq!(schema_mismatches::<M>(&schema()), Vec::<String>::new());
    }
}
