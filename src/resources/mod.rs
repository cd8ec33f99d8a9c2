//! Managed resources, one file each.

pub mod project_service_account;
pub mod rate_limit_report;
pub mod service_account_mapping;
pub mod unmanaged_kind;
pub mod workload_identity_provider;
