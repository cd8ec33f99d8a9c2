variable "issuer" {
  description = "The GitLab instance: `https://gitlab.com` (shared by every GitLab.com project), or your self-managed instance's URL as its tokens carry it in `iss`."
  type        = string
  default     = "https://gitlab.com"
}

variable "audience" {
  description = "The `aud` the job declares under `id_tokens:`."
  type        = string
  default     = "https://api.openai.com/v1"
}

variable "gitlab_project_id" {
  description = "The numeric id of the GitLab project whose jobs may act as the service account (Settings > General, or the `project_id` claim). GitLab never reuses it, unlike the project's path."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+$", var.gitlab_project_id))
    error_message = "The gitlab_project_id must be the project's numeric id, e.g. \"12345678\", not its path."
  }
}

variable "gitlab_namespace_id" {
  description = "Optionally also pins the numeric id of the project's group or user namespace (`namespace_id`): a project transferred elsewhere then stops matching."
  type        = string
  default     = null

  validation {
    condition     = var.gitlab_namespace_id == null || can(regex("^[0-9]+$", coalesce(var.gitlab_namespace_id, "0")))
    error_message = "The gitlab_namespace_id must be the namespace's numeric id, not its path."
  }
}

variable "ref" {
  description = "Pins the branch or tag name (`ref`, without `refs/heads/`), together with `ref_type`."
  type        = string
  default     = null
}

variable "ref_type" {
  description = "With `ref`: `branch` or `tag` (`ref_type`)."
  type        = string
  default     = "branch"

  validation {
    condition     = contains(["branch", "tag"], var.ref_type)
    error_message = "The ref_type must be \"branch\" or \"tag\"."
  }
}

variable "protected_only" {
  description = "Admits only jobs on protected branches and tags (`ref_protected = \"true\"`), which only maintainers can push to: merge request pipelines of other branches, and of forks, do not match."
  type        = bool
  default     = true
}

variable "environment" {
  description = "Pins the deployment environment (`environment`)."
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
  default     = "gitlab-ci"
}

variable "mapping_name" {
  description = "Optional name of the mapping (unique within the provider)."
  type        = string
  default     = null
}
