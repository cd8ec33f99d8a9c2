# A workload identity provider is imported by its id.
terraform import openai_workload_identity_provider.github wip_abc123
