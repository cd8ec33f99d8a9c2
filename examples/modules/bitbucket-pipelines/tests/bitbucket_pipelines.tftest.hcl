# Applies the module against the emulator. Run with the provider pointed at it
# and a project + service account that exist there (see README.md, Testing):
#   terraform test -var project_id=proj_... -var service_account_id=svc_acct_...

# Names are unique in an organization: derive this one from the project the
# run is given, so the tests pass in an emulator (or organization) that
# already holds a provider of the module's default name.
variable "project_id" {
  type = string
}

variables {
  provider_name   = "module-test-bitbucket-pipelines-${var.project_id}"
  workspace       = "acme"
  workspace_uuid  = "{9a8b7c6d-0000-4000-8000-000000000003}"
  repository_uuid = "{0f1e2d3c-0000-4000-8000-000000000002}"
}

run "trusts_the_workspace_and_pins_uuids" {
  assert {
    condition     = openai_workload_identity_provider.this[0].issuer == "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
    error_message = "The provider should trust the workspace's issuer."
  }
  assert {
    condition     = output.audience == "ari:cloud:bitbucket::workspace/9a8b7c6d-0000-4000-8000-000000000003"
    error_message = "Without audience, Bitbucket's default audience applies."
  }
  assert {
    condition = output.attribute_matchers == {
      workspaceUuid = "{9a8b7c6d-0000-4000-8000-000000000003}", repositoryUuid = "{0f1e2d3c-0000-4000-8000-000000000002}"
    }
    error_message = "Unexpected matchers: ${jsonencode(output.attribute_matchers)}"
  }
}

run "admits_the_repository_and_refuses_a_reclaimed_slug" {
  command = plan

  assert {
    condition = provider::openai::matches(output.attribute_matchers, {
      workspaceUuid = "{9a8b7c6d-0000-4000-8000-000000000003}", repositoryUuid = "{0f1e2d3c-0000-4000-8000-000000000002}"
      sub           = "{0f1e2d3c-0000-4000-8000-000000000002}:{5e6f7a8b-0000-4000-8000-000000000006}"
    })
    error_message = "The mapping should admit the repository's steps."
  }
  assert {
    condition = !provider::openai::matches(output.attribute_matchers, {
      workspaceUuid = "{11111111-0000-4000-8000-000000000003}", repositoryUuid = "{0f1e2d3c-0000-4000-8000-000000000002}"
    })
    error_message = "The mapping must refuse another workspace that took over the slug."
  }
  assert {
    condition = !provider::openai::matches(output.attribute_matchers, {
      workspaceUuid = "{9a8b7c6d-0000-4000-8000-000000000003}", repositoryUuid = "{22222222-0000-4000-8000-000000000002}"
    })
    error_message = "The mapping must refuse another repository."
  }
}
