variable "issuer" {
  description = "`https://accounts.google.com` for ID tokens from the metadata server (Compute Engine, Cloud Run, Cloud Functions, GKE with Workload Identity acting as a Google service account). For GKE projected service account tokens: the cluster's issuer (`kubectl get --raw /.well-known/openid-configuration | jq -r .issuer`)."
  type        = string
  default     = "https://accounts.google.com"
}

variable "audience" {
  description = "The audience the workload requests (the `audience` parameter of the metadata server's identity endpoint, or the projected token audience on GKE)."
  type        = string
  default     = "https://api.openai.com/v1"
}

variable "google_service_account_unique_id" {
  description = "Metadata server: the numeric unique id of the Google service account the workload runs as (`gcloud iam service-accounts describe EMAIL --format='value(uniqueId)'`); tokens carry it as `sub`. Set this, or the two gke_ variables."
  type        = string
  default     = null

  validation {
    condition     = var.google_service_account_unique_id == null || can(regex("^[0-9]+$", var.google_service_account_unique_id))
    error_message = "The unique id is the service account's numeric uniqueId, not its email."
  }
}

variable "google_service_account_email" {
  description = "Metadata server: additionally pin the token's `email` claim (the workload must request the token with `format=full`)."
  type        = string
  default     = null
}

variable "gke_namespace" {
  description = "GKE projected tokens: the namespace of the workload's Kubernetes service account."
  type        = string
  default     = null
}

variable "gke_service_account" {
  description = "GKE projected tokens: the Kubernetes service account the pods run as."
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
  default     = "google-cloud"
}

variable "mapping_name" {
  description = "Optional name of the mapping (unique within the provider)."
  type        = string
  default     = null
}
