# CircleCI: a workload identity provider for one CircleCI organization's
# issuer (its URL carries the organization's id, so no other organization's
# tokens verify) and one mapping that pins a project by its id, and
# optionally a context.
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
  description = "CircleCI OIDC tokens"
  issuer      = local.issuer
  audience    = local.audience
}

locals {
  issuer   = "https://oidc.circleci.com/org/${var.organization_id}"
  audience = coalesce(var.audience, var.organization_id)

  workload_identity_provider_id = coalesce(
    var.workload_identity_provider_id,
    one(openai_workload_identity_provider.this[*].id),
  )

  attribute_matchers = {
    for claim, value in {
      "oidc.circleci.com/project-id"  = var.circleci_project_id
      "oidc.circleci.com/context-ids" = var.context_id
    } : claim => value if value != null
  }
}

resource "openai_service_account_mapping" "this" {
  workload_identity_provider_id = local.workload_identity_provider_id
  project_id                    = var.project_id
  service_account_id            = var.service_account_id
  name                          = var.mapping_name
  description                   = "CircleCI: project ${var.circleci_project_id}"
  attribute_matchers            = local.attribute_matchers
  scopes                        = var.scopes
}
