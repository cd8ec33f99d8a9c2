# A GitHub Actions workload identity provider (unless an existing one is
# given) and one mapping that pins a repository, by its numeric id, to a
# branch and/or deployment environment.

terraform {
  required_version = ">= 1.2"

  required_providers {
    openai = {
      source = "openai-wif/openai"
    }
  }
}

resource "openai_workload_identity_provider" "this" {
  count = var.workload_identity_provider_id == null ? 1 : 0

  name        = var.provider_name
  description = "GitHub Actions OIDC tokens"
  issuer      = var.issuer
  audience    = var.audience
}

locals {
  workload_identity_provider_id = coalesce(
    var.workload_identity_provider_id,
    one(openai_workload_identity_provider.this[*].id),
  )

  ref = var.branch == null ? null : "refs/heads/${var.branch}"

  # Only the claims that were asked for: a null value means "not pinned".
  # The repository is pinned by id, never by name alone: a name can be taken
  # over after a rename or deletion ("repojacking"), an id cannot.
  attribute_matchers = {
    for claim, value in {
      repository_id       = var.repository_id
      repository_owner_id = var.repository_owner_id
      ref                 = local.ref
      environment         = var.environment
      workflow_ref        = var.workflow_file == null || var.repository == null ? null : "${var.repository}/${var.workflow_file}@${coalesce(local.ref, "*")}"
    } : claim => value if value != null
  }
}

resource "openai_service_account_mapping" "this" {
  workload_identity_provider_id = local.workload_identity_provider_id
  project_id                    = var.project_id
  service_account_id            = var.service_account_id
  name                          = var.mapping_name
  description                   = "GitHub Actions: ${coalesce(var.repository, "repository ${var.repository_id}")}"
  attribute_matchers            = local.attribute_matchers
  scopes                        = var.scopes

  lifecycle {
    precondition {
      condition     = var.branch != null || var.environment != null
      error_message = "Set branch, environment or both: a mapping on the repository alone would trust every workflow run of it, pull requests included."
    }
    precondition {
      condition     = var.workflow_file == null || var.repository != null
      error_message = "workflow_file needs repository (owner/name): GitHub's workflow_ref claim starts with the repository's name."
    }
  }
}
