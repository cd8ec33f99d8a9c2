//! Glue between protocol messages and framework values: `DynamicValue`
//! decoding/encoding with diagnostics, and the panic guard every RPC runs in.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

use super::diagnostics::{Diagnostic, Diagnostics};
use crate::codec::{self, CodecError, Type, Value};
use crate::proto::tfplugin6 as pb;

fn codec_diag(what: &str, e: CodecError) -> Diagnostic {
    let d = Diagnostic::error(
        format!("Invalid {what} value"),
        format!(
            "The provider could not handle the {what} value Terraform sent or produced: {e}. \
             This is a bug in the provider; please report it."
        ),
    );
    if e.path().is_empty() {
        d
    } else {
        d.at(e.full_path().clone())
    }
}

/// Decodes a `DynamicValue` (msgpack first, then JSON; absent means null).
pub fn decode(dv: Option<&pb::DynamicValue>, ty: &Type, what: &str) -> Result<Value, Diagnostic> {
    match dv {
        Some(dv) if !dv.msgpack.is_empty() => {
            codec::msgpack::decode(&dv.msgpack, ty).map_err(|e| codec_diag(what, e))
        }
        Some(dv) if !dv.json.is_empty() => {
            codec::json::decode(&dv.json, ty, codec::json::DecodeOptions::default())
                .map_err(|e| codec_diag(what, e))
        }
        _ => Ok(Value::Null),
    }
}

/// Encodes a value for Terraform, always as msgpack (it can carry unknowns).
pub fn encode(v: &Value, ty: &Type, what: &str) -> Result<pb::DynamicValue, Diagnostic> {
    Ok(pb::DynamicValue {
        msgpack: codec::msgpack::encode(v, ty).map_err(|e| codec_diag(what, e))?,
        json: Vec::new(),
    })
}

/// Response types that carry diagnostics, so a failure anywhere in an RPC
/// (including a panic) can become a diagnostic instead of a crashed plugin.
/// The impls come from the RPC table in `server` (`provider_service!`).
pub trait WithDiagnostics: Default {
    fn diagnostics_mut(&mut self) -> &mut Vec<pb::Diagnostic>;

    fn from_diagnostics(d: Diagnostics) -> Self {
        let mut r = Self::default();
        r.diagnostics_mut().extend(d.to_proto());
        r
    }
}

/// Runs an RPC body; a panic becomes an error diagnostic on an empty response.
pub async fn guard<T, F>(rpc: &'static str, fut: F) -> T
where
    T: WithDiagnostics,
    F: Future<Output = T>,
{
    guard_with(rpc, T::from_diagnostics, fut).await
}

/// Like [`guard`], for answers that are not one response message (a stream's
/// events): `on_panic` builds the answer from the diagnostic.
pub async fn guard_with<T, F>(
    rpc: &'static str,
    on_panic: impl FnOnce(Diagnostics) -> T,
    fut: F,
) -> T
where
    F: Future<Output = T>,
{
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(r) => r,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            tracing::error!(tf_rpc = rpc, "panic in RPC handler: {msg}");
            on_panic(
                Diagnostic::error(
                    "Provider internal error",
                    format!(
                        "The provider hit an internal error in {rpc}: {msg}. \
                         Nothing further was changed by this call. Please report this bug."
                    ),
                )
                .into(),
            )
        }
    }
}

/// A diagnostic for an RPC the provider does not serve.
pub fn unsupported(what: &str) -> Diagnostics {
    Diagnostic::error(
        format!("{what} not supported"),
        format!(
            "This provider does not offer {what}. Upgrade the provider if a newer version does."
        ),
    )
    .into()
}

/// A diagnostic for a type name the provider does not know.
pub fn unknown_type(kind: &str, name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type {name:?}"),
        format!(
            "This provider has no {kind} named {name:?}. Check the spelling, or upgrade the provider."
        ),
    )
    .into()
}
