//! The traits a provider implements. Adding a resource means one file that
//! implements [`Resource`] and one registration line in the provider's list.
//!
//! `D` is the provider's configured data (e.g. an API client), handed to
//! every call that may talk to the outside world. It is `None` before
//! `ConfigureProvider`, or when the provider configuration is not yet known.

use std::time::SystemTime;

use async_trait::async_trait;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::plan::PlanCtx;
use super::schema::{IdentitySchema, Schema};
use crate::codec::Value;

/// The provider itself: its configuration block and what it serves.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    type Data: Clone + Send + Sync + 'static;

    /// Provider type name, the prefix of every resource type (e.g. `example` for `example_thing`).
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    /// Checks the configuration (which may hold unknown values).
    async fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Builds the data resources use. Returns `None` with errors in `diags`
    /// when the configuration is invalid.
    async fn configure(
        &self,
        config: &Value,
        terraform_version: &str,
        diags: &mut Diagnostics,
    ) -> Option<Self::Data>;
    fn resources(&self) -> Vec<Box<dyn Resource<Self::Data>>>;
    fn data_sources(&self) -> Vec<Box<dyn DataSource<Self::Data>>> {
        Vec::new()
    }
    fn ephemeral_resources(&self) -> Vec<Box<dyn EphemeralResource<Self::Data>>> {
        Vec::new()
    }
}

/// One item found by a list resource (`terraform query`).
pub struct ListedItem {
    pub display_name: String,
    pub identity: Value,
    pub state: Value,
}

/// A managed resource type.
#[async_trait]
pub trait Resource<D: Sync>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// The identity schema (protocol 6.9), if the resource has one.
    fn identity_schema(&self) -> Option<IdentitySchema> {
        None
    }

    /// The identity of a (wholly known) state value.
    fn identity_of(&self, _state: &Value) -> Option<Value> {
        None
    }

    /// Static checks of a configuration, which may hold unknowns. No API calls.
    async fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Rewrites the planned value before change detection, e.g. to keep the
    /// prior spelling of a semantically equal value. `prior` is null on create.
    fn normalize_plan(&self, _prior: &Value, _planned: &mut Value) {}

    /// Last word on a plan (after defaults, replacement and computed values
    /// were worked out): cross-object checks, extra diagnostics.
    async fn modify_plan(&self, _data: Option<&D>, _plan: &mut PlanCtx) {}

    async fn create(&self, data: &D, planned: &Value) -> Result<Value, Diagnostics>;

    /// Returns `None` when the remote object no longer exists.
    async fn read(&self, data: &D, state: &Value) -> Result<Option<Value>, Diagnostics>;

    async fn update(&self, data: &D, prior: &Value, planned: &Value) -> Result<Value, Diagnostics>;

    async fn delete(&self, data: &D, prior: &Value) -> Result<(), Diagnostics>;

    /// Builds a minimal state from an import ID; `read` fills in the rest.
    async fn import(&self, _data: &D, _id: &str) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error(
            format!("{} does not support import", self.type_name()),
            "Create the object with Terraform instead.",
        )
        .into())
    }

    /// Builds a minimal state from an identity (`import { identity = {...} }`).
    async fn import_by_identity(&self, _data: &D, _identity: &Value) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error(
            format!("{} does not support import by identity", self.type_name()),
            "Use an import ID instead.",
        )
        .into())
    }

    /// Upgrades a stored state of an older schema version. The default
    /// accepts states of the current version only; `state` was decoded from
    /// JSON with the current schema, ignoring attributes that no longer exist.
    fn upgrade_state(&self, version: i64, state: Value) -> Result<Value, Diagnostics> {
        let current = self.schema().version;
        if version == current {
            Ok(state)
        } else {
            Err(Diagnostic::error(
                format!("Cannot upgrade {} state", self.type_name()),
                format!(
                    "The state was written with schema version {version}; this provider knows version {current} only."
                ),
            )
            .into())
        }
    }

    /// Whether `terraform query` can list this type (needs an identity).
    fn supports_list(&self) -> bool {
        false
    }

    /// Lists existing objects for `terraform query`. Diagnostic paths are
    /// relative to [`Resource::list_schema`].
    async fn list(&self, _data: &D, _config: &Value) -> Result<Vec<ListedItem>, Diagnostics> {
        Err(Diagnostic::error(
            format!("{} cannot be listed", self.type_name()),
            "This resource type has no list support.",
        )
        .into())
    }

    /// Static checks of a `list` block's `config` (may hold unknowns).
    /// Paths are relative to [`Resource::list_schema`].
    async fn validate_list(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// The schema of the `config` block of a `list` block.
    fn list_schema(&self) -> Schema {
        Schema::new("")
    }
}

/// A data source.
#[async_trait]
pub trait DataSource<D: Sync>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    async fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Returns the whole object: configuration plus computed attributes.
    async fn read(&self, data: &D, config: &Value) -> Result<Value, Diagnostics>;
}

/// What opening an ephemeral resource produced.
pub struct Opened {
    pub result: Value,
    /// When Terraform should call `renew`, if ever.
    pub renew_at: Option<SystemTime>,
    /// Opaque bytes handed back to `renew` and `close`.
    pub private: Vec<u8>,
}

/// An ephemeral resource (protocol 6.7): never stored in state or plan.
#[async_trait]
pub trait EphemeralResource<D: Sync>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    async fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    async fn open(&self, data: &D, config: &Value) -> Result<Opened, Diagnostics>;
    /// Returns the next renewal time and new private bytes.
    async fn renew(
        &self,
        _data: &D,
        _private: &[u8],
    ) -> Result<(Option<SystemTime>, Vec<u8>), Diagnostics> {
        Ok((None, Vec::new()))
    }
    async fn close(&self, _data: &D, _private: &[u8]) -> Result<(), Diagnostics> {
        Ok(())
    }
}
