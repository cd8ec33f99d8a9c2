//! The OpenAI Admin API: typed models (shared with the emulator) and the client.

// `ApiError::Status` keeps every diagnostic field inline (status, message,
// type, param, code, request id, endpoint) so callers can match on them;
// errors are the cold path, so their size does not matter.
#![allow(clippy::result_large_err)]

pub mod client;
mod endpoints;
pub mod error;
mod exchange;
pub mod models;
pub mod pagination;
mod recovery;
pub mod retry;

pub use client::{Client, ClientConfig};
pub use error::{ApiError, ExchangeError};
