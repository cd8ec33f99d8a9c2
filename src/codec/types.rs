//! cty types (`Schema.Attribute.type` bytes and the types inside `dynamic` values).

use std::collections::BTreeMap;

/// A cty type. Objects keep their attributes sorted by name, as cty does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    String,
    Number,
    Bool,
    /// `"dynamic"`: any type; values in such a slot carry their own type on the wire.
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
}
