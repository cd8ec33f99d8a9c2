//! The Admin API client against servers on loopback: retries, Retry-After,
//! lost creates, typed errors, pagination and logging.

mod support;

mod emulator;
mod http;
mod logs;
mod retry;
