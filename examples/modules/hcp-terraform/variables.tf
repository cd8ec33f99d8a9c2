variable "issuer" {
  description = "`https://app.terraform.io` (HCP Terraform, shared by every organization), `https://app.eu.terraform.io` (HCP Terraform Europe), or your Terraform Enterprise's URL."
  type        = string
  default     = "https://app.terraform.io"
}

variable "audience" {
  description = "The value of the workspace's `TFC_WORKLOAD_IDENTITY_AUDIENCE` variable."
  type        = string
  default     = "https://api.openai.com/v1"
}

variable "organization_id" {
  description = "The organization's id (`org-...`, the `terraform_organization_id` claim), not its name."
  type        = string

  validation {
    condition     = can(regex("^org-[A-Za-z0-9]+$", var.organization_id))
    error_message = "The organization_id must be the organization's id, e.g. \"org-AbCdEf123456\", not its name."
  }
}

variable "workspace_id" {
  description = "The workspace's id (`ws-...`, `terraform_workspace_id`). Set this or terraform_project_id."
  type        = string
  default     = null

  validation {
    condition     = var.workspace_id == null || can(regex("^ws-[A-Za-z0-9]+$", coalesce(var.workspace_id, "ws-0")))
    error_message = "The workspace_id must be the workspace's id, e.g. \"ws-AbCdEf123456\", not its name."
  }
}

variable "terraform_project_id" {
  description = "The HCP Terraform project's id (`prj-...`, `terraform_project_id`): admits every workspace of the project."
  type        = string
  default     = null

  validation {
    condition     = var.terraform_project_id == null || can(regex("^prj-[A-Za-z0-9]+$", coalesce(var.terraform_project_id, "prj-0")))
    error_message = "The terraform_project_id must be the project's id, e.g. \"prj-AbCdEf123456\", not its name."
  }
}

variable "run_phase" {
  description = "Admits only the `plan` or the `apply` phase (`terraform_run_phase`). Null admits both: the ephemeral token resource is opened in both."
  type        = string
  default     = null

  validation {
    condition     = var.run_phase == null || contains(["plan", "apply"], coalesce(var.run_phase, "plan"))
    error_message = "The run_phase must be \"plan\" or \"apply\"."
  }
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
  default     = "hcp-terraform"
}

variable "mapping_name" {
  description = "Optional name of the mapping (unique within the provider)."
  type        = string
  default     = null
}
