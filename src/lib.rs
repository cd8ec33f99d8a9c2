//! terraform-provider-openai: a Terraform/OpenTofu provider for OpenAI Workload
//! Identity Federation, written against the plugin protocol directly.
//!
//! Layers (arrows only point down):
//! - [`plugin`]: go-plugin handshake, AutoMTLS, gRPC services (transport only).
//! - [`framework`]: resource/data-source traits and the `tfplugin6.Provider` service.
//! - [`codec`]: cty types and values, msgpack/JSON `DynamicValue`s.
//! - [`openai`]: the provider itself: config, resources, data sources, limits.
//! - [`api`]: typed OpenAI Admin API client and the models shared with the emulator.
//! - [`emulator`]: a local Admin API + token exchange server for tests and demos.

pub mod api;
pub mod codec;
pub mod emulator;
pub mod framework;
pub mod logging;
pub mod openai;
pub mod plugin;
pub mod proto;
pub mod secret;
