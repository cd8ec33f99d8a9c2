//! Data sources, one file each; `lookup` holds what the single-object ones share.

pub(crate) mod lookup;
pub(crate) mod project;
pub(crate) mod project_api_keys;
pub(crate) mod project_service_account;
pub(crate) mod service_account_mappings;
pub(crate) mod workload_identity_issuer;
pub(crate) mod workload_identity_limits;
pub(crate) mod workload_identity_match;
pub(crate) mod workload_identity_provider;
pub(crate) mod workload_identity_providers;
