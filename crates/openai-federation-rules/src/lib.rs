//! OpenAI's workload identity federation rules, in one place so that the provider (plan-time
//! checks, the `matches` and `transform` functions, the `openai_workload_identity_match` data
//! source) and the emulator's token exchange can never disagree.
//!
//! - [`cel`]: attribute transformations, CEL over the one variable `assertion`, evaluated with
//!   the maintained `cel` crate behind a nesting limit checked before parsing.
//! - [`matching`]: attribute matchers, and resolving the one rule of a (provider, service
//!   account) pair that admits a token's claims.
//!
//! The rules are described in `docs/reference/openai-api.md#matching-rules` and
//! `#attribute-transformations`.

pub mod cel;
pub mod fuzzing;
pub mod matching;
