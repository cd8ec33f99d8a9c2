//! Acceptance tests of the provider: real Terraform CLIs (installed by
//! `scripts/install-terraform`) drive the freshly built provider against the
//! emulator on loopback. One binary, so the shared support compiles once.

#[macro_use]
mod support;

mod action_verify;
mod adopt_organization;
mod data_sources;
mod docs_guides;
mod docs_workload_login;
mod ephemeral_token;
mod examples_modules;
mod examples_validate;
mod federation_rules;
mod guards_agreement;
mod guards_names;
mod guards_never_block;
mod harness_smoke;
mod issuer_check;
mod keyless_end_to_end;
mod moved_from_official;
mod provider_foundation;
mod provider_stop;
mod rate_limits;
mod release_mirror;
mod resources_destroy_order;
mod resources_identity_query;
mod resources_lifecycle;
mod resources_limits;
mod resources_plan_advice;
mod resources_plan_checks;
mod resources_refresh_cost;
mod resources_saved_plan;
mod resources_tenant_pinning;
mod resources_validation;
mod sdk_contract;
mod service_account_resource;
mod static_keys;
mod unknown_kinds;
