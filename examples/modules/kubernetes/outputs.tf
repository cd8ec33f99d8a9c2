output "workload_identity_provider_id" {
  description = "The workload identity provider the pods exchange tokens with (`identity_provider_id` of the exchange)."
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
  description = "The audience to put in the pod's projected service account token."
  value       = var.audience
}

output "attribute_matchers" {
  description = "The claims a pod's token must carry."
  value       = local.attribute_matchers
}
