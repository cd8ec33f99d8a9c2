//! RPCs of features not offered: moving state between types, generating
//! configuration, state storage and actions. Each answers with one "not
//! supported" diagnostic, never a gRPC error (Terraform would report that as
//! a crashed plugin).

use crate::framework::wire::{WithDiagnostics, unsupported};
use crate::proto::tfplugin6 as pb;

pub(super) const MOVE: &str = "moving state between resource types";
pub(super) const GENERATE: &str = "provider-side configuration generation";
pub(super) const STATE_STORE: &str = "state storage";
pub(super) const ACTIONS: &str = "actions";

/// The answer of an RPC for a feature this provider does not offer.
pub(super) fn refuse<T: WithDiagnostics>(what: &str) -> T {
    T::from_diagnostics(unsupported(what))
}

/// InvokeAction streams events; the refusal is its one `Completed` event.
pub(super) fn invoke_action() -> pb::invoke_action::Event {
    pb::invoke_action::Event {
        r#type: Some(pb::invoke_action::event::Type::Completed(
            pb::invoke_action::event::Completed {
                diagnostics: unsupported(ACTIONS).to_proto(),
            },
        )),
    }
}
