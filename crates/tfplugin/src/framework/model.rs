//! Typed models of objects: a struct per resource, data source or ephemeral
//! resource, converted to and from the object [`Value`]s Terraform sends, so
//! that bodies read fields instead of looking attributes up by string.
//!
//! A model is declared with [`model!`](crate::model), which also generates the
//! attribute names (as associated constants named like the fields) and the
//! list of attributes, so every name exists once. [`mismatches`] compares a
//! model with a schema; a unit test per object asserts it finds nothing, so a
//! field without an attribute (or the reverse, or a type that cannot hold the
//! attribute's values) fails a test.
//!
//! Unknown and null values are explicit: a field that may be either is a
//! [`Field<T>`]. A plain `T` refuses them, which suits values Terraform always
//! knows (e.g. elements of the API's answers).

use std::fmt;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::schema::Schema;
use crate::codec::{Number, Path, Type, Value};

/// A value that may be null, or (in configurations and plans) not yet known.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Field<T> {
    #[default]
    Null,
    /// Known only after apply.
    Unknown,
    Known(T),
}

impl<T> Field<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Field::Known(v) => Some(v),
            _ => None,
        }
    }

    pub fn into_known(self) -> Option<T> {
        match self {
            Field::Known(v) => Some(v),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Field::Null)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Field::Unknown)
    }

    /// Known (and so not null).
    pub fn is_present(&self) -> bool {
        matches!(self, Field::Known(_))
    }

    pub fn as_ref(&self) -> Field<&T> {
        match self {
            Field::Null => Field::Null,
            Field::Unknown => Field::Unknown,
            Field::Known(v) => Field::Known(v),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Field<U> {
        match self {
            Field::Null => Field::Null,
            Field::Unknown => Field::Unknown,
            Field::Known(v) => Field::Known(f(v)),
        }
    }
}

impl Field<String> {
    pub fn as_deref(&self) -> Option<&str> {
        self.known().map(String::as_str)
    }

    /// The text, or `""` when null or unknown: for attributes a schema
    /// requires, in values Terraform has made wholly known.
    pub fn or_empty(&self) -> &str {
        self.as_deref().unwrap_or_default()
    }
}

/// `None` is null.
impl<T> From<Option<T>> for Field<T> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Field::Null, Field::Known)
    }
}

/// The elements of a set, in the order received. Equality ignores order and
/// repetition, as for set [`Value`]s.
#[derive(Clone, Debug)]
pub struct Set<T>(pub Vec<T>);

impl<T: PartialEq> PartialEq for Set<T> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().all(|x| other.contains(x)) && other.iter().all(|y| self.contains(y))
    }
}

impl<T> Default for Set<T> {
    fn default() -> Self {
        Set(Vec::new())
    }
}

impl<T> std::ops::Deref for Set<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

/// A value that did not have the shape its model field expects. After the
/// framework decoded a value with the schema's type this means the model and
/// the schema disagree, which the per-object schema tests rule out.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelError {
    pub path: Path,
    pub expected: &'static str,
    pub found: &'static str,
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.path.steps().is_empty() {
            "the object".to_string()
        } else {
            self.path.to_string()
        };
        write!(f, "{at}: expected {}, found {}", self.expected, self.found)
    }
}

impl std::error::Error for ModelError {}

impl From<ModelError> for Diagnostic {
    fn from(e: ModelError) -> Self {
        let d = Diagnostic::error(
            "Unexpected value",
            format!("{e}. This is a bug in the provider; please report it."),
        );
        if e.path.steps().is_empty() {
            d
        } else {
            d.at(e.path)
        }
    }
}

impl From<ModelError> for Diagnostics {
    fn from(e: ModelError) -> Self {
        Diagnostic::from(e).into()
    }
}

/// A Rust type a model field can have: which cty types it holds and how its
/// values convert.
pub trait FieldType: Sized {
    /// Whether every value of the cty type `ty` converts to this type (and back).
    fn accepts(ty: &Type) -> bool;
    /// Converts `v`, found at `at` (for errors).
    fn decode(v: &Value, at: &Path) -> Result<Self, ModelError>;
    fn encode(&self) -> Value;
}

fn mismatch(at: &Path, expected: &'static str, v: &Value) -> ModelError {
    ModelError {
        path: at.clone(),
        expected,
        found: v.describe(),
    }
}

impl<T: FieldType> FieldType for Field<T> {
    fn accepts(ty: &Type) -> bool {
        T::accepts(ty)
    }

    fn decode(v: &Value, at: &Path) -> Result<Self, ModelError> {
        Ok(match v {
            Value::Null => Field::Null,
            Value::Unknown => Field::Unknown,
            v => Field::Known(T::decode(v, at)?),
        })
    }

    fn encode(&self) -> Value {
        match self {
            Field::Null => Value::Null,
            Field::Unknown => Value::Unknown,
            Field::Known(v) => v.encode(),
        }
    }
}

impl FieldType for String {
    fn accepts(ty: &Type) -> bool {
        *ty == Type::String
    }

    fn decode(v: &Value, at: &Path) -> Result<Self, ModelError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            v => Err(mismatch(at, "a string", v)),
        }
    }

    fn encode(&self) -> Value {
        Value::String(self.clone())
    }
}

impl FieldType for bool {
    fn accepts(ty: &Type) -> bool {
        *ty == Type::Bool
    }

    fn decode(v: &Value, at: &Path) -> Result<Self, ModelError> {
        match v {
            Value::Bool(b) => Ok(*b),
            v => Err(mismatch(at, "a bool", v)),
        }
    }

    fn encode(&self) -> Value {
        Value::Bool(*self)
    }
}

/// Whole numbers (ids, counts, Unix times).
impl FieldType for i64 {
    fn accepts(ty: &Type) -> bool {
        *ty == Type::Number
    }

    fn decode(v: &Value, at: &Path) -> Result<Self, ModelError> {
        match v {
            Value::Number(n) => n.as_i64().ok_or_else(|| mismatch(at, "an integer", v)),
            v => Err(mismatch(at, "an integer", v)),
        }
    }

    fn encode(&self) -> Value {
        Value::Number(Number::from_i64(*self))
    }
}

/// Any number, as written (for attributes whose range is checked with a
/// diagnostic of their own rather than refused by decoding).
impl FieldType for Number {
    fn accepts(ty: &Type) -> bool {
        *ty == Type::Number
    }

    fn decode(v: &Value, at: &Path) -> Result<Self, ModelError> {
        match v {
            Value::Number(n) => Ok(n.clone()),
            v => Err(mismatch(at, "a number", v)),
        }
    }

    fn encode(&self) -> Value {
        Value::Number(self.clone())
    }
}

/// The raw value of a `dynamic` attribute, whose type travels with it.
impl FieldType for Value {
    fn accepts(ty: &Type) -> bool {
        *ty == Type::Dynamic
    }

    fn decode(v: &Value, _at: &Path) -> Result<Self, ModelError> {
        Ok(v.clone())
    }

    fn encode(&self) -> Value {
        self.clone()
    }
}

fn decode_elements<T: FieldType>(xs: &[Value], at: &Path) -> Result<Vec<T>, ModelError> {
    xs.iter()
        .enumerate()
        .map(|(i, x)| T::decode(x, &at.clone().index(i as i64)))
        .collect()
}

impl<T: FieldType> FieldType for Vec<T> {
    fn accepts(ty: &Type) -> bool {
        matches!(ty, Type::List(e) if T::accepts(e))
    }

    fn decode(v: &Value, at: &Path) -> Result<Self, ModelError> {
        match v {
            Value::List(xs) => decode_elements(xs, at),
            v => Err(mismatch(at, "a list", v)),
        }
    }

    fn encode(&self) -> Value {
        Value::List(self.iter().map(FieldType::encode).collect())
    }
}

/// A map attribute (`Type::Map`), keys sorted.
impl<T: FieldType> FieldType for std::collections::BTreeMap<String, T> {
    fn accepts(ty: &Type) -> bool {
        matches!(ty, Type::Map(e) if T::accepts(e))
    }

    fn decode(v: &Value, at: &Path) -> Result<Self, ModelError> {
        match v {
            Value::Map(m) => m
                .iter()
                .map(|(k, x)| Ok((k.clone(), T::decode(x, &at.clone().key(k))?)))
                .collect(),
            v => Err(mismatch(at, "a map", v)),
        }
    }

    fn encode(&self) -> Value {
        Value::Map(self.iter().map(|(k, x)| (k.clone(), x.encode())).collect())
    }
}

impl<T: FieldType> FieldType for Set<T> {
    fn accepts(ty: &Type) -> bool {
        matches!(ty, Type::Set(e) if T::accepts(e))
    }

    fn decode(v: &Value, at: &Path) -> Result<Self, ModelError> {
        match v {
            // Paths into sets have no index; point at the set itself.
            Value::Set(xs) => xs
                .iter()
                .map(|x| T::decode(x, at))
                .collect::<Result<_, _>>()
                .map(Set),
            v => Err(mismatch(at, "a set", v)),
        }
    }

    fn encode(&self) -> Value {
        Value::Set(self.iter().map(FieldType::encode).collect())
    }
}

/// The attribute of `v` named `name` (null when absent), decoded as a field.
pub fn decode_attr<T: FieldType>(v: &Value, name: &str, at: &Path) -> Result<T, ModelError> {
    let attrs = match v {
        Value::Object(m) => m,
        v => return Err(mismatch(at, "an object", v)),
    };
    T::decode(
        attrs.get(name).unwrap_or(&Value::Null),
        &at.clone().attr(name),
    )
}

/// One field of a model: its attribute name, Rust type and which cty types it holds.
pub struct FieldInfo {
    pub name: &'static str,
    pub rust_type: &'static str,
    pub accepts: fn(&Type) -> bool,
}

/// An object model, declared with [`model!`](crate::model).
pub trait Model: FieldType {
    /// The fields, in declaration order.
    fn fields() -> Vec<FieldInfo>;

    /// The attribute names, in declaration order.
    fn attribute_names() -> Vec<&'static str> {
        Self::fields().into_iter().map(|f| f.name).collect()
    }

    /// Converts a whole object value (a configuration, plan or state).
    fn from_value(v: &Value) -> Result<Self, ModelError> {
        Self::decode(v, &Path::root())
    }

    /// Like [`Model::from_value`], except that a null object (the prior
    /// value of a create, the plan of a destroy) reads as all attributes null.
    fn from_nullable(v: &Value) -> Result<Self, ModelError>
    where
        Self: Default,
    {
        if v.is_null() {
            Ok(Self::default())
        } else {
            Self::from_value(v)
        }
    }

    /// The object value, with every attribute.
    fn to_value(&self) -> Value {
        self.encode()
    }
}

/// How model `M` and the object type `ty` (e.g. [`Schema::object_type`])
/// disagree: attributes without a field, fields without an attribute, and
/// fields whose type cannot hold the attribute's values. Empty when they agree.
pub fn mismatches<M: Model>(ty: &Type) -> Vec<String> {
    let Type::Object(attrs) = ty else {
        return vec![format!("{ty:?} is not an object type")];
    };
    let fields = M::fields();
    let mut found = Vec::new();
    for (name, t) in attrs {
        match fields.iter().find(|f| f.name == name) {
            None => found.push(format!("attribute {name} has no model field")),
            Some(f) if !(f.accepts)(t) => found.push(format!(
                "field {name} of type {} cannot hold the attribute's type {t:?}",
                f.rust_type
            )),
            Some(_) => {}
        }
    }
    for f in &fields {
        if !attrs.contains_key(f.name) {
            found.push(format!("field {} has no schema attribute", f.name));
        }
    }
    found
}

/// [`mismatches`] against a schema.
pub fn schema_mismatches<M: Model>(schema: &Schema) -> Vec<String> {
    mismatches::<M>(&schema.object_type())
}

/// Declares a model struct: the struct itself (fields named like the
/// attributes), an associated `&str` constant per attribute name (named like
/// the field, so `Thing::name == "name"`), and its [`Model`] and
/// [`FieldType`] impls, so a model can also be an element of another.
///
/// ```
/// use tfplugin::framework::model::{Field, Model};
/// tfplugin::model! {
///     /// A thing.
///     pub struct Thing {
///         pub id: Field<String>,
///         pub size: Field<i64>,
///     }
/// }
/// assert_eq!(Thing::size, "size");
/// let v = Thing { id: Field::Known("t1".into()), size: Field::Unknown }.to_value();
/// assert_eq!(Thing::from_value(&v).unwrap().size, Field::Unknown);
/// ```
#[macro_export]
macro_rules! model {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq)]
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $ty, )*
        }

        /// The attribute names.
        #[allow(non_upper_case_globals, dead_code)]
        impl $name {
            $( pub const $field: &'static str = stringify!($field); )*
        }

        impl $crate::framework::model::FieldType for $name {
            fn accepts(ty: &$crate::codec::Type) -> bool {
                $crate::framework::model::mismatches::<Self>(ty).is_empty()
            }

            fn decode(
                v: &$crate::codec::Value,
                at: &$crate::codec::Path,
            ) -> ::std::result::Result<Self, $crate::framework::model::ModelError> {
                ::std::result::Result::Ok($name {
                    $( $field: $crate::framework::model::decode_attr(v, stringify!($field), at)?, )*
                })
            }

            fn encode(&self) -> $crate::codec::Value {
                $crate::codec::Value::Object(::std::collections::BTreeMap::from([
                    $( (
                        stringify!($field).to_string(),
                        $crate::framework::model::FieldType::encode(&self.$field),
                    ), )*
                ]))
            }
        }

        impl $crate::framework::model::Model for $name {
            fn fields() -> ::std::vec::Vec<$crate::framework::model::FieldInfo> {
                ::std::vec![
                    $( $crate::framework::model::FieldInfo {
                        name: stringify!($field),
                        rust_type: ::std::any::type_name::<$ty>(),
                        accepts: <$ty as $crate::framework::model::FieldType>::accepts,
                    }, )*
                ]
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::Attribute;

    crate::model! {
        struct Item {
            key: Field<String>,
        }
    }

    crate::model! {
        struct Thing {
            id: Field<String>,
            count: Field<i64>,
            on: Field<bool>,
            tags: Field<Set<Field<String>>>,
            items: Field<Vec<Field<Item>>>,
            any: Field<Value>,
        }
    }

    fn schema() -> Schema {
        let item = Type::object([("key", Type::String)]);
        Schema::new("t")
            .attribute(Attribute::computed(Thing::id, Type::String))
            .attribute(Attribute::optional(Thing::count, Type::Number))
            .attribute(Attribute::optional(Thing::on, Type::Bool))
            .attribute(Attribute::optional(Thing::tags, Type::set(Type::String)))
            .attribute(Attribute::optional(Thing::items, Type::list(item)))
            .attribute(Attribute::optional(Thing::any, Type::Dynamic))
    }

    #[test]
    fn names_are_the_field_names() {
        assert_eq!(Thing::count, "count");
        assert_eq!(
            Thing::attribute_names(),
            ["id", "count", "on", "tags", "items", "any"]
        );
    }

    #[test]
    fn a_matching_schema_has_no_mismatches() {
        assert_eq!(schema_mismatches::<Thing>(&schema()), Vec::<String>::new());
    }

    #[test]
    fn missing_extra_and_mistyped_attributes_are_reported() {
        let s = Schema::new("t")
            .attribute(Attribute::computed("id", Type::Number))
            .attribute(Attribute::optional("count", Type::Number))
            .attribute(Attribute::optional("on", Type::Bool))
            .attribute(Attribute::optional("tags", Type::list(Type::String)))
            .attribute(Attribute::optional(
                "items",
                Type::list(Type::object([("kee", Type::String)])),
            ))
            .attribute(Attribute::optional("extra", Type::String));
        let found = schema_mismatches::<Thing>(&s);
        assert_eq!(found.len(), 5, "{found:#?}");
        for (needle, why) in [
            ("field id", "wrong scalar type"),
            ("field tags", "list where a set is modelled"),
            ("field items", "nested attribute misnamed"),
            ("attribute extra has no model field", "extra attribute"),
            ("field any has no schema attribute", "missing attribute"),
        ] {
            assert!(
                found.iter().any(|f| f.contains(needle)),
                "{why}: {found:#?}"
            );
        }
    }

    #[test]
    fn values_round_trip_with_nulls_and_unknowns_at_any_depth() {
        let v = Value::object([
            ("id", Value::Unknown),
            ("count", Value::Number(Number::from_i64(3))),
            ("on", Value::Null),
            ("tags", Value::set([Value::string("a"), Value::Unknown])),
            (
                "items",
                Value::list([
                    Value::Unknown,
                    Value::object([("key", Value::string("k"))]),
                    Value::object([("key", Value::Unknown)]),
                ]),
            ),
            ("any", Value::dynamic(Type::String, Value::string("x"))),
        ]);
        let t = Thing::from_value(&v).unwrap();
        assert_eq!(t.id, Field::Unknown);
        assert_eq!(t.count, Field::Known(3));
        assert!(t.on.is_null());
        assert_eq!(
            t.tags,
            Field::Known(Set(vec![Field::Known("a".into()), Field::Unknown]))
        );
        assert_eq!(t.to_value(), v);
    }

    #[test]
    fn sets_compare_as_sets() {
        let s = |xs: &[&str]| Set(xs.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(s(&["a", "b"]), s(&["b", "a"]));
        assert_ne!(s(&["a", "b"]), s(&["a"]));
    }

    #[test]
    fn a_value_of_the_wrong_shape_names_where_it_is() {
        let v = Value::object([(
            "items",
            Value::list([Value::object([("key", Value::Bool(true))])]),
        )]);
        let e = Thing::from_value(&v).unwrap_err();
        assert_eq!(e.path, Path::root().attr("items").index(0).attr("key"));
        assert_eq!(
            e.to_string(),
            "items[0].key: expected a string, found a bool value"
        );
        let d = Diagnostic::from(e);
        assert_eq!(
            d.path,
            Some(Path::root().attr("items").index(0).attr("key"))
        );
        assert!(Thing::from_value(&Value::Null).is_err());
        assert_eq!(
            Thing::from_nullable(&Value::Null).unwrap(),
            Thing::default()
        );
    }
}
