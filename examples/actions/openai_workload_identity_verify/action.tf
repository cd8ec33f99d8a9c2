# Needs Terraform 1.14 or later (OpenTofu has no actions). No admin key is
# needed for the check itself.

# In a GitHub Actions workflow that runs `terraform apply` with
# `permissions: id-token: write`: prove that this very workflow is admitted by
# the mapping the same apply writes.
action "openai_workload_identity_verify" "this_workflow" {
  config {
    workload_identity_provider_id = openai_service_account_mapping.deploy.workload_identity_provider_id
    service_account_id            = openai_service_account_mapping.deploy.service_account_id
    subject_token_source          = "github_actions"
    check_models_api              = true # also GET /v1/models with the token
    # propagation_wait_seconds = 120 # the default: how long to wait for a fresh write
    # retry_interval_seconds   = 5   # the default
  }
}

resource "openai_service_account_mapping" "deploy" {
  workload_identity_provider_id = "wip_abc123"
  project_id                    = "proj_abc"
  service_account_id            = "svc_acct_abc"
  attribute_matchers = {
    repository_id = "123456789" # gh api repos/my-org/my-repo --jq .id; names can be reused
    ref           = "refs/heads/main"
  }

  # A mapping that admits the wrong workload fails the apply that wrote it.
  lifecycle {
    action_trigger {
      events  = [after_create, after_update]
      actions = [action.openai_workload_identity_verify.this_workflow]
    }
  }
}

# On demand, e.g. in a nightly drift job:
#   terraform apply -invoke=action.openai_workload_identity_verify.this_workflow
