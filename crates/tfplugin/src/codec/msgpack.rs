//! `DynamicValue.msgpack`: values against a type, as cty writes and reads them
//! (`docs/reference/plugin-protocol.md#msgpack-values`, `#unknown-values`,
//! `#worked-msgpack-examples`).

use rmp::encode as wr;
use rmpv::ValueRef;

use super::error::{CodecError, ErrorKind};
use super::{Number, Type, Value};

/// Nesting limit when decoding, to keep recursion off the end of the stack.
pub const MAX_DEPTH: usize = 256;

/// Extension type cty uses for unknown values carrying refinements.
const REFINED_UNKNOWN_EXT: i8 = 0x0c;
/// cty rejects larger refinement payloads as abusive.
const MAX_REFINEMENT_LEN: usize = 1024;
/// A wholly unknown value: fixext1, type 0, one zero byte. We never write refinements.
const UNKNOWN: [u8; 3] = [0xd4, 0x00, 0x00];

/// Encodes `value` as `ty`. Objects are written with every attribute of the
/// type, sorted (missing ones as nil); a `dynamic` slot needs
/// `Value::Dynamic`, `Null` or `Unknown`.
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    encode_into(&mut out, value, ty, 0)?;
    Ok(out)
}

fn too_long(len: usize) -> CodecError {
    CodecError::new(ErrorKind::TooLong(len))
}

fn write_array_len(out: &mut Vec<u8>, len: usize) -> Result<(), CodecError> {
    let len32 = u32::try_from(len).map_err(|_| too_long(len))?;
    wr::write_array_len(out, len32).expect("writing to a Vec cannot fail");
    Ok(())
}

fn write_map_len(out: &mut Vec<u8>, len: usize) -> Result<(), CodecError> {
    let len32 = u32::try_from(len).map_err(|_| too_long(len))?;
    wr::write_map_len(out, len32).expect("writing to a Vec cannot fail");
    Ok(())
}

fn write_str(out: &mut Vec<u8>, s: &str) -> Result<(), CodecError> {
    u32::try_from(s.len()).map_err(|_| too_long(s.len()))?;
    wr::write_str(out, s).expect("writing to a Vec cannot fail");
    Ok(())
}

/// cty's choice: int if the value is an int64, else float64 if exactly one
/// (so 2^64 is a float64), else the decimal text as a string.
fn write_number(out: &mut Vec<u8>, n: &Number) -> Result<(), CodecError> {
    if let Some(i) = n.as_i64() {
        wr::write_sint(out, i).expect("writing to a Vec cannot fail");
    } else if let Some(f) = n.to_exact_f64() {
        wr::write_f64(out, f).expect("writing to a Vec cannot fail");
    } else {
        write_str(out, n.as_str())?;
    }
    Ok(())
}

fn encode_into(
    out: &mut Vec<u8>,
    value: &Value,
    ty: &Type,
    depth: usize,
) -> Result<(), CodecError> {
    if depth > MAX_DEPTH {
        return Err(CodecError::new(ErrorKind::TooDeep(MAX_DEPTH)));
    }
    match value {
        Value::Null => {
            wr::write_nil(out).expect("writing to a Vec cannot fail");
            return Ok(());
        }
        Value::Unknown => {
            out.extend_from_slice(&UNKNOWN);
            return Ok(());
        }
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
            // A value whose own type is dynamic can only be null or unknown.
            return match **inner {
                Value::Null | Value::Unknown => encode_into(out, inner, ty, depth + 1),
                _ => Err(CodecError::new(ErrorKind::Dynamic(format!(
                    "only null or unknown can have type dynamic, found {}",
                    inner.describe()
                )))),
            };
        }
        write_array_len(out, 2)?;
        let type_json = inner_ty.to_json();
        u32::try_from(type_json.len()).map_err(|_| too_long(type_json.len()))?;
        wr::write_bin(out, &type_json).expect("writing to a Vec cannot fail");
        return encode_into(out, inner, inner_ty, depth + 1);
    }

    if let Value::Dynamic(inner_ty, inner) = value {
        // Tolerated where the slot's type is exactly the carried type.
        if inner_ty == ty {
            return encode_into(out, inner, ty, depth + 1);
        }
        return Err(CodecError::mismatch(
            ty,
            format!("a dynamically-typed value of type {inner_ty}"),
        ));
    }

    match (ty, value) {
        (Type::String, Value::String(s)) => write_str(out, s),
        (Type::Number, Value::Number(n)) => write_number(out, n),
        (Type::Bool, Value::Bool(b)) => {
            wr::write_bool(out, *b).expect("writing to a Vec cannot fail");
            Ok(())
        }
        (Type::List(element), Value::List(items)) => {
            write_array_len(out, items.len())?;
            for (i, item) in items.iter().enumerate() {
                encode_into(out, item, element, depth + 1).map_err(|e| e.under_index(i))?;
            }
            Ok(())
        }
        (Type::Set(element), Value::Set(items)) => {
            // Set elements have no addressable path step
            // (`docs/reference/plugin-protocol.md#attribute-paths`).
            write_array_len(out, items.len())?;
            for item in items {
                encode_into(out, item, element, depth + 1)?;
            }
            Ok(())
        }
        (Type::Tuple(elements), Value::Tuple(items)) => {
            if elements.len() != items.len() {
                return Err(CodecError::new(ErrorKind::TupleLength {
                    expected: elements.len(),
                    found: items.len(),
                }));
            }
            write_array_len(out, items.len())?;
            for (i, (item, ety)) in items.iter().zip(elements).enumerate() {
                encode_into(out, item, ety, depth + 1).map_err(|e| e.under_index(i))?;
            }
            Ok(())
        }
        (Type::Map(element), Value::Map(entries)) => {
            write_map_len(out, entries.len())?;
            for (key, item) in entries {
                write_str(out, key).map_err(|e| e.under_key(key))?;
                encode_into(out, item, element, depth + 1).map_err(|e| e.under_key(key))?;
            }
            Ok(())
        }
        (Type::Object(attr_types), Value::Object(attrs)) => {
            if let Some(extra) = attrs.keys().find(|k| !attr_types.contains_key(*k)) {
                return Err(CodecError::new(ErrorKind::UnsupportedAttribute(
                    extra.clone(),
                )));
            }
            write_map_len(out, attr_types.len())?;
            for (name, aty) in attr_types {
                write_str(out, name)?;
                let attr = attrs.get(name).unwrap_or(&Value::Null);
                encode_into(out, attr, aty, depth + 1).map_err(|e| e.under_attr(name))?;
            }
            Ok(())
        }
        (ty, value) => Err(CodecError::mismatch(ty, value.describe())),
    }
}

/// Decodes msgpack bytes as `ty`. Any extension of length ≤ 1 and any type-12
/// extension is an unknown value (refinements dropped); objects must carry
/// exactly the type's attributes. Trailing bytes are an error.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let mut reader = bytes;
    let raw = rmpv::decode::read_value_ref_with_max_depth(&mut reader, MAX_DEPTH + 1)
        .map_err(|e| CodecError::new(ErrorKind::Msgpack(describe_read_error(&e))))?;
    if !reader.is_empty() {
        return Err(CodecError::new(ErrorKind::TrailingData));
    }
    decode_value(&raw, ty)
}

fn describe_read_error(e: &rmpv::decode::Error) -> String {
    match e {
        rmpv::decode::Error::DepthLimitExceeded => {
            format!("value nests deeper than {MAX_DEPTH} levels")
        }
        rmpv::decode::Error::InvalidMarkerRead(io) | rmpv::decode::Error::InvalidDataRead(io)
            if io.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            "truncated input".to_owned()
        }
        other => other.to_string(),
    }
}

/// Names a msgpack item for error messages.
fn describe_raw(raw: &ValueRef<'_>) -> &'static str {
    match raw {
        ValueRef::Nil => "nil",
        ValueRef::Boolean(_) => "a MessagePack bool",
        ValueRef::Integer(_) => "a MessagePack integer",
        ValueRef::F32(_) | ValueRef::F64(_) => "a MessagePack float",
        ValueRef::String(_) => "a MessagePack string",
        ValueRef::Binary(_) => "MessagePack binary data",
        ValueRef::Array(_) => "a MessagePack array",
        ValueRef::Map(_) => "a MessagePack map",
        ValueRef::Ext(..) => "a MessagePack extension",
    }
}

fn decode_unknown(ext_type: i8, payload: &[u8]) -> Result<Value, CodecError> {
    if payload.len() <= 1 {
        return Ok(Value::Unknown);
    }
    if ext_type != REFINED_UNKNOWN_EXT {
        return Err(CodecError::new(ErrorKind::UnsupportedExtension {
            ext_type,
            len: payload.len(),
        }));
    }
    if payload.len() > MAX_REFINEMENT_LEN {
        return Err(CodecError::new(ErrorKind::Refinement(format!(
            "payload of {} bytes exceeds {MAX_REFINEMENT_LEN}",
            payload.len()
        ))));
    }
    // The refinements themselves are dropped, but the payload must be the map
    // cty writes; trailing bytes after it are allowed
    // (`docs/reference/plugin-protocol.md#unknown-values`).
    let mut reader = payload;
    match rmpv::decode::read_value_ref_with_max_depth(&mut reader, 8) {
        Ok(ValueRef::Map(_)) => Ok(Value::Unknown),
        _ => Err(CodecError::new(ErrorKind::Refinement(
            "payload is not a MessagePack map".to_owned(),
        ))),
    }
}

fn raw_str<'a>(raw: &'a ValueRef<'_>, expected: &Type) -> Result<&'a str, CodecError> {
    match raw {
        ValueRef::String(s) => s
            .as_str()
            .ok_or_else(|| CodecError::mismatch(expected, "a string that is not valid UTF-8")),
        other => Err(CodecError::mismatch(expected, describe_raw(other))),
    }
}

fn decode_number(raw: &ValueRef<'_>) -> Result<Number, CodecError> {
    match raw {
        ValueRef::Integer(i) => Ok(match i.as_i64() {
            Some(v) => Number::from_i64(v),
            None => Number::from_u64(i.as_u64().expect("msgpack integers are i64 or u64")),
        }),
        ValueRef::F32(f) => Ok(Number::from_f64(f64::from(*f))?),
        ValueRef::F64(f) => Ok(Number::from_f64(*f)?),
        ValueRef::String(_) => Ok(Number::parse(raw_str(raw, &Type::Number)?)?),
        other => Err(CodecError::mismatch(Type::Number, describe_raw(other))),
    }
}

fn decode_value(raw: &ValueRef<'_>, ty: &Type) -> Result<Value, CodecError> {
    match raw {
        ValueRef::Ext(ext_type, payload) => return decode_unknown(*ext_type, payload),
        ValueRef::Nil => return Ok(Value::Null),
        _ => {}
    }
    match ty {
        Type::Dynamic => {
            let ValueRef::Array(pair) = raw else {
                return Err(CodecError::new(ErrorKind::Dynamic(format!(
                    "expected a [type, value] array, found {}",
                    describe_raw(raw)
                ))));
            };
            let [type_json, inner] = pair.as_slice() else {
                return Err(CodecError::new(ErrorKind::Dynamic(format!(
                    "the [type, value] array has {} elements",
                    pair.len()
                ))));
            };
            let type_bytes = match type_json {
                ValueRef::Binary(b) => *b,
                ValueRef::String(s) => s.as_bytes(),
                other => {
                    return Err(CodecError::new(ErrorKind::Dynamic(format!(
                        "the type must be bytes, found {}",
                        describe_raw(other)
                    ))));
                }
            };
            let inner_ty = Type::from_json(type_bytes)?;
            let inner = decode_value(inner, &inner_ty)?;
            Ok(Value::Dynamic(inner_ty, Box::new(inner)))
        }
        Type::String => Ok(Value::String(raw_str(raw, ty)?.to_owned())),
        Type::Number => Ok(Value::Number(decode_number(raw)?)),
        Type::Bool => match raw {
            ValueRef::Boolean(b) => Ok(Value::Bool(*b)),
            other => Err(CodecError::mismatch(ty, describe_raw(other))),
        },
        Type::List(element) | Type::Set(element) => {
            let ValueRef::Array(items) = raw else {
                return Err(CodecError::mismatch(ty, describe_raw(raw)));
            };
            let is_list = matches!(ty, Type::List(_));
            let mut values = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let v = decode_value(item, element);
                values.push(if is_list {
                    v.map_err(|e| e.under_index(i))?
                } else {
                    v?
                });
            }
            Ok(if is_list {
                Value::List(values)
            } else {
                Value::Set(values)
            })
        }
        Type::Tuple(elements) => {
            let ValueRef::Array(items) = raw else {
                return Err(CodecError::mismatch(ty, describe_raw(raw)));
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
                .map(|(i, (item, ety))| decode_value(item, ety).map_err(|e| e.under_index(i)))
                .collect::<Result<_, _>>()?;
            Ok(Value::Tuple(values))
        }
        Type::Map(element) => {
            let ValueRef::Map(entries) = raw else {
                return Err(CodecError::mismatch(ty, describe_raw(raw)));
            };
            let mut values = std::collections::BTreeMap::new();
            for (key, item) in entries {
                let key = raw_str(key, &Type::String)
                    .map_err(|_| CodecError::mismatch(ty, "a map with a non-string key"))?;
                let v = decode_value(item, element).map_err(|e| e.under_key(key))?;
                if values.insert(key.to_owned(), v).is_some() {
                    return Err(CodecError::new(ErrorKind::DuplicateKey(key.to_owned())));
                }
            }
            Ok(Value::Map(values))
        }
        Type::Object(attr_types) => {
            let ValueRef::Map(entries) = raw else {
                return Err(CodecError::mismatch(ty, describe_raw(raw)));
            };
            if entries.len() != attr_types.len() {
                return Err(CodecError::new(ErrorKind::AttributeCount {
                    expected: attr_types.len(),
                    found: entries.len(),
                }));
            }
            let mut values = std::collections::BTreeMap::new();
            for (key, item) in entries {
                let name = raw_str(key, &Type::String)
                    .map_err(|_| CodecError::mismatch(ty, "a map with a non-string key"))?;
                let Some(aty) = attr_types.get(name) else {
                    return Err(CodecError::new(ErrorKind::UnsupportedAttribute(
                        name.to_owned(),
                    )));
                };
                let v = decode_value(item, aty).map_err(|e| e.under_attr(name))?;
                if values.insert(name.to_owned(), v).is_some() {
                    return Err(CodecError::new(ErrorKind::DuplicateKey(name.to_owned())));
                }
            }
            Ok(Value::Object(values))
        }
    }
}
