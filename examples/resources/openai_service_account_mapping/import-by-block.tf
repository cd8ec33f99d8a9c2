import {
  to = openai_service_account_mapping.deploy
  id = "wip_abc123/wifr_def456"
}
