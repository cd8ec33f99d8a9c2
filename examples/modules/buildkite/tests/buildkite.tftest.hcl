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
  provider_name   = "module-test-buildkite-${var.project_id}"
  organization_id = "0190b7c2-0000-4000-8000-000000000004"
  pipeline_id     = "0190b7c2-0000-4000-8000-000000000005"
  branch          = "main"
}

run "pins_organization_and_pipeline_by_uuid" {
  assert {
    condition = output.attribute_matchers == {
      organization_id = "0190b7c2-0000-4000-8000-000000000004", pipeline_id = "0190b7c2-0000-4000-8000-000000000005", build_branch = "main"
    }
    error_message = "Unexpected matchers: ${jsonencode(output.attribute_matchers)}"
  }
  assert {
    condition     = openai_workload_identity_provider.this[0].issuer == "https://agent.buildkite.com"
    error_message = "The provider should trust Buildkite's agent issuer."
  }
}

run "admits_the_pipeline_and_refuses_a_renamed_slug" {
  command = plan

  assert {
    condition = provider::openai::matches(output.attribute_matchers, {
      organization_id   = "0190b7c2-0000-4000-8000-000000000004", pipeline_id = "0190b7c2-0000-4000-8000-000000000005"
      organization_slug = "acme", pipeline_slug = "deploy", build_branch = "main"
    })
    error_message = "The mapping should admit the pipeline's main builds."
  }
  assert {
    condition = !provider::openai::matches(output.attribute_matchers, {
      organization_id   = "0190b7c2-0000-4000-8000-00000000dead", pipeline_id = "0190b7c2-0000-4000-8000-000000000005"
      organization_slug = "acme", pipeline_slug = "deploy", build_branch = "main"
    })
    error_message = "The mapping must refuse another organization under the same slug."
  }
  assert {
    condition = !provider::openai::matches(output.attribute_matchers, {
      organization_id = "0190b7c2-0000-4000-8000-000000000004", pipeline_id = "0190b7c2-0000-4000-8000-000000000005", build_branch = "feature"
    })
    error_message = "The mapping must refuse another branch."
  }
}
