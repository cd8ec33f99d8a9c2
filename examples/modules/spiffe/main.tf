# A SPIFFE trust domain (its SPIRE server's JWT issuer) as workload identity
# provider and one mapping for a workload's SPIFFE ID.

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
  description = "SPIFFE JWT-SVIDs of ${local.trust_domain}"
  issuer      = var.issuer
  audience    = var.audience
  jwks_json   = var.jwks_json
}

locals {
  workload_identity_provider_id = coalesce(
    var.workload_identity_provider_id,
    one(openai_workload_identity_provider.this[*].id),
  )

  # spiffe://TRUST_DOMAIN/PATH: the trust domain is what the issuer vouches for.
  trust_domain = split("/", trimprefix(var.spiffe_id, "spiffe://"))[0]

  # JWT-SVIDs carry the workload's SPIFFE ID as `sub`.
  attribute_matchers = { sub = var.spiffe_id }
}

resource "openai_service_account_mapping" "this" {
  workload_identity_provider_id = local.workload_identity_provider_id
  project_id                    = var.project_id
  service_account_id            = var.service_account_id
  name                          = var.mapping_name
  description                   = "SPIFFE: ${var.spiffe_id}"
  attribute_matchers            = local.attribute_matchers
  scopes                        = var.scopes
}
