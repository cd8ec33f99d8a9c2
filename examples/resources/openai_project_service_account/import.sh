# A service account is imported as <project id>/<service account id>.
terraform import openai_project_service_account.deployer proj_abc123/svc_acct_def456
