//! Markdown for schemas: the `## Schema` section of a page (Required /
//! Optional / Read-Only attribute lists, nested object types, identity).

use std::fmt::Write as _;

use terraform_provider_openai::to_json;
use tfplugin::codec::{Type, Value};
use tfplugin::framework::{Attribute, IdentitySchema, Mode, Schema};

/// The attribute groups of a schema, in registry order. `None` when empty.
pub fn attributes(schema: &Schema, heading: &str) -> Option<String> {
    if schema.attributes.is_empty() {
        return None;
    }
    let mut sorted: Vec<&Attribute> = schema.attributes.iter().collect();
    sorted.sort_by_key(|a| a.name);
    let groups = [
        ("Required", &[Mode::Required][..]),
        ("Optional", &[Mode::Optional, Mode::OptionalComputed][..]),
        ("Read-Only", &[Mode::Computed][..]),
    ];
    let mut out = String::new();
    let mut nested = String::new();
    for (title, modes) in groups {
        let items: Vec<&&Attribute> = sorted.iter().filter(|a| modes.contains(&a.mode)).collect();
        if items.is_empty() {
            continue;
        }
        let _ = write!(out, "{heading} {title}\n\n");
        for a in items {
            out.push_str(&attribute_line(a));
            out.push('\n');
            if let Some(fields) = object_fields(&a.ty) {
                nested.push_str(&nested_section(a.name, fields));
            }
        }
        out.push('\n');
    }
    out.push_str(&nested);
    Some(out.trim_end().to_string())
}

/// `- `name` (Type, flags) Description. Defaults to `x`.`
fn attribute_line(a: &Attribute) -> String {
    let mut flags = vec![type_name(&a.ty)];
    if a.sensitive {
        flags.push("Sensitive".into());
    }
    if a.write_only {
        flags.push("Write-only".into());
    }
    if a.requires_replace {
        flags.push("Forces replacement".into());
    }
    if a.deprecation.is_some() {
        flags.push("Deprecated".into());
    }
    let mut line = format!("- `{}` ({})", a.name, flags.join(", "));
    if object_fields(&a.ty).is_some() {
        let _ = write!(
            line,
            " (see [below for nested schema](#{}))",
            nested_anchor(a.name)
        );
    }
    let description = a.description.trim();
    if !description.is_empty() {
        line.push(' ');
        line.push_str(&one_line(description));
    }
    // Most descriptions already state their default; add it only when not.
    if let Some(default) = &a.default
        && !description.to_ascii_lowercase().contains("default")
    {
        let _ = write!(line, " Defaults to `{}`.", hcl_literal(default));
    }
    if a.write_only {
        line.push_str(" This value is never stored in the plan or state.");
    }
    if let Some(message) = &a.deprecation {
        let _ = write!(line, " **Deprecated:** {}", one_line(message));
    }
    line
}

/// The identity attributes (`import { identity = {...} }`), if any.
pub fn identity(identity: &IdentitySchema, heading: &str) -> Option<String> {
    if identity.attributes.is_empty() {
        return None;
    }
    let mut sorted: Vec<_> = identity.attributes.iter().collect();
    sorted.sort_by_key(|a| a.name);
    let mut out = String::new();
    for (title, required) in [("Required", true), ("Optional", false)] {
        let items: Vec<_> = sorted
            .iter()
            .filter(|a| a.required_for_import == required)
            .collect();
        if items.is_empty() {
            continue;
        }
        let _ = write!(out, "{heading} {title}\n\n");
        for a in items {
            let _ = write!(out, "- `{}` ({})", a.name, type_name(&a.ty));
            if !a.description.trim().is_empty() {
                let _ = write!(out, " {}", one_line(a.description.trim()));
            }
            out.push('\n');
        }
        out.push('\n');
    }
    Some(out.trim_end().to_string())
}

/// Registry-style type names: `String`, `List of String`, `Set of Object`.
pub fn type_name(ty: &Type) -> String {
    match ty {
        Type::String => "String".into(),
        Type::Number => "Number".into(),
        Type::Bool => "Boolean".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(t) => format!("List of {}", type_name(t)),
        Type::Set(t) => format!("Set of {}", type_name(t)),
        Type::Map(t) => format!("Map of {}", type_name(t)),
        Type::Object(_) => "Object".into(),
        Type::Tuple(_) => "Tuple".into(),
    }
}

/// The fields of an object type, directly or as the element of collections.
fn object_fields(ty: &Type) -> Option<&std::collections::BTreeMap<String, Type>> {
    match ty {
        Type::Object(fields) => Some(fields),
        Type::List(t) | Type::Set(t) | Type::Map(t) => object_fields(t),
        _ => None,
    }
}

fn nested_anchor(name: &str) -> String {
    format!("nestedatt--{name}")
}

/// cty object types carry no per-field descriptions: the attribute's own
/// description explains them, this lists names and types.
fn nested_section(name: &str, fields: &std::collections::BTreeMap<String, Type>) -> String {
    let mut out = format!(
        "<a id=\"{}\"></a>\n### Nested Schema for `{name}`\n\nAttributes:\n\n",
        nested_anchor(name)
    );
    for (field, ty) in fields {
        let _ = writeln!(out, "- `{field}` ({})", type_name(ty));
    }
    out.push('\n');
    out
}

/// Descriptions may be wrapped in the source; a list item must be one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A default value as the user would write it.
fn hcl_literal(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => to_json(other).map_or_else(|| "null".into(), |j| j.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_sort_and_flag_attributes() {
        let schema = Schema::new("x")
            .attribute(Attribute::computed("id", Type::String).description("The id."))
            .attribute(
                Attribute::required("zone", Type::String)
                    .requires_replace()
                    .description("Where."),
            )
            .attribute(Attribute::required(
                "alpha",
                Type::Set(Box::new(Type::String)),
            ))
            .attribute(Attribute::optional("key", Type::String).sensitive())
            .attribute(
                Attribute::optional_computed("enabled", Type::Bool)
                    .default(Value::Bool(true))
                    .description("On or off."),
            );
        let md = attributes(&schema, "###").unwrap();
        assert_eq!(
            md,
            "### Required\n\n\
             - `alpha` (Set of String)\n\
             - `zone` (String, Forces replacement) Where.\n\n\
             ### Optional\n\n\
             - `enabled` (Boolean) On or off. Defaults to `true`.\n\
             - `key` (String, Sensitive)\n\n\
             ### Read-Only\n\n\
             - `id` (String) The id."
        );
    }

    #[test]
    fn nested_objects_get_their_own_section() {
        let item = Type::object([("attribute", Type::String), ("expression", Type::String)]);
        let schema = Schema::new("x").attribute(Attribute::optional("rules", Type::list(item)));
        let md = attributes(&schema, "###").unwrap();
        assert!(md.contains(
            "- `rules` (List of Object) (see [below for nested schema](#nestedatt--rules))"
        ));
        assert!(md.contains("### Nested Schema for `rules`\n\nAttributes:\n\n- `attribute` (String)\n- `expression` (String)"));
    }

    #[test]
    fn stated_defaults_are_not_repeated() {
        let schema = Schema::new("x").attribute(
            Attribute::optional_computed("n", Type::Number)
                .default(Value::number(3))
                .description("Defaults to 3."),
        );
        let md = attributes(&schema, "###").unwrap();
        assert!(md.ends_with("- `n` (Number) Defaults to 3."), "{md}");
    }
}
