# GitHub Actions: keys are discovered from the issuer.
resource "openai_workload_identity_provider" "github" {
  name        = "github-actions"
  description = "GitHub Actions workflows"
  issuer      = "https://token.actions.githubusercontent.com"
  audience    = "https://api.openai.com/v1"

  attribute_transformations = [
    { attribute = "openai.repository_ref", expression = "assertion.repository + \"@\" + assertion.ref" },
  ]
}

# A Kubernetes cluster whose keys are uploaded instead of discovered
# (from `kubectl get --raw /openid/v1/jwks`).
resource "openai_workload_identity_provider" "cluster" {
  name      = "prod-cluster"
  issuer    = "https://kubernetes.example.com"
  audience  = "https://api.openai.com/v1"
  jwks_json = file("${path.module}/cluster-jwks.json")
}

# An issuer whose discovery document is served from another URL.
resource "openai_workload_identity_provider" "custom_discovery" {
  name          = "internal-idp"
  issuer        = "https://idp.example.com/tenant-a"
  audience      = "https://api.openai.com/v1"
  discovery_url = "https://idp-metadata.example.com/tenant-a/.well-known/openid-configuration"
}
