data "openai_project" "production" {
  name = "Production"
}

# A keyless service account: no API key is ever created for it. OpenAI
# creates such accounts without a project role, so the provider gives it one
# (`member` unless set), without which its tokens could call no API.
resource "openai_project_service_account" "deployer" {
  project_id = data.openai_project.production.id
  name       = "github-deployer"
  role       = "member"
}

resource "openai_workload_identity_provider" "github" {
  name     = "github-actions"
  issuer   = "https://token.actions.githubusercontent.com"
  audience = "https://api.openai.com/v1"
}

# Workflows on main of my-org/my-repo act as the service account.
resource "openai_service_account_mapping" "deploy" {
  workload_identity_provider_id = openai_workload_identity_provider.github.id
  project_id                    = openai_project_service_account.deployer.project_id
  service_account_id            = openai_project_service_account.deployer.id
  name                          = "main-deploy"

  attribute_matchers = {
    repository_id = "123456789" # gh api repos/my-org/my-repo --jq .id; names can be reused
    ref           = "refs/heads/main"
  }
}
