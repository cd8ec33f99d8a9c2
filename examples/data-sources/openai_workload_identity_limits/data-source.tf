data "openai_workload_identity_limits" "current" {}

output "providers_remaining" {
  value = data.openai_workload_identity_limits.current.providers_remaining
}

# Providers close to their mapping limit.
output "nearly_full_providers" {
  value = [
    for p in data.openai_workload_identity_limits.current.providers :
    p.name if p.mappings_remaining < 5
  ]
}
