//! Managed resources, one file each.

pub(crate) mod project_service_account;
pub(crate) mod rate_limit_report;
pub(crate) mod service_account_mapping;
pub(crate) mod unmanaged_kind;
pub(crate) mod workload_identity_provider;
