//! `DynamicValue.json`, `RawState.json` and import JSON: values against a type,
//! as cty writes and (leniently) reads them (`docs/reference/plugin-protocol.md#json-values`).

use std::collections::BTreeMap;

use super::error::{CodecError, ErrorKind};
use super::json_syntax::{self, Json};
use super::{Number, Type, Value};

/// How forgiving [`decode`] is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Skip object attributes the type does not have instead of failing.
    /// Use when reading state written by an older schema version.
    pub ignore_undefined_attributes: bool,
}

/// Encodes `value` as JSON for `ty`: numbers as plain decimal text, objects
/// with every attribute (missing ones as `null`), dynamic slots as
/// `{"value":…,"type":…}`. Unknown values and infinities cannot be written.
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    encode_into(&mut out, value, ty, 0)?;
    Ok(out)
}

fn encode_into(
    out: &mut Vec<u8>,
    value: &Value,
    ty: &Type,
    depth: usize,
) -> Result<(), CodecError> {
    if depth > json_syntax::MAX_DEPTH {
        return Err(CodecError::new(ErrorKind::TooDeep(json_syntax::MAX_DEPTH)));
    }
    match value {
        Value::Null => {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        Value::Unknown => return Err(CodecError::new(ErrorKind::NotKnown)),
        _ => {}
    }

    if *ty == Type::Dynamic {
        let Value::Dynamic(inner_ty, inner) = value else {
            return Err(CodecError::mismatch(
                "a Value::Dynamic carrying its type (dynamic attribute)",
                value.describe(),
            ));
        };
        if *inner_ty == Type::Dynamic {
            return match **inner {
                Value::Null | Value::Unknown => encode_into(out, inner, ty, depth + 1),
                _ => Err(CodecError::new(ErrorKind::Dynamic(format!(
                    "only null or unknown can have type dynamic, found {}",
                    inner.describe()
                )))),
            };
        }
        out.extend_from_slice(br#"{"value":"#);
        encode_into(out, inner, inner_ty, depth + 1)?;
        out.extend_from_slice(br#","type":"#);
        inner_ty.write_json(out);
        out.push(b'}');
        return Ok(());
    }

    if let Value::Dynamic(inner_ty, inner) = value {
        if inner_ty == ty {
            return encode_into(out, inner, ty, depth + 1);
        }
        return Err(CodecError::mismatch(
            ty,
            format!("a dynamically-typed value of type {inner_ty}"),
        ));
    }

    match (ty, value) {
        (Type::String, Value::String(s)) => json_syntax::write_string(out, s),
        (Type::Number, Value::Number(n)) => {
            if n.is_infinite() {
                return Err(CodecError::new(ErrorKind::Infinity));
            }
            out.extend_from_slice(n.as_str().as_bytes());
        }
        (Type::Bool, Value::Bool(b)) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        (Type::List(element), Value::List(items)) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                encode_into(out, item, element, depth + 1).map_err(|e| e.under_index(i))?;
            }
            out.push(b']');
        }
        (Type::Set(element), Value::Set(items)) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                encode_into(out, item, element, depth + 1)?;
            }
            out.push(b']');
        }
        (Type::Tuple(elements), Value::Tuple(items)) => {
            if elements.len() != items.len() {
                return Err(CodecError::new(ErrorKind::TupleLength {
                    expected: elements.len(),
                    found: items.len(),
                }));
            }
            out.push(b'[');
            for (i, (item, ety)) in items.iter().zip(elements).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                encode_into(out, item, ety, depth + 1).map_err(|e| e.under_index(i))?;
            }
            out.push(b']');
        }
        (Type::Map(element), Value::Map(entries)) => {
            out.push(b'{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json_syntax::write_string(out, key);
                out.push(b':');
                encode_into(out, item, element, depth + 1).map_err(|e| e.under_key(key))?;
            }
            out.push(b'}');
        }
        (Type::Object(attr_types), Value::Object(attrs)) => {
            if let Some(extra) = attrs.keys().find(|k| !attr_types.contains_key(*k)) {
                return Err(CodecError::new(ErrorKind::UnsupportedAttribute(
                    extra.clone(),
                )));
            }
            out.push(b'{');
            for (i, (name, aty)) in attr_types.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json_syntax::write_string(out, name);
                out.push(b':');
                let attr = attrs.get(name).unwrap_or(&Value::Null);
                encode_into(out, attr, aty, depth + 1).map_err(|e| e.under_attr(name))?;
            }
            out.push(b'}');
        }
        (ty, value) => return Err(CodecError::mismatch(ty, value.describe())),
    }
    Ok(())
}

/// Decodes JSON as `ty`, leniently like cty: missing object attributes become
/// null, numbers may be strings, strings accept numbers and bools (kept as
/// their JSON text), bools accept `"true"`/`"false"`/`"1"`/`"0"`.
/// Attributes the type lacks are an error unless
/// [`DecodeOptions::ignore_undefined_attributes`] is set.
pub fn decode(bytes: &[u8], ty: &Type, options: DecodeOptions) -> Result<Value, CodecError> {
    let json = json_syntax::parse(bytes)
        .map_err(|e| CodecError::new(ErrorKind::JsonSyntax(e.to_string())))?;
    decode_value(&json, ty, options)
}

fn decode_value(json: &Json, ty: &Type, options: DecodeOptions) -> Result<Value, CodecError> {
    if let Json::Null = json {
        return Ok(Value::Null);
    }
    match ty {
        Type::Dynamic => decode_dynamic(json, options),
        Type::String => match json {
            Json::String(s) => Ok(Value::String(s.clone())),
            Json::Number(text) => Ok(Value::String(text.clone())),
            Json::Bool(b) => Ok(Value::String(b.to_string())),
            other => Err(CodecError::mismatch(ty, other.describe())),
        },
        Type::Number => match json {
            Json::Number(text) | Json::String(text) => Ok(Value::Number(Number::parse(text)?)),
            other => Err(CodecError::mismatch(ty, other.describe())),
        },
        Type::Bool => match json {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            // cty's string-to-bool conversion.
            Json::String(s) if s == "true" || s == "1" => Ok(Value::Bool(true)),
            Json::String(s) if s == "false" || s == "0" => Ok(Value::Bool(false)),
            Json::String(s) => Err(CodecError::mismatch(
                ty,
                format!("the string {s:?} (use \"true\" or \"false\")"),
            )),
            other => Err(CodecError::mismatch(ty, other.describe())),
        },
        Type::List(element) => {
            let Json::Array(items) = json else {
                return Err(CodecError::mismatch(ty, json.describe()));
            };
            let values = items
                .iter()
                .enumerate()
                .map(|(i, item)| decode_value(item, element, options).map_err(|e| e.under_index(i)))
                .collect::<Result<_, _>>()?;
            Ok(Value::List(values))
        }
        Type::Set(element) => {
            let Json::Array(items) = json else {
                return Err(CodecError::mismatch(ty, json.describe()));
            };
            let values = items
                .iter()
                .map(|item| decode_value(item, element, options))
                .collect::<Result<_, _>>()?;
            Ok(Value::Set(values))
        }
        Type::Tuple(elements) => {
            let Json::Array(items) = json else {
                return Err(CodecError::mismatch(ty, json.describe()));
            };
            if items.len() != elements.len() {
                return Err(CodecError::new(ErrorKind::TupleLength {
                    expected: elements.len(),
                    found: items.len(),
                }));
            }
            let values = items
                .iter()
                .zip(elements)
                .enumerate()
                .map(|(i, (item, ety))| {
                    decode_value(item, ety, options).map_err(|e| e.under_index(i))
                })
                .collect::<Result<_, _>>()?;
            Ok(Value::Tuple(values))
        }
        Type::Map(element) => {
            let Json::Object(members) = json else {
                return Err(CodecError::mismatch(ty, json.describe()));
            };
            let mut values = BTreeMap::new();
            for (key, item) in members {
                let v = decode_value(item, element, options).map_err(|e| e.under_key(key))?;
                if values.insert(key.clone(), v).is_some() {
                    return Err(CodecError::new(ErrorKind::DuplicateKey(key.clone())));
                }
            }
            Ok(Value::Map(values))
        }
        Type::Object(attr_types) => {
            let Json::Object(members) = json else {
                return Err(CodecError::mismatch(ty, json.describe()));
            };
            let mut values = BTreeMap::new();
            for (name, item) in members {
                let Some(aty) = attr_types.get(name) else {
                    if options.ignore_undefined_attributes {
                        continue;
                    }
                    return Err(CodecError::new(ErrorKind::UnsupportedAttribute(
                        name.clone(),
                    )));
                };
                let v = decode_value(item, aty, options).map_err(|e| e.under_attr(name))?;
                if values.insert(name.clone(), v).is_some() {
                    return Err(CodecError::new(ErrorKind::DuplicateKey(name.clone())));
                }
            }
            for name in attr_types.keys() {
                values.entry(name.clone()).or_insert(Value::Null);
            }
            Ok(Value::Object(values))
        }
    }
}

/// `{"value": …, "type": …}` in either order, nothing else.
fn decode_dynamic(json: &Json, options: DecodeOptions) -> Result<Value, CodecError> {
    let Json::Object(members) = json else {
        return Err(CodecError::new(ErrorKind::Dynamic(format!(
            "expected an object with \"value\" and \"type\", found {}",
            json.describe()
        ))));
    };
    let mut type_json = None;
    let mut value_json = None;
    for (key, item) in members {
        let slot = match key.as_str() {
            "type" => &mut type_json,
            "value" => &mut value_json,
            other => {
                return Err(CodecError::new(ErrorKind::Dynamic(format!(
                    "invalid key {other:?} (only \"value\" and \"type\" are allowed)"
                ))));
            }
        };
        if slot.replace(item).is_some() {
            return Err(CodecError::new(ErrorKind::DuplicateKey(key.clone())));
        }
    }
    let Some(type_json) = type_json else {
        return Err(CodecError::new(ErrorKind::Dynamic(
            "missing \"type\"".to_owned(),
        )));
    };
    let Some(value_json) = value_json else {
        return Err(CodecError::new(ErrorKind::Dynamic(
            "missing \"value\"".to_owned(),
        )));
    };
    let ty = Type::from_json_tree(type_json)?;
    let value = decode_value(value_json, &ty, options)?;
    Ok(Value::Dynamic(ty, Box::new(value)))
}
