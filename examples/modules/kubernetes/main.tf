# A Kubernetes cluster as workload identity provider (keys uploaded or
# discovered) and one mapping for a namespace's service account.

terraform {
  required_version = ">= 1.5"

  required_providers {
    openai = {
      source = "openai-wif/openai"
    }
  }
}

resource "openai_workload_identity_provider" "this" {
  count = var.workload_identity_provider_id == null ? 1 : 0

  name        = var.provider_name
  description = "Kubernetes service account tokens of ${var.issuer}"
  issuer      = var.issuer
  audience    = var.audience
  jwks_json   = var.jwks_json
}

locals {
  workload_identity_provider_id = coalesce(
    var.workload_identity_provider_id,
    one(openai_workload_identity_provider.this[*].id),
  )

  # Projected tokens carry sub = system:serviceaccount:<namespace>:<name>.
  attribute_matchers = {
    sub = "system:serviceaccount:${var.namespace}:${var.kubernetes_service_account}"
  }
}

resource "openai_service_account_mapping" "this" {
  workload_identity_provider_id = local.workload_identity_provider_id
  project_id                    = var.project_id
  service_account_id            = var.service_account_id
  name                          = var.mapping_name
  description                   = "Kubernetes: ${var.namespace}/${var.kubernetes_service_account}"
  attribute_matchers            = local.attribute_matchers
  scopes                        = var.scopes
}
