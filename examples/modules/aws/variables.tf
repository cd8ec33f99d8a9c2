variable "issuer" {
  description = "For IAM outbound web identity federation: the account-specific issuer that `aws iam enable-outbound-web-identity-federation` returns (e.g. `https://abc123-def456.tokens.sts.global.api.aws`). For EKS: the cluster's OIDC issuer (`aws eks describe-cluster --query cluster.identity.oidc.issuer`)."
  type        = string
}

variable "audience" {
  description = "The audience the workload requests: the `Audience` of `sts:GetWebIdentityToken`, or the projected token audience on EKS."
  type        = string
  default     = "https://api.openai.com/v1"
}

variable "role_arn" {
  description = "Outbound federation: the IAM role whose web identity tokens may act as the service account (tokens carry it as `sub`). Set this, or the two eks_ variables."
  type        = string
  default     = null

  validation {
    condition     = var.role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.role_arn))
    error_message = "The role_arn must be an IAM role ARN, e.g. arn:aws:iam::123456789012:role/OpenAIWifRole."
  }
}

variable "eks_namespace" {
  description = "EKS: the namespace of the workload's Kubernetes service account."
  type        = string
  default     = null
}

variable "eks_service_account" {
  description = "EKS: the Kubernetes service account the pods run as."
  type        = string
  default     = null
}

variable "project_id" {
  description = "The OpenAI project of the service account (`proj_...`)."
  type        = string
}

variable "service_account_id" {
  description = "The OpenAI project service account the workload acts as (`svc_acct_...`)."
  type        = string
}

variable "scopes" {
  description = "Restricts the exchanged tokens to these scopes. Null keeps the service account's own permissions."
  type        = set(string)
  default     = null
}

variable "workload_identity_provider_id" {
  description = "An existing workload identity provider (`wip_...`) for this issuer to add the mapping to. Null creates one."
  type        = string
  default     = null
}

variable "provider_name" {
  description = "Name of the workload identity provider this module creates (unique in the organization)."
  type        = string
  default     = "aws"
}

variable "mapping_name" {
  description = "Optional name of the mapping (unique within the provider)."
  type        = string
  default     = null
}
