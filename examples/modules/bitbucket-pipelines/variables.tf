variable "workspace" {
  description = "The workspace's slug, as in its identity provider URL `https://api.bitbucket.org/2.0/workspaces/<workspace>/pipelines-config/identity/oidc` (Repository settings > OpenID Connect)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9_-]+$", var.workspace))
    error_message = "The workspace must be the workspace's slug (lower-case letters, digits, - and _), e.g. \"acme\"."
  }
}

variable "workspace_uuid" {
  description = "The workspace's UUID in braces (`workspaceUuid`), e.g. `{9a8b7c6d-...}`."
  type        = string

  validation {
    condition     = can(regex("^\\{[0-9a-f-]{36}\\}$", var.workspace_uuid))
    error_message = "The workspace_uuid must be a UUID in braces, e.g. \"{9a8b7c6d-0000-4000-8000-000000000000}\"."
  }
}

variable "repository_uuid" {
  description = "The repository's UUID in braces (`repositoryUuid`)."
  type        = string

  validation {
    condition     = can(regex("^\\{[0-9a-f-]{36}\\}$", var.repository_uuid))
    error_message = "The repository_uuid must be a UUID in braces, e.g. \"{0f1e2d3c-0000-4000-8000-000000000000}\"."
  }
}

variable "deployment_environment_uuid" {
  description = "Optionally admits only steps deploying to this environment (`deploymentEnvironmentUuid`, in braces)."
  type        = string
  default     = null
}

variable "audience" {
  description = "The audience the step's token carries. Null: Bitbucket's default, `ari:cloud:bitbucket::workspace/<workspace UUID without braces>`; set the one the step lists under `oidc: audiences:` instead."
  type        = string
  default     = null
}

variable "project_id" {
  description = "The OpenAI project of the service account (`proj_...`)."
  type        = string
}

variable "service_account_id" {
  description = "The OpenAI project service account the jobs act as (`svc_acct_...`)."
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
  default     = "bitbucket-pipelines"
}

variable "mapping_name" {
  description = "Optional name of the mapping (unique within the provider)."
  type        = string
  default     = null
}
