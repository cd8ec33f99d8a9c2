//! Provider-defined functions (Terraform 1.8 and later): test mappings against claims with
//! exactly the rules OpenAI's exchange applies (`openai_federation_rules`, the evaluator the
//! emulator uses too).
//!
//! - `provider::openai::matches(attribute_matchers, claims)`: whether every matcher matches.
//! - `provider::openai::transform(attribute_transformations, claims)`: the claims as matchers
//!   see them, with the derived `openai.*` attributes.
//!
//! They verify no signature: they are about claims, not tokens.

use openai_admin::models::AttributeTransformation;
use openai_federation_rules::cel;
use openai_federation_rules::matching::{self, Outcome};
use serde_json::{Map, Value as Json};
use tfplugin::codec::{Type, Value};
use tfplugin::framework::{Function, FunctionError, Parameter, Signature};

use crate::values::{from_json, to_json};

pub(crate) fn all() -> Vec<Box<dyn Function>> {
    vec![Box::new(Matches), Box::new(Transform)]
}

/// The value inside a dynamic argument.
fn inner(v: &Value) -> &Value {
    match v {
        Value::Dynamic(_, inner) => inner,
        other => other,
    }
}

/// An object or map argument as JSON.
pub(crate) fn object_json(
    v: &Value,
    index: usize,
    name: &str,
) -> Result<Map<String, Json>, FunctionError> {
    match inner(v) {
        Value::Object(_) | Value::Map(_) => match to_json(inner(v)) {
            Some(Json::Object(m)) => Ok(m),
            _ => Err(FunctionError::argument(
                index,
                format!("{name} holds a value JSON cannot represent"),
            )),
        },
        _ => Err(FunctionError::argument(
            index,
            format!("{name} must be an object or a map, e.g. {{ sub = \"...\" }}"),
        )),
    }
}

/// Matchers as the API takes them: a non-empty object of strings, numbers and bools.
pub(crate) fn matchers_json(v: &Value, index: usize) -> Result<Map<String, Json>, FunctionError> {
    let m = object_json(v, index, "attribute_matchers")?;
    if m.is_empty() {
        return Err(FunctionError::argument(
            index,
            "attribute_matchers must not be empty: the API refuses a mapping that would match every token",
        ));
    }
    if let Some((k, _)) = m
        .iter()
        .find(|(_, v)| !matches!(v, Json::String(_) | Json::Number(_) | Json::Bool(_)))
    {
        return Err(FunctionError::argument(
            index,
            format!("attribute_matchers[{k:?}] must be a string, number or bool"),
        ));
    }
    // What the resource refuses at plan is an error here too, so that a
    // check cannot pass on matchers no mapping could hold.
    for (k, v) in &m {
        if let Json::String(s) = v
            && let Err(why) = crate::resources::service_account_mapping::check_wildcard(s)
        {
            return Err(FunctionError::argument(
                index,
                format!("attribute_matchers[{k:?}]: {why}"),
            ));
        }
    }
    Ok(m)
}

/// Transformations from a list of `{ attribute, expression }` objects (as the provider
/// resource's `attribute_transformations` attribute holds them).
pub(crate) fn transformations(
    v: &Value,
    index: usize,
) -> Result<Vec<AttributeTransformation>, FunctionError> {
    let bad = |why: String| FunctionError::argument(index, why);
    let items = match inner(v) {
        Value::List(xs) | Value::Tuple(xs) | Value::Set(xs) => xs,
        Value::Null => return Ok(Vec::new()),
        _ => {
            return Err(bad(
                "attribute_transformations must be a list of { attribute, expression } objects"
                    .into(),
            ));
        }
    };
    let mut out: Vec<AttributeTransformation> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = |name: &str| match inner(item) {
            Value::Object(m) | Value::Map(m) => match m.get(name).map(inner) {
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        };
        let (Some(attribute), Some(expression)) = (field("attribute"), field("expression")) else {
            return Err(bad(format!(
                "attribute_transformations[{i}] must be an object with string attribute and expression"
            )));
        };
        if !attribute.starts_with(matching::DERIVED_PREFIX)
            || attribute.len() == matching::DERIVED_PREFIX.len()
        {
            return Err(bad(format!(
                "attribute_transformations[{i}].attribute {attribute:?} must start with \"openai.\" followed by a name"
            )));
        }
        if out.iter().any(|t| t.attribute == attribute) {
            return Err(bad(format!(
                "attribute_transformations[{i}].attribute {attribute:?} is computed by an earlier transformation already"
            )));
        }
        if let Err(e) = cel::check(&expression) {
            return Err(bad(format!(
                "attribute_transformations[{i}].expression is not a usable CEL expression: {e}"
            )));
        }
        out.push(AttributeTransformation {
            attribute,
            expression,
        });
    }
    Ok(out)
}

pub(crate) struct Matches;

impl Function for Matches {
    fn name(&self) -> &'static str {
        "matches"
    }

    fn signature(&self) -> Signature {
        Signature {
            parameters: vec![
                Parameter::new(
                    "attribute_matchers",
                    Type::Dynamic,
                    "A mapping's `attribute_matchers`: claim (or `openai.*` attribute) names to strings, numbers or bools.",
                ),
                Parameter::new(
                    "claims",
                    Type::Dynamic,
                    "A token's claims as an object, with any derived `openai.*` attributes (pass it through `provider::openai::transform` for those).",
                ),
            ],
            returns: Type::Bool,
            summary: "Whether a mapping's attribute matchers admit a token's claims",
            description: "Returns true when every matcher matches the claims, by the rules OpenAI's \
token exchange applies: a value matches exactly, or by prefix when it ends in a single `*` after a \
non-empty prefix; an array claim matches when any element matches; numbers and bools compare by \
their JSON text (`true` matches `\"true\"`). An `openai.*` matcher reads the attribute of that name \
from `claims`, as `transform` derives it. No signature is verified: this is about claims, not tokens.",
        }
    }

    fn call(&self, args: Vec<Value>) -> Result<Value, FunctionError> {
        let matchers = matchers_json(&args[0], 0)?;
        let claims = object_json(&args[1], 1, "claims")?;
        let outcome = matching::matches(&matchers, &Json::Object(claims));
        Ok(Value::Bool(outcome == Outcome::Match))
    }
}

pub(crate) struct Transform;

impl Function for Transform {
    fn name(&self) -> &'static str {
        "transform"
    }

    fn signature(&self) -> Signature {
        Signature {
            parameters: vec![
                Parameter::new(
                    "attribute_transformations",
                    Type::Dynamic,
                    "A provider's `attribute_transformations`: a list of `{ attribute = \"openai.<name>\", expression = \"<CEL>\" }`.",
                ),
                Parameter::new("claims", Type::Dynamic, "A token's claims as an object."),
            ],
            returns: Type::Dynamic,
            summary: "A token's claims with the attributes a provider's transformations derive",
            description: "Evaluates each CEL transformation with `assertion` bound to `claims`, with the \
evaluator the exchange uses, and returns the claims plus each derived `openai.*` attribute as a \
string (`true` becomes `\"true\"`, `7` becomes `\"7\"`). Raw claims named `openai.*` are left out: \
the exchange never matches them. A transformation that fails for these claims is an error. No \
signature is verified.",
        }
    }

    fn call(&self, args: Vec<Value>) -> Result<Value, FunctionError> {
        let ts = transformations(&args[0], 0)?;
        let claims = object_json(&args[1], 1, "claims")?;
        let out = matching::transform(&ts, &claims).map_err(|e| {
            // The expressions parsed (checked above), so the claims made this one fail.
            FunctionError::argument(1, format!("for these claims, {}", e.message))
        })?;
        let (ty, v) = from_json(&Json::Object(out));
        Ok(Value::Dynamic(ty, Box::new(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dynamic(j: Json) -> Value {
        let (ty, v) = from_json(&j);
        Value::Dynamic(ty, Box::new(v))
    }

    fn matches(m: Json, c: Json) -> Result<bool, FunctionError> {
        Matches
            .call(vec![dynamic(m), dynamic(c)])
            .map(|v| v == Value::Bool(true))
    }

    fn transform(t: Json, c: Json) -> Result<Json, FunctionError> {
        Transform
            .call(vec![dynamic(t), dynamic(c)])
            .map(|v| to_json(&v).unwrap())
    }

    #[test]
    fn matches_follows_the_exchange() {
        let c = json!({"sub": "repo:org/app:ref:refs/heads/main", "aud": ["x", "y"], "n": 7, "ok": true});
        assert!(matches(json!({"sub": "repo:org/app:*"}), c.clone()).unwrap());
        assert!(!matches(json!({"sub": "repo:org/fork:*"}), c.clone()).unwrap());
        assert!(matches(json!({"aud": "y", "n": 7, "ok": "true"}), c.clone()).unwrap());
        assert!(!matches(json!({"aud": "y", "n": 8}), c.clone()).unwrap());
        assert!(!matches(json!({"missing": "x"}), c.clone()).unwrap());
        let e = matches(json!({}), c.clone()).unwrap_err();
        assert_eq!(e.argument, Some(0));
        let e = matches(json!({"sub": "repo:*/app"}), c.clone()).unwrap_err();
        assert_eq!(e.argument, Some(0));
        assert!(
            e.text.contains("uses `*` where it is not supported"),
            "{}",
            e.text
        );
        let e = matches(json!({"sub": ["a"]}), c.clone()).unwrap_err();
        assert_eq!(e.argument, Some(0));
        let e = matches(json!({"sub": "a"}), json!("not an object")).unwrap_err();
        assert_eq!(e.argument, Some(1));
    }

    #[test]
    fn transform_then_matches() {
        let t = json!([
            {"attribute": "openai.repo_ref", "expression": "assertion.repository + '@' + assertion.ref"},
            {"attribute": "openai.main", "expression": "assertion.ref == 'refs/heads/main'"}
        ]);
        let c = json!({"repository": "org/app", "ref": "refs/heads/main", "openai.main": "forged"});
        let out = transform(t.clone(), c.clone()).unwrap();
        assert_eq!(
            out,
            json!({"repository": "org/app", "ref": "refs/heads/main", "openai.repo_ref": "org/app@refs/heads/main", "openai.main": "true"})
        );
        assert!(matches(json!({"openai.main": true}), out).unwrap());

        let e = transform(
            json!([{"attribute": "x", "expression": "assertion.sub"}]),
            c.clone(),
        )
        .unwrap_err();
        assert_eq!(e.argument, Some(0));
        let e = transform(
            json!([{"attribute": "openai.x", "expression": "assertion.sub +"}]),
            c.clone(),
        )
        .unwrap_err();
        assert_eq!(e.argument, Some(0));
        assert!(e.text.contains("not a usable CEL expression"), "{e:?}");
        let e = transform(
            json!([{"attribute": "openai.x", "expression": "assertion.sub"}]),
            c,
        )
        .unwrap_err();
        assert_eq!(e.argument, Some(1));
        assert!(e.text.contains("'openai.x'"), "{e:?}");
    }

    #[test]
    fn hostile_expressions_are_refused_before_parsing() {
        let c = json!({"sub": "s", "g": ["a"]});
        // A quote in a comment once hid 20,000 operators from the guard, and the parse
        // overflowed the stack; each of these is now refused as an argument error.
        for (expression, why) in [
            (
                format!("0 // \"\n{}", "+1".repeat(20_000)),
                "at most 4096 are allowed",
            ),
            (format!("0 // \"\n{}", "+1".repeat(1_000)), "operators"),
            (
                format!("'{}'", "a".repeat(4_095)),
                "at most 4096 are allowed",
            ),
            (
                "assertion.g.map(a, assertion.g.map(b, a + b)).size()".to_owned(),
                "product of the lists",
            ),
        ] {
            let e = transform(
                json!([{"attribute": "openai.x", "expression": expression}]),
                c.clone(),
            )
            .unwrap_err();
            assert_eq!(e.argument, Some(0));
            assert!(e.text.contains(why), "{why}: {e:?}");
        }
    }
}
