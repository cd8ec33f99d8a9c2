//! What the single-object data sources share: choosing an object by exactly
//! one of `id` and `name`, the "not found" diagnostic, and schemas derived
//! from a resource's so that a data source's attributes keep the resource's
//! names and types.

use crate::values::str_attr;
use tfplugin::codec::{Path, Value};
use tfplugin::framework::{Attribute, Diagnostic, Diagnostics, Mode, Schema, attr};

/// How the configuration chose the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key<'a> {
    Id(&'a str),
    Name(&'a str),
}

impl Key<'_> {
    pub fn attribute(&self) -> &'static str {
        match self {
            Key::Id(_) => "id",
            Key::Name(_) => "name",
        }
    }

    pub fn value(&self) -> &str {
        match self {
            Key::Id(v) | Key::Name(v) => v,
        }
    }

    pub fn path(&self) -> Path {
        Path::root().attr(self.attribute())
    }

    /// `id "wip_abc"` / `name "ci"`, for messages.
    pub fn describe(&self) -> String {
        format!("{} {:?}", self.attribute(), self.value())
    }

    /// The error for a search that found nothing. `what` names the object
    /// kind and `within` where it was searched (e.g. "in the organization").
    pub fn not_found(&self, what: &str, within: &str) -> Diagnostics {
        Diagnostic::error(
            format!("{} not found", capitalize(what)),
            format!(
                "No {what} with {} exists {within}. Check the {}, or that the Admin API key \
                 belongs to the right organization.",
                self.describe(),
                self.attribute()
            ),
        )
        .at(self.path())
        .into()
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Checks that the configuration sets exactly one of `id` and `name`
/// (`terraform validate`). An unknown value may still turn out null, so it
/// only counts against the "both" rule when the other is known and set.
pub fn validate_key(config: &Value, what: &str, diags: &mut Diagnostics) {
    let id = attr(config, "id");
    let name = attr(config, "name");
    for n in ["id", "name"] {
        if str_attr(config, n) == Some("") {
            diags.attribute_error(
                Path::root().attr(n),
                format!("Empty {n}"),
                format!("{n} must not be empty: give the {what}'s {n}."),
            );
        }
    }
    // Both known and set conflict; an unknown one may still turn out null.
    if id.is_present() && name.is_present() {
        diags.attribute_error(
            Path::root().attr("name"),
            "Conflicting lookup arguments",
            format!("Set either id or name to choose the {what}, not both."),
        );
    } else if id.is_null() && name.is_null() {
        diags.attribute_error(
            Path::root().attr("id"),
            "Missing lookup argument",
            format!("Set id or name to choose the {what}."),
        );
    }
}

/// The key of a wholly known configuration that passed [`validate_key`].
pub fn key<'a>(config: &'a Value, what: &str) -> Result<Key<'a>, Diagnostics> {
    match (str_attr(config, "id"), str_attr(config, "name")) {
        (Some(id), None) => Ok(Key::Id(id)),
        (None, Some(name)) => Ok(Key::Name(name)),
        _ => {
            let mut d = Diagnostics::new();
            validate_key(config, what, &mut d);
            if !d.has_errors() {
                d.error(
                    "Missing lookup argument",
                    format!("Set id or name to choose the {what}."),
                );
            }
            Err(d)
        }
    }
}

/// An argument of a data source schema derived from a resource's.
pub struct Argument {
    pub name: &'static str,
    pub mode: Mode,
    pub description: &'static str,
}

/// A data source schema with exactly the attributes (names, types, order and
/// descriptions) of `resource`: the `arguments` get the given mode and
/// description, every other attribute is computed.
pub fn from_resource(
    resource: &Schema,
    description: impl Into<String>,
    arguments: &[Argument],
) -> Schema {
    resource
        .attributes
        .iter()
        .fold(Schema::new(description), |schema, a| {
            let attribute = match arguments.iter().find(|x| x.name == a.name) {
                Some(arg) => {
                    let base = match arg.mode {
                        Mode::Required => Attribute::required(a.name, a.ty.clone()),
                        Mode::Optional => Attribute::optional(a.name, a.ty.clone()),
                        Mode::OptionalComputed => {
                            Attribute::optional_computed(a.name, a.ty.clone())
                        }
                        Mode::Computed => Attribute::computed(a.name, a.ty.clone()),
                    };
                    base.description(arg.description)
                }
                None => Attribute::computed(a.name, a.ty.clone()).description(&a.description),
            };
            schema.attribute(attribute)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::{object, string};

    fn config(id: Value, name: Value) -> Value {
        object([("id", id), ("name", name)])
    }

    fn paths(d: &Diagnostics) -> Vec<Option<Path>> {
        d.iter().map(|d| d.path.clone()).collect()
    }

    #[test]
    fn exactly_one_key_is_accepted() {
        for c in [
            config(string("x"), Value::Null),
            config(Value::Null, string("x")),
            config(Value::Unknown, Value::Null),
            // Either may still resolve to null.
            config(Value::Unknown, Value::Unknown),
            config(string("a"), Value::Unknown),
        ] {
            let mut d = Diagnostics::new();
            validate_key(&c, "project", &mut d);
            assert!(d.is_empty(), "{c:?}: {d:?}");
        }
    }

    #[test]
    fn both_or_neither_is_an_error_on_an_attribute() {
        let mut d = Diagnostics::new();
        validate_key(&config(string("a"), string("b")), "project", &mut d);
        assert_eq!(paths(&d), vec![Some(Path::root().attr("name"))]);
        let mut d = Diagnostics::new();
        validate_key(&config(Value::Null, Value::Null), "project", &mut d);
        assert_eq!(paths(&d), vec![Some(Path::root().attr("id"))]);
    }

    #[test]
    fn key_reads_the_chosen_argument() {
        let c = config(Value::Null, string("ci"));
        assert_eq!(key(&c, "x").unwrap(), Key::Name("ci"));
        assert!(key(&config(Value::Null, Value::Null), "x").is_err());
        // Both set once known (at read time) is still refused.
        assert!(key(&config(string("a"), string("b")), "x").is_err());
    }
}
