//! RPCs of features not offered: generating configuration and state
//! storage. Each answers with one "not
//! supported" diagnostic, never a gRPC error (Terraform would report that as
//! a crashed plugin).

use crate::framework::wire::{WithDiagnostics, unsupported};

pub(super) const GENERATE: &str = "provider-side configuration generation";
pub(super) const STATE_STORE: &str = "state storage";

/// The answer of an RPC for a feature this provider does not offer.
pub(super) fn refuse<T: WithDiagnostics>(what: &str) -> T {
    T::from_diagnostics(unsupported(what))
}
