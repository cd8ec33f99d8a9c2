output "workload_identity_provider_id" {
  description = "The workload identity provider the workload exchanges its JWT-SVID with (`identity_provider_id` of the exchange)."
  value       = local.workload_identity_provider_id
}

output "mapping_id" {
  description = "The mapping's id (`wifr_...`)."
  value       = openai_service_account_mapping.this.id
}

output "service_account_id" {
  description = "The OpenAI service account to request in the exchange (`service_account_id`)."
  value       = var.service_account_id
}

output "audience" {
  description = "The audience the workload must request its JWT-SVID for."
  value       = var.audience
}

output "trust_domain" {
  description = "The SPIFFE trust domain of `spiffe_id`."
  value       = local.trust_domain
}

output "attribute_matchers" {
  description = "The claims a workload's JWT-SVID must carry."
  value       = local.attribute_matchers
}
