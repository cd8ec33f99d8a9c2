provider "openai" {
  # Or set OPENAI_ADMIN_KEY, which keeps the key out of saved plan files
  # (on Terraform >= 1.10, `ephemeral = true` on the variable does too).
  admin_api_key = var.openai_admin_key

  # Optional: point at the local emulator (`openai-emulator`) for offline tests.
  # base_url           = "http://127.0.0.1:8089/v1"
  # token_exchange_url = "http://127.0.0.1:8089/oauth/token"
}

variable "openai_admin_key" {
  type      = string
  sensitive = true
}
