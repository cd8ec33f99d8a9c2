//! Helpers that play Terraform's part: build the service, encode values the
//! way Terraform sends them, and decode what comes back.

use std::sync::Arc;

use tfplugin::codec::{Type, Value, msgpack};
use tfplugin::framework::ProviderService;
use tfplugin::proto::tfplugin6 as pb;
use tfplugin::proto::tfplugin6::provider_server::Provider as _;
use tonic::Request;

use crate::example::{ExampleProvider, Journal, thing_identity, thing_schema};

pub type Service = ProviderService<ExampleProvider>;

/// The service, not configured yet, and the journal of its calls.
pub fn service() -> (Service, Arc<Journal>) {
    let (provider, journal) = ExampleProvider::new();
    (ProviderService::new(provider), journal)
}

/// The service after a ConfigureProvider with an empty provider block.
pub async fn configured() -> (Service, Arc<Journal>) {
    let (s, journal) = service();
    let config = Value::object([("greeting", Value::Null)]);
    let r = s
        .configure_provider(Request::new(pb::configure_provider::Request {
            terraform_version: "1.15.5".into(),
            config: Some(dv(&config, &provider_type())),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    (s, journal)
}

pub fn provider_type() -> Type {
    Type::object([("greeting", Type::String)])
}

pub fn thing_type() -> Type {
    thing_schema().object_type()
}

pub fn identity_type() -> Type {
    thing_identity().object_type()
}

pub fn dv(v: &Value, ty: &Type) -> pb::DynamicValue {
    pb::DynamicValue {
        msgpack: msgpack::encode(v, ty).unwrap(),
        json: Vec::new(),
    }
}

pub fn undv(dv: Option<&pb::DynamicValue>, ty: &Type) -> Value {
    match dv {
        Some(dv) if !dv.msgpack.is_empty() => msgpack::decode(&dv.msgpack, ty).unwrap(),
        _ => Value::Null,
    }
}

pub fn identity(id: &str) -> pb::ResourceIdentityData {
    pb::ResourceIdentityData {
        identity_data: Some(dv(
            &Value::object([("id", Value::string(id))]),
            &identity_type(),
        )),
    }
}

pub fn identity_value(data: Option<&pb::ResourceIdentityData>) -> Value {
    undv(
        data.and_then(|i| i.identity_data.as_ref()),
        &identity_type(),
    )
}

/// A thing's configuration (or state, with an `id`).
pub fn thing(id: Option<&str>, name: &str, note: Option<&str>) -> Value {
    Value::object([
        ("id", id.map_or(Value::Null, Value::string)),
        ("name", Value::string(name)),
        ("note", note.map_or(Value::Null, Value::string)),
    ])
}

pub fn summaries(diags: &[pb::Diagnostic]) -> Vec<(i32, String)> {
    diags
        .iter()
        .map(|d| (d.severity, d.summary.clone()))
        .collect()
}

pub const ERROR: i32 = pb::diagnostic::Severity::Error as i32;
pub const WARNING: i32 = pb::diagnostic::Severity::Warning as i32;
