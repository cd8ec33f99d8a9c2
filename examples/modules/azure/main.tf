# A Microsoft Entra tenant as workload identity provider (keys discovered from
# Entra's metadata) and one mapping that pins a managed identity by tenant
# and client id.

terraform {
  required_version = ">= 1.2"

  required_providers {
    openai = {
      source = "openai-wif/openai"
    }
  }
}

locals {
  issuer = coalesce(var.issuer, "https://login.microsoftonline.com/${var.tenant_id}/v2.0")
}

resource "openai_workload_identity_provider" "this" {
  count = var.workload_identity_provider_id == null ? 1 : 0

  name        = var.provider_name
  description = "Microsoft Entra tenant ${var.tenant_id}"
  issuer      = local.issuer
  audience    = var.audience
}

locals {
  workload_identity_provider_id = coalesce(
    var.workload_identity_provider_id,
    one(openai_workload_identity_provider.this[*].id),
  )

  attribute_matchers = {
    tid                   = var.tenant_id
    (var.client_id_claim) = var.managed_identity_client_id
  }
}

resource "openai_service_account_mapping" "this" {
  workload_identity_provider_id = local.workload_identity_provider_id
  project_id                    = var.project_id
  service_account_id            = var.service_account_id
  name                          = var.mapping_name
  description                   = "Azure managed identity ${var.managed_identity_client_id}"
  attribute_matchers            = local.attribute_matchers
  scopes                        = var.scopes
}
