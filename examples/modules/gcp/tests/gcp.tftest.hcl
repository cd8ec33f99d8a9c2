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
  provider_name                    = "module-test-gcp-${var.project_id}"
  google_service_account_unique_id = "109876543210987654321"
}

run "metadata_server_pins_the_google_service_account" {
  assert {
    condition     = startswith(output.mapping_id, "wifr_")
    error_message = "The module should create a mapping."
  }
  assert {
    condition     = output.attribute_matchers == { sub = "109876543210987654321" }
    error_message = "Unexpected matchers: ${jsonencode(output.attribute_matchers)}"
  }
  assert {
    condition     = openai_workload_identity_provider.this[0].issuer == "https://accounts.google.com"
    error_message = "Metadata server tokens are issued by accounts.google.com."
  }
}

run "email_is_pinned_too_when_given" {
  variables {
    google_service_account_email = "openai-wif@my-project.iam.gserviceaccount.com"
  }

  assert {
    condition     = output.attribute_matchers.email == "openai-wif@my-project.iam.gserviceaccount.com"
    error_message = "The email should be pinned."
  }
}

run "gke_pins_the_kubernetes_service_account" {
  variables {
    issuer                           = "https://container.googleapis.com/v1/projects/my-project/locations/us-central1/clusters/openai-wif"
    google_service_account_unique_id = null
    gke_namespace                    = "default"
    gke_service_account              = "openai-wif"
  }

  assert {
    condition     = output.attribute_matchers == { sub = "system:serviceaccount:default:openai-wif" }
    error_message = "Unexpected matchers: ${jsonencode(output.attribute_matchers)}"
  }
}

run "gke_needs_the_cluster_issuer" {
  command = plan

  variables {
    google_service_account_unique_id = null
    gke_namespace                    = "default"
    gke_service_account              = "openai-wif"
  }

  expect_failures = [openai_service_account_mapping.this]
}

run "refuses_an_email_as_unique_id" {
  command = plan

  variables {
    google_service_account_unique_id = "openai-wif@my-project.iam.gserviceaccount.com"
  }

  expect_failures = [var.google_service_account_unique_id]
}

# Who the mapping admits, checked with the exchange's own matching rules
# (provider::openai::matches, Terraform 1.8+) before any token exists.
run "admits_the_intended_workload_and_refuses_near_misses" {
  command = plan

  assert {
    condition     = provider::openai::matches(output.attribute_matchers, { sub = "109876543210987654321", email = "openai-wif@my-project.iam.gserviceaccount.com" })
    error_message = "The mapping should admit the intended workload's claims."
  }
  assert {
    condition     = !provider::openai::matches(output.attribute_matchers, { sub = "109876543210987654322" })
    error_message = "The mapping must refuse another service account."
  }
  assert {
    condition     = !provider::openai::matches(output.attribute_matchers, { email = "openai-wif@my-project.iam.gserviceaccount.com" })
    error_message = "The mapping must refuse no subject."
  }
}
