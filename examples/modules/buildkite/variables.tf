variable "audience" {
  description = "The audience the job requests (`buildkite-agent oidc request-token --audience`)."
  type        = string
  default     = "https://api.openai.com/v1"
}

variable "organization_id" {
  description = "The Buildkite organization's UUID (`organization_id`, an optional claim the token carries when requested with `--claim organization_id`, as `subject_token_source = \"buildkite\"` does)."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.organization_id))
    error_message = "The organization_id must be the organization's UUID, not its slug."
  }
}

variable "pipeline_id" {
  description = "The pipeline's UUID (`pipeline_id`, requested with `--claim pipeline_id`)."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.pipeline_id))
    error_message = "The pipeline_id must be the pipeline's UUID, not its slug."
  }
}

variable "branch" {
  description = "Optionally admits only builds of this branch (`build_branch`)."
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
  default     = "buildkite"
}

variable "mapping_name" {
  description = "Optional name of the mapping (unique within the provider)."
  type        = string
  default     = null
}
