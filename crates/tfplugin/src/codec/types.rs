//! cty types (`Schema.Attribute.type` bytes and the types inside `dynamic`
//! values) and their JSON form (`docs/reference/plugin-protocol.md#type-json`).

use std::collections::BTreeMap;
use std::fmt;

use super::error::{CodecError, ErrorKind};
use super::json_syntax::{self, Json};

/// A cty type. Objects keep their attributes sorted by name, as cty does.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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

impl Type {
    pub fn list(element: Type) -> Type {
        Type::List(Box::new(element))
    }

    pub fn set(element: Type) -> Type {
        Type::Set(Box::new(element))
    }

    pub fn map(element: Type) -> Type {
        Type::Map(Box::new(element))
    }

    pub fn object<K: Into<String>>(attributes: impl IntoIterator<Item = (K, Type)>) -> Type {
        Type::Object(
            attributes
                .into_iter()
                .map(|(name, ty)| (name.into(), ty))
                .collect(),
        )
    }

    pub fn tuple(elements: impl IntoIterator<Item = Type>) -> Type {
        Type::Tuple(elements.into_iter().collect())
    }

    /// The element type of a list, set or map.
    pub fn element_type(&self) -> Option<&Type> {
        match self {
            Type::List(t) | Type::Set(t) | Type::Map(t) => Some(t),
            _ => None,
        }
    }

    /// The attribute types of an object.
    pub fn attribute_types(&self) -> Option<&BTreeMap<String, Type>> {
        match self {
            Type::Object(attrs) => Some(attrs),
            _ => None,
        }
    }

    /// Whether `dynamic` appears anywhere in this type (schema nesting rules
    /// turn list/map blocks into tuple/object types when it does,
    /// `docs/reference/plugin-protocol.md#schema-object-type`).
    pub fn contains_dynamic(&self) -> bool {
        match self {
            Type::Dynamic => true,
            Type::String | Type::Number | Type::Bool => false,
            Type::List(t) | Type::Set(t) | Type::Map(t) => t.contains_dynamic(),
            Type::Object(attrs) => attrs.values().any(Type::contains_dynamic),
            Type::Tuple(elems) => elems.iter().any(Type::contains_dynamic),
        }
    }

    /// The type JSON bytes, e.g. `"string"` or `["object",{"id":"string"}]`.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_json(&mut out);
        out
    }

    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Type::String => out.extend_from_slice(br#""string""#),
            Type::Number => out.extend_from_slice(br#""number""#),
            Type::Bool => out.extend_from_slice(br#""bool""#),
            Type::Dynamic => out.extend_from_slice(br#""dynamic""#),
            Type::List(t) => Self::write_collection(out, "list", t),
            Type::Set(t) => Self::write_collection(out, "set", t),
            Type::Map(t) => Self::write_collection(out, "map", t),
            Type::Object(attrs) => {
                out.extend_from_slice(br#"["object",{"#);
                for (i, (name, ty)) in attrs.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json_syntax::write_string(out, name);
                    out.push(b':');
                    ty.write_json(out);
                }
                out.extend_from_slice(b"}]");
            }
            Type::Tuple(elems) => {
                out.extend_from_slice(br#"["tuple",["#);
                for (i, ty) in elems.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    ty.write_json(out);
                }
                out.extend_from_slice(b"]]");
            }
        }
    }

    fn write_collection(out: &mut Vec<u8>, kind: &str, element: &Type) {
        out.extend_from_slice(b"[\"");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\",");
        element.write_json(out);
        out.push(b']');
    }

    /// Parses type JSON. Accepts (and ignores) the optional-attributes third
    /// element of an object type; rejects unknown kinds and trailing data.
    pub fn from_json(bytes: &[u8]) -> Result<Type, CodecError> {
        let json = json_syntax::parse(bytes)
            .map_err(|e| CodecError::new(ErrorKind::TypeJson(e.to_string())))?;
        Type::from_json_tree(&json)
    }

    pub(crate) fn from_json_tree(json: &Json) -> Result<Type, CodecError> {
        let invalid = |msg: String| CodecError::new(ErrorKind::TypeJson(msg));
        match json {
            Json::String(name) => match name.as_str() {
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                "dynamic" => Ok(Type::Dynamic),
                other => Err(invalid(format!("unknown primitive type {other:?}"))),
            },
            Json::Array(items) => {
                let Some(Json::String(kind)) = items.first() else {
                    return Err(invalid(
                        "a complex type must start with its kind name".to_owned(),
                    ));
                };
                let args = &items[1..];
                let arity = |expected: &[usize]| {
                    if expected.contains(&args.len()) {
                        Ok(())
                    } else {
                        Err(invalid(format!(
                            "{kind:?} type has {} arguments, expected {}",
                            args.len(),
                            expected[0]
                        )))
                    }
                };
                match kind.as_str() {
                    "list" | "set" | "map" => {
                        arity(&[1])?;
                        let element = Box::new(Type::from_json_tree(&args[0])?);
                        Ok(match kind.as_str() {
                            "list" => Type::List(element),
                            "set" => Type::Set(element),
                            _ => Type::Map(element),
                        })
                    }
                    "object" => {
                        arity(&[1, 2])?;
                        let Json::Object(members) = &args[0] else {
                            return Err(invalid(
                                "object attribute types must be a JSON object".to_owned(),
                            ));
                        };
                        let mut attrs = BTreeMap::new();
                        for (name, ty) in members {
                            if attrs
                                .insert(name.clone(), Type::from_json_tree(ty)?)
                                .is_some()
                            {
                                return Err(invalid(format!(
                                    "duplicate object attribute {name:?}"
                                )));
                            }
                        }
                        // The optional-attribute list only matters for type
                        // constraints; values never carry it, so check its shape and drop it.
                        if let Some(optional) = args.get(1) {
                            let Json::Array(names) = optional else {
                                return Err(invalid(
                                    "optional attribute names must be a JSON array".to_owned(),
                                ));
                            };
                            for name in names {
                                match name {
                                    Json::String(n) if attrs.contains_key(n) => {}
                                    _ => {
                                        return Err(invalid(
                                            "optional attribute names must name attributes"
                                                .to_owned(),
                                        ));
                                    }
                                }
                            }
                        }
                        Ok(Type::Object(attrs))
                    }
                    "tuple" => {
                        arity(&[1])?;
                        let Json::Array(elems) = &args[0] else {
                            return Err(invalid(
                                "tuple element types must be a JSON array".to_owned(),
                            ));
                        };
                        Ok(Type::Tuple(
                            elems
                                .iter()
                                .map(Type::from_json_tree)
                                .collect::<Result<_, _>>()?,
                        ))
                    }
                    other => Err(invalid(format!("unknown type kind {other:?}"))),
                }
            }
            other => Err(invalid(format!(
                "a type must be a JSON string or array, found {}",
                other.describe()
            ))),
        }
    }
}

/// cty's friendly names: `string`, `list of string`, `map of object`, `dynamic`.
impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::String => f.write_str("string"),
            Type::Number => f.write_str("number"),
            Type::Bool => f.write_str("bool"),
            Type::Dynamic => f.write_str("dynamic"),
            Type::List(t) => write!(f, "list of {t}"),
            Type::Set(t) => write!(f, "set of {t}"),
            Type::Map(t) => write!(f, "map of {t}"),
            Type::Object(_) => f.write_str("object"),
            Type::Tuple(_) => f.write_str("tuple"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(json: &str, ty: Type) {
        assert_eq!(String::from_utf8(ty.to_json()).unwrap(), json);
        assert_eq!(Type::from_json(json.as_bytes()).unwrap(), ty);
    }

    #[test]
    fn json_form_matches_cty() {
        round_trip(r#""string""#, Type::String);
        round_trip(r#""number""#, Type::Number);
        round_trip(r#""bool""#, Type::Bool);
        round_trip(r#""dynamic""#, Type::Dynamic);
        round_trip(r#"["list","string"]"#, Type::list(Type::String));
        round_trip(r#"["set","number"]"#, Type::set(Type::Number));
        round_trip(
            r#"["map",["object",{"id":"string","n":"number"}]]"#,
            Type::map(Type::object([("n", Type::Number), ("id", Type::String)])),
        );
        round_trip(r#"["object",{}]"#, Type::object::<String>([]));
        round_trip(
            r#"["tuple",["bool",["list","dynamic"]]]"#,
            Type::tuple([Type::Bool, Type::list(Type::Dynamic)]),
        );
        round_trip(r#"["tuple",[]]"#, Type::tuple([]));
    }

    #[test]
    fn accepts_optional_attribute_markers_and_whitespace() {
        let ty = Type::from_json(br#" [ "object" , {"a":"string","b":"bool"}, ["a"] ] "#).unwrap();
        assert_eq!(ty, Type::object([("a", Type::String), ("b", Type::Bool)]));
    }

    #[test]
    fn rejects_bad_type_json() {
        for bad in [
            r#""str""#,
            r#"["list"]"#,
            r#"["list","string","x"]"#,
            r#"["array","string"]"#,
            r#"["object",["a"]]"#,
            r#"["object",{"a":"string"},["b"]]"#,
            r#"["object",{"a":"string"},"a"]"#,
            r#"["object",{"a":"string","a":"bool"}]"#,
            r#"["tuple","string"]"#,
            r#"[]"#,
            r#"42"#,
            r#""string" "number""#,
            r#""string"x"#,
        ] {
            let err = Type::from_json(bad.as_bytes()).unwrap_err();
            assert!(matches!(err.kind(), ErrorKind::TypeJson(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn display_uses_friendly_names() {
        assert_eq!(Type::list(Type::String).to_string(), "list of string");
        assert_eq!(
            Type::map(Type::set(Type::Number)).to_string(),
            "map of set of number"
        );
        assert_eq!(Type::object([("a", Type::Bool)]).to_string(), "object");
        assert_eq!(Type::Dynamic.to_string(), "dynamic");
    }

    #[test]
    fn finds_dynamic() {
        assert!(!Type::list(Type::String).contains_dynamic());
        assert!(Type::object([("a", Type::map(Type::Dynamic))]).contains_dynamic());
    }
}
