//! Provider-wide RPCs: metadata, schemas, the provider block's validation
//! and configuration, and stop.

use super::validate::validated;
use super::{ProviderService, decode};
use crate::framework::diagnostics::Diagnostics;
use crate::framework::messages::{ConfigureRequest, ConfigureResponse, ValidateRequest};
use crate::framework::resource::Provider;
use crate::framework::wire::WithDiagnostics;
use crate::proto::tfplugin6 as pb;

pub(super) fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        // Destroys are planned too, so resources see them in `modify_plan`.
        plan_destroy: true,
        get_provider_schema_optional: true,
        // Resources refuse moves unless they implement `move_state`.
        move_resource_state: true,
        generate_resource_config: false,
    }
}

pub(super) async fn get_metadata<P: Provider>(
    s: &ProviderService<P>,
    _req: pb::get_metadata::Request,
) -> Result<pb::get_metadata::Response, Diagnostics> {
    use pb::get_metadata as m;
    Ok(m::Response {
        server_capabilities: Some(capabilities()),
        resources: s
            .resources
            .keys()
            .map(|n| m::ResourceMetadata {
                type_name: n.clone(),
            })
            .collect(),
        data_sources: s
            .data_sources
            .keys()
            .map(|n| m::DataSourceMetadata {
                type_name: n.clone(),
            })
            .collect(),
        ephemeral_resources: s
            .ephemerals
            .keys()
            .map(|n| m::EphemeralMetadata {
                type_name: n.clone(),
            })
            .collect(),
        list_resources: s
            .resources
            .iter()
            .filter(|(_, (r, _))| r.supports_list())
            .map(|(n, _)| m::ListResourceMetadata {
                type_name: n.clone(),
            })
            .collect(),
        functions: s
            .functions
            .keys()
            .map(|n| m::FunctionMetadata { name: n.clone() })
            .collect(),
        actions: s
            .actions
            .keys()
            .map(|n| m::ActionMetadata {
                type_name: n.clone(),
            })
            .collect(),
        ..Default::default()
    })
}

pub(super) async fn get_provider_schema<P: Provider>(
    s: &ProviderService<P>,
    _req: pb::get_provider_schema::Request,
) -> Result<pb::get_provider_schema::Response, Diagnostics> {
    Ok(pb::get_provider_schema::Response {
        provider: Some(s.provider_schema.to_proto()),
        resource_schemas: s
            .resources
            .iter()
            .map(|(n, (_, schema))| (n.clone(), schema.to_proto()))
            .collect(),
        data_source_schemas: s
            .data_sources
            .iter()
            .map(|(n, (_, schema))| (n.clone(), schema.to_proto()))
            .collect(),
        ephemeral_resource_schemas: s
            .ephemerals
            .iter()
            .map(|(n, (_, schema))| (n.clone(), schema.to_proto()))
            .collect(),
        list_resource_schemas: s
            .resources
            .iter()
            .filter(|(_, (r, _))| r.supports_list())
            .map(|(n, (r, _))| (n.clone(), r.list_schema().to_proto()))
            .collect(),
        functions: super::functions::definitions(s),
        action_schemas: s
            .actions
            .iter()
            .map(|(n, (_, schema))| {
                (
                    n.clone(),
                    pb::ActionSchema {
                        schema: Some(schema.to_proto()),
                    },
                )
            })
            .collect(),
        server_capabilities: Some(capabilities()),
        ..Default::default()
    })
}

pub(super) async fn validate_provider_config<P: Provider>(
    s: &ProviderService<P>,
    req: pb::validate_provider_config::Request,
) -> Result<pb::validate_provider_config::Response, Diagnostics> {
    let config = decode(
        req.config.as_ref(),
        &s.provider_schema.object_type(),
        "provider configuration",
    )?;
    let mut resp = validated(&s.provider_schema, &s.provider.config_rules(), &config);
    s.provider
        .validate(ValidateRequest { config }, &mut resp)
        .await;
    Ok(WithDiagnostics::from_diagnostics(resp.diagnostics))
}

pub(super) async fn configure_provider<P: Provider>(
    s: &ProviderService<P>,
    req: pb::configure_provider::Request,
) -> Result<pb::configure_provider::Response, Diagnostics> {
    let config = decode(
        req.config.as_ref(),
        &s.provider_schema.object_type(),
        "provider configuration",
    )?;
    let mut resp = ConfigureResponse::default();
    s.provider
        .configure(
            ConfigureRequest {
                config,
                terraform_version: req.terraform_version,
            },
            &mut resp,
        )
        .await;
    s.set_data(resp.data);
    Ok(WithDiagnostics::from_diagnostics(resp.diagnostics))
}

pub(super) async fn stop_provider<P: Provider>(
    s: &ProviderService<P>,
) -> pb::stop_provider::Response {
    tracing::info!("StopProvider received");
    s.provider.stop(s.data().as_ref()).await;
    pb::stop_provider::Response::default()
}
