//! Wire-level tests of the codec: the worked byte examples of the protocol
//! reference (`docs/reference/plugin-protocol.md#worked-msgpack-examples`), edge cases of both
//! encodings, and a generated round-trip loop.

use super::*;

fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn s(text: &str) -> Value {
    Value::string(text)
}

fn n(text: &str) -> Value {
    Value::Number(Number::parse(text).unwrap())
}

fn mp_round_trip(value: &Value, ty: &Type) -> Vec<u8> {
    let bytes = msgpack::encode(value, ty).unwrap();
    let back = msgpack::decode(&bytes, ty).unwrap();
    assert_eq!(&back, value, "msgpack round trip of {}", to_hex(&bytes));
    assert_eq!(
        msgpack::encode(&back, ty).unwrap(),
        bytes,
        "re-encoding is stable"
    );
    bytes
}

fn json_round_trip(value: &Value, ty: &Type) -> String {
    let bytes = json::encode(value, ty).unwrap();
    let back = json::decode(&bytes, ty, DecodeOptions::default()).unwrap();
    assert_eq!(
        &back,
        value,
        "JSON round trip of {}",
        String::from_utf8_lossy(&bytes)
    );
    String::from_utf8(bytes).unwrap()
}

fn json_decode(text: &str, ty: &Type) -> Result<Value, CodecError> {
    json::decode(text.as_bytes(), ty, DecodeOptions::default())
}

// ---- worked examples of `docs/reference/plugin-protocol.md#worked-msgpack-examples`, byte for byte ----

#[test]
fn worked_example_object_with_unknown() {
    let ty = Type::object([("id", Type::String), ("name", Type::String)]);
    let v = Value::object([("id", Value::Unknown), ("name", s("x"))]);
    let bytes = mp_round_trip(&v, &ty);
    assert_eq!(bytes, hex("82 a2 69 64 d4 00 00 a4 6e 61 6d 65 a1 78"));
}

#[test]
fn worked_example_string_in_dynamic() {
    let v = Value::dynamic(Type::String, s("hi"));
    let bytes = mp_round_trip(&v, &Type::Dynamic);
    assert_eq!(bytes, hex("92 c4 08 22 73 74 72 69 6e 67 22 a2 68 69"));
}

#[test]
fn worked_example_refined_unknown_decodes_as_unknown() {
    let bytes = hex("c7 07 0c 82 01 c2 02 a2 61 62");
    assert_eq!(
        msgpack::decode(&bytes, &Type::String).unwrap(),
        Value::Unknown
    );
    // Re-encoding drops the refinements.
    assert_eq!(
        msgpack::encode(&Value::Unknown, &Type::String).unwrap(),
        hex("d4 00 00")
    );
}

#[test]
fn worked_example_list_with_null() {
    let ty = Type::list(Type::String);
    let bytes = mp_round_trip(&Value::list([s("a"), Value::Null]), &ty);
    assert_eq!(bytes, hex("92 a1 61 c0"));
}

// ---- unknowns ----

#[test]
fn unknowns_nest_anywhere_in_msgpack() {
    let ty = Type::object([
        ("l", Type::list(Type::String)),
        ("m", Type::map(Type::Number)),
        ("o", Type::object([("x", Type::Bool)])),
        ("s", Type::set(Type::String)),
        ("d", Type::Dynamic),
        ("dd", Type::Dynamic),
        ("t", Type::tuple([Type::String, Type::Number])),
        ("whole", Type::list(Type::String)),
    ]);
    let v = Value::object([
        ("l", Value::list([s("a"), Value::Unknown])),
        ("m", Value::map([("k", Value::Unknown)])),
        ("o", Value::object([("x", Value::Unknown)])),
        ("s", Value::set([Value::Unknown, s("b")])),
        ("d", Value::Unknown),
        (
            "dd",
            Value::dynamic(Type::list(Type::String), Value::Unknown),
        ),
        ("t", Value::tuple([Value::Unknown, n("1")])),
        ("whole", Value::Unknown),
    ]);
    let bytes = mp_round_trip(&v, &ty);
    // The dynamic attribute "d" holding a wholly unknown value is the bare ext.
    let d_entry = hex("a1 64 d4 00 00");
    assert!(bytes.windows(d_entry.len()).any(|w| w == d_entry));
    // "dd": [bin(["list","string"]), unknown]
    let dd_entry = [
        hex("a2 64 64 92 c4 11"),
        br#"["list","string"]"#.to_vec(),
        hex("d4 00 00"),
    ]
    .concat();
    assert!(bytes.windows(dd_entry.len()).any(|w| w == dd_entry));
}

#[test]
fn unknowns_cannot_be_json() {
    let ty = Type::object([("rules", Type::list(Type::object([("name", Type::String)])))]);
    let v = Value::object([(
        "rules",
        Value::list([
            Value::object([("name", s("a"))]),
            Value::object([("name", Value::Unknown)]),
        ]),
    )]);
    let err = json::encode(&v, &ty).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::NotKnown);
    assert_eq!(err.to_string(), "rules[1].name: value is not known");
    assert_eq!(
        err.path(),
        &[
            PathStep::Attr("rules".into()),
            PathStep::Index(1),
            PathStep::Attr("name".into())
        ]
    );
}

#[test]
fn extension_rules() {
    let ty = Type::String;
    // Zero-length ext (ext8 len 0), fixext1 of any type code, and a negative type code.
    for bytes in ["c7 00 05", "d4 07 ff", "d4 ff 00"] {
        assert_eq!(
            msgpack::decode(&hex(bytes), &ty).unwrap(),
            Value::Unknown,
            "{bytes}"
        );
    }
    // Longer extension with a type other than 12.
    let err = msgpack::decode(&hex("d5 05 00 00"), &ty).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::UnsupportedExtension {
            ext_type: 5,
            len: 2
        }
    );
    // Type 12 whose payload is not a map.
    let err = msgpack::decode(&hex("d5 0c a1 61"), &ty).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Refinement(_)), "{err}");
    // Type 12 with trailing bytes after the map is fine.
    assert_eq!(
        msgpack::decode(&hex("c7 04 0c 81 01 c2 ff"), &ty).unwrap(),
        Value::Unknown
    );
    // Oversize refinement payload.
    let mut big = hex("c8 04 01 0c 81 02 da 03 fc");
    big.extend(std::iter::repeat_n(b'a', 1020));
    let err = msgpack::decode(&big, &ty).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Refinement(_)), "{err}");
    // Refined unknown in a dynamic slot and inside a collection.
    assert_eq!(
        msgpack::decode(&hex("c7 03 0c 81 01 c2"), &Type::Dynamic).unwrap(),
        Value::Unknown
    );
    assert_eq!(
        msgpack::decode(
            &hex("91 c7 03 0c 81 05 01"),
            &Type::list(Type::list(Type::String))
        )
        .unwrap(),
        Value::list([Value::Unknown])
    );
}

// ---- null versus empty ----

#[test]
fn null_and_empty_differ_on_the_wire() {
    let cases = [
        (Type::list(Type::String), Value::Null, "c0", "null"),
        (Type::list(Type::String), Value::list([]), "90", "[]"),
        (Type::set(Type::String), Value::set([]), "90", "[]"),
        (Type::map(Type::String), Value::Null, "c0", "null"),
        (
            Type::map(Type::String),
            Value::map::<String>([]),
            "80",
            "{}",
        ),
        (Type::String, Value::Null, "c0", "null"),
        (Type::String, s(""), "a0", r#""""#),
        (
            Type::object::<String>([]),
            Value::object::<String>([]),
            "80",
            "{}",
        ),
        (Type::tuple([]), Value::tuple([]), "90", "[]"),
    ];
    for (ty, v, mp, js) in cases {
        assert_eq!(to_hex(&mp_round_trip(&v, &ty)), mp, "{ty} {v:?}");
        assert_eq!(json_round_trip(&v, &ty), js, "{ty} {v:?}");
    }
}

// ---- numbers ----

#[test]
fn numbers_on_the_msgpack_wire() {
    let ty = Type::Number;
    let cases = [
        ("0", "00"),
        ("-0", "00"),
        ("127", "7f"),
        ("128", "cc 80"),
        ("-32", "e0"),
        ("-33", "d0 df"),
        ("65536", "ce 00 01 00 00"),
        ("-9223372036854775808", "d3 80 00 00 00 00 00 00 00"),
        ("9223372036854775807", "cf 7f ff ff ff ff ff ff ff"),
        ("1.5", "cb 3f f8 00 00 00 00 00 00"),
        // 2^64 is exactly a float64, and cty prefers that over a string.
        ("18446744073709551616", "cb 43 f0 00 00 00 00 00 00"),
        ("+Inf", "cb 7f f0 00 00 00 00 00 00"),
        ("-Inf", "cb ff f0 00 00 00 00 00 00"),
    ];
    for (text, bytes) in cases {
        assert_eq!(to_hex(&mp_round_trip(&n(text), &ty)), bytes, "{text}");
    }
    // Not an int64, not exactly a float64: the decimal text as a string.
    for text in [
        "18446744073709551615",
        "18446744073709551617",
        "0.1",
        "0.3333333333333333333333333333333333333333333333333333",
        "-123456789012345678901234567890.000000000000000000001",
    ] {
        let bytes = mp_round_trip(&n(text), &ty);
        let mut expected = Vec::new();
        rmp::encode::write_str(&mut expected, text).unwrap();
        assert_eq!(bytes, expected, "{text}");
    }
    let big = Number::parse("1e400").unwrap();
    let bytes = mp_round_trip(&Value::Number(big.clone()), &ty);
    assert_eq!(bytes[..3], [0xda, 0x01, 0x91]); // str16 of 401 bytes
    assert_eq!(&bytes[3..], big.as_str().as_bytes());
}

#[test]
fn msgpack_number_forms_decode() {
    let ty = Type::Number;
    let dec = |h: &str| msgpack::decode(&hex(h), &ty).unwrap();
    assert_eq!(dec("cf ff ff ff ff ff ff ff ff"), n("18446744073709551615"));
    assert_eq!(dec("d0 80"), n("-128"));
    assert_eq!(dec("cd 01 00"), n("256"));
    assert_eq!(dec("ca 3f c0 00 00"), n("1.5")); // float32
    assert_eq!(dec("a4 31 65 2b 33"), n("1000")); // "1e+3"
    // float64 0.1 is kept as its exact value, so it goes back out as the same float.
    let point_one = hex("cb 3f b9 99 99 99 99 99 9a");
    let v = msgpack::decode(&point_one, &ty).unwrap();
    assert_eq!(v.as_number().unwrap().as_f64(), 0.1);
    assert_eq!(msgpack::encode(&v, &ty).unwrap(), point_one);
    let err = msgpack::decode(&hex("cb 7f f8 00 00 00 00 00 00"), &ty).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Number(NumberError::NaN));
    let err = msgpack::decode(&hex("a3 61 62 63"), &ty).unwrap_err();
    assert!(matches!(
        err.kind(),
        ErrorKind::Number(NumberError::Invalid(_))
    ));
    let err = msgpack::decode(&hex("c3"), &ty).unwrap_err();
    assert_eq!(
        err.to_string(),
        "number is required, found a MessagePack bool"
    );
}

#[test]
fn numbers_in_json_are_exact() {
    let ty = Type::Number;
    for text in [
        "0",
        "18446744073709551616",
        "18446744073709551615",
        "-9223372036854775808",
        "0.1",
        "0.3333333333333333333333333333333333333333333333333333",
        "0.1000000000000000055511151231257827021181583404541015625",
    ] {
        assert_eq!(json_round_trip(&n(text), &ty), text);
    }
    let big = n("1e400");
    assert_eq!(json_round_trip(&big, &ty).len(), 401);
    assert_eq!(json_decode("1.50e1", &ty).unwrap(), n("15"));
    assert_eq!(json_decode("-0", &ty).unwrap(), n("0"));
    assert_eq!(json_decode("1e400", &ty).unwrap(), big);
    let err = json::encode(&n("+Inf"), &ty).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Infinity);
}

// ---- strings ----

#[test]
fn unicode_strings_survive_both_forms() {
    let ty = Type::list(Type::String);
    let v = Value::list([
        s("😀 emoji"),
        s("e\u{301}"), // combining accent, left as is (no normalisation here)
        s("\u{e9}"),
        s("日本語"),
        s("nul\u{0}and\ttab\n\"quote\"\\"),
        s("\u{2028}\u{fffd}"),
    ]);
    mp_round_trip(&v, &ty);
    json_round_trip(&v, &ty);
    let bytes = msgpack::encode(&s("e\u{301}"), &Type::String).unwrap();
    assert_eq!(bytes, hex("a3 65 cc 81"));
    // Invalid UTF-8 in a msgpack string is refused.
    let err = msgpack::decode(&hex("a2 c3 28"), &Type::String).unwrap_err();
    assert!(err.to_string().contains("not valid UTF-8"), "{err}");
}

// ---- dynamic ----

#[test]
fn dynamic_round_trips() {
    let ty = Type::object([("d", Type::Dynamic)]);
    let cases = [
        Value::dynamic(Type::list(Type::String), Value::list([s("a"), s("b")])),
        Value::dynamic(
            Type::object([("n", Type::Number), ("m", Type::map(Type::Bool))]),
            Value::object([
                ("n", n("2.5")),
                ("m", Value::map([("k", Value::Bool(true))])),
            ]),
        ),
        Value::dynamic(Type::String, Value::Null),
        Value::dynamic(
            Type::tuple([Type::Dynamic]),
            Value::tuple([Value::dynamic(Type::Number, n("1"))]),
        ),
        Value::Null,
    ];
    for d in cases {
        let v = Value::object([("d", d)]);
        mp_round_trip(&v, &ty);
        json_round_trip(&v, &ty);
    }
    assert_eq!(
        json_round_trip(&Value::dynamic(Type::String, s("hi")), &Type::Dynamic),
        r#"{"value":"hi","type":"string"}"#
    );
    assert_eq!(
        json_round_trip(&Value::dynamic(Type::String, Value::Null), &Type::Dynamic),
        r#"{"value":null,"type":"string"}"#
    );
    assert_eq!(json_round_trip(&Value::Null, &Type::Dynamic), "null");
    assert_eq!(
        to_hex(&mp_round_trip(
            &Value::dynamic(Type::String, Value::Null),
            &Type::Dynamic
        )),
        "92 c4 08 22 73 74 72 69 6e 67 22 c0"
    );
    // The JSON decoder accepts either key order.
    assert_eq!(
        json_decode(r#"{"type":["list","number"],"value":[1]}"#, &Type::Dynamic).unwrap(),
        Value::dynamic(Type::list(Type::Number), Value::list([n("1")]))
    );
}

#[test]
fn dynamic_errors() {
    let d = Type::Dynamic;
    // A plain value without its type cannot go into a dynamic slot.
    assert!(msgpack::encode(&s("x"), &d).is_err());
    assert!(json::encode(&s("x"), &d).is_err());
    for bad in [
        r#"{"value":"x"}"#,
        r#"{"type":"string"}"#,
        r#"{"value":"x","type":"string","extra":1}"#,
        r#"{"value":"x","type":"nope"}"#,
        r#"{"value":1,"type":["list","string"]}"#,
        r#""x""#,
    ] {
        assert!(json_decode(bad, &d).is_err(), "{bad}");
    }
    for bad in ["91 c0", "93 c0 c0 c0", "92 01 a1 78", "a1 78"] {
        assert!(msgpack::decode(&hex(bad), &d).is_err(), "{bad}");
    }
    // A carried type equal to the slot's type is tolerated when encoding.
    assert_eq!(
        msgpack::encode(&Value::dynamic(Type::String, s("x")), &Type::String).unwrap(),
        hex("a1 78")
    );
    assert!(msgpack::encode(&Value::dynamic(Type::Bool, s("x")), &Type::String).is_err());
}

// ---- objects ----

#[test]
fn objects_are_complete_and_sorted() {
    let ty = Type::object([("b", Type::String), ("a", Type::Number)]);
    // Missing attributes are written as null, keys sorted.
    let bytes = msgpack::encode(&Value::object([("b", s("x"))]), &ty).unwrap();
    assert_eq!(bytes, hex("82 a1 61 c0 a1 62 a1 78"));
    assert_eq!(
        json::encode(&Value::object([("b", s("x"))]), &ty).unwrap(),
        br#"{"a":null,"b":"x"}"#
    );
    // Attributes the type lacks are refused.
    let err = msgpack::encode(&Value::object([("c", s("x"))]), &ty).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::UnsupportedAttribute("c".into()));
}

#[test]
fn msgpack_object_shape_errors() {
    let ty = Type::object([("a", Type::String), ("b", Type::String)]);
    let err = msgpack::decode(&hex("81 a1 61 a1 78"), &ty).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::AttributeCount {
            expected: 2,
            found: 1
        }
    );
    assert_eq!(
        err.to_string(),
        "an object with 2 attributes is required (1 given)"
    );
    let err = msgpack::decode(&hex("82 a1 61 a1 78 a1 7a a1 78"), &ty).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::UnsupportedAttribute("z".into()));
    let err = msgpack::decode(&hex("82 a1 61 a1 78 a1 61 a1 78"), &ty).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::DuplicateKey("a".into()));
    let err = msgpack::decode(&hex("82 01 a1 78 a1 62 a1 78"), &ty).unwrap_err();
    assert!(err.to_string().contains("non-string key"), "{err}");
    // Nested errors carry their path.
    let outer = Type::object([("inner", Type::map(ty.clone()))]);
    let err = msgpack::decode(
        &hex("81 a5 69 6e 6e 65 72 81 a1 6b 82 a1 61 01 a1 62 c0"),
        &outer,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"inner["k"].a: string is required, found a MessagePack integer"#
    );
}

#[test]
fn msgpack_framing_errors() {
    let ty = Type::String;
    let err = msgpack::decode(&hex("a1 78 c0"), &ty).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::TrailingData);
    let err = msgpack::decode(&hex("a3 78"), &ty).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Msgpack(_)), "{err}");
    assert!(msgpack::decode(&[], &ty).is_err());
    let err = msgpack::decode(&hex("93 a1 61"), &Type::tuple([Type::String])).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Msgpack(_)), "{err}");
    let err = msgpack::decode(&hex("92 a1 61 a1 62"), &Type::tuple([Type::String])).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::TupleLength {
            expected: 1,
            found: 2
        }
    );
    let deep = [vec![0x91; 300], vec![0xc0]].concat();
    let mut ty = Type::String;
    for _ in 0..300 {
        ty = Type::list(ty);
    }
    assert!(msgpack::decode(&deep, &ty).is_err());
}

// ---- JSON leniency ----

#[test]
fn json_decoding_is_lenient_like_cty() {
    let ty = Type::object([
        ("s", Type::String),
        ("n", Type::Number),
        ("b", Type::Bool),
        ("missing", Type::list(Type::String)),
    ]);
    let v = json_decode(r#"{"s": 1.50, "n": "2.50", "b": "true"}"#, &ty).unwrap();
    assert_eq!(
        v,
        Value::object([
            ("s", s("1.50")), // a JSON number read as a string keeps its text
            ("n", n("2.5")),
            ("b", Value::Bool(true)),
            ("missing", Value::Null),
        ])
    );
    assert_eq!(json_decode("false", &Type::String).unwrap(), s("false"));
    assert_eq!(
        json_decode(r#""0""#, &Type::Bool).unwrap(),
        Value::Bool(false)
    );
    assert!(json_decode(r#""yes""#, &Type::Bool).is_err());
    assert!(json_decode(r#""TRUE""#, &Type::Bool).is_err());
    assert!(json_decode("1", &Type::Bool).is_err());
    assert!(json_decode(r#""abc""#, &Type::Number).is_err());
    assert!(json_decode("[]", &Type::String).is_err());
}

#[test]
fn json_undefined_attributes() {
    let ty = Type::object([
        ("a", Type::String),
        ("nested", Type::object([("x", Type::Number)])),
    ]);
    let text = r#"{"a":"x","old":1,"nested":{"x":1,"gone":true}}"#;
    let err = json_decode(text, &ty).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::UnsupportedAttribute("old".into()));
    let lenient = DecodeOptions {
        ignore_undefined_attributes: true,
    };
    let v = json::decode(text.as_bytes(), &ty, lenient).unwrap();
    assert_eq!(
        v,
        Value::object([("a", s("x")), ("nested", Value::object([("x", n("1"))]))])
    );
    let err = json_decode(r#"{"a":"x","a":"y"}"#, &ty).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::DuplicateKey("a".into()));
    let err = json_decode(r#"{"a":"x"} x"#, &ty).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::JsonSyntax(_)), "{err}");
}

#[test]
fn json_collection_errors_have_paths() {
    let ty = Type::object([("t", Type::tuple([Type::String, Type::Number]))]);
    let err = json_decode(r#"{"t":["a"]}"#, &ty).unwrap_err();
    assert_eq!(
        err.to_string(),
        "t: a tuple with 2 elements is required (1 given)"
    );
    let err = json_decode(r#"{"t":["a", true]}"#, &ty).unwrap_err();
    assert_eq!(
        err.to_string(),
        "t[1]: number is required, found a JSON boolean"
    );
    let ty = Type::map(Type::list(Type::Number));
    let err = json_decode(r#"{"k":[1,"x"]}"#, &ty).unwrap_err();
    assert_eq!(err.full_path().to_string(), r#"["k"][1]"#);
}

#[test]
fn encoder_type_mismatches_name_both_sides() {
    let ty = Type::object([("tags", Type::set(Type::String))]);
    let v = Value::object([("tags", Value::list([s("a")]))]);
    let err = msgpack::encode(&v, &ty).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tags: set of string is required, found a list value"
    );
    assert_eq!(conform(&v, &ty), Err(err));
    assert!(conform(&Value::object([("tags", Value::set([s("a")]))]), &ty).is_ok());
}

// ---- generated round trips ----

/// xorshift64*: deterministic, dependency-free randomness for the loop below.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn gen_type(rng: &mut Rng, depth: u32) -> Type {
    let leaf = depth == 0 || rng.below(3) == 0;
    if leaf {
        return rng
            .pick(&[Type::String, Type::Number, Type::Bool, Type::Dynamic])
            .clone();
    }
    match rng.below(5) {
        0 => Type::list(gen_type(rng, depth - 1)),
        1 => Type::set(gen_type(rng, depth - 1)),
        2 => Type::map(gen_type(rng, depth - 1)),
        3 => {
            let count = rng.below(4);
            Type::object((0..count).map(|i| (format!("attr_{i}"), gen_type(rng, depth - 1))))
        }
        _ => {
            let count = rng.below(3);
            Type::tuple((0..count).map(|_| gen_type(rng, depth - 1)))
        }
    }
}

fn gen_number(rng: &mut Rng) -> Number {
    match rng.below(4) {
        0 => Number::from_i64(rng.next() as i64 >> rng.below(64)),
        1 => Number::from_u64(rng.next()),
        2 => {
            let x = f64::from_bits(rng.next());
            Number::from_f64(if x.is_nan() { 0.25 } else { x }).unwrap()
        }
        _ => Number::parse(rng.pick::<&str>(&[
            "0.1",
            "1e400",
            "-1e-300",
            "18446744073709551616",
            "3.14159265358979323846264338327950288",
            "-0",
        ]))
        .unwrap(),
    }
}

fn gen_value(rng: &mut Rng, ty: &Type, depth: u32, allow_unknown: bool) -> Value {
    match rng.below(12) {
        0 => return Value::Null,
        1 if allow_unknown => return Value::Unknown,
        _ => {}
    }
    let elems = |rng: &mut Rng, ety: &Type| -> Vec<Value> {
        (0..rng.below(4))
            .map(|_| gen_value(rng, ety, depth, allow_unknown))
            .collect()
    };
    match ty {
        Type::String => Value::string(*rng.pick(&[
            "",
            "a",
            "😀",
            "e\u{301}",
            "\"\\\n",
            "long text with spaces",
        ])),
        Type::Number => Value::Number(gen_number(rng)),
        Type::Bool => Value::Bool(rng.below(2) == 0),
        Type::Dynamic => {
            let inner_ty = gen_type(rng, depth.min(2));
            if inner_ty == Type::Dynamic {
                // cty writes a null of type dynamic as plain nil; that is Value::Null.
                return Value::Null;
            }
            let inner = gen_value(rng, &inner_ty, depth.saturating_sub(1), allow_unknown);
            Value::dynamic(inner_ty, inner)
        }
        Type::List(ety) => Value::List(elems(rng, ety)),
        Type::Set(ety) => Value::Set(elems(rng, ety)),
        Type::Map(ety) => Value::Map(
            elems(rng, ety)
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("k{i}✓"), v))
                .collect(),
        ),
        Type::Object(attrs) => Value::Object(
            attrs
                .iter()
                .map(|(name, aty)| (name.clone(), gen_value(rng, aty, depth, allow_unknown)))
                .collect(),
        ),
        Type::Tuple(etys) => Value::Tuple(
            etys.iter()
                .map(|ety| gen_value(rng, ety, depth, allow_unknown))
                .collect(),
        ),
    }
}

#[test]
fn generated_values_round_trip_in_both_forms() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..2000 {
        let ty = gen_type(&mut rng, 4);
        let with_unknowns = gen_value(&mut rng, &ty, 3, true);
        mp_round_trip(&with_unknowns, &ty);
        let known = gen_value(&mut rng, &ty, 3, false);
        mp_round_trip(&known, &ty);
        json_round_trip(&known, &ty);
        // Type JSON round trips too.
        assert_eq!(Type::from_json(&ty.to_json()).unwrap(), ty);
    }
}
