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
  provider_name       = "module-test-gitlab-ci-${var.project_id}"
  gitlab_project_id   = "12345678"
  gitlab_namespace_id = "4242"
  ref                 = "main"
}

run "pins_the_project_by_id_to_a_protected_branch" {
  assert {
    condition     = startswith(output.mapping_id, "wifr_")
    error_message = "The module should create a mapping."
  }
  assert {
    condition = output.attribute_matchers == {
      project_id = "12345678", namespace_id = "4242", ref = "main", ref_type = "branch", ref_protected = "true"
    }
    error_message = "Unexpected matchers: ${jsonencode(output.attribute_matchers)}"
  }
  assert {
    condition     = openai_workload_identity_provider.this[0].issuer == "https://gitlab.com"
    error_message = "The provider should trust GitLab.com's issuer."
  }
}

# Who the mapping admits, with the exchange's own matching rules.
run "admits_the_project_and_refuses_near_misses" {
  command = plan

  assert {
    condition = provider::openai::matches(output.attribute_matchers, {
      project_id = "12345678", namespace_id = "4242", project_path = "acme/app"
      ref        = "main", ref_type = "branch", ref_protected = "true"
    })
    error_message = "The mapping should admit the project's protected main branch."
  }
  assert {
    condition = !provider::openai::matches(output.attribute_matchers, {
      project_id = "87654321", namespace_id = "4242", project_path = "acme/app"
      ref        = "main", ref_type = "branch", ref_protected = "true"
    })
    error_message = "The mapping must refuse another project under the same path."
  }
  assert {
    condition = !provider::openai::matches(output.attribute_matchers, {
      project_id = "12345678", namespace_id = "4242", ref = "main", ref_type = "branch", ref_protected = "false"
    })
    error_message = "The mapping must refuse an unprotected ref."
  }
}

run "refuses_a_project_path" {
  command = plan

  variables {
    gitlab_project_id = "acme/app"
  }

  expect_failures = [var.gitlab_project_id]
}
