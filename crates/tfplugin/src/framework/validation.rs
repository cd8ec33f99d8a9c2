//! The checks the framework runs on a configuration before an object's own
//! `validate` hook, so that an object writes only the rules that are its
//! own:
//!
//! 1. each attribute's [`AttributeValidator`]s, declared on the attribute in
//!    the schema (e.g. [`Attribute::not_empty`]), on known values only;
//! 2. the object's [`ConfigRules`]: the checks that need more than one
//!    attribute, written against its typed model, which the framework
//!    decodes from the configuration.
//!
//! [`check_config`] runs both; the server calls it for every validation
//! RPC (and before an action is planned), and an object may call it itself
//! where it needs the same verdict outside validation, e.g. before it opens.
//!
//! [`Attribute::not_empty`]: super::schema::Attribute::not_empty

use std::fmt;
use std::sync::Arc;

use super::diagnostics::Diagnostics;
use super::model::Model;
use super::schema::Schema;
use crate::codec::{Path, Value};

/// A check of one attribute on its own. The framework calls it with the
/// attribute's value when that value is known and not null, so a validator
/// never sees an unknown (a value a later plan will have).
pub trait AttributeValidator: fmt::Debug + Send + Sync {
    /// Adds what is wrong with `value`, as errors at `path`; `name` is the
    /// attribute's name, for the message.
    fn validate(&self, name: &str, value: &Value, path: &Path, diags: &mut Diagnostics);
}

/// A string that must hold something. Empty is refused as
/// `Empty NAME` / `NAME must not be empty.`, followed by the fix the schema
/// gives. With `blank`, a string of white space only is refused as well
/// (for values that are trimmed before use).
#[derive(Debug, Clone, Copy)]
pub struct NotEmpty {
    pub fix: &'static str,
    pub blank: bool,
}

impl AttributeValidator for NotEmpty {
    fn validate(&self, name: &str, value: &Value, path: &Path, diags: &mut Diagnostics) {
        let Some(text) = value.unwrap_dynamic().as_str() else {
            return;
        };
        let empty = if self.blank {
            text.trim().is_empty()
        } else {
            text.is_empty()
        };
        if empty {
            let detail = with_fix(format!("{name} must not be empty."), self.fix);
            diags.attribute_error(path.clone(), format!("Empty {name}"), detail);
        }
    }
}

/// A string from a closed list. Anything else is refused as
/// `Invalid NAME` / `NAME is "x"; use one of "a", "b".`, followed by the fix.
#[derive(Debug, Clone, Copy)]
pub struct OneOf {
    pub allowed: &'static [&'static str],
    pub fix: &'static str,
}

impl AttributeValidator for OneOf {
    fn validate(&self, name: &str, value: &Value, path: &Path, diags: &mut Diagnostics) {
        let Some(text) = value.unwrap_dynamic().as_str() else {
            return;
        };
        if !self.allowed.contains(&text) {
            let allowed: Vec<String> = self.allowed.iter().map(|a| format!("{a:?}")).collect();
            let detail = format!("{name} is {text:?}; use one of {}.", allowed.join(", "));
            diags.attribute_error(
                path.clone(),
                format!("Invalid {name}"),
                with_fix(detail, self.fix),
            );
        }
    }
}

/// A whole number within bounds (either may be open). Anything else is
/// refused as `Invalid NAME` / `NAME is 5; it must be between 0 and 3.`
/// (or `at least 1`, `at most 3`), followed by the fix.
#[derive(Debug, Clone, Copy)]
pub struct InRange {
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub fix: &'static str,
}

impl AttributeValidator for InRange {
    fn validate(&self, name: &str, value: &Value, path: &Path, diags: &mut Diagnostics) {
        let Some(number) = value.unwrap_dynamic().as_number() else {
            return;
        };
        let whole = number.as_i64();
        let fits = whole.is_some_and(|n| {
            self.min.is_none_or(|min| n >= min) && self.max.is_none_or(|max| n <= max)
        });
        if fits {
            return;
        }
        let bounds = match (self.min, self.max) {
            (Some(min), Some(max)) => Some(format!("between {min} and {max}")),
            (Some(min), None) => Some(format!("at least {min}")),
            (None, Some(max)) => Some(format!("at most {max}")),
            (None, None) => None,
        };
        let must = match (whole, bounds) {
            (_, None) => "a whole number".to_owned(),
            (Some(_), Some(bounds)) => bounds,
            (None, Some(bounds)) => format!("a whole number {bounds}"),
        };
        let detail = format!("{name} is {number}; it must be {must}.");
        diags.attribute_error(
            path.clone(),
            format!("Invalid {name}"),
            with_fix(detail, self.fix),
        );
    }
}

fn with_fix(detail: String, fix: &str) -> String {
    match fix {
        "" => detail,
        fix => format!("{detail} {fix}"),
    }
}

type RulesFn = dyn Fn(&Value, &mut Diagnostics) + Send + Sync;

/// An object's rules across its attributes. Made from a function of the
/// object's model ([`ConfigRules::of`]): the framework decodes the
/// configuration (which may hold unknowns, so the model's fields must allow
/// them) and reports a configuration that does not fit the model as an
/// error, instead of calling the rules.
#[derive(Clone, Default)]
pub struct ConfigRules(Option<Arc<RulesFn>>);

impl ConfigRules {
    /// No rules beyond the attributes' own validators (the default).
    pub fn none() -> Self {
        ConfigRules(None)
    }

    /// Rules written against model `M`.
    pub fn of<M: Model + 'static>(rules: fn(&M, &mut Diagnostics)) -> Self {
        ConfigRules(Some(Arc::new(
            move |config: &Value, diags: &mut Diagnostics| match M::from_value(config) {
                Ok(model) => rules(&model, diags),
                Err(e) => diags.push(e.into()),
            },
        )))
    }

    /// Rules that read the configuration value as it is, for objects whose
    /// configuration is more than one model (e.g. one that embeds another
    /// object's attributes).
    pub fn on_value(rules: fn(&Value, &mut Diagnostics)) -> Self {
        ConfigRules(Some(Arc::new(rules)))
    }

    fn run(&self, config: &Value, diags: &mut Diagnostics) {
        if let Some(rules) = &self.0 {
            rules(config, diags);
        }
    }
}

impl fmt::Debug for ConfigRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "ConfigRules(..)"
        } else {
            "ConfigRules(none)"
        })
    }
}

/// What validation reports for `config`: the attribute validators of
/// `schema`, then `rules`.
pub fn check_config(schema: &Schema, rules: &ConfigRules, config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    schema.validate_attributes(config, &mut diags);
    rules.run(config, &mut diags);
    diags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Type;
    use crate::framework::Attribute;
    use crate::framework::model::Field;
    use crate::model;

    model! {
        struct Pair {
            first: Field<String>,
            second: Field<String>,
        }
    }

    fn schema() -> Schema {
        Schema::new("")
            .attribute(Attribute::optional(Pair::first, Type::String).not_empty("Omit it."))
            .attribute(Attribute::optional(Pair::second, Type::String).not_blank(""))
    }

    fn both_set_refused(pair: &Pair, diags: &mut Diagnostics) {
        if pair.first.is_present() && pair.second.is_present() {
            diags.error("Both set", "Set one.");
        }
    }

    fn summaries(d: &Diagnostics) -> Vec<String> {
        d.iter().map(|d| d.summary.clone()).collect()
    }

    fn config(first: Value, second: Value) -> Value {
        Value::object([(Pair::first, first), (Pair::second, second)])
    }

    #[test]
    fn attribute_validators_see_only_known_values_and_name_the_attribute() {
        let rules = ConfigRules::none();
        let d = check_config(&schema(), &rules, &config(Value::string(""), Value::Null));
        assert_eq!(summaries(&d), ["Empty first"]);
        let only = d.iter().next().unwrap();
        assert_eq!(only.detail, "first must not be empty. Omit it.");
        assert_eq!(only.path, Some(Path::root().attr("first")));

        // Unknown and null are left alone; white space is empty only when blank counts.
        for (first, second, expected) in [
            (Value::Unknown, Value::Unknown, vec![]),
            (Value::string(" "), Value::Null, vec![]),
            (Value::Null, Value::string(" \t"), vec!["Empty second"]),
        ] {
            let d = check_config(&schema(), &rules, &config(first, second));
            assert_eq!(summaries(&d), expected);
        }
        let d = check_config(&schema(), &rules, &config(Value::Null, Value::string("")));
        assert_eq!(d.iter().next().unwrap().detail, "second must not be empty.");
    }

    #[test]
    fn closed_lists_and_ranges_name_what_is_allowed() {
        let schema = Schema::new("")
            .attribute(
                Attribute::optional("kind", Type::String).one_of(&["a", "b"], "Omit it for both."),
            )
            .attribute(Attribute::optional("n", Type::Number).between(0, 3, ""))
            .attribute(Attribute::optional("m", Type::Number).at_least(1, "Or omit it."));
        let check = |kind: Value, n: Value, m: Value| {
            let config = Value::object([("kind", kind), ("n", n), ("m", m)]);
            check_config(&schema, &ConfigRules::none(), &config)
                .iter()
                .map(|d| (d.summary.clone(), d.detail.clone()))
                .collect::<Vec<_>>()
        };
        let ok = check(Value::string("b"), Value::number(3), Value::number(1));
        assert!(ok.is_empty(), "{ok:?}");
        assert_eq!(
            check(Value::string("c"), Value::number(4), Value::number(0)),
            [
                (
                    "Invalid kind".to_owned(),
                    r#"kind is "c"; use one of "a", "b". Omit it for both."#.to_owned()
                ),
                (
                    "Invalid n".to_owned(),
                    "n is 4; it must be between 0 and 3.".to_owned()
                ),
                (
                    "Invalid m".to_owned(),
                    "m is 0; it must be at least 1. Or omit it.".to_owned()
                ),
            ]
        );
        let fraction = crate::codec::Number::parse("1.5").unwrap();
        assert_eq!(
            check(Value::Null, Value::Number(fraction.clone()), Value::Unknown),
            [(
                "Invalid n".to_owned(),
                "n is 1.5; it must be a whole number between 0 and 3.".to_owned()
            )]
        );
        let whole =
            Schema::new("").attribute(Attribute::optional("w", Type::Number).validator(InRange {
                min: None,
                max: None,
                fix: "",
            }));
        let config = Value::object([("w", Value::Number(fraction))]);
        let d = check_config(&whole, &ConfigRules::none(), &config);
        assert_eq!(
            d.iter().next().unwrap().detail,
            "w is 1.5; it must be a whole number."
        );
    }

    #[test]
    fn rules_run_on_the_decoded_model_after_the_attribute_validators() {
        let rules = ConfigRules::of(both_set_refused);
        let d = check_config(
            &schema(),
            &rules,
            &config(Value::string(""), Value::string("b")),
        );
        assert_eq!(summaries(&d), ["Empty first", "Both set"]);
        // An unknown is neither present nor null: the rule cannot decide yet.
        let d = check_config(
            &schema(),
            &rules,
            &config(Value::Unknown, Value::string("b")),
        );
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn a_configuration_that_does_not_fit_the_model_is_an_error_not_a_pass() {
        let rules = ConfigRules::of(both_set_refused);
        let d = check_config(
            &schema(),
            &rules,
            &Value::object([("first", Value::bool(true))]),
        );
        assert!(d.has_errors(), "{d:?}");
    }
}
