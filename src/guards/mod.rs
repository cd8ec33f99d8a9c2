//! The plan-time guards: what this provider refuses or warns about before
//! anything is written, and checks again right before a write.
//!
//! Resources call one entry point each from `modify_plan`
//! ([`plan_provider`], [`plan_mapping`]) and, at apply, the re-checks next
//! to their writes. The guards and the per-process state they share:
//!
//! | guard | module | state |
//! | --- | --- | --- |
//! | limits (50 providers, 50 mappings per provider) | [`crate::limits`] | `Ledger`, shared across aliases by its run log |
//! | names (unique per organization / per provider) | `provider`, `mapping` | `inventory::Names` |
//! | references (provider, project, service account exist) | `mapping` | the listing cache |
//! | tenant pinning (shared issuers) | [`crate::tenant_pinning`], `provider`, `mapping` | `PinningLedger` |
//!
//! How each operation is classified, and which guard may refuse, warn or
//! must allow it, is the decision table in [`operation`].

pub(crate) mod mapping;
pub(crate) mod operation;
pub(crate) mod provider;

pub(crate) use mapping::plan_mapping;
pub(crate) use provider::{name_conflict, plan_provider};
