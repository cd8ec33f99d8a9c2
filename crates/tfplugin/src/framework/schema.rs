//! Schemas for the provider, resources, data sources and ephemeral resources,
//! with the attribute behaviours the generic planner honours (defaults,
//! replacement, keeping computed values), and their protocol form.
//!
//! Attributes use plain cty types (lists of objects rather than nested
//! blocks) so the same schema works on every client, Terraform 1.0 included.

use std::sync::Arc;

use super::diagnostics::Diagnostics;
use super::validation::{AttributeValidator, InRange, NotEmpty, OneOf};
use crate::codec::{Path, Type, Value};
use crate::proto::tfplugin6 as pb;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Required,
    Optional,
    Computed,
    OptionalComputed,
}

#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: &'static str,
    pub ty: Type,
    pub description: String,
    pub mode: Mode,
    pub sensitive: bool,
    pub write_only: bool,
    /// Planned when the configuration leaves an optional+computed attribute null.
    pub default: Option<Value>,
    /// A change to this attribute replaces the object.
    pub requires_replace: bool,
    /// A computed value the API never changes after create (ids, timestamps of
    /// creation): plan the prior value instead of "known after apply".
    pub use_state_for_unknown: bool,
    pub deprecation: Option<String>,
    /// Checks of the value on its own, run by the framework at validation
    /// (see [`super::validation`]).
    pub validators: Vec<Arc<dyn AttributeValidator>>,
}

impl Attribute {
    fn new(name: &'static str, ty: Type, mode: Mode) -> Self {
        Attribute {
            name,
            ty,
            description: String::new(),
            mode,
            sensitive: false,
            write_only: false,
            default: None,
            requires_replace: false,
            use_state_for_unknown: false,
            deprecation: None,
            validators: Vec::new(),
        }
    }

    pub fn required(name: &'static str, ty: Type) -> Self {
        Self::new(name, ty, Mode::Required)
    }

    pub fn optional(name: &'static str, ty: Type) -> Self {
        Self::new(name, ty, Mode::Optional)
    }

    pub fn computed(name: &'static str, ty: Type) -> Self {
        Self::new(name, ty, Mode::Computed)
    }

    pub fn optional_computed(name: &'static str, ty: Type) -> Self {
        Self::new(name, ty, Mode::OptionalComputed)
    }

    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }

    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }

    /// Only meaningful for optional+computed attributes.
    pub fn default(mut self, v: Value) -> Self {
        debug_assert_eq!(self.mode, Mode::OptionalComputed, "{}", self.name);
        self.default = Some(v);
        self
    }

    pub fn requires_replace(mut self) -> Self {
        self.requires_replace = true;
        self
    }

    pub fn use_state_for_unknown(mut self) -> Self {
        self.use_state_for_unknown = true;
        self
    }

    /// Adds a check of the value on its own.
    pub fn validator(mut self, v: impl AttributeValidator + 'static) -> Self {
        self.validators.push(Arc::new(v));
        self
    }

    /// Refuses an empty string ([`NotEmpty`]); `fix` says what to write
    /// instead (may be empty).
    pub fn not_empty(self, fix: &'static str) -> Self {
        self.validator(NotEmpty { fix, blank: false })
    }

    /// Refuses an empty string or one of white space only, for values that
    /// are trimmed before use ([`NotEmpty`]).
    pub fn not_blank(self, fix: &'static str) -> Self {
        self.validator(NotEmpty { fix, blank: true })
    }

    /// Refuses a string not in `allowed` ([`OneOf`]).
    pub fn one_of(self, allowed: &'static [&'static str], fix: &'static str) -> Self {
        self.validator(OneOf { allowed, fix })
    }

    /// Refuses a number that is not a whole number from `min` to `max`
    /// ([`InRange`]).
    pub fn between(self, min: i64, max: i64, fix: &'static str) -> Self {
        self.validator(InRange {
            min: Some(min),
            max: Some(max),
            fix,
        })
    }

    /// Refuses a number that is not a whole number of at least `min`
    /// ([`InRange`]).
    pub fn at_least(self, min: i64, fix: &'static str) -> Self {
        self.validator(InRange {
            min: Some(min),
            max: None,
            fix,
        })
    }

    pub fn is_computed(&self) -> bool {
        matches!(self.mode, Mode::Computed | Mode::OptionalComputed)
    }

    fn to_proto(&self) -> pb::schema::Attribute {
        pb::schema::Attribute {
            name: self.name.to_string(),
            r#type: self.ty.to_json(),
            description: self.description.clone(),
            required: self.mode == Mode::Required,
            optional: matches!(self.mode, Mode::Optional | Mode::OptionalComputed),
            computed: self.is_computed(),
            sensitive: self.sensitive,
            description_kind: pb::StringKind::Markdown as i32,
            deprecated: self.deprecation.is_some(),
            write_only: self.write_only,
            deprecation_message: self.deprecation.clone().unwrap_or_default(),
            ..Default::default()
        }
    }
}

/// The schema of one object type (or of the provider block).
#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub version: i64,
    pub description: String,
    pub attributes: Vec<Attribute>,
}

impl Schema {
    pub fn new(description: impl Into<String>) -> Self {
        Schema {
            version: 0,
            description: description.into(),
            attributes: Vec::new(),
        }
    }

    pub fn version(mut self, v: i64) -> Self {
        self.version = v;
        self
    }

    pub fn attribute(mut self, a: Attribute) -> Self {
        self.attributes.push(a);
        self
    }

    /// Runs every attribute's validators on its value in `config`, when
    /// that value is known and not null.
    pub fn validate_attributes(&self, config: &Value, diags: &mut Diagnostics) {
        for a in self.attributes.iter().filter(|a| !a.validators.is_empty()) {
            let Some(value) = config.get_attr(a.name) else {
                continue;
            };
            if value.is_null() || !value.is_known() {
                continue;
            }
            let path = Path::root().attr(a.name);
            for v in &a.validators {
                v.validate(a.name, value, &path, diags);
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// An object of this schema with every attribute null except `known`:
    /// the minimal state an import hands to `read`.
    pub fn stub(&self, known: &[(&str, Value)]) -> Value {
        let mut m: std::collections::BTreeMap<String, Value> = self
            .attributes
            .iter()
            .map(|a| (a.name.to_string(), Value::Null))
            .collect();
        for (k, v) in known {
            m.insert(k.to_string(), v.clone());
        }
        Value::Object(m)
    }

    /// The object type that `DynamicValue`s of this schema encode
    /// (`docs/reference/plugin-protocol.md#schema-object-type`).
    pub fn object_type(&self) -> Type {
        Type::Object(
            self.attributes
                .iter()
                .map(|a| (a.name.to_string(), a.ty.clone()))
                .collect(),
        )
    }

    pub fn to_proto(&self) -> pb::Schema {
        pb::Schema {
            version: self.version,
            block: Some(pb::schema::Block {
                version: self.version,
                attributes: self.attributes.iter().map(Attribute::to_proto).collect(),
                block_types: Vec::new(),
                description: self.description.clone(),
                description_kind: pb::StringKind::Markdown as i32,
                deprecated: false,
                ..Default::default()
            }),
        }
    }
}

/// One attribute of a resource identity (protocol 6.9).
#[derive(Clone, Debug)]
pub struct IdentityAttribute {
    pub name: &'static str,
    pub ty: Type,
    pub description: String,
    pub required_for_import: bool,
}

/// A resource identity schema: the attributes that name one remote object.
#[derive(Clone, Debug, Default)]
pub struct IdentitySchema {
    pub version: i64,
    pub attributes: Vec<IdentityAttribute>,
}

impl IdentitySchema {
    pub fn required(mut self, name: &'static str, description: &str) -> Self {
        self.attributes.push(IdentityAttribute {
            name,
            ty: Type::String,
            description: description.to_string(),
            required_for_import: true,
        });
        self
    }

    pub fn object_type(&self) -> Type {
        Type::Object(
            self.attributes
                .iter()
                .map(|a| (a.name.to_string(), a.ty.clone()))
                .collect(),
        )
    }

    pub fn to_proto(&self) -> pb::ResourceIdentitySchema {
        pb::ResourceIdentitySchema {
            version: self.version,
            identity_attributes: self
                .attributes
                .iter()
                .map(|a| pb::resource_identity_schema::IdentityAttribute {
                    name: a.name.to_string(),
                    r#type: a.ty.to_json(),
                    required_for_import: a.required_for_import,
                    optional_for_import: !a.required_for_import,
                    description: a.description.clone(),
                })
                .collect(),
        }
    }
}
