# The static keys still owned by service accounts that now have a mapping:
# the apply fails until they are deleted.
data "openai_project_api_keys" "left_behind" {
  project_id          = "proj_abc"
  service_account_ids = [openai_service_account_mapping.deploy.service_account_id]

  lifecycle {
    postcondition {
      condition     = length(self.api_keys) == 0
      error_message = "Static keys left: ${join(", ", [for k in self.api_keys : "${k.redacted_value} (${k.owner_name})"])}. Delete them in the dashboard."
    }
  }
}

# Any key of the project used in the last 30 days, as a warning on every run.
check "no_recently_used_keys" {
  data "openai_project_api_keys" "recent" {
    project_id       = "proj_abc"
    used_within_days = 30
  }

  assert {
    condition     = length(data.openai_project_api_keys.recent.api_keys) == 0
    error_message = "Keys used in the last 30 days: ${join(", ", data.openai_project_api_keys.recent.api_keys[*].redacted_value)}."
  }
}

resource "openai_service_account_mapping" "deploy" {
  workload_identity_provider_id = "wip_abc123"
  project_id                    = "proj_abc"
  service_account_id            = "svc_acct_deploy"
  attribute_matchers            = { repository_id = "123456789" }
}
