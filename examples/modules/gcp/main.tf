# Google Cloud as workload identity provider: Google-signed ID tokens from the
# metadata server (`sub` = the Google service account's unique id), or a GKE
# cluster's projected service account tokens. Keys are discovered.

terraform {
  required_version = ">= 1.2"

  required_providers {
    openai = {
      source = "openai-wif/openai"
    }
  }
}

locals {
  metadata_server = var.google_service_account_unique_id != null
  gke             = var.gke_namespace != null || var.gke_service_account != null
}

resource "openai_workload_identity_provider" "this" {
  count = var.workload_identity_provider_id == null ? 1 : 0

  name        = var.provider_name
  description = local.metadata_server ? "Google service account ID tokens" : "GKE service account tokens"
  issuer      = var.issuer
  audience    = var.audience
}

locals {
  workload_identity_provider_id = coalesce(
    var.workload_identity_provider_id,
    one(openai_workload_identity_provider.this[*].id),
  )

  attribute_matchers = {
    for claim, value in {
      sub = (
        local.metadata_server
        ? var.google_service_account_unique_id
        : "system:serviceaccount:${coalesce(var.gke_namespace, "-")}:${coalesce(var.gke_service_account, "-")}"
      )
      email = var.google_service_account_email
    } : claim => value if value != null
  }
}

resource "openai_service_account_mapping" "this" {
  workload_identity_provider_id = local.workload_identity_provider_id
  project_id                    = var.project_id
  service_account_id            = var.service_account_id
  name                          = var.mapping_name
  description                   = "Google Cloud: ${local.attribute_matchers.sub}"
  attribute_matchers            = local.attribute_matchers
  scopes                        = var.scopes

  lifecycle {
    precondition {
      condition     = local.metadata_server != local.gke
      error_message = "Set either google_service_account_unique_id (metadata server ID tokens) or gke_namespace and gke_service_account (GKE projected tokens), not both and not neither."
    }
    precondition {
      condition     = (var.gke_namespace == null) == (var.gke_service_account == null)
      error_message = "GKE needs both gke_namespace and gke_service_account."
    }
    precondition {
      condition     = !local.gke || var.issuer != "https://accounts.google.com"
      error_message = "GKE projected tokens are issued by the cluster: set issuer to the cluster's issuer URL."
    }
    precondition {
      condition     = var.google_service_account_email == null || local.metadata_server
      error_message = "google_service_account_email applies to metadata server ID tokens only."
    }
  }
}
