//! Provider-defined functions (protocol 6.5; Terraform 1.8 and later call them as
//! `provider::<name>::<function>(...)`). Older Terraform never asks for them, so offering
//! functions costs those versions nothing.
//!
//! A function is pure: it gets only its arguments, never the provider's configured data
//! (Terraform may call it before, or without, configuring the provider).

use crate::codec::{Type, Value};
use crate::proto::tfplugin6 as pb;

/// One parameter of a function.
#[derive(Clone, Debug)]
pub struct Parameter {
    pub name: &'static str,
    /// `Type::Dynamic` accepts any value; it reaches [`Function::call`] as
    /// `Value::Dynamic(type, value)` with the type Terraform inferred.
    pub ty: Type,
    pub description: &'static str,
    /// When false (the default), a null argument is refused before the call, naming it.
    pub allow_null: bool,
}

impl Parameter {
    pub fn new(name: &'static str, ty: Type, description: &'static str) -> Self {
        Parameter {
            name,
            ty,
            description,
            allow_null: false,
        }
    }

    pub fn allow_null(mut self) -> Self {
        self.allow_null = true;
        self
    }

    fn to_proto(&self) -> pb::function::Parameter {
        pb::function::Parameter {
            name: self.name.to_owned(),
            r#type: self.ty.to_json(),
            allow_null_value: self.allow_null,
            // Terraform then waits for known values, so calls always see them.
            allow_unknown_values: false,
            description: self.description.to_owned(),
            description_kind: pb::StringKind::Markdown as i32,
        }
    }
}

/// What a function takes and returns, and its docs.
#[derive(Clone, Debug)]
pub struct Signature {
    pub parameters: Vec<Parameter>,
    pub returns: Type,
    /// One line.
    pub summary: &'static str,
    /// Markdown.
    pub description: &'static str,
}

impl Signature {
    pub(crate) fn to_proto(&self) -> pb::Function {
        pb::Function {
            parameters: self.parameters.iter().map(Parameter::to_proto).collect(),
            variadic_parameter: None,
            r#return: Some(pb::function::Return {
                r#type: self.returns.to_json(),
            }),
            summary: self.summary.to_owned(),
            description: self.description.to_owned(),
            description_kind: pb::StringKind::Markdown as i32,
            deprecation_message: String::new(),
        }
    }
}

/// Why a call failed. Terraform shows the text, and points at the argument when one is named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionError {
    pub text: String,
    /// Index of the argument at fault.
    pub argument: Option<usize>,
}

impl FunctionError {
    pub fn new(text: impl Into<String>) -> Self {
        FunctionError {
            text: text.into(),
            argument: None,
        }
    }

    /// An error about argument `index` (0-based).
    pub fn argument(index: usize, text: impl Into<String>) -> Self {
        FunctionError {
            text: text.into(),
            argument: Some(index),
        }
    }

    pub(crate) fn to_proto(&self) -> pb::FunctionError {
        pb::FunctionError {
            text: self.text.clone(),
            function_argument: self.argument.map(|i| i as i64),
        }
    }
}

/// A provider-defined function. Offer it from `Provider::functions`.
pub trait Function: Send + Sync {
    /// The name after `provider::<provider>::`.
    fn name(&self) -> &'static str;
    fn signature(&self) -> Signature;
    /// `args` are decoded against the parameters' types, one per parameter, never unknown,
    /// null only where the parameter allows it. The result must have the return type
    /// (`Value::Dynamic(type, value)` for a dynamic return).
    fn call(&self, args: Vec<Value>) -> Result<Value, FunctionError>;
}
