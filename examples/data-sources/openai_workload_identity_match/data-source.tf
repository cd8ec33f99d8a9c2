variable "provider_id" {
  description = "The workload identity provider whose mappings to test (wip_...)."
  type        = string
}

variable "service_account_id" {
  description = "The service account CI deploys as (svc_acct_...)."
  type        = string
}

locals {
  # The claims GitHub Actions puts in a token for a push to main of my-org/app.
  main = {
    sub           = "repo:my-org/app:ref:refs/heads/main"
    repository    = "my-org/app"
    repository_id = "123456"
    ref           = "refs/heads/main"
  }
  # The same workflow run from a fork: must not be admitted.
  fork = merge(local.main, {
    sub           = "repo:someone/app:ref:refs/heads/main"
    repository    = "someone/app"
    repository_id = "999999"
  })
}

data "openai_workload_identity_match" "main" {
  workload_identity_provider_id = var.provider_id
  service_account_id            = var.service_account_id
  claims                        = local.main
}

data "openai_workload_identity_match" "fork" {
  workload_identity_provider_id = var.provider_id
  service_account_id            = var.service_account_id
  claims                        = local.fork
}

# Checked on every plan and apply (Terraform 1.5+); a failure is a warning that names it.
check "ci_mapping_admits_only_main" {
  assert {
    condition     = data.openai_workload_identity_match.main.admitted
    error_message = "main is not admitted: ${jsonencode(data.openai_workload_identity_match.main.reasons)}"
  }
  assert {
    condition     = !data.openai_workload_identity_match.fork.admitted
    error_message = "A fork is admitted by ${jsonencode(data.openai_workload_identity_match.fork.matching_mapping_ids)}."
  }
}
