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
  provider_name   = "module-test-hcp-terraform-${var.project_id}"
  organization_id = "org-AbC123"
  workspace_id    = "ws-XyZ789"
}

run "pins_organization_and_workspace_by_id" {
  assert {
    condition     = output.attribute_matchers == { terraform_organization_id = "org-AbC123", terraform_workspace_id = "ws-XyZ789" }
    error_message = "Unexpected matchers: ${jsonencode(output.attribute_matchers)}"
  }
  assert {
    condition     = openai_workload_identity_provider.this[0].issuer == "https://app.terraform.io"
    error_message = "The provider should trust HCP Terraform's issuer."
  }
}

run "apply_phase_only_admits_the_workspace_apply_and_refuses_near_misses" {
  command = plan

  variables {
    run_phase = "apply"
  }

  assert {
    condition = provider::openai::matches(output.attribute_matchers, {
      terraform_organization_id   = "org-AbC123", terraform_workspace_id = "ws-XyZ789"
      terraform_organization_name = "acme", terraform_run_phase = "apply"
    })
    error_message = "The mapping should admit the workspace's apply phase."
  }
  assert {
    condition = !provider::openai::matches(output.attribute_matchers, {
      terraform_organization_id = "org-AbC123", terraform_workspace_id = "ws-XyZ789", terraform_run_phase = "plan"
    })
    error_message = "The mapping must refuse the plan phase."
  }
  assert {
    condition = !provider::openai::matches(output.attribute_matchers, {
      terraform_organization_id   = "org-Other1", terraform_workspace_id = "ws-XyZ789"
      terraform_organization_name = "acme", terraform_run_phase = "apply"
    })
    error_message = "The mapping must refuse another organization under the same name."
  }
}

run "refuses_the_organization_alone" {
  command = plan

  variables {
    workspace_id = null
  }

  expect_failures = [openai_service_account_mapping.this]
}
