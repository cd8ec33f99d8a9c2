//! Ephemeral resources: validate, open, renew, close. Their private bytes
//! go from open to renew (each renew may replace them) to close.

use std::time::SystemTime;

use super::validate::validated;
use super::{ProviderService, decode, encode};
use crate::framework::diagnostics::Diagnostics;
use crate::framework::messages::{CloseRequest, OpenRequest, RenewRequest, ValidateRequest};
use crate::framework::resource::Provider;
use crate::framework::validation::check_config;
use crate::framework::wire::WithDiagnostics;
use crate::proto::tfplugin6 as pb;

fn timestamp(t: SystemTime) -> prost_types::Timestamp {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    prost_types::Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

pub(super) async fn validate_ephemeral_resource_config<P: Provider>(
    s: &ProviderService<P>,
    req: pb::validate_ephemeral_resource_config::Request,
) -> Result<pb::validate_ephemeral_resource_config::Response, Diagnostics> {
    let (e, schema) = s.ephemeral(&req.type_name)?;
    let config = decode(req.config.as_ref(), &schema.object_type(), "configuration")?;
    let mut resp = validated(schema, &e.config_rules(), &config);
    e.validate(ValidateRequest { config }, &mut resp).await;
    Ok(WithDiagnostics::from_diagnostics(resp.diagnostics))
}

pub(super) async fn open_ephemeral_resource<P: Provider>(
    s: &ProviderService<P>,
    req: pb::open_ephemeral_resource::Request,
) -> Result<pb::open_ephemeral_resource::Response, Diagnostics> {
    let (e, schema) = s.ephemeral(&req.type_name)?;
    let ty = schema.object_type();
    let config = decode(req.config.as_ref(), &ty, "configuration")?;
    // Values known only now were never validated: check them first.
    let checked = check_config(schema, &e.config_rules(), &config);
    if checked.has_errors() {
        return Err(checked);
    }
    let data = s.require_data()?;
    let opened = e.open(&data, OpenRequest { config }).await?;
    Ok(pb::open_ephemeral_resource::Response {
        result: Some(encode(&opened.result, &ty, "ephemeral result")?),
        renew_at: opened.renew_at.map(timestamp),
        private: Some(opened.private),
        diagnostics: opened.diagnostics.to_proto(),
        ..Default::default()
    })
}

pub(super) async fn renew_ephemeral_resource<P: Provider>(
    s: &ProviderService<P>,
    req: pb::renew_ephemeral_resource::Request,
) -> Result<pb::renew_ephemeral_resource::Response, Diagnostics> {
    let (e, _) = s.ephemeral(&req.type_name)?;
    let data = s.require_data()?;
    let private = req.private.unwrap_or_default();
    let renewed = e.renew(&data, RenewRequest { private }).await?;
    Ok(pb::renew_ephemeral_resource::Response {
        renew_at: renewed.renew_at.map(timestamp),
        private: Some(renewed.private),
        diagnostics: renewed.diagnostics.to_proto(),
    })
}

pub(super) async fn close_ephemeral_resource<P: Provider>(
    s: &ProviderService<P>,
    req: pb::close_ephemeral_resource::Request,
) -> Result<pb::close_ephemeral_resource::Response, Diagnostics> {
    let (e, _) = s.ephemeral(&req.type_name)?;
    let data = s.require_data()?;
    let private = req.private.unwrap_or_default();
    let closed = e.close(&data, CloseRequest { private }).await?;
    Ok(WithDiagnostics::from_diagnostics(closed.diagnostics))
}
