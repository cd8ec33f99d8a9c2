resource "openai_workload_identity_provider" "github" {
  name        = "github-actions"
  description = "GitHub Actions workflows"
  issuer      = "https://token.actions.githubusercontent.com"
  audience    = "https://api.openai.com/v1"

  attribute_transformations = [
    { attribute = "openai.repository_ref", expression = "assertion.repository + \"@\" + assertion.ref" },
  ]
}

# A Kubernetes cluster whose keys are uploaded instead of discovered.
resource "openai_workload_identity_provider" "cluster" {
  name      = "prod-cluster"
  issuer    = "https://kubernetes.example.com"
  audience  = "https://api.openai.com/v1"
  jwks_json = file("${path.module}/cluster-jwks.json")
}
