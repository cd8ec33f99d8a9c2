//! The stored state: ReadResource (refresh), ImportResourceState,
//! UpgradeResourceState and MoveResourceState (`moved` across types and
//! providers).

use super::{ProviderService, decode, encode, identity_value, request_identity};
use crate::codec::{self, Value};
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::messages::{
    ImportByIdentityRequest, ImportRequest, MoveStateRequest, ReadRequest, UpgradeStateRequest,
};
use crate::framework::resource::Provider;
use crate::proto::tfplugin6 as pb;

pub(super) async fn read_resource<P: Provider>(
    s: &ProviderService<P>,
    req: pb::read_resource::Request,
) -> Result<pb::read_resource::Response, Diagnostics> {
    let (r, schema) = s.resource(&req.type_name)?;
    let ty = schema.object_type();
    let state = decode(req.current_state.as_ref(), &ty, "state")?;
    let (new_state, new_private, diags) = match s.data() {
        // Without a known configuration, report the state unchanged
        // rather than fail the whole plan.
        None => (state, None, Diagnostics::new()),
        Some(data) if !state.is_null() => {
            let identity = request_identity(
                r.as_ref(),
                req.current_identity.as_ref(),
                "current identity",
            )?;
            let call = ReadRequest {
                state,
                private: req.private.clone(),
                identity,
            };
            let read = r.read(&data, call).await?;
            (
                read.state.unwrap_or(Value::Null),
                read.private,
                read.diagnostics,
            )
        }
        Some(_) => (Value::Null, None, Diagnostics::new()),
    };
    Ok(pb::read_resource::Response {
        new_identity: identity_value(r.as_ref(), &new_state)
            .or(req.current_identity.filter(|_| !new_state.is_null())),
        new_state: Some(encode(&new_state, &ty, "state")?),
        private: new_private.unwrap_or(req.private),
        diagnostics: diags.to_proto(),
        ..Default::default()
    })
}

pub(super) async fn import_resource_state<P: Provider>(
    s: &ProviderService<P>,
    req: pb::import_resource_state::Request,
) -> Result<pb::import_resource_state::Response, Diagnostics> {
    let (r, schema) = s.resource(&req.type_name)?;
    let ty = schema.object_type();
    let data = s.require_data()?;
    let identity = req.identity.as_ref().and_then(|i| i.identity_data.as_ref());
    let imported = match (identity, r.identity_schema()) {
        (Some(dv), Some(ischema)) => {
            let identity = decode(Some(dv), &ischema.object_type(), "identity")?;
            r.import_by_identity(&data, ImportByIdentityRequest { identity })
                .await?
        }
        _ => r.import(&data, ImportRequest { id: req.id }).await?,
    };
    Ok(pb::import_resource_state::Response {
        imported_resources: vec![pb::import_resource_state::ImportedResource {
            type_name: req.type_name.clone(),
            identity: identity_value(r.as_ref(), &imported.state),
            state: Some(encode(&imported.state, &ty, "imported state")?),
            private: imported.private.unwrap_or_default(),
        }],
        diagnostics: imported.diagnostics.to_proto(),
        ..Default::default()
    })
}

pub(super) async fn upgrade_resource_state<P: Provider>(
    s: &ProviderService<P>,
    req: pb::upgrade_resource_state::Request,
) -> Result<pb::upgrade_resource_state::Response, Diagnostics> {
    let (r, schema) = s.resource(&req.type_name)?;
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
                format!(
                    "The stored state of this {} could not be read: {e}. Remove it with \
                     `terraform state rm` and import it again.",
                    req.type_name
                ),
            ))
        })?
    };
    let upgraded = r.upgrade_state(UpgradeStateRequest {
        version: req.version,
        state,
    })?;
    Ok(pb::upgrade_resource_state::Response {
        upgraded_state: Some(encode(&upgraded.state, &ty, "state")?),
        diagnostics: upgraded.diagnostics.to_proto(),
    })
}

/// A `moved` block from another type or provider: the target resource
/// translates the source's stored JSON into its own state. The framework
/// adds the identity; Terraform refreshes the object next.
pub(super) async fn move_resource_state<P: Provider>(
    s: &ProviderService<P>,
    req: pb::move_resource_state::Request,
) -> Result<pb::move_resource_state::Response, Diagnostics> {
    let (r, schema) = s.resource(&req.target_type_name)?;
    let moved = r.move_state(MoveStateRequest {
        source_provider_address: req.source_provider_address,
        source_type_name: req.source_type_name,
        source_schema_version: req.source_schema_version,
        source_state_json: req.source_state.map(|s| s.json).unwrap_or_default(),
        source_private: req.source_private,
    })?;
    let ty = schema.object_type();
    Ok(pb::move_resource_state::Response {
        target_identity: identity_value(r.as_ref(), &moved.state),
        target_state: Some(encode(&moved.state, &ty, "moved state")?),
        target_private: moved.private.unwrap_or_default(),
        diagnostics: moved.diagnostics.to_proto(),
    })
}
