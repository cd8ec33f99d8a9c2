variable "repository_id" {
  description = "The numeric id of the repository whose workflows may act as the service account (`gh api repos/OWNER/REPO --jq .id`, or the `repository_id` claim of a workflow's token). Tokens must carry it as `repository_id`: unlike the name, GitHub never reuses it, so a deleted or renamed repository's name taken over by someone else does not match."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+$", var.repository_id))
    error_message = "The repository_id must be the repository's numeric id, e.g. \"123456789\" (gh api repos/OWNER/REPO --jq .id), not its name."
  }
}

variable "repository_owner_id" {
  description = "Optionally also pins the numeric id of the repository's owner (`gh api repos/OWNER/REPO --jq .owner.id`, or the `repository_owner_id` claim): a repository transferred to another owner then stops matching."
  type        = string
  default     = null

  validation {
    condition     = var.repository_owner_id == null || can(regex("^[0-9]+$", coalesce(var.repository_owner_id, "0")))
    error_message = "The repository_owner_id must be the owner's numeric id, e.g. \"987654321\" (gh api repos/OWNER/REPO --jq .owner.id), not its login."
  }
}

variable "repository" {
  description = "The repository as `owner/name`. Not matched on its own (names can be reused): it names the mapping and is the prefix of `workflow_ref`, so `workflow_file` needs it."
  type        = string
  default     = null

  validation {
    condition     = var.repository == null || can(regex("^[^/*\\s]+/[^/*\\s]+$", coalesce(var.repository, "-/-")))
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
