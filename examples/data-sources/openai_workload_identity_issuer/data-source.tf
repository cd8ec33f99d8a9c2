# Check the issuer the way OpenAI will before the provider trusts it: a typo
# in the issuer, a private or unreachable discovery URL, a missing key or an
# unsupported key fails the plan here, not the workload's first login.
data "openai_workload_identity_issuer" "github" {
  issuer = "https://token.actions.githubusercontent.com"
  # sample_kid = "..." # the `kid` in the header of a token the workload gets
}

resource "openai_workload_identity_provider" "github" {
  name     = "github-actions"
  issuer   = "https://token.actions.githubusercontent.com"
  audience = "https://api.openai.com/v1"

  lifecycle {
    precondition {
      condition     = data.openai_workload_identity_issuer.github.accepted
      error_message = "OpenAI would not accept this issuer's keys."
    }
  }
}

# A JWKS to upload can be checked too, without fetching anything:
#
# data "openai_workload_identity_issuer" "uploaded" {
#   issuer    = "https://issuer.internal.example.com"
#   jwks_json = file("${path.module}/jwks.json")
# }
