//! cty values, untyped: the schema's type gives them meaning when encoding.

use std::collections::BTreeMap;

use super::{Number, Type};

/// A cty value as carried in a `DynamicValue`.
///
/// Decoders always produce objects with every attribute of the type present
/// (absent ones as `Null`); encoders treat a missing attribute as `Null`.
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    /// Not known until apply. Refinements sent by Terraform are accepted and dropped.
    Unknown,
    String(String),
    Number(Number),
    Bool(bool),
    List(Vec<Value>),
    /// Set elements, in the order received; equality ignores order.
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
    Tuple(Vec<Value>),
    /// The content of a `dynamic` slot: the concrete type travels with the value.
    Dynamic(Type, Box<Value>),
}

/// Structural equality, except that sets compare as sets: same elements in
/// any order, duplicates not counted (cty sets cannot hold duplicates).
impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) | (Unknown, Unknown) => true,
            (String(a), String(b)) => a == b,
            (Number(a), Number(b)) => a == b,
            (Bool(a), Bool(b)) => a == b,
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => a == b,
            (Set(a), Set(b)) => a.iter().all(|x| b.contains(x)) && b.iter().all(|y| a.contains(y)),
            (Map(a), Map(b)) | (Object(a), Object(b)) => a == b,
            (Dynamic(ta, va), Dynamic(tb, vb)) => ta == tb && va == vb,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl Value {
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    pub fn number(n: impl Into<Number>) -> Value {
        Value::Number(n.into())
    }

    pub fn bool(b: bool) -> Value {
        Value::Bool(b)
    }

    pub fn list(items: impl IntoIterator<Item = Value>) -> Value {
        Value::List(items.into_iter().collect())
    }

    pub fn set(items: impl IntoIterator<Item = Value>) -> Value {
        Value::Set(items.into_iter().collect())
    }

    pub fn tuple(items: impl IntoIterator<Item = Value>) -> Value {
        Value::Tuple(items.into_iter().collect())
    }

    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// An object from `(name, value)` pairs: `Value::object([("id", Value::string("x"))])`.
    pub fn object<K: Into<String>>(attributes: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(attributes.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Starts an object attribute by attribute:
    /// `Value::object_builder().attr("id", "x").attr("n", 3).build()`.
    pub fn object_builder() -> ObjectBuilder {
        ObjectBuilder::default()
    }

    /// A value for a `dynamic` slot, carrying its concrete type.
    pub fn dynamic(ty: Type, value: Value) -> Value {
        Value::Dynamic(ty, Box::new(value))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Not `Unknown` at the top level (parts may still be unknown).
    pub fn is_known(&self) -> bool {
        !matches!(self, Value::Unknown)
    }

    /// No `Unknown` anywhere inside.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::Null | Value::String(_) | Value::Number(_) | Value::Bool(_) => true,
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
                items.iter().all(Value::is_wholly_known)
            }
            Value::Map(entries) | Value::Object(entries) => {
                entries.values().all(Value::is_wholly_known)
            }
            Value::Dynamic(_, inner) => inner.is_wholly_known(),
        }
    }

    /// Known and not null.
    pub fn is_present(&self) -> bool {
        !matches!(self, Value::Null | Value::Unknown)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// A number that is an integer within `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    /// Elements of a list, set or tuple.
    pub fn as_elements(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// Entries of a map.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// Attributes of an object.
    pub fn as_object(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Object(attrs) => Some(attrs),
            _ => None,
        }
    }

    /// An object's attribute (`None` if this is not an object or lacks it).
    pub fn get_attr(&self, name: &str) -> Option<&Value> {
        self.as_object().and_then(|attrs| attrs.get(name))
    }

    /// Mutable access to an object's attribute.
    pub fn get_attr_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self {
            Value::Object(attrs) => attrs.get_mut(name),
            _ => None,
        }
    }

    /// Sets an attribute on an object, returning the previous value.
    /// Does nothing (and returns `None`) on a non-object.
    pub fn set_attr(&mut self, name: impl Into<String>, value: Value) -> Option<Value> {
        match self {
            Value::Object(attrs) => attrs.insert(name.into(), value),
            _ => None,
        }
    }

    /// The value inside any `Dynamic` wrappers.
    pub fn unwrap_dynamic(&self) -> &Value {
        match self {
            Value::Dynamic(_, inner) => inner.unwrap_dynamic(),
            other => other,
        }
    }

    /// Names the kind of value, for error messages ("a list value").
    pub fn describe(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Unknown => "an unknown value",
            Value::String(_) => "a string value",
            Value::Number(_) => "a number value",
            Value::Bool(_) => "a bool value",
            Value::List(_) => "a list value",
            Value::Set(_) => "a set value",
            Value::Map(_) => "a map value",
            Value::Object(_) => "an object value",
            Value::Tuple(_) => "a tuple value",
            Value::Dynamic(..) => "a dynamically-typed value",
        }
    }
}

/// Builds an object value attribute by attribute (see [`Value::object_builder`]).
#[derive(Clone, Debug, Default)]
pub struct ObjectBuilder(BTreeMap<String, Value>);

impl ObjectBuilder {
    pub fn attr(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.0.insert(name.into(), value.into());
        self
    }

    pub fn build(self) -> Value {
        Value::Object(self.0)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Value {
        Value::Number(n)
    }
}

macro_rules! value_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::Number(Number::from(v))
            }
        }
    )*};
}
value_from_int!(i32, i64, u32, u64, usize);

/// `None` becomes `Null`.
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_compare_without_order() {
        let a = Value::set([Value::from("x"), Value::from("y")]);
        let b = Value::set([Value::from("y"), Value::from("x")]);
        assert_eq!(a, b);
        assert_ne!(a, Value::set([Value::from("x")]));
        assert_ne!(a, Value::list([Value::from("x"), Value::from("y")]));
        // Lists keep their order.
        assert_ne!(
            Value::list([Value::from("x"), Value::from("y")]),
            Value::list([Value::from("y"), Value::from("x")])
        );
        // Nested sets inside objects too.
        let obj = |s: Value| Value::object([("s", s)]);
        assert_eq!(obj(a.clone()), obj(b));
    }

    #[test]
    fn null_empty_and_unknown_are_distinct() {
        assert_ne!(Value::Null, Value::list([]));
        assert_ne!(Value::Null, Value::string(""));
        assert_ne!(Value::map::<String>([]), Value::object::<String>([]));
        assert_ne!(Value::Null, Value::Unknown);
        assert!(Value::Null.is_known() && !Value::Unknown.is_known());
        assert!(!Value::Null.is_present() && Value::string("").is_present());
    }

    #[test]
    fn wholly_known_looks_everywhere() {
        assert!(Value::list([Value::from(1), Value::Null]).is_wholly_known());
        for v in [
            Value::list([Value::Unknown]),
            Value::set([Value::from("a"), Value::Unknown]),
            Value::map([("k", Value::Unknown)]),
            Value::object([("a", Value::object([("b", Value::Unknown)]))]),
            Value::tuple([Value::from(true), Value::Unknown]),
            Value::dynamic(Type::String, Value::Unknown),
        ] {
            assert!(v.is_known(), "{v:?}");
            assert!(!v.is_wholly_known(), "{v:?}");
        }
    }

    #[test]
    fn accessors_and_builders() {
        let v = Value::object_builder()
            .attr("name", "n")
            .attr("count", 3)
            .attr("on", true)
            .attr("missing", None::<String>)
            .build();
        assert_eq!(v.get_attr("name").and_then(Value::as_str), Some("n"));
        assert_eq!(v.get_attr("count").and_then(Value::as_i64), Some(3));
        assert_eq!(v.get_attr("on").and_then(Value::as_bool), Some(true));
        assert_eq!(v.get_attr("missing"), Some(&Value::Null));
        assert_eq!(v.get_attr("nope"), None);
        assert_eq!(Value::from("x").get_attr("name"), None);

        let mut v = v;
        assert_eq!(v.set_attr("name", Value::from("m")), Some(Value::from("n")));
        assert_eq!(v.get_attr("name"), Some(&Value::from("m")));

        let d = Value::dynamic(Type::String, Value::from("s"));
        assert_eq!(d.unwrap_dynamic().as_str(), Some("s"));
    }
}
