//! terraform-provider-openai: the Terraform/OpenTofu provider for OpenAI
//! Workload Identity Federation. Its configuration, resources, data sources
//! and ephemeral resources, and the per-process state they share (listing
//! cache, limit ledger, tenant-pinning guard). It sits on [`tfplugin`] for
//! the protocol and on [`openai_admin`] for the API; see ARCHITECTURE.md.

pub mod actions;
pub mod config;
pub mod data_sources;
pub mod ephemeral;
pub mod errors;
pub mod functions;
pub(crate) mod guards;
pub mod inventory;
pub mod limits;
pub mod pending;
pub mod resources;
pub mod subject_token;
pub mod tenant_pinning;
pub mod validate;
pub mod values;

#[cfg(test)]
mod agreement_tests;

use std::sync::Arc;

use async_trait::async_trait;

use openai_admin::error::ApiError;
use openai_admin::{Client, ClientConfig};
use tfplugin::framework::{
    self, ConfigureRequest, ConfigureResponse, Diagnostic, Diagnostics, Schema, ValidateRequest,
    ValidateResponse,
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

/// What resources receive once the provider is configured.
#[derive(Clone)]
pub struct OpenAi(Arc<Inner>);

pub struct Inner {
    pub settings: config::Settings,
    client: Client,
    pub inventory: inventory::Inventory,
    pub ledger: limits::Ledger,
    /// What this process planned for providers and mappings, for the
    /// tenant-pinning guard.
    pub pinning: tenant_pinning::PinningPlans,
    /// Creates waiting at a limit, for the advice their errors end with.
    pub waiting: limits::Waiting,
    /// Replacements remembered for the apply of a saved plan.
    pub(crate) marks: Option<guards::replacement::Marks>,
    /// The CLI's version as ConfigureProvider told it (unset in unit tests).
    pub terraform_version: std::sync::OnceLock<String>,
}

impl std::ops::Deref for OpenAi {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl OpenAi {
    pub fn new(settings: config::Settings) -> Result<Self, ApiError> {
        let client = Client::new(ClientConfig {
            base_url: settings.base_url.clone(),
            admin_key: settings.admin_key.clone(),
            token_exchange_url: settings.token_exchange_url.clone(),
            request_timeout: settings.request_timeout,
            max_retries: settings.max_retries,
            rate_limit_wait: settings.rate_limit_wait,
            rate_limit_window: settings.rate_limit_window,
            // Cancelled by StopProvider (see `stop`): requests in flight,
            // rate-limit waits, backoff and subject-token fetches end at once.
            cancel: openai_admin::CancellationToken::new(),
            ..ClientConfig::default()
        })?;
        // Aliases on the same organization count the limits together.
        let mut ledger = limits::Ledger::shared(limits::RunLog::for_organization(
            settings.base_url.as_str(),
            settings.admin_key.as_ref().map(|key| key.expose()),
        ));
        // With -parallelism=1 nothing else is planned while a create waits.
        if guards::one_at_a_time() {
            ledger.settle = std::time::Duration::ZERO;
        }
        let marks = settings.admin_key.as_ref().and_then(|key| {
            guards::replacement::Marks::for_organization(settings.base_url.as_str(), key.expose())
        });
        Ok(OpenAi(Arc::new(Inner {
            marks,
            settings,
            client,
            inventory: Default::default(),
            ledger,
            pinning: Default::default(),
            waiting: Default::default(),
            terraform_version: Default::default(),
        })))
    }

    /// Whether the CLI plans destroys (Terraform 1.3 and later, every
    /// OpenTofu); assumed when the version is not known.
    pub fn plans_destroys(&self) -> bool {
        self.cli_at_least(1, 3)
    }

    /// Whether the CLI sends the identity of the object a create replaces
    /// (`-replace`, taint): Terraform 1.12 and later.
    pub fn tells_replacements(&self) -> bool {
        self.cli_at_least(1, 12)
    }

    fn cli_at_least(&self, major: u32, minor: u32) -> bool {
        let Some(v) = self.terraform_version.get() else {
            return true;
        };
        let mut parts = v.split(['.', '-', '+']).map(|p| p.parse::<u32>().ok());
        match (parts.next().flatten(), parts.next().flatten()) {
            (Some(a), Some(b)) => (a, b) >= (major, minor),
            _ => true,
        }
    }

    /// What a limit error ends with ([`limits::limit_advice`]).
    pub fn limit_advice(&self, peak_waiting: usize) -> &'static str {
        limits::limit_advice(self.plans_destroys(), guards::one_at_a_time(), peak_waiting)
    }

    pub fn settings(&self) -> &config::Settings {
        &self.0.settings
    }

    /// The Admin API client; an error diagnostic when no admin key is set,
    /// so the key is only demanded by operations that need it.
    pub fn client(&self) -> Result<&Client, Diagnostics> {
        if self.0.settings.admin_key.is_none() {
            return Err(Diagnostic::error(
                "Missing OpenAI Admin API key",
                format!(
                    "This operation calls the OpenAI Admin API, which needs an Admin API key. \
                     Set admin_api_key in the provider block or the {} environment variable.",
                    config::ENV_ADMIN_KEY
                ),
            )
            .into());
        }
        Ok(&self.0.client)
    }

    /// The client for calls that need no admin key (the token exchange).
    pub fn exchange_client(&self) -> &Client {
        &self.0.client
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[async_trait]
impl framework::Provider for OpenAiProvider {
    type Data = OpenAi;

    fn type_name(&self) -> &'static str {
        "openai"
    }

    fn schema(&self) -> Schema {
        config::schema()
    }

    async fn validate(&self, req: ValidateRequest, resp: &mut ValidateResponse) {
        config::resolve(&req.config, &env, &mut resp.diagnostics);
    }

    async fn configure(&self, req: ConfigureRequest, resp: &mut ConfigureResponse<OpenAi>) {
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
        resp.data = match OpenAi::new(settings) {
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

    async fn stop(&self, data: Option<&OpenAi>) {
        if let Some(data) = data {
            data.0.client.config().cancel.cancel();
        }
    }

    fn resources(&self) -> Vec<Box<dyn framework::Resource<OpenAi>>> {
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

    fn data_sources(&self) -> Vec<Box<dyn framework::DataSource<OpenAi>>> {
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

    fn ephemeral_resources(&self) -> Vec<Box<dyn framework::EphemeralResource<OpenAi>>> {
        vec![Box::new(
            ephemeral::workload_identity_token::WorkloadIdentityTokenEphemeral,
        )]
    }

    fn actions(&self) -> Vec<Box<dyn framework::Action<OpenAi>>> {
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

    use openai_admin::models::ListParams;
    use tfplugin::framework::Provider as _;

    use super::*;

    #[tokio::test]
    async fn stop_provider_ends_a_rate_limit_wait_at_once() {
        let mut emu_config = openai_emulator::EmulatorConfig::new("sk-admin-stop");
        emu_config.rate_limit_rpm = Some(1);
        let emu = openai_emulator::start(emu_config).await.unwrap();
        let data = OpenAi::new(config::Settings {
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
