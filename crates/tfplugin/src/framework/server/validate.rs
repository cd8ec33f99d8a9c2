//! ValidateResourceConfig: static checks of a resource block; and the
//! framework's own checks every validation RPC starts from.

use super::{ProviderService, decode};
use crate::codec::Value;
use crate::framework::diagnostics::Diagnostics;
use crate::framework::messages::{ValidateRequest, ValidateResponse};
use crate::framework::resource::Provider;
use crate::framework::schema::Schema;
use crate::framework::validation::{ConfigRules, check_config};
use crate::framework::wire::WithDiagnostics;
use crate::proto::tfplugin6 as pb;

pub(super) async fn validate_resource_config<P: Provider>(
    s: &ProviderService<P>,
    req: pb::validate_resource_config::Request,
) -> Result<pb::validate_resource_config::Response, Diagnostics> {
    let (r, schema) = s.resource(&req.type_name)?;
    let config = decode(req.config.as_ref(), &schema.object_type(), "configuration")?;
    let mut resp = validated(schema, &r.config_rules(), &config);
    r.validate(ValidateRequest { config }, &mut resp).await;
    Ok(WithDiagnostics::from_diagnostics(resp.diagnostics))
}

/// The answer of the framework's checks (attribute validators, then the
/// object's rules), which the object's `validate` hook then adds to.
pub(super) fn validated(schema: &Schema, rules: &ConfigRules, config: &Value) -> ValidateResponse {
    ValidateResponse {
        diagnostics: check_config(schema, rules, config),
    }
}
