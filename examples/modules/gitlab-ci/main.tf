# GitLab CI/CD: a workload identity provider for a GitLab instance (unless an
# existing one is given) and one mapping that pins a project by its numeric
# id, never by its path (paths are reusable after a rename or deletion), to a
# protected ref, a branch or tag, and/or an environment.
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
  description = "GitLab CI/CD ID tokens"
  issuer      = local.issuer
  audience    = local.audience
}

locals {
  issuer   = var.issuer
  audience = var.audience

  workload_identity_provider_id = coalesce(
    var.workload_identity_provider_id,
    one(openai_workload_identity_provider.this[*].id),
  )

  # Only the claims that were asked for. GitLab sends ids and flags as strings.
  attribute_matchers = {
    for claim, value in {
      project_id    = var.gitlab_project_id
      namespace_id  = var.gitlab_namespace_id
      ref           = var.ref
      ref_type      = var.ref == null ? null : var.ref_type
      ref_protected = var.protected_only ? "true" : null
      environment   = var.environment
    } : claim => value if value != null
  }
}

resource "openai_service_account_mapping" "this" {
  workload_identity_provider_id = local.workload_identity_provider_id
  project_id                    = var.project_id
  service_account_id            = var.service_account_id
  name                          = var.mapping_name
  description                   = "GitLab CI/CD: project ${var.gitlab_project_id}"
  attribute_matchers            = local.attribute_matchers
  scopes                        = var.scopes

  lifecycle {
    precondition {
      condition     = var.protected_only || var.ref != null || var.environment != null
      error_message = "Set ref or environment, or keep protected_only: a mapping on the project alone would trust every pipeline of it, merge requests included."
    }
  }
}
