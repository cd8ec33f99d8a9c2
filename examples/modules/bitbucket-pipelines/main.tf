# Bitbucket Pipelines: a workload identity provider for one workspace's
# issuer and one mapping that pins the workspace and a repository by their
# UUIDs, and optionally a deployment environment. The issuer URL names the
# workspace by its slug, which can be changed and then taken by another
# workspace: the UUIDs are what keep that workspace's steps out.
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
  description = "Bitbucket Pipelines OIDC tokens"
  issuer      = local.issuer
  audience    = local.audience
}

locals {
  issuer   = "https://api.bitbucket.org/2.0/workspaces/${var.workspace}/pipelines-config/identity/oidc"
  audience = coalesce(var.audience, "ari:cloud:bitbucket::workspace/${trim(var.workspace_uuid, "{}")}")

  workload_identity_provider_id = coalesce(
    var.workload_identity_provider_id,
    one(openai_workload_identity_provider.this[*].id),
  )

  attribute_matchers = {
    for claim, value in {
      workspaceUuid             = var.workspace_uuid
      repositoryUuid            = var.repository_uuid
      deploymentEnvironmentUuid = var.deployment_environment_uuid
    } : claim => value if value != null
  }
}

resource "openai_service_account_mapping" "this" {
  workload_identity_provider_id = local.workload_identity_provider_id
  project_id                    = var.project_id
  service_account_id            = var.service_account_id
  name                          = var.mapping_name
  description                   = "Bitbucket Pipelines: ${var.workspace} ${var.repository_uuid}"
  attribute_matchers            = local.attribute_matchers
  scopes                        = var.scopes
}
