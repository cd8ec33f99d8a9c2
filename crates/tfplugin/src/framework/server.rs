//! The `tfplugin6.Provider` gRPC service: dispatches each RPC to the
//! provider's resources, data sources and ephemeral resources.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::RwLock;
use std::time::SystemTime;

use futures_util::Stream;
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::plan::{finish_plan, plan_generic};
use super::resource::{DataSource, EphemeralResource, Provider, Resource};
use super::schema::Schema;
use super::wire::{WithDiagnostics, decode, encode, guard, unknown_type, unsupported};
use crate::codec::{self, Value};
use crate::proto::tfplugin6 as pb;
use crate::proto::tfplugin6::provider_server::Provider as GrpcProvider;

type RpcResult<T> = Result<Response<T>, Status>;
type Registered<T> = (Box<T>, Schema);
type ResourceEntry<D> = Registered<dyn Resource<D>>;
type DataSourceEntry<D> = Registered<dyn DataSource<D>>;
type EphemeralEntry<D> = Registered<dyn EphemeralResource<D>>;
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Serves a [`Provider`] over the plugin protocol.
pub struct ProviderService<P: Provider> {
    provider: P,
    provider_schema: Schema,
    resources: BTreeMap<String, ResourceEntry<P::Data>>,
    data_sources: BTreeMap<String, DataSourceEntry<P::Data>>,
    ephemerals: BTreeMap<String, EphemeralEntry<P::Data>>,
    /// Set by ConfigureProvider; `None` before, or when the configuration
    /// holds values not known until apply.
    data: RwLock<Option<P::Data>>,
}

impl<P: Provider> ProviderService<P> {
    pub fn new(provider: P) -> Self {
        let resources = provider
            .resources()
            .into_iter()
            .map(|r| {
                (r.type_name().to_string(), {
                    let s = r.schema();
                    (r, s)
                })
            })
            .collect();
        let data_sources = provider
            .data_sources()
            .into_iter()
            .map(|d| {
                (d.type_name().to_string(), {
                    let s = d.schema();
                    (d, s)
                })
            })
            .collect();
        let ephemerals = provider
            .ephemeral_resources()
            .into_iter()
            .map(|e| {
                (e.type_name().to_string(), {
                    let s = e.schema();
                    (e, s)
                })
            })
            .collect();
        ProviderService {
            provider_schema: provider.schema(),
            provider,
            resources,
            data_sources,
            ephemerals,
            data: RwLock::new(None),
        }
    }

    fn data(&self) -> Option<P::Data> {
        self.data.read().unwrap_or_else(|e| e.into_inner()).clone()
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

    fn identity_value(
        &self,
        r: &dyn Resource<P::Data>,
        state: &Value,
    ) -> Option<pb::ResourceIdentityData> {
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
}

/// Terraform wraps a list resource's schema as the `config` block of the
/// `list` block, so paths relative to that schema get a `config` step in front.
fn in_list_config(diags: Diagnostics) -> Diagnostics {
    let mut out = Diagnostics::new();
    for mut d in diags {
        if let Some(p) = d.path.as_mut() {
            p.prepend(codec::PathStep::Attr("config".to_string()));
        }
        out.push(d);
    }
    out
}

/// The answer of an RPC for a feature this provider does not offer.
fn refuse<T: WithDiagnostics>(what: &str) -> RpcResult<T> {
    Ok(Response::new(T::from_diagnostics(unsupported(what))))
}

/// Wraps the result of an RPC body whose errors are diagnostics.
fn respond<T: WithDiagnostics>(r: Result<T, Diagnostics>) -> T {
    r.unwrap_or_else(T::from_diagnostics)
}

fn timestamp(t: SystemTime) -> prost_types::Timestamp {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    prost_types::Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

fn rpc_span(rpc: &'static str, type_name: &str) -> tracing::Span {
    tracing::debug_span!(
        "rpc",
        tf_rpc = rpc,
        tf_req_id = %uuid::Uuid::new_v4(),
        tf_type = type_name
    )
}

#[tonic::async_trait]
impl<P: Provider> GrpcProvider for ProviderService<P> {
    async fn get_metadata(
        &self,
        _request: Request<pb::get_metadata::Request>,
    ) -> RpcResult<pb::get_metadata::Response> {
        use pb::get_metadata as m;
        Ok(Response::new(m::Response {
            server_capabilities: Some(capabilities()),
            resources: self
                .resources
                .keys()
                .map(|n| m::ResourceMetadata {
                    type_name: n.clone(),
                })
                .collect(),
            data_sources: self
                .data_sources
                .keys()
                .map(|n| m::DataSourceMetadata {
                    type_name: n.clone(),
                })
                .collect(),
            ephemeral_resources: self
                .ephemerals
                .keys()
                .map(|n| m::EphemeralMetadata {
                    type_name: n.clone(),
                })
                .collect(),
            list_resources: self
                .resources
                .iter()
                .filter(|(_, (r, _))| r.supports_list())
                .map(|(n, _)| m::ListResourceMetadata {
                    type_name: n.clone(),
                })
                .collect(),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _request: Request<pb::get_provider_schema::Request>,
    ) -> RpcResult<pb::get_provider_schema::Response> {
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(self.provider_schema.to_proto()),
            resource_schemas: self
                .resources
                .iter()
                .map(|(n, (_, s))| (n.clone(), s.to_proto()))
                .collect(),
            data_source_schemas: self
                .data_sources
                .iter()
                .map(|(n, (_, s))| (n.clone(), s.to_proto()))
                .collect(),
            ephemeral_resource_schemas: self
                .ephemerals
                .iter()
                .map(|(n, (_, s))| (n.clone(), s.to_proto()))
                .collect(),
            list_resource_schemas: self
                .resources
                .iter()
                .filter(|(_, (r, _))| r.supports_list())
                .map(|(n, (r, _))| (n.clone(), r.list_schema().to_proto()))
                .collect(),
            server_capabilities: Some(capabilities()),
            ..Default::default()
        }))
    }

    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> RpcResult<pb::validate_provider_config::Response> {
        let req = request.into_inner();
        let body = async {
            let config = decode(
                req.config.as_ref(),
                &self.provider_schema.object_type(),
                "provider configuration",
            )
            .map_err(Diagnostics::from)?;
            let mut diags = Diagnostics::new();
            self.provider.validate(&config, &mut diags).await;
            Ok(pb::validate_provider_config::Response::from_diagnostics(
                diags,
            ))
        };
        Ok(Response::new(
            guard("ValidateProviderConfig", async { respond(body.await) })
                .instrument(rpc_span("ValidateProviderConfig", ""))
                .await,
        ))
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> RpcResult<pb::validate_resource_config::Response> {
        let req = request.into_inner();
        let span = rpc_span("ValidateResourceConfig", &req.type_name);
        let body = async {
            let (r, schema) = self.resource(&req.type_name)?;
            let config = decode(req.config.as_ref(), &schema.object_type(), "configuration")?;
            let mut diags = Diagnostics::new();
            r.validate(&config, &mut diags).await;
            Ok(pb::validate_resource_config::Response::from_diagnostics(
                diags,
            ))
        };
        Ok(Response::new(
            guard("ValidateResourceConfig", async { respond(body.await) })
                .instrument(span)
                .await,
        ))
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> RpcResult<pb::validate_data_resource_config::Response> {
        let req = request.into_inner();
        let span = rpc_span("ValidateDataResourceConfig", &req.type_name);
        let body = async {
            let (d, schema) = self.data_source(&req.type_name)?;
            let config = decode(req.config.as_ref(), &schema.object_type(), "configuration")?;
            let mut diags = Diagnostics::new();
            d.validate(&config, &mut diags).await;
            Ok(pb::validate_data_resource_config::Response::from_diagnostics(diags))
        };
        Ok(Response::new(
            guard("ValidateDataResourceConfig", async { respond(body.await) })
                .instrument(span)
                .await,
        ))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> RpcResult<pb::upgrade_resource_state::Response> {
        let req = request.into_inner();
        let span = rpc_span("UpgradeResourceState", &req.type_name);
        let body = async {
            let (r, schema) = self.resource(&req.type_name)?;
            let ty = schema.object_type();
            let raw = req.raw_state.unwrap_or_default();
            if raw.json.is_empty() && !raw.flatmap.is_empty() {
                return Err(Diagnostic::error(
                    "Unsupported state format",
                    "This state was written by Terraform older than 0.12 (flatmap). Re-import the object instead.",
                )
                .into());
            }
            let state = if raw.json.is_empty() {
                Value::Null
            } else {
                // Older schema versions may carry attributes that no longer exist.
                codec::json::decode(
                    &raw.json,
                    &ty,
                    codec::json::DecodeOptions {
                        ignore_undefined_attributes: true,
                    },
                )
                .map_err(|e| {
                    Diagnostics::from(Diagnostic::error(
                        "Unreadable stored state",
                        format!("The stored state of this {} could not be read: {e}. Remove it with `terraform state rm` and import it again.", req.type_name),
                    ))
                })?
            };
            let upgraded = r.upgrade_state(req.version, state)?;
            Ok(pb::upgrade_resource_state::Response {
                upgraded_state: Some(encode(&upgraded, &ty, "state")?),
                diagnostics: Vec::new(),
            })
        };
        Ok(Response::new(
            guard("UpgradeResourceState", async { respond(body.await) })
                .instrument(span)
                .await,
        ))
    }

    async fn get_resource_identity_schemas(
        &self,
        _request: Request<pb::get_resource_identity_schemas::Request>,
    ) -> RpcResult<pb::get_resource_identity_schemas::Response> {
        Ok(Response::new(pb::get_resource_identity_schemas::Response {
            identity_schemas: self
                .resources
                .iter()
                .filter_map(|(n, (r, _))| r.identity_schema().map(|s| (n.clone(), s.to_proto())))
                .collect(),
            diagnostics: Vec::new(),
        }))
    }

    async fn upgrade_resource_identity(
        &self,
        request: Request<pb::upgrade_resource_identity::Request>,
    ) -> RpcResult<pb::upgrade_resource_identity::Response> {
        let req = request.into_inner();
        let body = async {
            let (r, _) = self.resource(&req.type_name)?;
            let schema = r.identity_schema().ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "Resource has no identity",
                    format!("{} does not declare a resource identity.", req.type_name),
                ))
            })?;
            let ty = schema.object_type();
            let raw = req.raw_identity.unwrap_or_default();
            let v = codec::json::decode(
                &raw.json,
                &ty,
                codec::json::DecodeOptions {
                    ignore_undefined_attributes: true,
                },
            )
            .map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Unreadable stored identity",
                    format!("The stored identity could not be read: {e}."),
                ))
            })?;
            Ok(pb::upgrade_resource_identity::Response {
                upgraded_identity: Some(pb::ResourceIdentityData {
                    identity_data: Some(encode(&v, &ty, "identity")?),
                }),
                diagnostics: Vec::new(),
            })
        };
        Ok(Response::new(
            guard("UpgradeResourceIdentity", async { respond(body.await) }).await,
        ))
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> RpcResult<pb::configure_provider::Response> {
        let req = request.into_inner();
        let body = async {
            let config = decode(
                req.config.as_ref(),
                &self.provider_schema.object_type(),
                "provider configuration",
            )?;
            let mut diags = Diagnostics::new();
            let data = self
                .provider
                .configure(&config, &req.terraform_version, &mut diags)
                .await;
            *self.data.write().unwrap_or_else(|e| e.into_inner()) = data;
            Ok(pb::configure_provider::Response::from_diagnostics(diags))
        };
        Ok(Response::new(
            guard("ConfigureProvider", async { respond(body.await) })
                .instrument(rpc_span("ConfigureProvider", ""))
                .await,
        ))
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> RpcResult<pb::read_resource::Response> {
        let req = request.into_inner();
        let span = rpc_span("ReadResource", &req.type_name);
        let body = async {
            let (r, schema) = self.resource(&req.type_name)?;
            let ty = schema.object_type();
            let state = decode(req.current_state.as_ref(), &ty, "state")?;
            let new_state = match self.data() {
                // Without a known configuration, report the state unchanged
                // rather than fail the whole plan.
                None => Some(state),
                Some(data) if !state.is_null() => r.read(&data, &state).await?,
                Some(_) => None,
            };
            let new_state = new_state.unwrap_or(Value::Null);
            Ok(pb::read_resource::Response {
                new_identity: self
                    .identity_value(r.as_ref(), &new_state)
                    .or(req.current_identity.filter(|_| !new_state.is_null())),
                new_state: Some(encode(&new_state, &ty, "state")?),
                private: req.private,
                ..Default::default()
            })
        };
        Ok(Response::new(
            guard("ReadResource", async { respond(body.await) })
                .instrument(span)
                .await,
        ))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> RpcResult<pb::plan_resource_change::Response> {
        let req = request.into_inner();
        let span = rpc_span("PlanResourceChange", &req.type_name);
        let body = async {
            let (r, schema) = self.resource(&req.type_name)?;
            let ty = schema.object_type();
            let prior = decode(req.prior_state.as_ref(), &ty, "prior state")?;
            let proposed = decode(req.proposed_new_state.as_ref(), &ty, "proposed state")?;
            let config = decode(req.config.as_ref(), &ty, "configuration")?;
            let mut ctx = plan_generic(schema, &prior, &config, &proposed);
            // A create that carries a prior identity is the second half of a
            // replacement (Terraform sends the first call's planned identity).
            if prior.is_null()
                && let (Some(ischema), Some(dv)) = (
                    r.identity_schema(),
                    req.prior_identity
                        .as_ref()
                        .and_then(|i| i.identity_data.as_ref()),
                )
            {
                ctx.replaced_identity =
                    decode(Some(dv), &ischema.object_type(), "prior identity").ok();
            }
            if !ctx.planned.is_null() {
                r.normalize_plan(&prior, &mut ctx.planned);
                finish_plan(schema, &mut ctx);
            }
            let data = self.data();
            r.modify_plan(data.as_ref(), &mut ctx).await;
            if ctx.diags.has_errors() {
                return Err(ctx.diags);
            }
            // A new object's identity is known only after apply.
            let planned_identity = if ctx.is_replace() || ctx.planned.is_null() || prior.is_null() {
                None
            } else {
                self.identity_value(r.as_ref(), &ctx.planned)
                    .or(req.prior_identity)
            };
            Ok(pb::plan_resource_change::Response {
                planned_state: Some(encode(&ctx.planned, &ty, "planned state")?),
                requires_replace: ctx
                    .requires_replace
                    .iter()
                    .map(super::diagnostics::path_to_proto)
                    .collect(),
                planned_private: req.prior_private,
                diagnostics: ctx.diags.to_proto(),
                planned_identity,
                ..Default::default()
            })
        };
        Ok(Response::new(
            guard("PlanResourceChange", async { respond(body.await) })
                .instrument(span)
                .await,
        ))
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> RpcResult<pb::apply_resource_change::Response> {
        let req = request.into_inner();
        let span = rpc_span("ApplyResourceChange", &req.type_name);
        let body = async {
            let (r, schema) = self.resource(&req.type_name)?;
            let ty = schema.object_type();
            let prior = decode(req.prior_state.as_ref(), &ty, "prior state")?;
            let planned = decode(req.planned_state.as_ref(), &ty, "planned state")?;
            let data = self.require_data()?;
            // On failure, report the state that is true now: nothing for a
            // failed create, the prior object for a failed update or delete.
            let (new_state, diags) = if planned.is_null() {
                match r.delete(&data, &prior).await {
                    Ok(()) => (Value::Null, Diagnostics::new()),
                    Err(d) => (prior.clone(), d),
                }
            } else if prior.is_null() {
                match r.create(&data, &planned).await {
                    Ok(v) => (v, Diagnostics::new()),
                    Err(d) => (Value::Null, d),
                }
            } else {
                match r.update(&data, &prior, &planned).await {
                    Ok(v) => (v, Diagnostics::new()),
                    Err(d) => (prior.clone(), d),
                }
            };
            Ok(pb::apply_resource_change::Response {
                new_identity: self.identity_value(r.as_ref(), &new_state),
                new_state: Some(encode(&new_state, &ty, "new state")?),
                private: req.planned_private,
                diagnostics: diags.to_proto(),
                ..Default::default()
            })
        };
        Ok(Response::new(
            guard("ApplyResourceChange", async { respond(body.await) })
                .instrument(span)
                .await,
        ))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> RpcResult<pb::import_resource_state::Response> {
        let req = request.into_inner();
        let span = rpc_span("ImportResourceState", &req.type_name);
        let body = async {
            let (r, schema) = self.resource(&req.type_name)?;
            let ty = schema.object_type();
            let data = self.require_data()?;
            let identity = req.identity.as_ref().and_then(|i| i.identity_data.as_ref());
            let state = match (identity, r.identity_schema()) {
                (Some(dv), Some(ischema)) => {
                    let id = decode(Some(dv), &ischema.object_type(), "identity")?;
                    r.import_by_identity(&data, &id).await?
                }
                _ => r.import(&data, &req.id).await?,
            };
            Ok(pb::import_resource_state::Response {
                imported_resources: vec![pb::import_resource_state::ImportedResource {
                    type_name: req.type_name.clone(),
                    identity: self.identity_value(r.as_ref(), &state),
                    state: Some(encode(&state, &ty, "imported state")?),
                    private: Vec::new(),
                }],
                ..Default::default()
            })
        };
        Ok(Response::new(
            guard("ImportResourceState", async { respond(body.await) })
                .instrument(span)
                .await,
        ))
    }

    async fn move_resource_state(
        &self,
        _request: Request<pb::move_resource_state::Request>,
    ) -> RpcResult<pb::move_resource_state::Response> {
        refuse("moving state between resource types")
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> RpcResult<pb::read_data_source::Response> {
        let req = request.into_inner();
        let span = rpc_span("ReadDataSource", &req.type_name);
        let body = async {
            let (d, schema) = self.data_source(&req.type_name)?;
            let ty = schema.object_type();
            let config = decode(req.config.as_ref(), &ty, "configuration")?;
            let data = self.require_data()?;
            let state = d.read(&data, &config).await?;
            Ok(pb::read_data_source::Response {
                state: Some(encode(&state, &ty, "data source result")?),
                ..Default::default()
            })
        };
        Ok(Response::new(
            guard("ReadDataSource", async { respond(body.await) })
                .instrument(span)
                .await,
        ))
    }

    async fn generate_resource_config(
        &self,
        _request: Request<pb::generate_resource_config::Request>,
    ) -> RpcResult<pb::generate_resource_config::Response> {
        refuse("provider-side configuration generation")
    }

    async fn validate_ephemeral_resource_config(
        &self,
        request: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> RpcResult<pb::validate_ephemeral_resource_config::Response> {
        let req = request.into_inner();
        let span = rpc_span("ValidateEphemeralResourceConfig", &req.type_name);
        let body = async {
            let (e, schema) = self.ephemeral(&req.type_name)?;
            let config = decode(req.config.as_ref(), &schema.object_type(), "configuration")?;
            let mut diags = Diagnostics::new();
            e.validate(&config, &mut diags).await;
            Ok(pb::validate_ephemeral_resource_config::Response::from_diagnostics(diags))
        };
        Ok(Response::new(
            guard("ValidateEphemeralResourceConfig", async {
                respond(body.await)
            })
            .instrument(span)
            .await,
        ))
    }

    async fn open_ephemeral_resource(
        &self,
        request: Request<pb::open_ephemeral_resource::Request>,
    ) -> RpcResult<pb::open_ephemeral_resource::Response> {
        let req = request.into_inner();
        let span = rpc_span("OpenEphemeralResource", &req.type_name);
        let body = async {
            let (e, schema) = self.ephemeral(&req.type_name)?;
            let ty = schema.object_type();
            let config = decode(req.config.as_ref(), &ty, "configuration")?;
            let data = self.require_data()?;
            let opened = e.open(&data, &config).await?;
            Ok(pb::open_ephemeral_resource::Response {
                result: Some(encode(&opened.result, &ty, "ephemeral result")?),
                renew_at: opened.renew_at.map(timestamp),
                private: Some(opened.private),
                ..Default::default()
            })
        };
        Ok(Response::new(
            guard("OpenEphemeralResource", async { respond(body.await) })
                .instrument(span)
                .await,
        ))
    }

    async fn renew_ephemeral_resource(
        &self,
        request: Request<pb::renew_ephemeral_resource::Request>,
    ) -> RpcResult<pb::renew_ephemeral_resource::Response> {
        let req = request.into_inner();
        let span = rpc_span("RenewEphemeralResource", &req.type_name);
        let body = async {
            let (e, _) = self.ephemeral(&req.type_name)?;
            let data = self.require_data()?;
            let (renew_at, private) = e
                .renew(&data, req.private.as_deref().unwrap_or_default())
                .await?;
            Ok(pb::renew_ephemeral_resource::Response {
                renew_at: renew_at.map(timestamp),
                private: Some(private),
                diagnostics: Vec::new(),
            })
        };
        Ok(Response::new(
            guard("RenewEphemeralResource", async { respond(body.await) })
                .instrument(span)
                .await,
        ))
    }

    async fn close_ephemeral_resource(
        &self,
        request: Request<pb::close_ephemeral_resource::Request>,
    ) -> RpcResult<pb::close_ephemeral_resource::Response> {
        let req = request.into_inner();
        let span = rpc_span("CloseEphemeralResource", &req.type_name);
        let body = async {
            let (e, _) = self.ephemeral(&req.type_name)?;
            let data = self.require_data()?;
            e.close(&data, req.private.as_deref().unwrap_or_default())
                .await?;
            Ok(pb::close_ephemeral_resource::Response::default())
        };
        Ok(Response::new(
            guard("CloseEphemeralResource", async { respond(body.await) })
                .instrument(span)
                .await,
        ))
    }

    type ListResourceStream = BoxStream<pb::list_resource::Event>;

    async fn list_resource(
        &self,
        request: Request<pb::list_resource::Request>,
    ) -> RpcResult<Self::ListResourceStream> {
        let req = request.into_inner();
        let span = rpc_span("ListResource", &req.type_name);
        let events = async {
            let (r, schema) = self.resource(&req.type_name)?;
            let ischema = r
                .identity_schema()
                .filter(|_| r.supports_list())
                .ok_or_else(|| unknown_type("list resource", &req.type_name))?;
            let config = decode(
                req.config.as_ref(),
                &r.list_schema().object_type(),
                "list configuration",
            )
            .map_err(|d| in_list_config(d.into()))?;
            let data = self.require_data()?;
            let items = r.list(&data, &config).await.map_err(in_list_config)?;
            let limit = usize::try_from(req.limit)
                .ok()
                .filter(|l| *l > 0)
                .unwrap_or(usize::MAX);
            items
                .into_iter()
                .take(limit)
                .map(|item| {
                    Ok(pb::list_resource::Event {
                        identity: Some(pb::ResourceIdentityData {
                            identity_data: Some(encode(
                                &item.identity,
                                &ischema.object_type(),
                                "identity",
                            )?),
                        }),
                        display_name: item.display_name,
                        resource_object: if req.include_resource_object {
                            Some(encode(&item.state, &schema.object_type(), "state")?)
                        } else {
                            None
                        },
                        diagnostic: Vec::new(),
                    })
                })
                .collect::<Result<Vec<_>, Diagnostic>>()
                .map_err(Diagnostics::from)
        }
        .instrument(span)
        .await;
        let events = events.unwrap_or_else(|d| {
            vec![pb::list_resource::Event {
                diagnostic: d.to_proto(),
                ..Default::default()
            }]
        });
        Ok(Response::new(Box::pin(futures_util::stream::iter(
            events.into_iter().map(Ok),
        ))))
    }

    async fn validate_list_resource_config(
        &self,
        request: Request<pb::validate_list_resource_config::Request>,
    ) -> RpcResult<pb::validate_list_resource_config::Response> {
        let req = request.into_inner();
        let body = async {
            let (r, _) = self.resource(&req.type_name)?;
            if !r.supports_list() {
                return Err(unknown_type("list resource", &req.type_name));
            }
            let config = decode(
                req.config.as_ref(),
                &r.list_schema().object_type(),
                "list configuration",
            )
            .map_err(|d| in_list_config(d.into()))?;
            let mut diags = Diagnostics::new();
            r.validate_list(&config, &mut diags).await;
            Ok(
                pb::validate_list_resource_config::Response::from_diagnostics(in_list_config(
                    diags,
                )),
            )
        };
        Ok(Response::new(
            guard("ValidateListResourceConfig", async { respond(body.await) }).await,
        ))
    }

    async fn get_functions(
        &self,
        _request: Request<pb::get_functions::Request>,
    ) -> RpcResult<pb::get_functions::Response> {
        Ok(Response::new(pb::get_functions::Response::default()))
    }

    async fn call_function(
        &self,
        request: Request<pb::call_function::Request>,
    ) -> RpcResult<pb::call_function::Response> {
        let name = request.into_inner().name;
        Ok(Response::new(pb::call_function::Response {
            result: None,
            error: Some(pb::FunctionError {
                text: format!("this provider has no function named {name:?}"),
                function_argument: None,
            }),
        }))
    }

    async fn validate_state_store_config(
        &self,
        _request: Request<pb::validate_state_store::Request>,
    ) -> RpcResult<pb::validate_state_store::Response> {
        refuse("state storage")
    }

    async fn configure_state_store(
        &self,
        _request: Request<pb::configure_state_store::Request>,
    ) -> RpcResult<pb::configure_state_store::Response> {
        refuse("state storage")
    }

    type ReadStateBytesStream = BoxStream<pb::read_state_bytes::Response>;

    async fn read_state_bytes(
        &self,
        _request: Request<pb::read_state_bytes::Request>,
    ) -> RpcResult<Self::ReadStateBytesStream> {
        let r: pb::read_state_bytes::Response =
            WithDiagnostics::from_diagnostics(unsupported("state storage"));
        Ok(Response::new(Box::pin(futures_util::stream::iter([Ok(r)]))))
    }

    async fn write_state_bytes(
        &self,
        _request: Request<Streaming<pb::write_state_bytes::RequestChunk>>,
    ) -> RpcResult<pb::write_state_bytes::Response> {
        refuse("state storage")
    }

    async fn lock_state(
        &self,
        _request: Request<pb::lock_state::Request>,
    ) -> RpcResult<pb::lock_state::Response> {
        refuse("state storage")
    }

    async fn unlock_state(
        &self,
        _request: Request<pb::unlock_state::Request>,
    ) -> RpcResult<pb::unlock_state::Response> {
        refuse("state storage")
    }

    async fn get_states(
        &self,
        _request: Request<pb::get_states::Request>,
    ) -> RpcResult<pb::get_states::Response> {
        refuse("state storage")
    }

    async fn delete_state(
        &self,
        _request: Request<pb::delete_state::Request>,
    ) -> RpcResult<pb::delete_state::Response> {
        refuse("state storage")
    }

    async fn plan_action(
        &self,
        _request: Request<pb::plan_action::Request>,
    ) -> RpcResult<pb::plan_action::Response> {
        refuse("actions")
    }

    type InvokeActionStream = BoxStream<pb::invoke_action::Event>;

    async fn invoke_action(
        &self,
        _request: Request<pb::invoke_action::Request>,
    ) -> RpcResult<Self::InvokeActionStream> {
        let event = pb::invoke_action::Event {
            r#type: Some(pb::invoke_action::event::Type::Completed(
                pb::invoke_action::event::Completed {
                    diagnostics: unsupported("actions").to_proto(),
                },
            )),
        };
        Ok(Response::new(Box::pin(futures_util::stream::iter([Ok(
            event,
        )]))))
    }

    async fn validate_action_config(
        &self,
        _request: Request<pb::validate_action_config::Request>,
    ) -> RpcResult<pb::validate_action_config::Response> {
        refuse("actions")
    }

    async fn stop_provider(
        &self,
        _request: Request<pb::stop_provider::Request>,
    ) -> RpcResult<pb::stop_provider::Response> {
        // Requests in flight finish on their own: every API call has a timeout.
        tracing::info!("StopProvider received");
        Ok(Response::new(pb::stop_provider::Response::default()))
    }
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        // Destroys are planned too, so the limit ledger sees them.
        plan_destroy: true,
        get_provider_schema_optional: true,
        move_resource_state: false,
        generate_resource_config: false,
    }
}
