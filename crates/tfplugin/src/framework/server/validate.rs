//! ValidateResourceConfig: static checks of a resource block.

use super::{ProviderService, decode};
use crate::framework::diagnostics::Diagnostics;
use crate::framework::messages::{ValidateRequest, ValidateResponse};
use crate::framework::resource::Provider;
use crate::framework::wire::WithDiagnostics;
use crate::proto::tfplugin6 as pb;

pub(super) async fn validate_resource_config<P: Provider>(
    s: &ProviderService<P>,
    req: pb::validate_resource_config::Request,
) -> Result<pb::validate_resource_config::Response, Diagnostics> {
    let (r, schema) = s.resource(&req.type_name)?;
    let config = decode(req.config.as_ref(), &schema.object_type(), "configuration")?;
    let mut resp = ValidateResponse::default();
    r.validate(ValidateRequest { config }, &mut resp).await;
    Ok(WithDiagnostics::from_diagnostics(resp.diagnostics))
}
