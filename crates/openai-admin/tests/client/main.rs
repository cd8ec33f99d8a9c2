//! The Admin API client against the emulator on loopback (scripted to
//! misbehave where a test needs it): retries, Retry-After, lost creates,
//! typed errors, pagination and logging.

mod support;

mod emulator;
mod http;
mod logs;
mod retry;
