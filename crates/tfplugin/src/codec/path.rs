//! Paths into a value (`issuer`, `rules[0].claims["sub"]`), used to say where
//! a codec error happened. They map one-to-one onto the protocol's
//! `AttributePath` steps (`docs/reference/plugin-protocol.md#attribute-paths`); elements of sets
//! have no addressable key, so a path stops at the set itself.

use std::fmt;
use std::ops::Deref;

/// One step of a [`Path`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// An object attribute or nested block name (`attribute_name`).
    Attr(String),
    /// A map key or map-nested block label (`element_key_string`).
    Key(String),
    /// A list or tuple position (`element_key_int`).
    Index(i64),
}

/// A path from the root of a value to one of its parts. The empty path is the root.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Path(Vec<PathStep>);

impl Path {
    /// The root path (no steps).
    pub fn root() -> Self {
        Path(Vec::new())
    }

    /// This path extended by an attribute step.
    pub fn attr(mut self, name: impl Into<String>) -> Self {
        self.0.push(PathStep::Attr(name.into()));
        self
    }

    /// This path extended by a map-key step.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.0.push(PathStep::Key(key.into()));
        self
    }

    /// This path extended by a list/tuple index step.
    pub fn index(mut self, index: i64) -> Self {
        self.0.push(PathStep::Index(index));
        self
    }

    pub fn push(&mut self, step: PathStep) {
        self.0.push(step);
    }

    pub fn steps(&self) -> &[PathStep] {
        &self.0
    }

    pub fn into_steps(self) -> Vec<PathStep> {
        self.0
    }

    /// Inserts `step` at the front; errors collect their path this way while
    /// unwinding out of the recursion.
    pub(crate) fn prepend(&mut self, step: PathStep) {
        self.0.insert(0, step);
    }
}

impl Deref for Path {
    type Target = [PathStep];

    fn deref(&self) -> &[PathStep] {
        &self.0
    }
}

impl From<Vec<PathStep>> for Path {
    fn from(steps: Vec<PathStep>) -> Self {
        Path(steps)
    }
}

impl FromIterator<PathStep> for Path {
    fn from_iter<I: IntoIterator<Item = PathStep>>(iter: I) -> Self {
        Path(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Path {
    type Item = &'a PathStep;
    type IntoIter = std::slice::Iter<'a, PathStep>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Renders like Terraform addresses: `a.b[0]["k"]`; the root renders as "".
impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attr(name) if i == 0 => f.write_str(name)?,
                PathStep::Attr(name) => write!(f, ".{name}")?,
                PathStep::Key(key) => {
                    f.write_str("[\"")?;
                    for c in key.chars() {
                        match c {
                            '"' => f.write_str("\\\"")?,
                            '\\' => f.write_str("\\\\")?,
                            '\n' => f.write_str("\\n")?,
                            '\r' => f.write_str("\\r")?,
                            '\t' => f.write_str("\\t")?,
                            c if c.is_control() => write!(f, "\\u{:04x}", c as u32)?,
                            c => write!(f, "{c}")?,
                        }
                    }
                    f.write_str("\"]")?;
                }
                PathStep::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_terraform_addresses() {
        assert_eq!(Path::root().to_string(), "");
        assert_eq!(Path::root().attr("issuer").to_string(), "issuer");
        let p = Path::root()
            .attr("attribute_transformations")
            .index(0)
            .attr("expression");
        assert_eq!(p.to_string(), "attribute_transformations[0].expression");
        let p = Path::root().attr("tags").key("a\"b\\c\n");
        assert_eq!(p.to_string(), r#"tags["a\"b\\c\n"]"#);
        assert_eq!(Path::root().index(3).attr("x").to_string(), "[3].x");
    }

    #[test]
    fn prepend_builds_paths_from_the_inside_out() {
        let mut p = Path::root().attr("leaf");
        p.prepend(PathStep::Index(2));
        p.prepend(PathStep::Attr("outer".into()));
        assert_eq!(p.steps().len(), 3);
        assert_eq!(p.to_string(), "outer[2].leaf");
    }
}
