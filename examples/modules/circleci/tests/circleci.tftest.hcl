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
  provider_name       = "module-test-circleci-${var.project_id}"
  organization_id     = "6f1e0b9e-1111-4222-8333-944444444444"
  circleci_project_id = "5b3f7e0e-aaaa-4bbb-8ccc-dddddddddddd"
}

run "trusts_the_organization_issuer_and_pins_the_project" {
  assert {
    condition     = openai_workload_identity_provider.this[0].issuer == "https://oidc.circleci.com/org/6f1e0b9e-1111-4222-8333-944444444444"
    error_message = "The provider should trust the organization's issuer."
  }
  assert {
    condition     = output.audience == "6f1e0b9e-1111-4222-8333-944444444444"
    error_message = "Without audience, the tokens' audience is the organization id."
  }
  assert {
    condition     = output.attribute_matchers == { "oidc.circleci.com/project-id" = "5b3f7e0e-aaaa-4bbb-8ccc-dddddddddddd" }
    error_message = "Unexpected matchers: ${jsonencode(output.attribute_matchers)}"
  }
}

run "admits_the_project_and_refuses_another" {
  command = plan

  assert {
    condition = provider::openai::matches(output.attribute_matchers, {
      "oidc.circleci.com/project-id" = "5b3f7e0e-aaaa-4bbb-8ccc-dddddddddddd"
      sub                            = "org/6f1e0b9e-1111-4222-8333-944444444444/project/5b3f7e0e-aaaa-4bbb-8ccc-dddddddddddd/user/u"
    })
    error_message = "The mapping should admit the project's jobs."
  }
  assert {
    condition     = !provider::openai::matches(output.attribute_matchers, { "oidc.circleci.com/project-id" = "00000000-aaaa-4bbb-8ccc-dddddddddddd" })
    error_message = "The mapping must refuse another project."
  }
}

run "refuses_an_organization_name" {
  command = plan

  variables {
    organization_id = "acme"
  }

  expect_failures = [var.organization_id]
}
