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
  provider_name              = "module-test-kubernetes-${var.project_id}"
  issuer                     = "https://kubernetes.example.com"
  jwks_json                  = file("tests/cluster-jwks.json")
  namespace                  = "payments"
  kubernetes_service_account = "invoice-writer"
}

run "uploads_keys_and_pins_the_service_account" {
  assert {
    condition     = startswith(output.mapping_id, "wifr_")
    error_message = "The module should create a mapping."
  }
  assert {
    condition     = output.attribute_matchers == { sub = "system:serviceaccount:payments:invoice-writer" }
    error_message = "Unexpected matchers: ${jsonencode(output.attribute_matchers)}"
  }
  assert {
    condition     = jsondecode(openai_workload_identity_provider.this[0].jwks_json).keys[0].kid == "cluster-key-1"
    error_message = "The cluster's keys should be uploaded."
  }
}

run "whole_namespace" {
  variables {
    kubernetes_service_account = "*"
  }

  assert {
    condition     = output.attribute_matchers.sub == "system:serviceaccount:payments:*"
    error_message = "A * service account should match the namespace by prefix."
  }
}

run "discovery_when_no_keys_are_given" {
  variables {
    issuer    = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3"
    jwks_json = null
  }

  assert {
    condition     = openai_workload_identity_provider.this[0].jwks_json == null
    error_message = "Without keys the provider should use discovery."
  }
}

run "refuses_a_wildcard_namespace" {
  command = plan

  variables {
    namespace = "pay*"
  }

  expect_failures = [var.namespace]
}

# Who the mapping admits, checked with the exchange's own matching rules
# (provider::openai::matches, Terraform 1.8+) before any token exists.
run "admits_the_intended_workload_and_refuses_near_misses" {
  command = plan

  assert {
    condition = provider::openai::matches(output.attribute_matchers, {
      sub = "system:serviceaccount:payments:invoice-writer"
      aud = ["https://kubernetes.default.svc"]
    })
    error_message = "The mapping should admit the intended workload's claims."
  }
  assert {
    condition     = !provider::openai::matches(output.attribute_matchers, { sub = "system:serviceaccount:staging:invoice-writer" })
    error_message = "The mapping must refuse another namespace."
  }
  assert {
    condition     = !provider::openai::matches(output.attribute_matchers, { sub = "system:serviceaccount:payments:invoice-reader" })
    error_message = "The mapping must refuse another service account."
  }
}
