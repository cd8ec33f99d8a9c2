//! cty numbers are arbitrary-precision decimals. We keep the canonical decimal
//! text (no exponent, no redundant zeros), which round-trips losslessly through
//! msgpack and JSON and compares by value.

/// An arbitrary-precision decimal number, stored as canonical decimal text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Number(String);
