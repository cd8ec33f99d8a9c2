//! The Admin API client against the emulator on loopback (scripted to
//! misbehave where a test needs it): retries, Retry-After, pacing under
//! rate limits, lost creates,
//! typed errors, pagination and logging.

mod support;

mod bounded;
mod emulator;
mod http;
mod logs;
mod rate_limits;
mod redaction;
mod retry;
