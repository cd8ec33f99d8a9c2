//! terraform-provider-openai: the Terraform/OpenTofu provider for OpenAI
//! Workload Identity Federation. Its configuration, resources, data sources
//! and ephemeral resources, and the per-process state they share (listing
//! cache, limit ledger, tenant-pinning guard). It sits on [`tfplugin`] for
//! the protocol and on [`openai_admin`] for the API; see ARCHITECTURE.md.

pub(crate) mod actions;
pub(crate) mod config;
pub(crate) mod data_sources;
pub(crate) mod ephemeral;
pub(crate) mod errors;
pub(crate) mod functions;
pub(crate) mod guards;
pub(crate) mod inventory;
pub(crate) mod limits;
pub(crate) mod pending;
pub(crate) mod provider_data;
pub(crate) mod resources;
pub(crate) mod subject_token;
pub(crate) mod tenant_pinning;
pub(crate) mod validate;
pub(crate) mod values;

#[cfg(test)]
mod agreement_tests;

// What the binary and the docs generator use.
pub use limits::run::note_process_start;
pub use values::to_json;

use async_trait::async_trait;

use provider_data::ProviderData;
use tfplugin::framework::{
    self, ConfigureRequest, ConfigureResponse, Schema, ValidateRequest, ValidateResponse,
};

/// Logs of these crates are the provider's own: `@module` `openai`, level
/// from `TF_LOG_PROVIDER_OPENAI`.
pub const LOG_IDENTITY: tfplugin::logging::LogIdentity = tfplugin::logging::LogIdentity {
    name: "openai",
    targets: &["terraform_provider_openai", "openai_admin"],
};

/// The provider type; registered objects are listed in [`OpenAiProvider::resources`]
/// and [`OpenAiProvider::data_sources`].
#[derive(Default)]
pub struct OpenAiProvider;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[async_trait]
impl framework::Provider for OpenAiProvider {
    type Data = ProviderData;

    fn type_name(&self) -> &'static str {
        "openai"
    }

    fn schema(&self) -> Schema {
        config::schema()
    }

    async fn validate(&self, req: ValidateRequest, resp: &mut ValidateResponse) {
        config::resolve(&req.config, &env, &mut resp.diagnostics);
    }

    async fn configure(&self, req: ConfigureRequest, resp: &mut ConfigureResponse<ProviderData>) {
        let (config, terraform_version) = (&req.config, req.terraform_version.as_str());
        let diags = &mut resp.diagnostics;
        let Some(settings) = config::resolve(config, &env, diags) else {
            return;
        };
        tracing::info!(
            terraform_version,
            base_url = %settings.base_url,
            admin_key_set = settings.admin_key.is_some(),
            "provider configured"
        );
        resp.data = match ProviderData::new(settings) {
            Ok(data) => {
                let _ = data.terraform_version.set(terraform_version.to_string());
                Some(data)
            }
            Err(e) => {
                diags.error(
                    "Cannot set up the OpenAI API client",
                    format!("{e}. Check base_url and token_exchange_url."),
                );
                None
            }
        };
    }

    async fn stop(&self, data: Option<&ProviderData>) {
        if let Some(data) = data {
            data.cancel();
        }
    }

    fn resources(&self) -> Vec<Box<dyn framework::Resource<ProviderData>>> {
        use resources::rate_limit_report::Reported;
        vec![
            // Each reports the time it waited on rate limits (see rate_limit_report).
            Box::new(Reported(
                resources::workload_identity_provider::WorkloadIdentityProviderResource,
            )),
            Box::new(Reported(
                resources::service_account_mapping::ServiceAccountMappingResource,
            )),
            Box::new(Reported(
                resources::project_service_account::ProjectServiceAccountResource,
            )),
        ]
    }

    fn data_sources(&self) -> Vec<Box<dyn framework::DataSource<ProviderData>>> {
        use data_sources::*;
        vec![
            Box::new(workload_identity_provider::WorkloadIdentityProviderDataSource),
            Box::new(workload_identity_providers::WorkloadIdentityProvidersDataSource),
            Box::new(workload_identity_match::WorkloadIdentityMatchDataSource),
            Box::new(service_account_mappings::ServiceAccountMappingsDataSource),
            Box::new(project::ProjectDataSource),
            Box::new(project_api_keys::ProjectApiKeysDataSource),
            Box::new(project_service_account::ProjectServiceAccountDataSource),
            Box::new(workload_identity_limits::WorkloadIdentityLimitsDataSource),
            Box::new(workload_identity_issuer::WorkloadIdentityIssuerDataSource),
        ]
    }

    fn ephemeral_resources(&self) -> Vec<Box<dyn framework::EphemeralResource<ProviderData>>> {
        vec![Box::new(
            ephemeral::workload_identity_token::WorkloadIdentityTokenEphemeral,
        )]
    }

    fn actions(&self) -> Vec<Box<dyn framework::Action<ProviderData>>> {
        vec![Box::new(
            actions::workload_identity_verify::WorkloadIdentityVerifyAction,
        )]
    }

    fn functions(&self) -> Vec<Box<dyn framework::Function>> {
        functions::all()
    }
}

#[cfg(test)]
mod stop_tests {
    use std::time::{Duration, Instant};

    use openai_admin::error::ApiError;
    use openai_admin::models::ListParams;
    use tfplugin::framework::Provider as _;

    use super::*;

    #[tokio::test]
    async fn stop_provider_ends_a_rate_limit_wait_at_once() {
        let mut emu_config = openai_emulator::EmulatorConfig::new("sk-admin-stop");
        emu_config.rate_limit_rpm = Some(1);
        let emu = openai_emulator::start(emu_config).await.unwrap();
        let data = ProviderData::new(config::Settings {
            admin_key: Some(openai_admin::Secret::new("sk-admin-stop")),
            base_url: url::Url::parse(&emu.api_base()).unwrap(),
            token_exchange_url: url::Url::parse(&emu.token_url()).unwrap(),
            request_timeout: Duration::from_secs(10),
            max_retries: 0,
            rate_limit_wait: Duration::from_secs(600),
            rate_limit_window: Duration::from_secs(60),
            max_providers: 50,
            max_mappings_per_provider: 50,
        })
        .unwrap();
        let client = data.client().unwrap().clone();
        client.list_projects(&ListParams::default()).await.unwrap();
        // The route's one request a minute is used: this one waits.
        let waiting =
            tokio::spawn(async move { client.list_projects(&ListParams::default()).await });
        // Wait for the emulator to have refused it, so the client is waiting.
        let stats = format!("{}/_emulator/stats", emu.base_url());
        loop {
            let s: serde_json::Value = reqwest::get(&stats).await.unwrap().json().await.unwrap();
            if s["by_status"]["429"].as_u64().unwrap_or(0) > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let stopped = Instant::now();
        OpenAiProvider.stop(Some(&data)).await;
        let result = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the wait ends soon after stop")
            .unwrap();
        assert!(
            matches!(result, Err(ApiError::Cancelled { .. })),
            "{result:?}"
        );
        assert!(stopped.elapsed() < Duration::from_secs(2));
    }
}
