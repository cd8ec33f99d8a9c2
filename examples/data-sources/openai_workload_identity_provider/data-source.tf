# Look a provider up by name (names are unique in the organization)...
data "openai_workload_identity_provider" "github" {
  name = "github-actions"
}

# ...or by id.
data "openai_workload_identity_provider" "by_id" {
  id = "wip_abc123"
}

output "github_issuer" {
  value = data.openai_workload_identity_provider.github.issuer
}
