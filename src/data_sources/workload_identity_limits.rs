//! Data source `openai_workload_identity_limits`: the organization's usage
//! against OpenAI's two WIF limits (providers per organization, mappings per
//! provider), measured against the limits configured in the provider block.
//!
//! Counts come from the per-process inventory: one provider listing plus one
//! mapping listing per provider, shared with the resources' own reads.

use std::collections::BTreeMap;

use async_trait::async_trait;
use futures_util::{StreamExt as _, TryStreamExt as _};

use crate::OpenAi;
use crate::errors::api_error;
use crate::values::{int, object, string};
use tfplugin::codec::{Type, Value};
use tfplugin::framework::{
    Attribute, DataSource, Diagnostics, ReadDataSourceRequest, ReadDataSourceResponse, Schema,
};

pub const TYPE_NAME: &str = "openai_workload_identity_limits";

/// How many providers' mappings are listed at once.
const PARALLEL_LISTINGS: usize = 4;

pub struct WorkloadIdentityLimitsDataSource;

fn usage_type() -> Type {
    Type::Object(BTreeMap::from([
        ("id".to_string(), Type::String),
        ("name".to_string(), Type::String),
        ("mappings".to_string(), Type::Number),
        ("max_mappings".to_string(), Type::Number),
        ("mappings_remaining".to_string(), Type::Number),
    ]))
}

pub fn schema() -> Schema {
    Schema::new(
        "The organization's current use of OpenAI's workload identity limits: providers per \
         organization and service account mappings per provider. The limits are those of the \
         provider block (`max_workload_identity_providers`, `max_mappings_per_provider`), \
         which default to OpenAI's documented 50 and 50.",
    )
    .attribute(
        Attribute::computed("max_workload_identity_providers", Type::Number)
            .description("The most providers the organization may have."),
    )
    .attribute(
        Attribute::computed("workload_identity_providers", Type::Number)
            .description("How many providers the organization has."),
    )
    .attribute(
        Attribute::computed("providers_remaining", Type::Number).description(
            "How many more providers may be created (never below 0, even when a configured limit \
         is below the current count).",
        ),
    )
    .attribute(
        Attribute::computed("max_mappings_per_provider", Type::Number)
            .description("The most service account mappings one provider may have."),
    )
    .attribute(
        Attribute::computed("providers", Type::List(Box::new(usage_type()))).description(
            "Per provider, oldest first: `id`, `name`, `mappings` (how many it has), \
             `max_mappings` and `mappings_remaining` (never below 0).",
        ),
    )
}

fn count(n: usize) -> Value {
    int(i64::try_from(n).unwrap_or(i64::MAX))
}

#[async_trait]
impl DataSource<OpenAi> for WorkloadIdentityLimitsDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn read(
        &self,
        data: &OpenAi,
        _req: ReadDataSourceRequest,
    ) -> Result<ReadDataSourceResponse, Diagnostics> {
        let client = data.client()?;
        let max_providers = data.settings().max_providers;
        let max_mappings = data.settings().max_mappings_per_provider;
        let mut providers = data
            .inventory
            .providers(client, |s| {
                s.objects
                    .values()
                    .map(|p| (p.created_at, p.id.clone(), p.name.clone()))
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|e| api_error("list workload identity providers", &e, &[]))?;
        providers.sort();
        // A provider deleted since the listing has no mappings left: 0.
        let ids: Vec<String> = providers.iter().map(|(_, id, _)| id.clone()).collect();
        let mapping_counts: Vec<usize> = futures_util::stream::iter(ids)
            .map(|id| async move {
                data.inventory
                    .rules(client, &id, |s| s.map_or(0, |s| s.objects.len()))
                    .await
            })
            .buffered(PARALLEL_LISTINGS)
            .try_collect()
            .await
            .map_err(|e| api_error("list service account mappings", &e, &[]))?;
        let usage = providers
            .iter()
            .zip(mapping_counts)
            .map(|((_, id, name), mappings)| {
                object([
                    ("id", string(id)),
                    ("name", string(name)),
                    ("mappings", count(mappings)),
                    ("max_mappings", count(max_mappings)),
                    (
                        "mappings_remaining",
                        count(max_mappings.saturating_sub(mappings)),
                    ),
                ])
            })
            .collect();
        Ok(ReadDataSourceResponse::new(object([
            ("max_workload_identity_providers", count(max_providers)),
            ("workload_identity_providers", count(providers.len())),
            (
                "providers_remaining",
                count(max_providers.saturating_sub(providers.len())),
            ),
            ("max_mappings_per_provider", count(max_mappings)),
            ("providers", Value::List(usage)),
        ])))
    }
}
