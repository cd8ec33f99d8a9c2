//! The OpenAI provider: its configuration, resources and data sources, and
//! the per-process state they share (listing cache, limit ledger).

pub mod config;
pub mod validate;

use std::sync::Arc;

use async_trait::async_trait;

use crate::codec::Value;
use crate::framework::{self, Diagnostics, Schema};

/// The provider type; registered resources are listed in [`OpenAiProvider::resources`].
#[derive(Default)]
pub struct OpenAiProvider;

/// What resources receive once the provider is configured.
#[derive(Clone)]
pub struct OpenAi(Arc<Inner>);

pub struct Inner {
    pub settings: config::Settings,
}

impl OpenAi {
    pub fn new(settings: config::Settings) -> Self {
        OpenAi(Arc::new(Inner { settings }))
    }

    pub fn settings(&self) -> &config::Settings {
        &self.0.settings
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

    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        config::resolve(config, &env, diags);
    }

    async fn configure(
        &self,
        config: &Value,
        terraform_version: &str,
        diags: &mut Diagnostics,
    ) -> Option<OpenAi> {
        let settings = config::resolve(config, &env, diags)?;
        tracing::info!(
            terraform_version,
            base_url = %settings.base_url,
            admin_key_set = settings.admin_key.is_some(),
            "provider configured"
        );
        Some(OpenAi::new(settings))
    }

    fn resources(&self) -> Vec<Box<dyn framework::Resource<OpenAi>>> {
        Vec::new()
    }
}
