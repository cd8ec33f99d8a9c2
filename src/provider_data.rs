//! The configured provider: what every resource, data source, ephemeral
//! resource and action receives once ConfigureProvider has run. It holds
//! the settings, the Admin API client, and the per-process state they share
//! for one organization: the listing cache, the limit ledger, the tenant
//! pinning plans and the replacements remembered for saved plans.

use std::sync::Arc;

use openai_admin::error::ApiError;
use openai_admin::{Client, ClientConfig};
use tfplugin::framework::{Diagnostic, Diagnostics};

use crate::{config, guards, inventory, limits, tenant_pinning};

/// What resources receive once the provider is configured.
#[derive(Clone)]
pub struct ProviderData(Arc<State>);

pub struct State {
    settings: config::Settings,
    client: Client,
    pub(crate) inventory: inventory::Inventory,
    pub(crate) ledger: limits::Ledger,
    /// What this process planned for providers and mappings, for the
    /// tenant-pinning guard.
    pub(crate) pinning: tenant_pinning::PinningPlans,
    /// Creates waiting at a limit, for the advice their errors end with.
    pub(crate) waiting: limits::Waiting,
    /// Replacements remembered for the apply of a saved plan.
    pub(crate) marks: Option<guards::replacement::Marks>,
    /// The CLI's version as ConfigureProvider told it (unset in unit tests).
    pub(crate) terraform_version: std::sync::OnceLock<String>,
}

impl std::ops::Deref for ProviderData {
    type Target = State;
    fn deref(&self) -> &State {
        &self.0
    }
}

impl ProviderData {
    pub(crate) fn new(settings: config::Settings) -> Result<Self, ApiError> {
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
        Ok(ProviderData(Arc::new(State {
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
    pub(crate) fn plans_destroys(&self) -> bool {
        self.cli_at_least(1, 3)
    }

    /// Whether the CLI sends the identity of the object a create replaces
    /// (`-replace`, taint): Terraform 1.12 and later.
    pub(crate) fn tells_replacements(&self) -> bool {
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
    pub(crate) fn limit_advice(&self, peak_waiting: usize) -> &'static str {
        limits::limit_advice(self.plans_destroys(), guards::one_at_a_time(), peak_waiting)
    }

    pub(crate) fn settings(&self) -> &config::Settings {
        &self.0.settings
    }

    /// The Admin API client; an error diagnostic when no admin key is set,
    /// so the key is only demanded by operations that need it.
    pub(crate) fn client(&self) -> Result<&Client, Diagnostics> {
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

    /// Ends requests in flight, rate-limit waits, backoff and subject-token
    /// fetches at once (StopProvider).
    pub(crate) fn cancel(&self) {
        self.0.client.config().cancel.cancel();
    }

    /// The client for calls that need no admin key (the token exchange).
    pub(crate) fn exchange_client(&self) -> &Client {
        &self.0.client
    }
}
