variable "organization_id" {
  description = "The CircleCI organization's id (Organization Settings > Overview), a UUID. The issuer is `https://oidc.circleci.com/org/<organization_id>`."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.organization_id))
    error_message = "The organization_id must be the organization's UUID, not its name."
  }
}

variable "audience" {
  description = "The audience the tokens carry. Null: the organization id, the fixed audience of `CIRCLE_OIDC_TOKEN_V2`. With `subject_token_source = \"circleci\"` and `audience` set, the provider mints a token for that audience with `circleci run oidc get`."
  type        = string
  default     = null
}

variable "circleci_project_id" {
  description = "The CircleCI project's id (Project Settings > Overview, the `oidc.circleci.com/project-id` claim), a UUID."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.circleci_project_id))
    error_message = "The circleci_project_id must be the project's UUID, not its name."
  }
}

variable "context_id" {
  description = "Optionally admits only jobs that use this context (its id, one of the `oidc.circleci.com/context-ids` claim), which can be restricted to security groups."
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
  default     = "circleci"
}

variable "mapping_name" {
  description = "Optional name of the mapping (unique within the provider)."
  type        = string
  default     = null
}
