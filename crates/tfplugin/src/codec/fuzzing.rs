//! Body of the codec fuzz target in `fuzz/` (cargo-fuzz), kept here so the
//! normal test suite can replay its seed corpus on stable Rust.

use super::{DecodeOptions, Type, Value, json, msgpack};

/// Schema types the target decodes against, like a provider's: every
/// primitive, every collection, nesting, and dynamic slots.
fn schema(index: u8) -> Type {
    let nested = Type::object([
        ("name", Type::String),
        ("tags", Type::map(Type::String)),
        ("any", Type::Dynamic),
    ]);
    match index % 8 {
        0 => Type::String,
        1 => Type::Number,
        2 => Type::Dynamic,
        3 => Type::list(Type::Number),
        4 => Type::set(nested.clone()),
        5 => Type::tuple([Type::Bool, Type::String, Type::Dynamic]),
        6 => Type::map(Type::list(Type::Dynamic)),
        _ => Type::object([
            ("id", Type::String),
            ("count", Type::Number),
            ("enabled", Type::Bool),
            ("items", Type::list(nested.clone())),
            ("by_key", Type::map(nested)),
            ("extra", Type::Dynamic),
        ]),
    }
}

/// The first byte picks the wire form (bit 0: JSON or msgpack) and the type:
/// one of [`schema`]'s, or (bits 4..8 all set) type JSON read from the input
/// up to the first newline. The rest is the value. A value that decodes
/// must encode as msgpack and decode back to itself.
pub fn decode_value(data: &[u8]) {
    let Some((&head, mut rest)) = data.split_first() else {
        return;
    };
    let ty = if head >> 4 == 0xf {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let Ok(ty) = Type::from_json(&rest[..end]) else {
            return;
        };
        let again = Type::from_json(&ty.to_json()).expect("type JSON round-trips");
        assert_eq!(again, ty);
        rest = rest.get(end + 1..).unwrap_or_default();
        ty
    } else {
        schema(head >> 1)
    };
    let decoded = if head & 1 == 1 {
        json::decode(rest, &ty, DecodeOptions::default())
    } else {
        msgpack::decode(rest, &ty)
    };
    let Ok(value) = decoded else { return };
    let bytes = msgpack::encode(&value, &ty).expect("a decoded value encodes");
    let back: Value = msgpack::decode(&bytes, &ty).expect("an encoded value decodes");
    assert_eq!(back, value);
}

#[cfg(test)]
mod tests {
    /// Replays the seed corpus and the regression inputs of the fuzz target.
    #[test]
    fn replay_codec_corpus() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/codec");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            super::decode_value(&std::fs::read(entry.unwrap().path()).unwrap());
            n += 1;
        }
        assert!(n > 0, "no seed inputs in {}", dir.display());
    }
}
