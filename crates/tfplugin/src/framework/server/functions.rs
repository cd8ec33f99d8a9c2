//! Provider functions: none are offered, so the list is empty and a call
//! names the function it could not find.

use crate::proto::tfplugin6 as pb;

pub(super) fn get_functions() -> pb::get_functions::Response {
    pb::get_functions::Response::default()
}

pub(super) fn call_function(req: pb::call_function::Request) -> pb::call_function::Response {
    pb::call_function::Response {
        result: None,
        error: Some(pb::FunctionError {
            text: format!("this provider has no function named {:?}", req.name),
            function_argument: None,
        }),
    }
}
