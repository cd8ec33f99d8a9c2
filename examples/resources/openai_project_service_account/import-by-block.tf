import {
  to = openai_project_service_account.deployer
  id = "proj_abc123/svc_acct_def456"
}

# Terraform 1.12 and later can also import by identity:
# import {
#   to       = openai_project_service_account.deployer
#   identity = { project_id = "proj_abc123", id = "svc_acct_def456" }
# }
