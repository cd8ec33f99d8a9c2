variable "repository" {
  description = "The repository whose workflows may act as the service account, as `owner/name`."
  type        = string

  validation {
    condition     = can(regex("^[^/*\\s]+/[^/*\\s]+$", var.repository))
    error_message = "The repository must be owner/name, e.g. my-org/my-repo, without wildcards."
  }
}

variable "branch" {
  description = "Pins the branch: tokens must carry `ref = refs/heads/<branch>`. Set branch, environment or both."
  type        = string
  default     = null
}

variable "environment" {
  description = "Pins the GitHub deployment environment: tokens must carry `environment = <environment>`. Set branch, environment or both."
  type        = string
  default     = null
}

variable "workflow_file" {
  description = "Optionally pins the workflow file, e.g. `.github/workflows/deploy.yml`: tokens must carry a matching `workflow_ref` (on `branch` when set, else on any ref)."
  type        = string
  default     = null
}

variable "project_id" {
  description = "The OpenAI project of the service account (`proj_...`)."
  type        = string
}

variable "service_account_id" {
  description = "The project service account the workflows act as (`svc_acct_...`)."
  type        = string
}

variable "scopes" {
  description = "Restricts the exchanged tokens to these scopes, e.g. `[\"api.model.request\"]`. Null keeps the service account's own permissions."
  type        = set(string)
  default     = null
}

variable "workload_identity_provider_id" {
  description = "An existing GitHub Actions workload identity provider (`wip_...`) to add the mapping to. Null creates one; OpenAI allows 50 per organization, so share one across repositories."
  type        = string
  default     = null
}

variable "provider_name" {
  description = "Name of the workload identity provider this module creates (unique in the organization)."
  type        = string
  default     = "github-actions"
}

variable "issuer" {
  description = "GitHub's OIDC issuer. Change it for GitHub Enterprise Server (`https://HOST/_services/token`) or an enterprise's custom issuer."
  type        = string
  default     = "https://token.actions.githubusercontent.com"
}

variable "audience" {
  description = "The audience the workflows request their ID token for (`core.getIDToken(audience)`)."
  type        = string
  default     = "https://api.openai.com/v1"
}

variable "mapping_name" {
  description = "Optional name of the mapping (unique within the provider)."
  type        = string
  default     = null
}
