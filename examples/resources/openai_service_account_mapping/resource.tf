resource "openai_service_account_mapping" "deploy" {
  workload_identity_provider_id = openai_workload_identity_provider.github.id
  project_id                    = "proj_abc"
  service_account_id            = "svc_acct_abc"
  name                          = "main-deploy"
  description                   = "Production deploy workflow on main"

  attribute_matchers = {
    repository   = "my-org/my-repo"
    ref          = "refs/heads/main"
    workflow_ref = "my-org/my-repo/.github/workflows/deploy.yml@refs/heads/main"
  }

  # Omit for the service account's default permissions.
  scopes = ["api.model.request", "api.vector_store.read"]
}
