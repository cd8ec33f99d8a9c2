data "openai_workload_identity_providers" "all" {}

# Provider names by id, e.g. to check for issuers managed outside Terraform.
output "provider_names" {
  value = { for p in data.openai_workload_identity_providers.all.providers : p.id => p.name }
}
