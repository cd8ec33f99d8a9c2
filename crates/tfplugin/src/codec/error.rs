//! The codec's error: what went wrong and where in the value it happened.

use std::fmt;

use super::number::NumberError;
use super::path::{Path, PathStep};

/// What went wrong while encoding or decoding a value or type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    #[error("malformed MessagePack: {0}")]
    Msgpack(String),
    #[error("malformed JSON: {0}")]
    JsonSyntax(String),
    #[error("invalid type description: {0}")]
    TypeJson(String),
    /// The value (or wire item) is not of the kind the type asks for.
    #[error("{expected} is required, found {found}")]
    Mismatch { expected: String, found: String },
    /// JSON has no way to write an unknown value.
    #[error("value is not known")]
    NotKnown,
    /// JSON has no way to write an infinite number.
    #[error("infinite numbers cannot be written as JSON")]
    Infinity,
    #[error(transparent)]
    Number(#[from] NumberError),
    #[error("an object with {expected} attributes is required ({found} given)")]
    AttributeCount { expected: usize, found: usize },
    #[error("unsupported attribute {0:?}")]
    UnsupportedAttribute(String),
    #[error("a tuple with {expected} elements is required ({found} given)")]
    TupleLength { expected: usize, found: usize },
    #[error("duplicate key {0:?}")]
    DuplicateKey(String),
    #[error("unsupported MessagePack extension type {ext_type} with length {len}")]
    UnsupportedExtension { ext_type: i8, len: usize },
    #[error("invalid unknown-value refinements: {0}")]
    Refinement(String),
    /// A `dynamic` slot's wrapper is malformed (wrong shape, missing `type`...).
    #[error("invalid dynamically-typed value: {0}")]
    Dynamic(String),
    #[error("unexpected data after the value")]
    TrailingData,
    #[error("value nests deeper than {0} levels")]
    TooDeep(usize),
    #[error("collection has too many elements for MessagePack ({0})")]
    TooLong(usize),
}

/// A codec failure with the path of the offending part of the value.
///
/// `Display` renders `path: message`, or just the message at the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodecError {
    path: Path,
    kind: ErrorKind,
}

impl CodecError {
    pub fn new(kind: ErrorKind) -> Self {
        CodecError {
            path: Path::root(),
            kind,
        }
    }

    pub fn with_path(kind: ErrorKind, path: Path) -> Self {
        CodecError { path, kind }
    }

    /// Where in the value the problem is (empty: the whole value).
    pub fn path(&self) -> &[PathStep] {
        self.path.steps()
    }

    /// The same path as a [`Path`] (for `Display`).
    pub fn full_path(&self) -> &Path {
        &self.path
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    pub(crate) fn mismatch(expected: impl fmt::Display, found: impl Into<String>) -> Self {
        CodecError::new(ErrorKind::Mismatch {
            expected: expected.to_string(),
            found: found.into(),
        })
    }

    /// Records that the error happened below `step` (called while unwinding).
    pub(crate) fn under(mut self, step: PathStep) -> Self {
        self.path.prepend(step);
        self
    }

    pub(crate) fn under_attr(self, name: &str) -> Self {
        self.under(PathStep::Attr(name.to_owned()))
    }

    pub(crate) fn under_key(self, key: &str) -> Self {
        self.under(PathStep::Key(key.to_owned()))
    }

    pub(crate) fn under_index(self, index: usize) -> Self {
        self.under(PathStep::Index(
            i64::try_from(index).expect("collection index fits in i64"),
        ))
    }
}

impl From<ErrorKind> for CodecError {
    fn from(kind: ErrorKind) -> Self {
        CodecError::new(kind)
    }
}

impl From<NumberError> for CodecError {
    fn from(e: NumberError) -> Self {
        CodecError::new(ErrorKind::Number(e))
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{}: {}", self.path, self.kind)
        }
    }
}

impl std::error::Error for CodecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Number(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_prefixes_the_path() {
        let e = CodecError::mismatch("string", "a number")
            .under_index(2)
            .under_attr("rules");
        assert_eq!(
            e.to_string(),
            "rules[2]: string is required, found a number"
        );
        assert_eq!(
            e.path(),
            &[PathStep::Attr("rules".into()), PathStep::Index(2)]
        );
        let root = CodecError::new(ErrorKind::TrailingData);
        assert_eq!(root.to_string(), "unexpected data after the value");
    }
}
