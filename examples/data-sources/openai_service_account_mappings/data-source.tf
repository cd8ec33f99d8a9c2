data "openai_service_account_mappings" "ci" {
  workload_identity_provider_id = "wip_abc123"
  # Optional: only the mappings of one service account.
  service_account_id = "svc_acct_abc"
}

# attribute_matchers_json is a JSON object text: jsondecode() it to read the matchers.
output "ci_repositories" {
  value = [
    for m in data.openai_service_account_mappings.ci.mappings :
    lookup(jsondecode(m.attribute_matchers_json), "repository", null)
  ]
}
