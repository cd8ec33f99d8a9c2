import {
  to = openai_workload_identity_provider.github
  id = "wip_abc123"
}
