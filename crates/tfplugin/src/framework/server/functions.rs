//! Provider functions: GetFunctions lists them (GetProviderSchema too), CallFunction decodes
//! the arguments against the parameters' types, refuses null where not allowed, calls the
//! function and encodes its result. A call never fails the RPC: every problem, a panic
//! included, is a `FunctionError` (naming the argument when there is one).

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;

use super::ProviderService;
use crate::codec::Value;
use crate::framework::function::{Function, FunctionError};
use crate::framework::resource::Provider;
use crate::framework::wire;
use crate::proto::tfplugin6 as pb;

pub(super) fn definitions<P: Provider>(s: &ProviderService<P>) -> HashMap<String, pb::Function> {
    s.functions
        .iter()
        .map(|(name, (_, sig))| (name.clone(), sig.to_proto()))
        .collect()
}

pub(super) fn get_functions<P: Provider>(s: &ProviderService<P>) -> pb::get_functions::Response {
    pb::get_functions::Response {
        functions: definitions(s),
        diagnostics: Vec::new(),
    }
}

pub(super) fn call_function<P: Provider>(
    s: &ProviderService<P>,
    req: pb::call_function::Request,
) -> pb::call_function::Response {
    let span = tracing::info_span!("rpc", tf_rpc = "CallFunction", tf_function = %req.name);
    let _enter = span.enter();
    match call(s, &req) {
        Ok(result) => pb::call_function::Response {
            result: Some(result),
            error: None,
        },
        Err(e) => pb::call_function::Response {
            result: None,
            error: Some(e.to_proto()),
        },
    }
}

fn call<P: Provider>(
    s: &ProviderService<P>,
    req: &pb::call_function::Request,
) -> Result<pb::DynamicValue, FunctionError> {
    let Some((function, sig)) = s.functions.get(&req.name) else {
        return Err(FunctionError::new(format!(
            "this provider has no function named {:?}",
            req.name
        )));
    };
    if req.arguments.len() != sig.parameters.len() {
        return Err(FunctionError::new(format!(
            "{} takes {} arguments, got {}",
            req.name,
            sig.parameters.len(),
            req.arguments.len()
        )));
    }
    let mut args = Vec::with_capacity(req.arguments.len());
    for (i, (dv, p)) in req.arguments.iter().zip(&sig.parameters).enumerate() {
        let v = wire::decode(Some(dv), &p.ty, p.name)
            .map_err(|d| FunctionError::argument(i, format!("{}: {}", p.name, d.detail)))?;
        let null = matches!(&v, Value::Null)
            || matches!(&v, Value::Dynamic(_, inner) if matches!(**inner, Value::Null));
        if null && !p.allow_null {
            return Err(FunctionError::argument(
                i,
                format!("{} must not be null", p.name),
            ));
        }
        args.push(v);
    }
    let function: &dyn Function = function.as_ref();
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| function.call(args)))
        .unwrap_or_else(|panic| {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            tracing::error!("panic in function {}: {msg}", req.name);
            Err(FunctionError::new(format!(
                "internal error in function {}: {msg}. Please report this bug.",
                req.name
            )))
        })?;
    wire::encode(&result, &sig.returns, "function result").map_err(|d| {
        FunctionError::new(format!(
            "internal error: {} returned a value that does not fit its return type: {}",
            req.name, d.detail
        ))
    })
}
