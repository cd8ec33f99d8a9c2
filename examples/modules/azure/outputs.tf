output "workload_identity_provider_id" {
  description = "The workload identity provider the workload exchanges tokens with (`identity_provider_id` of the exchange)."
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
  description = "The resource the workload requests its token for from IMDS."
  value       = var.audience
}

output "issuer" {
  description = "The issuer the provider trusts."
  value       = local.issuer
}

output "attribute_matchers" {
  description = "The claims the workload's token must carry."
  value       = local.attribute_matchers
}
