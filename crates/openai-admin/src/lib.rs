//! openai-admin: the OpenAI Admin API (workload identity providers, federation
//! rules, projects, project service accounts) and the workload identity token
//! exchange: typed models, shared with the emulator, and the client with its
//! retries, pagination and lost-create recovery. It knows nothing of Terraform.

// `ApiError::Status` keeps every diagnostic field inline (status, message,
// type, param, code, request id, endpoint) so callers can match on them;
// errors are the cold path, so their size does not matter.
#![allow(clippy::result_large_err)]

pub mod body;
pub mod client;
mod endpoints;
pub mod error;
mod exchange;
#[cfg(test)]
mod fixture_tests;
#[doc(hidden)]
pub mod fuzzing;
pub mod issuer;
pub mod models;
pub mod models_api;
mod pacing;
pub use pacing::measure_waits;
pub mod pagination;
pub mod proxy;
mod recovery;
pub mod redact;
pub mod refusal;
pub mod retry;
pub mod scopes;
pub mod secret;

pub use client::{Client, ClientConfig};
pub use error::{ApiError, ExchangeError};
pub use proxy::Env;
pub use recovery::{CREATED_AT_SLACK_SECS, rule_matches};
pub use secret::Secret;
pub use tokio_util::sync::CancellationToken;
