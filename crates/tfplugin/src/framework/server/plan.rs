//! PlanResourceChange: the generic planner, then the resource's hooks.

use super::{ProviderService, decode, encode, identity_value, request_identity};
use crate::framework::diagnostics::{Diagnostics, path_to_proto};
use crate::framework::plan::{finish_plan, plan_generic};
use crate::framework::resource::Provider;
use crate::proto::tfplugin6 as pb;

pub(super) async fn plan_resource_change<P: Provider>(
    s: &ProviderService<P>,
    req: pb::plan_resource_change::Request,
) -> Result<pb::plan_resource_change::Response, Diagnostics> {
    let (r, schema) = s.resource(&req.type_name)?;
    let ty = schema.object_type();
    let prior = decode(req.prior_state.as_ref(), &ty, "prior state")?;
    let proposed = decode(req.proposed_new_state.as_ref(), &ty, "proposed state")?;
    let config = decode(req.config.as_ref(), &ty, "configuration")?;
    let prior_identity =
        request_identity(r.as_ref(), req.prior_identity.as_ref(), "prior identity")?;
    let mut ctx = plan_generic(schema, &prior, &config, &proposed);
    // A create that carries a prior identity is the second half of a
    // replacement (Terraform sends the first call's planned identity).
    if prior.is_null() {
        ctx.replaced_identity = prior_identity.clone();
    }
    ctx.prior_identity = prior_identity;
    ctx.prior_private = req.prior_private.clone();
    ctx.planned_private = req.prior_private;
    if !ctx.planned.is_null() {
        r.normalize_plan(&mut ctx);
        finish_plan(schema, &mut ctx);
    }
    let data = s.data();
    r.modify_plan(data.as_ref(), &mut ctx).await;
    if ctx.diags.has_errors() {
        return Err(ctx.diags);
    }
    // A new object's identity is known only after apply.
    let planned_identity = if ctx.is_replace() || ctx.planned.is_null() || prior.is_null() {
        None
    } else {
        identity_value(r.as_ref(), &ctx.planned).or(req.prior_identity)
    };
    Ok(pb::plan_resource_change::Response {
        planned_state: Some(encode(&ctx.planned, &ty, "planned state")?),
        requires_replace: ctx.requires_replace.iter().map(path_to_proto).collect(),
        planned_private: ctx.planned_private,
        diagnostics: ctx.diags.to_proto(),
        planned_identity,
        ..Default::default()
    })
}
