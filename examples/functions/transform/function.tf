locals {
  transformations = [
    { attribute = "openai.repo_ref", expression = "assertion.repository + \"@\" + assertion.ref" },
  ]
  claims = { repository = "my-org/app", ref = "refs/heads/main" }
}

# { repository = "my-org/app", ref = "refs/heads/main", "openai.repo_ref" = "my-org/app@refs/heads/main" }
output "derived" {
  value = provider::openai::transform(local.transformations, local.claims)
}

# Derived attributes feed matchers, as in the exchange.
output "admitted" {
  value = provider::openai::matches(
    { "openai.repo_ref" = "my-org/app@refs/heads/main" },
    provider::openai::transform(local.transformations, local.claims),
  )
}
