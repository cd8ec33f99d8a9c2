# A mapping is imported as <workload identity provider id>/<mapping id>.
terraform import openai_service_account_mapping.deploy wip_abc123/wifr_def456
