//! Ephemeral resources (protocol 6.7), one file each: values Terraform
//! uses during one run and never stores in plan or state.

mod refusal;
pub(crate) mod workload_identity_token;
