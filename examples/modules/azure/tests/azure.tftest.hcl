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
  provider_name              = "module-test-azure-${var.project_id}"
  tenant_id                  = "11111111-2222-3333-4444-555555555555"
  managed_identity_client_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
  audience                   = "api://99999999-8888-7777-6666-555555555555"
}

run "pins_tenant_and_client_id" {
  assert {
    condition     = startswith(output.mapping_id, "wifr_")
    error_message = "The module should create a mapping."
  }
  assert {
    condition = output.attribute_matchers == {
      tid   = "11111111-2222-3333-4444-555555555555"
      appid = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    }
    error_message = "Unexpected matchers: ${jsonencode(output.attribute_matchers)}"
  }
  assert {
    condition     = output.issuer == "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0"
    error_message = "The default issuer should be the tenant's v2.0 issuer."
  }
}

run "v2_tokens_use_azp" {
  variables {
    client_id_claim = "azp"
  }

  assert {
    condition     = output.attribute_matchers.azp == "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" && !contains(keys(output.attribute_matchers), "appid")
    error_message = "The client id should be matched on azp."
  }
}

run "refuses_an_unknown_claim" {
  command = plan

  variables {
    client_id_claim = "oid"
  }

  expect_failures = [var.client_id_claim]
}

# Who the mapping admits, checked with the exchange's own matching rules
# (provider::openai::matches, Terraform 1.8+) before any token exists.
run "admits_the_intended_workload_and_refuses_near_misses" {
  command = plan

  assert {
    condition = provider::openai::matches(output.attribute_matchers, {
      tid   = "11111111-2222-3333-4444-555555555555"
      appid = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    })
    error_message = "The mapping should admit the intended workload's claims."
  }
  assert {
    condition = !provider::openai::matches(output.attribute_matchers, {
      tid   = "99999999-2222-3333-4444-555555555555"
      appid = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    })
    error_message = "The mapping must refuse another tenant."
  }
  assert {
    condition = !provider::openai::matches(output.attribute_matchers, {
      tid   = "11111111-2222-3333-4444-555555555555"
      appid = "ffffffff-bbbb-cccc-dddd-eeeeeeeeeeee"
    })
    error_message = "The mapping must refuse another managed identity."
  }
}
