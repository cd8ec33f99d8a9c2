//! Actions (Terraform 1.14 and later), one file each.

pub mod workload_identity_verify;
