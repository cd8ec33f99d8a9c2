# The README demo: a GitHub Actions issuer and one pinned mapping, applied
# against the local emulator by scripts/demo.
terraform {
  required_providers {
    openai = {
      source = "openai-wif/openai"
    }
  }
}

# base_url and admin_api_key come from OPENAI_BASE_URL / OPENAI_ADMIN_KEY.
provider "openai" {}

variable "project_id" {
  type = string
}

variable "service_account_id" {
  type = string
}

resource "openai_workload_identity_provider" "github" {
  name        = "github-actions"
  description = "GitHub Actions workflows of my-org"
  issuer      = "https://token.actions.githubusercontent.com"
  audience    = "https://api.openai.com/v1"
}

resource "openai_service_account_mapping" "deploy" {
  workload_identity_provider_id = openai_workload_identity_provider.github.id
  project_id                    = var.project_id
  service_account_id            = var.service_account_id
  name                          = "main-deploy"
  attribute_matchers = {
    repository_id = "123456789" # gh api repos/my-org/my-repo --jq .id; names can be reused
    ref           = "refs/heads/main"
  }
  scopes = ["api.model.request"]
}

output "workload_identity_provider_id" {
  value = openai_workload_identity_provider.github.id
}

output "mapping_id" {
  value = openai_service_account_mapping.deploy.id
}
