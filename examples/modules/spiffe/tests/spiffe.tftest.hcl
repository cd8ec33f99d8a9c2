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
  provider_name = "module-test-spiffe-${var.project_id}"
  issuer        = "https://oidc.spire.example.org"
  spiffe_id     = "spiffe://example.org/ci/deploy"
}

run "pins_the_spiffe_id" {
  assert {
    condition     = startswith(output.workload_identity_provider_id, "wip_")
    error_message = "The module should create a workload identity provider."
  }
  assert {
    condition     = startswith(output.mapping_id, "wifr_")
    error_message = "The module should create a mapping."
  }
  assert {
    condition     = output.attribute_matchers == { sub = "spiffe://example.org/ci/deploy" }
    error_message = "Unexpected matchers: ${jsonencode(output.attribute_matchers)}"
  }
  assert {
    condition     = output.trust_domain == "example.org"
    error_message = "The trust domain should be read from the SPIFFE ID, got ${output.trust_domain}."
  }
  assert {
    condition     = openai_workload_identity_provider.this[0].issuer == "https://oidc.spire.example.org" && openai_workload_identity_provider.this[0].jwks_json == null
    error_message = "The provider should trust the SPIRE issuer, its keys discovered."
  }
}

run "uploads_the_trust_bundle_keys" {
  variables {
    jwks_json = file("tests/bundle-jwks.json")
  }

  assert {
    condition     = jsondecode(openai_workload_identity_provider.this[0].jwks_json).keys[0].kid == "spire-jwt-1"
    error_message = "The trust domain's keys should be uploaded."
  }
}

run "a_path_prefix" {
  variables {
    spiffe_id = "spiffe://example.org/ci/*"
  }

  assert {
    condition     = output.attribute_matchers.sub == "spiffe://example.org/ci/*"
    error_message = "A trailing * should match the path by prefix."
  }
}

run "refuses_an_id_without_the_scheme" {
  command = plan

  variables {
    spiffe_id = "example.org/ci/deploy"
  }

  expect_failures = [var.spiffe_id]
}

run "refuses_the_trust_domain_alone" {
  command = plan

  variables {
    spiffe_id = "spiffe://example.org/"
  }

  expect_failures = [var.spiffe_id]
}

run "refuses_a_wildcard_inside_the_path" {
  command = plan

  variables {
    spiffe_id = "spiffe://example.org/*/deploy"
  }

  expect_failures = [var.spiffe_id]
}

# Who the mapping admits, checked with the exchange's own matching rules
# (provider::openai::matches, Terraform 1.8+) before any token exists.
run "admits_the_intended_workload_and_refuses_near_misses" {
  command = plan

  assert {
    condition     = provider::openai::matches(output.attribute_matchers, { sub = "spiffe://example.org/ci/deploy" })
    error_message = "The mapping should admit the intended workload's claims."
  }
  assert {
    condition     = !provider::openai::matches(output.attribute_matchers, { sub = "spiffe://example.org/ci/build" })
    error_message = "The mapping must refuse another workload."
  }
  assert {
    condition     = !provider::openai::matches(output.attribute_matchers, { sub = "spiffe://evil.example.org/ci/deploy" })
    error_message = "The mapping must refuse another trust domain."
  }
}
