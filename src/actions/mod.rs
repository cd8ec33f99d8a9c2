//! Actions (Terraform 1.14 and later), one file each.

pub(crate) mod workload_identity_verify;
