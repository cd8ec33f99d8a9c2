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
  provider_name = "module-test-aws-${var.project_id}"
  issuer        = "https://abc123-def456-ghi789-jkl012.tokens.sts.global.api.aws"
  role_arn      = "arn:aws:iam::123456789012:role/OpenAIWifRole"
}

run "outbound_federation_pins_the_role" {
  assert {
    condition     = startswith(output.mapping_id, "wifr_")
    error_message = "The module should create a mapping."
  }
  assert {
    condition     = output.attribute_matchers == { sub = "arn:aws:iam::123456789012:role/OpenAIWifRole" }
    error_message = "Unexpected matchers: ${jsonencode(output.attribute_matchers)}"
  }
}

run "eks_pins_the_kubernetes_service_account" {
  variables {
    issuer              = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3"
    role_arn            = null
    eks_namespace       = "default"
    eks_service_account = "openai-wif"
  }

  assert {
    condition     = output.attribute_matchers == { sub = "system:serviceaccount:default:openai-wif" }
    error_message = "Unexpected matchers: ${jsonencode(output.attribute_matchers)}"
  }
  assert {
    condition     = openai_workload_identity_provider.this[0].issuer == "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3"
    error_message = "The provider should trust the cluster's issuer."
  }
}

run "refuses_both_modes" {
  command = plan

  variables {
    eks_namespace       = "default"
    eks_service_account = "openai-wif"
  }

  expect_failures = [openai_service_account_mapping.this]
}

run "refuses_a_half_eks_configuration" {
  command = plan

  variables {
    role_arn      = null
    eks_namespace = "default"
  }

  expect_failures = [openai_service_account_mapping.this]
}

run "refuses_a_user_arn" {
  command = plan

  variables {
    role_arn = "arn:aws:iam::123456789012:user/alice"
  }

  expect_failures = [var.role_arn]
}

# Who the mapping admits, checked with the exchange's own matching rules
# (provider::openai::matches, Terraform 1.8+) before any token exists.
run "admits_the_intended_workload_and_refuses_near_misses" {
  command = plan

  assert {
    condition     = provider::openai::matches(output.attribute_matchers, { sub = "arn:aws:iam::123456789012:role/OpenAIWifRole" })
    error_message = "The mapping should admit the intended workload's claims."
  }
  assert {
    condition     = !provider::openai::matches(output.attribute_matchers, { sub = "arn:aws:iam::123456789012:role/OtherRole" })
    error_message = "The mapping must refuse another role."
  }
  assert {
    condition     = !provider::openai::matches(output.attribute_matchers, { sub = "arn:aws:iam::210987654321:role/OpenAIWifRole" })
    error_message = "The mapping must refuse another account."
  }
}
