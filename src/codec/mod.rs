//! The value and schema codec: cty types and values, and their wire forms
//! (`DynamicValue` msgpack and JSON, type JSON). Knows nothing of OpenAI or of
//! the framework above it.

mod number;
mod types;
mod value;

pub use number::Number;
pub use types::Type;
pub use value::Value;
