# The Admin API key comes from the OPENAI_ADMIN_KEY environment variable, so
# it is in no file: neither the configuration nor a saved plan (`plan -out`).
# On Terraform 1.10 or later an ephemeral variable keeps it out of plan files
# and state as well:
#
#   variable "openai_admin_key" {
#     type      = string
#     sensitive = true
#     ephemeral = true
#   }
#
# with `admin_api_key = var.openai_admin_key` in the block below. A variable
# that is only `sensitive` is not enough: it is saved in the plan file. (This
# example uses the environment because it works on every Terraform the
# provider supports; Terraform before 1.10 cannot parse `ephemeral`.)
provider "openai" {
  # Optional: point at the local emulator (`openai-emulator`) for offline tests.
  # base_url           = "http://127.0.0.1:8089/v1"
  # token_exchange_url = "http://127.0.0.1:8089/oauth/token"
}
