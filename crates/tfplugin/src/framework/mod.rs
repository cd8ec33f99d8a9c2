//! The resource framework: traits for resources, data sources and ephemeral
//! resources, their request/response structs, the generic planner, and the
//! gRPC service that dispatches to them. It knows nothing of any particular
//! provider.

pub mod diagnostics;
pub mod function;
pub mod messages;
pub mod model;
pub mod plan;
pub mod resource;
pub mod schema;
pub mod server;
pub mod validation;
mod wire;

pub use diagnostics::{Diagnostic, Diagnostics, Severity};
pub use function::{Function, FunctionError, Parameter, Signature};
pub use messages::*;
pub use plan::{PlanCtx, attr, set_attr};
pub use resource::{Action, DataSource, EphemeralResource, Provider, Resource};
pub use schema::{Attribute, IdentitySchema, Mode, Schema};
pub use server::ProviderService;
pub use validation::{AttributeValidator, ConfigRules, InRange, NotEmpty, OneOf, check_config};
