variable "tenant_id" {
  description = "The Microsoft Entra tenant (directory) id of the managed identity."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-fA-F-]{36}$", var.tenant_id))
    error_message = "The tenant_id must be a tenant GUID."
  }
}

variable "managed_identity_client_id" {
  description = "The client (application) id of the managed identity whose tokens may act as the service account."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-fA-F-]{36}$", var.managed_identity_client_id))
    error_message = "The managed_identity_client_id must be a client id GUID."
  }
}

variable "audience" {
  description = "The Application ID URI of the Entra app the identity requests tokens for (the `resource` of the IMDS request, e.g. `api://<application-client-id>`); the token's `aud`."
  type        = string
}

variable "issuer" {
  description = "The exact `iss` of the identity's tokens. Null means `https://login.microsoftonline.com/<tenant_id>/v2.0`; v1.0 tokens use `https://sts.windows.net/<tenant_id>/`. Check a sample token."
  type        = string
  default     = null
}

variable "client_id_claim" {
  description = "The claim that carries the managed identity's client id: `appid` in v1.0 tokens, `azp` in v2.0 tokens."
  type        = string
  default     = "appid"

  validation {
    condition     = contains(["appid", "azp"], var.client_id_claim)
    error_message = "The client_id_claim must be appid or azp."
  }
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
  description = "An existing workload identity provider (`wip_...`) for this tenant and audience to add the mapping to. Null creates one."
  type        = string
  default     = null
}

variable "provider_name" {
  description = "Name of the workload identity provider this module creates (unique in the organization)."
  type        = string
  default     = "azure"
}

variable "mapping_name" {
  description = "Optional name of the mapping (unique within the provider)."
  type        = string
  default     = null
}
