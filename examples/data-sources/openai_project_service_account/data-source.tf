data "openai_project" "production" {
  name = "Production"
}

# A service account made in the dashboard, to map workload tokens to it.
data "openai_project_service_account" "deployer" {
  project_id = data.openai_project.production.id
  name       = "deployer"
}

output "deployer_id" {
  value = data.openai_project_service_account.deployer.id
}
