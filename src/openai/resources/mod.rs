//! Managed resources, one file each.

pub mod service_account_mapping;
pub mod workload_identity_provider;
