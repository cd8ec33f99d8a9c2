# AWS as workload identity provider: either IAM outbound web identity
# federation (tokens from sts:GetWebIdentityToken, `sub` = role ARN) or an
# EKS cluster's OIDC issuer (`sub` = the pod's Kubernetes service account).
# Both publish discovery documents, so keys are discovered.

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
  description = var.role_arn != null ? "AWS outbound web identity federation" : "EKS service account tokens"
  issuer      = var.issuer
  audience    = var.audience
}

locals {
  workload_identity_provider_id = coalesce(
    var.workload_identity_provider_id,
    one(openai_workload_identity_provider.this[*].id),
  )

  subject = (
    var.role_arn != null
    ? var.role_arn
    : "system:serviceaccount:${coalesce(var.eks_namespace, "-")}:${coalesce(var.eks_service_account, "-")}"
  )

  attribute_matchers = { sub = local.subject }
}

resource "openai_service_account_mapping" "this" {
  workload_identity_provider_id = local.workload_identity_provider_id
  project_id                    = var.project_id
  service_account_id            = var.service_account_id
  name                          = var.mapping_name
  description                   = "AWS: ${local.subject}"
  attribute_matchers            = local.attribute_matchers
  scopes                        = var.scopes

  lifecycle {
    precondition {
      condition     = (var.role_arn != null) != (var.eks_namespace != null || var.eks_service_account != null)
      error_message = "Set either role_arn (outbound federation) or eks_namespace and eks_service_account (EKS), not both and not neither."
    }
    precondition {
      condition     = (var.eks_namespace == null) == (var.eks_service_account == null)
      error_message = "EKS needs both eks_namespace and eks_service_account."
    }
  }
}
