# Buildkite: a workload identity provider for Buildkite's agent issuer
# (shared by every Buildkite organization) and one mapping that pins the
# organization and pipeline by their UUIDs, never by their slugs (which can
# be renamed, and pipeline slugs are unique only within an organization).
terraform {
  required_version = ">= 1.2"

  required_providers {
    openai = {
      source = "openai-wif/openai"
    }
  }
}

resource "openai_workload_identity_provider" "this" {
  count = var.workload_identity_provider_id == null ? 1 : 0

  name        = var.provider_name
  description = "Buildkite agent OIDC tokens"
  issuer      = local.issuer
  audience    = local.audience
}

locals {
  issuer   = "https://agent.buildkite.com"
  audience = var.audience

  workload_identity_provider_id = coalesce(
    var.workload_identity_provider_id,
    one(openai_workload_identity_provider.this[*].id),
  )

  attribute_matchers = {
    for claim, value in {
      organization_id = var.organization_id
      pipeline_id     = var.pipeline_id
      build_branch    = var.branch
    } : claim => value if value != null
  }
}

resource "openai_service_account_mapping" "this" {
  workload_identity_provider_id = local.workload_identity_provider_id
  project_id                    = var.project_id
  service_account_id            = var.service_account_id
  name                          = var.mapping_name
  description                   = "Buildkite: pipeline ${var.pipeline_id}"
  attribute_matchers            = local.attribute_matchers
  scopes                        = var.scopes
}
