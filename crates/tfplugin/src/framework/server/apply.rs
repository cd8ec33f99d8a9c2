//! ApplyResourceChange: create, update or delete, by what the plan says.

use super::{ProviderService, decode, encode, identity_value, request_identity};
use crate::codec::Value;
use crate::framework::diagnostics::Diagnostics;
use crate::framework::messages::{CreateRequest, DeleteRequest, UpdateRequest};
use crate::framework::resource::Provider;
use crate::proto::tfplugin6 as pb;

pub(super) async fn apply_resource_change<P: Provider>(
    s: &ProviderService<P>,
    req: pb::apply_resource_change::Request,
) -> Result<pb::apply_resource_change::Response, Diagnostics> {
    let (r, schema) = s.resource(&req.type_name)?;
    let ty = schema.object_type();
    let prior = decode(req.prior_state.as_ref(), &ty, "prior state")?;
    let planned = decode(req.planned_state.as_ref(), &ty, "planned state")?;
    let config = decode(req.config.as_ref(), &ty, "configuration")?;
    let identity = request_identity(
        r.as_ref(),
        req.planned_identity.as_ref(),
        "planned identity",
    )?;
    let data = s.require_data()?;
    let private = req.planned_private;
    // On `Err`, report the state that is true now: nothing for a failed
    // create, the prior object for a failed update or delete.
    let (new_state, new_private, diags) = if planned.is_null() {
        let call = DeleteRequest {
            prior: prior.clone(),
            private: private.clone(),
            identity,
        };
        match r.delete(&data, call).await {
            Ok(done) => (Value::Null, None, done.diagnostics),
            Err(d) => (prior, None, d),
        }
    } else if prior.is_null() {
        let call = CreateRequest {
            config,
            planned,
            private: private.clone(),
            identity,
        };
        match r.create(&data, call).await {
            Ok(done) => (done.state, done.private, done.diagnostics),
            Err(d) => (Value::Null, None, d),
        }
    } else {
        let call = UpdateRequest {
            config,
            prior: prior.clone(),
            planned,
            private: private.clone(),
            identity,
        };
        match r.update(&data, call).await {
            Ok(done) => (done.state, done.private, done.diagnostics),
            Err(d) => (prior, None, d),
        }
    };
    Ok(pb::apply_resource_change::Response {
        new_identity: identity_value(r.as_ref(), &new_state),
        new_state: Some(encode(&new_state, &ty, "new state")?),
        private: new_private.unwrap_or(private),
        diagnostics: diags.to_proto(),
        ..Default::default()
    })
}
