variable "issuer" {
  description = "The cluster's service account issuer, exactly as in its tokens' `iss` (`kubectl get --raw /.well-known/openid-configuration | jq -r .issuer`)."
  type        = string
}

variable "jwks_json" {
  description = "The cluster's public signing keys (`kubectl get --raw /openid/v1/jwks`), for clusters OpenAI cannot reach. Null makes OpenAI discover the keys from the issuer, which must then be publicly reachable."
  type        = string
  default     = null
}

variable "namespace" {
  description = "The Kubernetes namespace of the workload's service account."
  type        = string

  validation {
    condition     = length(var.namespace) > 0 && !strcontains(var.namespace, "*") && !strcontains(var.namespace, ":")
    error_message = "The namespace must be a plain namespace name."
  }
}

variable "kubernetes_service_account" {
  description = "The Kubernetes service account the workload's pods run as. `*` admits every service account of the namespace (a prefix match on `sub`)."
  type        = string

  validation {
    condition     = var.kubernetes_service_account == "*" || (length(var.kubernetes_service_account) > 0 && !strcontains(var.kubernetes_service_account, "*") && !strcontains(var.kubernetes_service_account, ":"))
    error_message = "The Kubernetes service account must be a plain name, or * for the whole namespace."
  }
}

variable "audience" {
  description = "The audience of the projected service account token (`serviceAccountToken.audience` in the pod spec)."
  type        = string
  default     = "https://api.openai.com/v1"
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
  description = "An existing workload identity provider (`wip_...`) for this cluster to add the mapping to. Null creates one."
  type        = string
  default     = null
}

variable "provider_name" {
  description = "Name of the workload identity provider this module creates (unique in the organization)."
  type        = string
  default     = "kubernetes"
}

variable "mapping_name" {
  description = "Optional name of the mapping (unique within the provider)."
  type        = string
  default     = null
}
