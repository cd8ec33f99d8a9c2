//! What the single-object data sources share: choosing an object by exactly
//! one of `id` and `name`, the "not found" diagnostic, and schemas derived
//! from a resource's so that a data source's attributes keep the resource's
//! names and types.

use tfplugin::codec::Path;
use tfplugin::framework::model::Field;
use tfplugin::framework::{Attribute, Diagnostic, Diagnostics, Mode, Schema};

/// The names of the two lookup arguments, in every single-object data source.
pub(crate) const ID: &str = "id";
pub(crate) const NAME: &str = "name";

/// How the configuration chose the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Key<'a> {
    Id(&'a str),
    Name(&'a str),
}

impl Key<'_> {
    pub(crate) fn attribute(&self) -> &'static str {
        match self {
            Key::Id(_) => ID,
            Key::Name(_) => NAME,
        }
    }

    pub(crate) fn value(&self) -> &str {
        match self {
            Key::Id(v) | Key::Name(v) => v,
        }
    }

    pub(crate) fn path(&self) -> Path {
        Path::root().attr(self.attribute())
    }

    /// `id "wip_abc"` / `name "ci"`, for messages.
    pub(crate) fn describe(&self) -> String {
        format!("{} {:?}", self.attribute(), self.value())
    }

    /// The error for a search that found nothing. `what` names the object
    /// kind and `within` where it was searched (e.g. "in the organization").
    pub(crate) fn not_found(&self, what: &str, within: &str) -> Diagnostics {
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
/// (An empty one is refused by the attribute's validator.)
pub(crate) fn validate_key(
    id: &Field<String>,
    name: &Field<String>,
    what: &str,
    diags: &mut Diagnostics,
) {
    // Both known and set conflict; an unknown one may still turn out null.
    if id.is_present() && name.is_present() {
        diags.attribute_error(
            Path::root().attr(NAME),
            "Conflicting lookup arguments",
            format!("Set either id or name to choose the {what}, not both."),
        );
    } else if id.is_null() && name.is_null() {
        diags.attribute_error(
            Path::root().attr(ID),
            "Missing lookup argument",
            format!("Set id or name to choose the {what}."),
        );
    }
}

/// The key of a wholly known configuration that passed [`validate_key`].
pub(crate) fn key<'a>(
    id: &'a Field<String>,
    name: &'a Field<String>,
    what: &str,
) -> Result<Key<'a>, Diagnostics> {
    match (id.as_deref(), name.as_deref()) {
        (Some(id), None) => Ok(Key::Id(id)),
        (None, Some(name)) => Ok(Key::Name(name)),
        _ => {
            let mut d = Diagnostics::new();
            validate_key(id, name, what, &mut d);
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
pub(crate) struct Argument {
    pub name: &'static str,
    pub mode: Mode,
    pub description: &'static str,
    /// What to write instead of an empty string, for an argument the user
    /// sets (`""` for a computed one).
    pub if_empty: &'static str,
}

/// A data source schema with exactly the attributes (names, types, order and
/// descriptions) of `resource`: the `arguments` get the given mode and
/// description, every other attribute is computed.
pub(crate) fn from_resource(
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
                    let base = base.description(arg.description);
                    if arg.mode == Mode::Computed {
                        base
                    } else {
                        debug_assert!(!arg.if_empty.is_empty(), "{}: if_empty", arg.name);
                        base.not_empty(arg.if_empty)
                    }
                }
                None => Attribute::computed(a.name, a.ty.clone()).description(&a.description),
            };
            schema.attribute(attribute)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::testing::{Rule, assert_rule, at};

    type Args = (Field<String>, Field<String>);

    fn s(v: &str) -> Field<String> {
        Field::Known(v.to_string())
    }

    fn check((id, name): &Args) -> Diagnostics {
        let mut d = Diagnostics::new();
        validate_key(id, name, "project", &mut d);
        d
    }

    #[test]
    fn exactly_one_key_is_accepted() {
        for c in [
            (s("x"), Field::Null),
            (Field::Null, s("x")),
            (Field::Unknown, Field::Null),
            // Either may still resolve to null.
            (Field::Unknown, Field::Unknown),
            (s("a"), Field::Unknown),
        ] {
            let d = check(&c);
            assert!(d.is_empty(), "{c:?}: {d:?}");
        }
    }

    #[test]
    fn each_rule_fails_with_its_message_on_its_attribute() {
        let rules: [Rule<Args>; 2] = [
            Rule {
                case: "both",
                config: (s("a"), s("b")),
                path: at(NAME),
                summary: "Conflicting lookup arguments",
                detail: "Set either id or name to choose the project, not both.",
            },
            Rule {
                case: "neither",
                config: (Field::Null, Field::Null),
                path: at(ID),
                summary: "Missing lookup argument",
                detail: "Set id or name to choose the project.",
            },
        ];
        for rule in &rules {
            assert_rule(rule, &check(&rule.config));
        }
    }

    #[test]
    fn key_reads_the_chosen_argument() {
        let (id, name) = (Field::Null, s("ci"));
        assert_eq!(key(&id, &name, "x").unwrap(), Key::Name("ci"));
        assert!(key(&Field::Null, &Field::Null, "x").is_err());
        // Both set once known (at read time) is still refused.
        assert!(key(&s("a"), &s("b"), "x").is_err());
    }
}
