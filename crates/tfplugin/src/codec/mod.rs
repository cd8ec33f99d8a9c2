//! The value and schema codec: cty types and values, and their wire forms
//! (`DynamicValue` msgpack and JSON, type JSON). Knows nothing of any provider or of
//! the framework above it, nor of the protobuf messages that carry the bytes.
//!
//! - [`Type`]: `to_json` / `from_json` (type JSON, `docs/reference/plugin-protocol.md#type-json`),
//!   `Display` (`list of string`).
//! - [`Number`]: canonical decimal text, exact through both wire forms.
//! - [`Value`]: untyped values; a [`Type`] gives them meaning.
//! - [`msgpack::encode`] / [`msgpack::decode`], [`json::encode`] / [`json::decode`].
//! - [`CodecError`] carries a [`Path`] so callers can point a diagnostic at it.

mod error;
mod exact_float;
#[doc(hidden)]
pub mod fuzzing;
pub mod json;
mod json_syntax;
pub mod msgpack;
mod number;
mod path;
mod types;
mod value;

#[cfg(test)]
mod tests;

pub use error::{CodecError, ErrorKind};
pub use json::DecodeOptions;
pub use number::{Number, NumberError};
pub use path::{Path, PathStep};
pub use types::Type;
pub use value::{ObjectBuilder, Value};

/// Checks that `value` can be encoded as `ty` (the same rules as the msgpack
/// encoder, which it runs and discards).
pub fn conform(value: &Value, ty: &Type) -> Result<(), CodecError> {
    msgpack::encode(value, ty).map(drop)
}
