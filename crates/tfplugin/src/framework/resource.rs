//! The traits a provider implements. Adding a resource means one file that
//! implements [`Resource`] and one registration line in the provider's list.
//!
//! # Calls
//!
//! Every call that carries something from Terraform takes one request struct
//! from [`super::messages`] and answers with one response struct; both are
//! `#[non_exhaustive]`, so the framework can pass more later without breaking
//! an implementation. Requests are owned: take fields out of them freely.
//! Two shapes, by what the call is for:
//!
//! - Operations that produce an object (create, read, update, delete,
//!   import, upgrade, list, data source read, ephemeral open/renew/close)
//!   return `Result<XResponse, Diagnostics>`. `Err` is the usual failure, so
//!   `?` works on anything that yields diagnostics; the framework then
//!   reports the state that is true (nothing for a failed create, the prior
//!   object for a failed update or delete). A response's own `diagnostics`
//!   carry the warnings of a success, or the errors of a failure that still
//!   has a state to report (a create that left an object behind).
//! - Hooks that refine an answer the framework already holds (validation,
//!   provider configuration, plan changes) get it as `&mut`: a
//!   [`ValidateResponse`], a [`ConfigureResponse`] (which may stay without
//!   data and without errors while the configuration is unknown) or the
//!   [`PlanCtx`], which holds the plan's request and answer together.
//!
//! `D` is the provider's configured data (e.g. an API client). It is a
//! separate argument, not a request field, because it comes from the
//! provider, not from Terraform: calls that must talk to the outside world
//! get `&D` (they fail with "Provider not configured" before the framework
//! calls them otherwise), `modify_plan` gets `Option<&D>` since plans are
//! made before the provider configuration is known.
//!
//! # Validation
//!
//! The framework owns it (see [`super::validation`]): an attribute's own
//! checks are validators in the schema (`Attribute::not_empty`), the checks
//! across attributes are the object's [`ConfigRules`] over its model, and
//! `validate` is left for what needs the raw configuration value.
//!
//! # Optional capabilities
//!
//! Import, import by identity, identity, list, plan changes and state
//! upgrades are defaulted methods rather than separate traits. A Go provider
//! opts in by implementing an extra interface the framework finds with a
//! type assertion; a `Box<dyn Resource<D>>` cannot be asked whether it also
//! implements another trait, so separate traits would need one `as_x()`
//! accessor per capability anyway. The defaults are the "not offered"
//! answer: a diagnostic naming the type and what to do instead, no identity
//! (`identity_schema` is `None`), no list (`supports_list` is false), the
//! plan left as the framework made it, and states of the current schema
//! version only.

use async_trait::async_trait;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::messages::*;
use super::plan::PlanCtx;
use super::schema::{IdentitySchema, Schema};
use super::validation::ConfigRules;
use crate::codec::Value;

/// The provider itself: its configuration block and what it serves.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    type Data: Clone + Send + Sync + 'static;

    /// Provider type name, the prefix of every resource type (e.g. `example` for `example_thing`).
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    /// Rules across the configuration's attributes, written against a model;
    /// the framework runs them at validation, after the attributes' own
    /// validators and before [`validate`](Self::validate). None by default.
    fn config_rules(&self) -> ConfigRules {
        ConfigRules::none()
    }
    /// Checks of the configuration (which may hold unknown values) that
    /// neither a validator nor the rules can make.
    async fn validate(&self, _req: ValidateRequest, _resp: &mut ValidateResponse) {}
    /// Builds the data resources use: sets `resp.data`, or leaves it `None`
    /// with errors in `resp.diagnostics` when the configuration is invalid
    /// (or without, when it is not known yet).
    async fn configure(&self, req: ConfigureRequest, resp: &mut ConfigureResponse<Self::Data>);
    /// Terraform asks the provider to stop (StopProvider, e.g. on Ctrl-C):
    /// cancel waits and requests in flight so that their RPCs return soon.
    /// `data` is `None` before (or without) a configuration. It must return
    /// promptly; the default does nothing.
    async fn stop(&self, _data: Option<&Self::Data>) {}
    fn resources(&self) -> Vec<Box<dyn Resource<Self::Data>>>;
    fn data_sources(&self) -> Vec<Box<dyn DataSource<Self::Data>>> {
        Vec::new()
    }
    fn ephemeral_resources(&self) -> Vec<Box<dyn EphemeralResource<Self::Data>>> {
        Vec::new()
    }
    /// Actions (Terraform 1.14 and later); none by default. Older CLIs never
    /// ask for them, so offering actions does not stop the provider loading there.
    fn actions(&self) -> Vec<Box<dyn Action<Self::Data>>> {
        Vec::new()
    }
    /// Provider-defined functions (Terraform 1.8 and later); none by default.
    fn functions(&self) -> Vec<Box<dyn crate::framework::function::Function>> {
        Vec::new()
    }
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

    /// Rules across the configuration's attributes, written against a model;
    /// the framework runs them at validation, after the attributes' own
    /// validators and before [`validate`](Self::validate). None by default.
    fn config_rules(&self) -> ConfigRules {
        ConfigRules::none()
    }

    /// Static checks of a configuration, which may hold unknowns, that
    /// neither a validator nor the rules can make. No API calls.
    async fn validate(&self, _req: ValidateRequest, _resp: &mut ValidateResponse) {}

    /// Rewrites the planned value before change detection, e.g. to keep the
    /// prior spelling of a semantically equal value. `plan.prior` is null on
    /// create; replacement and computed values are not worked out yet.
    fn normalize_plan(&self, _plan: &mut PlanCtx) {}

    /// Last word on a plan (after defaults, replacement and computed values
    /// were worked out): cross-object checks, extra diagnostics, planned
    /// private bytes.
    async fn modify_plan(&self, _data: Option<&D>, _plan: &mut PlanCtx) {}

    async fn create(&self, data: &D, req: CreateRequest) -> Result<CreateResponse, Diagnostics>;

    /// Answers [`ReadResponse::new`]`(None)` when the remote object no longer exists.
    async fn read(&self, data: &D, req: ReadRequest) -> Result<ReadResponse, Diagnostics>;

    async fn update(&self, data: &D, req: UpdateRequest) -> Result<UpdateResponse, Diagnostics>;

    async fn delete(&self, data: &D, req: DeleteRequest) -> Result<DeleteResponse, Diagnostics>;

    /// Builds a minimal state from an import ID; `read` fills in the rest.
    async fn import(&self, _data: &D, _req: ImportRequest) -> Result<ImportResponse, Diagnostics> {
        Err(Diagnostic::error(
            format!("{} does not support import", self.type_name()),
            "Create the object with Terraform instead.",
        )
        .into())
    }

    /// Builds a minimal state from an identity (`import { identity = {...} }`).
    async fn import_by_identity(
        &self,
        _data: &D,
        _req: ImportByIdentityRequest,
    ) -> Result<ImportResponse, Diagnostics> {
        Err(Diagnostic::error(
            format!("{} does not support import by identity", self.type_name()),
            "Use an import ID instead.",
        )
        .into())
    }

    /// Upgrades a stored state of an older schema version. The default
    /// accepts states of the current version only.
    fn upgrade_state(&self, req: UpgradeStateRequest) -> Result<UpgradeStateResponse, Diagnostics> {
        let current = self.schema().version;
        if req.version == current {
            Ok(UpgradeStateResponse::new(req.state))
        } else {
            Err(Diagnostic::error(
                format!("Cannot upgrade {} state", self.type_name()),
                format!(
                    "The state was written with schema version {}; this provider knows version {current} only.",
                    req.version
                ),
            )
            .into())
        }
    }

    /// Takes over an object of another resource type, or of another
    /// provider's type, that a `moved` block names (Terraform 1.8 and
    /// later). The default refuses every source.
    fn move_state(&self, req: MoveStateRequest) -> Result<MoveStateResponse, Diagnostics> {
        Err(Diagnostic::error(
            format!(
                "Cannot move {} to {}",
                req.source_type_name,
                self.type_name()
            ),
            format!(
                "{} cannot take over objects of {} (provider {}). Remove the moved block, and \
                 import the object instead.",
                self.type_name(),
                req.source_type_name,
                req.source_provider_address
            ),
        )
        .into())
    }

    /// Whether `terraform query` can list this type (needs an identity).
    fn supports_list(&self) -> bool {
        false
    }

    /// Lists existing objects for `terraform query`. Diagnostic paths are
    /// relative to [`Resource::list_schema`].
    async fn list(&self, _data: &D, _req: ListRequest) -> Result<ListResponse, Diagnostics> {
        Err(Diagnostic::error(
            format!("{} cannot be listed", self.type_name()),
            "This resource type has no list support.",
        )
        .into())
    }

    /// Rules across a `list` block's `config`, as [`Resource::config_rules`]
    /// for [`Resource::list_schema`].
    fn list_config_rules(&self) -> ConfigRules {
        ConfigRules::none()
    }

    /// Static checks of a `list` block's `config` (may hold unknowns) beyond
    /// the validators and the rules. Paths are relative to
    /// [`Resource::list_schema`].
    async fn validate_list(&self, _req: ValidateRequest, _resp: &mut ValidateResponse) {}

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
    /// Rules across the configuration's attributes, written against a model;
    /// the framework runs them at validation, after the attributes' own
    /// validators and before [`validate`](Self::validate). None by default.
    fn config_rules(&self) -> ConfigRules {
        ConfigRules::none()
    }
    /// Checks beyond the validators and the rules (may see unknowns).
    async fn validate(&self, _req: ValidateRequest, _resp: &mut ValidateResponse) {}
    async fn read(
        &self,
        data: &D,
        req: ReadDataSourceRequest,
    ) -> Result<ReadDataSourceResponse, Diagnostics>;
}

/// An ephemeral resource (protocol 6.7): never stored in state or plan.
#[async_trait]
pub trait EphemeralResource<D: Sync>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    /// Rules across the configuration's attributes, written against a model;
    /// the framework runs them at validation, after the attributes' own
    /// validators and before [`validate`](Self::validate). None by default.
    fn config_rules(&self) -> ConfigRules {
        ConfigRules::none()
    }
    /// Checks beyond the validators and the rules (may see unknowns).
    async fn validate(&self, _req: ValidateRequest, _resp: &mut ValidateResponse) {}
    async fn open(&self, data: &D, req: OpenRequest) -> Result<OpenResponse, Diagnostics>;
    /// The default asks for no further renewal.
    async fn renew(&self, _data: &D, _req: RenewRequest) -> Result<RenewResponse, Diagnostics> {
        Ok(RenewResponse::new())
    }
    async fn close(&self, _data: &D, _req: CloseRequest) -> Result<CloseResponse, Diagnostics> {
        Ok(CloseResponse::new())
    }
}

/// An action (protocol 6.10, Terraform 1.14): an operation Terraform runs on
/// demand (`terraform apply -invoke=action.TYPE.NAME`) or when a resource's
/// `action_trigger` fires. It has a configuration and no state.
#[async_trait]
pub trait Action<D: Sync>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    /// Rules across the configuration's attributes, written against a model;
    /// the framework runs them at validation, after the attributes' own
    /// validators and before [`validate`](Self::validate). None by default.
    fn config_rules(&self) -> ConfigRules {
        ConfigRules::none()
    }
    /// Static checks of the configuration, which may hold unknowns, beyond
    /// the validators and the rules. No API calls.
    async fn validate(&self, _req: ValidateRequest, _resp: &mut ValidateResponse) {}
    /// Checks at plan time, with the provider's data when it is configured
    /// already. The framework has run the validators and the rules again
    /// first, on values that may have become known; unknowns may remain.
    async fn plan(
        &self,
        _data: Option<&D>,
        _req: PlanActionRequest,
        _resp: &mut PlanActionResponse,
    ) {
    }
    /// Runs the action. Progress reported on `progress` is shown while it
    /// runs; `Err` fails the action (and the apply that triggered it).
    async fn invoke(
        &self,
        data: &D,
        req: InvokeActionRequest,
        progress: Progress,
    ) -> Result<InvokeActionResponse, Diagnostics>;
}
