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
  provider_name = "module-test-github-actions-${var.project_id}"
  repository_id = "123456789"
  repository    = "my-org/my-repo"
  branch        = "main"
}

run "pins_repository_id_and_branch" {
  assert {
    condition     = startswith(output.workload_identity_provider_id, "wip_")
    error_message = "The module should create a workload identity provider."
  }
  assert {
    condition     = startswith(output.mapping_id, "wifr_")
    error_message = "The module should create a mapping."
  }
  assert {
    condition     = output.attribute_matchers == { repository_id = "123456789", ref = "refs/heads/main" }
    error_message = "Unexpected matchers: ${jsonencode(output.attribute_matchers)}"
  }
  assert {
    condition     = openai_workload_identity_provider.this[0].issuer == "https://token.actions.githubusercontent.com"
    error_message = "The provider should trust GitHub's issuer."
  }
}

run "adds_environment_and_workflow" {
  variables {
    environment   = "production"
    workflow_file = ".github/workflows/deploy.yml"
    scopes        = ["api.model.request"]
  }

  assert {
    condition = output.attribute_matchers == {
      repository_id = "123456789"
      ref           = "refs/heads/main"
      environment   = "production"
      workflow_ref  = "my-org/my-repo/.github/workflows/deploy.yml@refs/heads/main"
    }
    error_message = "Unexpected matchers: ${jsonencode(output.attribute_matchers)}"
  }
  assert {
    condition     = openai_service_account_mapping.this.scopes == toset(["api.model.request"])
    error_message = "The mapping should be restricted to the given scopes."
  }
}

run "environment_only_matches_the_workflow_on_any_ref" {
  variables {
    branch        = null
    environment   = "production"
    workflow_file = ".github/workflows/deploy.yml"
  }

  assert {
    condition     = output.attribute_matchers.workflow_ref == "my-org/my-repo/.github/workflows/deploy.yml@*"
    error_message = "Without a branch the workflow is matched by prefix."
  }
}

run "pins_the_owner_id_too_and_needs_no_name" {
  variables {
    repository          = null
    repository_owner_id = "987654321"
  }

  assert {
    condition     = output.attribute_matchers == { repository_id = "123456789", repository_owner_id = "987654321", ref = "refs/heads/main" }
    error_message = "Unexpected matchers: ${jsonencode(output.attribute_matchers)}"
  }
  assert {
    condition     = openai_service_account_mapping.this.description == "GitHub Actions: repository 123456789"
    error_message = "Without a name the description should name the repository id."
  }
}

run "refuses_the_repository_alone" {
  command = plan

  variables {
    branch = null
  }

  expect_failures = [openai_service_account_mapping.this]
}

run "refuses_a_wildcard_repository" {
  command = plan

  variables {
    repository = "my-org/*"
  }

  expect_failures = [var.repository]
}

run "refuses_a_name_as_repository_id" {
  command = plan

  variables {
    repository_id = "my-org/my-repo"
  }

  expect_failures = [var.repository_id]
}

run "refuses_a_login_as_owner_id" {
  command = plan

  variables {
    repository_owner_id = "my-org"
  }

  expect_failures = [var.repository_owner_id]
}

run "refuses_a_workflow_file_without_the_repository_name" {
  command = plan

  variables {
    repository    = null
    workflow_file = ".github/workflows/deploy.yml"
  }

  expect_failures = [openai_service_account_mapping.this]
}

# Who the mapping admits, checked with the exchange's own matching rules
# (provider::openai::matches, Terraform 1.8+) before any token exists.
run "admits_the_intended_workload_and_refuses_near_misses" {
  command = plan

  assert {
    condition = provider::openai::matches(output.attribute_matchers, {
      repository_id = "123456789"
      repository    = "my-org/my-repo"
      ref           = "refs/heads/main"
      sub           = "repo:my-org/my-repo:ref:refs/heads/main"
    })
    error_message = "The mapping should admit the intended workload's claims."
  }
  assert {
    condition = !provider::openai::matches(output.attribute_matchers, {
      repository_id = "555555555"
      repository    = "my-org/my-repo"
      ref           = "refs/heads/main"
    })
    error_message = "The mapping must refuse a fork (another repository id, same name)."
  }
  assert {
    condition = !provider::openai::matches(output.attribute_matchers, {
      repository_id = "123456789"
      repository    = "my-org/my-repo"
      ref           = "refs/heads/feature"
    })
    error_message = "The mapping must refuse another branch."
  }
}
