//! The `tfplugin6.Provider` gRPC service: dispatches each RPC to the
//! provider's resources, data sources and ephemeral resources.
//!
//! One module per RPC family; each handler turns a protocol request into a
//! [`super::messages`] request, calls the trait, and builds the protocol
//! response. What every RPC shares (its tracing span, the panic guard, and
//! turning `Err` diagnostics into the response) is `serve`, applied to
//! every handler by the `provider_service!` table below.

mod action;
mod apply;
mod data_source;
mod ephemeral;
mod functions;
mod identity_list;
mod plan;
mod provider;
mod state;
mod unserved;
mod validate;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use futures_util::Stream;
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::resource::{Action, DataSource, EphemeralResource, Provider, Resource};
use super::schema::Schema;
use super::wire::{WithDiagnostics, decode, encode, guard, unknown_type};
use crate::codec::Value;
use crate::proto::tfplugin6 as pb;
use crate::proto::tfplugin6::provider_server::Provider as GrpcProvider;

type RpcResult<T> = Result<Response<T>, Status>;
type Registered<T> = (Box<T>, Schema);
type ResourceEntry<D> = Registered<dyn Resource<D>>;
type DataSourceEntry<D> = Registered<dyn DataSource<D>>;
type EphemeralEntry<D> = Registered<dyn EphemeralResource<D>>;
/// Shared, so that an invocation's task can own its action.
type ActionEntry<D> = (Arc<dyn Action<D>>, Schema);
type FunctionEntry = (
    Box<dyn crate::framework::function::Function>,
    crate::framework::function::Signature,
);
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Serves a [`Provider`] over the plugin protocol.
pub struct ProviderService<P: Provider> {
    provider: P,
    provider_schema: Schema,
    resources: BTreeMap<String, ResourceEntry<P::Data>>,
    data_sources: BTreeMap<String, DataSourceEntry<P::Data>>,
    ephemerals: BTreeMap<String, EphemeralEntry<P::Data>>,
    actions: BTreeMap<String, ActionEntry<P::Data>>,
    functions: BTreeMap<String, FunctionEntry>,
    /// Set by ConfigureProvider; `None` before, or when the configuration
    /// holds values not known until apply.
    data: RwLock<Option<P::Data>>,
}

/// Registers objects by type name, with their schema worked out once.
fn registry<T: ?Sized>(
    objects: Vec<Box<T>>,
    name: impl Fn(&T) -> &'static str,
    schema: impl Fn(&T) -> Schema,
) -> BTreeMap<String, Registered<T>> {
    objects
        .into_iter()
        .map(|o| {
            let s = schema(&o);
            (name(&o).to_string(), (o, s))
        })
        .collect()
}

impl<P: Provider> ProviderService<P> {
    pub fn new(provider: P) -> Self {
        ProviderService {
            provider_schema: provider.schema(),
            resources: registry(provider.resources(), |r| r.type_name(), |r| r.schema()),
            data_sources: registry(provider.data_sources(), |d| d.type_name(), |d| d.schema()),
            ephemerals: registry(
                provider.ephemeral_resources(),
                |e| e.type_name(),
                |e| e.schema(),
            ),
            actions: provider
                .actions()
                .into_iter()
                .map(|a| {
                    let schema = a.schema();
                    (a.type_name().to_string(), (Arc::from(a), schema))
                })
                .collect(),
            functions: provider
                .functions()
                .into_iter()
                .map(|f| {
                    let sig = f.signature();
                    (f.name().to_string(), (f, sig))
                })
                .collect(),
            provider,
            data: RwLock::new(None),
        }
    }

    fn data(&self) -> Option<P::Data> {
        self.data.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_data(&self, data: Option<P::Data>) {
        *self.data.write().unwrap_or_else(|e| e.into_inner()) = data;
    }

    fn resource(&self, name: &str) -> Result<&ResourceEntry<P::Data>, Diagnostics> {
        self.resources
            .get(name)
            .ok_or_else(|| unknown_type("resource", name))
    }

    fn data_source(&self, name: &str) -> Result<&DataSourceEntry<P::Data>, Diagnostics> {
        self.data_sources
            .get(name)
            .ok_or_else(|| unknown_type("data source", name))
    }

    fn ephemeral(&self, name: &str) -> Result<&EphemeralEntry<P::Data>, Diagnostics> {
        self.ephemerals
            .get(name)
            .ok_or_else(|| unknown_type("ephemeral resource", name))
    }

    fn action(&self, name: &str) -> Result<&ActionEntry<P::Data>, Diagnostics> {
        self.actions
            .get(name)
            .ok_or_else(|| unknown_type("action", name))
    }

    /// The configured data, or a diagnostic saying why there is none.
    fn require_data(&self) -> Result<P::Data, Diagnostics> {
        self.data().ok_or_else(|| {
            Diagnostic::error(
                "Provider not configured",
                "The provider configuration is not known yet (it depends on values \
                 known only after apply) or was invalid. Fix the provider block, or apply \
                 its dependencies first with -target.",
            )
            .into()
        })
    }
}

/// The identity Terraform sent with a request, decoded with the resource's
/// identity schema; `None` when it sent none or the resource has no identity.
fn request_identity<D: Sync>(
    r: &dyn Resource<D>,
    sent: Option<&pb::ResourceIdentityData>,
    what: &str,
) -> Result<Option<Value>, Diagnostics> {
    let (Some(schema), Some(dv)) = (
        r.identity_schema(),
        sent.and_then(|i| i.identity_data.as_ref()),
    ) else {
        return Ok(None);
    };
    let v = decode(Some(dv), &schema.object_type(), what)?;
    // OpenTofu sends an identity object whose attributes are all null where
    // it has none (e.g. on the create half of a replacement): that names no
    // object, so it is no identity.
    let names_nothing = match &v {
        Value::Null => true,
        Value::Object(attrs) => attrs.values().all(Value::is_null),
        _ => false,
    };
    Ok((!names_nothing).then_some(v))
}

/// The identity to report for a state, if the resource has one and the
/// state is wholly known.
fn identity_value<D: Sync>(r: &dyn Resource<D>, state: &Value) -> Option<pb::ResourceIdentityData> {
    let schema = r.identity_schema()?;
    if !state.is_wholly_known() || state.is_null() {
        return None;
    }
    let id = r.identity_of(state)?;
    let dv = encode(&id, &schema.object_type(), "identity").ok()?;
    Some(pb::ResourceIdentityData {
        identity_data: Some(dv),
    })
}

fn rpc_span(rpc: &'static str, type_name: &str) -> tracing::Span {
    tracing::debug_span!(
        "rpc",
        tf_rpc = rpc,
        tf_req_id = %uuid::Uuid::new_v4(),
        tf_type = type_name
    )
}

/// Runs one RPC handler the way every RPC runs: in a span naming the RPC and
/// the type, with a panic turned into an error diagnostic, and with `Err`
/// diagnostics answered as a response carrying them.
async fn serve<T, F>(rpc: &'static str, type_name: &str, handler: F) -> RpcResult<T>
where
    T: WithDiagnostics,
    F: Future<Output = Result<T, Diagnostics>>,
{
    let span = rpc_span(rpc, type_name);
    let answer = guard(rpc, async {
        handler.await.unwrap_or_else(T::from_diagnostics)
    })
    .instrument(span)
    .await;
    Ok(Response::new(answer))
}

/// The type name a request is about, for the RPC's span ("" for provider-wide RPCs).
trait TypeName {
    fn type_name(&self) -> &str;
}

/// A request's type-name field, or "" for a provider-wide RPC.
macro_rules! request_type_name {
    ($req:ident,) => {
        ""
    };
    ($req:ident, $field:ident) => {
        &$req.$field
    };
}

/// The `tfplugin6.Provider` impl, and everything else the RPC list decides,
/// from one table:
/// - `served` RPCs are answered by a handler `async fn(&ProviderService,
///   Request) -> Result<Response, Diagnostics>`, each wrapped in [`serve`];
///   the field named after the handler (if any) holds the type name the
///   RPC's span records (`TypeName`);
/// - `refused` ones are features no provider built on this framework
///   offers, answered at once with a "not supported" diagnostic;
/// - `diagnostics` lists the other responses that carry diagnostics;
/// - `other` items are written out.
///
/// Every served and refused response, and those listed, get
/// [`WithDiagnostics`], so a failure or a panic anywhere becomes a
/// diagnostic. One macro for the whole impl, so `async_trait` sees the
/// generated methods.
macro_rules! provider_service {
    (
        served { $($method:ident($msg:ident) => $rpc:literal, $handler:path $(, $name:ident)?;)* }
        refused { $($r_method:ident($r_msg:ident) => $what:path;)* }
        diagnostics { $($d_msg:ident),* $(,)? }
        other { $($other:tt)* }
    ) => {
        $(
            impl TypeName for pb::$msg::Request {
                fn type_name(&self) -> &str {
                    request_type_name!(self, $($name)?)
                }
            }
        )*
        $(
            impl WithDiagnostics for pb::$msg::Response {
                fn diagnostics_mut(&mut self) -> &mut Vec<pb::Diagnostic> {
                    &mut self.diagnostics
                }
            }
        )*
        $(
            impl WithDiagnostics for pb::$r_msg::Response {
                fn diagnostics_mut(&mut self) -> &mut Vec<pb::Diagnostic> {
                    &mut self.diagnostics
                }
            }
        )*
        $(
            impl WithDiagnostics for pb::$d_msg::Response {
                fn diagnostics_mut(&mut self) -> &mut Vec<pb::Diagnostic> {
                    &mut self.diagnostics
                }
            }
        )*

        #[tonic::async_trait]
        impl<P: Provider> GrpcProvider for ProviderService<P> {
            $(
                async fn $method(
                    &self,
                    request: Request<pb::$msg::Request>,
                ) -> RpcResult<pb::$msg::Response> {
                    let req = request.into_inner();
                    let type_name = req.type_name().to_string();
                    serve($rpc, &type_name, $handler(self, req)).await
                }
            )*
            $(
                async fn $r_method(
                    &self,
                    _request: Request<pb::$r_msg::Request>,
                ) -> RpcResult<pb::$r_msg::Response> {
                    Ok(Response::new(unserved::refuse($what)))
                }
            )*
            $($other)*
        }
    };
}

provider_service! {
    served {
        get_metadata(get_metadata) => "GetMetadata", provider::get_metadata;
        get_provider_schema(get_provider_schema) => "GetProviderSchema", provider::get_provider_schema;
        validate_provider_config(validate_provider_config) => "ValidateProviderConfig", provider::validate_provider_config;
        configure_provider(configure_provider) => "ConfigureProvider", provider::configure_provider;

        validate_resource_config(validate_resource_config) => "ValidateResourceConfig", validate::validate_resource_config, type_name;
        plan_resource_change(plan_resource_change) => "PlanResourceChange", plan::plan_resource_change, type_name;
        apply_resource_change(apply_resource_change) => "ApplyResourceChange", apply::apply_resource_change, type_name;
        read_resource(read_resource) => "ReadResource", state::read_resource, type_name;
        import_resource_state(import_resource_state) => "ImportResourceState", state::import_resource_state, type_name;
        upgrade_resource_state(upgrade_resource_state) => "UpgradeResourceState", state::upgrade_resource_state, type_name;
        move_resource_state(move_resource_state) => "MoveResourceState", state::move_resource_state, target_type_name;

        validate_data_resource_config(validate_data_resource_config) => "ValidateDataResourceConfig", data_source::validate_data_resource_config, type_name;
        read_data_source(read_data_source) => "ReadDataSource", data_source::read_data_source, type_name;

        validate_ephemeral_resource_config(validate_ephemeral_resource_config) => "ValidateEphemeralResourceConfig", ephemeral::validate_ephemeral_resource_config, type_name;
        open_ephemeral_resource(open_ephemeral_resource) => "OpenEphemeralResource", ephemeral::open_ephemeral_resource, type_name;
        renew_ephemeral_resource(renew_ephemeral_resource) => "RenewEphemeralResource", ephemeral::renew_ephemeral_resource, type_name;
        close_ephemeral_resource(close_ephemeral_resource) => "CloseEphemeralResource", ephemeral::close_ephemeral_resource, type_name;

        get_resource_identity_schemas(get_resource_identity_schemas) => "GetResourceIdentitySchemas", identity_list::get_resource_identity_schemas;
        upgrade_resource_identity(upgrade_resource_identity) => "UpgradeResourceIdentity", identity_list::upgrade_resource_identity, type_name;
        validate_list_resource_config(validate_list_resource_config) => "ValidateListResourceConfig", identity_list::validate_list_resource_config, type_name;

        validate_action_config(validate_action_config) => "ValidateActionConfig", action::validate_action_config, type_name;
        plan_action(plan_action) => "PlanAction", action::plan_action, action_type;
    }

    refused {
        generate_resource_config(generate_resource_config) => unserved::GENERATE;
        validate_state_store_config(validate_state_store) => unserved::STATE_STORE;
        configure_state_store(configure_state_store) => unserved::STATE_STORE;
        lock_state(lock_state) => unserved::STATE_STORE;
        unlock_state(unlock_state) => unserved::STATE_STORE;
        get_states(get_states) => unserved::STATE_STORE;
        delete_state(delete_state) => unserved::STATE_STORE;
    }

    diagnostics { get_functions, write_state_bytes, read_state_bytes }

    other {
        type ListResourceStream = BoxStream<pb::list_resource::Event>;

        async fn list_resource(
            &self,
            request: Request<pb::list_resource::Request>,
        ) -> RpcResult<Self::ListResourceStream> {
            let events = identity_list::list_resource(self, request.into_inner()).await;
            Ok(Response::new(Box::pin(futures_util::stream::iter(
                events.into_iter().map(Ok),
            ))))
        }

        async fn stop_provider(
            &self,
            _request: Request<pb::stop_provider::Request>,
        ) -> RpcResult<pb::stop_provider::Response> {
            Ok(Response::new(provider::stop_provider(self).await))
        }

        async fn get_functions(
            &self,
            _request: Request<pb::get_functions::Request>,
        ) -> RpcResult<pb::get_functions::Response> {
            Ok(Response::new(functions::get_functions(self)))
        }

        async fn call_function(
            &self,
            request: Request<pb::call_function::Request>,
        ) -> RpcResult<pb::call_function::Response> {
            Ok(Response::new(functions::call_function(self, request.into_inner())))
        }

        type ReadStateBytesStream = BoxStream<pb::read_state_bytes::Response>;

        async fn read_state_bytes(
            &self,
            _request: Request<pb::read_state_bytes::Request>,
        ) -> RpcResult<Self::ReadStateBytesStream> {
            let r: pb::read_state_bytes::Response = unserved::refuse(unserved::STATE_STORE);
            Ok(Response::new(Box::pin(futures_util::stream::iter([Ok(r)]))))
        }

        async fn write_state_bytes(
            &self,
            _request: Request<Streaming<pb::write_state_bytes::RequestChunk>>,
        ) -> RpcResult<pb::write_state_bytes::Response> {
            Ok(Response::new(unserved::refuse(unserved::STATE_STORE)))
        }

        type InvokeActionStream = BoxStream<pb::invoke_action::Event>;

        async fn invoke_action(
            &self,
            request: Request<pb::invoke_action::Request>,
        ) -> RpcResult<Self::InvokeActionStream> {
            Ok(Response::new(action::invoke_action(self, request.into_inner())))
        }
    }
}
