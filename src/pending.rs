//! A create whose request was sent but whose answer never came, because
//! Terraform was stopping (Ctrl-C, StopProvider). The object may exist, so
//! forgetting it would let the next run create a second one (or fail on its
//! name). Instead the create reports a placeholder object, which Terraform
//! keeps in state as tainted, with this marker in its private state: when it
//! was sent, by the server's clock. Read and delete then look for the object
//! the way lost-create recovery does (same identifying fields, created since
//! then) and take it over, or report it gone.

use serde::{Deserialize, Serialize};

use tfplugin::framework::{Diagnostic, Diagnostics};

#[derive(Serialize, Deserialize)]
struct Marker {
    /// Objects created at or after this (server Unix seconds) are candidates.
    pending_create_since: i64,
}

/// The placeholder of a lost create of model `$model`: the planned object
/// `$planned` with the fields only the server fills (`id`, `created_at`,
/// `updated_at`) empty, as a value.
macro_rules! placeholder {
    ($model:ident, $planned:expr) => {
        $model {
            id: tfplugin::framework::model::Field::Known(String::new()),
            created_at: tfplugin::framework::model::Field::Known(0),
            updated_at: tfplugin::framework::model::Field::Known(0),
            ..$planned.clone()
        }
        .to_value()
    };
}
pub(crate) use placeholder;

/// The private state of a placeholder for a create sent at `since`.
pub(crate) fn private_of(since: i64) -> Vec<u8> {
    serde_json::to_vec(&Marker {
        pending_create_since: since,
    })
    .expect("a marker always encodes")
}

/// The `since` of a placeholder's private state; `None` for a real object.
pub(crate) fn since(private: &[u8]) -> Option<i64> {
    serde_json::from_slice::<Marker>(private)
        .ok()
        .map(|m| m.pending_create_since)
}

/// The error a placeholder is reported with.
pub(crate) fn interrupted(
    what: &str,
    identified_by: &str,
    error: &openai_admin::ApiError,
) -> Diagnostics {
    Diagnostic::error(
        format!("Create of the {what} was interrupted"),
        format!(
            "{error}. Terraform is stopping, so the provider stopped waiting for OpenAI's answer. \
             The object may have been created: it is kept in state as tainted, without an id for \
             now. The next plan looks for it ({identified_by}, created since the request was \
             sent) and, if it exists, Terraform replaces it like any tainted object; run \
             `terraform untaint` on it first to keep it instead. If it does not exist, the next \
             apply creates it."
        ),
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_round_trips_and_real_private_state_is_no_marker() {
        assert_eq!(since(&private_of(1_700_000_000)), Some(1_700_000_000));
        assert_eq!(since(b""), None);
        assert_eq!(since(b"{}"), None);
    }
}
