//! cty values, untyped: the schema's type gives them meaning when encoding.

use std::collections::BTreeMap;

use super::{Number, Type};

/// A cty value as carried in a `DynamicValue`.
#[derive(Clone, Debug, PartialEq)]
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
