//! Conversions between framework values and plain Rust values (models,
//! JSON, import IDs), for the resource files. Kept here so each resource
//! reads as its domain logic.

use std::collections::BTreeMap;

use openai_admin::secret::Secret;
use tfplugin::codec::{Number, Path, Type, Value};
use tfplugin::framework::model::{FieldType, Model, ModelError};
use tfplugin::framework::{Diagnostics, Mode, Schema};

/// `v` as model `M`, or `None` with the reason in `diags` (for methods that
/// report through `diags` rather than a `Result`).
pub(crate) fn decode<M: Model>(v: &Value, diags: &mut Diagnostics) -> Option<M> {
    M::from_value(v).map_err(|e| diags.push(e.into())).ok()
}

/// A sensitive string attribute's value: a [`Secret`], so that a model's
/// `Debug` output never shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Sensitive(pub Secret);

impl Sensitive {
    pub(crate) fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl FieldType for Sensitive {
    fn accepts(ty: &Type) -> bool {
        String::accepts(ty)
    }

    fn decode(v: &Value, at: &Path) -> Result<Self, ModelError> {
        String::decode(v, at).map(|s| Sensitive(Secret::new(s)))
    }

    fn encode(&self) -> Value {
        Value::String(self.expose().to_string())
    }
}

/// The attributes a user can set (all but the computed-only ones), except
/// `local` ones the provider never sends: those an API error's `param` may name.
pub(crate) fn arguments(schema: &Schema, local: &[&str]) -> Vec<&'static str> {
    schema
        .attributes
        .iter()
        .filter(|a| a.mode != Mode::Computed && !local.contains(&a.name))
        .map(|a| a.name)
        .collect()
}

/// Splits a two-part import ID `PARENT/CHILD`, or explains the expected
/// `format` (e.g. `"<project id>/<service account id>"`, example `"proj_abc/svc_acct_def"`).
pub(crate) fn split_import_id<'a>(
    id: &'a str,
    format: &str,
    example: &str,
) -> Result<(&'a str, &'a str), tfplugin::framework::Diagnostics> {
    id.split_once('/')
        .filter(|(p, c)| !p.is_empty() && !c.is_empty() && !c.contains('/'))
        .ok_or_else(|| {
            tfplugin::framework::Diagnostic::error(
                "Invalid import ID",
                format!("Expected \"{format}\", e.g. \"{example}\", got {id:?}."),
            )
            .into()
        })
}

/// A JSON value as a cty value, with the cty type it naturally has
/// (objects for JSON objects, tuples for arrays). Used for `dynamic` slots.
pub(crate) fn from_json(j: &serde_json::Value) -> (tfplugin::codec::Type, Value) {
    use tfplugin::codec::Type;
    match j {
        serde_json::Value::Null => (Type::Dynamic, Value::Null),
        serde_json::Value::Bool(b) => (Type::Bool, Value::Bool(*b)),
        serde_json::Value::Number(n) => (
            Type::Number,
            Value::Number(Number::parse(&n.to_string()).unwrap_or_else(|_| Number::from_i64(0))),
        ),
        serde_json::Value::String(s) => (Type::String, Value::String(s.clone())),
        serde_json::Value::Array(xs) => {
            let (tys, vals): (Vec<_>, Vec<_>) = xs.iter().map(from_json).unzip();
            (Type::Tuple(tys), Value::Tuple(vals))
        }
        serde_json::Value::Object(m) => {
            let mut tys = BTreeMap::new();
            let mut vals = BTreeMap::new();
            for (k, v) in m {
                let (t, v) = from_json(v);
                tys.insert(k.clone(), t);
                vals.insert(k.clone(), v);
            }
            (Type::Object(tys), Value::Object(vals))
        }
    }
}

/// A known cty value as JSON; `None` for unknowns or values JSON cannot hold.
pub fn to_json(v: &Value) -> Option<serde_json::Value> {
    Some(match v {
        Value::Null => serde_json::Value::Null,
        Value::Unknown => return None,
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => serde_json::from_str(&n.to_string()).ok()?,
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => {
            serde_json::Value::Array(xs.iter().map(to_json).collect::<Option<_>>()?)
        }
        Value::Map(m) | Value::Object(m) => serde_json::Value::Object(
            m.iter()
                .map(|(k, v)| Some((k.clone(), to_json(v)?)))
                .collect::<Option<_>>()?,
        ),
        Value::Dynamic(_, inner) => to_json(inner)?,
    })
}

/// Helpers for table-driven tests of validation functions.
#[cfg(test)]
pub(crate) mod testing {
    use tfplugin::codec::Path;
    use tfplugin::framework::model::Model;
    use tfplugin::framework::{ConfigRules, Diagnostics, Schema, Severity, check_config};

    /// One validation rule: what a configuration gets wrong and the single
    /// error it must produce.
    pub(crate) struct Rule<C> {
        pub case: &'static str,
        pub config: C,
        /// `None` for an error on the whole object.
        pub path: Option<Path>,
        pub summary: &'static str,
        /// A part of the detail that explains this rule.
        pub detail: &'static str,
    }

    /// Asserts that `diags` is exactly the error `rule` describes.
    pub(crate) fn assert_rule<C>(rule: &Rule<C>, diags: &Diagnostics) {
        let all: Vec<_> = diags.iter().collect();
        assert_eq!(all.len(), 1, "{}: {diags:#?}", rule.case);
        let d = all[0];
        assert_eq!(d.severity, Severity::Error, "{}", rule.case);
        assert_eq!(d.path, rule.path, "{}", rule.case);
        assert_eq!(d.summary, rule.summary, "{}", rule.case);
        assert!(
            d.detail.contains(rule.detail),
            "{}: {:?} does not contain {:?}",
            rule.case,
            d.detail,
            rule.detail
        );
    }

    /// `Path::root().attr(name)`.
    pub(crate) fn at(name: &str) -> Option<Path> {
        Some(Path::root().attr(name))
    }

    /// What validation reports for `config`, run as the framework runs it:
    /// the schema's attribute validators, then the object's rules.
    pub(crate) fn validation_of(
        schema: &Schema,
        rules: &ConfigRules,
        config: &impl Model,
    ) -> Diagnostics {
        check_config(schema, rules, &config.to_value())
    }
}
