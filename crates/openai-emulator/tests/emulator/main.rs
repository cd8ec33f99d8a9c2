//! The emulator over real HTTP on loopback: every Admin API endpoint and
//! error, the token exchange, scripted and random faults, rate limits, and
//! persistence.

mod support;

mod admin;
mod cli;
mod contract;
mod exchange;
mod faults;
mod key_fetch;
mod models_api;
mod persist;
mod rate_limits;
mod script;
mod slowloris;
