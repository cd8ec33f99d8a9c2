//! Data sources: ValidateDataResourceConfig and ReadDataSource.

use super::validate::validated;
use super::{ProviderService, decode, encode};
use crate::framework::diagnostics::Diagnostics;
use crate::framework::messages::{ReadDataSourceRequest, ValidateRequest};
use crate::framework::resource::Provider;
use crate::framework::wire::WithDiagnostics;
use crate::proto::tfplugin6 as pb;

pub(super) async fn validate_data_resource_config<P: Provider>(
    s: &ProviderService<P>,
    req: pb::validate_data_resource_config::Request,
) -> Result<pb::validate_data_resource_config::Response, Diagnostics> {
    let (d, schema) = s.data_source(&req.type_name)?;
    let config = decode(req.config.as_ref(), &schema.object_type(), "configuration")?;
    let mut resp = validated(schema, &d.config_rules(), &config);
    d.validate(ValidateRequest { config }, &mut resp).await;
    Ok(WithDiagnostics::from_diagnostics(resp.diagnostics))
}

pub(super) async fn read_data_source<P: Provider>(
    s: &ProviderService<P>,
    req: pb::read_data_source::Request,
) -> Result<pb::read_data_source::Response, Diagnostics> {
    let (d, schema) = s.data_source(&req.type_name)?;
    let ty = schema.object_type();
    let config = decode(req.config.as_ref(), &ty, "configuration")?;
    let data = s.require_data()?;
    let resp = d.read(&data, ReadDataSourceRequest { config }).await?;
    Ok(pb::read_data_source::Response {
        state: Some(encode(&resp.state, &ty, "data source result")?),
        diagnostics: resp.diagnostics.to_proto(),
        ..Default::default()
    })
}
