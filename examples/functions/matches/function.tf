locals {
  matchers = {
    repository = "my-org/app"
    ref        = "refs/heads/*"
  }
  main_claims = { repository = "my-org/app", ref = "refs/heads/main" }
  fork_claims = { repository = "someone/app", ref = "refs/heads/main" }
}

output "main_admitted" {
  value = provider::openai::matches(local.matchers, local.main_claims) # true
}

output "fork_admitted" {
  value = provider::openai::matches(local.matchers, local.fork_claims) # false
}
