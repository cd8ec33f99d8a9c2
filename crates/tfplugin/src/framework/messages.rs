//! One request and one response per trait method (see [`super::resource`]).
//!
//! Every struct is `#[non_exhaustive]`: the framework fills requests in, so a
//! field added later (say, provider meta) breaks no implementation. Code
//! outside this crate (tests driving a resource directly, resources building
//! their answers) uses the constructors and `with_*` methods instead of struct
//! literals, for the same reason.
//!
//! Private state is opaque bytes Terraform stores beside the state and hands
//! back verbatim: plan → apply → state → read → the next plan. A response's
//! `private` is `None` to carry over the bytes the request brought, or
//! `Some` to replace them (`Some(vec![])` clears them).
//!
//! Identities in requests are `None` when Terraform sent none or the resource
//! declares no identity schema.

use std::time::SystemTime;

use super::diagnostics::Diagnostics;
use crate::codec::Value;

/// Adds `with_diagnostics` (and `with_private` where the response has private
/// bytes) to responses, so resources can build them in one expression.
macro_rules! response_builders {
    ($($ty:ident $([$private:ident])?),* $(,)?) => {$(
        impl $ty {
            /// Adds diagnostics. Warnings leave the call a success; errors
            /// make it a failure that still reports this response as is.
            pub fn with_diagnostics(mut self, diagnostics: Diagnostics) -> Self {
                self.diagnostics.extend(diagnostics);
                self
            }
            $(
                /// Replaces the private bytes Terraform keeps with the state.
                pub fn with_private(mut self, $private: Vec<u8>) -> Self {
                    self.private = Some($private);
                    self
                }
            )?
        }
    )*};
}

// ---------------------------------------------------------------------------
// Validation: provider, resource, data source, ephemeral and list configs.

/// A configuration to check statically. It may hold unknown values; no API calls.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ValidateRequest {
    pub config: Value,
}

impl ValidateRequest {
    pub fn new(config: Value) -> Self {
        ValidateRequest { config }
    }
}

/// What validation found; starts empty.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ValidateResponse {
    pub diagnostics: Diagnostics,
}

// ---------------------------------------------------------------------------
// Provider configuration.

#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConfigureRequest {
    /// May hold unknown values during plan; then leave `data` unset.
    pub config: Value,
    /// The CLI's version, e.g. `1.15.5`.
    pub terraform_version: String,
}

impl ConfigureRequest {
    pub fn new(config: Value, terraform_version: impl Into<String>) -> Self {
        ConfigureRequest {
            config,
            terraform_version: terraform_version.into(),
        }
    }
}

/// Starts with no data and no diagnostics.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConfigureResponse<D> {
    /// What every later call receives; `None` when the configuration is
    /// invalid (say why in `diagnostics`) or not known yet.
    pub data: Option<D>,
    pub diagnostics: Diagnostics,
}

impl<D> Default for ConfigureResponse<D> {
    fn default() -> Self {
        ConfigureResponse {
            data: None,
            diagnostics: Diagnostics::new(),
        }
    }
}

// ---------------------------------------------------------------------------
// Managed resources: apply (create, update, delete), read, import, upgrade.

/// ApplyResourceChange for a new object.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CreateRequest {
    pub config: Value,
    pub planned: Value,
    /// The planned private bytes (set by `modify_plan`).
    pub private: Vec<u8>,
    /// The planned identity; usually `None`, as a new object's is not known.
    pub identity: Option<Value>,
}

impl CreateRequest {
    pub fn new(config: Value, planned: Value) -> Self {
        CreateRequest {
            config,
            planned,
            private: Vec::new(),
            identity: None,
        }
    }
}

/// The created object. `Err` from `create` means nothing was created; to
/// report an object that exists although the call failed (Terraform then
/// keeps it as tainted), return `Ok` with error diagnostics.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CreateResponse {
    /// Wholly known, and equal to the plan wherever the plan was known.
    pub state: Value,
    pub private: Option<Vec<u8>>,
    pub diagnostics: Diagnostics,
}

impl CreateResponse {
    pub fn new(state: Value) -> Self {
        CreateResponse {
            state,
            private: None,
            diagnostics: Diagnostics::new(),
        }
    }
}

/// ReadResource (refresh, and after import).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReadRequest {
    /// The stored (or imported) state; never null.
    pub state: Value,
    pub private: Vec<u8>,
    pub identity: Option<Value>,
}

impl ReadRequest {
    pub fn new(state: Value) -> Self {
        ReadRequest {
            state,
            private: Vec::new(),
            identity: None,
        }
    }
}

#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReadResponse {
    /// `None` when the remote object no longer exists: Terraform drops it
    /// from state and plans to create it again.
    pub state: Option<Value>,
    pub private: Option<Vec<u8>>,
    pub diagnostics: Diagnostics,
}

impl ReadResponse {
    pub fn new(state: Option<Value>) -> Self {
        ReadResponse {
            state,
            private: None,
            diagnostics: Diagnostics::new(),
        }
    }
}

/// ApplyResourceChange for an existing object that stays.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UpdateRequest {
    pub config: Value,
    pub prior: Value,
    pub planned: Value,
    pub private: Vec<u8>,
    pub identity: Option<Value>,
}

impl UpdateRequest {
    pub fn new(config: Value, prior: Value, planned: Value) -> Self {
        UpdateRequest {
            config,
            prior,
            planned,
            private: Vec::new(),
            identity: None,
        }
    }
}

/// The updated object. `Err` from `update` reports the prior state unchanged.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UpdateResponse {
    pub state: Value,
    pub private: Option<Vec<u8>>,
    pub diagnostics: Diagnostics,
}

impl UpdateResponse {
    pub fn new(state: Value) -> Self {
        UpdateResponse {
            state,
            private: None,
            diagnostics: Diagnostics::new(),
        }
    }
}

/// ApplyResourceChange for an object that goes away.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DeleteRequest {
    pub prior: Value,
    pub private: Vec<u8>,
    pub identity: Option<Value>,
}

impl DeleteRequest {
    pub fn new(prior: Value) -> Self {
        DeleteRequest {
            prior,
            private: Vec::new(),
            identity: None,
        }
    }
}

/// `Err` from `delete` keeps the prior state: the object still exists.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct DeleteResponse {
    pub diagnostics: Diagnostics,
}

impl DeleteResponse {
    pub fn new() -> Self {
        Self::default()
    }
}

/// ImportResourceState with an ID (`terraform import`, `import { id = ... }`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ImportRequest {
    pub id: String,
}

impl ImportRequest {
    pub fn new(id: impl Into<String>) -> Self {
        ImportRequest { id: id.into() }
    }
}

/// ImportResourceState with an identity (`import { identity = {...} }`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ImportByIdentityRequest {
    pub identity: Value,
}

impl ImportByIdentityRequest {
    pub fn new(identity: Value) -> Self {
        ImportByIdentityRequest { identity }
    }
}

/// A minimal state (what `read` needs to find the object); Terraform reads
/// the rest right after.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ImportResponse {
    pub state: Value,
    /// Imported objects start with no private bytes unless set here.
    pub private: Option<Vec<u8>>,
    pub diagnostics: Diagnostics,
}

impl ImportResponse {
    pub fn new(state: Value) -> Self {
        ImportResponse {
            state,
            private: None,
            diagnostics: Diagnostics::new(),
        }
    }
}

/// UpgradeResourceState: a stored state, written with schema `version`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UpgradeStateRequest {
    pub version: i64,
    /// Decoded from JSON with the current schema, ignoring attributes that
    /// no longer exist; null when nothing was stored.
    pub state: Value,
}

impl UpgradeStateRequest {
    pub fn new(version: i64, state: Value) -> Self {
        UpgradeStateRequest { version, state }
    }
}

#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UpgradeStateResponse {
    /// Conforms to the current schema and is wholly known.
    pub state: Value,
    pub diagnostics: Diagnostics,
}

impl UpgradeStateResponse {
    pub fn new(state: Value) -> Self {
        UpgradeStateResponse {
            state,
            diagnostics: Diagnostics::new(),
        }
    }
}

// ---------------------------------------------------------------------------
// List resources (`terraform query`).

/// ListResource: the `config` block of a `list` block.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ListRequest {
    pub config: Value,
    /// Whether Terraform wants each item's whole state (the framework drops
    /// it otherwise, so filling it in regardless is fine).
    pub include_resource_object: bool,
    /// At most this many items are sent; `None` means no limit.
    pub limit: Option<usize>,
}

impl ListRequest {
    pub fn new(config: Value) -> Self {
        ListRequest {
            config,
            include_resource_object: false,
            limit: None,
        }
    }
}

/// One item found by a list resource.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ListedItem {
    /// What `terraform query` shows for the item.
    pub display_name: String,
    /// Conforms to the resource's identity schema.
    pub identity: Value,
    /// The item's whole state, sent when Terraform asks for it.
    pub state: Value,
}

impl ListedItem {
    pub fn new(display_name: impl Into<String>, identity: Value, state: Value) -> Self {
        ListedItem {
            display_name: display_name.into(),
            identity,
            state,
        }
    }
}

#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ListResponse {
    pub items: Vec<ListedItem>,
    /// Warnings travel with the first item (Terraform wants an identity on
    /// every event); with no items they are logged only.
    pub diagnostics: Diagnostics,
}

impl ListResponse {
    pub fn new(items: Vec<ListedItem>) -> Self {
        ListResponse {
            items,
            diagnostics: Diagnostics::new(),
        }
    }
}

// ---------------------------------------------------------------------------
// Data sources.

#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReadDataSourceRequest {
    /// Wholly known.
    pub config: Value,
}

impl ReadDataSourceRequest {
    pub fn new(config: Value) -> Self {
        ReadDataSourceRequest { config }
    }
}

#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReadDataSourceResponse {
    /// The whole object: the configuration plus computed attributes.
    pub state: Value,
    pub diagnostics: Diagnostics,
}

impl ReadDataSourceResponse {
    pub fn new(state: Value) -> Self {
        ReadDataSourceResponse {
            state,
            diagnostics: Diagnostics::new(),
        }
    }
}

// ---------------------------------------------------------------------------
// Ephemeral resources.

#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OpenRequest {
    pub config: Value,
}

impl OpenRequest {
    pub fn new(config: Value) -> Self {
        OpenRequest { config }
    }
}

/// What opening an ephemeral resource produced.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OpenResponse {
    pub result: Value,
    /// When Terraform should call `renew`, if ever.
    pub renew_at: Option<SystemTime>,
    /// Opaque bytes handed back to `renew` and `close`.
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

impl OpenResponse {
    pub fn new(result: Value) -> Self {
        OpenResponse {
            result,
            renew_at: None,
            private: Vec::new(),
            diagnostics: Diagnostics::new(),
        }
    }

    pub fn with_renew_at(mut self, at: SystemTime) -> Self {
        self.renew_at = Some(at);
        self
    }

    /// Sets the bytes handed back to `renew` and `close`.
    pub fn with_private(mut self, private: Vec<u8>) -> Self {
        self.private = private;
        self
    }
}

#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RenewRequest {
    /// What `open` (or the last `renew`) returned.
    pub private: Vec<u8>,
}

impl RenewRequest {
    pub fn new(private: Vec<u8>) -> Self {
        RenewRequest { private }
    }
}

/// Starts as "no further renewal, no private bytes".
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RenewResponse {
    pub renew_at: Option<SystemTime>,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

impl RenewResponse {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_renew_at(mut self, at: SystemTime) -> Self {
        self.renew_at = Some(at);
        self
    }

    /// Sets the bytes handed to the next `renew` and to `close`.
    pub fn with_private(mut self, private: Vec<u8>) -> Self {
        self.private = private;
        self
    }
}

#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CloseRequest {
    pub private: Vec<u8>,
}

impl CloseRequest {
    pub fn new(private: Vec<u8>) -> Self {
        CloseRequest { private }
    }
}

#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CloseResponse {
    pub diagnostics: Diagnostics,
}

impl CloseResponse {
    pub fn new() -> Self {
        Self::default()
    }
}

// ---------------------------------------------------------------------------
// Moving state from another resource type or provider (`moved` blocks).

/// An object of another type (or another provider's type) that a `moved`
/// block hands to this resource type.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MoveStateRequest {
    /// E.g. `registry.terraform.io/hashicorp/random`.
    pub source_provider_address: String,
    pub source_type_name: String,
    pub source_schema_version: i64,
    /// The source object as Terraform stored it: JSON in the source's
    /// schema, which this provider does not serve.
    pub source_state_json: Vec<u8>,
    pub source_private: Vec<u8>,
}

impl MoveStateRequest {
    pub fn new(
        source_provider_address: impl Into<String>,
        source_type_name: impl Into<String>,
        source_schema_version: i64,
        source_state_json: Vec<u8>,
    ) -> Self {
        MoveStateRequest {
            source_provider_address: source_provider_address.into(),
            source_type_name: source_type_name.into(),
            source_schema_version,
            source_state_json,
            source_private: Vec::new(),
        }
    }
}

/// The moved object in this resource type's schema.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MoveStateResponse {
    pub state: Value,
    /// `None` keeps no private bytes (the source's belong to another type).
    pub private: Option<Vec<u8>>,
    pub diagnostics: Diagnostics,
}

impl MoveStateResponse {
    pub fn new(state: Value) -> Self {
        MoveStateResponse {
            state,
            private: None,
            diagnostics: Diagnostics::new(),
        }
    }
}

// ---------------------------------------------------------------------------
// Actions (protocol 6.10, Terraform 1.14 and later).

/// An action's configuration at plan time; it may hold unknown values
/// (Terraform evaluates it again, wholly known, before invoking).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PlanActionRequest {
    pub config: Value,
}

impl PlanActionRequest {
    pub fn new(config: Value) -> Self {
        PlanActionRequest { config }
    }
}

/// What planning an action found; starts empty.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct PlanActionResponse {
    pub diagnostics: Diagnostics,
}

/// An action to run now, with its configuration wholly known.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct InvokeActionRequest {
    pub config: Value,
}

impl InvokeActionRequest {
    pub fn new(config: Value) -> Self {
        InvokeActionRequest { config }
    }
}

/// How an invocation ended: its warnings (errors go in `Err`).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct InvokeActionResponse {
    pub diagnostics: Diagnostics,
}

impl InvokeActionResponse {
    pub fn new() -> Self {
        Self::default()
    }
}

/// Where a running action reports progress. Each message reaches Terraform
/// at once as one progress event, which the CLI prints as
/// `Action <address>: <message>`. Cloning shares the destination.
#[derive(Clone, Debug)]
pub struct Progress {
    sink: Option<tokio::sync::mpsc::UnboundedSender<String>>,
}

impl Progress {
    /// A reporter and the receiving end of its messages.
    pub fn channel() -> (Progress, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (Progress { sink: Some(tx) }, rx)
    }

    /// A reporter that drops every message (for tests driving an action directly).
    pub fn discard() -> Progress {
        Progress { sink: None }
    }

    /// Sends one message. A Terraform that stopped listening is no error:
    /// the action goes on and the message is dropped.
    pub fn report(&self, message: impl Into<String>) {
        let message = message.into();
        tracing::info!(progress = %message, "action progress");
        if let Some(tx) = &self.sink {
            let _ = tx.send(message);
        }
    }
}

response_builders! {
    CreateResponse [private],
    ReadResponse [private],
    UpdateResponse [private],
    ImportResponse [private],
    DeleteResponse,
    UpgradeStateResponse,
    ListResponse,
    ReadDataSourceResponse,
    OpenResponse,
    RenewResponse,
    CloseResponse,
    PlanActionResponse,
    InvokeActionResponse,
    MoveStateResponse [private],
}
