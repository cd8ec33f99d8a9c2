# Needs Terraform 1.10 or later. No admin key is needed for the exchange.

# In a GitHub Actions job with `permissions: id-token: write`: exchange the
# job's OIDC token for an OpenAI access token. Terraform keeps the result out
# of plan and state.
ephemeral "openai_workload_identity_token" "ci" {
  workload_identity_provider_id = "wip_abc123"
  service_account_id            = "svc_acct_abc"
  subject_token_source          = "github_actions"
  # audience = "https://api.openai.com/v1" # the default; must equal the provider's audience
}

# Use the token wherever an OpenAI bearer token is accepted: another
# provider's configuration, a write-only argument, or (as here) a provisioner.
resource "terraform_data" "smoke_test" {
  provisioner "local-exec" {
    command = "curl -sf https://api.openai.com/v1/models -H \"Authorization: Bearer $OPENAI_TOKEN\" > /dev/null"
    environment = {
      OPENAI_TOKEN = ephemeral.openai_workload_identity_token.ci.access_token
    }
  }
}

# Other subject token sources (set exactly one of the four arguments):
#
#   subject_token        = var.oidc_token           # an ephemeral or sensitive variable
#   subject_token_file   = "/var/run/secrets/openai/token"
#   subject_token_source = "kubernetes"             # projected service account token
#   subject_token_source = "gcp"                    # metadata server ID token for `audience`
#   subject_token_source = "azure"                  # managed identity; audience = "api://<app-id>"
#   subject_token_source = "aws"                    # AWS_WEB_IDENTITY_TOKEN_FILE (EKS), else STS GetWebIdentityToken
#   subject_token_source = "spiffe"                 # JWT-SVID from SPIFFE_ENDPOINT_SOCKET; optional spiffe_id
#   subject_token_source = "gitlab_ci"              # OPENAI_ID_TOKEN, declared under id_tokens: in the job
#   subject_token_source = "hcp_terraform"          # TFC_WORKLOAD_IDENTITY_TOKEN of the run
#   subject_token_source = "circleci"               # CIRCLE_OIDC_TOKEN_V2, or circleci run oidc get for `audience`
#   subject_token_source = "bitbucket_pipelines"    # BITBUCKET_STEP_OIDC_TOKEN of a step with oidc: true
#   subject_token_source = "buildkite"              # buildkite-agent oidc request-token for `audience`
#   subject_token_env    = "MY_ID_TOKEN"            # any environment variable holding the token
