//! Objects of a kind this provider cannot represent yet (a provider with an
//! `x509_ca` key source, a rule with a permissions type newer than this
//! provider): reading, importing and listing them works with what the
//! models can hold, but changing one could silently turn it into a kind we
//! do know. So reading such an object records its kind in the resource's
//! private state, and a plan or an update that would change the object is
//! refused with a diagnostic on the attribute that stands for the kind.

use serde::{Deserialize, Serialize};
use tfplugin::codec::Path;
use tfplugin::framework::{Diagnostic, Diagnostics, PlanCtx};

/// What kind of object was read, in private state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UnmanagedKind {
    /// Which field had the unknown value, e.g. `verification type`.
    pub field: String,
    /// The value, e.g. `x509_ca`.
    pub value: String,
}

#[derive(Serialize, Deserialize)]
struct Private {
    unmanaged_kind: Option<UnmanagedKind>,
}

/// The private bytes for an object read with `kind` (`None`: a kind this
/// provider manages; the bytes then clear an earlier marker).
pub(crate) fn private(kind: Option<UnmanagedKind>) -> Vec<u8> {
    match kind {
        None => Vec::new(),
        Some(k) => serde_json::to_vec(&Private {
            unmanaged_kind: Some(k),
        })
        .unwrap_or_default(),
    }
}

/// The kind recorded in `private`, if any.
pub(crate) fn recorded(private: &[u8]) -> Option<UnmanagedKind> {
    serde_json::from_slice::<Private>(private)
        .ok()
        .and_then(|p| p.unmanaged_kind)
}

/// The error for managing an object of `kind`.
pub(crate) fn diagnostic(object: &str, kind: &UnmanagedKind, attribute: &str) -> Diagnostic {
    Diagnostic::error(
        format!("Cannot manage this {object} yet"),
        format!(
            "This provider cannot manage {object}s with {} \"{}\" yet: it can read, import and \
             list them, but changing one could turn it into a kind it knows. Leave its \
             configuration as it is read (or remove it from the configuration with a `removed` \
             block or `terraform state rm`) and manage it in the OpenAI dashboard, or upgrade \
             to a provider version that knows \"{}\".",
            kind.field, kind.value, kind.value
        ),
    )
    .at(Path::root().attr(attribute))
}

/// Refuses a plan that would change (update or replace) an object whose
/// prior private state records an unmanaged kind. Creating and destroying
/// are left alone.
pub(crate) fn refuse_change(plan: &mut PlanCtx, object: &str, attribute: &str) {
    if plan.is_create() || plan.is_destroy() || plan.planned == plan.prior {
        return;
    }
    if let Some(kind) = recorded(&plan.prior_private) {
        plan.diags.push(diagnostic(object, &kind, attribute));
    }
}

/// The same check for an update (whose plan should already have failed).
pub(crate) fn refuse_update(
    private: &[u8],
    object: &str,
    attribute: &str,
) -> Result<(), Diagnostics> {
    match recorded(private) {
        Some(kind) => Err(diagnostic(object, &kind, attribute).into()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::codec::{Type, Value};
    use tfplugin::framework::plan::plan_generic;
    use tfplugin::framework::{Attribute, Schema};

    fn ctx(prior: Value, planned: Value) -> PlanCtx {
        let schema = Schema::new("t").attribute(Attribute::required("name", Type::String));
        plan_generic(&schema, &prior, &planned, &planned)
    }

    fn x509() -> UnmanagedKind {
        UnmanagedKind {
            field: "verification type".into(),
            value: "x509_ca".into(),
        }
    }

    #[test]
    fn private_state_round_trips_and_clears() {
        assert_eq!(recorded(&private(Some(x509()))), Some(x509()));
        assert_eq!(recorded(&private(None)), None);
        assert_eq!(recorded(b""), None);
        assert_eq!(recorded(b"not json"), None);
    }

    #[test]
    fn only_a_change_of_a_recorded_kind_is_refused() {
        let object =
            |name: &str| Value::Object([("name".to_string(), Value::String(name.into()))].into());
        let mut plan = ctx(object("a"), object("b"));
        plan.prior_private = private(Some(x509()));
        refuse_change(&mut plan, "workload identity provider", "jwks_json");
        let all: Vec<_> = plan.diags.iter().collect();
        assert_eq!(all.len(), 1);
        assert_eq!(
            all[0].summary,
            "Cannot manage this workload identity provider yet"
        );
        assert!(
            all[0].detail.contains(
                "cannot manage workload identity providers with verification type \"x509_ca\" yet"
            ),
            "{}",
            all[0].detail
        );
        assert_eq!(all[0].path, Some(Path::root().attr("jwks_json")));

        // No change, a create, a destroy, or no marker: nothing to refuse.
        for (prior, planned, marker) in [
            (object("a"), object("a"), Some(x509())),
            (Value::Null, object("a"), Some(x509())),
            (object("a"), Value::Null, Some(x509())),
            (object("a"), object("b"), None),
        ] {
            let mut plan = ctx(prior, planned);
            plan.prior_private = private(marker);
            refuse_change(&mut plan, "x", "y");
            assert!(plan.diags.is_empty(), "{:?}", plan.diags);
        }
        assert!(refuse_update(&private(Some(x509())), "x", "y").is_err());
        assert!(refuse_update(&[], "x", "y").is_ok());
    }
}
