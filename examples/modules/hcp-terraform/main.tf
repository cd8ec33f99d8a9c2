# HCP Terraform / Terraform Enterprise dynamic credentials: a workload
# identity provider (unless an existing one is given) and one mapping that
# pins an organization and a workspace or project by their ids, never by
# their names (unique only within an organization), optionally to one run
# phase.
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
  description = "HCP Terraform workload identity tokens"
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

  attribute_matchers = {
    for claim, value in {
      terraform_organization_id = var.organization_id
      terraform_workspace_id    = var.workspace_id
      terraform_project_id      = var.terraform_project_id
      terraform_run_phase       = var.run_phase
    } : claim => value if value != null
  }
}

resource "openai_service_account_mapping" "this" {
  workload_identity_provider_id = local.workload_identity_provider_id
  project_id                    = var.project_id
  service_account_id            = var.service_account_id
  name                          = var.mapping_name
  description                   = "HCP Terraform: ${coalesce(var.workspace_id, var.terraform_project_id, var.organization_id)}"
  attribute_matchers            = local.attribute_matchers
  scopes                        = var.scopes

  lifecycle {
    precondition {
      condition     = var.workspace_id != null || var.terraform_project_id != null
      error_message = "Set workspace_id or terraform_project_id: a mapping on the organization alone would trust every workspace of it."
    }
  }
}
