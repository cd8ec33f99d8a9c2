resource "openai_workload_identity_provider" "github" {
  name     = "github-actions"
  issuer   = "https://token.actions.githubusercontent.com"
  audience = "https://api.openai.com/v1"
}

# Only the deploy workflow on main of one repository may act as this
# service account.
resource "openai_service_account_mapping" "deploy" {
  workload_identity_provider_id = openai_workload_identity_provider.github.id
  project_id                    = "proj_abc"
  service_account_id            = "svc_acct_abc"
  name                          = "main-deploy"
  description                   = "Production deploy workflow on main"

  attribute_matchers = {
    repository_id = "123456789" # gh api repos/my-org/my-repo --jq .id; names can be reused
    ref           = "refs/heads/main"
    workflow_ref  = "my-org/my-repo/.github/workflows/deploy.yml@refs/heads/main"
  }

  # Omit for the service account's default permissions.
  scopes = ["api.model.request", "api.vector_store.read"]
}

# Any pull request workflow of the repository, read-only.
resource "openai_service_account_mapping" "pull_requests" {
  workload_identity_provider_id = openai_workload_identity_provider.github.id
  project_id                    = "proj_abc"
  service_account_id            = "svc_acct_review"
  name                          = "pull-requests"

  attribute_matchers = {
    repository_id = "123456789"
    event_name    = "pull_request"
    ref           = "refs/pull/*"
  }

  scopes = ["api.model.read"]
}
