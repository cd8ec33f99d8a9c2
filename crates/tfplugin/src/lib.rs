//! tfplugin: Terraform plugin protocol 6 for providers written in Rust.
//!
//! It knows nothing of any particular provider; the provider's name, address
//! and objects come from the crate that uses it. Layers, arrows pointing down:
//! - [`plugin`]: go-plugin handshake, AutoMTLS, gRPC services (transport only).
//! - [`framework`]: provider/resource/data-source traits, typed models,
//!   validation (attribute validators and per-object rules), the generic
//!   planner and the `tfplugin6.Provider` service that dispatches to them.
//! - [`codec`]: cty types and values, msgpack/JSON `DynamicValue`s.
//! - [`logging`]: hclog-style JSON logs on stderr, as Terraform reads them.
//! - [`proto`]: code generated from `proto/`.

pub mod codec;
pub mod framework;
pub mod logging;
pub mod plugin;
pub mod proto;
