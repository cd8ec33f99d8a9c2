//! Resource identities (GetResourceIdentitySchemas, UpgradeResourceIdentity)
//! and list resources for `terraform query` (ListResource,
//! ValidateListResourceConfig), which are listed by identity.

use tracing::Instrument;

use super::validate::validated;
use super::{ProviderService, decode, encode, rpc_span};
use crate::codec::{self, PathStep};
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::messages::{ListRequest, ValidateRequest};
use crate::framework::resource::Provider;
use crate::framework::wire::{WithDiagnostics, guard_with, unknown_type};
use crate::proto::tfplugin6 as pb;

/// Terraform wraps a list resource's schema as the `config` block of the
/// `list` block, so paths relative to that schema get a `config` step in front.
fn in_list_config(diags: Diagnostics) -> Diagnostics {
    let mut out = Diagnostics::new();
    for mut d in diags {
        if let Some(p) = d.path.as_mut() {
            p.prepend(PathStep::Attr("config".to_string()));
        }
        out.push(d);
    }
    out
}

pub(super) async fn get_resource_identity_schemas<P: Provider>(
    s: &ProviderService<P>,
    _req: pb::get_resource_identity_schemas::Request,
) -> Result<pb::get_resource_identity_schemas::Response, Diagnostics> {
    Ok(pb::get_resource_identity_schemas::Response {
        identity_schemas: s
            .resources
            .iter()
            .filter_map(|(n, (r, _))| r.identity_schema().map(|i| (n.clone(), i.to_proto())))
            .collect(),
        diagnostics: Vec::new(),
    })
}

pub(super) async fn upgrade_resource_identity<P: Provider>(
    s: &ProviderService<P>,
    req: pb::upgrade_resource_identity::Request,
) -> Result<pb::upgrade_resource_identity::Response, Diagnostics> {
    let (r, _) = s.resource(&req.type_name)?;
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
}

pub(super) async fn validate_list_resource_config<P: Provider>(
    s: &ProviderService<P>,
    req: pb::validate_list_resource_config::Request,
) -> Result<pb::validate_list_resource_config::Response, Diagnostics> {
    let (r, _) = s.resource(&req.type_name)?;
    if !r.supports_list() {
        return Err(unknown_type("list resource", &req.type_name));
    }
    let schema = r.list_schema();
    let config = decode(
        req.config.as_ref(),
        &schema.object_type(),
        "list configuration",
    )
    .map_err(|d| in_list_config(d.into()))?;
    let mut resp = validated(&schema, &r.list_config_rules(), &config);
    r.validate_list(ValidateRequest { config }, &mut resp).await;
    Ok(WithDiagnostics::from_diagnostics(in_list_config(
        resp.diagnostics,
    )))
}

/// ListResource streams one event per item; a failure is a single event
/// carrying the diagnostics.
pub(super) async fn list_resource<P: Provider>(
    s: &ProviderService<P>,
    req: pb::list_resource::Request,
) -> Vec<pb::list_resource::Event> {
    let span = rpc_span("ListResource", &req.type_name);
    let failed = |d: Diagnostics| {
        vec![pb::list_resource::Event {
            diagnostic: d.to_proto(),
            ..Default::default()
        }]
    };
    guard_with("ListResource", failed, async {
        list_events(s, req).await.unwrap_or_else(failed)
    })
    .instrument(span)
    .await
}

async fn list_events<P: Provider>(
    s: &ProviderService<P>,
    req: pb::list_resource::Request,
) -> Result<Vec<pb::list_resource::Event>, Diagnostics> {
    let (r, schema) = s.resource(&req.type_name)?;
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
    let data = s.require_data()?;
    let limit = usize::try_from(req.limit).ok().filter(|l| *l > 0);
    let call = ListRequest {
        config,
        include_resource_object: req.include_resource_object,
        limit,
    };
    let listed = r.list(&data, call).await.map_err(in_list_config)?;
    let mut warnings = in_list_config(listed.diagnostics);
    if listed.items.is_empty() && !warnings.is_empty() {
        // Every event must carry an identity, so with no items the
        // diagnostics have nowhere to go but the log (errors stop the list).
        if warnings.has_errors() {
            return Err(warnings);
        }
        for w in warnings.iter() {
            tracing::warn!(summary = %w.summary, detail = %w.detail, "list warning");
        }
        warnings = Diagnostics::new();
    }
    let mut events = Vec::new();
    for item in listed.items.into_iter().take(limit.unwrap_or(usize::MAX)) {
        events.push(pb::list_resource::Event {
            identity: Some(pb::ResourceIdentityData {
                identity_data: Some(encode(&item.identity, &ischema.object_type(), "identity")?),
            }),
            display_name: item.display_name,
            resource_object: if req.include_resource_object {
                Some(encode(&item.state, &schema.object_type(), "state")?)
            } else {
                None
            },
            // The first item carries the warnings.
            diagnostic: std::mem::take(&mut warnings).to_proto(),
        });
    }
    Ok(events)
}
