//! Data sources, one file each; `lookup` holds what the single-object ones share.

pub mod lookup;
pub mod project;
pub mod project_api_keys;
pub mod project_service_account;
pub mod service_account_mappings;
pub mod workload_identity_issuer;
pub mod workload_identity_limits;
pub mod workload_identity_match;
pub mod workload_identity_provider;
pub mod workload_identity_providers;
