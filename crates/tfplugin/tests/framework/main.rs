//! Tests of tfplugin against `example`, a tiny in-memory provider: the
//! framework's RPCs driven in process, and the plugin transport. One binary,
//! so the test provider compiles once.

mod example;
mod support;

mod actions;
mod data_and_ephemeral;
mod functions;
mod plugin_transport;
mod request_flow;
mod unserved_rpcs;
