//! The OpenAI Admin API: typed models (shared with the emulator) and the client.

pub mod models;
