data "openai_workload_identity_limits" "current" {}

output "providers_remaining" {
  value = data.openai_workload_identity_limits.current.providers_remaining
}

# `providers` is keyed by provider id.
variable "provider_id" {
  type = string
}

output "mappings_remaining" {
  value = data.openai_workload_identity_limits.current.providers[var.provider_id].mappings_remaining
}

# Providers close to their mapping limit.
output "nearly_full_providers" {
  value = [
    for id, p in data.openai_workload_identity_limits.current.providers :
    p.name if p.mappings_remaining < 5
  ]
}
